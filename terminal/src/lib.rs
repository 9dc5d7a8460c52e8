//! `tillstone-terminal`: the use cases of a till, its local HTTP API and the `tillstone` CLI.
//!
//! The desktop shell and the HTTP API are thin adapters over [`app::Terminal`].

pub mod api;
pub mod api_manage;
pub mod app;
pub mod coupon_online;
pub mod devices;
pub mod error;
pub mod manage;
pub mod openapi;
pub mod pin;
pub mod receipt_doc;
pub mod setup;
pub mod sync;

pub use app::Terminal;
pub use error::{AppError, AppResult, ErrorKind};

/// Serve the API on `listen` until Ctrl-C / SIGTERM.
pub async fn serve(
    terminal: std::sync::Arc<Terminal>,
    listen: std::net::SocketAddr,
    ui: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {listen}: {e} (is another till running? use --listen)")
    })?;
    serve_with_ui(terminal, listener, ui).await
}

pub async fn serve_on(
    terminal: std::sync::Arc<Terminal>,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    serve_with_ui(terminal, listener, None).await
}

/// Serve the API and, when `ui` is a built web UI directory, the UI at `/`.
pub async fn serve_with_ui(
    terminal: std::sync::Arc<Terminal>,
    listener: tokio::net::TcpListener,
    ui: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    if terminal.start_devices() {
        tracing::info!("receipt printer worker started");
    }
    if terminal.start_sync() {
        tracing::info!("sync with HQ started");
    }
    let app = api::router_with_ui(terminal, ui.as_deref());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(s) => s,
                        Err(_) => {
                            let _ = ctrl_c.await;
                            return;
                        }
                    };
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}
