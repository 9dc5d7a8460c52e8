//! The admin side of the PostgreSQL backend: batch writes of HQ rows (imports), coupon serial
//! reservation, and the event reads of the daily report.
//!
//! Batch writes lock the tenant row first (`FOR UPDATE`, as every change-log write does), so
//! concurrent imports and coupon packs of one tenant read-modify-write rows one after another.

use super::{Fail, PostgresStorage, check_store, check_tenant};
use crate::storage::{
    Merge, Millis, PutCounts, Result, StorageError, clamp, plan_batch, reserve_count,
    serials_exhausted,
};
use postgres::GenericClient;
use serde_json::Value;
use std::collections::HashMap;
use tillstone_sync::{Entity, Event, EventKind, StoreId, TenantId};

/// Schema step 2: coupon serial counters, and events by store, kind and time (reports).
pub(super) const MIGRATION: &str = r#"
CREATE TABLE coupon_serials (
    tenant_id   TEXT NOT NULL REFERENCES tenants(tenant_id),
    campaign_id BIGINT NOT NULL,
    last_serial BIGINT NOT NULL,   -- the highest serial handed out
    PRIMARY KEY (tenant_id, campaign_id)
);
CREATE INDEX events_by_store_kind_time ON events (tenant_id, store_id, kind, hlc_wall_ms);
"#;

fn live_rows(
    c: &mut impl GenericClient,
    tenant: &TenantId,
    entity: Entity,
    keys: &[String],
) -> Result<HashMap<String, Value>, Fail> {
    let rows = c.query(
        "SELECT key, data FROM changes WHERE tenant_id = $1 AND entity = $2
         AND key = ANY($3) AND NOT deleted",
        &[&tenant.as_str(), &entity.as_str(), &keys],
    )?;
    let mut out = HashMap::new();
    for r in rows {
        let data: String = r.get(1);
        let v = serde_json::from_str(&data)
            .map_err(|e| StorageError::Backend(format!("stored row: {e}")))?;
        out.insert(r.get(0), v);
    }
    Ok(out)
}

impl PostgresStorage {
    pub(super) fn admin_get_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        keys: &[String],
    ) -> Result<HashMap<String, Value>> {
        let mut conn = self.conn()?;
        check_tenant(&mut *conn, tenant)?;
        Ok(live_rows(&mut *conn, tenant, entity, keys)?)
    }

    pub(super) fn admin_put_changes(
        &self,
        tenant: &TenantId,
        entity: Entity,
        rows: &[(String, Value)],
        merge: Option<Merge<'_>>,
    ) -> Result<PutCounts> {
        let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).collect();
        self.with_tx(|tx| {
            let locked = tx.query_opt(
                "SELECT revision FROM tenants WHERE tenant_id = $1 FOR UPDATE",
                &[&tenant.as_str()],
            )?;
            if locked.is_none() {
                return Err(StorageError::UnknownTenant(tenant.to_string()).into());
            }
            let stored = live_rows(tx, tenant, entity, &keys)?;
            let (writes, counts) = plan_batch(rows, stored, merge)?;
            if !writes.is_empty() {
                let last: i64 = tx
                    .query_one(
                        "UPDATE tenants SET revision = revision + $2 WHERE tenant_id = $1
                         RETURNING revision",
                        &[&tenant.as_str(), &(writes.len() as i64)],
                    )?
                    .get(0);
                let first = last - writes.len() as i64 + 1;
                let keys: Vec<&str> = writes.iter().map(|(k, _)| k.as_str()).collect();
                let revs: Vec<i64> = (0..writes.len() as i64).map(|i| first + i).collect();
                let data: Vec<String> = writes.iter().map(|(_, v)| v.to_string()).collect();
                tx.execute(
                    "INSERT INTO changes (tenant_id, entity, key, revision, deleted, data)
                     SELECT $1::text, $2::text, k, r, FALSE, d
                     FROM UNNEST($3::text[], $4::bigint[], $5::text[]) AS u(k, r, d)
                     ON CONFLICT (tenant_id, entity, key) DO UPDATE SET
                     revision = EXCLUDED.revision, deleted = FALSE, data = EXCLUDED.data",
                    &[&tenant.as_str(), &entity.as_str(), &keys, &revs, &data],
                )?;
            }
            Ok(counts)
        })
    }

    pub(super) fn admin_reserve_serials(
        &self,
        tenant: &TenantId,
        campaign_id: u32,
        count: u64,
    ) -> Result<u64> {
        let count = reserve_count(count)?;
        let campaign = i64::from(campaign_id);
        self.with_tx(|tx| {
            check_tenant(tx, tenant)?;
            // Insert-or-lock the counter row, then move it: the row lock makes concurrent
            // reservations (any process) take turns.
            tx.execute(
                "INSERT INTO coupon_serials (tenant_id, campaign_id, last_serial)
                 VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
                &[&tenant.as_str(), &campaign],
            )?;
            let last: i64 = tx
                .query_one(
                    "SELECT last_serial FROM coupon_serials
                     WHERE tenant_id = $1 AND campaign_id = $2 FOR UPDATE",
                    &[&tenant.as_str(), &campaign],
                )?
                .get(0);
            let new_last = last
                .checked_add(count)
                .ok_or_else(|| serials_exhausted(campaign_id))?;
            tx.execute(
                "UPDATE coupon_serials SET last_serial = $3 WHERE tenant_id = $1 AND campaign_id = $2",
                &[&tenant.as_str(), &campaign, &new_last],
            )?;
            Ok(last as u64 + 1)
        })
    }

    pub(super) fn admin_store_events(
        &self,
        tenant: &TenantId,
        store: &StoreId,
        kinds: &[EventKind],
        from_ms: Millis,
        to_ms: Millis,
    ) -> Result<Vec<Event>> {
        let mut conn = self.conn()?;
        check_store(&mut *conn, tenant, store)?;
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let rows = conn.query(
            "SELECT envelope FROM events WHERE tenant_id = $1 AND store_id = $2
             AND kind = ANY($3) AND hlc_wall_ms >= $4 AND hlc_wall_ms < $5",
            &[
                &tenant.as_str(),
                &store.as_str(),
                &kinds,
                &clamp(from_ms),
                &clamp(to_ms),
            ],
        )?;
        rows.into_iter()
            .map(|r| {
                serde_json::from_str(&r.get::<_, String>(0))
                    .map_err(|e| StorageError::Backend(format!("stored event: {e}")))
            })
            .collect()
    }
}
