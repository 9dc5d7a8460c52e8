//! One error type for every use case: a kind (which HTTP status), a stable code the UI can
//! switch on, and a message a cashier can act on.

use serde::Serialize;
use tillstone_core::auth::AuthError;
use tillstone_core::cart::CartError;
use tillstone_core::returns::ReturnError;
use tillstone_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: String,
    pub message: String,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }
    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, code, message)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        match e {
            StoreError::Invalid(m) => AppError::conflict("invalid_state", m),
            StoreError::ShiftClosed => AppError::conflict(
                "shift_closed",
                "the shift was closed meanwhile: open a new shift, then try again",
            ),
            other => AppError::new(
                ErrorKind::Internal,
                "store_error",
                format!(
                    "the local store failed: {other}. Nothing was lost; try again, and call support if it repeats"
                ),
            ),
        }
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        let code = match e {
            AuthError::Denied(..) => "not_permitted",
            AuthError::ApprovalRequired(_) => "approval_required",
            AuthError::ApproverNotManager => "approver_not_manager",
        };
        AppError::forbidden(code, e.to_string())
    }
}

impl From<CartError> for AppError {
    fn from(e: CartError) -> Self {
        use CartError::*;
        let (kind, code) = match &e {
            Auth(a) => return a.clone().into(),
            LineNotFound(_) => (ErrorKind::NotFound, "line_not_found"),
            TenderNotFound(_) => (ErrorKind::NotFound, "tender_not_found"),
            LineVoided(_) => (ErrorKind::Conflict, "line_voided"),
            PaymentStarted => (ErrorKind::Conflict, "payment_started"),
            Empty => (ErrorKind::Conflict, "cart_empty"),
            NothingDue => (ErrorKind::Conflict, "nothing_due"),
            NotPaid { .. } => (ErrorKind::Conflict, "not_paid"),
            InvalidQuantity { .. } => (ErrorKind::BadRequest, "invalid_quantity"),
            InvalidPrice(..) => (ErrorKind::BadRequest, "invalid_price"),
            InvalidDiscount(..) => (ErrorKind::BadRequest, "invalid_discount"),
            ReasonRequired => (ErrorKind::BadRequest, "reason_required"),
            InvalidAmount(..) => (ErrorKind::BadRequest, "invalid_amount"),
            ReferenceRequired(_) => (ErrorKind::BadRequest, "reference_required"),
            OverTender { .. } => (ErrorKind::BadRequest, "over_tender"),
            PointsNeedMember => (ErrorKind::Conflict, "points_need_member"),
            PointsTenderOnly => (ErrorKind::BadRequest, "points_need_count"),
            NoPointsRedeemable { .. } => (ErrorKind::Conflict, "no_points_redeemable"),
        };
        AppError::new(kind, code, e.to_string())
    }
}

impl From<ReturnError> for AppError {
    fn from(e: ReturnError) -> Self {
        use ReturnError::*;
        let (kind, code) = match &e {
            Cart(c) => return c.clone().into(),
            NotASale(_) => (ErrorKind::Conflict, "not_a_sale"),
            Voided(_) => (ErrorKind::Conflict, "sale_voided"),
            NothingChosen => (ErrorKind::BadRequest, "nothing_chosen"),
            LineNotInSale(_) => (ErrorKind::NotFound, "line_not_found"),
            QtyExceeds { .. } => (ErrorKind::Conflict, "return_exceeds_sale"),
            InvalidQuantity { .. } => (ErrorKind::BadRequest, "invalid_quantity"),
        };
        AppError::new(kind, code, e.to_string())
    }
}
