//! The storage interface of the HQ service. Every method that reads or writes tenant data takes
//! the tenant (or an authenticated [`Principal`]) and binds every query to it: there is no
//! method that reads across tenants, so cross-tenant access is impossible by construction.
//!
//! Implementations: [`crate::sqlite::SqliteStorage`] (`sqlite:PATH`, the default) and
//! [`crate::postgres::PostgresStorage`] (`postgres://…`, production; several server processes
//! may share one database). Methods are blocking (the server calls them from
//! `tokio::task::spawn_blocking`).

use serde_json::Value;
use tillstone_sync::{
    Entity, Outcome, PullPage, PullRequest, PushAck, PushBatch, StoreId, TenantId, TerminalId,
};

/// Milliseconds since the Unix epoch (passed in: storage never reads the clock).
pub type Millis = u64;

/// Who an authenticated request speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub store: StoreId,
    pub terminal: TerminalId,
}

/// The answer to a successful enrollment: the credential is shown once and only its hash kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub principal: Principal,
    pub credential: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unknown tenant {0}")]
    UnknownTenant(String),
    #[error("unknown store {store} of tenant {tenant}")]
    UnknownStore { tenant: String, store: String },
    #[error("unknown terminal {0}")]
    UnknownTerminal(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("invalid {0}")]
    Invalid(String),
    #[error("unknown enrollment code")]
    CodeUnknown,
    #[error("this enrollment code has already been used")]
    CodeUsed,
    #[error("this enrollment code has expired")]
    CodeExpired,
    #[error("terminal {0} is already enrolled (terminal ids are never reused)")]
    TerminalExists(String),
    #[error("unknown credential")]
    BadCredential,
    #[error("this terminal has been revoked")]
    Revoked,
    #[error("{0}")]
    Forbidden(String),
    #[error("database error: {0}")]
    Backend(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Everything the HQ service stores. Implementations must make [`Storage::push`] atomic: the
/// acknowledgement is returned only after the whole batch is durably committed.
pub trait Storage: Send + Sync + 'static {
    /// Create a tenant; returns its generated id.
    fn create_tenant(&self, name: &str) -> Result<TenantId>;
    fn create_store(&self, tenant: &TenantId, store: &StoreId, name: &str) -> Result<()>;
    /// A one-time enrollment code for a terminal of `store`, valid until `expires_ms`.
    fn create_enrollment_code(
        &self,
        tenant: &TenantId,
        store: &StoreId,
        now: Millis,
        expires_ms: Millis,
    ) -> Result<String>;
    /// Use a code (once) to enroll a new terminal; returns its credential (shown once).
    fn enroll(&self, code: &str, terminal: &TerminalId, now: Millis) -> Result<Enrolled>;
    /// The principal of a credential; `Revoked` / `BadCredential` otherwise.
    fn authenticate(&self, credential: &str) -> Result<Principal>;
    fn revoke_terminal(&self, tenant: &TenantId, terminal: &TerminalId) -> Result<()>;
    /// Receive a push batch from `who` (its tenant/store/terminal must be the batch's): every
    /// event is answered in the ack, in one durable transaction.
    fn push(&self, who: &Principal, batch: &PushBatch, now: Millis) -> Result<PushAck>;
    /// Answer a pull of `who`'s tenant.
    fn pull(&self, who: &Principal, req: &PullRequest) -> Result<PullPage>;
    /// Write HQ's row `key` (or its tombstone) with the tenant's next revision; returns it.
    /// `key` is not empty (the callers below check).
    fn write_change(
        &self,
        tenant: &TenantId,
        entity: Entity,
        key: &str,
        deleted: bool,
        data: &Value,
    ) -> Result<u64>;
    /// HQ writes a row (next revision of the tenant); returns the revision.
    fn put_change(&self, tenant: &TenantId, entity: Entity, key: &str, data: Value) -> Result<u64> {
        if key.is_empty() {
            return Err(StorageError::Invalid("empty key".into()));
        }
        if data.is_null() {
            return Err(StorageError::Invalid("null data (use a delete)".into()));
        }
        self.write_change(tenant, entity, key, false, &data)
    }
    /// HQ deletes a row (a tombstone with the next revision); returns the revision.
    fn delete_change(&self, tenant: &TenantId, entity: Entity, key: &str) -> Result<u64> {
        if key.is_empty() {
            return Err(StorageError::Invalid("empty key".into()));
        }
        self.write_change(tenant, entity, key, true, &Value::Null)
    }
    /// Single-use coupons redeemed more than once, with the winner and the losing sales.
    fn double_redemptions(&self, tenant: &TenantId) -> Result<Vec<Outcome>>;
    /// Every redemption of one coupon (`campaign-serial`) in the tenant, first by HLC first
    /// (the online coupon check of the tills).
    fn coupon_redemptions(
        &self,
        tenant: &TenantId,
        coupon_id: &str,
    ) -> Result<Vec<CouponRedemption>>;
    /// Derived stock of `(store, sku)`.
    fn stock(&self, tenant: &TenantId, store: &StoreId, sku: &str) -> Result<i128>;
    /// Derived points of a member.
    fn points(&self, tenant: &TenantId, member_id: &str) -> Result<i128>;
    /// A member profile field (`None`: never written; `Some(None)`: cleared).
    fn profile_field(
        &self,
        tenant: &TenantId,
        member_id: &str,
        field: &str,
    ) -> Result<Option<Option<String>>>;
    /// Number of events stored for the tenant.
    fn event_count(&self, tenant: &TenantId) -> Result<u64>;
    /// Highest `n` such that events `1..=n` of the terminal are all stored.
    fn contiguous_through(&self, tenant: &TenantId, terminal: &TerminalId) -> Result<u64>;
    /// The live rows (tombstones left out) of `keys`, by key (admin imports).
    fn get_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, Value>>;
    /// Write a batch of rows in one transaction (admin imports): each row is first passed to
    /// `merge` with the stored row (`None`: absent or deleted), then written with the next
    /// revision only if it differs from the stored one, so re-importing the same data makes no
    /// revision. A `merge` error or an empty key / null row aborts the whole batch.
    fn put_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        rows: &[(String, Value)],
        merge: Option<Merge<'_>>,
    ) -> Result<PutCounts>;
    /// Reserve `count` (≥ 1) consecutive coupon serials of a campaign of the tenant; returns
    /// the first. Atomic: serials are never handed out twice, whatever runs concurrently.
    fn reserve_serials(&self, tenant: &TenantId, campaign_id: u32, count: u64) -> Result<u64>;
    /// The events of `kinds` of a store whose HLC wall time is in `[from_ms, to_ms)` (reports).
    fn store_events(
        &self,
        tenant: &TenantId,
        store: &StoreId,
        kinds: &[tillstone_sync::EventKind],
        from_ms: Millis,
        to_ms: Millis,
    ) -> Result<Vec<tillstone_sync::Event>>;
}

