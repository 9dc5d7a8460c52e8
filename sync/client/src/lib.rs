//! `tillstone-sync-client`: the terminal side of sync with `tillstone-cloud`.
//!
//! * **Up**: pending outbox events (joined with their journal entries) become
//!   [`tillstone_sync::Event`]s stamped with the terminal's hybrid logical clock. The clock state
//!   lives in the store's `meta` table (`sync.hlc`) and every event's stamp is saved the first
//!   time it is prepared (`sync_stamps`), in the same transaction, so a resend after a lost
//!   answer or a restart carries exactly the same envelope. Events are pushed in `seq` order in
//!   batches; `accepted` and `duplicates` are marked acknowledged in the outbox only after the
//!   cloud's ack; `rejected` ones are quarantined with their reason and not retried. The outbox
//!   is the source of truth: a restart resumes from the pending events.
//! * **Down**: HQ changes are pulled page by page with per-entity cursors; each page is applied
//!   atomically with its cursors (`hq_rows`, tombstones kept), idempotently, and only if it
//!   answers the saved cursors. [`hq_digest`] summarises the applied rows so terminals can be
//!   compared. Memory is bounded by one page whatever the catalog's size; the first page of a
//!   session asks the hub (protocol version 2) how many rows remain, so
//!   [`SyncClient::pull_with_progress`] reports a [`PullProgress`] that only grows and ends at
//!   100 % (a version-1 hub: rows without a total). The session's progress is kept in `meta`
//!   for the API ([`SyncState::pull`]).
//! * **Transport**: [`HttpTransport`] speaks HTTPS with rustls (public web roots plus an
//!   optional CA of HQ's own, [`TransportOptions::ca_pem`]) and refuses plain `http://` except
//!   to this machine or when explicitly allowed ([`check_url`]); TLS and connection failures
//!   come back as messages that say what to do.
//! * [`SyncState`] for the API/UI, [`enroll`] to exchange a one-time code for a credential
//!   (kept in `meta`), and [`Backoff`] (exponential, with jitter) for retries.
//!
//! The client is blocking and never holds the store while waiting on the network: every
//! method takes a `lock` closure returning a guard on the [`Store`] (`|| terminal.store()`,
//! `|| mutex.lock().unwrap()`).

pub mod backoff;
pub mod coupons;
pub mod transport;

pub use backoff::{Backoff, BackoffConfig};
pub use transport::{
    HttpTransport, Request, Response, Transport, TransportError, TransportOptions, check_url,
};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::DerefMut;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tillstone_store::outbox::{HqRow, OutboxEvent};
use tillstone_store::{Store, StoreError};
use tillstone_sync::{
    Cursors, Entity, Event, EventKind, Hlc, LATEST_VERSION, PROTOCOL_VERSION,
    PULL_PROGRESS_VERSION, PullPage, PullRequest, PushAck, PushBatch, StoreId, TenantId,
    TerminalId, WireError, decode, encode,
};

/// `meta` keys of the sync client.
pub mod keys {
    pub const CREDENTIAL: &str = "sync.credential";
    pub const TENANT: &str = "sync.tenant";
    pub const STORE: &str = "sync.store";
    pub const TERMINAL: &str = "sync.terminal";
    pub const HLC: &str = "sync.hlc";
    pub const LAST_SUCCESS: &str = "sync.last_success";
    pub const LAST_ERROR: &str = "sync.last_error";
    pub const LAST_ERROR_AT: &str = "sync.last_error_at";
    /// The last pull session's progress ([`super::PullProgressView`], JSON).
    pub const PULL_PROGRESS: &str = "sync.pull_progress";
    /// The terminal's own id (written by setup).
    pub const TERMINAL_ID: &str = "terminal_id";
}

