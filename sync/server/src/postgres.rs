//! PostgreSQL backend (`postgres://…`): for production, where several `tillstone-cloud`
//! processes share one database and serve the same tenants.
//!
//! Blocking `postgres` client behind a small `r2d2` pool (the server calls storage from
//! `spawn_blocking`). Embedded migrations are tracked in `tillstone_migrations`, applied under
//! an advisory lock so processes starting together migrate once.
//!
//! Concurrency (READ COMMITTED plus explicit locks, every write transaction retried on
//! serialization failure / deadlock):
//! * a push batch is one transaction that first locks its terminal's row (`FOR UPDATE`): two
//!   processes receiving overlapping batches of one terminal apply them one after the other, so
//!   the second sees the first's events as duplicates. Counter rows are per actor (= terminal),
//!   so they are only written under that lock.
//! * events are inserted with `ON CONFLICT DO NOTHING` against the unique `event_id` and
//!   `(terminal_id, seq)`; a lost race (the same event id pushed by another terminal at the same
//!   moment) is re-classified as duplicate / conflict and applies no effect.
//! * profile fields: last-writer-wins decided in the upsert itself (`WHERE stored HLC < new`).
//! * the change log: revisions come from the tenant row (`UPDATE … RETURNING`), whose lock is
//!   held until commit, so revisions become visible in order and a pull cursor never skips a
//!   row that commits late (a plain sequence could commit 11 before 10).
//!
//! The push logic mirrors `tillstone_sync::Replica::receive_batch` rule for rule, like
//! [`crate::sqlite`].

mod admin;

use crate::storage::{
    Enrolled, Millis, Principal, Result, Storage, StorageError, new_credential,
    new_enrollment_code, normalize_code, secret_hash,
};
use postgres::error::SqlState;
use postgres::{GenericClient, NoTls, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr;
use tillstone_sync::state::effect_of;
use tillstone_sync::{
    Cursors, Effect, Entity, Event, Hlc, Outcome, PullPage, PullRequest, PushAck, PushBatch,
    Redemption, RedemptionRegistry, RejectReason, Rejected, Row, StoreId, TenantId, TerminalId,
};

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// Schema migrations, applied in order; `tillstone_migrations` records those applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    tenant_id  TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    revision   BIGINT NOT NULL DEFAULT 0,  -- last change-log revision assigned
    created_ms BIGINT NOT NULL
);
CREATE TABLE stores (
    tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id),
    store_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, store_id)
);
CREATE TABLE terminals (
    terminal_id        TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL,
    store_id           TEXT NOT NULL,
    credential_sha256  TEXT NOT NULL UNIQUE,
    revoked            BOOLEAN NOT NULL DEFAULT FALSE,
    enrolled_ms        BIGINT NOT NULL,
    contiguous_through BIGINT NOT NULL DEFAULT 0,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores(tenant_id, store_id)
);
CREATE TABLE enrollment_codes (
    code_sha256 TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    used_ms     BIGINT,
    used_by     TEXT,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores(tenant_id, store_id)
);
CREATE TABLE events (
    event_id    TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hlc_wall_ms BIGINT NOT NULL,
    hlc_counter BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    envelope    TEXT NOT NULL,     -- the event as received (JSON)
    received_ms BIGINT NOT NULL,
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
    p         BIGINT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, store_id, key, actor)
);
CREATE TABLE profiles (
    tenant_id   TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    value       TEXT,
    hlc_wall_ms BIGINT NOT NULL,
    hlc_counter BIGINT NOT NULL,
    hlc_node    TEXT COLLATE "C" NOT NULL,  -- byte order, as Rust compares strings
    PRIMARY KEY (tenant_id, member_id, field)
);
CREATE TABLE redemptions (
    event_id    TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    coupon_id   TEXT NOT NULL,
    sale_id     TEXT NOT NULL,
    store_id    TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    hlc_wall_ms BIGINT NOT NULL,
    hlc_counter BIGINT NOT NULL,
    amount      TEXT NOT NULL
);
CREATE INDEX redemptions_by_coupon ON redemptions (tenant_id, coupon_id);
CREATE TABLE changes (
    tenant_id TEXT NOT NULL,
    entity    TEXT NOT NULL,
    key       TEXT NOT NULL,
    revision  BIGINT NOT NULL,
    deleted   BOOLEAN NOT NULL,
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

/// Advisory lock key taken while migrating ("tillstone" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7469_6c6c_7374_6f6e;

/// How often a transaction is retried after a serialization failure or deadlock.
const RETRIES: usize = 8;

/// Errors inside a transaction: a database error (maybe retryable) or a storage answer.
enum Fail {
    Pg(postgres::Error),
    Storage(StorageError),
    /// A push batch lost an insert race decided in memory: run the transaction again.
    Retry,
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StorageError> for Fail {
    fn from(e: StorageError) -> Self {
        Fail::Storage(e)
    }
}

impl From<Fail> for StorageError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Pg(e) => pg(e),
            Fail::Storage(e) => e,
            Fail::Retry => StorageError::Backend(
                "a push batch kept losing insert races with concurrent pushes".into(),
            ),
        }
    }
}

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        pg(e)
    }
}

