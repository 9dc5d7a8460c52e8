//! Returns: refund some or all lines of a sale, prorated exactly.
//!
//! **Proration rule.** For a line sold with quantity `q` and amount `A` (each of: total, tax,
//! line discount, order discount), after returns of cumulative quantity `k` the amount refunded
//! so far is `round(A × k / q)`. A return of `n` more units refunds
//! `round(A × (k+n) / q) − refunded so far`. Refunds of a line therefore never exceed what was
//! sold, and returning everything refunds exactly `A`, discounts and tax included.
//!
//! The refund is paid back to the original tenders in proportion to what each tender still has
//! to give back (allocation rule). When the return completes the sale, each tender gets exactly
//! what remains on it, so all returns together pay back exactly what was paid.

use crate::alloc::allocate;
use crate::cart::{Cart, CartError, PricedLine};
use crate::catalog::Unit;
use crate::money::{from_minor, round_to_step, to_minor};
use crate::pricing::{LineAmounts, TaxSummaryLine, Totals, normalize_qty};
use crate::sale::{DocContext, OriginalRef, Sale, SaleKind, TenderLine};
use crate::settings::{StoreSettings, TaxMode};
use crate::tender::TenderKind;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub line_id: u32,
    pub qty: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error("receipt {0} is a return, not a sale")]
    NotASale(String),
    #[error("sale {0} was voided")]
    Voided(String),
    #[error("choose at least one line to return")]
    NothingChosen,
    #[error("line {0} is not on this receipt")]
    LineNotInSale(u32),
    #[error("line {line_id}: {requested} asked, only {returnable} can still be returned")]
    QtyExceeds {
        line_id: u32,
        requested: Decimal,
        returnable: Decimal,
    },
    #[error("line {line_id}: quantity {qty} is not valid")]
    InvalidQuantity { line_id: u32, qty: Decimal },
    #[error(transparent)]
    Cart(#[from] CartError),
}

/// What a return line may still take back: quantity and amounts already refunded.
#[derive(Debug, Clone, Default)]
struct Returned {
    qty: Decimal,
    total: i64,
    tax: i64,
    line_discount: i64,
    order_discount: i64,
}

/// Quantity of each line that can still be returned.
pub fn returnable(original: &Sale, prior: &[Sale]) -> BTreeMap<u32, Decimal> {
    let mut left: BTreeMap<u32, Decimal> = original
        .lines
        .iter()
        .map(|l| (l.line.line_id, l.line.qty))
        .collect();
    for l in returns_of(original, prior).flat_map(|r| &r.lines) {
        if let Some(q) = left.get_mut(&l.line.line_id) {
            *q -= l.line.qty;
        }
    }
    left
}

fn returns_of<'a>(original: &'a Sale, prior: &'a [Sale]) -> impl Iterator<Item = &'a Sale> {
    prior.iter().filter(move |r| {
        r.kind == SaleKind::Return
            && r.original.as_ref().map(|o| o.sale_id.as_str())
                == Some(original.ctx.sale_id.as_str())
    })
}

fn returned_by_line(
    original: &Sale,
    prior: &[Sale],
    m: &impl Fn(Decimal) -> i64,
) -> HashMap<u32, Returned> {
    let mut out: HashMap<u32, Returned> = HashMap::new();
    for l in returns_of(original, prior).flat_map(|r| &r.lines) {
        let e = out.entry(l.line.line_id).or_default();
        e.qty += l.line.qty;
        e.total += m(l.amounts.total);
        e.tax += m(l.amounts.tax);
        e.line_discount += m(l.amounts.line_discount);
        e.order_discount += m(l.amounts.order_discount);
    }
    out
}

