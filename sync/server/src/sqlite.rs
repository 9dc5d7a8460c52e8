//! SQLite backend: one file, WAL, `synchronous=FULL` (a batch is on disk when its ack leaves),
//! embedded migrations tracked in `PRAGMA user_version`.
//!
//! One connection behind a mutex: pushes are serialised, which SQLite does anyway for writers.
//! The push logic mirrors `tillstone_sync::Replica::receive_batch` rule for rule, against tables.

mod admin;

use crate::storage::{
    Enrolled, Millis, Principal, Result, Storage, StorageError, new_credential,
    new_enrollment_code, normalize_code, secret_hash,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use rust_decimal::Decimal;
use serde_json::Value;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use tillstone_sync::state::effect_of;
use tillstone_sync::{
    Cursors, Effect, Entity, Event, Hlc, Outcome, PullPage, PullRequest, PushAck, PushBatch,
    Redemption, RedemptionRegistry, RejectReason, Rejected, Row, StoreId, TenantId, TerminalId,
};

/// Schema migrations, applied in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    tenant_id  TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    revision   INTEGER NOT NULL DEFAULT 0,  -- last change-log revision assigned
    created_ms INTEGER NOT NULL
);
CREATE TABLE stores (
    tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id),
    store_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, store_id)
);
CREATE TABLE terminals (
    terminal_id        TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    store_id           TEXT NOT NULL,
    credential_sha256  TEXT NOT NULL UNIQUE,
    revoked            INTEGER NOT NULL DEFAULT 0,
    enrolled_ms        INTEGER NOT NULL,
    contiguous_through INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores(tenant_id, store_id)
);
CREATE TABLE enrollment_codes (
    code_sha256 TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    used_ms     INTEGER,
    used_by     TEXT,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores(tenant_id, store_id)
);
CREATE TABLE events (
    event_id    TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hlc_wall_ms INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    envelope    TEXT NOT NULL,     -- the event as received (JSON)
    received_ms INTEGER NOT NULL,
    UNIQUE (terminal_id, seq)
);
CREATE INDEX events_by_tenant ON events (tenant_id, store_id, terminal_id, seq);
-- PN-counters: per actor (terminal) the sums of increments and decrements, stored as the
-- two's-complement i64 of the u64 sums.
CREATE TABLE counters (
    tenant_id TEXT NOT NULL,
    kind      TEXT NOT NULL,       -- 'stock' | 'points'
    store_id  TEXT NOT NULL,       -- '' for points
    key       TEXT NOT NULL,       -- sku | member id
    actor     TEXT NOT NULL,
    p         INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, store_id, key, actor)
);
CREATE TABLE profiles (
    tenant_id   TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    value       TEXT,
    hlc_wall_ms INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    hlc_node    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, member_id, field)
);
CREATE TABLE redemptions (
    event_id    TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    coupon_id   TEXT NOT NULL,
    sale_id     TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    hlc_wall_ms INTEGER NOT NULL,
    hlc_counter INTEGER NOT NULL,
    amount      TEXT NOT NULL
);
CREATE INDEX redemptions_by_coupon ON redemptions (tenant_id, coupon_id);
CREATE TABLE changes (
    tenant_id TEXT NOT NULL,
    entity    TEXT NOT NULL,
    key       TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    deleted   INTEGER NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, entity, key)
);
CREATE UNIQUE INDEX changes_by_revision ON changes (tenant_id, entity, revision);
"#,
    admin::MIGRATION,
    // 3: coupon redemptions given back (a return or post-void; protocol version 3).
    r#"
CREATE TABLE coupon_restores (
    event_id  TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    coupon_id TEXT NOT NULL,
    sale_id   TEXT NOT NULL
);
CREATE INDEX coupon_restores_by_sale ON coupon_restores (tenant_id, coupon_id, sale_id);
-- The redemptions that count: those not given back. The coupon status and the
-- double-redemption report read this.
CREATE VIEW standing_redemptions AS
    SELECT * FROM redemptions r WHERE NOT EXISTS (
        SELECT 1 FROM coupon_restores x WHERE x.tenant_id = r.tenant_id
        AND x.coupon_id = r.coupon_id AND x.sale_id = r.sale_id);
