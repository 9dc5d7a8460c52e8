//! Crash test: a child process commits sales in a loop and is killed with SIGKILL at random
//! moments. After every kill the store is reopened: every acknowledged sale is present and
//! whole, no partial sale exists, and the journal verifies.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tillstone_store::Store;

fn kills() -> usize {
    std::env::var("TILLSTONE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

struct Acked {
    total: String,
    lines: i64,
    paid: String,
}

#[test]
fn acknowledged_sales_survive_sigkill() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    tillstone_tests::init_demo(dir.path())?;
    let exe = env!("CARGO_BIN_EXE_crash_writer");
    let mut rng: u64 = std::env::var("TILLSTONE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
                | 1
        });
    eprintln!("crash test seed {rng} (set TILLSTONE_CRASH_SEED to replay)");
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut acked: HashMap<String, Acked> = HashMap::new();
    let mut killed_mid_run = 0;
    let started = Instant::now();
    for round in 0..kills() {
        let mut child = Command::new(exe)
            .arg(dir.path())
            .arg((next() % 1_000_000 + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until it has signed in and opened its shift, then kill it anywhere in its loop
        // of scanning, paying and committing.
        let ready = rx.recv_timeout(Duration::from_secs(30));
        if ready.as_deref() == Ok("READY") {
            std::thread::sleep(Duration::from_micros(next() % 60_000));
        }
        let still_running = child.try_wait()?.is_none();
        child.kill()?; // SIGKILL on Unix
        let status = child.wait()?;
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("reader panicked"))?;
        let lines: Vec<String> = rx.try_iter().collect();
        if !still_running || ready.as_deref() != Ok("READY") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err)?;
            }
            anyhow::bail!(
                "round {round}: the writer did not start or exited by itself ({status}): {err}"
            );
        }
        killed_mid_run += 1;
        for l in lines {
            let parts: Vec<&str> = l.split_whitespace().collect();
            if parts.len() == 5 && parts[0] == "ACK" {
                acked.insert(
                    parts[1].to_string(),
                    Acked {
                        total: parts[2].to_string(),
                        lines: parts[3].parse()?,
                        paid: parts[4].to_string(),
                    },
                );
            }
        }
        if round % 20 == 19 || round + 1 == kills() {
            check(dir.path(), &acked)?;
        }
    }
    check(dir.path(), &acked)?;
    eprintln!(
        "{killed_mid_run} kills, {} acknowledged sales, {:?}",
        acked.len(),
        started.elapsed()
    );
    assert!(killed_mid_run >= kills());
    assert!(
        acked.len() > kills() / 4,
        "the writer acknowledged too few sales to mean anything"
    );
    Ok(())
}

fn check(dir: &std::path::Path, acked: &HashMap<String, Acked>) -> anyhow::Result<()> {
    let store = Store::open(dir.join("tillstone.db"))?;
    let journal = store.verify_journal()?;
    assert!(journal.ok(), "journal broken: {:?}", journal.first_broken);
    for (receipt, a) in acked {
        let sale = store
            .sale_by_receipt(receipt)?
            .unwrap_or_else(|| panic!("acknowledged sale {receipt} is missing"));
        assert_eq!(sale.totals.total.to_string(), a.total, "{receipt} total");
        assert_eq!(sale.lines.len() as i64, a.lines, "{receipt} lines");
        let paid: rust_decimal::Decimal = sale.tenders.iter().map(|t| t.applied).sum();
        assert_eq!(paid.to_string(), a.paid, "{receipt} tenders");
    }
    // No partial sale: every sale has all its lines, tenders and taxes, one journal entry and
    // one outbox record.
    let c = store.connection();
    let partial: i64 = c.query_row(
        "SELECT COUNT(*) FROM sales s WHERE
            s.line_count != (SELECT COUNT(*) FROM sale_lines l WHERE l.sale_id = s.sale_id)
         OR NOT EXISTS (SELECT 1 FROM sale_tenders t WHERE t.sale_id = s.sale_id)
         OR NOT EXISTS (SELECT 1 FROM sale_taxes x WHERE x.sale_id = s.sale_id)
         OR (SELECT COUNT(*) FROM journal j WHERE j.ref_id = s.sale_id) != 1
         OR NOT EXISTS (SELECT 1 FROM outbox o JOIN journal j USING (seq) WHERE j.ref_id = s.sale_id)
         OR s.total_minor != (SELECT SUM(total_minor) FROM sale_lines l WHERE l.sale_id = s.sale_id)",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(partial, 0, "partial sales found");
    let orphans: i64 = c.query_row(
        "SELECT (SELECT COUNT(*) FROM sale_lines WHERE sale_id NOT IN (SELECT sale_id FROM sales))
              + (SELECT COUNT(*) FROM sale_tenders WHERE sale_id NOT IN (SELECT sale_id FROM sales))
              + (SELECT COUNT(*) FROM journal WHERE kind = 'sale' AND ref_id NOT IN (SELECT sale_id FROM sales))",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(orphans, 0, "orphan rows found");
    let docs = store.document_count()?;
    assert!(docs >= acked.len() as u64);
    Ok(())
}
