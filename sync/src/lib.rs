//! Tillstone replication: the model and the wire format (no IO, no clock, no randomness: times
//! and ids are passed in). This is the specification the sync client and the `tillstone-cloud`
//! server implement; `sync/README.md` documents the wire format for non-Rust readers.
//!
//! # Topology
//!
//! A star. Each terminal owns its data and its hash-chained journal; a tenant's hub (the cloud)
//! is where terminals replicate to, not where they ask. Two flows:
//!
//! * **Up** (terminal → hub): every committed journal entry becomes an [`Event`] (UUIDv7 id,
//!   per-terminal `seq`, [`Hlc`] timestamp, kind, canonical JSON payload) pushed in
//!   [`PushBatch`]es until acknowledged. The hub makes delivery exactly-once with the
//!   [`EventLog`] and folds accepted events into [`DerivedState`]: stock and points as
//!   PN-counters ([`Counter`], one actor per terminal), member profile fields as a per-field
//!   last-writer-wins map ([`LwwMap`]), single-use coupons as a [`RedemptionRegistry`] (first
//!   by HLC wins, the others are reported). All of these are CRDTs: their merge is commutative,
//!   associative and idempotent, so any delivery order and any number of duplicates converge to
//!   the same state, equal to the sum of the events.
//! * **Down** (hub → terminal): HQ is the only writer of catalog, prices, promotions, campaigns,
//!   coupon keys, members, users/PINs and store settings. Each write gets a server-assigned
//!   monotonic revision; terminals pull [`Row`]s past their per-entity cursor
//!   ([`PullRequest`] → [`PullPage`]) and apply them idempotently ([`apply_changes`]), deletions
//!   as tombstones.
//!
//! # Identity
//!
//! [`TenantId`] / [`StoreId`] / [`TerminalId`]. A terminal id is fresh on every reinstall and
//! never reused: it is the actor of every CRDT and the node of every HLC (see [`ids`]).
//!
//! # Modules
//!
//! [`ids`], [`hlc`], [`event`] (envelope and exactly-once log), [`counter`], [`lww`],
//! [`redemption`], [`state`] (effects of events, the hub's receive logic), [`down`] (cursors,
//! change log, mirror), [`wire`] (versioned messages, decoder).

pub mod counter;
pub mod down;
pub mod event;
pub mod hlc;
pub mod ids;
pub mod lww;
pub mod redemption;
pub mod state;
pub mod wire;

pub use counter::{Counter, CounterMap, CounterOverflow, CounterState};
pub use down::{
    Applied, ChangeLog, Cursor, Cursors, DownError, Entity, Mirror, Row, Table, apply_changes,
};
pub use event::{Event, EventError, EventKind, EventLog, Receipt, RejectReason, Rejection};
pub use hlc::{ClockDrift, Hlc, MAX_DRIFT_MS};
pub use ids::{IdError, StoreId, TenantId, TerminalId};
pub use lww::LwwMap;
pub use redemption::{Outcome, Redemption, RedemptionRegistry};
pub use state::{DerivedState, Effect, Replica, WrongTenant, effect_of};
pub use wire::{
    COUPON_RESTORE_VERSION, LATEST_VERSION, Message, PROTOCOL_VERSION, PULL_PROGRESS_VERSION,
    PullPage, PullRequest, PushAck, PushBatch, Rejected, SUPPORTED_VERSIONS, WireError, decode,
    encode,
};
