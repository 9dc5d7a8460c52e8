//! Pricing a cart: gross, discounts, order-discount allocation, tax, totals.
//!
//! All arithmetic runs in integer minor units after each amount is first rounded with the store's
//! rounding mode, so the invariants hold exactly:
//! * `Σ line.total == totals.total`
//! * `line.net == line.gross - line.line_discount - line.order_discount`
//! * the tax summary per rate sums to `totals.tax`.

use crate::alloc::allocate;
use crate::catalog::Unit;
use crate::money::{from_minor, round, to_minor};
use crate::settings::{StoreSettings, TaxMode, TaxRounding};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A discount as the cashier enters it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum DiscountValue {
    /// Percent off (10 = 10 %).
    Percent(Decimal),
    /// Amount off in currency units.
    Amount(Decimal),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub value: DiscountValue,
    pub reason: String,
    /// The manager who approved it when it was above the store's threshold. Set only by the
    /// cart (never taken from input); a discount that grows above the threshold later (fewer
    /// items) without an approval blocks completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// The effective percentage the manager approved; more than that needs a new approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_percent: Option<Decimal>,
}

/// What pricing needs to know about one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub qty: Decimal,
    /// The effective unit price (override or shelf price).
    pub unit_price: Decimal,
    pub tax_rate: Decimal,
    pub discount: Option<DiscountValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    /// `unit_price × qty`, rounded.
    pub gross: Decimal,
    pub line_discount: Decimal,
    /// This line's share of the order discount (allocation rule).
    pub order_discount: Decimal,
    /// `gross − line_discount − order_discount`: tax-inclusive in inclusive mode, exclusive otherwise.
    pub net: Decimal,
    pub tax: Decimal,
    /// What the customer pays for the line, tax included.
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxSummaryLine {
    pub rate: Decimal,
    /// Amount before tax.
    pub taxable: Decimal,
    pub tax: Decimal,
    /// Amount including tax.
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Totals {
    pub subtotal: Decimal,
    pub line_discounts: Decimal,
    pub order_discount: Decimal,
    pub discount_total: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceResult {
    pub lines: Vec<LineAmounts>,
    pub tax_summary: Vec<TaxSummaryLine>,
    pub totals: Totals,
}

/// Amount (minor units) of a discount on a base amount (minor units); capped at the base.
pub fn discount_minor(value: &DiscountValue, base: i64, settings: &StoreSettings) -> i64 {
    let mu = settings.minor_units();
    let raw = match value {
        DiscountValue::Percent(p) => to_minor(
            from_minor(base, mu) * *p / Decimal::ONE_HUNDRED,
            mu,
            settings.rounding,
        ),
        DiscountValue::Amount(a) => to_minor(*a, mu, settings.rounding),
    };
    raw.clamp(0, base.max(0))
}

/// Effective percentage of a discount on a base (for the large-discount approval rule).
pub fn discount_percent(value: &DiscountValue, base: Decimal) -> Decimal {
    match value {
        DiscountValue::Percent(p) => *p,
        DiscountValue::Amount(a) if base > Decimal::ZERO => *a * Decimal::ONE_HUNDRED / base,
        DiscountValue::Amount(_) => Decimal::ONE_HUNDRED,
    }
}

/// Tax (unrounded) contained in or added to a net amount.
fn raw_tax(net: Decimal, rate: Decimal, mode: TaxMode) -> Decimal {
    match mode {
        TaxMode::Inclusive => net * rate / (Decimal::ONE + rate),
        TaxMode::Exclusive => net * rate,
    }
}

/// Price a list of lines with an optional order discount. Output lines are in input order.
pub fn price(
    lines: &[LineInput],
    order_discount: Option<&DiscountValue>,
    settings: &StoreSettings,
) -> PriceResult {
    let mu = settings.minor_units();
    let mode = settings.rounding;
    let gross: Vec<i64> = lines
        .iter()
        .map(|l| to_minor(l.unit_price * l.qty, mu, mode).max(0))
        .collect();
    let line_disc: Vec<i64> = lines
        .iter()
        .zip(&gross)
        .map(|(l, g)| {
            l.discount
                .as_ref()
                .map_or(0, |d| discount_minor(d, *g, settings))
        })
        .collect();
    let after_line: Vec<i64> = gross.iter().zip(&line_disc).map(|(g, d)| g - d).collect();
    let base: i64 = after_line.iter().sum();
    let order_total = order_discount.map_or(0, |d| discount_minor(d, base, settings));
    // after_line are non-negative and order_total <= base, so allocation cannot fail.
    let order_alloc = allocate(order_total, &after_line).unwrap_or_else(|_| vec![0; lines.len()]);
    let net: Vec<i64> = after_line
        .iter()
        .zip(&order_alloc)
        .map(|(a, o)| a - o)
        .collect();

    let tax: Vec<i64> = match settings.tax_rounding {
        TaxRounding::PerLine => lines
            .iter()
            .zip(&net)
            .map(|(l, n)| {
                to_minor(
                    raw_tax(from_minor(*n, mu), l.tax_rate, settings.tax_mode),
                    mu,
                    mode,
                )
            })
            .collect(),
        TaxRounding::PerOrder => {
            let mut tax = vec![0i64; lines.len()];
            let mut groups: BTreeMap<Decimal, Vec<usize>> = BTreeMap::new();
            for (i, l) in lines.iter().enumerate() {
                groups.entry(l.tax_rate.normalize()).or_default().push(i);
            }
            for (rate, idx) in groups {
                let group_net: i64 = idx.iter().map(|i| net[*i]).sum();
                let group_tax = to_minor(
                    raw_tax(from_minor(group_net, mu), rate, settings.tax_mode),
                    mu,
                    mode,
                );
                let weights: Vec<i64> = idx.iter().map(|i| net[*i]).collect();
                let shares =
                    allocate(group_tax.max(0), &weights).unwrap_or_else(|_| vec![0; idx.len()]);
                for (i, s) in idx.iter().zip(shares) {
                    tax[*i] = s;
                }
            }
            tax
        }
    };
    let total: Vec<i64> = net
        .iter()
        .zip(&tax)
        .map(|(n, t)| match settings.tax_mode {
            TaxMode::Inclusive => *n,
            TaxMode::Exclusive => n + t,
        })
        .collect();

    let mut summary: BTreeMap<Decimal, (i64, i64, i64)> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        let e = summary.entry(l.tax_rate.normalize()).or_default();
        e.0 += total[i] - tax[i];
        e.1 += tax[i];
        e.2 += total[i];
    }

    let out_lines = lines
        .iter()
        .enumerate()
        .map(|(i, _)| LineAmounts {
            gross: from_minor(gross[i], mu),
            line_discount: from_minor(line_disc[i], mu),
            order_discount: from_minor(order_alloc[i], mu),
            net: from_minor(net[i], mu),
            tax: from_minor(tax[i], mu),
            total: from_minor(total[i], mu),
        })
        .collect();
    let sum = |v: &[i64]| from_minor(v.iter().sum(), mu);
    let line_discounts = sum(&line_disc);
    let order_d = from_minor(order_total, mu);
    PriceResult {
        lines: out_lines,
        tax_summary: summary
            .into_iter()
            .map(|(rate, (taxable, t, tot))| TaxSummaryLine {
                rate,
                taxable: from_minor(taxable, mu),
                tax: from_minor(t, mu),
                total: from_minor(tot, mu),
            })
            .collect(),
        totals: Totals {
            subtotal: sum(&gross),
            line_discounts,
            order_discount: order_d,
            discount_total: line_discounts + order_d,
            tax: sum(&tax),
            total: sum(&total),
        },
    }
}

/// Round a quantity to what its unit allows; `None` if it has more precision than allowed.
pub fn normalize_qty(qty: Decimal, unit: Unit) -> Option<Decimal> {
    let scale = unit.quantity_scale();
    let rounded = round(qty, scale, crate::money::RoundingMode::HalfUp);
    if rounded == qty { Some(rounded) } else { None }
}
