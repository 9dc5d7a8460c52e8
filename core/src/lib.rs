//! `tillstone-core`: the pure domain of the till.
//!
//! Invariant: no IO, no clock, no randomness. Times and ids are passed in by the caller.
//! Everything here is deterministic and can be tested without a disk, a network or a database.

pub mod alloc;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod coupon;
pub mod member;
pub mod money;
pub mod points;
pub mod pricing;
pub mod promo;
pub mod report;
pub mod returns;
pub mod sale;
pub mod settings;
pub mod tender;

pub use rust_decimal::Decimal;
