//! `tillstone-store`: the terminal's local SQLite store.
//!
//! Invariants:
//! * WAL journal mode, `synchronous=FULL`: a committed transaction survives power loss.
//! * One transaction per committed document: the sale, its lines, tenders and taxes, its journal
//!   entry and its outbox record are written together or not at all.
//! * The journal is append-only and hash-chained; sales, journal and Z reports cannot be updated
//!   or deleted (triggers refuse it).
//! * Catalog lookups go to indexes; the catalog is never loaded into memory.

pub mod catalog;
pub mod coupons;
mod db;
pub mod hq;
pub mod journal;
pub mod members;
pub mod meta;
pub mod outbox;
pub mod sales;
pub mod shifts;

pub use db::{Result, Store, StoreError};
