//! The admin subcommands of `tillstone-cloud`: imports, coupon keys and packs, the daily report
//! (the logic is in `tillstone_cloud::admin`).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tillstone_cloud::Storage;
use tillstone_cloud::admin::coupons::{self, Recipients};
use tillstone_cloud::admin::import::{self, ImportOptions, ImportReport};
use tillstone_sync::{StoreId, TenantId};

#[derive(Args)]
pub struct ImportFlags {
    #[arg(long, value_parser = crate::tenant_id)]
    tenant: TenantId,
    /// Write the good rows and report the bad ones (default: write nothing if a row is bad).
    #[arg(long)]
    skip_bad: bool,
    /// Rows per transaction.
    #[arg(long, default_value_t = 5000)]
    batch_rows: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Products from CSV (sku,name,name_en,category,tax_class,unit,price,barcodes).
    Catalog {
        file: PathBuf,
        /// Tax classes CSV (code,rate,name; rate a fraction like 0.13).
        #[arg(long)]
        tax_classes: PathBuf,
        #[command(flatten)]
        flags: ImportFlags,
    },
    /// Price changes from CSV (sku,price); the SKUs must be in the catalog.
    Prices {
        file: PathBuf,
        #[command(flatten)]
        flags: ImportFlags,
    },
    /// Coupon campaigns (JSON array, see core/src/coupon.rs).
    Campaigns {
        file: PathBuf,
        #[command(flatten)]
        flags: ImportFlags,
    },
    /// Members (JSON array of {member_id, name, phone, card_no, tier, points, lifetime_points}).
    Members {
        file: PathBuf,
        #[command(flatten)]
        flags: ImportFlags,
    },
    /// Till users (JSON array of {user_id, name, role, pin}); PINs are stored argon2id-hashed.
    Users {
        file: PathBuf,
        #[command(flatten)]
        flags: ImportFlags,
    },
    /// Promotion rules (JSON array, see core/src/promo.rs).
    Promotions {
        file: PathBuf,
        #[command(flatten)]
        flags: ImportFlags,
    },
    /// Store settings (one JSON object or an array, keyed by store_code).
    Settings {
        file: PathBuf,
        #[command(flatten)]
        flags: ImportFlags,
    },
}

#[derive(Subcommand)]
pub enum CouponsCommand {
    /// Make a new Ed25519 issuer key, save its secret to --out, publish its public key.
    Keygen {
        #[arg(long, value_parser = crate::tenant_id)]
        tenant: TenantId,
        /// The key id codes will carry (a new one for each key).
        #[arg(long)]
        key_id: u32,
        /// Where to save the secret (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Issue a coupon pack: to members (bound codes, added to their wallets) or N unbound packs.
    IssuePack {
        #[arg(long, value_parser = crate::tenant_id)]
        tenant: TenantId,
        /// The pack: {"id", "name", "items": [{"campaign_id", "count"}]}.
        #[arg(long)]
        pack: PathBuf,
        /// The key file from `coupons keygen`.
        #[arg(long)]
        key_file: PathBuf,
        /// A member to issue the pack to (repeat for several).
        #[arg(
            long = "member",
            required_unless_present = "count",
            conflicts_with = "count"
        )]
        members: Vec<String>,
        /// Number of unbound packs.
        #[arg(long)]
        count: Option<u64>,
        /// Write the codes here (default: standard output); one per line, MEMBER<TAB>CODE when
        /// bound.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn finish(report: ImportReport, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if !report.is_clean() {
        if report.applied {
            bail!(
                "{} row(s) rejected (the good rows were written)",
                report.rejected
            );
        }
        bail!("{} row(s) rejected; nothing was written", report.rejected);
    }
    Ok(())
}

fn opts(f: &ImportFlags) -> ImportOptions {
    ImportOptions {
        skip_bad: f.skip_bad,
        batch_rows: f.batch_rows,
    }
}

pub fn import(storage: &dyn Storage, command: ImportCommand) -> anyhow::Result<()> {
    use ImportCommand::*;
    type Run = fn(
        &dyn Storage,
        &TenantId,
        &Path,
        ImportOptions,
    ) -> tillstone_cloud::admin::Result<ImportReport>;
    let (run, file, flags): (Run, PathBuf, ImportFlags) = match command {
        Catalog {
            file,
            tax_classes,
            flags,
        } => {
            let report =
                import::import_catalog(storage, &flags.tenant, &file, &tax_classes, opts(&flags))?;
            return finish(report, flags.json);
        }
        Prices { file, flags } => (import::import_prices, file, flags),
        Campaigns { file, flags } => (import::import_campaigns, file, flags),
        Members { file, flags } => (import::import_members, file, flags),
        Users { file, flags } => (import::import_users, file, flags),
        Promotions { file, flags } => (import::import_promotions, file, flags),
        Settings { file, flags } => (import::import_settings, file, flags),
    };
    let report = run(storage, &flags.tenant, &file, opts(&flags))?;
    finish(report, flags.json)
}

pub fn coupons(storage: &Arc<dyn Storage>, command: CouponsCommand) -> anyhow::Result<()> {
    match command {
        CouponsCommand::Keygen {
            tenant,
            key_id,
            out,
        } => {
            let entry = coupons::keygen(storage.as_ref(), &tenant, key_id, &out)?;
            println!(
                "key {} saved to {} (keep it secret); public key {} published",
                entry.key_id,
                out.display(),
                entry.public_key
            );
        }
        CouponsCommand::IssuePack {
            tenant,
            pack,
            key_file,
            members,
            count,
            out,
        } => {
            let key = coupons::read_key_file(&key_file)?;
            let recipients = match count {
                Some(n) => Recipients::Count(n),
                None => Recipients::Members(members),
            };
            let issued = match &out {
                Some(path) => {
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(path)
                        .with_context(|| {
                            format!("cannot create {} (it must not exist yet)", path.display())
                        })?;
                    let mut w = std::io::BufWriter::new(file);
                    let issued = coupons::issue_pack(
                        storage.as_ref(),
                        &tenant,
                        &pack,
                        &key,
                        &recipients,
                        &mut w,
                    )?;
                    w.into_inner()
                        .map_err(|e| e.into_error())
                        .and_then(|f| f.sync_all())
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    issued
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    coupons::issue_pack(
                        storage.as_ref(),
                        &tenant,
                        &pack,
                        &key,
                        &recipients,
                        &mut lock,
                    )?
                }
            };
            let ranges: Vec<String> = issued
                .serials
                .iter()
                .map(|(c, (a, b))| format!("campaign {c}: serials {a}–{b}"))
                .collect();
            eprintln!(
                "issued {} pack(s) {} = {} code(s) with key {}; {}",
                issued.packs,
                issued.pack,
                issued.codes,
                issued.key_id,
                ranges.join(", ")
            );
        }
    }
    Ok(())
}

pub fn daily(
    storage: &dyn Storage,
    tenant: &TenantId,
    store: &StoreId,
    date: &str,
    json: bool,
) -> anyhow::Result<()> {
    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .with_context(|| format!("--date {date:?} is not a date like 2026-11-25"))?;
    let report = tillstone_cloud::admin::report::daily(storage, tenant, store, date)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
