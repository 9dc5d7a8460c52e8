//! The local HTTP API under `/api/v1` (JSON). Errors are `{"error": {"code", "message"}}` with a
//! 4xx status for expected outcomes and 500 only for real faults.

use crate::app::{Approval, Denomination, ReturnItem, Session, Terminal};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::openapi;
use crate::receipt_doc::Lang;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tillstone_core::pricing::Discount;
use tillstone_core::returns::ReturnLine;
use tillstone_core::tender::TenderKind;
use tillstone_devices::receipt::Paper;
use tillstone_store::meta::CartStatus;
use tillstone_store::shifts::MovementKind;

pub(crate) type AppState = Arc<Terminal>;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match self.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

/// Run a (blocking, SQLite) use case off the async workers.
pub(crate) async fn blocking<T, F>(t: AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&Terminal) -> AppResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || f(&t))
        .await
        .map_err(|e| {
            AppError::new(
                ErrorKind::Internal,
                "internal",
                format!("the request failed: {e}"),
            )
        })?
}

/// A PNG answer (receipt and report previews).
pub(crate) fn png(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "image/png")], bytes).into_response()
}

/// Run a (blocking, SQLite) use case off the async workers and serialise its result.
pub(crate) async fn run<T, F>(t: AppState, f: F) -> Result<Json<Value>, AppError>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&Terminal) -> AppResult<T> + Send + 'static,
{
    let out = blocking(t, f).await?;
    serde_json::to_value(out)
        .map(Json)
        .map_err(|e| AppError::new(ErrorKind::Internal, "internal", e.to_string()))
}

/// The signed-in session from `Authorization: Bearer <token>`.
pub(crate) struct Auth(pub(crate) Session);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                AppError::unauthorized("not_signed_in", "sign in with your user and PIN")
            })?;
        state.session(token.trim()).map(Auth)
    }
}

/// Path parameters whose rejection is our JSON error (e.g. a line id that is not a number).
pub(crate) struct P<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for P<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| P(v))
            .map_err(|e| {
                AppError::bad_request(
                    "invalid_path",
                    format!("the address is not valid: {}", e.body_text()),
                )
            })
    }
}

/// Query parameters whose rejection is our JSON error.
pub(crate) struct Q<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Q<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| {
                AppError::bad_request(
                    "invalid_query",
                    format!("the query is not valid: {}", e.body_text()),
                )
            })
    }
}

/// JSON body extractor whose rejections are our JSON errors with an actionable message.
pub(crate) struct Body<T>(pub(crate) T);

impl<T, S> axum::extract::FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(AppError::bad_request(
                "invalid_body",
                format!("the request body is not valid: {}", e.body_text()),
            )),
        }
    }
}

#[derive(Deserialize)]
struct LoginReq {
    user_id: String,
    pin: String,
}