/// Build the return of `lines` from `original`, given the returns already made against it.
pub fn build_return(
    original: &Sale,
    prior: &[Sale],
    lines: &[ReturnLine],
    settings: &StoreSettings,
    ctx: DocContext,
) -> Result<Sale, ReturnError> {
    if original.kind != SaleKind::Sale {
        return Err(ReturnError::NotASale(original.ctx.receipt_no.clone()));
    }
    if lines.is_empty() || lines.iter().all(|l| l.qty.is_zero()) {
        return Err(ReturnError::NothingChosen);
    }
    let mu = settings.minor_units();
    let mode = settings.rounding;
    let m = |d: Decimal| to_minor(d, mu, mode);
    let done = returned_by_line(original, prior, &m);
    // Merge repeated line ids in the request.
    let mut wanted: BTreeMap<u32, Decimal> = BTreeMap::new();
    for l in lines.iter().filter(|l| !l.qty.is_zero()) {
        // Reject a negative entry before merging: it would otherwise cancel another entry.
        if l.qty < Decimal::ZERO {
            return Err(ReturnError::InvalidQuantity {
                line_id: l.line_id,
                qty: l.qty,
            });
        }
        *wanted.entry(l.line_id).or_default() += l.qty;
    }
    let mut out_lines = Vec::new();
    for (line_id, qty) in &wanted {
        let orig = original
            .lines
            .iter()
            .find(|l| l.line.line_id == *line_id)
            .ok_or(ReturnError::LineNotInSale(*line_id))?;
        let unit: Unit = orig.line.unit;
        if *qty < Decimal::ZERO || normalize_qty(*qty, unit).is_none() {
            return Err(ReturnError::InvalidQuantity {
                line_id: *line_id,
                qty: *qty,
            });
        }
        let before = done.get(line_id).cloned().unwrap_or_default();
        let sold = orig.line.qty;
        let returnable = sold - before.qty;
        if *qty > returnable {
            return Err(ReturnError::QtyExceeds {
                line_id: *line_id,
                requested: *qty,
                returnable,
            });
        }
        let k = before.qty + *qty;
        let cumulative = |amount: Decimal| -> i64 {
            if k == sold {
                m(amount)
            } else {
                m(amount * k / sold)
            }
        };
        let total = cumulative(orig.amounts.total) - before.total;
        let tax = cumulative(orig.amounts.tax) - before.tax;
        let ld = cumulative(orig.amounts.line_discount) - before.line_discount;
        let od = cumulative(orig.amounts.order_discount) - before.order_discount;
        let net = match settings.tax_mode {
            TaxMode::Inclusive => total,
            TaxMode::Exclusive => total - tax,
        };
        let mut line = orig.line.clone();
        line.qty = *qty;
        // Informational (the accounting is in `line_discount`): the promotions' share of the
        // line discount refunded, proportional to the quantity returned.
        let promo_discount =
            from_minor(m(orig.promo_discount * *qty / sold), mu).min(from_minor(ld, mu));
        out_lines.push(PricedLine {
            promo_discount,
            line,
            unit_price: orig.unit_price,
            amounts: LineAmounts {
                gross: from_minor(net + ld + od, mu),
                line_discount: from_minor(ld, mu),
                order_discount: from_minor(od, mu),
                net: from_minor(net, mu),
                tax: from_minor(tax, mu),
                total: from_minor(total, mu),
            },
        });
    }
    let completes = original.lines.iter().all(|l| {
        let before = done.get(&l.line.line_id).map_or(Decimal::ZERO, |r| r.qty);
        let now = wanted.get(&l.line.line_id).copied().unwrap_or_default();
        before + now == l.line.qty
    });

    // Tenders: what each original tender can still give back.
    let mut refunded: HashMap<u32, i64> = HashMap::new();
    let mut points_back: HashMap<u32, i64> = HashMap::new();
    for t in returns_of(original, prior).flat_map(|r| &r.tenders) {
        *refunded.entry(t.tender_id).or_default() += m(t.applied);
        *points_back.entry(t.tender_id).or_default() += t.points.unwrap_or(0);
    }
    let left: Vec<i64> = original
        .tenders
        .iter()
        .map(|t| (m(t.applied) - refunded.get(&t.tender_id).copied().unwrap_or(0)).max(0))
        .collect();
    let refund_total: i64 = out_lines.iter().map(|l| m(l.amounts.total)).sum();
    let shares: Vec<i64> = if completes {
        left.clone()
    } else {
        let base = allocate(refund_total.min(left.iter().sum()), &left)
            .unwrap_or_else(|_| vec![0; left.len()]);
        base.iter()
            .zip(&original.tenders)
            .zip(&left)
            .map(|((s, t), l)| match (t.kind, settings.cash_rounding) {
                (TenderKind::Cash, Some(step)) => {
                    m(round_to_step(from_minor(*s, mu), step)).min(*l)
                }
                _ => *s,
            })
            .collect()
    };
    let paid_back: i64 = shares.iter().sum();
    let tenders = original
        .tenders
        .iter()
        .zip(&shares)
        .filter(|(_, s)| **s > 0)
        .map(|(t, s)| TenderLine {
            tender_id: t.tender_id,
            kind: t.kind,
            amount: from_minor(*s, mu),
            applied: from_minor(*s, mu),
            reference: t.reference.clone(),
            // Points come back in proportion to the money the points tender gives back, by the
            // proration rule (cumulative, so all returns together give back exactly the points).
            points: t.points.map(|p| {
                let applied = m(t.applied);
                let after = refunded.get(&t.tender_id).copied().unwrap_or(0) + *s;
                let due = if applied <= 0 {
                    p
                } else {
                    (Decimal::from(p) * Decimal::from(after) / Decimal::from(applied))
                        .round()
                        .to_i64()
                        .unwrap_or(p)
                        .min(p)
                };
                (due - points_back.get(&t.tender_id).copied().unwrap_or(0)).max(0)
            }),
        })
        .collect();

    let (tax_summary, totals) = summarize(&out_lines, settings);
    Ok(Sale {
        kind: SaleKind::Return,
        ctx,
        currency: original.currency.clone(),
        lines: out_lines,
        order_discount: None,
        tax_summary,
        totals,
        tenders,
        rounding: from_minor(paid_back - refund_total, mu),
        change: Decimal::ZERO,
        member_id: original.member_id.clone(),
        overrides: Vec::new(),
        original: Some(OriginalRef {
            sale_id: original.ctx.sale_id.clone(),
            receipt_no: original.ctx.receipt_no.clone(),
        }),
        promotions: Vec::new(),
        coupons: Vec::new(),
        member_points: 0,
    })
}

