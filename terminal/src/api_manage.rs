//! The manager and installer endpoints of the web UI (see `manage.rs`): report printing and
//! previews, the devices screen, `devices.toml`, device tests. Merged into [`crate::api::router`].

use crate::api::{AppState, Auth, Body, P, Q, blocking, png, run};
use crate::error::AppError;
use crate::manage::Which;
use crate::receipt_doc::Lang;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use tillstone_devices::receipt::Paper;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports/x/print", post(print_x))
        .route("/reports/x/preview.png", get(preview_x))
        .route("/reports/z/{z_no}/print", post(print_z))
        .route("/reports/z/{z_no}/preview.png", get(preview_z))
        .route("/devices", get(devices))
        .route("/devices/config", put(put_config))
        .route("/devices/printer/test", post(test_printer))
        .route("/devices/printer/test.png", get(test_png))
        .route("/devices/display/test", post(test_display))
        .route("/devices/scale", get(test_scale))
        .route("/devices/scanner/next", get(test_scanner))
}

#[derive(Deserialize, Default)]
struct LangQ {
    #[serde(default)]
    lang: Option<Lang>,
    #[serde(default)]
    paper: Option<Paper>,
}

async fn print_x(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<LangQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.print_report(&s, Which::X, q.lang)).await
}

async fn print_z(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(z_no): P<u64>,
    Q(q): Q<LangQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.print_report(&s, Which::Z(z_no), q.lang)).await
}

async fn preview_x(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<LangQ>,
) -> Result<Response, AppError> {
    blocking(t, move |t| t.report_png(&s, Which::X, q.lang, q.paper))
        .await
        .map(png)
}

async fn preview_z(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(z_no): P<u64>,
    Q(q): Q<LangQ>,
) -> Result<Response, AppError> {
    blocking(t, move |t| {
        t.report_png(&s, Which::Z(z_no), q.lang, q.paper)
    })
    .await
    .map(png)
}

async fn devices(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.devices_overview(&s)).await
}

#[derive(Deserialize)]
struct ConfigReq {
    /// The whole devices.toml.
    toml: String,
}

async fn put_config(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<ConfigReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.save_devices_config(&s, &b.toml)).await
}

async fn test_printer(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.test_printer(&s)).await
}

async fn test_png(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<LangQ>,
) -> Result<Response, AppError> {
    blocking(t, move |t| t.test_page_png(&s, q.paper))
        .await
        .map(png)
}

async fn test_display(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.test_display(&s)).await
}

async fn test_scale(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.test_scale(&s)).await
}

#[derive(Deserialize)]
struct WaitQ {
    #[serde(default = "default_wait")]
    timeout_ms: u64,
}

fn default_wait() -> u64 {
    10_000
}

async fn test_scanner(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<WaitQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.test_scanner(&s, Duration::from_millis(q.timeout_ms))
    })
    .await
}
