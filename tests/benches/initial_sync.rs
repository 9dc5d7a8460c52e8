//! `make bench` (`cargo bench -p tillstone-tests --bench initial_sync`): issue 5, the initial
//! sync of a 1,000,000-product catalog. The catalog is loaded into a `tillstone-cloud` (SQLite
//! backend, `Storage::put_changes` in batches) served over HTTP in this process; a terminal in a
//! **child process** (so its memory is its own) enrolls and pulls everything into its store with
//! the terminal's page size, and reports its time and its peak RSS (`VmHWM` of
//! `/proc/self/status`). Baselines measured in the same run: the hub's own paged read
//! (`Storage::pull` in-process, same pages, no HTTP, nothing applied) and a bare `SELECT` of the
//! rows. Target: the terminal's peak RSS stays under 256 MiB (the catalog's JSON alone is
//! several hundred MB: it is streamed page by page, never held whole).
//!
//! N is `TILLSTONE_BENCH_CATALOG` (default 1,000,000). Without `--bench` (under
//! `cargo test --all-targets`) it runs a 5,000-row smoke pass without targets.

#[path = "../tests/hub/mod.rs"]
mod hub;

use anyhow::{Context, bail, ensure};
use hub::{Hub, now_ms, product};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use tillstone_cloud::Storage;
use tillstone_store::Store;
use tillstone_sync::{Cursors, Entity, PullRequest, StoreId, TenantId};
use tillstone_sync_client::{HttpTransport, SyncClient, SyncConfig};
use tillstone_tests::bench::{Row, Table, Verdict, bench_data_dir, fmt_ratio, thousands};

const CATALOG_ENV: &str = "TILLSTONE_BENCH_CATALOG";
const DEFAULT_CATALOG: usize = 1_000_000;
const SMOKE_CATALOG: usize = 5_000;
/// The terminal's page size (`terminal/src/sync.rs`).
const PAGE: u32 = 2000;
const LOAD_BATCH: usize = 5000;
const TARGET_RSS_MIB: f64 = 256.0;
/// Set in the child: `URL\tCODE\tDIR`.
const CHILD_ENV: &str = "TILLSTONE_BENCH_PULL_CHILD";

/// What the child reports (one tab-separated line on stdout).
struct PullResult {
    secs: f64,
    rows: u64,
    pages: usize,
    hwm_before_kib: u64,
    hwm_kib: u64,
}

