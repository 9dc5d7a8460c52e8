//! Up-events: the envelope a terminal pushes for every committed journal entry, and the
//! exactly-once [`EventLog`] a receiver keeps.
//!
//! # The envelope
//!
//! | field | type | rule |
//! |---|---|---|
//! | `event_id` | string | UUIDv7, lowercase hyphenated (`0190f1c2-…`), made by the terminal when it commits the event (the outbox's `event_id`). Globally unique. |
//! | `terminal_id` | string | the terminal that committed it; equal to `hlc.node` and to the batch's `terminal`. |
//! | `seq` | u64 ≥ 1 | the terminal's journal sequence number: 1, 2, 3… without gaps, one per journal entry. |
//! | `hlc` | [`Hlc`] | stamped by the terminal's clock at commit. |
//! | `kind` | [`EventKind`] | snake_case name. |
//! | `payload` | object | the journal's canonical JSON payload (sorted keys). |
//!
//! An event is immutable: the same `event_id` always carries the same content, and one
//! `(terminal_id, seq)` is one event.
//!
//! # Exactly-once at the receiver
//!
//! Delivery is at-least-once (the terminal resends until acknowledged); the receiver makes it
//! exactly-once with [`EventLog::insert`], keyed by `event_id` and cross-checked by
//! `(terminal_id, seq)`:
//!
//! * new id, free `(terminal, seq)` → [`Receipt::Accepted`]: stored, and its effects applied once;
//! * known id, identical content (and store) → [`Receipt::Duplicate`]: a resend, acknowledged
//!   again, nothing applied;
//! * known id, different content → rejected `id_conflict`;
//! * new id but `(terminal, seq)` already taken by another event → rejected `seq_conflict`
//!   (a reused terminal id or a rewritten journal);
//! * a terminal reporting a second store → rejected `terminal_moved`;
//! * an envelope breaking the rules above → rejected `invalid`.
//!
//! Rejections are integrity failures, not transient errors: the terminal must not resend them in
//! a loop (see the README). The log also tracks per terminal the highest `seq` below which
//! nothing is missing ([`EventLog::contiguous_through`]), so the hub can see gaps.

use crate::hlc::Hlc;
use crate::ids::{StoreId, TerminalId, shorten};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What an event records. Adding a kind is a protocol version change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Sale,
    Return,
    PostVoid,
    ZReport,
    ShiftOpen,
    PaidIn,
    PaidOut,
    NoSale,
    CouponRedemption,
    PointEvent,
    StockMovement,
    MemberSignup,
    /// A redemption given back by a return or a post-void (protocol version 3).
    CouponRestore,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        EventKind::Sale,
        EventKind::Return,
        EventKind::PostVoid,
        EventKind::ZReport,
        EventKind::ShiftOpen,
        EventKind::PaidIn,
        EventKind::PaidOut,
        EventKind::NoSale,
        EventKind::CouponRedemption,
        EventKind::PointEvent,
        EventKind::StockMovement,
        EventKind::MemberSignup,
        EventKind::CouponRestore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Sale => "sale",
            EventKind::Return => "return",
            EventKind::PostVoid => "post_void",
            EventKind::ZReport => "z_report",
            EventKind::ShiftOpen => "shift_open",
            EventKind::PaidIn => "paid_in",
            EventKind::PaidOut => "paid_out",
            EventKind::NoSale => "no_sale",
            EventKind::CouponRedemption => "coupon_redemption",
            EventKind::PointEvent => "point_event",
            EventKind::StockMovement => "stock_movement",
            EventKind::MemberSignup => "member_signup",
            EventKind::CouponRestore => "coupon_restore",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One committed event of one terminal (see the module docs for the rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub event_id: String,
    pub terminal_id: TerminalId,
    pub seq: u64,
    pub hlc: Hlc,
    pub kind: EventKind,
    pub payload: Value,
}

/// Why an envelope is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event id {0} is not a lowercase hyphenated UUIDv7")]
    BadEventId(String),
    #[error("sequence numbers start at 1")]
    ZeroSeq,
    #[error("the HLC node {node} is not the event's terminal {terminal}")]
    NodeMismatch { node: String, terminal: String },
    #[error("the payload must be a JSON object")]
    PayloadNotObject,
}

/// Whether `s` is a UUIDv7 in canonical form (lowercase, hyphenated), so one id has one spelling.
pub fn is_uuid_v7(s: &str) -> bool {
    match uuid::Uuid::try_parse(s) {
        Ok(u) => u.get_version_num() == 7 && u.hyphenated().to_string() == s,
        Err(_) => false,
    }
}

impl Event {
    /// Check the envelope rules that need no other state.
    pub fn validate(&self) -> Result<(), EventError> {
        if !is_uuid_v7(&self.event_id) {
            return Err(EventError::BadEventId(shorten(&self.event_id)));
        }
        if self.seq == 0 {
            return Err(EventError::ZeroSeq);
        }
        if self.hlc.node != self.terminal_id {
            return Err(EventError::NodeMismatch {
                node: self.hlc.node.to_string(),
                terminal: self.terminal_id.to_string(),
            });
        }
        if !self.payload.is_object() {
            return Err(EventError::PayloadNotObject);
        }
        Ok(())
    }
}

