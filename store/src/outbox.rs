//! The store side of cloud sync: outbox events to push (joined with their journal entries),
//! their persisted HLC stamps, acknowledgements, quarantined (rejected) events, and the HQ rows
//! pulled down with their cursors (schema `V5__sync`).
//!
//! The outbox is the source of truth: an event is pending until `acked_at` is set, which happens
//! only after the cloud acknowledged it; a restart simply resumes from the pending events.

use crate::db::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use std::collections::BTreeMap;

/// A pending outbox event with its journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub event_id: String,
    pub seq: i64,
    /// The journal's kind name (`sale`, `member_points`, …).
    pub kind: String,
    pub terminal_id: String,
    /// Commit time (RFC 3339).
    pub at: String,
    /// Canonical JSON payload.
    pub payload: String,
    /// The HLC `(wall_ms, counter)` it was stamped with, if stamped already.
    pub stamp: Option<(u64, u32)>,
}

/// An event the cloud rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedEvent {
    pub event_id: String,
    pub seq: i64,
    pub kind: String,
    pub reason: String,
    pub detail: String,
    pub at: String,
}

/// One replicated HQ row (`data` is JSON text, `null` for a tombstone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HqRow {
    pub entity: String,
    pub key: String,
    pub revision: u64,
    pub deleted: bool,
    pub data: String,
}

/// What [`Store::apply_hq_page`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HqApplied {
    /// False when the page did not answer the current cursors (nothing was changed).
    pub applied: bool,
    pub written: usize,
    pub skipped: usize,
    /// Written rows that could not be applied to the local tables (see
    /// [`Store::hq_apply_errors`](crate::Store::hq_apply_errors)).
    pub not_applied: usize,
}

fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is out of range")))
}