/// A return without a receipt: the items are priced as a cart at today's prices and refunded
/// in one tender (cash is cash-rounded). The caller must have a manager's approval.
pub fn build_unreceipted_return(
    cart: &Cart,
    refund_kind: TenderKind,
    settings: &StoreSettings,
    ctx: DocContext,
) -> Result<Sale, ReturnError> {
    if cart.is_empty() {
        return Err(ReturnError::NothingChosen);
    }
    let priced = cart.price(settings);
    let total = priced.totals.total;
    let paid = match (refund_kind, settings.cash_rounding) {
        (TenderKind::Cash, Some(step)) => round_to_step(total, step),
        _ => total,
    };
    let mu = settings.minor_units();
    let paid = from_minor(to_minor(paid, mu, settings.rounding), mu);
    Ok(Sale {
        kind: SaleKind::Return,
        ctx,
        currency: settings.currency.code.clone(),
        lines: priced
            .lines
            .into_iter()
            .filter(|l| !l.line.voided)
            .collect(),
        order_discount: cart.order_discount.clone(),
        tax_summary: priced.tax_summary,
        totals: priced.totals,
        tenders: vec![TenderLine {
            tender_id: 1,
            kind: refund_kind,
            amount: paid,
            applied: paid,
            points: None,
            reference: None,
        }],
        rounding: paid - total,
        change: Decimal::ZERO,
        member_id: cart.member_id.clone(),
        overrides: cart.overrides.clone(),
        original: None,
        promotions: Vec::new(),
        coupons: Vec::new(),
        member_points: 0,
    })
}

/// Totals and tax summary of a list of priced lines.
pub fn summarize(lines: &[PricedLine], settings: &StoreSettings) -> (Vec<TaxSummaryLine>, Totals) {
    let mu = settings.minor_units();
    let mut t = Totals::default();
    let mut by_rate: BTreeMap<Decimal, (Decimal, Decimal, Decimal)> = BTreeMap::new();
    for l in lines {
        let a = &l.amounts;
        t.subtotal += a.gross;
        t.line_discounts += a.line_discount;
        t.order_discount += a.order_discount;
        t.tax += a.tax;
        t.total += a.total;
        let e = by_rate.entry(l.line.tax_rate.normalize()).or_default();
        e.0 += a.total - a.tax;
        e.1 += a.tax;
        e.2 += a.total;
    }
    t.discount_total = t.line_discounts + t.order_discount;
    for d in [
        &mut t.subtotal,
        &mut t.line_discounts,
        &mut t.order_discount,
        &mut t.discount_total,
        &mut t.tax,
        &mut t.total,
    ] {
        d.rescale(mu);
    }
    let summary = by_rate
        .into_iter()
        .map(|(rate, (taxable, tax, total))| TaxSummaryLine {
            rate,
            taxable,
            tax,
            total,
        })
        .collect();
    (summary, t)
}
