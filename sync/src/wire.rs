//! The wire format, versions 1 to 3: four JSON messages (see `sync/README.md` for the full
//! spec).
//!
//! * terminal → hub: [`PushBatch`] `{version, tenant, store, terminal, batch_id, events}`,
//!   answered by [`PushAck`] `{version, batch_id, accepted, duplicates, rejected}`;
//! * terminal → hub: [`PullRequest`] `{version, cursors, limit?, count_remaining?}`, answered
//!   by [`PullPage`] `{version, rows, next_cursors, more, remaining?}`.
//!
//! Version 2 only adds the pull progress fields (`count_remaining` in the request, `remaining`
//! in the page); everything else is version 1 unchanged. A version-1 message carrying a
//! version-2 field is refused. Version 3 only adds the `coupon_restore` event kind: a push
//! carrying one must say version 3 (so an older hub refuses it as an unsupported version rather
//! than as a malformed batch), and terminals send their other pushes in version 1. The hub
//! answers in the version of the request.
//!
//! These structs are the format: they are ours, not a crate's internal layout (CRDT state that
//! travels uses its own wire forms such as [`CounterState`](crate::counter::CounterState)).
//!
//! [`decode`] never panics. It refuses, as a [`WireError`] value: more than
//! [`MAX_MESSAGE_BYTES`]; bytes that are not JSON (or nest deeper than 128 levels); a JSON value
//! that is not an object; a missing, non-integer or unsupported `version` (checked before
//! anything else, so a newer peer gets "unsupported version 2" rather than a field error);
//! unknown fields, missing fields and wrongly typed fields; invalid identifiers; and the
//! message-level limits of [`Message::validate`]. Per-event rules (UUIDv7 ids, payload fields…)
//! are not decoding errors: the hub answers them per event in the [`PushAck`].

use crate::down::{Cursors, MAX_PAGE_ROWS, Row};
use crate::event::{Event, EventKind, RejectReason};
use crate::ids::{StoreId, TenantId, TerminalId, shorten};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version written by default (pushes, plain pulls): version 2 only adds optional pull
/// progress fields, so messages that do not use them stay readable by version-1 peers.
pub const PROTOCOL_VERSION: u32 = 1;
/// The first version with pull progress (`count_remaining` / `remaining`).
pub const PULL_PROGRESS_VERSION: u32 = 2;
/// The first version with the `coupon_restore` event kind.
pub const COUPON_RESTORE_VERSION: u32 = 3;
/// The newest version this crate reads and writes.
pub const LATEST_VERSION: u32 = 3;
/// The versions this crate reads.
pub const SUPPORTED_VERSIONS: &[u32] = &[1, 2, 3];
/// Largest message accepted by [`decode`]: 8 MiB.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// Most events in one push batch.
pub const MAX_EVENTS_PER_BATCH: usize = 1000;
/// Longest `batch_id` / event id echoed in an acknowledgement.
pub const MAX_BATCH_ID_LEN: usize = 128;

/// Events of one terminal, pushed to the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushBatch {
    pub version: u32,
    pub tenant: TenantId,
    pub store: StoreId,
    pub terminal: TerminalId,
    /// Made by the terminal (a UUIDv7 is fine), echoed in the ack; for correlation and logs
    /// only: exactly-once is per event, so a retried batch may carry a new batch id.
    pub batch_id: String,
    pub events: Vec<Event>,
}

/// The hub's answer to a push: every event of the batch appears in exactly one list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushAck {
    pub version: u32,
    pub batch_id: String,
    /// Stored now.
    pub accepted: Vec<String>,
    /// Already stored with identical content (a resend): also acknowledged.
    pub duplicates: Vec<String>,
    /// Not stored and never will be: an integrity failure to report, not to retry.
    pub rejected: Vec<Rejected>,
}

/// A rejected event with a stable reason code and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rejected {
    pub event_id: String,
    pub reason: RejectReason,
    pub detail: String,
}

/// Ask for HQ's changes after the given cursors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub version: u32,
    /// Entity → last applied revision; a missing entity means 0 (everything).
    pub cursors: Cursors,
    /// Page size wanted (the hub clamps it to 1..=5000; default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Version 2: ask the hub to count the rows still to pull after the page
    /// ([`PullPage::remaining`]). Costs the hub one indexed count: ask once per pull session
    /// (and again only if the estimate runs out while `more` is still true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_remaining: Option<bool>,
}

