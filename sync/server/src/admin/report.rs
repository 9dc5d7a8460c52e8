//! A store's day, from the events its terminals pushed.
//!
//! * The day is the store's local calendar day: `utc_offset_minutes` of its `store_settings`
//!   row (default +08:00). A sale or return belongs to the day its `completed_at` falls in.
//! * Sales and returns are the terminals' documents (`sale` / `return` event payloads:
//!   `tillstone_core::sale::Sale`); a sale with a `post_void` event is left out of the figures
//!   and counted under voids, as on the till's Z report. The sums are
//!   `tillstone_core::report::aggregate_docs`, the reference the till's SQL is tested against.
//! * Coupons: the redemptions on the day's (non-voided) sales, per campaign; double
//!   redemptions: the single-use coupons redeemed more than once where one of the sales is of
//!   this store and day (first by HLC keeps it).

use super::{AdminError, Result};
use crate::storage::Storage;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use tillstone_core::report::{Aggregates, aggregate_docs};
use tillstone_core::sale::{Sale, SaleKind};
use tillstone_core::settings::StoreSettings;
use tillstone_sync::{Entity, EventKind, Outcome, StoreId, TenantId};

/// Events are fetched by HLC time this far around the day, then filtered by `completed_at`
/// (a terminal's clock and its HLC differ by far less).
const MARGIN_MS: u64 = 36 * 3600 * 1000;

/// Coupon redemptions of one campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouponRow {
    pub campaign_id: u32,
    pub count: u64,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyReport {
    pub store: String,
    pub date: NaiveDate,
    pub utc_offset_minutes: i32,
    /// The day in UTC: `[from, until)`.
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub currency: String,
    /// Terminals with documents on the day.
    pub terminals: Vec<String>,
    /// Sales minus returns.
    pub net_sales: Decimal,
    #[serde(flatten)]
    pub agg: Aggregates,
    pub coupons: Vec<CouponRow>,
    pub coupon_count: u64,
    pub coupon_amount: Decimal,
    pub double_redemptions: Vec<Outcome>,
    /// Events whose payload is not a readable document (id and reason): not in the figures.
    pub unreadable: Vec<String>,
}

fn store_settings(
    storage: &dyn Storage,
    tenant: &TenantId,
    store: &StoreId,
) -> Result<StoreSettings> {
    let key = store.to_string();
    let rows = storage.get_changes(tenant, Entity::StoreSettings, std::slice::from_ref(&key))?;
    match rows.get(&key) {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            AdminError::Invalid(format!(
                "the store_settings row of {store} is not readable: {e}"
            ))
        }),
        None => Ok(StoreSettings::new(store.as_str(), store.as_str())),
    }
}

/// The report of `store`'s local day `date`.
pub fn daily(
    storage: &dyn Storage,
    tenant: &TenantId,
    store: &StoreId,
    date: NaiveDate,
) -> Result<DailyReport> {
    let settings = store_settings(storage, tenant, store)?;
    let offset = FixedOffset::east_opt(settings.utc_offset_minutes * 60).ok_or_else(|| {
        AdminError::Invalid(format!(
            "utc_offset_minutes {} of store {store} is out of range",
            settings.utc_offset_minutes
        ))
    })?;
    let start = date
        .and_hms_opt(0, 0, 0)
        .and_then(|t| offset.from_local_datetime(&t).single())
        .ok_or_else(|| AdminError::Invalid(format!("no local midnight on {date}")))?
        .with_timezone(&Utc);
    let end = start + chrono::Duration::days(1);
    let ms = |t: DateTime<Utc>| u64::try_from(t.timestamp_millis()).unwrap_or(0);
    let events = storage.store_events(
        tenant,
        store,
        &[EventKind::Sale, EventKind::Return, EventKind::PostVoid],
        ms(start).saturating_sub(MARGIN_MS),
        ms(end).saturating_add(MARGIN_MS),
    )?;
    let mut docs: Vec<Sale> = Vec::new();
    let mut voided: HashSet<String> = HashSet::new();
    let mut unreadable = Vec::new();
    for e in &events {
        match e.kind {
            EventKind::Sale | EventKind::Return => {
                match serde_json::from_value::<Sale>(e.payload.clone()) {
                    Ok(s) if s.ctx.completed_at >= start && s.ctx.completed_at < end => {
                        docs.push(s)
                    }
                    Ok(_) => {}
                    Err(err) => unreadable.push(format!("{}: {err}", e.event_id)),
                }
            }
            EventKind::PostVoid => match e.payload.get("sale_id").and_then(|v| v.as_str()) {
                Some(id) => {
                    voided.insert(id.to_string());
                }
                None => unreadable.push(format!("{}: a post_void without sale_id", e.event_id)),
            },
            _ => {}
        }
    }
    // The same order whatever order the database returned (HLC order is not needed: sums).
    docs.sort_by(|a, b| {
        (a.ctx.completed_at, &a.ctx.sale_id).cmp(&(b.ctx.completed_at, &b.ctx.sale_id))
    });
    let voided: HashSet<String> = voided
        .into_iter()
        .filter(|id| docs.iter().any(|d| d.ctx.sale_id == *id))
        .collect();
    let agg = aggregate_docs(&docs, &voided, &settings);
    let mu = settings.minor_units();
    let mut net = agg.sales_total - agg.returns_total;
    net.rescale(mu);
    let mut coupons: BTreeMap<u32, (u64, Decimal)> = BTreeMap::new();
    for d in &docs {
        if d.kind != SaleKind::Sale || voided.contains(&d.ctx.sale_id) {
            continue;
        }
        for c in &d.coupons {
            let e = coupons.entry(c.campaign_id).or_default();
            e.0 += 1;
            e.1 += c.amount;
        }
    }
    let coupons: Vec<CouponRow> = coupons
        .into_iter()
        .map(|(campaign_id, (count, mut amount))| {
            amount.rescale(mu);
            CouponRow {
                campaign_id,
                count,
                amount,
            }
        })
        .collect();
    let coupon_count = coupons.iter().map(|c| c.count).sum();
    let mut coupon_amount: Decimal = coupons.iter().map(|c| c.amount).sum();
    coupon_amount.rescale(mu);
    let day_sales: HashSet<&str> = docs.iter().map(|d| d.ctx.sale_id.as_str()).collect();
    let double_redemptions = storage
        .double_redemptions(tenant)?
        .into_iter()
        .filter(|o| {
            std::iter::once(&o.winner)
                .chain(o.losers.iter())
                .any(|r| day_sales.contains(r.sale_id.as_str()))
        })
        .collect();
    let mut terminals: Vec<String> = docs.iter().map(|d| d.ctx.terminal_id.clone()).collect();
    terminals.sort();
    terminals.dedup();
    Ok(DailyReport {
        store: store.to_string(),
        date,
        utc_offset_minutes: settings.utc_offset_minutes,
        from: start,
        until: end,
        currency: settings.currency.code.clone(),
        terminals,
        net_sales: net,
        agg,
        coupons,
        coupon_count,
        coupon_amount,
        double_redemptions,
        unreadable,
    })
}