/// Why a sync step failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this terminal is not enrolled with the cloud")]
    NotEnrolled,
    #[error("this terminal is already enrolled with the cloud")]
    AlreadyEnrolled,
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("the cloud answered {status} {code}: {message}")]
    Http {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the cloud's answer is not valid: {0}")]
    Wire(#[from] WireError),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("local store: {0}")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Worth retrying later (the network, the hub being down or busy, a garbled answer).
    /// Not retryable: not enrolled, refused credentials, a request the hub calls malformed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::Transport(_) | SyncError::Wire(_) | SyncError::Protocol(_) => true,
            SyncError::Http { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            SyncError::Store(StoreError::Sqlite(_)) => true,
            _ => false,
        }
    }
}

pub type Result<T, E = SyncError> = std::result::Result<T, E>;

/// What the terminal was given at enrollment (kept in `meta`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub credential: String,
    pub tenant: TenantId,
    pub store: StoreId,
    pub terminal: TerminalId,
}

impl Credentials {
    pub fn load(store: &Store) -> Result<Option<Credentials>> {
        let get = |k| store.meta(k);
        let (Some(credential), Some(tenant), Some(st), Some(terminal)) = (
            get(keys::CREDENTIAL)?,
            get(keys::TENANT)?,
            get(keys::STORE)?,
            get(keys::TERMINAL)?,
        ) else {
            return Ok(None);
        };
        let bad = |e: tillstone_sync::IdError| SyncError::Protocol(format!("stored identity: {e}"));
        Ok(Some(Credentials {
            credential,
            tenant: TenantId::new(tenant).map_err(bad)?,
            store: StoreId::new(st).map_err(bad)?,
            terminal: TerminalId::new(terminal).map_err(bad)?,
        }))
    }
}

#[derive(Serialize)]
struct EnrollRequest<'a> {
    code: &'a str,
    terminal_id: &'a str,
}

#[derive(Deserialize)]
struct EnrollAnswer {
    credential: String,
    tenant: TenantId,
    store: StoreId,
    terminal: TerminalId,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

fn http_error(res: &Response) -> SyncError {
    match serde_json::from_slice::<ErrorAnswer>(&res.body) {
        Ok(a) => SyncError::Http {
            status: res.status,
            code: a.error.code,
            message: a.error.message,
        },
        Err(_) => SyncError::Http {
            status: res.status,
            code: "unknown".into(),
            message: String::from_utf8_lossy(&res.body)
                .chars()
                .take(200)
                .collect(),
        },
    }
}

fn utc_now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

fn now_rfc3339() -> String {
    utc_now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Exchange a one-time enrollment code for this terminal's credential and keep it in `meta`.
/// The terminal enrolls under its own id (`meta.terminal_id`, fresh per install).
pub fn enroll(transport: &dyn Transport, store: &Store, code: &str) -> Result<Credentials> {
    if Credentials::load(store)?.is_some() {
        return Err(SyncError::AlreadyEnrolled);
    }
    let terminal_id = store.meta(keys::TERMINAL_ID)?.ok_or_else(|| {
        SyncError::Protocol("the store has no terminal id: set the terminal up first".into())
    })?;
    let body = serde_json::to_vec(&EnrollRequest {
        code,
        terminal_id: &terminal_id,
    })
    .map_err(|e| SyncError::Protocol(e.to_string()))?;
    let res = transport.send(&Request {
        path: "/v1/enroll",
        credential: None,
        body,
        gzip: false,
    })?;
    if res.status != 200 {
        return Err(http_error(&res));
    }
    let a: EnrollAnswer = serde_json::from_slice(&res.body)
        .map_err(|e| SyncError::Protocol(format!("enrollment answer: {e}")))?;
    if a.terminal.as_str() != terminal_id {
        return Err(SyncError::Protocol(format!(
            "enrolled as terminal {}, not {terminal_id}",
            a.terminal
        )));
    }
    store.set_meta(keys::TENANT, a.tenant.as_str())?;
    store.set_meta(keys::STORE, a.store.as_str())?;
    store.set_meta(keys::TERMINAL, a.terminal.as_str())?;
    // The credential last: its presence means "enrolled".
    store.set_meta(keys::CREDENTIAL, &a.credential)?;
    Ok(Credentials {
        credential: a.credential,
        tenant: a.tenant,
        store: a.store,
        terminal: a.terminal,
    })
}

/// The persisted clock state (`meta.sync.hlc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    pub wall_ms: u64,
    pub counter: u32,
}

/// The terminal's last issued HLC (zero if it never stamped an event).
pub fn load_clock(store: &Store, node: &TerminalId) -> Result<Hlc> {
    let mut hlc = Hlc::zero(node.clone());
    if let Some(s) = store.meta(keys::HLC)? {
        let c: ClockState = serde_json::from_str(&s).map_err(StoreError::from)?;
        hlc.wall_ms = c.wall_ms;
        hlc.counter = c.counter;
    }
    Ok(hlc)
}

fn at_ms(at: &str) -> u64 {
    DateTime::parse_from_rfc3339(at)
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|_| utc_now().timestamp_millis())
        .max(0) as u64
}

