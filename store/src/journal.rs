//! The hash-chained journal.
//!
//! Every committed event gets the next sequence number of the terminal and an entry whose hash is
//! `SHA-256(prev_hash ‖ canonical bytes)`, hex-encoded. The canonical bytes are
//! `seq \x1f terminal_id \x1f kind \x1f ref_id \x1f at \x1f payload`, where `payload` is the event
//! serialised as JSON with object keys sorted (serde_json's default map). The first entry's
//! `prev_hash` is 64 zeros. Changing, removing or reordering any entry breaks the chain from there.

use crate::db::{Result, Store};
use rusqlite::{Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What kind of event a journal entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Sale,
    Return,
    PostVoid,
    NoSale,
    PaidIn,
    PaidOut,
    ShiftOpen,
    ZReport,
    MemberSignUp,
    MemberPoints,
    CouponRedemption,
    StockMovement,
    /// A coupon redemption given back by a return or a post-void.
    CouponRestore,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Sale => "sale",
            EventKind::Return => "return",
            EventKind::PostVoid => "post_void",
            EventKind::NoSale => "no_sale",
            EventKind::PaidIn => "paid_in",
            EventKind::PaidOut => "paid_out",
            EventKind::ShiftOpen => "shift_open",
            EventKind::ZReport => "z_report",
            EventKind::MemberSignUp => "member_sign_up",
            EventKind::MemberPoints => "member_points",
            EventKind::CouponRedemption => "coupon_redemption",
            EventKind::StockMovement => "stock_movement",
            EventKind::CouponRestore => "coupon_restore",
        }
    }
}

/// The id of an event that a document implies (its points, its coupon redemptions): a UUIDv7
/// with the document's timestamp and version, and the rest of its bits a hash of the
/// document's id and `purpose`, so committing (or re-deriving) it twice gives the same id.
pub fn derived_event_id(base: &str, purpose: &str) -> String {
    let mut bytes = match uuid::Uuid::parse_str(base) {
        Ok(u) => *u.as_bytes(),
        Err(_) => *uuid::Uuid::now_v7().as_bytes(),
    };
    let mut h = Sha256::new();
    h.update(base.as_bytes());
    h.update([0x1f]);
    h.update(purpose.as_bytes());
    let digest = h.finalize();
    bytes[6..16].copy_from_slice(&digest[..10]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    uuid::Uuid::from_bytes(bytes).to_string()
}

/// Canonical JSON of a payload: keys sorted, no whitespace.
pub fn canonical_json<T: Serialize>(payload: &T) -> Result<String> {
    let value = serde_json::to_value(payload)?;
    Ok(serde_json::to_string(&value)?)
}

pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    terminal_id: &str,
    kind: &str,
    ref_id: &str,
    at: &str,
    payload: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(seq.to_string().as_bytes());
    for part in [terminal_id, kind, ref_id, at, payload] {
        h.update([0x1f]);
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Identity of an event being committed: its id (UUIDv7, made by the caller), terminal and time.
#[derive(Debug, Clone)]
pub struct EventMeta<'a> {
    pub event_id: &'a str,
    pub terminal_id: &'a str,
    pub at: &'a str,
}

/// Append an entry and its outbox record inside the caller's transaction. Returns the sequence.
pub(crate) fn append<T: Serialize>(
    tx: &Transaction<'_>,
    meta: &EventMeta<'_>,
    kind: EventKind,
    ref_id: &str,
    payload: &T,
) -> Result<i64> {
    let payload = canonical_json(payload)?;
    // Cached: a sale appends one entry per line (its stock movements).
    let (prev_seq, prev_hash): (i64, String) = tx
        .prepare_cached("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok((0, GENESIS_HASH.to_string())),
            e => Err(e),
        })?;
    let seq = prev_seq + 1;
    let hash = entry_hash(
        &prev_hash,
        seq,
        meta.terminal_id,
        kind.as_str(),
        ref_id,
        meta.at,
        &payload,
    );
    tx.prepare_cached(
        "INSERT INTO journal (seq, terminal_id, kind, ref_id, at, payload, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq,
        meta.terminal_id,
        kind.as_str(),
        ref_id,
        meta.at,
        payload,
        prev_hash,
        hash
    ])?;
    tx.prepare_cached(
        "INSERT INTO outbox (event_id, seq, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![meta.event_id, seq, kind.as_str(), meta.at])?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_ids_are_stable_distinct_uuid_v7() {
        let base = "0192f0c4-1234-7abc-9def-0123456789ab";
        let a = super::derived_event_id(base, "points");
        assert_eq!(a, super::derived_event_id(base, "points"));
        assert_ne!(a, super::derived_event_id(base, "coupon-0"));
        let u = uuid::Uuid::parse_str(&a).expect("uuid");
        assert_eq!(u.get_version_num(), 7);
        assert_eq!(&a[..13], &base[..13], "keeps the document's timestamp");
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub entries: u64,
    pub first_broken: Option<BrokenLink>,
    pub last_hash: String,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.first_broken.is_none()
    }
}

impl Store {
    /// Walk the whole journal and check every link.
    pub fn verify_journal(&self) -> Result<VerifyReport> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, terminal_id, kind, ref_id, at, payload, prev_hash, hash
             FROM journal ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut expected_prev = GENESIS_HASH.to_string();
        let mut expected_seq = 1i64;
        let mut entries = 0u64;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let terminal_id: String = r.get(1)?;
            let kind: String = r.get(2)?;
            let ref_id: String = r.get(3)?;
            let at: String = r.get(4)?;
            let payload: String = r.get(5)?;
            let prev_hash: String = r.get(6)?;
            let hash: String = r.get(7)?;
            let broken = |reason: String| VerifyReport {
                entries,
                first_broken: Some(BrokenLink { seq, reason }),
                last_hash: expected_prev.clone(),
            };
            if seq != expected_seq {
                return Ok(broken(format!(
                    "sequence jumps from {} to {seq}: entries are missing",
                    expected_seq - 1
                )));
            }
            if prev_hash != expected_prev {
                return Ok(broken(
                    "previous-hash does not match the entry before it".into(),
                ));
            }
            let actual = entry_hash(&prev_hash, seq, &terminal_id, &kind, &ref_id, &at, &payload);
            if actual != hash {
                return Ok(broken(
                    "content does not match its hash: the entry was altered".into(),
                ));
            }
            entries += 1;
            expected_prev = hash;
            expected_seq += 1;
        }
        Ok(VerifyReport {
            entries,
            first_broken: None,
            last_hash: expected_prev,
        })
    }

    /// Number of journal events not yet acknowledged by the cloud.
    pub fn outbox_pending(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }
}
