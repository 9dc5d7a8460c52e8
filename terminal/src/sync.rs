//! The terminal's link to HQ: enrollment, a background sync loop in `serve`, and the sync
//! state the API and UI show. Selling never waits for it: the outbox is the source of truth
//! and an unreachable cloud only leaves events pending.
//!
//! HQ is reached over HTTPS (rustls, the public web roots plus an optional CA of HQ's own,
//! kept in `meta` at enrollment); plain `http://` only to this machine, or with `allow_http`
//! for a trusted network.

use crate::app::{Session, Terminal};
use crate::error::{AppError, AppResult};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tillstone_core::auth::Action;
use tillstone_sync_client::{
    HttpTransport, PullProgress, SyncClient, SyncConfig, SyncState, TransportOptions, sync_state,
};

/// `meta` key of HQ's address.
pub const URL_KEY: &str = "sync.url";
/// `meta` key of the extra CA certificate(s) to trust for HQ (PEM text).
pub const CA_KEY: &str = "sync.ca_pem";
/// `meta` key: `"1"` when plain http to a non-local HQ was explicitly allowed.
pub const ALLOW_HTTP_KEY: &str = "sync.allow_http";
const INTERVAL: Duration = Duration::from_secs(15);
/// Rows per pull page: an initial 1M-product catalog is 500 pages, one transaction each.
const PULL_LIMIT: u32 = 2000;

#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    pub url: Option<String>,
    /// HQ's own CA certificate is trusted (given at enrollment).
    pub custom_ca: bool,
    #[serde(flatten)]
    pub state: SyncState,
    /// HQ rows kept but not applied to this till's tables, with the reason (a manager or HQ
    /// must fix the row; the next revision that applies clears it).
    pub apply_errors: Vec<tillstone_store::hq::HqApplyError>,
}

/// How to reach HQ, beyond its address (`tillstone sync enroll --ca-cert/--allow-http`).
#[derive(Debug, Clone, Default)]
pub struct HqLink {
    /// Extra CA certificate(s) to trust, PEM.
    pub ca_pem: Option<String>,
    /// Plain http to a host other than this machine is allowed.
    pub allow_http: bool,
}

impl HqLink {
    /// As kept in `meta` at enrollment.
    pub(crate) fn load(store: &tillstone_store::Store) -> AppResult<HqLink> {
        Ok(HqLink {
            ca_pem: store.meta(CA_KEY)?.filter(|p| !p.is_empty()),
            allow_http: store.meta(ALLOW_HTTP_KEY)?.as_deref() == Some("1"),
        })
    }

    /// A transport to HQ at `url` that trusts this link's CA and follows its http rule.
    pub(crate) fn transport(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<HttpTransport, tillstone_sync_client::TransportError> {
        let options = TransportOptions {
            timeout,
            ca_pem: self.ca_pem.as_ref().map(|p| p.as_bytes().to_vec()),
            allow_http: self.allow_http,
        };
        HttpTransport::with_options(url, &options)
    }
}

fn client(url: &str, link: &HqLink) -> AppResult<SyncClient<HttpTransport>> {
    let transport = link.transport(url, Duration::from_secs(30)).map_err(|e| {
        AppError::bad_request(
            "invalid_sync_url",
            format!("HQ address {url:?} is not usable: {}", e.0),
        )
    })?;
    Ok(SyncClient::new(
        transport,
        SyncConfig {
            pull_limit: PULL_LIMIT,
            ..SyncConfig::default()
        },
    ))
}

impl Terminal {
    /// Enroll this terminal with HQ using a one-time code from HQ's admin.
    pub fn enroll(&self, url: &str, code: &str) -> AppResult<SyncView> {
        self.enroll_with(url, code, &HqLink::default())
    }

    /// [`Terminal::enroll`] trusting HQ's own CA and/or allowing plain http (kept for later
    /// syncs).
    pub fn enroll_with(&self, url: &str, code: &str, link: &HqLink) -> AppResult<SyncView> {
        let url = url.trim_end_matches('/').to_string();
        let c = client(&url, link)?;
        c.enroll(&self.store(), code.trim()).map_err(|e| {
            let message = match &e {
                // The transport's message already says what to do (CA, address, TLS…).
                tillstone_sync_client::SyncError::Transport(t) => {
                    format!("HQ did not enroll this terminal: {}", t.0)
                }
                _ => format!(
                    "HQ did not enroll this terminal: {e}. Check the address and ask HQ for a \
                     new code"
                ),
            };
            AppError::conflict("enrollment_failed", message)
        })?;
        {
            let store = self.store();
            // Empty: no extra CA.
            store.set_meta(CA_KEY, link.ca_pem.as_deref().unwrap_or(""))?;
            store.set_meta(ALLOW_HTTP_KEY, if link.allow_http { "1" } else { "0" })?;
            store.set_meta(URL_KEY, &url)?;
        }
        tracing::info!(
            url,
            custom_ca = link.ca_pem.is_some(),
            "terminal enrolled with HQ"
        );
        self.sync_view()
    }

    fn hq_link(&self) -> AppResult<HqLink> {
        HqLink::load(&self.store())
    }

    pub fn sync_view(&self) -> AppResult<SyncView> {
        let store = self.store();
        Ok(SyncView {
            url: store.meta(URL_KEY)?,
            custom_ca: store.meta(CA_KEY)?.is_some_and(|p| !p.is_empty()),
            state: sync_state(&store)
                .map_err(|e| AppError::from(tillstone_store::StoreError::Invalid(e.to_string())))?,
            apply_errors: store.hq_apply_errors()?,
        })
    }

    pub fn sync_state_for(&self, s: &Session) -> AppResult<SyncView> {
        self.require_action(s, Action::Sell)?;
        self.sync_view()
    }

    /// One sync round now (push the outbox, pull HQ's changes). The outcome is recorded in
    /// the sync state either way; an unreachable HQ is a state, not a failure of the till.
    pub fn sync_now(&self) -> AppResult<SyncView> {
        self.sync_now_with_progress(|_| {})
    }

    /// [`Terminal::sync_now`], reporting the pull's progress after every page (the CLI's
    /// progress bar; an initial catalog of 1M products is hundreds of pages).
    pub fn sync_now_with_progress(
        &self,
        progress: impl FnMut(&PullProgress),
    ) -> AppResult<SyncView> {
        let Some(url) = self.store().meta(URL_KEY)? else {
            return Err(AppError::conflict(
                "not_enrolled",
                "this terminal is not enrolled with HQ: run `tillstone sync enroll`",
            ));
        };
        let c = client(&url, &self.hq_link()?)?;
        if let Err(e) = c.sync_once_with_progress(|| self.store(), progress) {
            tracing::warn!(error = %e, "sync round failed; events stay in the outbox");
        }
        // Promotions, coupon keys and campaigns HQ sent take effect now.
        if let Err(e) = self.reload_hq_config() {
            tracing::warn!(error = %e, "could not reload HQ's promotions and campaigns");
        }
        self.sync_view()
    }

    /// Start the background sync loop (when enrolled).
    pub fn start_sync(self: &Arc<Self>) -> bool {
        let enrolled = matches!(self.store().meta(URL_KEY), Ok(Some(_)));
        if !enrolled {
            return false;
        }
        let weak = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("sync".into())
            .spawn(move || {
                while let Some(t) = weak.upgrade() {
                    let _ = t.sync_now();
                    drop(t);
                    std::thread::sleep(INTERVAL);
                }
            })
            .map(|_| true)
            .unwrap_or(false)
    }
}