impl Store {
    /// Pending events (not acknowledged, not quarantined), oldest `seq` first.
    pub fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.event_id, o.seq, j.kind, j.terminal_id, j.at, j.payload, s.wall_ms, s.counter
             FROM outbox o
             JOIN journal j ON j.seq = o.seq
             LEFT JOIN sync_stamps s ON s.event_id = o.event_id
             WHERE o.acked_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM sync_quarantine q WHERE q.event_id = o.event_id)
             ORDER BY o.seq
             LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let wall: Option<i64> = r.get(6)?;
                let counter: Option<i64> = r.get(7)?;
                Ok(OutboxEvent {
                    event_id: r.get(0)?,
                    seq: r.get(1)?,
                    kind: r.get(2)?,
                    terminal_id: r.get(3)?,
                    at: r.get(4)?,
                    payload: r.get(5)?,
                    stamp: wall.zip(counter).map(|(w, c)| (w as u64, c as u32)),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Number of pending events (not acknowledged, not quarantined).
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox o WHERE o.acked_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM sync_quarantine q WHERE q.event_id = o.event_id)",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Persist HLC stamps for events and the clock state (a `meta` key/value) in one
    /// transaction. An event already stamped keeps its stamp.
    pub fn stamp_events(
        &mut self,
        stamps: &[(String, u64, u32)],
        meta_key: &str,
        meta_value: &str,
    ) -> Result<()> {
        let tx = self.durable_tx()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO sync_stamps (event_id, wall_ms, counter) VALUES (?1, ?2, ?3)
                 ON CONFLICT (event_id) DO NOTHING",
            )?;
            for (id, wall, counter) in stamps {
                ins.execute(params![id, to_i64(*wall, "wall_ms")?, i64::from(*counter)])?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![meta_key, meta_value],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Mark events acknowledged by the cloud (idempotent). Returns how many were newly marked.
    ///
    /// A coupon redemption accepted offline is confirmed by HQ when its event is acknowledged:
    /// it stops counting against the campaign's offline allowance.
    pub fn mark_acked(&mut self, event_ids: &[String], at: &str) -> Result<usize> {
        let tx = self.durable_tx()?;
        let mut n = 0;
        {
            let mut up = tx.prepare_cached(
                "UPDATE outbox SET acked_at = ?2 WHERE event_id = ?1 AND acked_at IS NULL",
            )?;
            let mut redemption = tx.prepare_cached(
                "SELECT j.payload FROM outbox o JOIN journal j ON j.seq = o.seq
                 WHERE o.event_id = ?1 AND o.kind = 'coupon_redemption'",
            )?;
            let mut confirm = tx.prepare_cached(
                "UPDATE coupon_redemptions SET confirmed_at = ?4
                 WHERE sale_id = ?1 AND campaign_id = ?2 AND serial = ?3
                   AND offline = 1 AND confirmed_at IS NULL",
            )?;
            for id in event_ids {
                let newly = up.execute(params![id, at])?;
                n += newly;
                if newly == 0 {
                    continue;
                }
                let payload: Option<String> =
                    redemption.query_row([id], |r| r.get(0)).optional()?;
                let Some(p) = payload.and_then(|p| serde_json::from_str::<Value>(&p).ok()) else {
                    continue;
                };
                if let (Some(sale), Some(campaign), Some(serial)) = (
                    p["sale_id"].as_str(),
                    p["campaign_id"].as_u64(),
                    p["serial"].as_u64(),
                ) {
                    confirm.execute(params![sale, campaign as i64, serial as i64, at])?;
                }
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Record events the cloud rejected: they are not pushed again.
    pub fn quarantine_events(
        &mut self,
        rejected: &[(String, String, String)],
        at: &str,
    ) -> Result<()> {
        let tx = self.durable_tx()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO sync_quarantine (event_id, reason, detail, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (event_id) DO UPDATE SET reason = excluded.reason,
                    detail = excluded.detail, at = excluded.at",
            )?;
            for (id, reason, detail) in rejected {
                ins.execute(params![id, reason, detail, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Quarantined events, oldest first.
    pub fn quarantined_events(&self) -> Result<Vec<QuarantinedEvent>> {
        let mut stmt = self.conn.prepare(
            "SELECT q.event_id, o.seq, o.kind, q.reason, q.detail, q.at
             FROM sync_quarantine q JOIN outbox o ON o.event_id = q.event_id ORDER BY o.seq",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(QuarantinedEvent {
                    event_id: r.get(0)?,
                    seq: r.get(1)?,
                    kind: r.get(2)?,
                    reason: r.get(3)?,
                    detail: r.get(4)?,
                    at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn quarantined_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM sync_quarantine", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// The saved pull cursors: entity → last applied revision.
    pub fn hq_cursors(&self) -> Result<BTreeMap<String, u64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT entity, revision FROM hq_cursors")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
        Ok(rows)
    }

    /// Apply one pulled page atomically with its cursors. The page is applied only if
    /// `requested` (the cursors it answers) equals the saved cursors; rows at or below their
    /// entity's cursor are skipped, others upsert by key when their revision is higher
    /// (tombstones are kept). Cursors only move forward.
    pub fn apply_hq_page(
        &mut self,
        requested: &BTreeMap<String, u64>,
        rows: &[HqRow],
        next_cursors: &BTreeMap<String, u64>,
    ) -> Result<HqApplied> {
        let tx = self.durable_tx()?;
        let current: BTreeMap<String, u64> = {
            let mut stmt = tx.prepare_cached("SELECT entity, revision FROM hq_cursors")?;
            stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let norm = |m: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
            m.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        };
        if norm(&current) != norm(requested) {
            return Ok(HqApplied::default());
        }
        let mut out = HqApplied {
            applied: true,
            ..HqApplied::default()
        };
        let mut written: Vec<&HqRow> = Vec::new();
        {
            let mut get =
                tx.prepare_cached("SELECT revision FROM hq_rows WHERE entity = ?1 AND key = ?2")?;
            let mut put = tx.prepare_cached(
                "INSERT INTO hq_rows (entity, key, revision, deleted, data) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (entity, key) DO UPDATE SET revision = excluded.revision,
                    deleted = excluded.deleted, data = excluded.data",
            )?;
            for r in rows {
                let cursor = current.get(&r.entity).copied().unwrap_or(0);
                if r.revision <= cursor {
                    out.skipped += 1;
                    continue;
                }
                let existing: Option<i64> = get
                    .query_row(params![r.entity, r.key], |x| x.get(0))
                    .optional()?;
                if existing.is_some_and(|e| e as u64 >= r.revision) {
                    out.skipped += 1;
                    continue;
                }
                put.execute(params![
                    r.entity,
                    r.key,
                    to_i64(r.revision, "revision")?,
                    r.deleted,
                    r.data
                ])?;
                out.written += 1;
                written.push(r);
            }
            let mut cur = tx.prepare_cached(
                "INSERT INTO hq_cursors (entity, revision) VALUES (?1, ?2)
                 ON CONFLICT (entity) DO UPDATE SET revision = max(revision, excluded.revision)",
            )?;
            let mut last: BTreeMap<&str, u64> = BTreeMap::new();
            for r in rows {
                let e = last.entry(r.entity.as_str()).or_default();
                *e = (*e).max(r.revision);
            }
            for (entity, rev) in next_cursors {
                let rev = (*rev).max(last.get(entity.as_str()).copied().unwrap_or(0));
                cur.execute(params![entity, to_i64(rev, "cursor")?])?;
            }
            for (entity, rev) in last {
                if !next_cursors.contains_key(entity) {
                    cur.execute(params![entity, to_i64(rev, "cursor")?])?;
                }
            }
        }
        out.not_applied = crate::hq::apply_rows(&tx, &written)?.len();
        tx.commit()?;
        Ok(out)
    }

    /// Every replicated HQ row (tombstones included), ordered by entity and key.
    pub fn hq_rows(&self) -> Result<Vec<HqRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT entity, key, revision, deleted, data FROM hq_rows ORDER BY entity, key",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(HqRow {
                    entity: r.get(0)?,
                    key: r.get(1)?,
                    revision: r.get::<_, i64>(2)? as u64,
                    deleted: r.get(3)?,
                    data: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(entity: &str, key: &str, revision: u64, deleted: bool) -> HqRow {
        HqRow {
            entity: entity.into(),
            key: key.into(),
            revision,
            deleted,
            data: if deleted {
                "null".into()
            } else {
                format!("{{\"r\":{revision}}}")
            },
        }
    }

    #[test]
    fn hq_pages_apply_once_and_only_on_current_cursors() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("t.db")).unwrap();
        let none = BTreeMap::new();
        let next: BTreeMap<String, u64> = [("catalog".to_string(), 2)].into();
        let rows = vec![row("catalog", "a", 1, false), row("catalog", "b", 2, false)];
        let a = s.apply_hq_page(&none, &rows, &next).unwrap();
        assert_eq!((a.applied, a.written), (true, 2));
        // A replay of the same page answers stale cursors: nothing changes.
        assert!(!s.apply_hq_page(&none, &rows, &next).unwrap().applied);
        let next2: BTreeMap<String, u64> = [("catalog".to_string(), 3)].into();
        let a = s
            .apply_hq_page(&next, &[row("catalog", "a", 3, true)], &next2)
            .unwrap();
        assert_eq!(a.written, 1);
        assert_eq!(s.hq_cursors().unwrap(), next2);
        let all = s.hq_rows().unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].deleted && all[0].revision == 3);
    }
}
