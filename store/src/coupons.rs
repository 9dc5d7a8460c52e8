//! The coupon ledger: redemptions committed with their sales, campaigns and HQ's public keys.

use crate::db::{Result, Store, StoreError};
use crate::journal::{EventKind, EventMeta, append, derived_event_id};
use rusqlite::{Connection, Transaction, params};
use tillstone_core::coupon::{Campaign, KeyRing, RedemptionLedger};
use tillstone_core::money::to_minor;
use tillstone_core::sale::Sale;
use tillstone_core::settings::StoreSettings;

/// Insert the coupon redemptions of a committed sale (inside its transaction).
pub(crate) fn record_redemptions(
    tx: &Connection,
    sale: &Sale,
    settings: &StoreSettings,
    at: &str,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO coupon_redemptions (redemption_id, campaign_id, serial, member_id, code,
            sale_id, amount_minor, offline, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (i, c) in sale.coupons.iter().enumerate() {
        stmt.execute(params![
            format!("{}-{i}", sale.ctx.sale_id),
            c.campaign_id,
            c.serial as i64,
            c.member_id,
            c.code,
            sale.ctx.sale_id,
            to_minor(c.amount, settings.minor_units(), settings.rounding),
            c.offline,
            at,
        ])?;
    }
    Ok(())
}

/// Give back the coupons of a sale, recording which document restored them: after a complete
/// return only where the campaign allows it (`always = false`), after a post-void always (the
/// sale never happened). Each coupon given back is also a synced `coupon_restore` event, so HQ
/// stops counting the redemption and another till's online check accepts the coupon again.
pub(crate) fn restore_coupons(
    tx: &Transaction<'_>,
    sale: &Sale,
    restored_by: &str,
    always: bool,
    terminal_id: &str,
    at: &str,
) -> Result<usize> {
    let mut n = 0;
    for (i, c) in sale.coupons.iter().enumerate() {
        if !(always || c.refund_restores) {
            continue;
        }
        let changed = tx.execute(
            "UPDATE coupon_redemptions SET restored_by = ?2
             WHERE redemption_id = ?1 AND restored_by IS NULL",
            params![format!("{}-{i}", sale.ctx.sale_id), restored_by],
        )?;
        if changed == 0 {
            continue;
        }
        n += changed;
        let coupon_id = c.coupon_id();
        let event_id = derived_event_id(restored_by, &format!("coupon-restore-{i}"));
        let meta = EventMeta {
            event_id: &event_id,
            terminal_id,
            at,
        };
        let payload = serde_json::json!({
            "coupon_id": coupon_id,
            "sale_id": sale.ctx.sale_id,
            "receipt_no": sale.ctx.receipt_no,
            "restored_by": restored_by,
            "campaign_id": c.campaign_id,
            "serial": c.serial,
            "member_id": c.member_id,
        });
        append(tx, &meta, EventKind::CouponRestore, &coupon_id, &payload)?;
    }
    Ok(n)
}

fn count(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> u32 {
    conn.query_row(sql, params, |r| r.get::<_, i64>(0))
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .unwrap_or_else(|e| {
            // A ledger that cannot be read must not let a coupon through twice.
            tracing::error!(error = %e, "coupon ledger unreadable");
            u32::MAX
        })
}

impl RedemptionLedger for Store {
    fn serial_uses(&self, campaign_id: u32, serial: u64) -> u32 {
        count(
            &self.conn,
            "SELECT COUNT(*) FROM coupon_redemptions
             WHERE campaign_id = ?1 AND serial = ?2 AND restored_by IS NULL",
            params![campaign_id, serial as i64],
        )
    }

    fn member_uses(&self, campaign_id: u32, member_id: &str) -> u32 {
        count(
            &self.conn,
            "SELECT COUNT(*) FROM coupon_redemptions
             WHERE campaign_id = ?1 AND member_id = ?2 AND restored_by IS NULL",
            params![campaign_id, member_id],
        )
    }

    fn offline_redemptions(&self, campaign_id: u32) -> u32 {
        count(
            &self.conn,
            "SELECT COUNT(*) FROM coupon_redemptions
             WHERE campaign_id = ?1 AND offline = 1 AND confirmed_at IS NULL
               AND restored_by IS NULL",
            params![campaign_id],
        )
    }
}

impl Store {
    /// Coupon campaigns in force (HQ sends them down; until sync exists they are imported).
    pub fn campaigns(&self) -> Result<Vec<Campaign>> {
        self.meta("coupon_campaigns")?
            .map(|s| serde_json::from_str(&s).map_err(StoreError::from))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    pub fn set_campaigns(&self, campaigns: &[Campaign]) -> Result<()> {
        for c in campaigns {
            c.validate()
                .map_err(|e| StoreError::Invalid(format!("campaign {}: {e}", c.id)))?;
        }
        self.set_meta("coupon_campaigns", &serde_json::to_string(campaigns)?)
    }

    /// HQ's coupon public keys.
    pub fn coupon_keys(&self) -> Result<KeyRing> {
        Ok(match self.meta("coupon_keys")? {
            Some(s) => serde_json::from_str(&s)?,
            None => KeyRing::default(),
        })
    }

    pub fn set_coupon_keys(&self, keys: &KeyRing) -> Result<()> {
        self.set_meta("coupon_keys", &serde_json::to_string(keys)?)
    }
}

impl Store {
    /// Whether this till gave the coupon `campaign_id-serial` redeemed by `sale_id` back (a
    /// return or post-void) — HQ learns redemptions, not restores, so the online check asks.
    pub fn coupon_restored_here(
        &self,
        sale_id: &str,
        campaign_id: u32,
        serial: u64,
    ) -> Result<bool> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM coupon_redemptions
             WHERE sale_id = ?1 AND campaign_id = ?2 AND serial = ?3 AND restored_by IS NOT NULL",
            )?
            .query_row(params![sale_id, campaign_id, serial as i64], |r| r.get(0))?;
        Ok(n > 0)
    }
}