fn pg(e: postgres::Error) -> StorageError {
    // The Display of a server error is only "db error"; the details are in the source.
    match e.as_db_error() {
        Some(d) => StorageError::Backend(format!("{}: {}", d.code().code(), d.message())),
        None => StorageError::Backend(e.to_string()),
    }
}

fn retryable(f: &Fail) -> bool {
    matches!(f, Fail::Retry)
        || matches!(f, Fail::Pg(e) if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        || e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED))
}

fn to_i64(what: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StorageError::Invalid(format!("{what} {v} is too large")))
}

pub struct PostgresStorage {
    /// `Option` only so that `Drop` can move it to a plain thread (see there).
    pool: Option<Pool>,
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        // Closing a blocking `postgres` client runs a small runtime; that panics inside an async
        // context (the server is dropped at the end of `serve`). Close on a plain thread.
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

impl PostgresStorage {
    /// Connect (lazily, up to `max_connections`) and migrate.
    pub fn open(url: &str) -> Result<PostgresStorage> {
        Self::open_with(url, 8)
    }

    pub fn open_with(url: &str, max_connections: u32) -> Result<PostgresStorage> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StorageError::Invalid(format!("database URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        // Connect once directly: a wrong URL fails now, with the reason (the pool would retry
        // until its timeout), and the schema is migrated before anything is served.
        {
            let mut client = config.connect(NoTls).map_err(|e| {
                StorageError::Backend(format!("cannot connect to the database: {e}"))
            })?;
            let mut tx = client.transaction()?;
            migrate(&mut tx)?;
            tx.commit()?;
        }
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(std::time::Duration::from_secs(15))
            .build(manager)
            .map_err(|e| StorageError::Backend(e.to_string()))?;
        Ok(PostgresStorage { pool: Some(pool) })
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool
            .as_ref()
            .expect("pool present until drop")
            .get()
            .map_err(|e| StorageError::Backend(format!("no database connection: {e}")))
    }

    /// Run `f` in a transaction, committed on `Ok`; retried on serialization failure/deadlock.
    fn with_tx<T>(&self, mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, Fail>) -> Result<T> {
        let mut conn = self.conn()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let run = (|| {
                let mut tx = conn.transaction()?;
                let out = f(&mut tx)?;
                tx.commit()?;
                Ok(out)
            })();
            match run {
                Err(e) if attempt < RETRIES && retryable(&e) => {
                    std::thread::sleep(std::time::Duration::from_millis(5 * attempt as u64));
                }
                other => return other.map_err(StorageError::from),
            }
        }
    }

    /// The number of migrations applied.
    pub fn schema_version(&self) -> Result<u32> {
        let v: Option<i32> = self
            .conn()?
            .query_one("SELECT MAX(version) FROM tillstone_migrations", &[])?
            .get(0);
        Ok(v.unwrap_or(0) as u32)
    }
}

fn migrate(tx: &mut Transaction<'_>) -> Result<(), Fail> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS tillstone_migrations (
            version    INTEGER PRIMARY KEY,
            applied_ms BIGINT NOT NULL
        )",
    )?;
    let applied: Option<i32> = tx
        .query_one("SELECT MAX(version) FROM tillstone_migrations", &[])?
        .get(0);
    let applied = applied.unwrap_or(0) as usize;
    if applied > MIGRATIONS.len() {
        return Err(StorageError::Backend(format!(
            "the database schema is version {applied}, newer than this server ({})",
            MIGRATIONS.len()
        ))
        .into());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO tillstone_migrations (version, applied_ms) VALUES ($1, $2)",
            &[&(i as i32 + 1), &(crate::sqlite::now_ms() as i64)],
        )?;
    }
    Ok(())
}

