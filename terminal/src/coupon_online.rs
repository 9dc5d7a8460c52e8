//! The online coupon check (issue 4): before accepting a coupon offline, ask HQ with a short
//! timeout whether it has seen the coupon redeemed. HQ's answer decides when it comes in time;
//! otherwise the till goes on offline (its own ledger and the campaign's offline allowance).
//! Selling never waits longer than the timeout, and the store is not locked while asking.

use crate::app::Terminal;
use crate::sync::{HqLink, URL_KEY};
use std::time::Duration;
use tillstone_sync_client::Credentials;
use tillstone_sync_client::coupons::{CouponUse, coupon_status};

/// How long the till waits for HQ's answer before it checks the coupon offline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);
/// `meta` key overriding [`DEFAULT_TIMEOUT`], in milliseconds.
pub const TIMEOUT_KEY: &str = "sync.coupon_check_ms";

/// What HQ said about a coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HqCouponCheck {
    /// This till is not enrolled with HQ: offline only.
    NotEnrolled,
    /// No answer in time (or an error): the offline path decides.
    Unreachable(String),
    /// HQ's redemptions of the coupon (empty: never redeemed as far as HQ knows).
    Answered(Vec<CouponUse>),
}

impl Terminal {
    /// Ask HQ about `campaign_id-serial`. Never fails: every problem is "unreachable".
    pub fn ask_hq_about_coupon(&self, campaign_id: u32, serial: u64) -> HqCouponCheck {
        // Read what is needed under the lock, then let go of it before the network.
        let (creds, url, link, timeout) = {
            let store = self.store();
            (
                Credentials::load(&store),
                store.meta(URL_KEY),
                HqLink::load(&store),
                store.meta(TIMEOUT_KEY),
            )
        };
        let (Ok(Some(creds)), Ok(Some(url)), Ok(link)) = (creds, url, link) else {
            return HqCouponCheck::NotEnrolled;
        };
        let timeout = timeout
            .ok()
            .flatten()
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let transport = match link.transport(&url, timeout) {
            Ok(t) => t,
            Err(e) => return HqCouponCheck::Unreachable(e.0),
        };
        let coupon_id = format!("{campaign_id}-{serial}");
        match coupon_status(&transport, &creds, &coupon_id) {
            Ok(status) => HqCouponCheck::Answered(status.redemptions),
            Err(e) => {
                tracing::info!(%coupon_id, error = %e, "HQ did not answer the coupon check; checking offline");
                HqCouponCheck::Unreachable(e.to_string())
            }
        }
    }
}
