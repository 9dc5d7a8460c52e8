//! The HTTP API (axum).
//!
//! | route | auth | body → answer |
//! |---|---|---|
//! | `POST /v1/enroll` | one-time code in the body | `{code, terminal_id}` → `{credential, tenant, store, terminal}` (the credential is shown once) |
//! | `POST /v1/push` | `Authorization: Bearer <credential>` | `PushBatch` → `PushAck` (after the commit) |
//! | `POST /v1/pull` | `Authorization: Bearer <credential>` | `PullRequest` → `PullPage` |
//! | `GET /healthz` | none | `ok` |
//! | `GET /metrics` | none | Prometheus text |
//!
//! Errors are JSON `{"error": {"code", "message"}}`: 400 malformed / unsupported version,
//! 401 unknown credential or code, 403 revoked terminal or a batch naming another
//! tenant/store/terminal than the credential, 409 terminal id already enrolled, 413 body too
//! large, 415 unknown content encoding, 500 storage failure. Request bodies may be
//! gzip-compressed (`Content-Encoding: gzip`); the size limit applies before and after
//! decompression.

use crate::metrics::Metrics;
use crate::sqlite::now_ms;
use crate::storage::{Principal, Storage, StorageError};
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tillstone_sync::{
    MAX_DRIFT_MS, PullRequest, PushBatch, StoreId, TenantId, TerminalId, WireError, decode, encode,
};

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest request body, compressed and decompressed (default: the protocol's 8 MiB).
    pub body_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            body_limit: tillstone_sync::wire::MAX_MESSAGE_BYTES,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
}

/// An error answer: `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        })
        .unwrap_or_default();
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> ApiError {
        use StorageError as E;
        let (status, code) = match &e {
            E::BadCredential => (StatusCode::UNAUTHORIZED, "unauthorized"),
            E::Revoked => (StatusCode::FORBIDDEN, "revoked"),
            E::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            E::CodeUnknown => (StatusCode::UNAUTHORIZED, "code_unknown"),
            E::CodeUsed => (StatusCode::FORBIDDEN, "code_used"),
            E::CodeExpired => (StatusCode::FORBIDDEN, "code_expired"),
            E::TerminalExists(_) => (StatusCode::CONFLICT, "terminal_exists"),
            E::AlreadyExists(_) => (StatusCode::CONFLICT, "already_exists"),
            E::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
            E::UnknownTenant(_) | E::UnknownStore { .. } | E::UnknownTerminal(_) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            E::Backend(_) => {
                tracing::error!(error = %e, "storage failure");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal storage error",
                );
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> ApiError {
        let code = match e {
            WireError::UnsupportedVersion { .. } => "unsupported_version",
            WireError::TooLarge { .. } => {
                return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string());
            }
            _ => "malformed",
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, e.to_string())
    }
}

/// Run blocking storage work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => {
            tracing::error!(error = %e, "storage task failed");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            ))
        }
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the request body is larger than {limit} bytes"),
    )
}

/// The request body, size-capped and gzip-decoded if so marked.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(too_large(limit));
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(limit))?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(bytes.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "malformed",
                        format!("bad gzip body: {e}"),
                    )
                })?;
            if out.len() > limit {
                return Err(too_large(limit));
            }
            Ok(out)
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("content encoding {other:?} is not supported (use gzip or none)"),
        )),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing `Authorization: Bearer <credential>`",
            )
        })?;
    let storage = state.storage.clone();
    blocking(move || storage.authenticate(&credential)).await
}

fn json_response(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollRequest {
    code: String,
    terminal_id: TerminalId,
}

/// The answer to an enrollment.
#[derive(Debug, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub credential: String,
    pub tenant: TenantId,
    pub store: StoreId,
    pub terminal: TerminalId,
}

async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, state.config.body_limit).await?;
    let req: EnrollRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("malformed enrollment request: {e}"),
        )
    })?;
    let storage = state.storage.clone();
    let enrolled = blocking(move || storage.enroll(&req.code, &req.terminal_id, now_ms())).await?;
    tracing::info!(
        tenant = %enrolled.principal.tenant,
        store = %enrolled.principal.store,
        terminal = %enrolled.principal.terminal,
        "terminal enrolled"
    );
    let body = serde_json::to_vec(&EnrollResponse {
        credential: enrolled.credential,
        tenant: enrolled.principal.tenant,
        store: enrolled.principal.store,
        terminal: enrolled.principal.terminal,
    })
    .unwrap_or_default();
    Ok(json_response(body))
}