fn check_store(c: &mut impl GenericClient, tenant: &TenantId, store: &StoreId) -> Result<()> {
    let found = c.query_opt(
        "SELECT 1 FROM stores WHERE tenant_id = $1 AND store_id = $2",
        &[&tenant.as_str(), &store.as_str()],
    )?;
    match found {
        Some(_) => Ok(()),
        None => Err(StorageError::UnknownStore {
            tenant: tenant.to_string(),
            store: store.to_string(),
        }),
    }
}

fn check_tenant(c: &mut impl GenericClient, tenant: &TenantId) -> Result<()> {
    let found = c.query_opt(
        "SELECT 1 FROM tenants WHERE tenant_id = $1",
        &[&tenant.as_str()],
    )?;
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

/// If the event's id or `(terminal, seq)` is already stored: how to answer it.
fn already_stored(
    tx: &mut Transaction<'_>,
    who: &Principal,
    event: &Event,
    seq: i64,
) -> Result<Option<Receipt>, Fail> {
    let known = tx.query_opt(
        "SELECT tenant_id, store_id, envelope FROM events WHERE event_id = $1",
        &[&event.event_id],
    )?;
    if let Some(row) = known {
        let (t, s, envelope): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let same = t == who.tenant.as_str()
            && s == who.store.as_str()
            && serde_json::from_str::<Event>(&envelope).is_ok_and(|e| e == *event);
        return Ok(Some(if same {
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
        }));
    }
    let other = tx.query_opt(
        "SELECT event_id FROM events WHERE terminal_id = $1 AND seq = $2",
        &[&event.terminal_id.as_str(), &seq],
    )?;
    if let Some(row) = other {
        let other: String = row.get(0);
        return Ok(Some(reject(
            RejectReason::SeqConflict,
            format!(
                "seq {} of terminal {} is already event {other}",
                event.seq, event.terminal_id
            ),
        )));
    }
    Ok(None)
}

/// What a push batch's transaction knows about stored events, fetched once for the whole batch
/// under the terminal's row lock and kept up to date with the events it accepts.
struct Known {
    /// Event id → (tenant, store, envelope), for the batch's event ids.
    ids: HashMap<String, (String, String, String)>,
    /// Seq of the batch's terminal → event id, for the batch's seqs.
    seqs: HashMap<i64, String>,
    /// Whether the terminal has events in another tenant or store.
    elsewhere: bool,
}

impl Known {
    fn fetch(tx: &mut Transaction<'_>, who: &Principal, batch: &PushBatch) -> Result<Known, Fail> {
        let ids: Vec<&str> = batch.events.iter().map(|e| e.event_id.as_str()).collect();
        let seqs: Vec<i64> = batch
            .events
            .iter()
            .filter(|e| e.terminal_id == who.terminal)
            .filter_map(|e| i64::try_from(e.seq).ok())
            .collect();
        let mut known = Known {
            ids: HashMap::new(),
            seqs: HashMap::new(),
            elsewhere: false,
        };
        if ids.is_empty() {
            return Ok(known);
        }
        for row in tx.query(
            "SELECT event_id, tenant_id, store_id, envelope FROM events
             WHERE event_id = ANY($1)",
            &[&ids],
        )? {
            known
                .ids
                .insert(row.get(0), (row.get(1), row.get(2), row.get(3)));
        }
        for row in tx.query(
            "SELECT seq, event_id FROM events WHERE terminal_id = $1 AND seq = ANY($2)",
            &[&who.terminal.as_str(), &seqs],
        )? {
            known.seqs.insert(row.get(0), row.get(1));
        }
        // All events of a terminal have one tenant and store: they are only inserted under the
        // terminal's row lock, after this check. So its first event tells (an index probe, where
        // looking for any other store would read every event of the terminal).
        known.elsewhere = tx
            .query_opt(
                "SELECT tenant_id, store_id FROM events WHERE terminal_id = $1
                 ORDER BY seq LIMIT 1",
                &[&who.terminal.as_str()],
            )?
            .is_some_and(|row| {
                row.get::<_, &str>(0) != who.tenant.as_str()
                    || row.get::<_, &str>(1) != who.store.as_str()
            });
        Ok(known)
    }

    fn stored(&mut self, who: &Principal, event: &Event, seq: i64, envelope: String) {
        self.ids.insert(
            event.event_id.clone(),
            (who.tenant.to_string(), who.store.to_string(), envelope),
        );
        self.seqs.insert(seq, event.event_id.clone());
    }
}

/// Accepted events without derived state, inserted together by [`Pending::flush`].
#[derive(Default)]
struct Pending {
    ids: Vec<String>,
    seqs: Vec<i64>,
    walls: Vec<i64>,
    counters: Vec<i64>,
    kinds: Vec<&'static str>,
    envelopes: Vec<String>,
}

impl Pending {
    /// Insert the pending events in one statement. Under the terminal's lock only another
    /// terminal's push of the same event id can have won a row meanwhile: then the in-memory
    /// answers may be wrong, and the whole transaction is run again (it will see that row).
    fn flush(
        &mut self,
        tx: &mut Transaction<'_>,
        who: &Principal,
        now: Millis,
    ) -> Result<(), Fail> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let inserted = tx.execute(
            "INSERT INTO events (event_id, tenant_id, store_id, terminal_id, seq, hlc_wall_ms,
             hlc_counter, kind, envelope, received_ms)
             SELECT e, $2, $3, $4, s, w, c, k, env, $10
             FROM UNNEST($1::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[],
                         $9::text[]) AS u(e, s, w, c, k, env)
             ON CONFLICT DO NOTHING",
            &[
                &self.ids,
                &who.tenant.as_str(),
                &who.store.as_str(),
                &who.terminal.as_str(),
                &self.seqs,
                &self.walls,
                &self.counters,
                &self.kinds,
                &self.envelopes,
                &to_i64("time", now)?,
            ],
        )?;
        if inserted as usize != self.ids.len() {
            return Err(Fail::Retry);
        }
        *self = Pending::default();
        Ok(())
    }
}

