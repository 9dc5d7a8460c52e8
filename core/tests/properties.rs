//! Property tests over random carts and random sequences of returns.

mod common;

use common::*;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::{BTreeMap, HashMap};
use tillstone_core::cart::Cart;
use tillstone_core::catalog::Unit;
use tillstone_core::money::{RoundingMode, round};
use tillstone_core::pricing::{DiscountValue, LineInput, PriceResult, price};
use tillstone_core::returns::{ReturnError, ReturnLine, build_return, returnable};
use tillstone_core::sale::{Sale, complete_sale};
use tillstone_core::settings::{StoreSettings, TaxMode, TaxRounding};
use tillstone_core::tender::TenderKind;

const RATES: [Decimal; 4] = [dec!(0), dec!(0.06), dec!(0.09), dec!(0.13)];

#[derive(Debug, Clone)]
struct GenLine {
    price: Decimal,
    rate: Decimal,
    unit: Unit,
    qty: Decimal,
    discount: Option<DiscountValue>,
}

#[derive(Debug, Clone)]
struct GenCart {
    lines: Vec<GenLine>,
    order_discount: Option<DiscountValue>,
    settings: StoreSettings,
}

fn fen(f: i64) -> Decimal {
    Decimal::new(f, 2)
}

fn discount() -> impl Strategy<Value = DiscountValue> {
    prop_oneof![
        // 0.01 % .. 100 %, with up to two decimals
        (1i64..=10_000).prop_map(|bp| DiscountValue::Percent(Decimal::new(bp, 2))),
        // common whole percentages
        (1i64..=100).prop_map(|p| DiscountValue::Percent(Decimal::from(p))),
        // 0.01 .. 300.00, sometimes more than the line
        (1i64..=30_000).prop_map(|f| DiscountValue::Amount(fen(f))),
    ]
}

fn gen_line() -> impl Strategy<Value = GenLine> {
    (
        prop_oneof![0i64..300, 0i64..50_000],
        0usize..4,
        any::<bool>(),
        1i64..=20,
        1i64..=5_000,
        prop::option::weighted(0.3, discount()),
    )
        .prop_map(|(price, rate, kg, pieces, grams, discount)| GenLine {
            price: fen(price),
            rate: RATES[rate],
            unit: if kg { Unit::Kg } else { Unit::Piece },
            qty: if kg {
                Decimal::new(grams, 3)
            } else {
                Decimal::from(pieces)
            },
            discount,
        })
}

fn gen_settings() -> impl Strategy<Value = StoreSettings> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some(dec!(0.05))), Just(Some(dec!(0.10)))],
    )
        .prop_map(|(ex, per_order, even, cash)| {
            settings_with(
                if ex {
                    TaxMode::Exclusive
                } else {
                    TaxMode::Inclusive
                },
                if per_order {
                    TaxRounding::PerOrder
                } else {
                    TaxRounding::PerLine
                },
                if even {
                    RoundingMode::HalfEven
                } else {
                    RoundingMode::HalfUp
                },
                cash,
            )
        })
}

fn gen_cart() -> impl Strategy<Value = GenCart> {
    (
        prop::collection::vec(gen_line(), 1..12),
        prop::option::weighted(0.5, discount()),
        gen_settings(),
    )
        .prop_map(|(lines, order_discount, settings)| GenCart {
            lines,
            order_discount,
            settings,
        })
}

fn inputs(g: &GenCart) -> Vec<LineInput> {
    g.lines
        .iter()
        .map(|l| LineInput {
            qty: l.qty,
            unit_price: l.price,
            tax_rate: l.rate,
            discount: l.discount.clone(),
        })
        .collect()
}

fn raw_tax(net: Decimal, rate: Decimal, mode: TaxMode) -> Decimal {
    match mode {
        TaxMode::Inclusive => net * rate / (Decimal::ONE + rate),
        TaxMode::Exclusive => net * rate,
    }
}

