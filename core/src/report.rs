//! Shift reports: X (any time, changes nothing) and Z (closes the shift, numbered, immutable).
//!
//! The store aggregates committed documents into [`Aggregates`] (in SQL, for speed);
//! [`aggregate_docs`] computes the same thing from documents in memory and is the reference the
//! store is tested against. [`build_report`] adds the cash drawer arithmetic.

use crate::sale::{Sale, SaleKind};
use crate::settings::StoreSettings;
use crate::tender::TenderKind;
use chrono::{DateTime, FixedOffset, Timelike, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    X,
    Z,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaxRow {
    pub rate: Decimal,
    pub taxable: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderRow {
    pub kind: TenderKind,
    pub sales: Decimal,
    pub refunds: Decimal,
    pub count: u64,
}

/// A bucket of net sales (sales minus returns): by hour, category or cashier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub key: String,
    pub count: u64,
    pub net: Decimal,
}

/// Sums over the committed, non-voided documents of a shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Aggregates {
    pub sales_count: u64,
    pub returns_count: u64,
    /// Σ subtotal (before discounts) of sales.
    pub gross_sales: Decimal,
    /// Σ discounts of sales.
    pub discounts: Decimal,
    /// Σ totals of sales.
    pub sales_total: Decimal,
    /// Σ totals of returns.
    pub returns_total: Decimal,
    /// Σ cash rounding of sales minus that of returns.
    pub rounding: Decimal,
    /// Net of returns, by rate ascending.
    pub tax: Vec<TaxRow>,
    /// By tender kind ascending.
    pub tenders: Vec<TenderRow>,
    /// Local hour "00".."23"; count = documents, net = sales − returns.
    pub by_hour: Vec<Bucket>,
    /// count = lines.
    pub by_category: Vec<Bucket>,
    /// count = documents.
    pub by_cashier: Vec<Bucket>,
    pub voided_count: u64,
    pub voided_total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CashSummary {
    pub opening_float: Decimal,
    pub cash_sales: Decimal,
    pub cash_refunds: Decimal,
    pub paid_in: Decimal,
    pub paid_out: Decimal,
    pub expected: Decimal,
    pub counted: Option<Decimal>,
    /// counted − expected (negative: short).
    pub variance: Option<Decimal>,
    /// The count per denomination, when the drawer was counted that way.
    #[serde(default)]
    pub denominations: Vec<DenominationCount>,
}

/// How many notes or coins of one value were counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenominationCount {
    pub value: Decimal,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportHeader {
    pub store_code: String,
    pub terminal_id: String,
    pub shift_id: String,
    pub shift_no: u64,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    /// When the report was made (X) or the shift closed (Z).
    pub at: DateTime<Utc>,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReport {
    pub kind: ReportKind,
    /// Z number, consecutive per terminal; none on X reports.
    pub z_no: Option<u64>,
    pub header: ReportHeader,
    pub net_sales: Decimal,
    #[serde(flatten)]
    pub agg: Aggregates,
    pub cash: CashSummary,
    pub no_sale_count: u64,
    pub override_count: u64,
}

/// Drawer movements and counts of a shift, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ShiftCash {
    pub opening_float: Decimal,
    pub paid_in: Decimal,
    pub paid_out: Decimal,
    pub no_sale_count: u64,
    pub override_count: u64,
}

pub fn build_report(
    kind: ReportKind,
    z_no: Option<u64>,
    header: ReportHeader,
    agg: Aggregates,
    cash: &ShiftCash,
    counted: Option<Decimal>,
    settings: &StoreSettings,
) -> ShiftReport {
    let mu = settings.minor_units();
    let cash_row = agg.tenders.iter().find(|t| t.kind == TenderKind::Cash);
    let cash_sales = cash_row.map_or(Decimal::ZERO, |t| t.sales);
    let cash_refunds = cash_row.map_or(Decimal::ZERO, |t| t.refunds);
    let mut expected =
        cash.opening_float + cash_sales - cash_refunds + cash.paid_in - cash.paid_out;
    expected.rescale(mu);
    let mut net = agg.sales_total - agg.returns_total;
    net.rescale(mu);
    ShiftReport {
        kind,
        z_no,
        header,
        net_sales: net,
        agg,
        cash: CashSummary {
            opening_float: cash.opening_float,
            cash_sales,
            cash_refunds,
            paid_in: cash.paid_in,
            paid_out: cash.paid_out,
            expected,
            counted,
            variance: counted.map(|c| c - expected),
            denominations: Vec::new(),
        },
        no_sale_count: cash.no_sale_count,
        override_count: cash.override_count,
    }
}

/// Local hour ("00".."23") of an instant at a fixed UTC offset.
pub fn local_hour(at: DateTime<Utc>, utc_offset_minutes: i32) -> String {
    let offset = FixedOffset::east_opt(utc_offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
    format!("{:02}", at.with_timezone(&offset).hour())
}

/// Reference aggregation over documents in memory (voided sales left out).
pub fn aggregate_docs(
    docs: &[Sale],
    voided: &HashSet<String>,
    settings: &StoreSettings,
) -> Aggregates {
    let mut a = Aggregates::default();
    let mut tax: BTreeMap<Decimal, TaxRow> = BTreeMap::new();
    let mut tenders: BTreeMap<TenderKind, TenderRow> = BTreeMap::new();
    let mut hours: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    let mut cats: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    let mut cashiers: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    for d in docs {
        if voided.contains(&d.ctx.sale_id) {
            a.voided_count += 1;
            a.voided_total += d.totals.total;
            continue;
        }
        let sign = d.sign();
        match d.kind {
            SaleKind::Sale => {
                a.sales_count += 1;
                a.gross_sales += d.totals.subtotal;
                a.discounts += d.totals.discount_total;
                a.sales_total += d.totals.total;
            }
            SaleKind::Return => {
                a.returns_count += 1;
                a.returns_total += d.totals.total;
            }
        }
        a.rounding += sign * d.rounding;
        for t in &d.tax_summary {
            let e = tax.entry(t.rate.normalize()).or_default();
            e.taxable += sign * t.taxable;
            e.tax += sign * t.tax;
            e.total += sign * t.total;
        }
        for t in &d.tenders {
            let e = tenders.entry(t.kind).or_insert(TenderRow {
                kind: t.kind,
                sales: Decimal::ZERO,
                refunds: Decimal::ZERO,
                count: 0,
            });
            e.count += 1;
            match d.kind {
                SaleKind::Sale => e.sales += t.applied,
                SaleKind::Return => e.refunds += t.applied,
            }
        }
        let h = hours
            .entry(local_hour(d.ctx.completed_at, settings.utc_offset_minutes))
            .or_default();
        h.0 += 1;
        h.1 += sign * d.totals.total;
        let c = cashiers.entry(d.ctx.cashier_id.clone()).or_default();
        c.0 += 1;
        c.1 += sign * d.totals.total;
        for l in &d.lines {
            let c = cats.entry(l.line.category.clone()).or_default();
            c.0 += 1;
            c.1 += sign * l.amounts.total;
        }
    }
    a.tax = tax
        .into_iter()
        .map(|(rate, mut r)| {
            r.rate = rate;
            r
        })
        .collect();
    a.tenders = tenders.into_values().collect();
    let buckets = |m: BTreeMap<String, (u64, Decimal)>| {
        m.into_iter()
            .map(|(key, (count, net))| Bucket { key, count, net })
            .collect()
    };
    a.by_hour = buckets(hours);
    a.by_category = buckets(cats);
    a.by_cashier = buckets(cashiers);
    normalize(&mut a, settings.minor_units());
    a
}

/// Give every amount exactly `minor_units` decimals so that aggregates compare equal whatever
/// way they were computed.
pub fn normalize(a: &mut Aggregates, minor_units: u32) {
    let fix = |d: &mut Decimal| d.rescale(minor_units);
    for d in [
        &mut a.gross_sales,
        &mut a.discounts,
        &mut a.sales_total,
        &mut a.returns_total,
        &mut a.rounding,
        &mut a.voided_total,
    ] {
        fix(d);
    }
    for t in &mut a.tax {
        t.rate = t.rate.normalize();
        fix(&mut t.taxable);
        fix(&mut t.tax);
        fix(&mut t.total);
    }
    for t in &mut a.tenders {
        fix(&mut t.sales);
        fix(&mut t.refunds);
    }
    for b in a
        .by_hour
        .iter_mut()
        .chain(a.by_category.iter_mut())
        .chain(a.by_cashier.iter_mut())
    {
        fix(&mut b.net);
    }
}
