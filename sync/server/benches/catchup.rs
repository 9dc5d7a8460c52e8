//! `make bench` (`cargo bench -p tillstone-cloud --bench catchup`): issue 5, terminals catching
//! up into PostgreSQL. 20 enrolled terminals push N sales each (default 50,000) through
//! `Storage::push` of the PostgreSQL backend in batches of the wire format's maximum (1000
//! events), one thread per terminal, beside a bare PostgreSQL baseline measured in the same run:
//! the same rows (same columns and indexes: a `LIKE events INCLUDING ALL` table) written by the
//! same threads with one multi-row `INSERT` per batch, one transaction per batch, through a pool
//! of the same size. Prints a table; exit status 1 if the target is missed.
//!
//! N is `TILLSTONE_BENCH_SALES`. The database is `TILLSTONE_PG_URL` (default
//! `postgres://tillstone:tillstone@127.0.0.1:5432/tillstone_test`, a role with `CREATEDB`): a
//! fresh database is created for the run and dropped at the end.
//!
//! Without `--bench` (under `cargo test --all-targets`) it runs a small smoke pass when
//! `TILLSTONE_PG_URL` is set (no targets), and prints a skip line otherwise.

use anyhow::{Context, bail, ensure};
use postgres::types::ToSql;
use postgres::{Client, NoTls};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tillstone_cloud::{PostgresStorage, Principal, Storage};
use tillstone_sync::wire::MAX_EVENTS_PER_BATCH;
use tillstone_sync::{Event, EventKind, Hlc, PROTOCOL_VERSION, PushBatch, StoreId, TerminalId};

const PG_URL_ENV: &str = "TILLSTONE_PG_URL";
const DEFAULT_PG_URL: &str = "postgres://tillstone:tillstone@127.0.0.1:5432/tillstone_test";
const SALES_ENV: &str = "TILLSTONE_BENCH_SALES";
const DEFAULT_SALES: u64 = 50_000;
const TERMINALS: usize = 20;
/// Connections of both the storage pool (the server's default) and the baseline's pool.
const POOL: u32 = 8;
/// Target: sales stored per second through `Storage::push`.
const TARGET_RATE: f64 = 40_000.0;