/// Receive one event from what the transaction knows, without a statement: the rules of
/// [`receive`]. `None`: the event has derived state, receive it with [`receive`] (after a
/// flush). An accepted event is queued in `pending`.
fn receive_known(
    known: &mut Known,
    pending: &mut Pending,
    who: &Principal,
    event: &Event,
) -> Result<Option<Receipt>, Fail> {
    if event.terminal_id != who.terminal {
        return Ok(Some(reject(
            RejectReason::WrongTerminal,
            format!(
                "the event is from terminal {}, the batch from {}",
                event.terminal_id, who.terminal
            ),
        )));
    }
    if let Err(e) = event.validate() {
        return Ok(Some(reject(RejectReason::Invalid, e.to_string())));
    }
    let (Ok(seq), Ok(wall)) = (i64::try_from(event.seq), i64::try_from(event.hlc.wall_ms)) else {
        return Ok(Some(reject(
            RejectReason::Invalid,
            "seq or hlc.wall_ms is beyond 2^63-1",
        )));
    };
    if let Some((t, s, envelope)) = known.ids.get(&event.event_id) {
        let same = t == who.tenant.as_str()
            && s == who.store.as_str()
            && serde_json::from_str::<Event>(envelope).is_ok_and(|e| e == *event);
        return Ok(Some(if same {
            Receipt::Duplicate
        } else {
            reject(
                RejectReason::IdConflict,
                format!(
                    "event {} is already recorded with different content",
                    event.event_id
                ),
            )
        }));
    }
    if let Some(other) = known.seqs.get(&seq) {
        return Ok(Some(reject(
            RejectReason::SeqConflict,
            format!(
                "seq {} of terminal {} is already event {other}",
                event.seq, event.terminal_id
            ),
        )));
    }
    if known.elsewhere {
        return Ok(Some(reject(
            RejectReason::TerminalMoved,
            format!("terminal {} belongs to another store", event.terminal_id),
        )));
    }
    match effect_of(event) {
        Err(detail) => Ok(Some(reject(RejectReason::InvalidPayload, detail))),
        Ok(Effect::None) => {
            let envelope =
                serde_json::to_string(event).map_err(|e| StorageError::Backend(e.to_string()))?;
            known.stored(who, event, seq, envelope.clone());
            pending.ids.push(event.event_id.clone());
            pending.seqs.push(seq);
            pending.walls.push(wall);
            pending.counters.push(i64::from(event.hlc.counter));
            pending.kinds.push(event.kind.as_str());
            pending.envelopes.push(envelope);
            Ok(Some(Receipt::Accepted))
        }
        Ok(_) => Ok(None),
    }
}