/// Stable reason codes of a rejected event (`reason` in a push acknowledgement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The envelope breaks a rule (id, seq, node, payload shape).
    Invalid,
    /// The payload of a kind with derived state lacks a field or has a wrong one.
    InvalidPayload,
    /// The event's terminal is not the batch's terminal.
    WrongTerminal,
    /// The event id is known with different content.
    IdConflict,
    /// `(terminal, seq)` is taken by another event id.
    SeqConflict,
    /// The terminal is known in another store.
    TerminalMoved,
    /// Applying it would overflow a counter.
    Overflow,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Invalid => "invalid",
            RejectReason::InvalidPayload => "invalid_payload",
            RejectReason::WrongTerminal => "wrong_terminal",
            RejectReason::IdConflict => "id_conflict",
            RejectReason::SeqConflict => "seq_conflict",
            RejectReason::TerminalMoved => "terminal_moved",
            RejectReason::Overflow => "overflow",
        }
    }
}

/// A rejection with a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Rejection {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

/// What [`EventLog::insert`] did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Accepted,
    Duplicate,
    Rejected(Rejection),
}

#[derive(Debug, Clone, PartialEq)]
struct Stored {
    store: StoreId,
    event: Event,
}

/// The receiver's set of events, exactly once each. Pure, in memory: the model the server's
/// database implementation must agree with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLog {
    by_id: BTreeMap<String, Stored>,
    by_seq: BTreeMap<(TerminalId, u64), String>,
    stores: BTreeMap<TerminalId, StoreId>,
    contiguous: BTreeMap<TerminalId, u64>,
}

impl EventLog {
    pub fn new() -> EventLog {
        EventLog::default()
    }

    /// What [`EventLog::insert`] would answer, without storing anything.
    pub fn check(&self, store: &StoreId, event: &Event) -> Receipt {
        if let Err(e) = event.validate() {
            return Receipt::Rejected(Rejection::new(RejectReason::Invalid, e.to_string()));
        }
        if let Some(known) = self.by_id.get(&event.event_id) {
            return if known.event == *event && known.store == *store {
                Receipt::Duplicate
            } else {
                Receipt::Rejected(Rejection::new(
                    RejectReason::IdConflict,
                    format!(
                        "event {} is already recorded with different content",
                        event.event_id
                    ),
                ))
            };
        }
        if let Some(other) = self.by_seq.get(&(event.terminal_id.clone(), event.seq)) {
            return Receipt::Rejected(Rejection::new(
                RejectReason::SeqConflict,
                format!(
                    "seq {} of terminal {} is already event {other}",
                    event.seq, event.terminal_id
                ),
            ));
        }
        if let Some(known) = self.stores.get(&event.terminal_id)
            && known != store
        {
            return Receipt::Rejected(Rejection::new(
                RejectReason::TerminalMoved,
                format!(
                    "terminal {} belongs to store {known}, not {store}",
                    event.terminal_id
                ),
            ));
        }
        Receipt::Accepted
    }

    /// Record an event received from a terminal of `store` (see the module docs).
    pub fn insert(&mut self, store: &StoreId, event: Event) -> Receipt {
        let receipt = self.check(store, &event);
        if receipt == Receipt::Accepted {
            let terminal = event.terminal_id.clone();
            self.stores
                .entry(terminal.clone())
                .or_insert_with(|| store.clone());
            self.by_seq
                .insert((terminal.clone(), event.seq), event.event_id.clone());
            let through = self.contiguous.entry(terminal.clone()).or_insert(0);
            while self.by_seq.contains_key(&(terminal.clone(), *through + 1)) {
                *through += 1;
            }
            self.by_id.insert(
                event.event_id.clone(),
                Stored {
                    store: store.clone(),
                    event,
                },
            );
        }
        receipt
    }

    pub fn get(&self, event_id: &str) -> Option<&Event> {
        self.by_id.get(event_id).map(|s| &s.event)
    }

    /// The store an accepted event was received for.
    pub fn store_of(&self, event_id: &str) -> Option<&StoreId> {
        self.by_id.get(event_id).map(|s| &s.store)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Highest `n` such that events `1..=n` of the terminal are all here (0: none).
    pub fn contiguous_through(&self, terminal: &TerminalId) -> u64 {
        self.contiguous.get(terminal).copied().unwrap_or(0)
    }

    /// The highest `seq` received from the terminal (0: none).
    pub fn highest_seq(&self, terminal: &TerminalId) -> u64 {
        self.by_seq
            .range((terminal.clone(), 0)..=(terminal.clone(), u64::MAX))
            .next_back()
            .map(|((_, s), _)| *s)
            .unwrap_or(0)
    }

    /// Events of one terminal in `seq` order.
    pub fn terminal_events<'a>(
        &'a self,
        terminal: &TerminalId,
    ) -> impl Iterator<Item = &'a Event> + 'a {
        self.by_seq
            .range((terminal.clone(), 0)..=(terminal.clone(), u64::MAX))
            .filter_map(|(_, id)| self.get(id))
    }

    /// All events, by event id (so roughly by time, since ids are UUIDv7).
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.by_id.values().map(|s| &s.event)
    }
}
