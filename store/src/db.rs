use rusqlite::Connection;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the shift is closed: open a new shift")]
    ShiftClosed,
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("stored data is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database schema is version {found}, newer than this program knows ({known}); update Tillstone"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("{0}")]
    Invalid(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        // The triggers that keep documents out of closed shifts raise this message.
        match &e {
            rusqlite::Error::SqliteFailure(_, Some(msg)) if msg == "the shift is closed" => {
                StoreError::ShiftClosed
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Embedded migrations, applied in order; `PRAGMA user_version` holds the last applied one.
const MIGRATIONS: &[(&str, &str)] = &[
    ("V1__catalog", include_str!("../migrations/V1__catalog.sql")),
    ("V2__sales", include_str!("../migrations/V2__sales.sql")),
    ("V3__members", include_str!("../migrations/V3__members.sql")),
    ("V4__coupons", include_str!("../migrations/V4__coupons.sql")),
    ("V5__sync", include_str!("../migrations/V5__sync.sql")),
    (
        "V6__hq_apply",
        include_str!("../migrations/V6__hq_apply.sql"),
    ),
];

pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (creating if needed) the store at `path` and bring its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for read-only diagnostics and benchmarks.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Begin a transaction for committed history, with `synchronous=FULL` (set each time, so a
    /// relaxed cart write before it can never weaken a sale's durability).
    /// The transaction is IMMEDIATE: it takes the write lock before reading, so another
    /// process (the CLI closing a shift while the server sells) cannot slip a write between
    /// what this transaction reads and what it writes.
    pub(crate) fn durable_tx(&mut self) -> Result<rusqlite::Transaction<'_>> {
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// Run a query whose first column is a JSON document and decode every row.
    pub(crate) fn json_docs<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let docs = stmt
            .query_map(params, |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        docs.iter()
            .map(|d| serde_json::from_str(d).map_err(StoreError::from))
            .collect()
    }

    fn migrate(&mut self) -> Result<()> {
        let current: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if current > known {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known,
            });
        }
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tracing::info!(migration = name, "applying migration");
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }
}

/// Lowers `synchronous` to NORMAL for writes that are not committed history (carts in
/// progress) and restores FULL when dropped, whatever happened in between.
pub(crate) struct RelaxedSync<'a> {
    conn: &'a Connection,
}

impl<'a> RelaxedSync<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Result<Self> {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(RelaxedSync { conn })
    }
}

impl Drop for RelaxedSync<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.conn.pragma_update(None, "synchronous", "FULL") {
            tracing::error!(error = %e, "could not restore synchronous=FULL");
        }
    }
}