"#,
];

fn db(e: rusqlite::Error) -> StorageError {
    StorageError::Backend(e.to_string())
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        db(e)
    }
}

fn to_i64(what: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StorageError::Invalid(format!("{what} {v} is too large")))
}

pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    /// Open (creating if needed) and migrate the database file.
    pub fn open(path: &Path) -> Result<SqliteStorage> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half transaction behind (rusqlite rolls back
        // on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The schema version applied.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let applied = applied as usize;
    if applied > MIGRATIONS.len() {
        return Err(StorageError::Backend(format!(
            "the database schema is version {applied}, newer than this server ({})",
            MIGRATIONS.len()
        )));
    }
    for sql in &MIGRATIONS[applied..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as u32)?;
    tx.commit()?;
    Ok(())
}

fn check_store(tx: &Connection, tenant: &TenantId, store: &StoreId) -> Result<()> {
    let found: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM stores WHERE tenant_id = ?1 AND store_id = ?2",
            params![tenant.as_str(), store.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    match found {
        Some(_) => Ok(()),
        None => Err(StorageError::UnknownStore {
            tenant: tenant.to_string(),
            store: store.to_string(),
        }),
    }
}

fn check_tenant(tx: &Connection, tenant: &TenantId) -> Result<()> {
    let found: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM tenants WHERE tenant_id = ?1",
            params![tenant.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| StorageError::UnknownTenant(tenant.to_string()))
}

fn reject(reason: RejectReason, detail: impl Into<String>) -> Receipt {
    Receipt::Rejected(reason, detail.into())
}

enum Receipt {
    Accepted,
    Duplicate,
    Rejected(RejectReason, String),
}

/// Per actor sums of one counter row.
fn counter_row(
    tx: &Transaction<'_>,
    tenant: &str,
    kind: &str,
    store: &str,
    key: &str,
    actor: &str,
) -> Result<(u64, u64)> {
    let row: Option<(i64, i64)> = tx
        .query_row(
            "SELECT p, n FROM counters WHERE tenant_id = ?1 AND kind = ?2 AND store_id = ?3
             AND key = ?4 AND actor = ?5",
            params![tenant, kind, store, key, actor],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map(|(p, n)| (p as u64, n as u64)).unwrap_or((0, 0)))
}

fn counter_target<'a>(
    store: &'a StoreId,
    effect: &'a Effect,
) -> Option<(&'static str, &'a str, &'a str, i64)> {
    match effect {
        Effect::Stock { sku, delta } => Some(("stock", store.as_str(), sku.as_str(), *delta)),
        Effect::Points { member_id, delta } => Some(("points", "", member_id.as_str(), *delta)),
        _ => None,
    }
}