fn check_price(g: &GenCart, r: &PriceResult) -> Result<(), TestCaseError> {
    let s = &g.settings;
    let mode = s.rounding;
    let lines = &r.lines;
    prop_assert_eq!(lines.len(), g.lines.len());
    let sum = |f: fn(&tillstone_core::pricing::LineAmounts) -> Decimal| -> Decimal {
        lines.iter().map(f).sum()
    };
    prop_assert_eq!(sum(|l| l.total), r.totals.total);
    prop_assert_eq!(sum(|l| l.tax), r.totals.tax);
    prop_assert_eq!(sum(|l| l.gross), r.totals.subtotal);
    prop_assert_eq!(sum(|l| l.line_discount), r.totals.line_discounts);
    prop_assert_eq!(sum(|l| l.order_discount), r.totals.order_discount);
    prop_assert_eq!(
        r.totals.discount_total,
        r.totals.line_discounts + r.totals.order_discount
    );
    prop_assert_eq!(
        r.tax_summary.iter().map(|t| t.tax).sum::<Decimal>(),
        r.totals.tax
    );
    prop_assert_eq!(
        r.tax_summary.iter().map(|t| t.total).sum::<Decimal>(),
        r.totals.total
    );
    for t in &r.tax_summary {
        prop_assert_eq!(t.taxable + t.tax, t.total);
    }

    let mut net_by_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
    for (l, a) in g.lines.iter().zip(lines) {
        prop_assert_eq!(a.gross, round(l.price * l.qty, 2, mode));
        prop_assert_eq!(a.net, a.gross - a.line_discount - a.order_discount);
        prop_assert!(a.line_discount >= Decimal::ZERO && a.order_discount >= Decimal::ZERO);
        prop_assert!(
            a.line_discount + a.order_discount <= a.gross,
            "discount above the price"
        );
        prop_assert!(a.net >= Decimal::ZERO && a.tax >= Decimal::ZERO);
        match s.tax_mode {
            TaxMode::Inclusive => prop_assert_eq!(a.total, a.net),
            TaxMode::Exclusive => prop_assert_eq!(a.total, a.net + a.tax),
        }
        // The line discount is what was asked, capped at the line.
        let ld = match &l.discount {
            None => Decimal::ZERO,
            Some(DiscountValue::Percent(p)) => round(a.gross * p / dec!(100), 2, mode),
            Some(DiscountValue::Amount(x)) => *x,
        };
        prop_assert_eq!(a.line_discount, ld.min(a.gross));
        if s.tax_rounding == TaxRounding::PerLine {
            prop_assert_eq!(a.tax, round(raw_tax(a.net, l.rate, s.tax_mode), 2, mode));
        }
        *net_by_rate.entry(l.rate).or_default() += a.net;
    }
    // The order discount is what was asked, capped at the order, and split by the rule.
    let base: Decimal = lines.iter().map(|a| a.gross - a.line_discount).sum();
    let od = match &g.order_discount {
        None => Decimal::ZERO,
        Some(DiscountValue::Percent(p)) => round(base * p / dec!(100), 2, mode),
        Some(DiscountValue::Amount(x)) => *x,
    };
    prop_assert_eq!(r.totals.order_discount, od.min(base));
    if base > Decimal::ZERO {
        for a in lines {
            let exact = r.totals.order_discount * (a.gross - a.line_discount) / base;
            prop_assert!(
                a.order_discount >= exact.floor_to_cent()
                    && a.order_discount <= exact.ceil_to_cent()
            );
        }
    }
    // Per order: each rate's tax is rounded once, on the sum of its lines.
    if s.tax_rounding == TaxRounding::PerOrder {
        for t in &r.tax_summary {
            let net = net_by_rate[&t.rate];
            prop_assert_eq!(t.tax, round(raw_tax(net, t.rate, s.tax_mode), 2, mode));
        }
    }
    Ok(())
}

trait Cents {
    fn floor_to_cent(self) -> Decimal;
    fn ceil_to_cent(self) -> Decimal;
}

impl Cents for Decimal {
    fn floor_to_cent(self) -> Decimal {
        (self * dec!(100)).floor() / dec!(100)
    }
    fn ceil_to_cent(self) -> Decimal {
        (self * dec!(100)).ceil() / dec!(100)
    }
}