/// Turns the proposed row into the row to store, given the stored one (`None`: absent or
/// deleted); an error aborts the batch. Used to keep fields HQ adds later (a member's coupons).
pub type Merge<'a> = &'a (dyn Fn(&str, Option<&Value>, &mut Value) -> Result<(), String> + Sync);

/// What a [`Storage::put_changes`] batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PutCounts {
    /// Keys without a live row before (new, or written again after a delete).
    pub new: u64,
    pub changed: u64,
    /// Equal to the stored row: not written, no revision used.
    pub unchanged: u64,
}

impl PutCounts {
    pub fn add(&mut self, o: PutCounts) {
        self.new += o.new;
        self.changed += o.changed;
        self.unchanged += o.unchanged;
    }
}

/// Decide which rows of a batch to write (shared by the backends): `stored` holds the live rows
/// of the batch's keys. Rows are taken in order (a key twice: the later wins and is compared
/// with the earlier); returns the rows to write, one per key, and the counts.
pub(crate) fn plan_batch(
    rows: &[(String, Value)],
    mut stored: std::collections::HashMap<String, Value>,
    merge: Option<Merge<'_>>,
) -> Result<(Vec<(String, Value)>, PutCounts)> {
    let mut counts = PutCounts::default();
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut slot: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (key, value) in rows {
        if key.is_empty() {
            return Err(StorageError::Invalid("empty key".into()));
        }
        let mut value = value.clone();
        let before = stored.get(key);
        if let Some(merge) = merge {
            merge(key, before, &mut value)
                .map_err(|e| StorageError::Invalid(format!("{key}: {e}")))?;
        }
        if value.is_null() {
            return Err(StorageError::Invalid(format!(
                "{key}: null data (use a delete)"
            )));
        }
        match before {
            Some(b) if *b == value => {
                counts.unchanged += 1;
                continue;
            }
            Some(_) => counts.changed += 1,
            None => counts.new += 1,
        }
        stored.insert(key.clone(), value.clone());
        match slot.get(key) {
            Some(&i) => out[i].1 = value,
            None => {
                slot.insert(key.clone(), out.len());
                out.push((key.clone(), value));
            }
        }
    }
    Ok((out, counts))
}