/// One page of changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullPage {
    pub version: u32,
    /// Grouped by entity, ascending revision within an entity.
    pub rows: Vec<Row>,
    /// The cursors to save with these rows and send in the next request.
    pub next_cursors: Cursors,
    /// Whether more rows are waiting: pull again at once.
    pub more: bool,
    /// Version 2, present exactly when the request had `count_remaining: true`: how many rows
    /// (latest revision per key, tombstones included) have a revision above `next_cursors`,
    /// i.e. are still to pull after this page. 0 with `more: false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message is {size} bytes, more than the {max} allowed")]
    TooLarge { size: usize, max: usize },
    #[error("the message is not valid JSON: {0}")]
    Json(String),
    #[error("the message must be a JSON object")]
    NotAnObject,
    #[error("the message has no `version` field")]
    MissingVersion,
    #[error("`version` must be a positive integer, not {0}")]
    BadVersion(String),
    #[error("protocol version {found} is not supported (supported: {supported:?})")]
    UnsupportedVersion { found: u64, supported: Vec<u32> },
    #[error("malformed {message}: {detail}")]
    Malformed {
        message: &'static str,
        detail: String,
    },
    #[error("invalid {message}: {detail}")]
    Invalid {
        message: &'static str,
        detail: String,
    },
}

/// A message of the protocol.
pub trait Message: Serialize + DeserializeOwned {
    const NAME: &'static str;

    /// Rules beyond the shape: limits and non-empty ids.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

fn check_batch_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty() || id.len() > MAX_BATCH_ID_LEN {
        Err(format!(
            "batch_id must be 1 to {MAX_BATCH_ID_LEN} bytes, not {}",
            shorten(id)
        ))
    } else {
        Ok(())
    }
}

impl Message for PushBatch {
    const NAME: &'static str = "push batch";

    fn validate(&self) -> Result<(), String> {
        check_batch_id(&self.batch_id)?;
        if self.events.len() > MAX_EVENTS_PER_BATCH {
            return Err(format!(
                "{} events, more than the {MAX_EVENTS_PER_BATCH} allowed in one batch",
                self.events.len()
            ));
        }
        if self.version < COUPON_RESTORE_VERSION
            && let Some(e) = self
                .events
                .iter()
                .find(|e| e.kind == EventKind::CouponRestore)
        {
            return Err(format!(
                "event {}: `coupon_restore` events need protocol version \
                 {COUPON_RESTORE_VERSION}, not {}",
                shorten(&e.event_id),
                self.version
            ));
        }
        Ok(())
    }
}

impl PushBatch {
    /// The lowest version that can carry these events: [`PROTOCOL_VERSION`], or
    /// [`COUPON_RESTORE_VERSION`] when one is a `coupon_restore`.
    pub fn version_for(events: &[Event]) -> u32 {
        if events.iter().any(|e| e.kind == EventKind::CouponRestore) {
            COUPON_RESTORE_VERSION
        } else {
            PROTOCOL_VERSION
        }
    }
}

impl Message for PushAck {
    const NAME: &'static str = "push ack";

    fn validate(&self) -> Result<(), String> {
        check_batch_id(&self.batch_id)
    }
}

impl Message for PullRequest {
    const NAME: &'static str = "pull request";

    fn validate(&self) -> Result<(), String> {
        if self.limit == Some(0) {
            return Err("limit must be at least 1".into());
        }
        if self.count_remaining.is_some() && self.version < PULL_PROGRESS_VERSION {
            return Err(format!(
                "`count_remaining` needs protocol version {PULL_PROGRESS_VERSION}, not {}",
                self.version
            ));
        }
        Ok(())
    }
}

impl Message for PullPage {
    const NAME: &'static str = "pull page";

    fn validate(&self) -> Result<(), String> {
        if self.rows.len() > MAX_PAGE_ROWS {
            return Err(format!(
                "{} rows, more than the {MAX_PAGE_ROWS} allowed in one page",
                self.rows.len()
            ));
        }
        if self.remaining.is_some() && self.version < PULL_PROGRESS_VERSION {
            return Err(format!(
                "`remaining` needs protocol version {PULL_PROGRESS_VERSION}, not {}",
                self.version
            ));
        }
        Ok(())
    }
}

/// Encode a message as compact JSON.
pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    // These types hold only strings, integers, booleans, string-keyed maps and JSON values:
    // serialising them cannot fail.
    serde_json::to_vec(message).unwrap_or_default()
}

/// Decode and check a message (see the module docs). Never panics.
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
    let Value::Object(map) = &value else {
        return Err(WireError::NotAnObject);
    };
    let version = match map.get("version") {
        None => return Err(WireError::MissingVersion),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| WireError::BadVersion(shorten(&v.to_string())))?,
    };
    if !SUPPORTED_VERSIONS.iter().any(|&s| u64::from(s) == version) {
        return Err(WireError::UnsupportedVersion {
            found: version,
            supported: SUPPORTED_VERSIONS.to_vec(),
        });
    }
    let message: M = serde_json::from_value(value).map_err(|e| WireError::Malformed {
        message: M::NAME,
        detail: e.to_string(),
    })?;
    message.validate().map_err(|detail| WireError::Invalid {
        message: M::NAME,
        detail,
    })?;
    Ok(message)
}
