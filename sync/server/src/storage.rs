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
