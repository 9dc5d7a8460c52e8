//! `make bench` (`cargo bench -p tillstone-tests --bench till`): the till's hot paths on real
//! SQLite files in release, each beside a baseline measured in the same run, printed as one
//! table (exit status 1 if a target is missed).
//!
//! 1. Catalog import of N products, only when the cached catalog is (re)built.
//! 2. Scan to priced line (`Terminal::scan`) on the N-product catalog, beside a bare indexed
//!    barcode lookup on a separate connection to the same file.
//! 3. Durable commit of a 20-line sale (`Store::commit_sale`), interleaved with a bare rusqlite
//!    transaction writing the same rows into another file with the same pragmas.
//! 4. X/Z report (`Terminal::x_report`) over 5,000 sales of 20 lines in one shift.
//!
//! N is `TILLSTONE_BENCH_PRODUCTS` (default 1,000,000). The catalog is built once into
//! `target/bench-data/catalog-N/` (the demo store plus the generated catalog with the demo
//! seed) and reused while it holds N products. Sales and baselines go to scratch directories
//! under `target/bench-data/`, removed at the end.
//!
//! Without `--bench` (that is, under `cargo test --all-targets`) it runs a small smoke pass on
//! the demo catalog instead: same code paths, tiny sizes, no targets.

use anyhow::{Context, bail, ensure};
use rusqlite::{Connection, Statement, params};
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::fs::{self, File};
use std::hint::black_box;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tillstone_core::cart::Cart;
use tillstone_core::catalog::Product;
use tillstone_core::money::to_minor;
use tillstone_core::report::local_hour;
use tillstone_core::sale::{DocContext, Sale, complete_sale};
use tillstone_core::settings::StoreSettings;
use tillstone_core::tender::TenderKind;
use tillstone_fixtures::{DEMO_SEED, SplitMix64, write_catalog_csv};
use tillstone_store::Store;
use tillstone_store::catalog::ImportOptions;
use tillstone_terminal::app::{DB_FILE, ScanOutcome, Session, Terminal};
use tillstone_tests::bench::{
    Row, Stats, Table, Verdict, bench_data_dir, fmt_duration, fmt_ratio, prewarm, ratio,
    short_count, thousands,
};
use tillstone_tests::{cashier_with_shift, init_demo, piece_barcodes};

const DEFAULT_PRODUCTS: u64 = 1_000_000;
const PRODUCTS_ENV: &str = "TILLSTONE_BENCH_PRODUCTS";
/// Scans per cart before a new cart is started.
const SCANS_PER_CART: usize = 20;
/// Lines of every committed sale.
const SALE_LINES: usize = 20;
/// Targets.
const SCAN_P99_MAX: Duration = Duration::from_millis(1);
const COMMIT_MAX_RATIO: f64 = 1.5;
const REPORT_P50_MAX: Duration = Duration::from_millis(200);

/// The bare lookup beside `Terminal::scan`: the indexed barcode → product join, nothing else.
const BARE_LOOKUP: &str =
    "SELECT p.sku, p.name, p.name_en, p.category, p.tax_class, p.unit, p.price_minor
     FROM barcode b JOIN product p ON p.sku = b.sku
     WHERE b.barcode = ?1 AND p.active = 1";

/// The bare aggregate beside the X/Z report: its biggest query alone (lines by category).
const BARE_AGGREGATE: &str = "SELECT l.category, COUNT(*), SUM(l.total_minor)
     FROM sale_lines l JOIN sales s USING (sale_id)
     WHERE s.shift_id = ?1 GROUP BY l.category";

struct Config {
    /// False under `cargo test`: tiny sizes, no targets.
    full: bool,
    products: u64,
    warmup_scans: usize,
    scans: usize,
    warmup_commits: usize,
    commits: usize,
    report_sales: usize,
    warmup_reports: usize,
    reports: usize,
}

impl Config {
    fn full() -> anyhow::Result<Config> {
        let products = match std::env::var(PRODUCTS_ENV) {
            Ok(v) => {
                let digits: String = v.chars().filter(|c| !matches!(c, '_' | ',')).collect();
                let n: u64 = digits
                    .trim()
                    .parse()
                    .with_context(|| format!("{PRODUCTS_ENV}={v:?} is not a number of products"))?;
                ensure!(n > 0, "{PRODUCTS_ENV} must be at least 1");
                n
            }
            Err(_) => DEFAULT_PRODUCTS,
        };
        Ok(Config {
            full: true,
            products,
            warmup_scans: 500,
            scans: 6_000,
            warmup_commits: 20,
            commits: 400,
            report_sales: 5_000,
            warmup_reports: 3,
            reports: 30,
        })
    }