#[derive(Deserialize)]
struct AmountReq {
    amount: Decimal,
    #[serde(default)]
    reason: String,
    /// Client idempotency key: a retry with the same id books nothing twice.
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct OpenShiftReq {
    float: Decimal,
}

#[derive(Deserialize, Default)]
struct ApprovalReq {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    approval: Option<Approval>,
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct CloseReq {
    #[serde(default)]
    counted: Option<Decimal>,
    #[serde(default)]
    denominations: Vec<Denomination>,
}

#[derive(Deserialize)]
struct ScanReq {
    code: String,
    #[serde(default)]
    qty: Option<Decimal>,
}

#[derive(Deserialize)]
struct AddLineReq {
    sku: String,
    #[serde(default = "one")]
    qty: Decimal,
}

fn one() -> Decimal {
    Decimal::ONE
}

#[derive(Deserialize)]
struct QtyReq {
    qty: Decimal,
}

#[derive(Deserialize)]
struct PriceReq {
    price: Decimal,
    reason: String,
    #[serde(default)]
    approval: Option<Approval>,
}

#[derive(Deserialize)]
struct DiscountReq {
    #[serde(flatten)]
    discount: Discount,
    #[serde(default)]
    approval: Option<Approval>,
}

#[derive(Deserialize)]
struct TenderReq {
    kind: String,
    #[serde(default)]
    amount: Option<Decimal>,
    #[serde(default)]
    reference: Option<String>,
    /// For `kind: "points"`: how many points to use (default: the whole balance).
    #[serde(default)]
    points: Option<i64>,
}

#[derive(Deserialize, Default)]
struct ParkReq {
    #[serde(default)]
    label: String,
}

#[derive(Deserialize)]
struct ReturnReq {
    receipt: String,
    lines: Vec<ReturnLine>,
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct UnreceiptedReq {
    items: Vec<ReturnItem>,
    #[serde(default = "cash")]
    refund: String,
    reason: String,
    #[serde(default)]
    approval: Option<Approval>,
    #[serde(default)]
    request_id: Option<String>,
}

fn cash() -> String {
    "cash".into()
}

#[derive(Deserialize)]
struct SearchQ {
    #[serde(default)]
    q: String,
    #[serde(default = "twenty")]
    limit: usize,
}

fn twenty() -> usize {
    20
}

#[derive(Deserialize)]
struct CartsQ {
    #[serde(default)]
    status: Option<String>,
}

fn tender_kind(s: &str) -> AppResult<TenderKind> {
    TenderKind::parse(s).ok_or_else(|| {
        AppError::bad_request(
            "unknown_tender",
            format!("unknown tender {s:?}: use cash, card, alipay, wechat_pay or points"),
        )
    })
}

/// The API, and the web UI's built files (`ui/dist`) at `/` when given.
pub fn router_with_ui(terminal: Arc<Terminal>, ui: Option<&std::path::Path>) -> Router {
    let router = router(terminal);
    match ui {
        Some(dir) => router.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .fallback(tower_http::services::ServeFile::new(dir.join("index.html"))),
        ),
        None => router,
    }
}

pub fn router(terminal: Arc<Terminal>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_doc))
        .route("/users", get(users))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/shift", get(shift))
        .route("/shift/open", post(open_shift))
        .route("/shift/paid-in", post(paid_in))
        .route("/shift/paid-out", post(paid_out))
        .route("/shift/no-sale", post(no_sale))
        .route("/shift/close", post(close_shift))
        .route("/reports/x", get(x_report))
        .route("/reports/z", get(z_reports))
        .route("/reports/z/{z_no}", get(z_report))
        .route("/carts", get(list_carts).post(new_cart))
        .route("/carts/{id}", get(get_cart).delete(void_cart))
        .route("/carts/{id}/scan", post(scan))
        .route("/carts/{id}/lines", post(add_line))
        .route("/carts/{id}/lines/{line}", patch(set_qty).delete(void_line))
        .route("/carts/{id}/lines/{line}/price", post(override_price))
        .route(
            "/carts/{id}/lines/{line}/discount",
            post(discount_line).delete(clear_line_discount),
        )
        .route(
            "/carts/{id}/discount",
            post(discount_order).delete(clear_order_discount),
        )
        .route("/carts/{id}/tenders", post(add_tender))
        .route("/carts/{id}/tenders/{tender}", delete(remove_tender))
        .route("/carts/{id}/complete", post(complete))
        .route("/carts/{id}/park", post(park))
        .route(
            "/carts/{id}/member",
            post(attach_member).delete(detach_member),
        )
        .route("/carts/{id}/coupons", post(add_coupon))
        .route("/carts/{id}/coupons/{code}", delete(remove_coupon))
        .route("/coupons/campaigns", get(list_campaigns).put(put_campaigns))
        .route("/promotions", get(list_promotions).put(put_promotions))
        .route("/carts/{id}/resume", post(resume))
        .route("/sales", get(recent_sales))
        .route("/sales/{receipt}", get(find_sale))
        .route("/sales/{receipt}/receipt", get(receipt))
        .route("/sales/{receipt}/void", post(post_void))
        .route("/sales/{receipt}/print", post(reprint))
        .route("/sales/{receipt}/preview.png", get(preview_png))
        .route("/printer", get(printer))
        .route("/sync", get(sync_state).post(sync_now))
        .route("/scale", get(scale))
        .route("/barcode", get(parse_barcode))
        .route("/scanner/next", get(next_scan))
        .route("/returns", post(return_lines))
        .route("/returns/unreceipted", post(return_unreceipted))
        .route("/products", get(search_products))
        .route("/products/{sku}", get(product))
        .route("/members", get(search_members).post(sign_up))
        .route("/members/{id}", get(member))
        .route("/members/{id}/coupons", get(member_wallet))
        .route("/members/{id}/points", get(point_history))
        .route("/journal/verify", get(verify_journal))
        .merge(crate::api_manage::routes())
        .fallback(not_found);
    Router::new()
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(256 * 1024))
        .with_state(terminal)
}

