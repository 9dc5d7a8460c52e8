//! `tillstone-desktop`: the till in a Tauri window.
//!
//!   tillstone-desktop [--data DIR] [--kiosk]
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use anyhow::Context;
use std::time::Instant;
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder};
use tillstone_desktop::{
    MAIN_WINDOW, Options, Shell, lock_data_dir, open_terminal, register, start_workers, webview,
};
use tracing_subscriber::EnvFilter;

/// Held for the life of the process (see `lock_data_dir`).
struct DataDirLock(#[allow(dead_code)] std::fs::File);

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    // SAFETY: no other thread exists yet: this is the first statement of main, before logging
    // and Tauri start.
    let env_set = unsafe { webview::apply_cpu_only_environment() };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    for s in &env_set {
        tracing::debug!(
            key = s.key,
            value = s.value,
            reason = s.reason,
            "webview environment"
        );
    }
    let opts = match Options::parse(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(opts) => opts,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let terminal = open_terminal(&opts.data_dir)
        .with_context(|| format!("cannot open the till in {}", opts.data_dir.display()))?;
    tracing::info!(
        data = %opts.data_dir.display(),
        kiosk = opts.kiosk,
        store = %terminal.settings().store_name,
        terminal = terminal.terminal_code(),
        "Tillstone desktop starting"
    );
    start_workers(&terminal);
    let kiosk = opts.kiosk;
    let gpu = webview::gpu_requested(|k| std::env::var(k).ok());
    let shell = Shell::new(terminal, &opts, started);

    let mut app = register(tauri::Builder::<tauri::Wry>::default(), shell);
    // One till window per machine: a second start focuses the first (TILLSTONE_SINGLE_INSTANCE=0
    // turns this off, e.g. for tests running beside an open till).
    if std::env::var("TILLSTONE_SINGLE_INSTANCE").as_deref() != Ok("0") {
        app = app.plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("another start: focusing the open till");
            if let Some(w) = app.get_webview_window(MAIN_WINDOW) {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }));
    }
    let data_dir = opts.data_dir.clone();
    app.setup(move |app| {
        // Runs after the single-instance plugin: without D-Bus it cannot see the first window,
        // the data directory's lock can.
        match lock_data_dir(&data_dir)? {
            Some(lock) => {
                app.manage(DataDirLock(lock));
            }
            None => {
                eprintln!(
                    "Tillstone is already open on {}: use that window",
                    data_dir.display()
                );
                std::process::exit(0);
            }
        }
        let window =
            WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
                .title("Tillstone")
                .inner_size(1280.0, 800.0)
                .min_inner_size(1024.0, 640.0)
                .fullscreen(kiosk)
                .decorations(!kiosk)
                .resizable(!kiosk)
                .focused(true)
                .build()?;
        #[cfg(target_os = "linux")]
        tune_webview(&window, gpu);
        #[cfg(not(target_os = "linux"))]
        let _ = (&window, gpu);
        Ok(())
    })
    .run(tauri::generate_context!())
    .context("the Tauri application failed")?;
    Ok(())
}

/// Applies [`webview::tune`] to the window's webview.
#[cfg(target_os = "linux")]
fn tune_webview(window: &tauri::WebviewWindow, gpu: bool) {
    if let Err(e) = window.with_webview(move |platform| webview::tune(&platform.inner(), gpu)) {
        tracing::warn!(error = %e, "cannot tune the webview's memory settings");
    }
}
