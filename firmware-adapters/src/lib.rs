//! `tillstone-devices`: the store hardware a till drives.
//!
//! Invariant: this crate knows nothing of sales. It prints a [`receipt::ReceiptDoc`] (a layout
//! model the terminal builds from a sale), parses what scanners and scales send, and writes to
//! customer displays and cash drawers. It never depends on the terminal, the store or the cloud.

pub mod config;
pub mod discovery;
pub mod display;
pub mod preview;
pub mod printer;
pub mod queue;
pub mod receipt;
pub mod scale;
pub mod scan;
pub mod scanner;
pub mod status;
pub mod transport;