fn main() -> anyhow::Result<ExitCode> {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec).map(|_| ExitCode::SUCCESS);
    }
    let full = std::env::args().skip(1).any(|a| a == "--bench");
    let n = if full {
        match std::env::var(CATALOG_ENV) {
            Ok(v) => v
                .replace(['_', ','], "")
                .parse()
                .with_context(|| format!("{CATALOG_ENV}={v:?} is not a number"))?,
            Err(_) => DEFAULT_CATALOG,
        }
    } else {
        SMOKE_CATALOG
    };
    ensure!(n > 0, "{CATALOG_ENV} must be at least 1");
    let started = Instant::now();
    let root = bench_data_dir();
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let work = tempfile::tempdir_in(&root).context("bench directory")?;
    let db = work.path().join("hq.db");
    let hq = tillstone_cloud::open(&format!("sqlite:{}", db.display()))?;
    let tenant = hq.create_tenant("基准公司")?;
    let store = StoreId::new("s-01").map_err(anyhow::Error::msg)?;
    hq.create_store(&tenant, &store, "一店")?;

    eprintln!(
        "initial_sync: loading {} products into the hub",
        thousands(n as u64)
    );
    let t = Instant::now();
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    for i in 0..n {
        batch.push(product(i));
        if batch.len() == LOAD_BATCH || i + 1 == n {
            hq.put_changes(&tenant, Entity::Catalog, &batch, None)?;
            batch.clear();
        }
    }
    let load = t.elapsed();
    let db_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);

    eprintln!("initial_sync: baseline: bare SELECT of the rows");
    let bare = bare_read(&db, &tenant, n)?;
    eprintln!("initial_sync: baseline: Storage::pull in-process");
    let paged = hub_pull(&*hq, &tenant, &store, n)?;

    eprintln!("initial_sync: terminal pull over HTTP (child process)");
    let hub = Hub::start(hq.clone());
    let code = hq.create_enrollment_code(&tenant, &store, now_ms(), now_ms() + 3_600_000)?;
    let till = work.path().join("till");
    std::fs::create_dir_all(&till)?;
    let out = Command::new(std::env::current_exe()?)
        .env(
            CHILD_ENV,
            format!("{}\t{code}\t{}", hub.url, till.display()),
        )
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run the terminal child process")?;
    hub.stop();
    if !out.status.success() {
        bail!("the terminal child process failed ({})", out.status);
    }
    let pull = parse_child(&String::from_utf8_lossy(&out.stdout))?;
    ensure!(
        pull.rows == n as u64,
        "the terminal pulled {} rows, not {n}",
        pull.rows
    );
    let till_db = Store::open(till.join("till.db"))?;
    let applied: i64 = till_db.connection().query_row(
        "SELECT COUNT(*) FROM hq_rows WHERE entity = 'catalog'",
        [],
        |r| r.get(0),
    )?;
    ensure!(
        applied as usize == n,
        "the terminal holds {applied} rows, not {n}"
    );
    drop(till_db);

    let rate = |rows: u64, d: Duration| {
        format!(
            "{}/s",
            thousands((rows as f64 / d.as_secs_f64().max(1e-9)) as u64)
        )
    };
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let pull_d = Duration::from_secs_f64(pull.secs);
    let rss = pull.hwm_kib as f64 / 1024.0;
    let mut table = Table::default();
    table.push(Row {
        name: format!("initial pull: terminal ← hub, HTTP, {PAGE}-row pages"),
        n: thousands(n as u64),
        p50: rate(pull.rows, pull_d),
        total: secs(pull_d),
        baseline: format!("{} (Storage::pull)", secs(paged.0)),
        ratio: fmt_ratio(pull_d, paged.0),
        target: String::new(),
        verdict: Verdict::Info,
    });
    table.push(Row {
        name: "  terminal peak RSS (VmHWM)".into(),
        n: format!("{} pages", thousands(pull.pages as u64)),
        total: format!("{rss:.0} MiB"),
        baseline: format!("{:.0} MiB before", pull.hwm_before_kib as f64 / 1024.0),
        target: if full {
            format!("≤ {TARGET_RSS_MIB:.0} MiB")
        } else {
            String::new()
        },
        verdict: Verdict::check(full, rss <= TARGET_RSS_MIB),
        ..Row::default()
    });
    table.push(Row {
        name: format!("  baseline: Storage::pull in-process, {PAGE}-row pages"),
        n: format!("{} pages", thousands(paged.1 as u64)),
        p50: rate(n as u64, paged.0),
        total: secs(paged.0),
        ..Row::default()
    });
    table.push(Row {
        name: "  baseline: bare SELECT of the rows".into(),
        n: thousands(n as u64),
        p50: rate(n as u64, bare),
        total: secs(bare),
        ..Row::default()
    });
    table.push(Row {
        name: "  setup: load into the hub (put_changes)".into(),
        n: format!("{} MB db", db_bytes / 1_000_000),
        p50: rate(n as u64, load),
        total: secs(load),
        ..Row::default()
    });
    table.note(
        "p50 column: rows/s; the terminal applies every row to its catalog in page transactions",
    );
    println!();
    println!(
        "Tillstone initial sync bench ({}{} products, SQLite hub, {} s){}",
        if full { "release, " } else { "" },
        thousands(n as u64),
        started.elapsed().as_secs(),
        if full {
            ""
        } else {
            " — smoke pass, no targets"
        }
    );
    Ok(table.finish(full))
}

