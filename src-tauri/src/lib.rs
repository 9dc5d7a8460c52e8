//! `tillstone-desktop`: the Tauri 2 shell of the till.
//!
//! A thin adapter: the web UI (`ui/dist`, embedded) calls the `api` command, which hands the
//! request in-process to the very same router `tillstone serve` exposes over HTTP
//! ([`tillstone_terminal::api::router`]), so the desktop and the browser till share one code
//! path and every rule lives in `tillstone-terminal`. No TCP port is opened.

pub mod webview;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tauri::{Runtime, State};
use tillstone_terminal::setup::init_demo_if_empty;
use tillstone_terminal::{ErrorKind, Terminal};
use tower::ServiceExt;

/// The label of the till's one window (the capability file grants it the commands).
pub const MAIN_WINDOW: &str = "main";

/// The API's prefix inside the router.
const API_PREFIX: &str = "/api/v1";

/// Largest answer the shell forwards (receipt previews are well below).
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// How the shell was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The terminal's data directory.
    pub data_dir: PathBuf,
    /// Fullscreen without window decorations.
    pub kiosk: bool,
}

impl Options {
    /// From the command line (`--data DIR`, `--data=DIR`, `--kiosk`) and the environment
    /// (`TILLSTONE_DATA`, `TILLSTONE_KIOSK=1`); the command line wins. Default data: `data/demo`.
    pub fn parse<I, S>(args: I, env: impl Fn(&str) -> Option<String>) -> Result<Options, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut data_dir = env("TILLSTONE_DATA")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        let mut kiosk = env("TILLSTONE_KIOSK")
            .map(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false);
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--kiosk" => kiosk = true,
                "--no-kiosk" => kiosk = false,
                "--data" => match args.next() {
                    Some(dir) if !dir.is_empty() => data_dir = Some(PathBuf::from(dir)),
                    _ => return Err("--data needs a directory".into()),
                },
                other => {
                    if let Some(dir) = other.strip_prefix("--data=") {
                        if dir.is_empty() {
                            return Err("--data needs a directory".into());
                        }
                        data_dir = Some(PathBuf::from(dir));
                    } else if other == "--help" || other == "-h" {
                        return Err(USAGE.into());
                    } else {
                        // WebDriver and desktop launchers may pass their own arguments.
                        tracing::debug!(arg = other, "ignoring unknown argument");
                    }
                }
            }
        }
        Ok(Options {
            data_dir: data_dir.unwrap_or_else(|| PathBuf::from("data/demo")),
            kiosk,
        })
    }
}

pub const USAGE: &str = "usage: tillstone-desktop [--data DIR] [--kiosk]\n  \
    --data DIR   the terminal's data directory (env TILLSTONE_DATA, default data/demo; \
    created with the demo store when empty)\n  \
    --kiosk      fullscreen without window decorations (env TILLSTONE_KIOSK=1)";

/// Open the terminal in `dir`, creating the demo store there first when it holds none yet
/// (as `tillstone serve --init-demo` does).
pub fn open_terminal(dir: &Path) -> anyhow::Result<Arc<Terminal>> {
    if init_demo_if_empty(dir)? {
        tracing::info!(dir = %dir.display(), "no terminal was here: created the demo store");
    }
    Ok(Arc::new(Terminal::open(dir)?))
}

/// The lock file that keeps one shell per data directory.
pub const LOCK_FILE: &str = "desktop.lock";

/// Lock `dir` for this shell: `Ok(None)` when another shell holds it (the lock ends with the
/// process, also when it is killed). The single-instance plugin focuses the first window when
/// the desktop session has D-Bus; this lock holds without it.
pub fn lock_data_dir(dir: &Path) -> std::io::Result<Option<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// What the shell manages: the terminal's router and a few facts for `app_info`.
pub struct Shell {
    router: axum::Router,
    info: AppInfo,
    started: Instant,
    ready: AtomicBool,
    ready_ms: Mutex<Option<u64>>,
}

impl Shell {
    /// A shell over `terminal`; `started` is when the process started (for `ui_ready`).
    pub fn new(terminal: Arc<Terminal>, opts: &Options, started: Instant) -> Shell {
        let info = AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: opts.data_dir.display().to_string(),
            kiosk: opts.kiosk,
            store_name: terminal.settings().store_name.clone(),
            terminal_code: terminal.terminal_code().to_string(),
        };
        Shell {
            router: tillstone_terminal::api::router(terminal),
            info,
            started,
            ready: AtomicBool::new(false),
            ready_ms: Mutex::new(None),
        }
    }

    /// Milliseconds from process start to the UI's first usable screen, once reported.
    pub fn ready_ms(&self) -> Option<u64> {
        *self.ready_ms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forward one API request to the terminal's router, in-process.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Result<ApiResponse, CommandError> {
        let method = Method::from_bytes(method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| CommandError::invalid("invalid_method", "not an HTTP method"))?;
        if !path.starts_with('/') || path.starts_with("//") || path.contains("://") {
            return Err(CommandError::invalid(
                "invalid_path",
                "the API path must start with a single /",
            ));
        }
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{API_PREFIX}{path}"));
        if let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                CommandError::invalid("invalid_token", "the session token is not valid")
            })?;
            req = req.header(header::AUTHORIZATION, value);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).map_err(|e| {
                    CommandError::invalid("invalid_body", format!("the body is not JSON: {e}"))
                })?)
            }
            None => Body::empty(),
        };
        let req = req.body(body).map_err(|e| {
            CommandError::invalid("invalid_path", format!("not a valid address: {e}"))
        })?;
        let res = match self.router.clone().oneshot(req).await {
            Ok(res) => res,
            Err(never) => match never {},
        };
        let status = res.status();
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = axum::body::to_bytes(res.into_body(), MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| CommandError::internal(format!("the answer could not be read: {e}")))?;
        if !status.is_success() {
            return Err(CommandError::from_response(status, &bytes));
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else if content_type.starts_with("application/json") {
            serde_json::from_slice(&bytes).map_err(|e| {
                CommandError::internal(format!("the terminal's answer was not JSON: {e}"))
            })?
        } else {
            let mime = content_type
                .split(';')
                .next()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or("application/octet-stream")
                .trim();
            Value::String(format!(
                "data:{mime};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            ))
        };
        Ok(ApiResponse {
            status: status.as_u16(),
            content_type,
            body,
        })
    }
}

/// A successful answer: JSON as JSON, anything else (the receipt preview PNG) as a data URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

/// Facts about the running shell for the UI and support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub kiosk: bool,
    pub store_name: String,
    pub terminal_code: String,
}

