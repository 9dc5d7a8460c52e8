//! Committed sales and returns, post-voids, and the report aggregates over them.

use crate::db::{Result, Store, StoreError};
use crate::journal::{EventKind, EventMeta, append, derived_event_id};
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use tillstone_core::cart::PricedLine;
use tillstone_core::catalog::Unit;
use tillstone_core::money::{from_minor, to_minor};
use tillstone_core::points::{PointEvent, PointKind};
use tillstone_core::report::{Aggregates, Bucket, TaxRow, TenderRow, local_hour, normalize};
use tillstone_core::sale::{Sale, SaleKind};
use tillstone_core::settings::StoreSettings;
use tillstone_core::tender::TenderKind;

/// A line's quantity in the stock counters' base unit: pieces, or grams for weighed items.
fn base_units(l: &PricedLine) -> i64 {
    let base = match l.line.unit {
        Unit::Piece => l.line.qty,
        Unit::Kg => l.line.qty * Decimal::ONE_THOUSAND,
    };
    base.trunc().to_i64().unwrap_or(0)
}

/// Journal the stock movement of a document's line (its id derived from the document's and
/// `purpose`, so it is the same whenever it is derived). Nothing for a zero movement.
fn stock_event(
    tx: &rusqlite::Transaction<'_>,
    sale: &Sale,
    l: &PricedLine,
    delta: i64,
    purpose: &str,
    at: &str,
) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let event_id = derived_event_id(&sale.ctx.sale_id, &format!("{purpose}-{}", l.line.line_id));
    let meta = EventMeta {
        event_id: &event_id,
        terminal_id: &sale.ctx.terminal_id,
        at,
    };
    let payload = serde_json::json!({
        "sku": l.line.sku,
        "delta": delta,
        "sale_id": sale.ctx.sale_id,
        "line_id": l.line.line_id,
    });
    append(tx, &meta, EventKind::StockMovement, &l.line.sku, &payload)?;
    Ok(())
}

/// The record of a post-void, journaled with the voided sale's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct VoidRecord {
    pub sale_id: String,
    pub receipt_no: String,
    pub shift_id: String,
    pub user_id: String,
    pub approved_by: String,
    pub reason: String,
    pub at: String,
}