/// Ring the generated lines up in a cart (a manager, so no approvals are needed).
fn ring_up(g: &GenCart) -> Cart {
    let st = &g.settings;
    let mut cart = Cart::new("prop");
    for (i, l) in g.lines.iter().enumerate() {
        let p = product_in(
            &format!("P{i}"),
            l.price,
            l.rate,
            l.unit,
            &format!("cat{}", i % 3),
        );
        let id = cart.add_product(&p, l.qty, None).unwrap();
        if let Some(d) = &l.discount {
            let d = tillstone_core::pricing::Discount {
                value: d.clone(),
                reason: "prop".into(),
                approved_by: None,
                approved_percent: None,
            };
            cart.discount_line(id, Some(d), &manager(), None, st)
                .unwrap();
        }
    }
    if let Some(d) = &g.order_discount {
        let d = tillstone_core::pricing::Discount {
            value: d.clone(),
            reason: "prop".into(),
            approved_by: None,
            approved_percent: None,
        };
        cart.discount_order(Some(d), &manager(), None, st).unwrap();
    }
    cart
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pricing_invariants(g in gen_cart()) {
        let r = price(&inputs(&g), g.order_discount.as_ref(), &g.settings);
        check_price(&g, &r)?;

        // The cart gives the same figures, and survives parking.
        let cart = ring_up(&g);
        let priced = cart.price(&g.settings);
        prop_assert_eq!(&priced.totals, &r.totals);
        prop_assert_eq!(&priced.tax_summary, &r.tax_summary);
        let back: Cart = serde_json::from_str(&serde_json::to_string(&cart).unwrap()).unwrap();
        prop_assert_eq!(&back, &cart);
    }

    /// Order independence.
    ///
    /// The largest-remainder rule hands tied fen to the *earlier* line, so permuting the lines
    /// can move a fen of the order discount (or of per-order tax) from one line to another —
    /// even between lines of different weights (2 fen over 1:3 is 1/1 in one order, 2/0 in the
    /// other) or different tax rates. Consequences, all asserted below:
    /// * always order independent: subtotal, line discounts, order discount, Σ net;
    /// * inclusive mode: the order total (= Σ net) too;
    /// * without an order discount: everything except (per order) which line of a rate carries
    ///   an allocated tax fen — totals and the per-rate tax summary are identical;
    /// * with an order discount, a fen that moves to a line of another rate (or that changes a
    ///   line's own tax rounding) can change the tax — and in exclusive mode the total — by a
    ///   fen per moved fen. So per-rate taxes are *not* order independent in general
    ///   (see `line_order_can_move_a_tied_fen_and_change_the_tax` in pricing.rs); we bound the
    ///   difference instead: at most one fen per line.
    #[test]
    fn line_order_independence(
        (g, perm) in gen_cart().prop_flat_map(|g| {
            let n = g.lines.len();
            (Just(g), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        })
    ) {
        let mut shuffled = g.clone();
        shuffled.lines = perm.iter().map(|i| g.lines[*i].clone()).collect();
        let a = price(&inputs(&g), g.order_discount.as_ref(), &g.settings);
        let b = price(&inputs(&shuffled), shuffled.order_discount.as_ref(), &g.settings);
        check_price(&shuffled, &b)?;
        prop_assert_eq!(a.totals.subtotal, b.totals.subtotal);
        prop_assert_eq!(a.totals.line_discounts, b.totals.line_discounts);
        prop_assert_eq!(a.totals.order_discount, b.totals.order_discount);
        let net = |r: &PriceResult| r.lines.iter().map(|l| l.net).sum::<Decimal>();
        prop_assert_eq!(net(&a), net(&b));
        if g.settings.tax_mode == TaxMode::Inclusive {
            prop_assert_eq!(a.totals.total, b.totals.total);
        }
        let no_order_split = a.totals.order_discount.is_zero();
        if no_order_split {
            prop_assert_eq!(&a.totals, &b.totals);
            prop_assert_eq!(&a.tax_summary, &b.tax_summary);
            for (k, i) in perm.iter().enumerate() {
                prop_assert_eq!(a.lines[*i].net, b.lines[k].net);
                if g.settings.tax_rounding == TaxRounding::PerLine {
                    prop_assert_eq!(&a.lines[*i], &b.lines[k]);
                }
            }
        } else {
            let n = Decimal::new(g.lines.len() as i64, 2);
            prop_assert!((a.totals.tax - b.totals.tax).abs() <= n);
            prop_assert!((a.totals.total - b.totals.total).abs() <= n);
            for (x, y) in a.tax_summary.iter().zip(&b.tax_summary) {
                prop_assert_eq!(x.rate, y.rate);
                prop_assert!((x.tax - y.tax).abs() <= n);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Returns

#[derive(Debug, Clone)]
struct TenderPlan {
    kind: u8,
    /// Share (per mille) of the total put on the first tender of a split.
    split: u16,
    /// Extra cash handed over, in fen.
    extra: i64,
}

fn pay(cart: &mut Cart, plan: &TenderPlan, st: &StoreSettings) -> Result<(), TestCaseError> {
    let total = cart.price(st).payment.total;
    if total.is_zero() {
        return Ok(());
    }
    let part = (total * Decimal::from(plan.split) / dec!(1000))
        .round_dp(2)
        .max(dec!(0.01));
    let add = |cart: &mut Cart, kind: TenderKind, amount: Decimal| {
        let reference = kind.needs_reference().then(|| "REF".to_string());
        cart.add_tender(kind, amount, reference, st)
            .map_err(|e| TestCaseError::fail(format!("{kind:?} {amount}: {e}")))
    };
    let remaining = |cart: &Cart| cart.price(st).payment.remaining;
    let cash_due = |cart: &Cart| cart.price(st).payment.cash_due;
    match plan.kind % 5 {
        0 => {
            let amt = (cash_due(cart) + fen(plan.extra)).max(dec!(0.01));
            add(cart, TenderKind::Cash, amt)?;
        }
        1 => {
            add(cart, TenderKind::Card, total)?;
        }
        2 if part < total => {
            add(cart, TenderKind::Card, part)?;
            let amt = (cash_due(cart) + fen(plan.extra)).max(dec!(0.01));
            add(cart, TenderKind::Cash, amt)?;
        }
        3 if part < total => {
            add(cart, TenderKind::Alipay, part)?;
            let rest = remaining(cart);
            add(cart, TenderKind::WechatPay, rest)?;
        }
        4 if part < total => {
            // Cash first, then the card for the rest of the (unrounded) total.
            // (Unless the cash part already rounds down to what was handed over.)
            add(cart, TenderKind::Cash, part)?;
            if remaining(cart) > Decimal::ZERO {
                add(cart, TenderKind::Card, total - part)?;
            }
        }
        _ => {
            add(cart, TenderKind::WechatPay, total)?;
        }
    }
    // Whatever cash rounding left over is paid in cash.
    let rest = remaining(cart);
    if rest > Decimal::ZERO {
        add(cart, TenderKind::Cash, rest)?;
    }
    Ok(())
}

fn plan() -> impl Strategy<Value = TenderPlan> {
    (
        any::<u8>(),
        1u16..1000,
        prop_oneof![Just(0i64), 0i64..20_000],
    )
        .prop_map(|(kind, split, extra)| TenderPlan { kind, split, extra })
}

/// The largest quantity of `unit` not above `q × permille / 1000`.
fn part_of(q: Decimal, permille: u16, unit: Unit) -> Decimal {
    let x = q * Decimal::from(permille) / dec!(1000);
    x.round_dp_with_strategy(
        unit.quantity_scale(),
        rust_decimal::RoundingStrategy::ToZero,
    )
}

fn smallest(unit: Unit) -> Decimal {
    match unit {
        Unit::Piece => Decimal::ONE,
        Unit::Kg => dec!(0.001),
    }
}

/// Cumulative refunds: per sale line, and per original tender.
type Refunded = (BTreeMap<u32, Sums>, HashMap<u32, Decimal>);

#[derive(Default, Debug, Clone, PartialEq)]
struct Sums {
    qty: Decimal,
    gross: Decimal,
    line_discount: Decimal,
    order_discount: Decimal,
    net: Decimal,
    tax: Decimal,
    total: Decimal,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn partial_returns_never_refund_more_and_the_last_one_settles_exactly(
        g in gen_cart(),
        plan in plan(),
        steps in prop::collection::vec(prop::collection::vec((any::<usize>(), 0u16..=1000), 1..4), 0..5),
    ) {
        let st = g.settings.clone();
        let mut cart = ring_up(&g);
        pay(&mut cart, &plan, &st)?;
        let sale = complete_sale(&cart, &st, ctx_simple("S"))
            .map_err(|e| TestCaseError::fail(format!("complete: {e}")))?;
        prop_assert_eq!(
            sale.tenders.iter().map(|t| t.applied).sum::<Decimal>(),
            sale.settled()
        );
        let n = sale.lines.len();
        let mut prior: Vec<Sale> = Vec::new();

        let check_cumulative = |prior: &[Sale]| -> Result<Refunded, TestCaseError> {
            let mut by_line: BTreeMap<u32, Sums> = BTreeMap::new();
            let mut by_tender: HashMap<u32, Decimal> = HashMap::new();
            for r in prior {
                for l in &r.lines {
                    let e = by_line.entry(l.line.line_id).or_default();
                    let a = &l.amounts;
                    e.qty += l.line.qty;
                    e.gross += a.gross;
                    e.line_discount += a.line_discount;
                    e.order_discount += a.order_discount;
                    e.net += a.net;
                    e.tax += a.tax;
                    e.total += a.total;
                    prop_assert!(a.total >= Decimal::ZERO && a.tax >= Decimal::ZERO);
                }
                for t in &r.tenders {
                    prop_assert!(t.applied > Decimal::ZERO);
                    *by_tender.entry(t.tender_id).or_default() += t.applied;
                }
                prop_assert_eq!(r.tenders.iter().map(|t| t.applied).sum::<Decimal>(), r.settled());
            }
            for l in &sale.lines {
                if let Some(e) = by_line.get(&l.line.line_id) {
                    prop_assert!(e.qty <= l.line.qty);
                    prop_assert!(e.total <= l.amounts.total, "line {} refunds {} of {}", l.line.line_id, e.total, l.amounts.total);
                    prop_assert!(e.tax <= l.amounts.tax);
                }
            }
            for t in &sale.tenders {
                let back = by_tender.get(&t.tender_id).copied().unwrap_or_default();
                prop_assert!(back <= t.applied, "tender {} refunds {} of {}", t.tender_id, back, t.applied);
            }
            let refunded: Decimal = prior.iter().map(Sale::settled).sum();
            prop_assert!(refunded <= sale.settled());
            let lines_refunded: Decimal = prior.iter().map(|r| r.totals.total).sum();
            prop_assert!(lines_refunded <= sale.totals.total);
            Ok((by_line, by_tender))
        };

        for (k, step) in steps.iter().enumerate() {
            let left = returnable(&sale, &prior);
            // Asking for one unit more than is left is refused.
            let probe = &sale.lines[step[0].0 % n].line;
            let too_much = left[&probe.line_id] + smallest(probe.unit);
            let err = build_return(&sale, &prior, &[ReturnLine { line_id: probe.line_id, qty: too_much }], &st, ctx_simple("X"));
            prop_assert_eq!(
                err,
                Err(ReturnError::QtyExceeds { line_id: probe.line_id, requested: too_much, returnable: left[&probe.line_id] })
            );
            let mut asked: BTreeMap<u32, Decimal> = BTreeMap::new();
            let mut lines = Vec::new();
            for (sel, permille) in step {
                let l = &sale.lines[sel % n].line;
                let avail = left[&l.line_id] - asked.get(&l.line_id).copied().unwrap_or_default();
                let qty = part_of(avail, *permille, l.unit);
                if qty > Decimal::ZERO {
                    *asked.entry(l.line_id).or_default() += qty;
                    lines.push(ReturnLine { line_id: l.line_id, qty });
                }
            }
            if lines.is_empty() {
                continue;
            }
            let r = build_return(&sale, &prior, &lines, &st, ctx_simple(&format!("R{k}")))
                .map_err(|e| TestCaseError::fail(format!("return {lines:?}: {e}")))?;
            prior.push(r);
            check_cumulative(&prior)?;
        }

        // Return whatever is left.
        let left = returnable(&sale, &prior);
        let rest: Vec<ReturnLine> = left
            .iter()
            .filter(|(_, q)| **q > Decimal::ZERO)
            .map(|(id, q)| ReturnLine { line_id: *id, qty: *q })
            .collect();
        if !rest.is_empty() {
            let r = build_return(&sale, &prior, &rest, &st, ctx_simple("LAST"))
                .map_err(|e| TestCaseError::fail(format!("final return: {e}")))?;
            prior.push(r);
        }
        let (by_line, by_tender) = check_cumulative(&prior)?;
        for l in &sale.lines {
            let a = &l.amounts;
            let want = Sums {
                qty: l.line.qty,
                gross: a.gross,
                line_discount: a.line_discount,
                order_discount: a.order_discount,
                net: a.net,
                tax: a.tax,
                total: a.total,
            };
            prop_assert_eq!(&by_line[&l.line.line_id], &want, "line {}", l.line.line_id);
        }
        for t in &sale.tenders {
            prop_assert_eq!(by_tender.get(&t.tender_id).copied().unwrap_or_default(), t.applied);
        }
        prop_assert_eq!(prior.iter().map(Sale::settled).sum::<Decimal>(), sale.settled());
        prop_assert!(returnable(&sale, &prior).values().all(|q| q.is_zero()));
    }
}