/// Receive one event inside the push transaction (the rules of `Replica::receive`).
fn receive(tx: &Transaction<'_>, who: &Principal, event: &Event, now: Millis) -> Result<Receipt> {
    if event.terminal_id != who.terminal {
        return Ok(reject(
            RejectReason::WrongTerminal,
            format!(
                "the event is from terminal {}, the batch from {}",
                event.terminal_id, who.terminal
            ),
        ));
    }
    if let Err(e) = event.validate() {
        return Ok(reject(RejectReason::Invalid, e.to_string()));
    }
    let (Ok(seq), Ok(wall)) = (i64::try_from(event.seq), i64::try_from(event.hlc.wall_ms)) else {
        return Ok(reject(
            RejectReason::Invalid,
            "seq or hlc.wall_ms is beyond 2^63-1",
        ));
    };
    let tenant = who.tenant.as_str();
    let store = who.store.as_str();
    let known: Option<(String, String, String)> = tx
        .query_row(
            "SELECT tenant_id, store_id, envelope FROM events WHERE event_id = ?1",
            params![event.event_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((t, s, envelope)) = known {
        let same = t == tenant
            && s == store
            && serde_json::from_str::<Event>(&envelope).is_ok_and(|e| e == *event);
        return Ok(if same {
            Receipt::Duplicate
        } else {
            // Say nothing about what the other record holds (it may be another tenant's).
            reject(
                RejectReason::IdConflict,
                format!(
                    "event {} is already recorded with different content",
                    event.event_id
                ),
            )
        });
    }
    let other: Option<String> = tx
        .query_row(
            "SELECT event_id FROM events WHERE terminal_id = ?1 AND seq = ?2",
            params![event.terminal_id.as_str(), seq],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = other {
        return Ok(reject(
            RejectReason::SeqConflict,
            format!(
                "seq {} of terminal {} is already event {other}",
                event.seq, event.terminal_id
            ),
        ));
    }
    let elsewhere: Option<String> = tx
        .query_row(
            "SELECT store_id FROM events WHERE terminal_id = ?1 AND (tenant_id <> ?2 OR store_id <> ?3) LIMIT 1",
            params![event.terminal_id.as_str(), tenant, store],
            |r| r.get(0),
        )
        .optional()?;
    if elsewhere.is_some() {
        return Ok(reject(
            RejectReason::TerminalMoved,
            format!("terminal {} belongs to another store", event.terminal_id),
        ));
    }
    let effect = match effect_of(event) {
        Ok(e) => e,
        Err(detail) => return Ok(reject(RejectReason::InvalidPayload, detail)),
    };
    let actor = event.terminal_id.as_str();
    if let Some((kind, cstore, key, delta)) = counter_target(&who.store, &effect) {
        let (p, n) = counter_row(tx, tenant, kind, cstore, key, actor)?;
        let (np, nn) = if delta >= 0 {
            (p.checked_add(delta.unsigned_abs()), Some(n))
        } else {
            (Some(p), n.checked_add(delta.unsigned_abs()))
        };
        let (Some(np), Some(nn)) = (np, nn) else {
            return Ok(reject(
                RejectReason::Overflow,
                format!("the counter sum of terminal {actor} would overflow"),
            ));
        };
        tx.execute(
            "INSERT INTO counters (tenant_id, kind, store_id, key, actor, p, n)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (tenant_id, kind, store_id, key, actor) DO UPDATE SET p = ?6, n = ?7",
            params![tenant, kind, cstore, key, actor, np as i64, nn as i64],
        )?;
    }
    match &effect {
        Effect::Redemption {
            coupon_id,
            sale_id,
            amount,
        } => {
            tx.execute(
                "INSERT INTO redemptions (event_id, tenant_id, coupon_id, sale_id, store_id,
                 terminal_id, hlc_wall_ms, hlc_counter, amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    event.event_id,
                    tenant,
                    coupon_id,
                    sale_id,
                    store,
                    actor,
                    wall,
                    event.hlc.counter,
                    amount.to_string()
                ],
            )?;
        }
        Effect::Restore { coupon_id, sale_id } => {
            tx.execute(
                "INSERT INTO coupon_restores (event_id, tenant_id, coupon_id, sale_id)
                 VALUES (?1, ?2, ?3, ?4)",
                params![event.event_id, tenant, coupon_id, sale_id],
            )?;
        }
        Effect::Profile { member_id, fields } => {
            for (field, value) in fields {
                let cur: Option<(i64, u32, String)> = tx
                    .query_row(
                        "SELECT hlc_wall_ms, hlc_counter, hlc_node FROM profiles
                         WHERE tenant_id = ?1 AND member_id = ?2 AND field = ?3",
                        params![tenant, member_id, field],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                let newer = cur.is_none_or(|(w, c, node)| {
                    (
                        event.hlc.wall_ms,
                        event.hlc.counter,
                        event.hlc.node.as_str(),
                    ) > (w as u64, c, node.as_str())
                });
                if newer {
                    tx.execute(
                        "INSERT INTO profiles (tenant_id, member_id, field, value, hlc_wall_ms,
                         hlc_counter, hlc_node) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (tenant_id, member_id, field) DO UPDATE SET value = ?4,
                         hlc_wall_ms = ?5, hlc_counter = ?6, hlc_node = ?7",
                        params![
                            tenant,
                            member_id,
                            field,
                            value,
                            wall,
                            event.hlc.counter,
                            actor
                        ],
                    )?;
                }
            }
        }
        _ => {}
    }
    let envelope =
        serde_json::to_string(event).map_err(|e| StorageError::Backend(e.to_string()))?;
    tx.execute(
        "INSERT INTO events (event_id, tenant_id, store_id, terminal_id, seq, hlc_wall_ms,
         hlc_counter, kind, envelope, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            event.event_id,
            tenant,
            store,
            actor,
            seq,
            wall,
            event.hlc.counter,
            event.kind.as_str(),
            envelope,
            to_i64("time", now)?
        ],
    )?;
    Ok(Receipt::Accepted)
}

fn next_revision(tx: &Transaction<'_>, tenant: &TenantId) -> Result<i64> {
    let rev: Option<i64> = tx
        .query_row(
            "UPDATE tenants SET revision = revision + 1 WHERE tenant_id = ?1 RETURNING revision",
            params![tenant.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    rev.ok_or_else(|| StorageError::UnknownTenant(tenant.to_string()))
}

impl SqliteStorage {}

impl Storage for SqliteStorage {
    fn write_change(
        &self,
        tenant: &TenantId,
        entity: Entity,
        key: &str,
        deleted: bool,
        data: &Value,
    ) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rev = next_revision(&tx, tenant)?;
        tx.execute(
            "INSERT INTO changes (tenant_id, entity, key, revision, deleted, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (tenant_id, entity, key) DO UPDATE SET revision = ?4, deleted = ?5,
             data = ?6",
            params![
                tenant.as_str(),
                entity.as_str(),
                key,
                rev,
                deleted,
                data.to_string()
            ],
        )?;
        tx.commit()?;
        Ok(rev as u64)
    }

    fn create_tenant(&self, name: &str) -> Result<TenantId> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StorageError::Invalid("empty tenant name".into()));
        }
        let id = TenantId::new(format!(
            "t-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ))
        .map_err(|e| StorageError::Invalid(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO tenants (tenant_id, name, created_ms) VALUES (?1, ?2, ?3)",
            params![id.as_str(), name, now_ms() as i64],
        )?;
        Ok(id)
    }

    fn create_store(&self, tenant: &TenantId, store: &StoreId, name: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        check_tenant(&tx, tenant)?;
        if check_store(&tx, tenant, store).is_ok() {
            return Err(StorageError::AlreadyExists(format!("store {store}")));
        }
        tx.execute(
            "INSERT INTO stores (tenant_id, store_id, name, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![tenant.as_str(), store.as_str(), name, now_ms() as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn create_enrollment_code(
        &self,
        tenant: &TenantId,
        store: &StoreId,
        now: Millis,
        expires_ms: Millis,
    ) -> Result<String> {
        let conn = self.conn();
        check_store(&conn, tenant, store)?;
        let code = new_enrollment_code();
        conn.execute(
            "INSERT INTO enrollment_codes (code_sha256, tenant_id, store_id, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                secret_hash(&normalize_code(&code)),
                tenant.as_str(),
                store.as_str(),
                to_i64("time", now)?,
                to_i64("time", expires_ms)?
            ],
        )?;
        Ok(code)
    }

    fn enroll(&self, code: &str, terminal: &TerminalId, now: Millis) -> Result<Enrolled> {
        let hash = secret_hash(&normalize_code(code));
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(String, String, i64, Option<i64>)> = tx
            .query_row(
                "SELECT tenant_id, store_id, expires_ms, used_ms FROM enrollment_codes
                 WHERE code_sha256 = ?1",
                params![hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((tenant, store, expires, used)) = row else {
            return Err(StorageError::CodeUnknown);
        };
        if used.is_some() {
            return Err(StorageError::CodeUsed);
        }
        if to_i64("time", now)? >= expires {
            return Err(StorageError::CodeExpired);
        }
        let exists: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM terminals WHERE terminal_id = ?1",
                params![terminal.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        let seen: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM events WHERE terminal_id = ?1 LIMIT 1",
                params![terminal.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() || seen.is_some() {
            return Err(StorageError::TerminalExists(terminal.to_string()));
        }
        let credential = new_credential();
        tx.execute(
            "INSERT INTO terminals (terminal_id, tenant_id, store_id, credential_sha256, enrolled_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![terminal.as_str(), tenant, store, secret_hash(&credential), now as i64],
        )?;
        tx.execute(
            "UPDATE enrollment_codes SET used_ms = ?2, used_by = ?3 WHERE code_sha256 = ?1",
            params![hash, now as i64, terminal.as_str()],
        )?;
        tx.commit()?;
        let bad = |e: tillstone_sync::IdError| StorageError::Backend(e.to_string());
        Ok(Enrolled {
            principal: Principal {
                tenant: TenantId::new(tenant).map_err(bad)?,
                store: StoreId::new(store).map_err(bad)?,
                terminal: terminal.clone(),
            },
            credential,
        })
    }

    fn authenticate(&self, credential: &str) -> Result<Principal> {
        let row: Option<(String, String, String, bool)> = self
            .conn()
            .query_row(
                "SELECT tenant_id, store_id, terminal_id, revoked FROM terminals
                 WHERE credential_sha256 = ?1",
                params![secret_hash(credential)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((tenant, store, terminal, revoked)) = row else {
            return Err(StorageError::BadCredential);
        };
        if revoked {
            return Err(StorageError::Revoked);
        }
        let bad = |e: tillstone_sync::IdError| StorageError::Backend(e.to_string());
        Ok(Principal {
            tenant: TenantId::new(tenant).map_err(bad)?,
            store: StoreId::new(store).map_err(bad)?,
            terminal: TerminalId::new(terminal).map_err(bad)?,
        })
    }

    fn revoke_terminal(&self, tenant: &TenantId, terminal: &TerminalId) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE terminals SET revoked = 1 WHERE tenant_id = ?1 AND terminal_id = ?2",
            params![tenant.as_str(), terminal.as_str()],
        )?;
        if n == 0 {
            return Err(StorageError::UnknownTerminal(terminal.to_string()));
        }
        Ok(())
    }

    fn push(&self, who: &Principal, batch: &PushBatch, now: Millis) -> Result<PushAck> {
        if batch.tenant != who.tenant || batch.store != who.store || batch.terminal != who.terminal
        {
            return Err(StorageError::Forbidden(format!(
                "this credential speaks for tenant {}, store {}, terminal {}; the batch names \
                 tenant {}, store {}, terminal {}",
                who.tenant, who.store, who.terminal, batch.tenant, batch.store, batch.terminal
            )));
        }
        let mut ack = PushAck {
            // Answer in the batch's version (an ack is the same in every version).
            version: batch.version,
            batch_id: batch.batch_id.clone(),
            accepted: Vec::new(),
            duplicates: Vec::new(),
            rejected: Vec::new(),
        };
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut any_accepted = false;
        for event in &batch.events {
            let id = event.event_id.clone();
            match receive(&tx, who, event, now)? {
                Receipt::Accepted => {
                    any_accepted = true;
                    ack.accepted.push(id)
                }
                Receipt::Duplicate => ack.duplicates.push(id),
                Receipt::Rejected(reason, detail) => ack.rejected.push(Rejected {
                    event_id: id,
                    reason,
                    detail,
                }),
            }
        }
        if any_accepted {
            let mut through: i64 = tx.query_row(
                "SELECT contiguous_through FROM terminals WHERE terminal_id = ?1",
                params![who.terminal.as_str()],
                |r| r.get(0),
            )?;
            let mut stmt =
                tx.prepare_cached("SELECT 1 FROM events WHERE terminal_id = ?1 AND seq = ?2")?;
            while stmt
                .query_row(params![who.terminal.as_str(), through + 1], |_| Ok(()))
                .optional()?
                .is_some()
            {
                through += 1;
            }
            drop(stmt);
            tx.execute(
                "UPDATE terminals SET contiguous_through = ?2 WHERE terminal_id = ?1",
                params![who.terminal.as_str(), through],
            )?;
        }
        tx.commit()?;
        Ok(ack)
    }

    fn pull(&self, who: &Principal, req: &PullRequest) -> Result<PullPage> {
        let limit = req
            .limit
            .map(|l| l as usize)
            .unwrap_or(tillstone_sync::down::DEFAULT_PAGE_ROWS)
            .clamp(1, tillstone_sync::down::MAX_PAGE_ROWS);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT key, revision, deleted, data FROM changes
             WHERE tenant_id = ?1 AND entity = ?2 AND revision > ?3
             ORDER BY revision LIMIT ?4",
        )?;
        let mut rows = Vec::new();
        let mut next = Cursors::new();
        let mut more = false;
        for e in Entity::ALL {
            let from = req.cursors.get(&e).copied().unwrap_or(0);
            let from_i = i64::try_from(from).unwrap_or(i64::MAX);
            let room = limit - rows.len();
            let mut cursor = from;
            let got: Vec<(String, i64, bool, String)> = stmt
                .query_map(
                    params![who.tenant.as_str(), e.as_str(), from_i, (room + 1) as i64],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            if got.len() > room {
                more = true;
            }
            for (key, rev, deleted, data) in got.into_iter().take(room) {
                let data = serde_json::from_str(&data)
                    .map_err(|e| StorageError::Backend(e.to_string()))?;
                cursor = rev as u64;
                rows.push(Row {
                    entity: e,
                    key,
                    revision: rev as u64,
                    deleted,
                    data,
                });
            }
            next.insert(e, cursor);
        }
        drop(stmt);
        let remaining = if req.count_remaining == Some(true) {
            let mut count = conn.prepare_cached(
                "SELECT COUNT(*) FROM changes WHERE tenant_id = ?1 AND entity = ?2 AND revision > ?3",
            )?;
            let mut total = 0u64;
            for e in Entity::ALL {
                let after = i64::try_from(next.get(&e).copied().unwrap_or(0)).unwrap_or(i64::MAX);
                let n: i64 = count
                    .query_row(params![who.tenant.as_str(), e.as_str(), after], |r| {
                        r.get(0)
                    })?;
                total += n as u64;
            }
            Some(total)
        } else {
            None
        };
        Ok(PullPage {
            // Answer in the request's version (`remaining` only exists from version 2 on).
            version: req.version,
            rows,
            next_cursors: next,
            more,
            remaining,
        })
    }

    fn coupon_redemptions(
        &self,
        tenant: &TenantId,
        coupon_id: &str,
    ) -> Result<Vec<crate::storage::CouponRedemption>> {
        let conn = self.conn();
        check_tenant(&conn, tenant)?;
        let mut stmt = conn.prepare_cached(
            "SELECT sale_id, store_id, terminal_id, amount FROM standing_redemptions
             WHERE tenant_id = ?1 AND coupon_id = ?2
             ORDER BY hlc_wall_ms, hlc_counter, terminal_id",
        )?;
        let rows = stmt
            .query_map(params![tenant.as_str(), coupon_id], |r| {
                Ok(crate::storage::CouponRedemption {
                    sale_id: r.get(0)?,
                    store_id: r.get(1)?,
                    terminal_id: r.get(2)?,
                    amount: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn double_redemptions(&self, tenant: &TenantId) -> Result<Vec<Outcome>> {
        let conn = self.conn();
        check_tenant(&conn, tenant)?;
        let mut stmt = conn.prepare(
            // Only standing redemptions: one given back (a return, a post-void) is no
            // double redemption.
            "SELECT coupon_id, event_id, sale_id, terminal_id, hlc_wall_ms, hlc_counter, amount
             FROM standing_redemptions WHERE tenant_id = ?1 AND coupon_id IN (
                SELECT coupon_id FROM standing_redemptions WHERE tenant_id = ?1
                GROUP BY coupon_id HAVING COUNT(*) > 1)",
        )?;
        let mut registry = RedemptionRegistry::new();
        let rows = stmt.query_map(params![tenant.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, u32>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        for row in rows {
            let (coupon_id, event_id, sale_id, terminal, wall, counter, amount) = row?;
            let bad = |e: String| StorageError::Backend(e);
            let terminal_id = TerminalId::new(terminal).map_err(|e| bad(e.to_string()))?;
            registry.insert(Redemption {
                coupon_id,
                event_id,
                sale_id,
                hlc: Hlc {
                    wall_ms: wall as u64,
                    counter,
                    node: terminal_id.clone(),
                },
                terminal_id,
                amount: Decimal::from_str(&amount).map_err(|e| bad(e.to_string()))?,
            });
        }
        Ok(registry.conflicts())
    }

    fn stock(&self, tenant: &TenantId, store: &StoreId, sku: &str) -> Result<i128> {
        sum_counter(&self.conn(), tenant, "stock", store.as_str(), sku)
    }

    fn points(&self, tenant: &TenantId, member_id: &str) -> Result<i128> {
        sum_counter(&self.conn(), tenant, "points", "", member_id)
    }

    fn profile_field(
        &self,
        tenant: &TenantId,
        member_id: &str,
        field: &str,
    ) -> Result<Option<Option<String>>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM profiles WHERE tenant_id = ?1 AND member_id = ?2 AND field = ?3",
                params![tenant.as_str(), member_id, field],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn event_count(&self, tenant: &TenantId) -> Result<u64> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM events WHERE tenant_id = ?1",
            params![tenant.as_str()],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn contiguous_through(&self, tenant: &TenantId, terminal: &TerminalId) -> Result<u64> {
        let n: Option<i64> = self
            .conn()
            .query_row(
                "SELECT contiguous_through FROM terminals WHERE tenant_id = ?1 AND terminal_id = ?2",
                params![tenant.as_str(), terminal.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.unwrap_or(0) as u64)
    }
    fn get_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, Value>> {
        self.admin_get_changes(tenant, entity, keys)
    }

    fn put_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        rows: &[(String, Value)],
        merge: Option<crate::storage::Merge<'_>>,
    ) -> Result<crate::storage::PutCounts> {
        self.admin_put_changes(tenant, entity, rows, merge)
    }

    fn reserve_serials(&self, tenant: &TenantId, campaign_id: u32, count: u64) -> Result<u64> {
        self.admin_reserve_serials(tenant, campaign_id, count)
    }

    fn store_events(
        &self,
        tenant: &TenantId,
        store: &StoreId,
        kinds: &[tillstone_sync::EventKind],
        from_ms: Millis,
        to_ms: Millis,
    ) -> Result<Vec<Event>> {
        self.admin_store_events(tenant, store, kinds, from_ms, to_ms)
    }
}

fn sum_counter(
    conn: &Connection,
    tenant: &TenantId,
    kind: &str,
    store: &str,
    key: &str,
) -> Result<i128> {
    let mut stmt = conn.prepare_cached(
        "SELECT p, n FROM counters WHERE tenant_id = ?1 AND kind = ?2 AND store_id = ?3 AND key = ?4",
    )?;
    let mut total: i128 = 0;
    let rows = stmt.query_map(params![tenant.as_str(), kind, store, key], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (p, n) = row?;
        total += i128::from(p as u64) - i128::from(n as u64);
    }
    Ok(total)
}

/// The wall clock, in Unix milliseconds.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