    fn smoke() -> Config {
        Config {
            full: false,
            products: tillstone_fixtures::DEMO_PRODUCT_COUNT,
            warmup_scans: 10,
            scans: 60,
            warmup_commits: 2,
            commits: 10,
            report_sales: 40,
            warmup_reports: 1,
            reports: 3,
        }
    }
}

fn main() -> anyhow::Result<ExitCode> {
    let full = std::env::args().skip(1).any(|a| a == "--bench");
    let cfg = if full {
        Config::full()?
    } else {
        Config::smoke()
    };
    let data = bench_data_dir();
    fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let started = Instant::now();
    let mut table = Table::default();

    // The catalog: cached for a full run, the demo store for a smoke run.
    let smoke_dir;
    let catalog_dir = if cfg.full {
        ensure_catalog(&data, cfg.products, &mut table)?
    } else {
        smoke_dir = scratch_dir(&data, "smoke-")?;
        let dir = smoke_dir.path().join("catalog");
        init_demo(&dir)?;
        dir
    };
    bench_scan(&catalog_dir, &cfg, &mut table)?;

    let scratch = scratch_dir(&data, "run-")?;
    bench_commit_and_report(scratch.path(), &cfg, &mut table)?;
    drop(scratch);

    println!();
    if cfg.full {
        println!(
            "Tillstone bench (release, {} products, {} s)",
            thousands(cfg.products),
            started.elapsed().as_secs()
        );
    } else {
        println!("Tillstone bench smoke pass (run `cargo bench` for the real numbers; no targets)");
    }
    Ok(table.finish(cfg.full))
}

// ---------------------------------------------------------------------------------------------
// 1. Catalog
// ---------------------------------------------------------------------------------------------

fn scratch_dir(data: &Path, prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    // On the same file system as the catalog (not /tmp, which may be tmpfs): fsync is real.
    Ok(tempfile::Builder::new().prefix(prefix).tempdir_in(data)?)
}

