//! Identities: tenant (a retail customer of Tillstone), store (a shop of the tenant) and terminal
//! (one installation of the till software).
//!
//! All three are opaque strings of 1 to 64 characters from `A-Z a-z 0-9 - _ . :`; in practice
//! UUIDs made by whoever creates them (HQ for tenants and stores, the terminal for itself).
//!
//! **A terminal id is the actor id of every CRDT and the node of every HLC the terminal makes.
//! A terminal gets a fresh id on every (re)install, restore from an old backup, clone of its disk
//! or move to another store, and an id is never reused.** The reason: the per-actor state of a
//! PN-counter only grows and the sequence numbers of a terminal start at 1. A reinstalled till
//! that came back under its old id would restart at `seq = 1` (colliding with events the hub
//! already holds: `seq_conflict`) and its new counter sums would be masked by the larger sums
//! the hub already merged for that actor (per-actor `max`), silently losing stock and points.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest identifier accepted.
pub const MAX_ID_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be 1 to {MAX_ID_LEN} characters of A-Z a-z 0-9 - _ . :, not {shown}")]
pub struct IdError {
    pub what: &'static str,
    /// The rejected value, shortened for the message.
    pub shown: String,
}

/// Whether `s` is a valid identifier (see the module docs).
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// `s` quoted and cut to a length fit for an error message.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                if is_valid_id(&s) {
                    Ok($name(s))
                } else {
                    Err(IdError { what: $what, shown: shorten(&s) })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                $name::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A tenant: one retail company, the unit of data isolation on the server.
    TenantId,
    "a tenant id"
);
id_type!(
    /// A store (shop) of a tenant. A terminal belongs to one store for its whole life.
    StoreId,
    "a store id"
);
id_type!(
    /// One installation of the till: the actor of every CRDT and the node of every HLC it makes.
    /// Fresh on every reinstall, never reused (see the module docs).
    TerminalId,
    "a terminal id"
);
