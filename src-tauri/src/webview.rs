//! How the till's webview is set up for memory: a single-page till needs no GPU compositing and
//! no browser caches. `TILLSTONE_GPU=1` keeps WebKitGTK's GPU paths (for a machine whose driver
//! is known to work well with them).
//!
//! Measured under Xvfb (`make bench-desktop`): without these settings the app process alone maps
//! Mesa's LLVM-based rasteriser twice over (GTK asking GLX for visuals, WebKit opening an EGL
//! display only to ask for the GPU's device node), about 52 MB of RSS that the till never uses.

/// `TILLSTONE_GPU=1` asks for WebKitGTK's GPU paths.
pub fn gpu_requested(env: impl Fn(&str) -> Option<String>) -> bool {
    env("TILLSTONE_GPU").as_deref() == Some("1")
}

/// One variable [`cpu_only_environment`] sets, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvSetting {
    pub key: &'static str,
    pub value: &'static str,
    pub reason: &'static str,
}

/// Environment variables GTK and WebKitGTK read at start, each with the reason it is set.
const CPU_ONLY: [EnvSetting; 3] = [
    EnvSetting {
        key: "WEBKIT_DISABLE_DMABUF_RENDERER",
        value: "1",
        reason: "the DMA-BUF renderer sets up a GL stack in the app process (about 13 MB) and \
                 fails on some GPU drivers",
    },
    EnvSetting {
        key: "GDK_GL",
        value: "disable",
        reason: "GTK would load the GL driver (Mesa and LLVM) to choose window visuals; the till \
                 draws no GL itself",
    },
    EnvSetting {
        key: "WEBKIT_WEB_RENDER_DEVICE_FILE",
        value: "/dev/null",
        reason: "WebKit would open an EGL display (Mesa and LLVM again) only to ask which GPU \
                 device to hand the web process, which renders without the GPU here; naming the \
                 device skips the question",
    },
];

/// The variables to set before GTK starts when the GPU is not requested: those of [`CPU_ONLY`]
/// the user has not set already (their own value always wins).
pub fn cpu_only_environment(env: impl Fn(&str) -> Option<String>) -> Vec<EnvSetting> {
    if gpu_requested(&env) {
        return Vec::new();
    }
    CPU_ONLY
        .into_iter()
        .filter(|s| env(s.key).is_none())
        .collect()
}

/// Sets [`cpu_only_environment`] in this process (the web processes inherit it) and returns
/// what it set, for the log.
///
/// # Safety
/// Must be called before any other thread exists (first thing in `main`): it writes the
/// process environment.
pub unsafe fn apply_cpu_only_environment() -> Vec<EnvSetting> {
    let settings = cpu_only_environment(|k| std::env::var(k).ok());
    for s in &settings {
        // SAFETY: the caller guarantees no other thread reads the environment meanwhile.
        unsafe { std::env::set_var(s.key, s.value) };
    }
    settings
}

/// Memory settings of a WebKitGTK webview: no page caches, and no GPU compositing unless `gpu`.
#[cfg(target_os = "linux")]
pub fn tune(view: &webkit2gtk::WebView, gpu: bool) {
    use webkit2gtk::{
        CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
    };
    if let Some(context) = view.context() {
        context.set_cache_model(CacheModel::DocumentViewer);
    }
    if let Some(settings) = WebViewExt::settings(view) {
        // The till draws no 3D; WebGL would open a GL context in the web process.
        settings.set_enable_webgl(false);
        if !gpu {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn pairs(settings: Vec<EnvSetting>) -> Vec<(&'static str, &'static str)> {
        settings.into_iter().map(|s| (s.key, s.value)).collect()
    }

    #[test]
    fn without_gpu_all_three_are_set() {
        let vars = pairs(cpu_only_environment(env(&[])));
        assert_eq!(
            vars,
            vec![
                ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
                ("GDK_GL", "disable"),
                ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null"),
            ]
        );
    }

    #[test]
    fn the_users_own_values_win() {
        let vars = pairs(cpu_only_environment(env(&[
            ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/dri/renderD128"),
            ("GDK_GL", "gles"),
        ])));
        assert_eq!(vars, vec![("WEBKIT_DISABLE_DMABUF_RENDERER", "1")]);
    }

    #[test]
    fn gpu_mode_sets_nothing() {
        assert!(gpu_requested(env(&[("TILLSTONE_GPU", "1")])));
        assert!(cpu_only_environment(env(&[("TILLSTONE_GPU", "1")])).is_empty());
        assert!(!gpu_requested(env(&[("TILLSTONE_GPU", "0")])));
        assert_eq!(
            cpu_only_environment(env(&[("TILLSTONE_GPU", "0")])).len(),
            3
        );
    }
}