/// Stamp the unstamped events of `pending` (in `seq` order) with the terminal's HLC, ticked at
/// each event's commit time, and persist the stamps and the clock in one transaction. Returns
/// the events with their stamps.
pub fn stamp_pending(
    store: &mut Store,
    node: &TerminalId,
    mut pending: Vec<OutboxEvent>,
) -> Result<Vec<OutboxEvent>> {
    if pending.iter().all(|e| e.stamp.is_some()) {
        return Ok(pending);
    }
    let mut clock = load_clock(store, node)?;
    let mut stamps = Vec::new();
    for ev in pending.iter_mut().filter(|e| e.stamp.is_none()) {
        let h = clock.tick(at_ms(&ev.at));
        ev.stamp = Some((h.wall_ms, h.counter));
        stamps.push((ev.event_id.clone(), h.wall_ms, h.counter));
    }
    let state = serde_json::to_string(&ClockState {
        wall_ms: clock.wall_ms,
        counter: clock.counter,
    })
    .map_err(StoreError::from)?;
    store.stamp_events(&stamps, keys::HLC, &state)?;
    // Re-read: an event stamped concurrently keeps its first stamp.
    Ok(pending)
}

/// The sync event kind of a journal kind.
pub fn event_kind(journal_kind: &str) -> Option<EventKind> {
    match journal_kind {
        "member_sign_up" => Some(EventKind::MemberSignup),
        "member_points" => Some(EventKind::PointEvent),
        k => EventKind::parse(k),
    }
}

/// The envelope of a stamped outbox event, or why it cannot be one.
pub fn to_event(ev: &OutboxEvent, node: &TerminalId) -> Result<Event, String> {
    let (wall_ms, counter) = ev.stamp.ok_or("the event is not stamped")?;
    let kind = event_kind(&ev.kind).ok_or_else(|| format!("unknown journal kind {}", ev.kind))?;
    let payload: Value =
        serde_json::from_str(&ev.payload).map_err(|e| format!("payload is not JSON: {e}"))?;
    let terminal_id = TerminalId::new(ev.terminal_id.clone()).map_err(|e| e.to_string())?;
    let seq = u64::try_from(ev.seq).map_err(|_| format!("negative seq {}", ev.seq))?;
    Ok(Event {
        event_id: ev.event_id.clone(),
        terminal_id,
        seq,
        hlc: Hlc {
            wall_ms,
            counter,
            node: node.clone(),
        },
        kind,
        payload,
    })
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Events per push batch (at most 1000).
    pub batch_size: usize,
    /// Gzip push bodies.
    pub gzip: bool,
    /// Rows per pull page.
    pub pull_limit: u32,
    /// Most batches / pages per call (a bound, not a limit on progress: call again).
    pub max_rounds: usize,
    pub backoff: BackoffConfig,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            batch_size: 200,
            gzip: true,
            pull_limit: 500,
            max_rounds: 1000,
            backoff: BackoffConfig::default(),
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub batches: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Events that could not be turned into envelopes (quarantined locally).
    pub unmappable: usize,
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    pub pages: usize,
    pub written: usize,
    pub skipped: usize,
    /// Pages not applied because the cursors had moved meanwhile.
    pub stale: usize,
    /// Rows received in applied pages.
    pub rows: u64,
    /// The hub had nothing more (false: `max_rounds` pages were applied; call again).
    pub complete: bool,
}

