//! The admin side of the SQLite backend: batch writes of HQ rows (imports), coupon serial
//! reservation, and the event reads of the daily report.

use super::{SqliteStorage, check_store, check_tenant};
use crate::storage::{
    Merge, Millis, PutCounts, Result, StorageError, clamp, plan_batch, reserve_count,
    serials_exhausted,
};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value;
use std::collections::HashMap;
use tillstone_sync::{Entity, Event, EventKind, StoreId, TenantId};

/// Schema step 2: coupon serial counters, and events by store, kind and time (reports).
pub(super) const MIGRATION: &str = r#"
CREATE TABLE coupon_serials (
    tenant_id   TEXT NOT NULL REFERENCES tenants(tenant_id),
    campaign_id INTEGER NOT NULL,
    last_serial INTEGER NOT NULL,   -- the highest serial handed out
    PRIMARY KEY (tenant_id, campaign_id)
);
CREATE INDEX events_by_store_kind_time ON events (tenant_id, store_id, kind, hlc_wall_ms);
"#;

fn parse(data: &str) -> Result<Value> {
    serde_json::from_str(data).map_err(|e| StorageError::Backend(format!("stored row: {e}")))
}

fn live_rows(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    entity: Entity,
    keys: &[String],
) -> Result<HashMap<String, Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM changes WHERE tenant_id = ?1 AND entity = ?2 AND key = ?3
         AND deleted = 0",
    )?;
    let mut out = HashMap::new();
    for key in keys {
        let data: Option<String> = stmt
            .query_row(params![tenant.as_str(), entity.as_str(), key], |r| r.get(0))
            .optional()?;
        if let Some(d) = data {
            out.insert(key.clone(), parse(&d)?);
        }
    }
    Ok(out)
}

impl SqliteStorage {
    pub(super) fn admin_get_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        keys: &[String],
    ) -> Result<HashMap<String, Value>> {
        let conn = self.conn();
        check_tenant(&conn, tenant)?;
        live_rows(&conn, tenant, entity, keys)
    }

    pub(super) fn admin_put_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        rows: &[(String, Value)],
        merge: Option<Merge<'_>>,
    ) -> Result<PutCounts> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        check_tenant(&tx, tenant)?;
        let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).collect();
        let stored = live_rows(&tx, tenant, entity, &keys)?;
        let (writes, counts) = plan_batch(rows, stored, merge)?;
        if !writes.is_empty() {
            let last: i64 = tx.query_row(
                "UPDATE tenants SET revision = revision + ?2 WHERE tenant_id = ?1
                 RETURNING revision",
                params![tenant.as_str(), writes.len() as i64],
                |r| r.get(0),
            )?;
            let first = last - writes.len() as i64 + 1;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO changes (tenant_id, entity, key, revision, deleted, data)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5)
                 ON CONFLICT (tenant_id, entity, key) DO UPDATE SET revision = ?4, deleted = 0,
                 data = ?5",
            )?;
            for (i, (key, data)) in writes.iter().enumerate() {
                stmt.execute(params![
                    tenant.as_str(),
                    entity.as_str(),
                    key,
                    first + i as i64,
                    data.to_string()
                ])?;
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    pub(super) fn admin_reserve_serials(
        &self,
        tenant: &TenantId,
        campaign_id: u32,
        count: u64,
    ) -> Result<u64> {
        let count = reserve_count(count)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        check_tenant(&tx, tenant)?;
        let last: Option<i64> = tx
            .query_row(
                "SELECT last_serial FROM coupon_serials WHERE tenant_id = ?1 AND campaign_id = ?2",
                params![tenant.as_str(), campaign_id],
                |r| r.get(0),
            )
            .optional()?;
        let last = last.unwrap_or(0);
        let new_last = last
            .checked_add(count)
            .ok_or_else(|| serials_exhausted(campaign_id))?;
        tx.execute(
            "INSERT INTO coupon_serials (tenant_id, campaign_id, last_serial) VALUES (?1, ?2, ?3)
             ON CONFLICT (tenant_id, campaign_id) DO UPDATE SET last_serial = ?3",
            params![tenant.as_str(), campaign_id, new_last],
        )?;
        tx.commit()?;
        Ok(last as u64 + 1)
    }

    pub(super) fn admin_store_events(
        &self,
        tenant: &TenantId,
        store: &StoreId,
        kinds: &[EventKind],
        from_ms: Millis,
        to_ms: Millis,
    ) -> Result<Vec<Event>> {
        let conn = self.conn();
        check_store(&conn, tenant, store)?;
        let (from, to) = (clamp(from_ms), clamp(to_ms));
        let mut stmt = conn.prepare_cached(
            "SELECT envelope FROM events WHERE tenant_id = ?1 AND store_id = ?2 AND kind = ?3
             AND hlc_wall_ms >= ?4 AND hlc_wall_ms < ?5",
        )?;
        let mut out = Vec::new();
        for kind in kinds {
            let rows = stmt.query_map(
                params![tenant.as_str(), store.as_str(), kind.as_str(), from, to],
                |r| r.get::<_, String>(0),
            )?;
            for env in rows {
                out.push(
                    serde_json::from_str(&env?)
                        .map_err(|e| StorageError::Backend(format!("stored event: {e}")))?,
                );
            }
        }
        Ok(out)
    }
}
