//! `tillstone`: the terminal's command line.

mod devices_cli;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tillstone_core::auth::{Actor, Role};
use tillstone_core::report::ShiftReport;
use tillstone_store::catalog::{Format, ImportMode, ImportOptions};
use tillstone_terminal::app::{Session, Terminal};
use tillstone_terminal::setup::{InitOptions, init};

#[derive(Parser)]
#[command(
    name = "tillstone",
    version,
    about = "Tillstone offline-first POS terminal"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a terminal's data directory (with --demo: the Hangzhou demo store).
    Init {
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long)]
        demo: bool,
        #[arg(long)]
        store_code: Option<String>,
        #[arg(long)]
        store_name: Option<String>,
        #[arg(long, default_value = "T01")]
        terminal: String,
        /// PIN of the first manager (user 9001) when not using --demo.
        #[arg(long)]
        manager_pin: Option<String>,
    },
    /// Import data into the terminal.
    Import {
        #[command(subcommand)]
        what: ImportCmd,
    },
    /// Shift reports.
    Report {
        kind: ReportArg,
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
        /// Z: show this Z number instead of the latest.
        #[arg(long)]
        number: Option<u64>,
        /// Z: close the open shift with this counted cash.
        #[arg(long)]
        close: Option<Decimal>,
    },
    /// Members.
    Members {
        #[command(subcommand)]
        what: MembersCmd,
    },
    /// Coupons.
    Coupons {
        #[command(subcommand)]
        what: CouponsCmd,
    },
    /// Receipts.
    Receipt {
        #[command(subcommand)]
        what: ReceiptCmd,
    },
    /// Sync with HQ (tillstone-cloud).
    Sync {
        #[command(subcommand)]
        what: SyncCmd,
    },
    /// The hash-chained journal.
    Journal {
        #[command(subcommand)]
        what: JournalCmd,
    },
    /// Serve the local HTTP API (and the web UI, once built).
    Serve {
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
        /// Create the demo store in --data first if it does not exist yet.
        #[arg(long)]
        init_demo: bool,
        /// The built web UI to serve at `/` (default: ui/dist when it exists).
        #[arg(long)]
        ui: Option<PathBuf>,
    },
    /// Generate test data.
    Fixtures {
        #[command(subcommand)]
        what: FixturesCmd,
    },
    /// Installer tools: find, check and test the store hardware.
    Devices {
        #[command(subcommand)]
        what: devices_cli::DevicesCmd,
    },
    /// Barcodes as the till reads them.
    Barcode {
        #[command(subcommand)]
        what: devices_cli::BarcodeCmd,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import products from CSV or JSON Lines.
    Catalog {
        file: PathBuf,
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Refuse the whole file if any row is bad (default: import the good rows).
        #[arg(long)]
        all_or_nothing: bool,
        #[arg(long)]
        format: Option<FormatArg>,
    },
    /// Replace the promotion rules with a JSON array of rules (until HQ sync sends them).
    Promotions {
        file: PathBuf,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Replace the coupon campaigns (JSON array) and HQ's public keys (JSON array of
    /// {key_id, public_key}) (until HQ sync sends them).
    Campaigns {
        file: PathBuf,
        #[arg(long)]
        keys: PathBuf,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum MembersCmd {
    /// Search members by phone, last 4 digits, card number or name (phones masked).
    Search {
        query: String,
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// One member: points balance, tier (from lifetime points) and next tier, coupon wallet.
    Show {
        member_id: String,
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CouponsCmd {
    /// Verify a coupon code offline and show its campaign, or why it is refused.
    Check {
        code: String,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReceiptCmd {
    /// Render a receipt to PNG exactly as it prints (for installers and support).
    Preview {
        /// Receipt number or scanned receipt barcode.
        receipt: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// mm58 or mm80 (default: the configured printer's paper).
        #[arg(long)]
        paper: Option<String>,
        /// zh or en (default: the store's language).
        #[arg(long)]
        lang: Option<String>,
    },
}

#[derive(Subcommand)]
enum SyncCmd {
    /// Enroll this terminal with HQ using a one-time code from HQ's admin.
    Enroll {
        /// HQ's address: https://HOST[:PORT] (http:// only to this machine or with
        /// --allow-http).
        #[arg(long)]
        url: String,
        #[arg(long)]
        code: String,
        /// Also trust this CA certificate (PEM) for HQ: for an HQ with its own certificate
        /// authority or a self-signed certificate. Kept for later syncs.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Allow plain http:// to a host other than this machine (a trusted network only: the
        /// credential and the sales would travel unencrypted).
        #[arg(long)]
        allow_http: bool,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Push the outbox and pull HQ's changes now (with a progress bar while pulling).
    Now {
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Pending and quarantined events, last success, last error.
    Status {
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum JournalCmd {
    /// Check every link of the journal; exit 1 at the first broken one.
    Verify {
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum FixturesCmd {
    /// Write a generated catalog (CSV or JSON Lines).
    Catalog {
        #[arg(long, default_value_t = 2000)]
        products: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportArg {
    X,
    Z,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Jsonl,
}

fn console() -> Session {
    Session {
        token: String::new(),
        user: Actor {
            user_id: "console".into(),
            name: "Console".into(),
            role: Role::Manager,
        },
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.cmd {
        Cmd::Init {
            data,
            demo,
            store_code,
            store_name,
            terminal,
            manager_pin,
        } => {
            let s = init(
                &data,
                &InitOptions {
                    demo,
                    store_code,
                    store_name,
                    terminal_code: terminal,
                    manager_pin,
                },
            )?;
            println!("terminal {} created in {}", s.terminal_id, data.display());
            println!("users: {}", s.users);
            if let Some(r) = s.catalog {
                println!("products imported: {}", r.imported);
            }
            Ok(0)
        }
        Cmd::Import {
            what:
                ImportCmd::Catalog {
                    file,
                    data,
                    all_or_nothing,
                    format,
                },
        } => import_catalog(&data, &file, all_or_nothing, format),
        Cmd::Import {
            what: ImportCmd::Promotions { file, data },
        } => {
            let rules: Vec<tillstone_core::promo::Rule> = read_json(&file)?;
            let t = Terminal::open(&data)?;
            let n = t.set_promotions(&console(), rules)?;
            println!("{n} promotion rules in force");
            Ok(0)
        }
        Cmd::Import {
            what: ImportCmd::Campaigns { file, keys, data },
        } => {
            let campaigns: Vec<tillstone_core::coupon::Campaign> = read_json(&file)?;
            let keys: tillstone_core::coupon::KeyRing = read_json(&keys)?;
            let t = Terminal::open(&data)?;
            let n = t.set_coupon_config(&console(), keys, campaigns)?;
            println!("{n} coupon campaigns in force");
            Ok(0)
        }
        Cmd::Receipt {
            what:
                ReceiptCmd::Preview {
                    receipt,
                    out,
                    data,
                    paper,
                    lang,
                },
        } => {
            let paper = match paper.as_deref() {
                None => None,
                Some("mm58") | Some("58") | Some("58mm") => {
                    Some(tillstone_devices::receipt::Paper::Mm58)
                }
                Some("mm80") | Some("80") | Some("80mm") => {
                    Some(tillstone_devices::receipt::Paper::Mm80)
                }
                Some(other) => anyhow::bail!("--paper {other:?}: use mm58 or mm80"),
            };
            let lang = match lang.as_deref() {
                None => None,
                Some("zh") => Some(tillstone_core::settings::Language::Zh),
                Some("en") => Some(tillstone_core::settings::Language::En),
                Some(other) => anyhow::bail!("--lang {other:?}: use zh or en"),
            };
            let t = Terminal::open(&data)?;
            let png = t.receipt_png(&console(), &receipt, paper, lang)?;
            std::fs::write(&out, png).with_context(|| format!("cannot write {}", out.display()))?;
            println!("receipt {receipt} drawn to {}", out.display());
            Ok(0)
        }
        Cmd::Sync { what } => {
            let (view, exit) = match what {
                SyncCmd::Enroll {
                    url,
                    code,
                    ca_cert,
                    allow_http,
                    data,
                } => {
                    let ca_pem = match &ca_cert {
                        Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                            format!("cannot read the CA certificate {}", path.display())
                        })?),
                        None => None,
                    };
                    let link = tillstone_terminal::sync::HqLink { ca_pem, allow_http };
                    (Terminal::open(&data)?.enroll_with(&url, &code, &link)?, 0)
                }
                SyncCmd::Now { data, quiet } => {
                    let t = Terminal::open(&data)?;
                    let v = if quiet {
                        t.sync_now()?
                    } else {
                        sync_with_progress_bar(&t)?
                    };
                    let failed = v.state.last_error_at.is_some() && !v.state.healthy();
                    let exit = i32::from(failed && v.state.pending > 0);
                    (v, exit)
                }
                SyncCmd::Status { data } => (Terminal::open(&data)?.sync_view()?, 0),
            };
            println!("{}", serde_json::to_string_pretty(&view)?);
            Ok(exit)
        }
        Cmd::Members {
            what: MembersCmd::Search { query, data, json },
        } => {
            let t = Terminal::open(&data)?;
            let found = t.search_members(&console(), &query, 20)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else {
                for m in &found {
                    println!(
                        "{:<12} {:<12} {:<14} {:<10} {:>8} points",
                        m.member_id, m.name, m.phone_masked, m.tier, m.points
                    );
                }
                println!("{} found", found.len());
            }
            Ok(0)
        }
        Cmd::Members {
            what:
                MembersCmd::Show {
                    member_id,
                    data,
                    json,
                },
        } => {
            let t = Terminal::open(&data)?;
            let s = console();
            let m = t.member(&s, &member_id)?;
            let wallet = t.member_wallet(&s, &member_id, None)?;
            if json {
                let out = serde_json::json!({"member": m, "wallet": wallet});
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("{} {} {}", m.member_id, m.name, m.phone_masked);
                println!(
                    "points {}   tier {}   lifetime {}",
                    m.points, m.tier, m.lifetime_points
                );
                if let (Some(next), Some(missing)) = (&m.next_tier, m.points_to_next_tier) {
                    println!("next tier {next}: {missing} more lifetime points");
                }
                println!("coupon wallet: {}", wallet.len());
                for w in &wallet {
                    let name = if w.name_en.is_empty() {
                        &w.name
                    } else {
                        &w.name_en
                    };
                    let why = if w.message_en.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", w.message_en)
                    };
                    println!("  {:<10} {}{}  {}", w.status, name, why, w.code);
                }
            }
            Ok(0)
        }
        Cmd::Coupons {
            what: CouponsCmd::Check { code, data },
        } => {
            let t = Terminal::open(&data)?;
            match t.check_coupon(&console(), &code)? {
                Ok((c, serial)) => {
                    println!("valid: campaign {} ({}), serial {}", c.id, c.name, serial);
                    Ok(0)
                }
                Err(reason) => {
                    println!("refused: {reason}");
                    Ok(1)
                }
            }
        }
        Cmd::Report {
            kind,
            data,
            json,
            number,
            close,
        } => {
            let t = Terminal::open(&data)?;
            let report = match (kind, close, number) {
                (ReportArg::X, _, _) => t.x_report(&console())?,
                (ReportArg::Z, Some(counted), _) => {
                    t.close_shift(&console(), Some(counted), &[])?
                }
                (ReportArg::Z, None, Some(n)) => t.z_report(&console(), n)?,
                (ReportArg::Z, None, None) => {
                    t.z_reports(&console(), 1)?.into_iter().next().context(
                        "no Z report yet: close a shift with `tillstone report z --close AMOUNT`",
                    )?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_report(&report);
            }
            Ok(0)
        }
        Cmd::Journal {
            what: JournalCmd::Verify { data },
        } => {
            let t = Terminal::open(&data)?;
            let r = t.verify_journal()?;
            match r.first_broken {
                None => {
                    println!("OK: {} entries, last hash {}", r.entries, r.last_hash);
                    Ok(0)
                }
                Some(b) => {
                    println!(
                        "BROKEN at entry {}: {} ({} entries before it are intact)",
                        b.seq, b.reason, r.entries
                    );
                    Ok(1)
                }
            }
        }
        Cmd::Serve {
            data,
            listen,
            init_demo,
            ui,
        } => {
            let ui = ui.or_else(|| {
                let default = PathBuf::from("ui/dist");
                default.join("index.html").exists().then_some(default)
            });
            if init_demo {
                tillstone_terminal::setup::init_demo_if_empty(&data)?;
            }
            let t = Arc::new(Terminal::open(&data)?);
            println!(
                "Tillstone terminal {} ({}) serving http://{listen}/api/v1 — OpenAPI at http://{listen}/api/v1/openapi.json",
                t.terminal_code(),
                t.settings().store_name
            );
            let rt = tokio::runtime::Runtime::new()?;
            if let Some(dir) = &ui {
                println!("Web UI: http://{listen}/ (from {})", dir.display());
            }
            rt.block_on(tillstone_terminal::serve(t, listen, ui))?;
            Ok(0)
        }
        Cmd::Fixtures {
            what:
                FixturesCmd::Catalog {
                    products,
                    out,
                    seed,
                },
        } => {
            let file = std::fs::File::create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let w = std::io::BufWriter::new(file);
            match out.extension().and_then(|e| e.to_str()) {
                Some("jsonl") | Some("ndjson") => {
                    tillstone_fixtures::write_catalog_jsonl(w, products, seed)?
                }
                _ => tillstone_fixtures::write_catalog_csv(w, products, seed)?,
            }
            println!("{products} products written to {}", out.display());
            Ok(0)
        }
        Cmd::Devices { what } => devices_cli::devices(what),
        Cmd::Barcode { what } => devices_cli::barcode(what),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// `tillstone sync now` with a progress bar for the pull (shown once a page arrives: rows of
/// the total the hub announced, or a row counter from a hub without totals).
fn sync_with_progress_bar(t: &Terminal) -> anyhow::Result<tillstone_terminal::sync::SyncView> {
    let bar = ProgressBar::hidden();
    let mut shown = false;
    let view = t.sync_now_with_progress(|p| {
        if p.rows == 0 && p.done {
            return; // nothing to pull: no bar
        }
        if !shown {
            shown = true;
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "pulling from HQ [{bar:40}] {human_pos}/{human_len} rows [{elapsed_precise}, {eta} left]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
        }
        match p.total {
            Some(total) => bar.set_length(total),
            None => bar.set_length(p.rows.max(1)),
        }
        bar.set_position(p.rows);
    })?;
    bar.finish_and_clear();
    if let Some(pull) = &view.state.pull
        && shown
    {
        eprintln!(
            "pulled {} rows in {} pages",
            pull.progress.rows, pull.progress.pages
        );
    }
    Ok(view)
}

fn import_catalog(
    data: &Path,
    file: &Path,
    all_or_nothing: bool,
    format: Option<FormatArg>,
) -> anyhow::Result<i32> {
    let t = Terminal::open(data)?;
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {bytes}/{total_bytes} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let opts = ImportOptions {
        mode: if all_or_nothing {
            ImportMode::AllOrNothing
        } else {
            ImportMode::KeepGood
        },
        format: format.map(|f| match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Jsonl => Format::JsonLines,
        }),
    };
    let report = t.store().import_catalog(file, &opts, &mut |p| {
        bar.set_position(p.bytes_read);
        bar.set_message(format!("{} rows", p.rows));
    })?;
    bar.finish_and_clear();
    println!("{report}");
    for e in &report.errors {
        println!("  {e}");
    }
    if report.unlisted_errors() > 0 {
        println!("  … and {} more rejected rows", report.unlisted_errors());
    }
    if !report.committed {
        println!("nothing was imported (--all-or-nothing): fix the rows above and import again");
        return Ok(1);
    }
    Ok(if report.rejected > 0 { 1 } else { 0 })
}

fn print_report(r: &ShiftReport) {
    let title = match r.z_no {
        Some(n) => format!("Z REPORT #{n}"),
        None => "X REPORT".to_string(),
    };
    println!(
        "{title} — store {} terminal {} shift {}",
        r.header.store_code, r.header.terminal_id, r.header.shift_no
    );
    println!(
        "opened {} by {}; at {}",
        r.header.opened_at, r.header.opened_by, r.header.at
    );
    println!(
        "sales      {:>6}  {:>12}",
        r.agg.sales_count, r.agg.sales_total
    );
    println!(
        "returns    {:>6}  {:>12}",
        r.agg.returns_count, r.agg.returns_total
    );
    println!("discounts          {:>12}", r.agg.discounts);
    println!(
        "voided     {:>6}  {:>12}",
        r.agg.voided_count, r.agg.voided_total
    );
    println!("net sales          {:>12}", r.net_sales);
    println!("tax by rate:");
    for t in &r.agg.tax {
        println!(
            "  {:>5}%  taxable {:>12}  tax {:>10}  total {:>12}",
            t.rate * Decimal::ONE_HUNDRED,
            t.taxable,
            t.tax,
            t.total
        );
    }
    println!("tenders:");
    for t in &r.agg.tenders {
        println!(
            "  {:<10} sales {:>12}  refunds {:>12}  ({} tenders)",
            t.kind.as_str(),
            t.sales,
            t.refunds,
            t.count
        );
    }
    let c = &r.cash;
    println!(
        "cash: float {} + sales {} − refunds {} + paid-in {} − paid-out {} = expected {}",
        c.opening_float, c.cash_sales, c.cash_refunds, c.paid_in, c.paid_out, c.expected
    );
    if let (Some(counted), Some(v)) = (c.counted, c.variance) {
        println!("counted {counted}, variance {v}");
    }
    println!("sales by hour:");
    for b in &r.agg.by_hour {
        println!("  {}:00  {:>5}  {:>12}", b.key, b.count, b.net);
    }
    println!("by category:");
    for b in &r.agg.by_category {
        println!("  {:<24} {:>5}  {:>12}", b.key, b.count, b.net);
    }
    println!("by cashier:");
    for b in &r.agg.by_cashier {
        println!("  {:<10} {:>5}  {:>12}", b.key, b.count, b.net);
    }
    println!(
        "no-sales {}, overrides {}",
        r.no_sale_count, r.override_count
    );
}
