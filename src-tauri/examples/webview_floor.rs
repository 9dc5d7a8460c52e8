//! The memory floor of a WebKitGTK window: the baseline `make bench-desktop` measures beside the
//! till. A GTK window of the till's size holding one webview, set up exactly like the till's
//! (same environment, same settings, same WebKit processes), showing a static page with one line
//! of text instead of the till's UI, and no till behind it.
//!
//!   TILLSTONE_READY_FILE=/tmp/ready webview_floor
//!
//! Once the page has loaded it writes the milliseconds since the process started into
//! `TILLSTONE_READY_FILE`, as the till does once its sign-in screen is on screen.

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    use anyhow::Context;
    use gtk::prelude::*;
    use tillstone_desktop::webview;
    use webkit2gtk::{LoadEvent, WebViewExt};

    let started = std::time::Instant::now();
    // SAFETY: first statement of main, no other thread exists yet.
    unsafe { webview::apply_cpu_only_environment() };
    let gpu = webview::gpu_requested(|k| std::env::var(k).ok());
    gtk::init().context("cannot open the display")?;

    let window = gtk::Window::new(gtk::WindowType::Toplevel);
    window.set_title("webview floor");
    window.set_default_size(1280, 800);
    let view = webkit2gtk::WebView::new();
    webview::tune(&view, gpu);
    window.add(&view);
    let ready_file = std::env::var_os("TILLSTONE_READY_FILE");
    view.connect_load_changed(move |_, event| {
        if event == LoadEvent::Finished
            && let Some(path) = &ready_file
            && let Err(e) = std::fs::write(path, started.elapsed().as_millis().to_string())
        {
            eprintln!("cannot write the ready file: {e}");
        }
    });
    view.load_html(
        "<!doctype html><html lang=\"zh-CN\"><body><h1>Tillstone 收银台</h1></body></html>",
        None,
    );
    window.connect_destroy(|_| gtk::main_quit());
    window.show_all();
    gtk::main();
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("webview_floor measures WebKitGTK: Linux only");
}