impl Store {
    /// Commit a completed sale or return in one durable transaction: the document and its rows,
    /// its coupon redemptions, the journal entry, the outbox record; the cart it came from (if
    /// any) is removed. A return that completes its sale gives back the sale's coupons
    /// (`restores_coupons_of`) where their campaigns allow it.
    pub fn commit_sale(
        &mut self,
        sale: &Sale,
        settings: &StoreSettings,
        event_id: &str,
        cart_id: Option<&str>,
        request_id: Option<&str>,
        restores_coupons_of: Option<&Sale>,
    ) -> Result<i64> {
        let mu = settings.minor_units();
        let m = |d: Decimal| to_minor(d, mu, settings.rounding);
        let at = sale.ctx.completed_at.to_rfc3339();
        let doc = serde_json::to_string(sale)?;
        let tx = self.durable_tx()?;
        tx.prepare_cached(
            "INSERT INTO sales (sale_id, receipt_no, kind, shift_id, cashier_id, completed_at,
                local_hour, subtotal_minor, discount_minor, tax_minor, total_minor, rounding_minor,
                original_sale_id, line_count, override_count, cart_id, request_id, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?
        .execute(params![
            sale.ctx.sale_id,
            sale.ctx.receipt_no,
            sale.kind.as_str(),
            sale.ctx.shift_id,
            sale.ctx.cashier_id,
            at,
            local_hour(sale.ctx.completed_at, settings.utc_offset_minutes),
            m(sale.totals.subtotal),
            m(sale.totals.discount_total),
            m(sale.totals.tax),
            m(sale.totals.total),
            m(sale.rounding),
            sale.original.as_ref().map(|o| o.sale_id.as_str()),
            sale.lines.len() as i64,
            sale.overrides.len() as i64,
            cart_id,
            request_id,
            doc,
        ])?;
        {
            let mut line = tx.prepare_cached(
                "INSERT INTO sale_lines (sale_id, line_id, sku, category, qty, total_minor, tax_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for l in &sale.lines {
                line.execute(params![
                    sale.ctx.sale_id,
                    l.line.line_id,
                    l.line.sku,
                    l.line.category,
                    l.line.qty.to_string(),
                    m(l.amounts.total),
                    m(l.amounts.tax),
                ])?;
            }
            let mut tender = tx.prepare_cached(
                "INSERT INTO sale_tenders (sale_id, tender_id, kind, applied_minor, reference)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for t in &sale.tenders {
                tender.execute(params![
                    sale.ctx.sale_id,
                    t.tender_id,
                    t.kind.as_str(),
                    m(t.applied),
                    t.reference,
                ])?;
            }
            let mut tax = tx.prepare_cached(
                "INSERT INTO sale_taxes (sale_id, rate, taxable_minor, tax_minor, total_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for t in &sale.tax_summary {
                tax.execute(params![
                    sale.ctx.sale_id,
                    t.rate.normalize().to_string(),
                    m(t.taxable),
                    m(t.tax),
                    m(t.total),
                ])?;
            }
        }
        crate::coupons::record_redemptions(&tx, sale, settings, &at)?;
        let points = match (&sale.member_id, sale.member_points) {
            (Some(member_id), p) if p != 0 => Some(PointEvent {
                event_id: derived_event_id(&sale.ctx.sale_id, "points"),
                member_id: member_id.clone(),
                terminal_id: sale.ctx.terminal_id.clone(),
                kind: if p > 0 {
                    PointKind::Earn
                } else {
                    PointKind::Adjust
                },
                points: p,
                at: sale.ctx.completed_at,
                ref_id: Some(sale.ctx.sale_id.clone()),
            }),
            _ => None,
        };
        // Points paid as a tender leave the member's balance with the sale; points a return
        // gives back through that tender come back with the return.
        let tender_points: i64 = sale
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Points)
            .filter_map(|t| t.points)
            .sum();
        let tender_event = match (&sale.member_id, tender_points) {
            (Some(member_id), p) if p > 0 => {
                let (kind, points, tag) = match sale.kind {
                    SaleKind::Sale => (PointKind::Redeem, -p, "points-redeem"),
                    SaleKind::Return => (PointKind::Adjust, p, "points-refund"),
                };
                Some(PointEvent {
                    event_id: derived_event_id(&sale.ctx.sale_id, tag),
                    member_id: member_id.clone(),
                    terminal_id: sale.ctx.terminal_id.clone(),
                    kind,
                    points,
                    at: sale.ctx.completed_at,
                    ref_id: Some(sale.ctx.sale_id.clone()),
                })
            }
            (None, p) if p > 0 => {
                return Err(StoreError::Invalid(
                    "a points tender needs the sale's member".into(),
                ));
            }
            _ => None,
        };
        if let Some(e) = &tender_event
            && e.points < 0
        {
            let balance = crate::members::balance_in(&tx, &e.member_id)?;
            if balance + e.points < 0 {
                return Err(StoreError::Invalid(format!(
                    "the member has {balance} points, fewer than the {} this sale pays with",
                    -e.points
                )));
            }
        }
        if let Some(e) = &points {
            crate::members::insert_point_event(&tx, e)?;
        }
        if let Some(e) = &tender_event {
            crate::members::insert_point_event(&tx, e)?;
        }
        if let Some(original) = restores_coupons_of {
            crate::coupons::restore_coupons(
                &tx,
                original,
                &sale.ctx.sale_id,
                false,
                &sale.ctx.terminal_id,
                &at,
            )?;
        }
        let kind = match sale.kind {
            SaleKind::Sale => EventKind::Sale,
            SaleKind::Return => EventKind::Return,
        };
        let meta = EventMeta {
            event_id,
            terminal_id: &sale.ctx.terminal_id,
            at: &at,
        };
        let seq = append(&tx, &meta, kind, &sale.ctx.sale_id, sale)?;
        for e in points.iter().chain(&tender_event) {
            let meta = EventMeta {
                event_id: &e.event_id,
                terminal_id: &sale.ctx.terminal_id,
                at: &at,
            };
            append(&tx, &meta, EventKind::MemberPoints, &e.member_id, e)?;
        }
        // Stock moves with every line (out for a sale, back in for a return): one synced event
        // per line, in the base unit (pieces, or grams for weighed items), so HQ's stock
        // counters per store and SKU converge.
        for l in &sale.lines {
            let delta = match sale.kind {
                SaleKind::Sale => -base_units(l),
                SaleKind::Return => base_units(l),
            };
            stock_event(&tx, sale, l, delta, "stock", &at)?;
        }
        // Each coupon redeemed is its own synced event, so HQ can see one single-use coupon
        // redeemed offline on two tills (the first by HLC wins; the other is reported).
        if sale.kind == SaleKind::Sale {
            for (i, c) in sale.coupons.iter().enumerate() {
                let event_id = derived_event_id(&sale.ctx.sale_id, &format!("coupon-{i}"));
                let meta = EventMeta {
                    event_id: &event_id,
                    terminal_id: &sale.ctx.terminal_id,
                    at: &at,
                };
                let coupon_id = c.coupon_id();
                let payload = serde_json::json!({
                    "coupon_id": coupon_id,
                    "sale_id": sale.ctx.sale_id,
                    "receipt_no": sale.ctx.receipt_no,
                    "amount": c.amount.to_string(),
                    "campaign_id": c.campaign_id,
                    "serial": c.serial,
                    "member_id": c.member_id,
                    "offline": c.offline,
                    "code": c.code,
                });
                append(
                    &tx,
                    &meta,
                    EventKind::CouponRedemption,
                    &coupon_id,
                    &payload,
                )?;
            }
        }
        if let Some(cart_id) = cart_id {
            tx.execute("DELETE FROM carts WHERE cart_id = ?1", [cart_id])?;
        }
        tx.commit()?;
        Ok(seq)
    }

