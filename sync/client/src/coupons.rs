//! The online coupon check: before a till accepts a coupon offline it asks HQ, with a short
//! timeout, whether HQ has already seen that coupon redeemed (`POST /v1/coupons/status`). An
//! answer lets the till refuse a coupon used on another till, and accept others without using
//! up the campaign's offline allowance; no answer in time sends it down the offline path.
//!
//! Request `{"v": 1, "coupon_id": "1001-4242"}` (campaign and serial); answer `{"v": 1,
//! "coupon_id": "1001-4242", "redemptions": [{"sale_id", "store_id", "terminal_id", "amount"}]}`
//! with every redemption HQ holds for it (in the tenant of the credential), first by HLC first.

use crate::transport::{Request, Transport};
use crate::{Credentials, Result, SyncError, http_error};
use serde::{Deserialize, Serialize};

/// The version of this request and answer.
pub const COUPON_STATUS_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CouponStatusRequest {
    pub v: u32,
    pub coupon_id: String,
}

/// One redemption of the coupon that HQ holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CouponUse {
    pub sale_id: String,
    pub store_id: String,
    pub terminal_id: String,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CouponStatus {
    pub v: u32,
    pub coupon_id: String,
    pub redemptions: Vec<CouponUse>,
}

/// Ask HQ about one coupon (`campaign-serial`). Any failure (network, timeout, an HQ that does
/// not know the route) is an error the caller treats as "offline".
pub fn coupon_status(
    transport: &dyn Transport,
    creds: &Credentials,
    coupon_id: &str,
) -> Result<CouponStatus> {
    let body = serde_json::to_vec(&CouponStatusRequest {
        v: COUPON_STATUS_VERSION,
        coupon_id: coupon_id.to_string(),
    })
    .map_err(|e| SyncError::Protocol(e.to_string()))?;
    let res = transport.send(&Request {
        path: "/v1/coupons/status",
        credential: Some(creds.credential.clone()),
        body,
        gzip: false,
    })?;
    if res.status != 200 {
        return Err(http_error(&res));
    }
    let status: CouponStatus = serde_json::from_slice(&res.body)
        .map_err(|e| SyncError::Protocol(format!("coupon status answer: {e}")))?;
    if status.v != COUPON_STATUS_VERSION || status.coupon_id != coupon_id {
        return Err(SyncError::Protocol(format!(
            "coupon status answer is for {} (version {}), asked {coupon_id}",
            status.coupon_id, status.v
        )));
    }
    Ok(status)
}