impl fmt::Display for DailyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.agg;
        let sign = if self.utc_offset_minutes < 0 {
            '-'
        } else {
            '+'
        };
        let off = self.utc_offset_minutes.unsigned_abs();
        writeln!(
            f,
            "store {} — {} (UTC{sign}{:02}:{:02}), {} terminal(s), {}",
            self.store,
            self.date,
            off / 60,
            off % 60,
            self.terminals.len(),
            self.currency
        )?;
        writeln!(
            f,
            "sales          {:>6}  {:>14}",
            a.sales_count, a.sales_total
        )?;
        writeln!(f, "  gross                {:>14}", a.gross_sales)?;
        writeln!(f, "  discounts            {:>14}", a.discounts)?;
        writeln!(
            f,
            "returns        {:>6}  {:>14}",
            a.returns_count, a.returns_total
        )?;
        writeln!(f, "net sales              {:>14}", self.net_sales)?;
        writeln!(f, "cash rounding          {:>14}", a.rounding)?;
        writeln!(
            f,
            "post-voids     {:>6}  {:>14}",
            a.voided_count, a.voided_total
        )?;
        writeln!(f, "tax by rate (net of returns):")?;
        for t in &a.tax {
            writeln!(
                f,
                "  {:>5} %  taxable {:>12}  tax {:>10}  total {:>12}",
                (t.rate * Decimal::ONE_HUNDRED).normalize(),
                t.taxable,
                t.tax,
                t.total
            )?;
        }
        writeln!(f, "tenders:")?;
        for t in &a.tenders {
            writeln!(
                f,
                "  {:<11} {:>5}x  sales {:>12}  refunds {:>12}",
                t.kind.as_str(),
                t.count,
                t.sales,
                t.refunds
            )?;
        }
        writeln!(
            f,
            "coupons redeemed {:>4}  {:>14}",
            self.coupon_count, self.coupon_amount
        )?;
        for c in &self.coupons {
            writeln!(
                f,
                "  campaign {:<8} {:>5}x  {:>12}",
                c.campaign_id, c.count, c.amount
            )?;
        }
        if self.double_redemptions.is_empty() {
            writeln!(f, "double redemptions: none")?;
        } else {
            writeln!(f, "double redemptions:")?;
            for o in &self.double_redemptions {
                let w = &o.winner;
                writeln!(
                    f,
                    "  coupon {}: kept by sale {} (terminal {}, amount {})",
                    w.coupon_id, w.sale_id, w.terminal_id, w.amount
                )?;
                for l in &o.losers {
                    writeln!(
                        f,
                        "    also redeemed by sale {} (terminal {}, amount {})",
                        l.sale_id, l.terminal_id, l.amount
                    )?;
                }
            }
        }
        for u in &self.unreadable {
            writeln!(f, "warning: unreadable event {u}")?;
        }
        Ok(())
    }
}
