//! Helpers shared by the end-to-end tests, the crash writer and the benchmarks.

pub mod bench;

use std::path::Path;
use tillstone_terminal::app::{Session, Terminal};
use tillstone_terminal::setup::{InitOptions, init};

/// Demo users (see fixtures/demo/users.json).
pub const CASHIER: (&str, &str) = ("1001", "1111");
pub const MANAGER: (&str, &str) = ("9001", "9999");

/// Create the demo store in `dir`.
pub fn init_demo(dir: &Path) -> anyhow::Result<()> {
    init(dir, &InitOptions::demo())?;
    Ok(())
}

/// Open the terminal in `dir`, sign the cashier in and make sure a shift is open.
pub fn cashier_with_shift(dir: &Path) -> anyhow::Result<(Terminal, Session)> {
    let t = Terminal::open(dir)?;
    let s = t.login(CASHIER.0, CASHIER.1)?;
    if t.current_shift()?.is_none() {
        t.open_shift(&s, rust_decimal::Decimal::from(500))?;
    }
    Ok((t, s))
}

/// Piece-unit barcodes of the demo catalog (first `n`).
pub fn piece_barcodes(t: &Terminal, n: usize) -> anyhow::Result<Vec<String>> {
    let store = t.store();
    let mut stmt = store.connection().prepare(
        "SELECT b.barcode FROM barcode b JOIN product p ON p.sku = b.sku
         WHERE p.unit = 'piece' ORDER BY b.barcode LIMIT ?1",
    )?;
    let codes = stmt
        .query_map([n as i64], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(codes)
}