fn main() -> anyhow::Result<ExitCode> {
    let full = std::env::args().skip(1).any(|a| a == "--bench");
    let admin_url = match std::env::var(PG_URL_ENV) {
        Ok(u) => u,
        Err(_) if full => DEFAULT_PG_URL.to_string(),
        Err(_) => {
            println!("catchup smoke pass skipped: set {PG_URL_ENV} to run it");
            return Ok(ExitCode::SUCCESS);
        }
    };
    let sales = if full { sales_per_terminal()? } else { 120 };
    let db = BenchDb::create(&admin_url)?;
    let started = Instant::now();

    let storage = PostgresStorage::open_with(&db.url, POOL)
        .with_context(|| format!("cannot open the bench database {}", db.name))?;
    let terminals = enroll(&storage)?;
    eprintln!(
        "catchup: generating {} sales for {TERMINALS} terminals",
        thousands(sales * TERMINALS as u64)
    );
    let batches: Vec<Vec<PushBatch>> = terminals
        .iter()
        .enumerate()
        .map(|(i, who)| terminal_batches(who, i, sales))
        .collect();
    let payload_bytes: usize = batches[0][0]
        .events
        .iter()
        .map(|e| e.payload.to_string().len())
        .sum::<usize>()
        / batches[0][0].events.len();

    // Baseline first, into its own table with the same columns and indexes.
    let mut admin = Client::connect(&db.url, NoTls)?;
    admin.batch_execute("CREATE TABLE bare_events (LIKE events INCLUDING ALL)")?;
    let rows: Vec<Vec<BareBatch>> = terminals
        .iter()
        .zip(&batches)
        .map(|(who, bs)| bs.iter().map(|b| BareBatch::of(who, b)).collect())
        .collect::<anyhow::Result<_>>()?;
    eprintln!("catchup: bare INSERT baseline");
    let bare = run_bare(&db.url, &rows)?;
    drop(rows);
    let stored: i64 = admin
        .query_one("SELECT COUNT(*) FROM bare_events", &[])?
        .get(0);
    ensure!(
        stored as u64 == sales * TERMINALS as u64,
        "the baseline stored {stored} rows"
    );

    eprintln!("catchup: Storage::push");
    let push = run_push(&storage, &terminals, &batches)?;
    let total = sales * TERMINALS as u64;
    let stored = storage.event_count(&terminals[0].tenant)?;
    ensure!(stored == total, "push stored {stored} events, not {total}");
    for who in &terminals {
        let through = storage.contiguous_through(&who.tenant, &who.terminal)?;
        ensure!(
            through == sales,
            "terminal {} is contiguous through {through}, not {sales}",
            who.terminal
        );
    }
    drop(storage);
    drop(admin);
    drop(db);

    let rate = total as f64 / push.wall.as_secs_f64();
    let bare_rate = total as f64 / bare.wall.as_secs_f64();
    let pass = rate >= TARGET_RATE;
    let target = format!("≥ {}/s", thousands(TARGET_RATE as u64));
    let mut table = Table::default();
    table.rows.push([
        "catch-up: Storage::push (PostgreSQL)".into(),
        thousands(total),
        secs(push.wall),
        format!("{}/s", thousands(rate as u64)),
        format!("{} / {}", ms(push.p50), ms(push.p99)),
        format!("{}/s", thousands(bare_rate as u64)),
        format!("{:.2}x", push.wall.as_secs_f64() / bare.wall.as_secs_f64()),
        if full { target } else { "-".into() },
        match (full, pass) {
            (false, _) => "smoke".into(),
            (true, true) => "PASS".into(),
            (true, false) => "FAIL".into(),
        },
    ]);
    table.rows.push([
        "  baseline: bare multi-row INSERT".into(),
        thousands(total),
        secs(bare.wall),
        format!("{}/s", thousands(bare_rate as u64)),
        format!("{} / {}", ms(bare.p50), ms(bare.p99)),
        "-".into(),
        "-".into(),
        "-".into(),
        "-".into(),
    ]);

    println!();
    println!(
        "Tillstone cloud catch-up bench ({}{TERMINALS} terminals × {} sales, batches of \
         {MAX_EVENTS_PER_BATCH}, pool {POOL}, ~{payload_bytes} B payloads, {} s){}",
        if full { "release, " } else { "" },
        thousands(sales),
        started.elapsed().as_secs(),
        if full {
            ""
        } else {
            " — smoke pass, no targets"
        }
    );
    table.print();
    println!(
        "  ratio = push time / baseline time; batch = one transaction of {MAX_EVENTS_PER_BATCH} \
         sales (p50 / p99 per batch)"
    );
    if full && !pass {
        println!("1 target(s) missed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn sales_per_terminal() -> anyhow::Result<u64> {
    match std::env::var(SALES_ENV) {
        Ok(v) => {
            let digits: String = v.chars().filter(|c| !matches!(c, '_' | ',')).collect();
            let n: u64 = digits
                .trim()
                .parse()
                .with_context(|| format!("{SALES_ENV}={v:?} is not a number of sales"))?;
            ensure!(n > 0, "{SALES_ENV} must be at least 1");
            Ok(n)
        }
        Err(_) => Ok(DEFAULT_SALES),
    }
}

// ---------------------------------------------------------------------------------------------
// Database and terminals
// ---------------------------------------------------------------------------------------------

/// A fresh database for the run, dropped (with its connections) at the end.
struct BenchDb {
    admin_url: String,
    name: String,
    url: String,
}

impl BenchDb {
    fn create(admin_url: &str) -> anyhow::Result<BenchDb> {
        let name = format!("tillstone_bench_{}", uuid::Uuid::new_v4().simple());
        let mut client = Client::connect(admin_url, NoTls)
            .with_context(|| format!("cannot connect to {PG_URL_ENV} ({admin_url})"))?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .context("CREATE DATABASE (the role needs CREATEDB)")?;
        let url = with_database(admin_url, &name)?;
        Ok(BenchDb {
            admin_url: admin_url.to_string(),
            name,
            url,
        })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        let dropped = Client::connect(&self.admin_url, NoTls).and_then(|mut c| {
            c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
        });
        if let Err(e) = dropped {
            eprintln!("catchup: cannot drop the bench database {}: {e}", self.name);
        }
    }
}

/// `url` with its database name replaced by `db` (query parameters kept).
fn with_database(url: &str, db: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let Some(authority_end) = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
    else {
        bail!("{PG_URL_ENV} must name a database: postgres://USER:PASS@HOST:PORT/DB");
    };
    let mut out = format!("{}/{db}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One tenant, one store, `TERMINALS` terminals enrolled with one-time codes.
fn enroll(storage: &PostgresStorage) -> anyhow::Result<Vec<Principal>> {
    let tenant = storage.create_tenant("甲公司")?;
    let store = StoreId::new("s-01")?;
    storage.create_store(&tenant, &store, "一店")?;
    let now = now_ms();
    (0..TERMINALS)
        .map(|i| {
            let code = storage.create_enrollment_code(&tenant, &store, now, now + 600_000)?;
            let terminal = TerminalId::new(format!("s-01-t{:02}", i + 1))?;
            Ok(storage.enroll(&code, &terminal, now)?.principal)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// SplitMix64: cheap deterministic variety in the payloads.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A small sale like the terminal journals: two lines, one tender, totals as decimal strings.
fn sale_payload(rng: &mut Rng, who: &Principal, n: u64, at_ms: u64) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = (0..2)
        .map(|l| {
            let qty = 1 + rng.below(3);
            let price = 100 + rng.below(2_000);
            json!({
                "line": l + 1,
                "sku": format!("69{:011}", rng.below(1_000_000)),
                "qty": qty.to_string(),
                "unit_price": format!("{}.{:02}", price / 100, price % 100),
                "total": format!("{}.{:02}", qty * price / 100, qty * price % 100),
                "tax_class": "std",
            })
        })
        .collect();
    let cents: u64 = 500 + rng.below(20_000);
    let total = format!("{}.{:02}", cents / 100, cents % 100);
    json!({
        "sale_id": format!("{}-{n:08}", who.terminal),
        "receipt_no": n,
        "store_id": who.store.as_str(),
        "terminal_id": who.terminal.as_str(),
        "cashier_id": format!("c-{:03}", rng.below(40)),
        "shift_id": format!("{}-sh{:04}", who.terminal, n / 400),
        "completed_at_ms": at_ms,
        "lines": lines,
        "tenders": [{"kind": "cash", "amount": total}],
        "total": total,
    })
}

/// Terminal `index`'s `sales` sales, in push batches of the wire maximum, seq 1.. in order.
fn terminal_batches(who: &Principal, index: usize, sales: u64) -> Vec<PushBatch> {
    let mut rng = Rng(0x5eed ^ index as u64);
    let start_ms = now_ms() - sales * 1_000;
    let mut out = Vec::new();
    let mut seq = 0u64;
    while seq < sales {
        let n = (sales - seq).min(MAX_EVENTS_PER_BATCH as u64);
        let events = (0..n)
            .map(|_| {
                seq += 1;
                let at = start_ms + seq * 1_000;
                let ts = uuid::Timestamp::from_unix(
                    uuid::NoContext,
                    at / 1_000,
                    (at % 1_000) as u32 * 1_000_000,
                );
                let mut id = *uuid::Uuid::new_v7(ts).as_bytes();
                // Unique per (terminal, seq) whatever the random part: bytes 8..16 keep the
                // variant bits and carry the terminal and seq.
                id[8] = 0x80 | (index as u8 & 0x3f);
                id[9..16].copy_from_slice(&seq.to_be_bytes()[1..]);
                Event {
                    event_id: uuid::Uuid::from_bytes(id).hyphenated().to_string(),
                    terminal_id: who.terminal.clone(),
                    seq,
                    hlc: Hlc {
                        wall_ms: at,
                        counter: 0,
                        node: who.terminal.clone(),
                    },
                    kind: EventKind::Sale,
                    payload: sale_payload(&mut rng, who, seq, at),
                }
            })
            .collect();
        out.push(PushBatch {
            version: PROTOCOL_VERSION,
            tenant: who.tenant.clone(),
            store: who.store.clone(),
            terminal: who.terminal.clone(),
            batch_id: uuid::Uuid::now_v7().to_string(),
            events,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

struct Run {
    wall: Duration,
    p50: Duration,
    p99: Duration,
}

/// Run `work(terminal, batch)` for every batch, one thread per terminal started together;
/// returns the wall time and the per-batch latencies.
fn run_threads<B: Sync>(
    per_terminal: &[Vec<B>],
    work: impl Fn(usize, &B) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<Run> {
    let barrier = Barrier::new(per_terminal.len() + 1);
    let (wall, mut lat) = std::thread::scope(|s| -> anyhow::Result<_> {
        let handles: Vec<_> = per_terminal
            .iter()
            .enumerate()
            .map(|(t, batches)| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || -> anyhow::Result<Vec<Duration>> {
                    barrier.wait();
                    let mut lat = Vec::with_capacity(batches.len());
                    for b in batches {
                        let t0 = Instant::now();
                        work(t, b)?;
                        lat.push(t0.elapsed());
                    }
                    Ok(lat)
                })
            })
            .collect();
        barrier.wait();
        let t0 = Instant::now();
        let mut lat = Vec::new();
        for h in handles {
            lat.extend(h.join().expect("bench thread panicked")?);
        }
        Ok((t0.elapsed(), lat))
    })?;
    lat.sort();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    Ok(Run {
        wall,
        p50: pct(0.50),
        p99: pct(0.99),
    })
}

fn run_push(
    storage: &PostgresStorage,
    terminals: &[Principal],
    batches: &[Vec<PushBatch>],
) -> anyhow::Result<Run> {
    run_threads(batches, |t, batch| {
        let ack = storage.push(&terminals[t], batch, now_ms())?;
        ensure!(
            ack.accepted.len() == batch.events.len(),
            "batch {}: {} accepted, {} duplicates, rejected {:?}",
            batch.batch_id,
            ack.accepted.len(),
            ack.duplicates.len(),
            ack.rejected.first()
        );
        Ok(())
    })
}

/// The rows `Storage::push` writes for one batch, precomputed (the envelope as received).
struct BareBatch {
    tenant: String,
    store: String,
    terminal: String,
    rows: Vec<BareRow>,
}

struct BareRow {
    event_id: String,
    seq: i64,
    wall: i64,
    counter: i64,
    kind: &'static str,
    envelope: String,
}

impl BareBatch {
    fn of(who: &Principal, batch: &PushBatch) -> anyhow::Result<BareBatch> {
        let rows = batch
            .events
            .iter()
            .map(|e| {
                Ok(BareRow {
                    event_id: e.event_id.clone(),
                    seq: i64::try_from(e.seq)?,
                    wall: i64::try_from(e.hlc.wall_ms)?,
                    counter: i64::from(e.hlc.counter),
                    kind: e.kind.as_str(),
                    envelope: serde_json::to_string(e)?,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(BareBatch {
            tenant: who.tenant.to_string(),
            store: who.store.to_string(),
            terminal: who.terminal.to_string(),
            rows,
        })
    }
}

const BARE_COLUMNS: usize = 10;

/// `INSERT INTO bare_events (…) VALUES (…), (…)…` for `n` rows.
fn bare_insert_sql(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO bare_events (event_id, tenant_id, store_id, terminal_id, seq, hlc_wall_ms, \
         hlc_counter, kind, envelope, received_ms) VALUES ",
    );
    for r in 0..n {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..BARE_COLUMNS {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", r * BARE_COLUMNS + c + 1));
        }
        sql.push(')');
    }
    sql
}

fn run_bare(url: &str, batches: &[Vec<BareBatch>]) -> anyhow::Result<Run> {
    let pool = r2d2::Pool::builder()
        .max_size(POOL)
        .min_idle(Some(0))
        .build(PostgresConnectionManager::new(url.parse()?, NoTls))?;
    let full_sql = bare_insert_sql(MAX_EVENTS_PER_BATCH);
    run_threads(batches, |_, batch| {
        let received = now_ms() as i64;
        let mut params: Vec<&(dyn ToSql + Sync)> =
            Vec::with_capacity(batch.rows.len() * BARE_COLUMNS);
        for r in &batch.rows {
            params.extend_from_slice(&[
                &r.event_id,
                &batch.tenant,
                &batch.store,
                &batch.terminal,
                &r.seq,
                &r.wall,
                &r.counter,
                &r.kind,
                &r.envelope,
                &received,
            ]);
        }
        let partial;
        let sql = if batch.rows.len() == MAX_EVENTS_PER_BATCH {
            &full_sql
        } else {
            partial = bare_insert_sql(batch.rows.len());
            &partial
        };
        let mut conn = pool.get()?;
        let mut tx = conn.transaction()?;
        let n = tx.execute(sql.as_str(), &params)?;
        tx.commit()?;
        ensure!(n as usize == batch.rows.len(), "inserted {n} rows");
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1_000.0)
}

const HEADER: [&str; 9] = [
    "measurement",
    "sales",
    "wall",
    "sales/s",
    "batch p50 / p99",
    "baseline",
    "ratio",
    "target",
    "result",
];

#[derive(Default)]
struct Table {
    rows: Vec<[String; 9]>,
}

impl Table {
    fn print(&self) {
        let mut widths = HEADER.map(|h| h.chars().count());
        for row in &self.rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    // Text left, numbers right.
                    if i == 0 || i >= 7 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            println!("{}", parts.join("  ").trim_end());
        };
        line(&HEADER.map(String::from));
        println!(
            "{}",
            "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
        );
        for row in &self.rows {
            line(row);
        }
    }
}