async fn not_found() -> AppError {
    AppError::not_found(
        "no_such_endpoint",
        "no such endpoint: see /api/v1/openapi.json",
    )
}

async fn health(State(t): State<AppState>) -> Result<Json<Value>, AppError> {
    run(t, |t| {
        Ok(json!({
            "status": "ok",
            "terminal_id": t.terminal_id(),
            "terminal_code": t.terminal_code(),
            "store_code": t.settings().store_code,
            "store_name": t.settings().store_name,
            // The store's clock (minutes east of UTC): the UI shows times in it, as receipts
            // and reports do, whatever the machine's own time zone.
            "utc_offset_minutes": t.settings().utc_offset_minutes,
            "outbox_pending": t.outbox_pending()?,
        }))
    })
    .await
}

async fn openapi_doc() -> Json<Value> {
    Json(openapi::document())
}

async fn users(State(t): State<AppState>) -> Result<Json<Value>, AppError> {
    run(t, |t| t.users()).await
}

async fn login(
    State(t): State<AppState>,
    Body(b): Body<LoginReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.login(&b.user_id, &b.pin)).await
}

async fn logout(State(t): State<AppState>, Auth(s): Auth) -> StatusCode {
    t.logout(&s.token);
    StatusCode::NO_CONTENT
}

async fn me(Auth(s): Auth) -> Json<Value> {
    Json(json!(s.user))
}

async fn shift(State(t): State<AppState>, Auth(_): Auth) -> Result<Json<Value>, AppError> {
    run(t, |t| t.current_shift()).await
}

async fn open_shift(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<OpenShiftReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.open_shift(&s, b.float)).await
}

async fn paid_in(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<AmountReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.cash_movement(
            &s,
            MovementKind::PaidIn,
            b.amount,
            &b.reason,
            None,
            b.request_id.as_deref(),
        )
    })
    .await
}

async fn paid_out(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<AmountReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.cash_movement(
            &s,
            MovementKind::PaidOut,
            b.amount,
            &b.reason,
            None,
            b.request_id.as_deref(),
        )
    })
    .await
}

async fn no_sale(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<ApprovalReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.cash_movement(
            &s,
            MovementKind::NoSale,
            Decimal::ZERO,
            &b.reason,
            b.approval.as_ref(),
            b.request_id.as_deref(),
        )
    })
    .await
}

async fn close_shift(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<CloseReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.close_shift(&s, b.counted, &b.denominations)).await
}

async fn x_report(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.x_report(&s)).await
}

async fn z_reports(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.z_reports(&s, 100)).await
}

async fn z_report(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(z_no): P<u64>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.z_report(&s, z_no)).await
}

async fn list_carts(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<CartsQ>,
) -> Result<Json<Value>, AppError> {
    let status = match q.status.as_deref() {
        None | Some("open") => CartStatus::Open,
        Some("parked") => CartStatus::Parked,
        Some(other) => {
            return Err(AppError::bad_request(
                "invalid_status",
                format!("status {other:?}: use open or parked"),
            ));
        }
    };
    run(t, move |t| t.carts(&s, status)).await
}

async fn new_cart(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.new_cart(&s)).await
}

async fn get_cart(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.cart(&s, &id)).await
}

async fn void_cart(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.void_cart(&s, &id).map(|_| json!({"voided": id}))
    })
    .await
}

async fn scan(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Body(b): Body<ScanReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.scan(&s, &id, &b.code, b.qty)).await
}

async fn add_line(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Body(b): Body<AddLineReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.add_sku(&s, &id, &b.sku, b.qty)).await
}