/// Receive one event inside the push transaction (the rules of `Replica::receive`).
fn receive(
    tx: &mut Transaction<'_>,
    who: &Principal,
    event: &Event,
    now: Millis,
) -> Result<Receipt, Fail> {
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
    if let Some(receipt) = already_stored(tx, who, event, seq)? {
        return Ok(receipt);
    }
    let elsewhere = tx.query_opt(
        "SELECT store_id FROM events WHERE terminal_id = $1 AND (tenant_id <> $2 OR store_id <> $3)
         LIMIT 1",
        &[&event.terminal_id.as_str(), &tenant, &store],
    )?;
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
    // Counter rows are per actor: only this terminal's pushes write them, under its row lock.
    let mut counter_write = None;
    if let Some((kind, cstore, key, delta)) = counter_target(&who.store, &effect) {
        let (p, n) = tx
            .query_opt(
                "SELECT p, n FROM counters WHERE tenant_id = $1 AND kind = $2 AND store_id = $3
                 AND key = $4 AND actor = $5",
                &[&tenant, &kind, &cstore, &key, &actor],
            )?
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
            .unwrap_or((0, 0));
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
        counter_write = Some((kind, cstore, key, np as i64, nn as i64));
    }
    let envelope =
        serde_json::to_string(event).map_err(|e| StorageError::Backend(e.to_string()))?;
    let inserted = tx.execute(
        "INSERT INTO events (event_id, tenant_id, store_id, terminal_id, seq, hlc_wall_ms,
         hlc_counter, kind, envelope, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT DO NOTHING",
        &[
            &event.event_id,
            &tenant,
            &store,
            &actor,
            &seq,
            &wall,
            &i64::from(event.hlc.counter),
            &event.kind.as_str(),
            &envelope,
            &to_i64("time", now)?,
        ],
    )?;
    if inserted == 0 {
        // Lost a race with a transaction that committed the same id meanwhile.
        return Ok(already_stored(tx, who, event, seq)?.unwrap_or_else(|| {
            reject(
                RejectReason::IdConflict,
                format!("event {} was recorded concurrently", event.event_id),
            )
        }));
    }
    if let Some((kind, cstore, key, np, nn)) = counter_write {
        tx.execute(
            "INSERT INTO counters (tenant_id, kind, store_id, key, actor, p, n)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (tenant_id, kind, store_id, key, actor) DO UPDATE
             SET p = EXCLUDED.p, n = EXCLUDED.n",
            &[&tenant, &kind, &cstore, &key, &actor, &np, &nn],
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &event.event_id,
                    &tenant,
                    coupon_id,
                    sale_id,
                    &store,
                    &actor,
                    &wall,
                    &i64::from(event.hlc.counter),
                    &amount.to_string(),
                ],
            )?;
        }
        Effect::Restore { coupon_id, sale_id } => {
            tx.execute(
                "INSERT INTO coupon_restores (event_id, tenant_id, coupon_id, sale_id)
                 VALUES ($1, $2, $3, $4)",
                &[&event.event_id, &tenant, coupon_id, sale_id],
            )?;
        }
        Effect::Profile { member_id, fields } => {
            for (field, value) in fields {
                // Last writer wins, decided atomically by the upsert (rows compare in "C" order).
                tx.execute(
                    "INSERT INTO profiles (tenant_id, member_id, field, value, hlc_wall_ms,
                     hlc_counter, hlc_node) VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (tenant_id, member_id, field) DO UPDATE SET
                     value = EXCLUDED.value, hlc_wall_ms = EXCLUDED.hlc_wall_ms,
                     hlc_counter = EXCLUDED.hlc_counter, hlc_node = EXCLUDED.hlc_node
                     WHERE (profiles.hlc_wall_ms, profiles.hlc_counter, profiles.hlc_node)
                         < ($5, $6, $8::text COLLATE \"C\")",
                    &[
                        &tenant,
                        member_id,
                        field,
                        value,
                        &wall,
                        &i64::from(event.hlc.counter),
                        &actor,
                        &event.hlc.node.as_str(),
                    ],
                )?;
            }
        }
        _ => {}
    }
    Ok(Receipt::Accepted)
}

fn next_revision(tx: &mut Transaction<'_>, tenant: &TenantId) -> Result<i64, Fail> {
    let rev = tx.query_opt(
        "UPDATE tenants SET revision = revision + 1 WHERE tenant_id = $1 RETURNING revision",
        &[&tenant.as_str()],
    )?;
    Ok(rev
        .map(|r| r.get(0))
        .ok_or_else(|| StorageError::UnknownTenant(tenant.to_string()))?)
}

impl PostgresStorage {}

