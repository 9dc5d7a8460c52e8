//! The terminal's link to HQ: enrollment, a background sync loop in `serve`, and the sync
//! state the API and UI show. Selling never waits for it: the outbox is the source of truth
//! and an unreachable cloud only leaves events pending.

use crate::app::{Session, Terminal};
use crate::error::{AppError, AppResult};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tillstone_core::auth::Action;
use tillstone_sync_client::{HttpTransport, SyncClient, SyncConfig, SyncState, sync_state};

/// `meta` key of HQ's address.
pub const URL_KEY: &str = "sync.url";
const INTERVAL: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    pub url: Option<String>,
    #[serde(flatten)]
    pub state: SyncState,
}

fn client(url: &str) -> AppResult<SyncClient<HttpTransport>> {
    let transport = HttpTransport::with_timeout(url, Duration::from_secs(10)).map_err(|e| {
        AppError::bad_request(
            "invalid_sync_url",
            format!("HQ address {url:?} is not usable: {e}"),
        )
    })?;
    Ok(SyncClient::new(transport, SyncConfig::default()))
}

impl Terminal {
    /// Enroll this terminal with HQ using a one-time code from HQ's admin.
    pub fn enroll(&self, url: &str, code: &str) -> AppResult<SyncView> {
        let url = url.trim_end_matches('/').to_string();
        let c = client(&url)?;
        c.enroll(&self.store(), code.trim()).map_err(|e| {
            AppError::conflict(
                "enrollment_failed",
                format!("HQ did not enroll this terminal: {e}. Check the address and ask HQ for a new code"),
            )
        })?;
        self.store().set_meta(URL_KEY, &url)?;
        tracing::info!(url, "terminal enrolled with HQ");
        self.sync_view()
    }

    pub fn sync_view(&self) -> AppResult<SyncView> {
        let store = self.store();
        Ok(SyncView {
            url: store.meta(URL_KEY)?,
            state: sync_state(&store)
                .map_err(|e| AppError::from(tillstone_store::StoreError::Invalid(e.to_string())))?,
        })
    }

    pub fn sync_state_for(&self, s: &Session) -> AppResult<SyncView> {
        self.require_action(s, Action::Sell)?;
        self.sync_view()
    }

    /// One sync round now (push the outbox, pull HQ's changes). The outcome is recorded in
    /// the sync state either way; an unreachable HQ is a state, not a failure of the till.
    pub fn sync_now(&self) -> AppResult<SyncView> {
        let Some(url) = self.store().meta(URL_KEY)? else {
            return Err(AppError::conflict(
                "not_enrolled",
                "this terminal is not enrolled with HQ: run `tillstone sync enroll`",
            ));
        };
        if let Err(e) = client(&url)?.sync_once(|| self.store()) {
            tracing::warn!(error = %e, "sync round failed; events stay in the outbox");
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