/// Progress of a pull session (one [`SyncClient::pull`] call), reported after every applied
/// page. `rows` only grows; `total` is `rows` + the rows the hub says remain (protocol
/// version 2's `remaining`, asked once per session and counted down page by page), so the
/// fraction reaches exactly 1 when the pull completes. A hub that speaks only version 1 gives
/// no total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullProgress {
    /// Pages applied in this session.
    pub pages: u64,
    /// Rows received (and applied) in this session.
    pub rows: u64,
    /// `rows` + rows still to pull, when the hub told.
    pub total: Option<u64>,
    /// The hub has nothing more.
    pub done: bool,
}

impl PullProgress {
    /// Fraction done in `[0, 1]` (`None` without a total).
    pub fn fraction(&self) -> Option<f64> {
        if self.done {
            return Some(1.0);
        }
        self.total.map(|t| {
            if t == 0 {
                1.0
            } else {
                (self.rows as f64 / t as f64).min(1.0)
            }
        })
    }
}

/// The last pull session's progress as the API shows it (`meta.sync.pull_progress`, written at
/// most once a second while pulling and at the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullProgressView {
    #[serde(flatten)]
    pub progress: PullProgress,
    pub started_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub push: PushReport,
    pub pull: PullReport,
}

/// The sync state for the API / UI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncState {
    pub enrolled: bool,
    /// Events waiting to be acknowledged (quarantined ones excluded).
    pub pending: u64,
    /// Events the cloud rejected (or that could not be sent): an operator must look.
    pub quarantined: u64,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Entity → last applied HQ revision.
    pub cursors: BTreeMap<String, u64>,
    /// The last (or running) pull session: rows pulled of how many (initial sync progress).
    pub pull: Option<PullProgressView>,
}

impl SyncState {
    /// The last attempt succeeded.
    pub fn healthy(&self) -> bool {
        match (&self.last_error_at, &self.last_success_at) {
            (None, _) => true,
            (Some(e), Some(s)) => s >= e,
            (Some(_), None) => false,
        }
    }
}