impl Storage for PostgresStorage {
    fn write_change(
        &self,
        tenant: &TenantId,
        entity: Entity,
        key: &str,
        deleted: bool,
        data: &Value,
    ) -> Result<u64> {
        let data = data.to_string();
        self.with_tx(|tx| {
            let rev = next_revision(tx, tenant)?;
            tx.execute(
                "INSERT INTO changes (tenant_id, entity, key, revision, deleted, data)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (tenant_id, entity, key) DO UPDATE SET revision = EXCLUDED.revision,
                 deleted = EXCLUDED.deleted, data = EXCLUDED.data",
                &[
                    &tenant.as_str(),
                    &entity.as_str(),
                    &key,
                    &rev,
                    &deleted,
                    &data,
                ],
            )?;
            Ok(rev as u64)
        })
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
        self.conn()?.execute(
            "INSERT INTO tenants (tenant_id, name, created_ms) VALUES ($1, $2, $3)",
            &[&id.as_str(), &name, &(crate::sqlite::now_ms() as i64)],
        )?;
        Ok(id)
    }

    fn create_store(&self, tenant: &TenantId, store: &StoreId, name: &str) -> Result<()> {
        self.with_tx(|tx| {
            check_tenant(tx, tenant)?;
            let n = tx.execute(
                "INSERT INTO stores (tenant_id, store_id, name, created_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[
                    &tenant.as_str(),
                    &store.as_str(),
                    &name,
                    &(crate::sqlite::now_ms() as i64),
                ],
            )?;
            if n == 0 {
                return Err(StorageError::AlreadyExists(format!("store {store}")).into());
            }
            Ok(())
        })
    }

    fn create_enrollment_code(
        &self,
        tenant: &TenantId,
        store: &StoreId,
        now: Millis,
        expires_ms: Millis,
    ) -> Result<String> {
        let mut conn = self.conn()?;
        check_store(&mut *conn, tenant, store)?;
        let code = new_enrollment_code();
        conn.execute(
            "INSERT INTO enrollment_codes (code_sha256, tenant_id, store_id, created_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &secret_hash(&normalize_code(&code)),
                &tenant.as_str(),
                &store.as_str(),
                &to_i64("time", now)?,
                &to_i64("time", expires_ms)?,
            ],
        )?;
        Ok(code)
    }

    fn enroll(&self, code: &str, terminal: &TerminalId, now: Millis) -> Result<Enrolled> {
        let hash = secret_hash(&normalize_code(code));
        let now_i = to_i64("time", now)?;
        let (tenant, store, credential) = self.with_tx(|tx| {
            let row = tx.query_opt(
                "SELECT tenant_id, store_id, expires_ms, used_ms FROM enrollment_codes
                 WHERE code_sha256 = $1 FOR UPDATE",
                &[&hash],
            )?;
            let Some(row) = row else {
                return Err(StorageError::CodeUnknown.into());
            };
            let (tenant, store, expires, used): (String, String, i64, Option<i64>) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            if used.is_some() {
                return Err(StorageError::CodeUsed.into());
            }
            if now_i >= expires {
                return Err(StorageError::CodeExpired.into());
            }
            let exists = tx.query_opt(
                "SELECT 1 FROM terminals WHERE terminal_id = $1",
                &[&terminal.as_str()],
            )?;
            let seen = tx.query_opt(
                "SELECT 1 FROM events WHERE terminal_id = $1 LIMIT 1",
                &[&terminal.as_str()],
            )?;
            if exists.is_some() || seen.is_some() {
                return Err(StorageError::TerminalExists(terminal.to_string()).into());
            }
            let credential = new_credential();
            let inserted = tx.execute(
                "INSERT INTO terminals (terminal_id, tenant_id, store_id, credential_sha256,
                 enrolled_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (terminal_id) DO NOTHING",
                &[
                    &terminal.as_str(),
                    &tenant,
                    &store,
                    &secret_hash(&credential),
                    &now_i,
                ],
            )?;
            if inserted == 0 {
                return Err(StorageError::TerminalExists(terminal.to_string()).into());
            }
            tx.execute(
                "UPDATE enrollment_codes SET used_ms = $2, used_by = $3 WHERE code_sha256 = $1",
                &[&hash, &now_i, &terminal.as_str()],
            )?;
            Ok((tenant, store, credential))
        })?;
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
        let row = self.conn()?.query_opt(
            "SELECT tenant_id, store_id, terminal_id, revoked FROM terminals
             WHERE credential_sha256 = $1",
            &[&secret_hash(credential)],
        )?;
        let Some(row) = row else {
            return Err(StorageError::BadCredential);
        };
        let (tenant, store, terminal, revoked): (String, String, String, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
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
        let n = self.conn()?.execute(
            "UPDATE terminals SET revoked = TRUE WHERE tenant_id = $1 AND terminal_id = $2",
            &[&tenant.as_str(), &terminal.as_str()],
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
        self.with_tx(|tx| {
            let mut ack = PushAck {
                // Answer in the batch's version (an ack is the same in every version).
                version: batch.version,
                batch_id: batch.batch_id.clone(),
                accepted: Vec::new(),
                duplicates: Vec::new(),
                rejected: Vec::new(),
            };
            // Serialise the pushes of one terminal across all server processes.
            let locked = tx.query_opt(
                "SELECT contiguous_through FROM terminals WHERE terminal_id = $1 AND tenant_id = $2
                 FOR UPDATE",
                &[&who.terminal.as_str(), &who.tenant.as_str()],
            )?;
            let Some(locked) = locked else {
                return Err(StorageError::UnknownTerminal(who.terminal.to_string()).into());
            };
            let mut through: i64 = locked.get(0);
            let mut any_accepted = false;
            // Duplicates and conflicts are looked up once for the whole batch; events without
            // derived state are answered in memory and inserted together.
            let mut known = Known::fetch(tx, who, batch)?;
            let mut pending = Pending::default();
            for event in &batch.events {
                let id = event.event_id.clone();
                let receipt = match receive_known(&mut known, &mut pending, who, event)? {
                    Some(receipt) => receipt,
                    None => {
                        pending.flush(tx, who, now)?;
                        let receipt = receive(tx, who, event, now)?;
                        if matches!(receipt, Receipt::Accepted) {
                            let envelope = serde_json::to_string(event)
                                .map_err(|e| StorageError::Backend(e.to_string()))?;
                            known.stored(who, event, event.seq as i64, envelope);
                        }
                        receipt
                    }
                };
                match receipt {
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
            pending.flush(tx, who, now)?;
            if any_accepted {
                // Advance over the stored seqs that follow, a page at a time.
                const PAGE: i64 = 1000;
                let stmt = tx.prepare(
                    "SELECT seq FROM events WHERE terminal_id = $1 AND seq > $2
                     ORDER BY seq LIMIT $3",
                )?;
                loop {
                    let rows = tx.query(&stmt, &[&who.terminal.as_str(), &through, &PAGE])?;
                    let page = rows.len();
                    let mut advanced = 0;
                    for row in rows {
                        if row.get::<_, i64>(0) != through + 1 {
                            break;
                        }
                        through += 1;
                        advanced += 1;
                    }
                    if advanced < page || (page as i64) < PAGE {
                        break;
                    }
                }
                tx.execute(
                    "UPDATE terminals SET contiguous_through = $2 WHERE terminal_id = $1",
                    &[&who.terminal.as_str(), &through],
                )?;
            }
            Ok(ack)
        })
    }

    fn pull(&self, who: &Principal, req: &PullRequest) -> Result<PullPage> {
        let limit = req
            .limit
            .map(|l| l as usize)
            .unwrap_or(tillstone_sync::down::DEFAULT_PAGE_ROWS)
            .clamp(1, tillstone_sync::down::MAX_PAGE_ROWS);
        let mut conn = self.conn()?;
        let stmt = conn.prepare(
            "SELECT key, revision, deleted, data FROM changes
             WHERE tenant_id = $1 AND entity = $2 AND revision > $3
             ORDER BY revision LIMIT $4",
        )?;
        let mut rows = Vec::new();
        let mut next = Cursors::new();
        let mut more = false;
        for e in Entity::ALL {
            let from = req.cursors.get(&e).copied().unwrap_or(0);
            let from_i = i64::try_from(from).unwrap_or(i64::MAX);
            let room = limit - rows.len();
            let mut cursor = from;
            let got = conn.query(
                &stmt,
                &[
                    &who.tenant.as_str(),
                    &e.as_str(),
                    &from_i,
                    &((room + 1) as i64),
                ],
            )?;
            if got.len() > room {
                more = true;
            }
            for r in got.into_iter().take(room) {
                let (key, rev, deleted, data): (String, i64, bool, String) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
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
        let remaining = if req.count_remaining == Some(true) {
            let count = conn.prepare(
                "SELECT COUNT(*) FROM changes WHERE tenant_id = $1 AND entity = $2 AND revision > $3",
            )?;
            let mut total = 0u64;
            for e in Entity::ALL {
                let after = i64::try_from(next.get(&e).copied().unwrap_or(0)).unwrap_or(i64::MAX);
                let n: i64 = conn
                    .query_one(&count, &[&who.tenant.as_str(), &e.as_str(), &after])?
                    .get(0);
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
        let mut conn = self.conn()?;
        check_tenant(&mut *conn, tenant)?;
        let rows = conn.query(
            "SELECT sale_id, store_id, terminal_id, amount FROM standing_redemptions
             WHERE tenant_id = $1 AND coupon_id = $2
             ORDER BY hlc_wall_ms, hlc_counter, terminal_id",
            &[&tenant.as_str(), &coupon_id],
        )?;
        Ok(rows
            .iter()
            .map(|r| crate::storage::CouponRedemption {
                sale_id: r.get(0),
                store_id: r.get(1),
                terminal_id: r.get(2),
                amount: r.get(3),
            })
            .collect())
    }

    fn double_redemptions(&self, tenant: &TenantId) -> Result<Vec<Outcome>> {
        let mut conn = self.conn()?;
        check_tenant(&mut *conn, tenant)?;
        let rows = conn.query(
            // Only standing redemptions: one given back (a return, a post-void) is no
            // double redemption.
            "SELECT coupon_id, event_id, sale_id, terminal_id, hlc_wall_ms, hlc_counter, amount
             FROM standing_redemptions WHERE tenant_id = $1 AND coupon_id IN (
                SELECT coupon_id FROM standing_redemptions WHERE tenant_id = $1
                GROUP BY coupon_id HAVING COUNT(*) > 1)",
            &[&tenant.as_str()],
        )?;
        let mut registry = RedemptionRegistry::new();
        let bad = |e: String| StorageError::Backend(e);
        for r in rows {
            let terminal_id =
                TerminalId::new(r.get::<_, String>(3)).map_err(|e| bad(e.to_string()))?;
            let amount: String = r.get(6);
            registry.insert(Redemption {
                coupon_id: r.get(0),
                event_id: r.get(1),
                sale_id: r.get(2),
                hlc: Hlc {
                    wall_ms: r.get::<_, i64>(4) as u64,
                    counter: r.get::<_, i64>(5) as u32,
                    node: terminal_id.clone(),
                },
                terminal_id,
                amount: Decimal::from_str(&amount).map_err(|e| bad(e.to_string()))?,
            });
        }
        Ok(registry.conflicts())
    }

    fn stock(&self, tenant: &TenantId, store: &StoreId, sku: &str) -> Result<i128> {
        self.sum_counter(tenant, "stock", store.as_str(), sku)
    }

    fn points(&self, tenant: &TenantId, member_id: &str) -> Result<i128> {
        self.sum_counter(tenant, "points", "", member_id)
    }

    fn profile_field(
        &self,
        tenant: &TenantId,
        member_id: &str,
        field: &str,
    ) -> Result<Option<Option<String>>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT value FROM profiles WHERE tenant_id = $1 AND member_id = $2 AND field = $3",
                &[&tenant.as_str(), &member_id, &field],
            )?
            .map(|r| r.get(0)))
    }

    fn event_count(&self, tenant: &TenantId) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_one(
                "SELECT COUNT(*) FROM events WHERE tenant_id = $1",
                &[&tenant.as_str()],
            )?
            .get(0);
        Ok(n as u64)
    }

    fn contiguous_through(&self, tenant: &TenantId, terminal: &TerminalId) -> Result<u64> {
        let n: Option<i64> = self
            .conn()?
            .query_opt(
                "SELECT contiguous_through FROM terminals WHERE tenant_id = $1 AND terminal_id = $2",
                &[&tenant.as_str(), &terminal.as_str()],
            )?
            .map(|r| r.get(0));
        Ok(n.unwrap_or(0) as u64)
    }
    fn get_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        keys: &[String],
    ) -> Result<HashMap<String, Value>> {
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

impl PostgresStorage {
    fn sum_counter(&self, tenant: &TenantId, kind: &str, store: &str, key: &str) -> Result<i128> {
        let rows = self.conn()?.query(
            "SELECT p, n FROM counters WHERE tenant_id = $1 AND kind = $2 AND store_id = $3
             AND key = $4",
            &[&tenant.as_str(), &kind, &store, &key],
        )?;
        Ok(rows
            .iter()
            .map(|r| i128::from(r.get::<_, i64>(0) as u64) - i128::from(r.get::<_, i64>(1) as u64))
            .sum())
    }
}