/// The demo store plus `n` generated products (demo seed, so the demo's own 2,000 products
/// are the first rows, unchanged), built once and reused while it holds them all.
fn ensure_catalog(data: &Path, n: u64, table: &mut Table) -> anyhow::Result<PathBuf> {
    let dir = data.join(format!("catalog-{n}"));
    let db = dir.join(DB_FILE);
    if db.is_file() {
        let held = Store::open(&db)?.product_count()?;
        if held >= n {
            eprintln!(
                "catalog: reusing {} ({} products)",
                dir.display(),
                thousands(held)
            );
            table.push(Row {
                name: "catalog import".into(),
                n: thousands(n),
                total: "cached".into(),
                verdict: Verdict::Skip,
                ..Row::default()
            });
            return Ok(dir);
        }
        eprintln!(
            "catalog: {} holds only {held} products: rebuilding",
            dir.display()
        );
    }
    let partial = data.join(format!("catalog-{n}.partial"));
    for d in [&dir, &partial] {
        if d.exists() {
            fs::remove_dir_all(d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }
    init_demo(&partial)?;

    let csv = data.join(format!("catalog-{n}.csv"));
    eprintln!(
        "catalog: generating {} products into {}",
        thousands(n),
        csv.display()
    );
    let t0 = Instant::now();
    write_catalog_csv(BufWriter::new(File::create(&csv)?), n, DEMO_SEED)?;
    eprintln!("catalog: generated in {:.1} s", t0.elapsed().as_secs_f64());

    let mut store = Store::open(partial.join(DB_FILE))?;
    let step = (n / 10).max(1);
    let mut next = step;
    let t0 = Instant::now();
    let report = store.import_catalog(&csv, &ImportOptions::default(), &mut |p| {
        if p.rows >= next {
            eprintln!(
                "catalog: imported {} rows in {:.1} s",
                thousands(p.rows),
                t0.elapsed().as_secs_f64()
            );
            next += step;
        }
    })?;
    let took = t0.elapsed();
    ensure!(
        report.is_clean(),
        "the generated catalog did not import cleanly: {report}"
    );
    drop(store);
    fs::remove_file(&csv)?;
    fs::rename(&partial, &dir)?;

    let rate = report.rows as f64 / took.as_secs_f64();
    table.push(Row {
        name: "catalog import".into(),
        n: thousands(report.rows),
        total: format!("{} total", fmt_duration(took)),
        ratio: format!("{} rows/s", thousands(rate as u64)),
        target: "report rows/s".into(),
        verdict: Verdict::Info,
        ..Row::default()
    });
    Ok(dir)
}

// ---------------------------------------------------------------------------------------------
// 2. Scan
// ---------------------------------------------------------------------------------------------

/// Random piece-item barcodes of the catalog (any of a product's barcodes), deterministic.
fn sample_piece_barcodes(
    conn: &Connection,
    count: usize,
    seed: u64,
) -> anyhow::Result<Vec<String>> {
    let max_id: i64 =
        conn.query_row("SELECT COALESCE(MAX(id), 0) FROM product", [], |r| r.get(0))?;
    ensure!(max_id > 0, "the catalog is empty");
    let mut stmt = conn.prepare(
        "SELECT b.barcode FROM product p JOIN barcode b ON b.sku = p.sku
         WHERE p.id = ?1 AND p.unit = 'piece' AND p.active = 1 ORDER BY b.pos",
    )?;
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::with_capacity(count);
    let mut tries = 0;
    while out.len() < count {
        tries += 1;
        ensure!(tries <= count * 100, "the catalog has too few piece items");
        let id = 1 + rng.below(max_id as u64) as i64;
        let codes = stmt
            .query_map([id], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        if !codes.is_empty() {
            let pick = rng.below(codes.len() as u64) as usize;
            out.push(codes[pick].clone());
        }
    }
    Ok(out)
}

type BareProduct = (String, String, String, String, String, String, i64);

fn bare_lookup(stmt: &mut Statement<'_>, code: &str) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let product: BareProduct = stmt.query_row([code], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })?;
    let took = t0.elapsed();
    black_box(product);
    Ok(took)
}

fn timed_scan(t: &Terminal, s: &Session, cart_id: &str, code: &str) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let outcome = t.scan(s, cart_id, code, None)?;
    let took = t0.elapsed();
    match outcome {
        ScanOutcome::Added { .. } => Ok(took),
        other => bail!("scanning {code} did not add a line: {other:?}"),
    }
}

fn bench_scan(dir: &Path, cfg: &Config, table: &mut Table) -> anyhow::Result<()> {
    let db = dir.join(DB_FILE);
    prewarm(&db)?;
    let (t, s) = cashier_with_shift(dir)?;
    let held = t.store().product_count()?;
    let bare = Connection::open(&db)?;
    let codes = sample_piece_barcodes(&bare, cfg.warmup_scans + cfg.scans, 0x5CA7)?;
    let mut lookup = bare.prepare(BARE_LOOKUP)?;
    eprintln!(
        "scan: {} scans on {} products",
        thousands(codes.len() as u64),
        thousands(held)
    );

    let mut scan_times = Vec::with_capacity(cfg.scans);
    let mut bare_times = Vec::with_capacity(cfg.scans);
    let mut cart = t.new_cart(&s)?.cart_id;
    let mut in_cart = 0;
    for (i, code) in codes.iter().enumerate() {
        if in_cart == SCANS_PER_CART {
            t.void_cart(&s, &cart)?;
            cart = t.new_cart(&s)?.cart_id;
            in_cart = 0;
        }
        // Alternate the order so neither side always runs on the other's warm caches.
        let (scan, base) = if i % 2 == 0 {
            let scan = timed_scan(&t, &s, &cart, code)?;
            (scan, bare_lookup(&mut lookup, code)?)
        } else {
            let base = bare_lookup(&mut lookup, code)?;
            (timed_scan(&t, &s, &cart, code)?, base)
        };
        in_cart += 1;
        if i >= cfg.warmup_scans {
            scan_times.push(scan);
            bare_times.push(base);
        }
    }
    // Leave the cached catalog as it was (its shift stays open for the next run).
    t.void_cart(&s, &cart)?;

    let scan = Stats::new(scan_times);
    let base = Stats::new(bare_times);
    let ok = scan.p99() < SCAN_P99_MAX;
    table.push(Row {
        name: format!("scan -> priced line ({} products)", short_count(held)),
        n: thousands(scan.len() as u64),
        p50: fmt_duration(scan.p50()),
        total: fmt_duration(scan.p99()),
        baseline: format!(
            "{} / {}",
            fmt_duration(base.p50()),
            fmt_duration(base.p99())
        ),
        ratio: format!("p99 {}", fmt_ratio(scan.p99(), base.p99())),
        target: format!("p99 < {} ms", SCAN_P99_MAX.as_millis()),
        verdict: Verdict::check(cfg.full, ok),
    });
    table.note(
        "scan baseline: bare indexed `barcode JOIN product` lookup of the same barcodes, \
         prepared, on a separate connection to the same file",
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Commit and 4. report
// ---------------------------------------------------------------------------------------------

/// Builds completed 20-line sales through core, each with its own ids and receipt number.
struct SaleFactory<'a> {
    products: &'a [(String, Product)],
    settings: &'a StoreSettings,
    template: DocContext,
    terminal_code: String,
    /// First field of the made-up ids, so two factories never share one.
    id_prefix: u32,
    rng: SplitMix64,
    made: u64,
}

impl SaleFactory<'_> {
    fn id(&self, kind: u16) -> String {
        format!(
            "{:08x}-{kind:04x}-7000-8000-{:012x}",
            self.id_prefix, self.made
        )
    }

    /// The next sale and the id of its journal event.
    fn next_sale(&mut self) -> anyhow::Result<(Sale, String)> {
        self.made += 1;
        let n = self.made;
        let mut cart = Cart::new(self.id(1));
        let mut picked = HashSet::new();
        while cart.active_lines().count() < SALE_LINES {
            let i = self.rng.below(self.products.len() as u64) as usize;
            if picked.insert(i) {
                let (code, product) = &self.products[i];
                let qty = Decimal::from(1 + self.rng.below(3));
                cart.add_product(product, qty, Some(code))?;
            }
        }
        let kind = match self.rng.below(10) {
            0..4 => TenderKind::Cash,
            4..7 => TenderKind::Card,
            7..9 => TenderKind::Alipay,
            _ => TenderKind::WechatPay,
        };
        let payment = cart.price(self.settings).payment;
        let amount = if kind == TenderKind::Cash {
            payment.cash_due
        } else {
            payment.remaining
        };
        let reference = kind.needs_reference().then(|| format!("PAY{n:016}"));
        cart.add_tender(kind, amount, reference, self.settings)?;
        let ctx = DocContext {
            sale_id: self.id(2),
            receipt_no: format!("{}-{}-{n:08}", self.template.store_code, self.terminal_code),
            // A sale every 6 s: 5,000 sales spread over about 8 hours of the shift.
            completed_at: self.template.completed_at + Duration::from_secs(6 * n),
            ..self.template.clone()
        };
        let sale = complete_sale(&cart, self.settings, ctx)?;
        Ok((sale, self.id(3)))
    }
}

/// The rows `Store::commit_sale` writes for a sale, ready to insert.
struct BareSale {
    sale: [rusqlite::types::Value; 16],
    lines: Vec<(u32, String, String, String, i64, i64)>,
    tenders: Vec<(u32, &'static str, i64, Option<String>)>,
    taxes: Vec<(String, i64, i64, i64)>,
    /// The journal entries with their outbox event ids: the sale's, then one stock movement
    /// per line (as `commit_sale` writes them).
    /// seq, terminal_id, kind, ref_id, at, payload, prev_hash, hash
    journal: Vec<(Journal, String)>,
}

type Journal = (i64, String, String, String, String, String, String, String);

impl BareSale {
    fn new(
        sale: &Sale,
        event_id: String,
        seq: i64,
        settings: &StoreSettings,
    ) -> anyhow::Result<BareSale> {
        use rusqlite::types::Value::{Integer, Null, Text};
        let mu = settings.minor_units();
        let m = |d: Decimal| to_minor(d, mu, settings.rounding);
        let at = sale.ctx.completed_at.to_rfc3339();
        let doc = serde_json::to_string(sale)?;
        let payload = serde_json::to_string(&serde_json::to_value(sale)?)?;
        Ok(BareSale {
            sale: [
                Text(sale.ctx.sale_id.clone()),
                Text(sale.ctx.receipt_no.clone()),
                Text(sale.kind.as_str().into()),
                Text(sale.ctx.shift_id.clone()),
                Text(sale.ctx.cashier_id.clone()),
                Text(at.clone()),
                Text(local_hour(
                    sale.ctx.completed_at,
                    settings.utc_offset_minutes,
                )),
                Integer(m(sale.totals.subtotal)),
                Integer(m(sale.totals.discount_total)),
                Integer(m(sale.totals.tax)),
                Integer(m(sale.totals.total)),
                Integer(m(sale.rounding)),
                Null,
                Integer(sale.lines.len() as i64),
                Integer(sale.overrides.len() as i64),
                Text(doc),
            ],
            lines: sale
                .lines
                .iter()
                .map(|l| {
                    (
                        l.line.line_id,
                        l.line.sku.clone(),
                        l.line.category.clone(),
                        l.line.qty.to_string(),
                        m(l.amounts.total),
                        m(l.amounts.tax),
                    )
                })
                .collect(),
            tenders: sale
                .tenders
                .iter()
                .map(|t| {
                    (
                        t.tender_id,
                        t.kind.as_str(),
                        m(t.applied),
                        t.reference.clone(),
                    )
                })
                .collect(),
            taxes: sale
                .tax_summary
                .iter()
                .map(|t| {
                    (
                        t.rate.normalize().to_string(),
                        m(t.taxable),
                        m(t.tax),
                        m(t.total),
                    )
                })
                .collect(),
            journal: {
                let entry = |seq: i64, kind: &str, ref_id: &str, payload: String| -> Journal {
                    (
                        seq,
                        sale.ctx.terminal_id.clone(),
                        kind.into(),
                        ref_id.into(),
                        at.clone(),
                        payload,
                        format!("{:064x}", seq - 1),
                        format!("{seq:064x}"),
                    )
                };
                let mut j = vec![(entry(seq, "sale", &sale.ctx.sale_id, payload), event_id)];
                for (k, l) in sale.lines.iter().enumerate() {
                    let stock = serde_json::json!({
                        "sku": l.line.sku,
                        "delta": -1,
                        "sale_id": sale.ctx.sale_id,
                        "line_id": l.line.line_id,
                    });
                    j.push((
                        entry(
                            seq + 1 + k as i64,
                            "stock_movement",
                            &l.line.sku,
                            serde_json::to_string(&stock)?,
                        ),
                        format!("{}-stock-{}", sale.ctx.sale_id, l.line.line_id),
                    ));
                }
                j
            },
        })
    }
}

/// One transaction writing a [`BareSale`]: the same rows into the same tables as
/// `commit_sale`, without its serialisation, hashing and journal look-up.
fn bare_commit(conn: &mut Connection, b: &BareSale) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let tx = conn.transaction()?;
    tx.prepare_cached(
        "INSERT INTO sales (sale_id, receipt_no, kind, shift_id, cashier_id, completed_at,
            local_hour, subtotal_minor, discount_minor, tax_minor, total_minor, rounding_minor,
            original_sale_id, line_count, override_count, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(rusqlite::params_from_iter(b.sale.iter()))?;
    {
        let mut line = tx.prepare_cached(
            "INSERT INTO sale_lines (sale_id, line_id, sku, category, qty, total_minor, tax_minor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for l in &b.lines {
            line.execute(params![b.sale[0], l.0, l.1, l.2, l.3, l.4, l.5])?;
        }
        let mut tender = tx.prepare_cached(
            "INSERT INTO sale_tenders (sale_id, tender_id, kind, applied_minor, reference)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for t in &b.tenders {
            tender.execute(params![b.sale[0], t.0, t.1, t.2, t.3])?;
        }
        let mut tax = tx.prepare_cached(
            "INSERT INTO sale_taxes (sale_id, rate, taxable_minor, tax_minor, total_minor)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for t in &b.taxes {
            tax.execute(params![b.sale[0], t.0, t.1, t.2, t.3])?;
        }
        let mut journal = tx.prepare_cached(
            "INSERT INTO journal (seq, terminal_id, kind, ref_id, at, payload, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut outbox = tx.prepare_cached(
            "INSERT INTO outbox (event_id, seq, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (j, event_id) in &b.journal {
            journal.execute(params![j.0, j.1, j.2, j.3, j.4, j.5, j.6, j.7])?;
            outbox.execute(params![event_id, j.0, j.2, j.4])?;
        }
    }
    tx.commit()?;
    Ok(t0.elapsed())
}

/// A database with the store's schema and pragmas (WAL, synchronous=FULL, foreign keys), opened
/// with plain rusqlite, holding the shift the sales belong to.
fn bare_database(path: &Path, shift_id: &str, terminal_id: &str) -> anyhow::Result<Connection> {
    drop(Store::open(path)?); // creates the schema
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute(
        "INSERT INTO shifts
             (shift_id, shift_no, terminal_id, opened_by, opened_at, opening_float_minor)
         VALUES (?1, 1, ?2, '1001', '2025-06-01T08:00:00+00:00', 50000)",
        params![shift_id, terminal_id],
    )?;
    Ok(conn)
}

fn bench_commit_and_report(scratch: &Path, cfg: &Config, table: &mut Table) -> anyhow::Result<()> {
    let till_dir = scratch.join("till");
    init_demo(&till_dir)?;
    let (t, s) = cashier_with_shift(&till_dir)?;
    let shift = t.current_shift()?.context("no open shift")?;
    let settings = t.settings().clone();
    let products = {
        let codes = piece_barcodes(&t, 100_000)?;
        let store = t.store();
        let mut products = Vec::with_capacity(codes.len());
        for code in codes {
            let p = store
                .product_by_barcode(&code)?
                .context("demo barcode not found")?;
            products.push((code, p));
        }
        products
    };
    ensure!(
        products.len() >= SALE_LINES * 2,
        "the demo catalog has too few piece items"
    );
    let template = DocContext {
        sale_id: String::new(),
        receipt_no: String::new(),
        store_code: settings.store_code.clone(),
        terminal_id: t.terminal_id().to_string(),
        shift_id: shift.shift_id.clone(),
        cashier_id: s.user.user_id.clone(),
        completed_at: shift.opened_at,
    };
    let factory = |id_prefix: u32, seed: u64| SaleFactory {
        products: &products,
        settings: &settings,
        template: template.clone(),
        terminal_code: t.terminal_code().to_string(),
        id_prefix,
        rng: SplitMix64::new(seed),
        made: 0,
    };
    let mut till_sales = factory(0x0197_0001, 1);
    let mut bare_sales = factory(0x0197_0002, 2);

    // 3. Commit: documents built beforehand; only the commit is timed.
    let rounds = cfg.warmup_commits + cfg.commits;
    let mut docs = Vec::with_capacity(rounds);
    let mut bare_docs = Vec::with_capacity(rounds);
    let mut bare_seq = 1;
    for _ in 0..rounds {
        docs.push(till_sales.next_sale()?);
        let (sale, event_id) = bare_sales.next_sale()?;
        let bare = BareSale::new(&sale, event_id, bare_seq, &settings)?;
        bare_seq += bare.journal.len() as i64;
        bare_docs.push(bare);
    }
    let mut bare = bare_database(&scratch.join("bare.db"), &shift.shift_id, t.terminal_id())?;
    eprintln!(
        "commit: {rounds} durable commits of {SALE_LINES}-line sales, interleaved with bare ones"
    );
    let mut commit_times = Vec::with_capacity(cfg.commits);
    let mut bare_times = Vec::with_capacity(cfg.commits);
    {
        let mut store = t.store();
        let mut commit = |sale: &Sale, event_id: &str| -> anyhow::Result<Duration> {
            let t0 = Instant::now();
            store.commit_sale(sale, &settings, event_id, None, None, None)?;
            Ok(t0.elapsed())
        };
        for (i, ((sale, event_id), b)) in docs.iter().zip(&bare_docs).enumerate() {
            let (ours, base) = if i % 2 == 0 {
                let ours = commit(sale, event_id)?;
                (ours, bare_commit(&mut bare, b)?)
            } else {
                let base = bare_commit(&mut bare, b)?;
                (commit(sale, event_id)?, base)
            };
            if i >= cfg.warmup_commits {
                commit_times.push(ours);
                bare_times.push(base);
            }
        }
    }
    drop(bare);
    let ours = Stats::new(commit_times);
    let base = Stats::new(bare_times);
    let (r50, r99) = (ratio(ours.p50(), base.p50()), ratio(ours.p99(), base.p99()));
    table.push(Row {
        name: format!("durable commit, {SALE_LINES}-line sale"),
        n: thousands(ours.len() as u64),
        p50: fmt_duration(ours.p50()),
        total: fmt_duration(ours.p99()),
        baseline: format!(
            "{} / {}",
            fmt_duration(base.p50()),
            fmt_duration(base.p99())
        ),
        ratio: format!("{r50:.2}x / {r99:.2}x"),
        target: format!("p50, p99 <= {COMMIT_MAX_RATIO}x bare"),
        verdict: Verdict::check(cfg.full, r50 <= COMMIT_MAX_RATIO && r99 <= COMMIT_MAX_RATIO),
    });
    table.note(
        "commit baseline: one rusqlite transaction writing the same rows (sale, lines, tender, \
         taxes, and the journal and outbox rows of the sale and of its per-line stock movements) \
         into another file, WAL + synchronous=FULL, interleaved",
    );

    // 4. Report: fill the shift up to `report_sales` sales. `commit_sale` sets
    // synchronous=FULL on every transaction, so lowering it on the connection would not help:
    // seeding runs at durable speed.
    let seed_count = cfg.report_sales.saturating_sub(rounds);
    eprintln!("report: seeding {seed_count} more sales");
    let t0 = Instant::now();
    {
        let mut store = t.store();
        for _ in 0..seed_count {
            let (sale, event_id) = till_sales.next_sale()?;
            store.commit_sale(&sale, &settings, &event_id, None, None, None)?;
        }
    }
    let seeding = t0.elapsed();
    table.push(Row {
        name: format!("seed: commit_sale x {seed_count} (setup)"),
        n: thousands(seed_count as u64),
        total: format!("{} total", fmt_duration(seeding)),
        ratio: format!(
            "{} sales/s",
            thousands((seed_count as f64 / seeding.as_secs_f64()) as u64)
        ),
        target: "-".into(),
        verdict: Verdict::Info,
        ..Row::default()
    });

    let sales_in_shift = rounds.max(cfg.report_sales);
    let aggregate = Connection::open(till_dir.join(DB_FILE))?;
    let mut bare_agg = aggregate.prepare(BARE_AGGREGATE)?;
    let mut report_times = Vec::with_capacity(cfg.reports);
    let mut agg_times = Vec::with_capacity(cfg.reports);
    for i in 0..cfg.warmup_reports + cfg.reports {
        let t0 = Instant::now();
        let report = t.x_report(&s)?;
        let took = t0.elapsed();
        ensure!(
            report.agg.sales_count == sales_in_shift as u64 && !report.agg.by_category.is_empty(),
            "the X report counts {} sales, expected {sales_in_shift}",
            report.agg.sales_count
        );
        black_box(report);
        let t0 = Instant::now();
        let rows = bare_agg
            .query_map([&shift.shift_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let agg_took = t0.elapsed();
        black_box(rows);
        if i >= cfg.warmup_reports {
            report_times.push(took);
            agg_times.push(agg_took);
        }
    }
    let ours = Stats::new(report_times);
    let base = Stats::new(agg_times);
    table.push(Row {
        name: format!(
            "X/Z report, {} sales x {SALE_LINES} lines",
            thousands(sales_in_shift as u64)
        ),
        n: thousands(ours.len() as u64),
        p50: fmt_duration(ours.p50()),
        total: fmt_duration(ours.p99()),
        baseline: format!(
            "{} / {}",
            fmt_duration(base.p50()),
            fmt_duration(base.p99())
        ),
        ratio: format!("p50 {}", fmt_ratio(ours.p50(), base.p50())),
        target: format!("p50 < {} ms", REPORT_P50_MAX.as_millis()),
        verdict: Verdict::check(cfg.full, ours.p50() < REPORT_P50_MAX),
    });
    table.note(
        "report baseline: the report's largest query alone (the shift's lines by category), \
         on a separate connection",
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Statistics and the table
// ---------------------------------------------------------------------------------------------