/// The one error every command returns. `kind` tells the UI what happened (the API's
/// [`ErrorKind`]), `code` is the API's stable code, `status` the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message} ({code})")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
    pub status: u16,
}

impl CommandError {
    fn invalid(code: &str, message: impl Into<String>) -> Self {
        CommandError {
            kind: ErrorKind::BadRequest,
            code: code.into(),
            message: message.into(),
            status: 400,
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        CommandError {
            kind: ErrorKind::Internal,
            code: "internal".into(),
            message: message.into(),
            status: 500,
        }
    }

    /// The API's `{"error": {"code", "message"}}` with the kind its status stands for.
    fn from_response(status: StatusCode, body: &[u8]) -> Self {
        let kind = match status {
            StatusCode::BAD_REQUEST => ErrorKind::BadRequest,
            StatusCode::UNAUTHORIZED => ErrorKind::Unauthorized,
            StatusCode::FORBIDDEN => ErrorKind::Forbidden,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => ErrorKind::NotFound,
            StatusCode::CONFLICT => ErrorKind::Conflict,
            s if s.is_client_error() => ErrorKind::BadRequest,
            _ => ErrorKind::Internal,
        };
        let parsed = serde_json::from_slice::<Value>(body).ok();
        let err = parsed.as_ref().and_then(|v| v.get("error"));
        let code = err
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                if status.is_server_error() {
                    "server_error".into()
                } else {
                    format!("http_{}", status.as_u16())
                }
            });
        let message = err
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        CommandError {
            kind,
            code,
            message,
            status: status.as_u16(),
        }
    }
}

/// `invoke('api', {method, path, body?, token?})`: one request to the terminal's `/api/v1`.
#[tauri::command]
async fn api(
    shell: State<'_, Shell>,
    method: String,
    path: String,
    body: Option<Value>,
    token: Option<String>,
) -> Result<ApiResponse, CommandError> {
    let started = Instant::now();
    let out = shell.request(&method, &path, body, token.as_deref()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match &out {
        Ok(r) => tracing::debug!(%method, %path, status = r.status, ms, "api"),
        Err(e) => {
            tracing::debug!(%method, %path, status = e.status, code = %e.code, ms, "api error")
        }
    }
    out
}

/// `invoke('app_info')`: version, data directory, kiosk mode, store and terminal.
#[tauri::command]
fn app_info(shell: State<'_, Shell>) -> AppInfo {
    shell.info.clone()
}

/// `invoke('ui_ready')`: the UI shows its first usable screen. Records (once) and returns the
/// milliseconds since the process started; with `TILLSTONE_READY_FILE` set, also writes them
/// there (for `make bench-desktop`).
#[tauri::command]
fn ui_ready(shell: State<'_, Shell>) -> u64 {
    let ms = u64::try_from(shell.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if shell.ready.swap(true, Ordering::SeqCst) {
        return shell.ready_ms().unwrap_or(ms);
    }
    *shell.ready_ms.lock().unwrap_or_else(|p| p.into_inner()) = Some(ms);
    tracing::info!(ms, "UI ready (process start to first usable screen)");
    if let Some(file) = std::env::var_os("TILLSTONE_READY_FILE")
        && let Err(e) = std::fs::write(&file, format!("{ms}\n"))
    {
        tracing::warn!(error = %e, "cannot write TILLSTONE_READY_FILE");
    }
    ms
}

/// Give `builder` the shell and its commands, without windows or OS integration (shared by the
/// app and the mock-runtime tests).
pub fn register<R: Runtime>(builder: tauri::Builder<R>, shell: Shell) -> tauri::Builder<R> {
    builder
        .manage(shell)
        .invoke_handler(tauri::generate_handler![api, app_info, ui_ready])
}

/// Start the terminal's background workers as `tillstone serve` does.
pub fn start_workers(terminal: &Arc<Terminal>) {
    if terminal.start_devices() {
        tracing::info!("receipt printer worker started");
    }
    if terminal.start_sync() {
        tracing::info!("sync with HQ started");
    }
}