/// A time for SQL (`i64`), saturating.
pub(crate) fn clamp(ms: Millis) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// A serial count for SQL: 1 to 2^63-1.
pub(crate) fn reserve_count(count: u64) -> Result<i64> {
    match i64::try_from(count) {
        Ok(c) if c >= 1 => Ok(c),
        _ => Err(StorageError::Invalid(format!(
            "cannot reserve {count} serials (1 to 2^63-1)"
        ))),
    }
}

pub(crate) fn serials_exhausted(campaign_id: u32) -> StorageError {
    StorageError::Invalid(format!("campaign {campaign_id} has run out of serials"))
}

/// Which backend a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl DbUrl {
    /// `sqlite:PATH` (or `sqlite://PATH`), `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err("sqlite URL without a path (use sqlite:PATH)".into());
            }
            Ok(DbUrl::Sqlite(path.into()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "unsupported database URL {url:?} (use sqlite:PATH or postgres://…)"
            ))
        }
    }
}

/// Open the storage a URL names.
pub fn open(url: &str) -> anyhow::Result<std::sync::Arc<dyn Storage>> {
    match DbUrl::parse(url).map_err(anyhow::Error::msg)? {
        DbUrl::Sqlite(path) => Ok(std::sync::Arc::new(crate::sqlite::SqliteStorage::open(
            &path,
        )?)),
        DbUrl::Postgres(url) => Ok(std::sync::Arc::new(crate::postgres::PostgresStorage::open(
            &url,
        )?)),
    }
}

/// SHA-256 hex of a secret (credentials and enrollment codes are high-entropy random strings,
/// so a fast hash is the right tool: it lets the server look them up by hash).
pub fn secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random credential: 244 random bits, hex.
pub fn new_credential() -> String {
    format!(
        "tsk_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A new one-time enrollment code: 16 Crockford base32 characters (~74 random bits), grouped
/// by four for typing (`ABCD-EFGH-JKMN-PQRS`). Codes are compared case-insensitively with
/// dashes and spaces ignored.
pub fn new_enrollment_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut bits: u128 = u128::from_be_bytes(bytes);
    let mut out = String::new();
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    out
}

/// The canonical form of a typed code (what is hashed).
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_urls() {
        assert_eq!(
            DbUrl::parse("sqlite:/tmp/a.db"),
            Ok(DbUrl::Sqlite("/tmp/a.db".into()))
        );
        assert_eq!(
            DbUrl::parse("sqlite:///tmp/a.db"),
            Ok(DbUrl::Sqlite("/tmp/a.db".into()))
        );
        assert!(matches!(
            DbUrl::parse("postgres://u@h/db"),
            Ok(DbUrl::Postgres(_))
        ));
        assert!(DbUrl::parse("mysql://x").is_err());
        assert!(DbUrl::parse("sqlite:").is_err());
        // Nothing listens on port 1: a connection error, not "unsupported".
        let err = open("postgres://u@127.0.0.1:1/db")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("database"), "{err}");
    }

    #[test]
    fn codes_and_credentials() {
        let c = new_enrollment_code();
        assert_eq!(c.len(), 19);
        assert_eq!(
            normalize_code(&c.to_lowercase().replace('-', " ")),
            normalize_code(&c)
        );
        assert_ne!(new_enrollment_code(), c);
        let k = new_credential();
        assert!(k.starts_with("tsk_") && k.len() == 68);
        assert_eq!(secret_hash(&k).len(), 64);
    }
}

/// One redemption of a coupon as HQ holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CouponRedemption {
    pub sale_id: String,
    pub store_id: String,
    pub terminal_id: String,
    pub amount: String,
}