    /// Number of sales and returns committed on this store (never decreases). Sales are never
    /// deleted (a trigger refuses it), so the largest rowid is the count, read in O(1).
    pub fn document_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(rowid), 0) FROM sales", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    pub fn sale_by_receipt(&self, receipt_no: &str) -> Result<Option<Sale>> {
        Ok(self
            .json_docs("SELECT doc FROM sales WHERE receipt_no = ?1", [receipt_no])?
            .pop())
    }

    /// The sale a cart was completed into (a retried completion finds it).
    pub fn sale_by_cart(&self, cart_id: &str) -> Result<Option<Sale>> {
        Ok(self
            .json_docs("SELECT doc FROM sales WHERE cart_id = ?1", [cart_id])?
            .pop())
    }

    /// The document a client request made (a retried return finds it).
    pub fn sale_by_request(&self, request_id: &str) -> Result<Option<Sale>> {
        Ok(self
            .json_docs("SELECT doc FROM sales WHERE request_id = ?1", [request_id])?
            .pop())
    }

    pub fn sale_by_id(&self, sale_id: &str) -> Result<Option<Sale>> {
        Ok(self
            .json_docs("SELECT doc FROM sales WHERE sale_id = ?1", [sale_id])?
            .pop())
    }

    /// Returns made against a sale, oldest first.
    pub fn returns_of(&self, sale_id: &str) -> Result<Vec<Sale>> {
        self.json_docs(
            "SELECT doc FROM sales WHERE original_sale_id = ?1 ORDER BY rowid",
            [sale_id],
        )
    }

    /// Most recent documents first.
    pub fn recent_sales(&self, limit: usize) -> Result<Vec<Sale>> {
        self.json_docs(
            "SELECT doc FROM sales ORDER BY rowid DESC LIMIT ?1",
            [limit as i64],
        )
    }

    pub fn void_of(&self, sale_id: &str) -> Result<Option<VoidRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT v.sale_id, s.receipt_no, v.shift_id, v.user_id, v.approved_by, v.reason, v.at
                 FROM voids v JOIN sales s USING (sale_id) WHERE v.sale_id = ?1",
                [sale_id],
                |r| {
                    Ok(VoidRecord {
                        sale_id: r.get(0)?,
                        receipt_no: r.get(1)?,
                        shift_id: r.get(2)?,
                        user_id: r.get(3)?,
                        approved_by: r.get(4)?,
                        reason: r.get(5)?,
                        at: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// Record a post-void of a committed sale, journaled.
    pub fn commit_void(
        &mut self,
        void: &VoidRecord,
        event_id: &str,
        terminal_id: &str,
    ) -> Result<i64> {
        let tx = self.durable_tx()?;
        tx.execute(
            "INSERT INTO voids (sale_id, shift_id, user_id, approved_by, reason, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                void.sale_id,
                void.shift_id,
                void.user_id,
                void.approved_by,
                void.reason,
                void.at
            ],
        )?;
        let meta = EventMeta {
            event_id,
            terminal_id,
            at: &void.at,
        };
        let seq = append(&tx, &meta, EventKind::PostVoid, &void.sale_id, void)?;
        let doc: String = tx.query_row(
            "SELECT doc FROM sales WHERE sale_id = ?1",
            [&void.sale_id],
            |r| r.get(0),
        )?;
        let sale: Sale = serde_json::from_str(&doc)?;
        crate::coupons::restore_coupons(&tx, &sale, &void.sale_id, true, terminal_id, &void.at)?;
        // The voided sale's goods are back on the shelf.
        for l in &sale.lines {
            stock_event(&tx, &sale, l, base_units(l), "void-stock", &void.at)?;
        }
        // The points the voided sale earned go back, and the points it paid with return.
        let paid_with: i64 = sale
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Points)
            .filter_map(|t| t.points)
            .sum();
        let changes = [
            ("void-points", -sale.member_points.max(0)),
            ("void-points-redeem", paid_with.max(0)),
        ];
        for (tag, points) in changes {
            let Some(member_id) = sale.member_id.as_ref().filter(|_| points != 0) else {
                continue;
            };
            let e = PointEvent {
                event_id: derived_event_id(&sale.ctx.sale_id, tag),
                member_id: member_id.clone(),
                terminal_id: terminal_id.to_string(),
                kind: PointKind::Adjust,
                points,
                at: sale.ctx.completed_at,
                ref_id: Some(sale.ctx.sale_id.clone()),
            };
            crate::members::insert_point_event(&tx, &e)?;
            let meta = EventMeta {
                event_id: &e.event_id,
                terminal_id,
                at: &void.at,
            };
            append(&tx, &meta, EventKind::MemberPoints, member_id, &e)?;
        }
        tx.commit()?;
        Ok(seq)
    }

    /// Report aggregates of a shift, computed in SQL over the committed rows.
    pub fn aggregates(&self, shift_id: &str, settings: &StoreSettings) -> Result<Aggregates> {
        aggregates_on(&self.conn, shift_id, settings)
    }
}