async fn set_qty(
    State(t): State<AppState>,
    Auth(s): Auth,
    P((id, line)): P<(String, u32)>,
    Body(b): Body<QtyReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.set_qty(&s, &id, line, b.qty)).await
}

async fn void_line(
    State(t): State<AppState>,
    Auth(s): Auth,
    P((id, line)): P<(String, u32)>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.void_line(&s, &id, line)).await
}

async fn override_price(
    State(t): State<AppState>,
    Auth(s): Auth,
    P((id, line)): P<(String, u32)>,
    Body(b): Body<PriceReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.override_price(&s, &id, line, b.price, &b.reason, b.approval.as_ref())
    })
    .await
}

async fn discount_line(
    State(t): State<AppState>,
    Auth(s): Auth,
    P((id, line)): P<(String, u32)>,
    Body(b): Body<DiscountReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.discount_line(&s, &id, line, Some(b.discount), b.approval.as_ref())
    })
    .await
}

async fn clear_line_discount(
    State(t): State<AppState>,
    Auth(s): Auth,
    P((id, line)): P<(String, u32)>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.discount_line(&s, &id, line, None, None)).await
}

async fn discount_order(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Body(b): Body<DiscountReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.discount_order(&s, &id, Some(b.discount), b.approval.as_ref())
    })
    .await
}

async fn clear_order_discount(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.discount_order(&s, &id, None, None)).await
}

async fn add_tender(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Body(b): Body<TenderReq>,
) -> Result<Json<Value>, AppError> {
    let kind = tender_kind(&b.kind)?;
    run(t, move |t| {
        if kind == TenderKind::Points {
            t.add_points_tender(&s, &id, b.points)
        } else {
            t.add_tender(&s, &id, kind, b.amount, b.reference)
        }
    })
    .await
}

async fn remove_tender(
    State(t): State<AppState>,
    Auth(s): Auth,
    P((id, tender)): P<(String, u32)>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.remove_tender(&s, &id, tender)).await
}

async fn complete(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.complete(&s, &id)).await
}

async fn park(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    // The body is optional: no body parks without a label.
    let label = if body.iter().all(u8::is_ascii_whitespace) {
        String::new()
    } else {
        serde_json::from_slice::<ParkReq>(&body)
            .map_err(|e| {
                AppError::bad_request(
                    "invalid_body",
                    format!("the request body is not valid: {e}"),
                )
            })?
            .label
    };
    run(t, move |t| t.park(&s, &id, &label)).await
}

async fn resume(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.resume(&s, &id)).await
}

async fn recent_sales(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<SearchQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.recent_sales(&s, q.limit)).await
}

async fn find_sale(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(receipt): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.find_sale(&s, &receipt)).await
}

async fn receipt(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(receipt): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.receipt_of(&s, &receipt)).await
}

#[derive(Deserialize)]
struct CouponReq {
    code: String,
}

async fn add_coupon(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Body(b): Body<CouponReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.add_coupon(&s, &id, &b.code)).await
}

async fn remove_coupon(
    State(t): State<AppState>,
    Auth(s): Auth,
    P((id, code)): P<(String, String)>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.remove_coupon(&s, &id, &code)).await
}

async fn list_campaigns(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.campaigns(&s)).await
}

#[derive(Deserialize)]
struct CouponConfig {
    keys: tillstone_core::coupon::KeyRing,
    campaigns: Vec<tillstone_core::coupon::Campaign>,
}

async fn put_campaigns(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<CouponConfig>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.set_coupon_config(&s, b.keys, b.campaigns)
            .map(|n| json!({"campaigns": n}))
    })
    .await
}

#[derive(Deserialize)]
struct MemberReq {
    member_id: String,
}

async fn attach_member(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Body(b): Body<MemberReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.set_member(&s, &id, Some(&b.member_id))).await
}

async fn detach_member(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.set_member(&s, &id, None)).await
}

async fn list_promotions(
    State(t): State<AppState>,
    Auth(s): Auth,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.promotions(&s)).await
}

async fn put_promotions(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(rules): Body<Vec<tillstone_core::promo::Rule>>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.set_promotions(&s, rules).map(|n| json!({"rules": n}))
    })
    .await
}

async fn reprint(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(receipt): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.reprint(&s, &receipt)).await
}

