//! Crash-test child: rings sales in a loop on a real terminal and prints `ACK <receipt> <total>
//! <lines>` on stdout after each sale is committed (never before). The crash test kills it
//! with SIGKILL at random moments and checks that every acknowledged sale survived whole.

use rust_decimal::Decimal;
use std::io::Write;
use tillstone_core::tender::TenderKind;
use tillstone_terminal::app::ScanOutcome;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: crash_writer DIR SEED"))?,
    );
    let mut seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let (t, s) = tillstone_tests::cashier_with_shift(&dir)?;
    let codes = tillstone_tests::piece_barcodes(&t, 500)?;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let stdout = std::io::stdout();
    {
        let mut out = stdout.lock();
        writeln!(out, "READY")?;
        out.flush()?;
    }
    loop {
        let cart = t.new_cart(&s)?;
        let lines = 1 + (next() % 20) as usize;
        for _ in 0..lines {
            let code = &codes[(next() as usize) % codes.len()];
            match t.scan(&s, &cart.cart_id, code, None)? {
                ScanOutcome::Added { .. } => {}
                other => anyhow::bail!("unexpected scan outcome {other:?}"),
            }
        }
        let kind = if next() % 2 == 0 {
            TenderKind::Cash
        } else {
            TenderKind::Card
        };
        let view = t.add_tender(
            &s,
            &cart.cart_id,
            kind,
            None,
            Some(format!("ref{}", next() % 1000)),
        )?;
        let receipt = t.complete(&s, &cart.cart_id)?;
        let _ = view;
        let mut out = stdout.lock();
        writeln!(
            out,
            "ACK {} {} {} {}",
            receipt.sale.ctx.receipt_no,
            receipt.sale.totals.total,
            receipt.sale.lines.len(),
            receipt
                .sale
                .tenders
                .iter()
                .map(|t| t.applied)
                .sum::<Decimal>()
        )?;
        out.flush()?;
    }
}
