//! `tillstone-cloud`: the HQ server and its admin commands.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use tillstone_cloud::sqlite::now_ms;
use tillstone_sync::{Entity, StoreId, TenantId, TerminalId};

mod admin_cli;

#[derive(Parser)]
#[command(
    name = "tillstone-cloud",
    about = "Tillstone HQ service and admin commands"
)]
struct Cli {
    /// Database URL: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, global = true, default_value = "sqlite:tillstone-cloud.db")]
    db: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (stops gracefully on SIGTERM / Ctrl-C).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = tillstone_sync::wire::MAX_MESSAGE_BYTES)]
        body_limit: usize,
        /// Serve HTTPS with this PEM certificate chain (server certificate first); needs
        /// --tls-key. Without it, plain HTTP (put a TLS-terminating proxy in front).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
    },
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Stores.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Terminals.
    Terminal {
        #[command(subcommand)]
        command: TerminalCommand,
    },
    /// HQ changes replicated down to terminals.
    Change {
        #[command(subcommand)]
        command: ChangeCommand,
    },
    /// Reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Import HQ data replicated down to terminals (see sync/ROWS.md).
    Import {
        #[command(subcommand)]
        command: admin_cli::ImportCommand,
    },
    /// Coupon issuer keys and signed coupon packs.
    Coupons {
        #[command(subcommand)]
        command: admin_cli::CouponsCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant; prints its id.
    Create { name: String },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Create a store of a tenant (CODE is the store id terminals use).
    Create {
        #[arg(long, value_parser = tenant_id)]
        tenant: TenantId,
        #[arg(value_parser = store_id)]
        code: StoreId,
        name: String,
    },
}

#[derive(Subcommand)]
enum TerminalCommand {
    /// Print a one-time enrollment code for a new terminal of a store.
    EnrollCode {
        #[arg(long, value_parser = tenant_id)]
        tenant: TenantId,
        #[arg(long, value_parser = store_id)]
        store: StoreId,
        /// Validity in minutes.
        #[arg(long, default_value_t = 60 * 24)]
        ttl_minutes: u64,
    },
    /// Revoke a terminal's credential.
    Revoke {
        #[arg(long, value_parser = tenant_id)]
        tenant: TenantId,
        #[arg(value_parser = terminal_id)]
        terminal: TerminalId,
    },
}

#[derive(Subcommand)]
enum ChangeCommand {
    /// Create or replace a row: ENTITY KEY JSON.
    Put {
        #[arg(long, value_parser = tenant_id)]
        tenant: TenantId,
        #[arg(value_parser = parse_entity)]
        entity: Entity,
        key: String,
        data: String,
    },
    /// Delete a row (a tombstone).
    Delete {
        #[arg(long, value_parser = tenant_id)]
        tenant: TenantId,
        #[arg(value_parser = parse_entity)]
        entity: Entity,
        key: String,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Single-use coupons redeemed more than once: the winning and the losing sales.
    DoubleRedemptions {
        #[arg(long, value_parser = tenant_id)]
        tenant: TenantId,
    },
    /// A store's day (local time): sales, returns, voids, tax, tenders, coupons, double
    /// redemptions.
    Daily {
        #[arg(long, value_parser = tenant_id)]
        tenant: TenantId,
        #[arg(long, value_parser = store_id)]
        store: StoreId,
        /// The store's local day, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        #[arg(long)]
        json: bool,
    },
}

fn tenant_id(s: &str) -> Result<TenantId, String> {
    TenantId::new(s).map_err(|e| e.to_string())
}

fn store_id(s: &str) -> Result<StoreId, String> {
    StoreId::new(s).map_err(|e| e.to_string())
}

fn terminal_id(s: &str) -> Result<TerminalId, String> {
    TerminalId::new(s).map_err(|e| e.to_string())
}

fn parse_entity(s: &str) -> Result<Entity, String> {
    Entity::ALL
        .into_iter()
        .find(|e| e.as_str() == s)
        .ok_or_else(|| {
            let all: Vec<_> = Entity::ALL.iter().map(|e| e.as_str()).collect();
            format!("unknown entity {s:?} (one of {})", all.join(", "))
        })
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let storage = tillstone_cloud::open(&cli.db)?;
    match cli.command {
        Command::Serve {
            listen,
            body_limit,
            tls_cert,
            tls_key,
        } => {
            // Read the certificate before listening: a bad file fails at once, with the reason.
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => {
                    Some(tillstone_cloud::tls::load_server_config(cert, key)?)
                }
                _ => None,
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                let addr = listener.local_addr()?;
                let scheme = if tls.is_some() { "https" } else { "http" };
                tracing::info!(%addr, scheme, db = %cli.db, "serving");
                // On stdout too, for scripts that listen on port 0.
                println!("listening on {addr}");
                std::io::Write::flush(&mut std::io::stdout())?;
                let config = tillstone_cloud::Config { body_limit };
                let shutdown = tillstone_cloud::shutdown_signal();
                match tls {
                    Some(tls) => {
                        tillstone_cloud::serve_tls(listener, tls, storage, config, shutdown).await?
                    }
                    None => tillstone_cloud::serve(listener, storage, config, shutdown).await?,
                }
                anyhow::Ok(())
            })?;
        }
        Command::Tenant {
            command: TenantCommand::Create { name },
        } => println!("{}", storage.create_tenant(&name)?),
        Command::Store {
            command: StoreCommand::Create { tenant, code, name },
        } => {
            storage.create_store(&tenant, &code, &name)?;
            println!("{code}");
        }
        Command::Terminal { command } => match command {
            TerminalCommand::EnrollCode {
                tenant,
                store,
                ttl_minutes,
            } => {
                let now = now_ms();
                let code = storage.create_enrollment_code(
                    &tenant,
                    &store,
                    now,
                    now.saturating_add(ttl_minutes.saturating_mul(60_000)),
                )?;
                println!("{code}");
            }
            TerminalCommand::Revoke { tenant, terminal } => {
                storage.revoke_terminal(&tenant, &terminal)?;
                println!("revoked {terminal}");
            }
        },
        Command::Change { command } => match command {
            ChangeCommand::Put {
                tenant,
                entity,
                key,
                data,
            } => {
                let data = serde_json::from_str(&data).context("DATA must be JSON")?;
                println!("{}", storage.put_change(&tenant, entity, &key, data)?);
            }
            ChangeCommand::Delete {
                tenant,
                entity,
                key,
            } => println!("{}", storage.delete_change(&tenant, entity, &key)?),
        },
        Command::Import { command } => admin_cli::import(storage.as_ref(), command)?,
        Command::Coupons { command } => admin_cli::coupons(&storage, command)?,
        Command::Report {
            command:
                ReportCommand::Daily {
                    tenant,
                    store,
                    date,
                    json,
                },
        } => admin_cli::daily(storage.as_ref(), &tenant, &store, &date, json)?,
        Command::Report {
            command: ReportCommand::DoubleRedemptions { tenant },
        } => {
            let conflicts = storage.double_redemptions(&tenant)?;
            if conflicts.is_empty() {
                println!("no double redemptions");
            }
            for o in conflicts {
                let w = &o.winner;
                println!(
                    "coupon {}: kept by sale {} (terminal {}, event {}, amount {})",
                    w.coupon_id, w.sale_id, w.terminal_id, w.event_id, w.amount
                );
                for l in &o.losers {
                    println!(
                        "  also redeemed by sale {} (terminal {}, event {}, amount {})",
                        l.sale_id, l.terminal_id, l.event_id, l.amount
                    );
                }
            }
        }
    }
    Ok(())
}