#[derive(Deserialize)]
struct BarcodeQ {
    data: String,
}

async fn parse_barcode(
    State(t): State<AppState>,
    Auth(_): Auth,
    Q(q): Q<BarcodeQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| Ok(t.parse_barcode(&q.data))).await
}

async fn scale(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.read_scale(&s)).await
}

#[derive(Deserialize)]
struct NextScanQ {
    #[serde(default = "default_wait")]
    timeout_ms: u64,
}

fn default_wait() -> u64 {
    25_000
}

/// Long poll: the next scan of the serial scanner, or `null` after `timeout_ms`.
async fn next_scan(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<NextScanQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.next_scan(&s, std::time::Duration::from_millis(q.timeout_ms))
    })
    .await
}

async fn sync_state(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.sync_state_for(&s)).await
}

async fn sync_now(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.sync_state_for(&s)?;
        t.sync_now()
    })
    .await
}

async fn printer(State(t): State<AppState>, Auth(s): Auth) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.printer(&s)).await
}

#[derive(Deserialize)]
struct PreviewQ {
    #[serde(default)]
    paper: Option<Paper>,
    #[serde(default)]
    lang: Option<Lang>,
}

async fn preview_png(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(receipt): P<String>,
    Q(q): Q<PreviewQ>,
) -> Result<Response, AppError> {
    blocking(t, move |t| t.receipt_png(&s, &receipt, q.paper, q.lang))
        .await
        .map(png)
}

async fn post_void(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(receipt): P<String>,
    Body(b): Body<ApprovalReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.post_void(&s, &receipt, &b.reason, b.approval.as_ref())
    })
    .await
}

async fn return_lines(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<ReturnReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| {
        t.return_lines(&s, &b.receipt, &b.lines, b.request_id.as_deref())
    })
    .await
}

async fn return_unreceipted(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<UnreceiptedReq>,
) -> Result<Json<Value>, AppError> {
    let kind = tender_kind(&b.refund)?;
    run(t, move |t| {
        t.return_without_receipt(
            &s,
            &b.items,
            kind,
            &b.reason,
            b.approval.as_ref(),
            b.request_id.as_deref(),
        )
    })
    .await
}

async fn search_products(
    State(t): State<AppState>,
    Auth(_): Auth,
    Q(q): Q<SearchQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.search_products(&q.q, q.limit)).await
}

#[derive(Deserialize)]
struct SignUpReq {
    phone: String,
    #[serde(default)]
    name: String,
    /// The customer agreed to the membership terms and privacy notice.
    consent: bool,
}

async fn sign_up(
    State(t): State<AppState>,
    Auth(s): Auth,
    Body(b): Body<SignUpReq>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.sign_up(&s, &b.phone, &b.name, b.consent)).await
}

async fn member(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.member(&s, &id)).await
}

#[derive(Deserialize, Default)]
struct WalletQ {
    #[serde(default)]
    cart: Option<String>,
}

async fn member_wallet(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Q(q): Q<WalletQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.member_wallet(&s, &id, q.cart.as_deref())).await
}

#[derive(Deserialize)]
struct HistoryQ {
    #[serde(default = "default_history")]
    limit: usize,
}

fn default_history() -> usize {
    50
}

async fn point_history(
    State(t): State<AppState>,
    Auth(s): Auth,
    P(id): P<String>,
    Q(q): Q<HistoryQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.point_history(&s, &id, q.limit)).await
}

async fn search_members(
    State(t): State<AppState>,
    Auth(s): Auth,
    Q(q): Q<SearchQ>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.search_members(&s, &q.q, q.limit)).await
}

async fn product(
    State(t): State<AppState>,
    Auth(_): Auth,
    P(sku): P<String>,
) -> Result<Json<Value>, AppError> {
    run(t, move |t| t.product(&sku)).await
}

async fn verify_journal(State(t): State<AppState>, Auth(_): Auth) -> Result<Json<Value>, AppError> {
    run(t, |t| {
        let r = t.verify_journal()?;
        Ok(json!({"ok": r.ok(), "entries": r.entries, "first_broken": r.first_broken, "last_hash": r.last_hash}))
    })
    .await
}