/// Read the sync state from the store.
pub fn sync_state(store: &Store) -> Result<SyncState> {
    Ok(SyncState {
        enrolled: store.meta(keys::CREDENTIAL)?.is_some(),
        pending: store.pending_count()?,
        quarantined: store.quarantined_count()?,
        last_success_at: store.meta(keys::LAST_SUCCESS)?,
        last_error: store.meta(keys::LAST_ERROR)?,
        last_error_at: store.meta(keys::LAST_ERROR_AT)?,
        cursors: store.hq_cursors()?,
        // A garbled record is only a missing progress line, never a failed state.
        pull: store
            .meta(keys::PULL_PROGRESS)?
            .and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// SHA-256 (hex) of every applied HQ row, tombstones included, in `(entity, key)` order:
/// equal digests mean equal replicas.
pub fn hq_digest(store: &Store) -> Result<String> {
    let mut h = Sha256::new();
    for r in store.hq_rows()? {
        // Normalise the JSON text so formatting cannot differ between replicas.
        let data: Value = serde_json::from_str(&r.data).map_err(StoreError::from)?;
        let data = serde_json::to_string(&data).map_err(StoreError::from)?;
        for part in [
            r.entity.as_str(),
            r.key.as_str(),
            &r.revision.to_string(),
            if r.deleted { "1" } else { "0" },
            &data,
        ] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        h.update([0x1e]);
    }
    Ok(hex::encode(h.finalize()))
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)
        .map_err(|e| SyncError::Protocol(format!("gzip: {e}")))?;
    enc.finish()
        .map_err(|e| SyncError::Protocol(format!("gzip: {e}")))
}

fn entity_of(name: &str) -> Option<Entity> {
    serde_json::from_value(Value::String(name.to_string())).ok()
}

/// Check a page before applying it: rows grouped by entity, revisions ≥ 1 and strictly
/// ascending within an entity, `next_cursors` not behind the rows.
fn check_page(page: &PullPage) -> Result<()> {
    let mut last: BTreeMap<Entity, u64> = BTreeMap::new();
    let mut prev_entity: Option<Entity> = None;
    for r in &page.rows {
        if prev_entity != Some(r.entity) && last.contains_key(&r.entity) {
            return Err(SyncError::Protocol(format!(
                "rows of {} are not grouped",
                r.entity
            )));
        }
        prev_entity = Some(r.entity);
        let l = last.entry(r.entity).or_insert(0);
        if r.revision == 0 || r.revision <= *l {
            return Err(SyncError::Protocol(format!(
                "revisions of {} do not ascend ({} after {})",
                r.entity, r.revision, l
            )));
        }
        *l = r.revision;
    }
    for (e, l) in last {
        if page.next_cursors.get(&e).copied().unwrap_or(0) < l {
            return Err(SyncError::Protocol(format!(
                "next cursor of {e} is behind its rows"
            )));
        }
    }
    Ok(())
}

/// The sync client of one terminal.
pub struct SyncClient<T: Transport> {
    pub transport: T,
    pub config: SyncConfig,
    /// The pull version the hub speaks: [`LATEST_VERSION`] until a hub refuses it (an older
    /// hub answers `unsupported_version`), then [`PROTOCOL_VERSION`] (no progress total).
    pull_version: AtomicU32,
}

impl<T: Transport> SyncClient<T> {
    pub fn new(transport: T, config: SyncConfig) -> SyncClient<T> {
        SyncClient {
            transport,
            config,
            pull_version: AtomicU32::new(LATEST_VERSION),
        }
    }

    /// The protocol version pulls are written in (see [`SyncClient::new`]).
    pub fn pull_version(&self) -> u32 {
        self.pull_version.load(Ordering::Relaxed)
    }

    /// [`enroll`] through this client's transport.
    pub fn enroll(&self, store: &Store, code: &str) -> Result<Credentials> {
        enroll(&self.transport, store, code)
    }

    fn credentials<G: DerefMut<Target = Store>>(
        &self,
        lock: &impl Fn() -> G,
    ) -> Result<Credentials> {
        Credentials::load(&lock())?.ok_or(SyncError::NotEnrolled)
    }

    fn post(
        &self,
        path: &'static str,
        creds: &Credentials,
        body: Vec<u8>,
        gz: bool,
    ) -> Result<Vec<u8>> {
        let (body, gz) = if gz {
            (gzip(&body)?, true)
        } else {
            (body, false)
        };
        let res = self.transport.send(&Request {
            path,
            credential: Some(creds.credential.clone()),
            body,
            gzip: gz,
        })?;
        if res.status != 200 {
            return Err(http_error(&res));
        }
        Ok(res.body)
    }

    /// Push pending events until none is left (or `max_rounds` batches were sent).
    pub fn push<G: DerefMut<Target = Store>>(&self, lock: impl Fn() -> G) -> Result<PushReport> {
        let creds = self.credentials(&lock)?;
        let mut report = PushReport::default();
        let batch_size = self
            .config
            .batch_size
            .clamp(1, tillstone_sync::wire::MAX_EVENTS_PER_BATCH);
        for _ in 0..self.config.max_rounds {
            // Prepare under the lock: stamp, build envelopes, quarantine what cannot be sent.
            let mut events = {
                let mut store = lock();
                let pending = store.pending_events(batch_size)?;
                if pending.is_empty() {
                    break;
                }
                let pending = stamp_pending(&mut store, &creds.terminal, pending)?;
                let mut events = Vec::with_capacity(pending.len());
                let mut bad = Vec::new();
                for ev in &pending {
                    match to_event(ev, &creds.terminal) {
                        Ok(e) => events.push(e),
                        Err(why) => bad.push((ev.event_id.clone(), "unmappable".to_string(), why)),
                    }
                }
                if !bad.is_empty() {
                    report.unmappable += bad.len();
                    store.quarantine_events(&bad, &now_rfc3339())?;
                }
                events
            };
            if events.is_empty() {
                continue;
            }
            // A coupon restore needs protocol version 3, which an older hub refuses whole: the
            // events before the first restore go in a batch of their own (version 1), so they
            // reach even that hub. The restore and what follows wait for the hub's upgrade.
            if let Some(first) = events
                .iter()
                .position(|e| e.kind == EventKind::CouponRestore)
                && first > 0
            {
                events.truncate(first);
            }
            let batch = PushBatch {
                version: PushBatch::version_for(&events),
                tenant: creds.tenant.clone(),
                store: creds.store.clone(),
                terminal: creds.terminal.clone(),
                batch_id: uuid::Uuid::now_v7().to_string(),
                events,
            };
            let answer = match self.post("/v1/push", &creds, encode(&batch), self.config.gzip) {
                Err(SyncError::Http { status, code, .. })
                    if code == "unsupported_version" && batch.version > PROTOCOL_VERSION =>
                {
                    return Err(SyncError::Http {
                        status,
                        code: "hub_too_old".into(),
                        message: format!(
                            "the cloud cannot take coupon restores yet (it does not speak sync \
                             protocol version {}): upgrade tillstone-cloud; the restore and the \
                             events after it stay in the outbox and are sent after the upgrade",
                            batch.version
                        ),
                    });
                }
                other => other?,
            };
            let ack: PushAck = decode(&answer)?;
            if ack.batch_id != batch.batch_id {
                return Err(SyncError::Protocol(format!(
                    "ack for batch {}, expected {}",
                    ack.batch_id, batch.batch_id
                )));
            }
            let sent: std::collections::HashSet<&str> =
                batch.events.iter().map(|e| e.event_id.as_str()).collect();
            let acked: Vec<String> = ack
                .accepted
                .iter()
                .chain(&ack.duplicates)
                .filter(|id| sent.contains(id.as_str()))
                .cloned()
                .collect();
            let rejected: Vec<(String, String, String)> = ack
                .rejected
                .iter()
                .filter(|r| sent.contains(r.event_id.as_str()))
                .map(|r| {
                    (
                        r.event_id.clone(),
                        r.reason.as_str().to_string(),
                        r.detail.clone(),
                    )
                })
                .collect();
            {
                let mut store = lock();
                let at = now_rfc3339();
                store.mark_acked(&acked, &at)?;
                if !rejected.is_empty() {
                    tracing::warn!(
                        events = rejected.len(),
                        "events rejected by the cloud: quarantined"
                    );
                    store.quarantine_events(&rejected, &at)?;
                }
            }
            report.batches += 1;
            report.accepted += ack.accepted.len();
            report.duplicates += ack.duplicates.len();
            report.rejected += rejected.len();
            if acked.len() + rejected.len() < sent.len() {
                return Err(SyncError::Protocol(format!(
                    "the ack answers {} of {} events",
                    acked.len() + rejected.len(),
                    sent.len()
                )));
            }
        }
        Ok(report)
    }

    /// Pull HQ changes until the hub has no more (or `max_rounds` pages were applied).
    pub fn pull<G: DerefMut<Target = Store>>(&self, lock: impl Fn() -> G) -> Result<PullReport> {
        self.pull_with_progress(lock, |_| {})
    }

    /// [`SyncClient::pull`], calling `progress` after every applied page. Memory stays bounded by one page: rows go to the store page by page, each page
    /// in one transaction with its cursors, so an interrupted pull resumes from the last
    /// applied page. The session's progress is also kept in `meta` for [`sync_state`].
    pub fn pull_with_progress<G: DerefMut<Target = Store>>(
        &self,
        lock: impl Fn() -> G,
        mut progress: impl FnMut(&PullProgress),
    ) -> Result<PullReport> {
        let creds = self.credentials(&lock)?;
        let mut report = PullReport::default();
        let mut state = PullProgress::default();
        // Rows still to pull after the last applied page, as far as we know.
        let mut remaining: Option<u64> = None;
        let mut ask_count = true;
        let started_at = now_rfc3339();
        let mut recorded: Option<Instant> = None;
        let record = |state: &PullProgress, recorded: &mut Option<Instant>, force: bool| {
            // A session that pulled nothing leaves the last real one on record.
            if state.rows == 0
                || (!force && recorded.is_some_and(|t| t.elapsed() < Duration::from_secs(1)))
            {
                return Ok::<(), SyncError>(());
            }
            *recorded = Some(Instant::now());
            let view = PullProgressView {
                progress: *state,
                started_at: started_at.clone(),
                updated_at: now_rfc3339(),
            };
            let json = serde_json::to_string(&view).map_err(StoreError::from)?;
            lock().set_meta(keys::PULL_PROGRESS, &json)?;
            Ok(())
        };
        for _ in 0..self.config.max_rounds {
            let saved = lock().hq_cursors()?;
            let cursors: Cursors = saved
                .iter()
                .filter_map(|(k, v)| entity_of(k).map(|e| (e, *v)))
                .collect();
            let page = self.pull_page(&creds, cursors, ask_count)?;
            check_page(&page)?;
            let rows: Vec<HqRow> = page
                .rows
                .iter()
                .map(|r| HqRow {
                    entity: r.entity.as_str().to_string(),
                    key: r.key.clone(),
                    revision: r.revision,
                    deleted: r.deleted,
                    data: if r.deleted {
                        "null".into()
                    } else {
                        r.data.to_string()
                    },
                })
                .collect();
            let next: BTreeMap<String, u64> = page
                .next_cursors
                .iter()
                .map(|(e, v)| (e.as_str().to_string(), *v))
                .collect();
            let applied = lock().apply_hq_page(&saved, &rows, &next)?;
            report.pages += 1;
            if !applied.applied {
                // Someone else moved the cursors: count again on the next page.
                report.stale += 1;
                ask_count = true;
                continue;
            }
            report.written += applied.written;
            report.skipped += applied.skipped;
            report.rows += rows.len() as u64;
            state.pages += 1;
            state.rows += rows.len() as u64;
            remaining = match page.remaining {
                Some(r) => Some(r),
                None => remaining.map(|r| r.saturating_sub(rows.len() as u64)),
            };
            if !page.more {
                remaining = Some(0);
            }
            // HQ wrote more while we pulled (the estimate ran out early): count again.
            ask_count = page.more && remaining.is_none_or(|r| r == 0);
            state.total = remaining.map(|r| state.rows + r);
            state.done = !page.more;
            progress(&state);
            record(&state, &mut recorded, state.done)?;
            if !page.more {
                report.complete = true;
                break;
            }
        }
        if !state.done {
            record(&state, &mut recorded, true)?;
        }
        Ok(report)
    }

    /// One pull request: version 2 with `count_remaining` when asked and the hub speaks it,
    /// otherwise version 1. A hub that refuses version 2 is remembered and asked again in
    /// version 1 at once.
    fn pull_page(&self, creds: &Credentials, cursors: Cursors, count: bool) -> Result<PullPage> {
        let limit = Some(self.config.pull_limit.clamp(1, 5000));
        let v2 = self.pull_version() >= PULL_PROGRESS_VERSION;
        let req = PullRequest {
            version: if v2 && count {
                PULL_PROGRESS_VERSION
            } else {
                PROTOCOL_VERSION
            },
            cursors,
            limit,
            count_remaining: (v2 && count).then_some(true),
        };
        match self.post("/v1/pull", creds, encode(&req), false) {
            Ok(answer) => {
                let page: PullPage = decode(&answer)?;
                if page.version != req.version {
                    return Err(SyncError::Protocol(format!(
                        "the hub answered a version {} pull in version {}",
                        req.version, page.version
                    )));
                }
                Ok(page)
            }
            Err(SyncError::Http {
                status: 400, code, ..
            }) if code == "unsupported_version" && req.version > PROTOCOL_VERSION => {
                tracing::info!(
                    "the hub does not speak protocol version {}: pulling without progress totals",
                    req.version
                );
                self.pull_version.store(PROTOCOL_VERSION, Ordering::Relaxed);
                let req = PullRequest {
                    version: PROTOCOL_VERSION,
                    count_remaining: None,
                    ..req
                };
                Ok(decode(&self.post(
                    "/v1/pull",
                    creds,
                    encode(&req),
                    false,
                )?)?)
            }
            Err(e) => Err(e),
        }
    }

    /// One sync round: push, then pull. Records the outcome in `meta` for [`sync_state`].
    pub fn sync_once<G: DerefMut<Target = Store>>(
        &self,
        lock: impl Fn() -> G,
    ) -> Result<SyncReport> {
        self.sync_once_with_progress(lock, |_| {})
    }

    /// [`SyncClient::sync_once`] with the pull's progress (see
    /// [`SyncClient::pull_with_progress`]).
    pub fn sync_once_with_progress<G: DerefMut<Target = Store>>(
        &self,
        lock: impl Fn() -> G,
        progress: impl FnMut(&PullProgress),
    ) -> Result<SyncReport> {
        let result = match self.push(&lock) {
            Ok(push) => self
                .pull_with_progress(&lock, progress)
                .map(|pull| SyncReport { push, pull }),
            // The hub answered but refused the push itself (an older hub and a coupon
            // restore, say; not the credential): still pull, so prices, catalog, users and
            // campaigns keep coming meanwhile. The round reports the push's error.
            Err(push_error @ SyncError::Http { status, .. })
                if (400..500).contains(&status) && status != 401 && status != 403 =>
            {
                if let Err(e) = self.pull_with_progress(&lock, progress) {
                    tracing::warn!(error = %e, "pull after a refused push failed");
                }
                Err(push_error)
            }
            Err(e) => Err(e),
        };
        let store = lock();
        let now = now_rfc3339();
        match &result {
            Ok(_) => store.set_meta(keys::LAST_SUCCESS, &now)?,
            Err(e) => {
                store.set_meta(keys::LAST_ERROR, &e.to_string())?;
                store.set_meta(keys::LAST_ERROR_AT, &now)?;
            }
        }
        result
    }

    /// Sync rounds with exponential backoff (with jitter) between retryable failures, until
    /// one round succeeds, a failure is not retryable, or `deadline` passes (the last error is
    /// returned). `sleep` waits (pass `std::thread::sleep`; tests may pass a fake).
    pub fn sync_with_retry<G: DerefMut<Target = Store>>(
        &self,
        lock: impl Fn() -> G,
        backoff: &mut Backoff,
        deadline: Instant,
        mut sleep: impl FnMut(Duration),
    ) -> Result<SyncReport> {
        loop {
            match self.sync_once(&lock) {
                Ok(r) => {
                    backoff.succeed();
                    return Ok(r);
                }
                Err(e) if e.is_retryable() => {
                    let wait = backoff.fail();
                    let now = Instant::now();
                    if now + wait >= deadline {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, ?wait, "sync failed; retrying");
                    sleep(wait);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests;