async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let who = authenticate(&state, &headers).await?;
    let bytes = read_body(&headers, body, state.config.body_limit).await?;
    let started = Instant::now();
    let batch: PushBatch = decode(&bytes)?;
    if batch.tenant != who.tenant || batch.store != who.store || batch.terminal != who.terminal {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this credential speaks for tenant {}, store {}, terminal {}; the batch names \
                 tenant {}, store {}, terminal {}",
                who.tenant, who.store, who.terminal, batch.tenant, batch.store, batch.terminal
            ),
        ));
    }
    let now = now_ms();
    let drift = batch
        .events
        .iter()
        .filter(|e| e.hlc.wall_ms > now.saturating_add(MAX_DRIFT_MS))
        .count();
    if drift > 0 {
        tracing::warn!(terminal = %who.terminal, events = drift,
            "events stamped more than 5 minutes ahead of the hub clock");
        state
            .metrics
            .clock_drift_events
            .fetch_add(drift as u64, Ordering::Relaxed);
    }
    let storage = state.storage.clone();
    let ack = blocking(move || storage.push(&who, &batch, now)).await?;
    let m = &state.metrics;
    m.events_accepted
        .fetch_add(ack.accepted.len() as u64, Ordering::Relaxed);
    m.events_duplicate
        .fetch_add(ack.duplicates.len() as u64, Ordering::Relaxed);
    m.events_rejected
        .fetch_add(ack.rejected.len() as u64, Ordering::Relaxed);
    m.push_latency(started.elapsed());
    for r in &ack.rejected {
        tracing::warn!(event = %r.event_id, reason = r.reason.as_str(), detail = %r.detail,
            "event rejected");
    }
    Ok(json_response(encode(&ack)))
}

async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let who = authenticate(&state, &headers).await?;
    let bytes = read_body(&headers, body, state.config.body_limit).await?;
    let req: PullRequest = decode(&bytes)?;
    let storage = state.storage.clone();
    let page = blocking(move || storage.pull(&who, &req)).await?;
    Ok(json_response(encode(&page)))
}

#[derive(serde::Deserialize)]
struct CouponStatusReq {
    v: u32,
    coupon_id: String,
}

/// The online coupon check: every redemption HQ holds of one coupon, in the caller's tenant.
async fn coupon_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let who = authenticate(&state, &headers).await?;
    let bytes = read_body(&headers, body, state.config.body_limit).await?;
    let req: CouponStatusReq = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("expected {{\"v\": 1, \"coupon_id\": \"<campaign>-<serial>\"}}: {e}"),
        )
    })?;
    let well_formed = req.coupon_id.split_once('-').is_some_and(|(c, s)| {
        !c.is_empty()
            && !s.is_empty()
            && c.bytes().all(|b| b.is_ascii_digit())
            && s.bytes().all(|b| b.is_ascii_digit())
    });
    if req.v != 1 || !well_formed {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!(
                "coupon status version {} for {:?}: version 1 and a coupon id like 1001-4242 expected",
                req.v, req.coupon_id
            ),
        ));
    }
    let storage = state.storage.clone();
    let tenant = who.tenant.clone();
    let id = req.coupon_id.clone();
    let redemptions = blocking(move || storage.coupon_redemptions(&tenant, &id)).await?;
    let body = serde_json::json!({
        "v": 1,
        "coupon_id": req.coupon_id,
        "redemptions": redemptions,
    });
    Ok(json_response(body.to_string().into_bytes()))
}

async fn openapi() -> axum::Json<serde_json::Value> {
    axum::Json(crate::openapi::document())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    state.metrics.request(&route, res.status().as_u16());
    res
}

/// The API router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/enroll", post(enroll))
        .route("/v1/push", post(push))
        .route("/v1/pull", post(pull))
        .route("/v1/coupons/status", post(coupon_status))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .fallback(not_found)
        .with_state(state)
}

fn app_state(storage: Arc<dyn Storage>, config: Config) -> AppState {
    AppState {
        storage,
        metrics: Arc::new(Metrics::new()),
        config: Arc::new(config),
    }
}

/// Serve on `listener` until `shutdown` completes, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app_state(storage, config)))
        .with_graceful_shutdown(shutdown)
        .await
}

/// [`serve`] over HTTPS: TLS is terminated here with `tls` (see
/// [`crate::tls::load_server_config`]).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    storage: Arc<dyn Storage>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = crate::tls::TlsListener::new(listener, tls)?;
    axum::serve(listener, router(app_state(storage, config)))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