/// Report aggregates of a shift, computed in SQL over the committed rows (on any connection or
/// transaction, so a closing shift can aggregate inside its own transaction).
pub(crate) fn aggregates_on(
    conn: &Connection,
    shift_id: &str,
    settings: &StoreSettings,
) -> Result<Aggregates> {
    let mu = settings.minor_units();
    let d = |minor: i64| from_minor(minor, mu);
    let mut a = Aggregates::default();
    const LIVE: &str = "s.shift_id = ?1 AND s.sale_id NOT IN (SELECT sale_id FROM voids)";
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.kind, COUNT(*), SUM(s.subtotal_minor), SUM(s.discount_minor),
                SUM(s.total_minor), SUM(s.rounding_minor)
         FROM sales s WHERE {LIVE} GROUP BY s.kind"
    ))?;
    let mut rows = stmt.query([shift_id])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let count = r.get::<_, i64>(1)? as u64;
        let rounding = d(r.get(5)?);
        if kind == "sale" {
            a.sales_count = count;
            a.gross_sales = d(r.get(2)?);
            a.discounts = d(r.get(3)?);
            a.sales_total = d(r.get(4)?);
            a.rounding += rounding;
        } else {
            a.returns_count = count;
            a.returns_total = d(r.get(4)?);
            a.rounding -= rounding;
        }
    }
    let (vc, vt): (i64, Option<i64>) = conn.query_row(
        "SELECT COUNT(*), SUM(s.total_minor) FROM sales s JOIN voids v USING (sale_id)
         WHERE s.shift_id = ?1",
        [shift_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    a.voided_count = vc as u64;
    a.voided_total = d(vt.unwrap_or(0));

    const SIGN: &str = "CASE s.kind WHEN 'sale' THEN 1 ELSE -1 END";
    let mut tax: BTreeMap<Decimal, TaxRow> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT t.rate, SUM({SIGN} * t.taxable_minor), SUM({SIGN} * t.tax_minor),
                SUM({SIGN} * t.total_minor)
         FROM sale_taxes t JOIN sales s USING (sale_id) WHERE {LIVE} GROUP BY t.rate"
    ))?;
    let mut rows = stmt.query([shift_id])?;
    while let Some(r) = rows.next()? {
        let rate_s: String = r.get(0)?;
        let rate = Decimal::from_str(&rate_s)
            .map_err(|e| StoreError::Invalid(format!("tax rate {rate_s:?}: {e}")))?
            .normalize();
        tax.insert(
            rate,
            TaxRow {
                rate,
                taxable: d(r.get(1)?),
                tax: d(r.get(2)?),
                total: d(r.get(3)?),
            },
        );
    }
    a.tax = tax.into_values().collect();

    let mut tenders: BTreeMap<TenderKind, TenderRow> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT t.kind, s.kind, COUNT(*), SUM(t.applied_minor)
         FROM sale_tenders t JOIN sales s USING (sale_id) WHERE {LIVE} GROUP BY t.kind, s.kind"
    ))?;
    let mut rows = stmt.query([shift_id])?;
    while let Some(r) = rows.next()? {
        let k: String = r.get(0)?;
        let kind = TenderKind::parse(&k)
            .ok_or_else(|| StoreError::Invalid(format!("unknown tender kind {k:?}")))?;
        let e = tenders.entry(kind).or_insert(TenderRow {
            kind,
            sales: Decimal::ZERO,
            refunds: Decimal::ZERO,
            count: 0,
        });
        e.count += r.get::<_, i64>(2)? as u64;
        let amount = d(r.get(3)?);
        if r.get::<_, String>(1)? == "sale" {
            e.sales += amount;
        } else {
            e.refunds += amount;
        }
    }
    a.tenders = tenders.into_values().collect();

    let bucket = |sql: String| -> Result<Vec<Bucket>> {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map([shift_id], |r| {
                Ok(Bucket {
                    key: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                    net: d(r.get(2)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    };
    a.by_hour = bucket(format!(
        "SELECT s.local_hour, COUNT(*), SUM({SIGN} * s.total_minor) FROM sales s
         WHERE {LIVE} GROUP BY s.local_hour ORDER BY s.local_hour"
    ))?;
    a.by_cashier = bucket(format!(
        "SELECT s.cashier_id, COUNT(*), SUM({SIGN} * s.total_minor) FROM sales s
         WHERE {LIVE} GROUP BY s.cashier_id ORDER BY s.cashier_id"
    ))?;
    a.by_category = bucket(format!(
        "SELECT l.category, COUNT(*), SUM({SIGN} * l.total_minor)
         FROM sale_lines l JOIN sales s USING (sale_id)
         WHERE {LIVE} GROUP BY l.category ORDER BY l.category"
    ))?;
    normalize(&mut a, mu);
    Ok(a)
}