/// The rows straight from the hub's table, in revision order (what every page reads).
fn bare_read(db: &std::path::Path, tenant: &TenantId, n: usize) -> anyhow::Result<Duration> {
    let conn = rusqlite::Connection::open(db)?;
    let t = Instant::now();
    let mut stmt = conn.prepare(
        "SELECT key, revision, deleted, data FROM changes WHERE tenant_id = ?1 AND entity = ?2
         ORDER BY revision",
    )?;
    let mut rows = stmt.query((tenant.as_str(), "catalog"))?;
    let (mut count, mut bytes) = (0usize, 0usize);
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let data: String = r.get(3)?;
        bytes += key.len() + data.len();
        count += 1;
    }
    let d = t.elapsed();
    ensure!(count == n && bytes > 0, "the bare read saw {count} rows");
    Ok(d)
}

/// The hub's paged read, in process: `Storage::pull` from cursor 0 to the end.
fn hub_pull(
    hq: &dyn Storage,
    tenant: &TenantId,
    store: &StoreId,
    n: usize,
) -> anyhow::Result<(Duration, usize)> {
    // A principal of the tenant (pull reads only the tenant).
    let code = hq.create_enrollment_code(tenant, store, now_ms(), now_ms() + 60_000)?;
    let who = hq
        .enroll(
            &code,
            &tillstone_sync::TerminalId::new(hub::fresh_terminal_id())
                .map_err(anyhow::Error::msg)?,
            now_ms(),
        )?
        .principal;
    let t = Instant::now();
    let mut cursors = Cursors::new();
    let (mut rows, mut pages) = (0usize, 0usize);
    loop {
        let page = hq.pull(
            &who,
            &PullRequest {
                version: tillstone_sync::PROTOCOL_VERSION,
                cursors: cursors.clone(),
                limit: Some(PAGE),
                count_remaining: None,
            },
        )?;
        pages += 1;
        rows += page.rows.len();
        cursors = page.next_cursors;
        if !page.more {
            break;
        }
    }
    let d = t.elapsed();
    ensure!(rows == n, "Storage::pull gave {rows} rows, not {n}");
    Ok((d, pages))
}

/// Peak resident set size of this process, KiB.
fn vm_hwm_kib() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    line.split_whitespace()
        .nth(1)
        .context("VmHWM without a value")?
        .parse()
        .context("VmHWM is not a number")
}

/// The terminal: enroll, pull everything, report.
fn child(spec: &str) -> anyhow::Result<()> {
    let mut parts = spec.split('\t');
    let (Some(url), Some(code), Some(dir)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("{CHILD_ENV} must be URL<TAB>CODE<TAB>DIR");
    };
    let store = Store::open(std::path::Path::new(dir).join("till.db"))?;
    store.set_meta("terminal_id", &hub::fresh_terminal_id())?;
    let client = SyncClient::new(
        HttpTransport::new(url)?,
        SyncConfig {
            pull_limit: PAGE,
            max_rounds: usize::MAX,
            ..SyncConfig::default()
        },
    );
    client.enroll(&store, code)?;
    let store = std::sync::Mutex::new(store);
    let lock = || store.lock().unwrap_or_else(|p| p.into_inner());
    let hwm_before_kib = vm_hwm_kib()?;
    let t = Instant::now();
    let mut last_report = Instant::now();
    let report = client.pull_with_progress(lock, |p| {
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            if let Some(f) = p.fraction() {
                eprintln!("initial_sync: terminal at {:.0} %", f * 100.0);
            }
        }
    })?;
    let secs = t.elapsed().as_secs_f64();
    let hwm_kib = vm_hwm_kib()?;
    ensure!(report.complete, "the pull did not complete");
    println!(
        "{secs}\t{}\t{}\t{hwm_before_kib}\t{hwm_kib}",
        report.rows, report.pages
    );
    Ok(())
}

fn parse_child(out: &str) -> anyhow::Result<PullResult> {
    let line = out
        .lines()
        .last()
        .context("the terminal child printed nothing")?;
    let f: Vec<&str> = line.split('\t').collect();
    ensure!(f.len() == 5, "unexpected child output {line:?}");
    Ok(PullResult {
        secs: f[0].parse()?,
        rows: f[1].parse()?,
        pages: f[2].parse()?,
        hwm_before_kib: f[3].parse()?,
        hwm_kib: f[4].parse()?,
    })
}
