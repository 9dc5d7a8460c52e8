//! Pricing: CN VAT inclusive / exclusive, per-line vs per-order tax rounding, several rates,
//! line discounts and order discounts allocated by largest remainder.

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tillstone_core::alloc::{AllocError, allocate};
use tillstone_core::cart::Cart;
use tillstone_core::catalog::Unit;
use tillstone_core::money::RoundingMode;
use tillstone_core::pricing::{DiscountValue, LineInput, PriceResult, price};
use tillstone_core::settings::{StoreSettings, TaxMode, TaxRounding};

fn line(unit_price: Decimal, qty: Decimal, rate: Decimal) -> LineInput {
    LineInput {
        qty,
        unit_price,
        tax_rate: rate,
        discount: None,
    }
}

fn with_discount(mut l: LineInput, d: DiscountValue) -> LineInput {
    l.discount = Some(d);
    l
}

fn s(mode: TaxMode, tr: TaxRounding) -> StoreSettings {
    settings_with(mode, tr, RoundingMode::HalfUp, None)
}

fn col(
    r: &PriceResult,
    f: impl Fn(&tillstone_core::pricing::LineAmounts) -> Decimal,
) -> Vec<Decimal> {
    r.lines.iter().map(f).collect()
}

/// The invariants every price result must satisfy.
fn check_invariants(r: &PriceResult) {
    let sum = |f: &dyn Fn(&tillstone_core::pricing::LineAmounts) -> Decimal| -> Decimal {
        r.lines.iter().map(f).sum()
    };
    assert_eq!(sum(&|l| l.total), r.totals.total);
    assert_eq!(sum(&|l| l.tax), r.totals.tax);
    assert_eq!(sum(&|l| l.gross), r.totals.subtotal);
    assert_eq!(
        r.tax_summary.iter().map(|t| t.tax).sum::<Decimal>(),
        r.totals.tax
    );
    assert_eq!(
        r.tax_summary.iter().map(|t| t.total).sum::<Decimal>(),
        r.totals.total
    );
    for t in &r.tax_summary {
        assert_eq!(t.taxable + t.tax, t.total);
    }
    for l in &r.lines {
        assert_eq!(l.net, l.gross - l.line_discount - l.order_discount);
    }
}

#[test]
fn cn_vat_inclusive_13_9_6() {
    let st = s(TaxMode::Inclusive, TaxRounding::PerLine);
    for (p, rate, tax) in [
        (dec!(113.00), dec!(0.13), dec!(13.00)),
        (dec!(10.90), dec!(0.09), dec!(0.90)),
        (dec!(10.60), dec!(0.06), dec!(0.60)),
        // 9.90 × 13/113 = 1.13893… -> 1.14
        (dec!(9.90), dec!(0.13), dec!(1.14)),
        // 3.50 × 9/109 = 0.28899… -> 0.29
        (dec!(3.50), dec!(0.09), dec!(0.29)),
        // 25.00 × 6/106 = 1.41509… -> 1.42
        (dec!(25.00), dec!(0.06), dec!(1.42)),
    ] {
        let r = price(&[line(p, dec!(1), rate)], None, &st);
        check_invariants(&r);
        assert_eq!(
            r.totals.total, p,
            "inclusive price is what the customer pays"
        );
        assert_eq!(r.totals.tax, tax, "tax in {p} at {rate}");
        assert_eq!(r.tax_summary[0].taxable, p - tax);
    }
}

#[test]
fn exclusive_mode_adds_tax_on_top() {
    let st = s(TaxMode::Exclusive, TaxRounding::PerLine);
    for (p, rate, tax, total) in [
        (dec!(100.00), dec!(0.13), dec!(13.00), dec!(113.00)),
        (dec!(9.99), dec!(0.13), dec!(1.30), dec!(11.29)), // 1.2987
        (dec!(10.00), dec!(0.09), dec!(0.90), dec!(10.90)),
        (dec!(7.77), dec!(0.06), dec!(0.47), dec!(8.24)), // 0.4662
        (dec!(5.00), dec!(0), dec!(0), dec!(5.00)),
    ] {
        let r = price(&[line(p, dec!(1), rate)], None, &st);
        check_invariants(&r);
        assert_eq!(
            (r.lines[0].net, r.totals.tax, r.totals.total),
            (p, tax, total)
        );
        assert_eq!(r.tax_summary[0].taxable, p);
    }
}

#[test]
fn per_line_and_per_order_tax_rounding_differ_by_a_cent() {
    // Three lines of 1.00 at 13 % inclusive: 1.00 × 13/113 = 0.11504 -> 0.12 each = 0.36,
    // but 3.00 × 13/113 = 0.34513 -> 0.35 for the order.
    let lines = vec![line(dec!(1.00), dec!(1), dec!(0.13)); 3];
    let per_line = price(&lines, None, &s(TaxMode::Inclusive, TaxRounding::PerLine));
    let per_order = price(&lines, None, &s(TaxMode::Inclusive, TaxRounding::PerOrder));
    check_invariants(&per_line);
    check_invariants(&per_order);
    assert_eq!(per_line.totals.tax, dec!(0.36));
    assert_eq!(per_order.totals.tax, dec!(0.35));
    assert_eq!(per_line.totals.total, dec!(3.00));
    assert_eq!(per_order.totals.total, dec!(3.00));
    // The order's 35 fen go back to the lines by largest remainder, ties to the earlier line.
    assert_eq!(col(&per_line, |l| l.tax), vec![dec!(0.12); 3]);
    assert_eq!(
        col(&per_order, |l| l.tax),
        vec![dec!(0.12), dec!(0.12), dec!(0.11)]
    );
    assert_eq!(per_order.tax_summary.len(), 1);
    assert_eq!(per_order.tax_summary[0].tax, dec!(0.35));
    assert_eq!(per_order.tax_summary[0].taxable, dec!(2.65));

    // Exclusive: 1.05 × 13 % = 0.1365 -> 0.14 each (0.42) vs 3.15 × 13 % = 0.4095 -> 0.41.
    let lines = vec![line(dec!(1.05), dec!(1), dec!(0.13)); 3];
    let per_line = price(&lines, None, &s(TaxMode::Exclusive, TaxRounding::PerLine));
    let per_order = price(&lines, None, &s(TaxMode::Exclusive, TaxRounding::PerOrder));
    check_invariants(&per_line);
    check_invariants(&per_order);
    assert_eq!(
        (per_line.totals.tax, per_line.totals.total),
        (dec!(0.42), dec!(3.57))
    );
    assert_eq!(
        (per_order.totals.tax, per_order.totals.total),
        (dec!(0.41), dec!(3.56))
    );
    assert_eq!(
        col(&per_order, |l| l.tax),
        vec![dec!(0.14), dec!(0.14), dec!(0.13)]
    );
    assert_eq!(
        col(&per_order, |l| l.total),
        vec![dec!(1.19), dec!(1.19), dec!(1.18)]
    );
}

#[test]
fn several_rates_in_one_sale_summarised_per_rate() {
    let lines = vec![
        line(dec!(11.30), dec!(1), dec!(0.13)),
        line(dec!(5.45), dec!(1), dec!(0.09)),
        line(dec!(2.12), dec!(1), dec!(0.06)),
        line(dec!(3.00), dec!(1), dec!(0)),
        line(dec!(2.26), dec!(2), dec!(0.13)),
    ];
    for tr in [TaxRounding::PerLine, TaxRounding::PerOrder] {
        let r = price(&lines, None, &s(TaxMode::Inclusive, tr));
        check_invariants(&r);
        assert_eq!(r.totals.total, dec!(26.39));
        assert_eq!(r.totals.tax, dec!(2.39));
        let rows: Vec<(Decimal, Decimal, Decimal, Decimal)> = r
            .tax_summary
            .iter()
            .map(|t| (t.rate, t.taxable, t.tax, t.total))
            .collect();
        assert_eq!(
            rows,
            vec![
                (dec!(0), dec!(3.00), dec!(0), dec!(3.00)),
                (dec!(0.06), dec!(2.00), dec!(0.12), dec!(2.12)),
                (dec!(0.09), dec!(5.00), dec!(0.45), dec!(5.45)),
                (dec!(0.13), dec!(14.00), dec!(1.82), dec!(15.82)),
            ]
        );
    }
}

#[test]
fn several_rates_where_per_order_rounding_changes_one_rate() {
    // 13 %: 1.00 + 1.00 + 1.00 (per line 0.36, per order 0.35); 9 %: 0.99 + 0.99
    // (0.99 × 9/109 = 0.08174 -> 0.08 each = 0.16; 1.98 × 9/109 = 0.16349 -> 0.16).
    let lines = vec![
        line(dec!(1.00), dec!(1), dec!(0.13)),
        line(dec!(0.99), dec!(1), dec!(0.09)),
        line(dec!(1.00), dec!(1), dec!(0.13)),
        line(dec!(0.99), dec!(1), dec!(0.09)),
        line(dec!(1.00), dec!(1), dec!(0.13)),
    ];
    let pl = price(&lines, None, &s(TaxMode::Inclusive, TaxRounding::PerLine));
    let po = price(&lines, None, &s(TaxMode::Inclusive, TaxRounding::PerOrder));
    check_invariants(&pl);
    check_invariants(&po);
    assert_eq!(pl.totals.tax, dec!(0.52));
    assert_eq!(po.totals.tax, dec!(0.51));
    let taxes = |r: &PriceResult| r.tax_summary.iter().map(|t| t.tax).collect::<Vec<_>>();
    assert_eq!(taxes(&pl), vec![dec!(0.16), dec!(0.36)]);
    assert_eq!(taxes(&po), vec![dec!(0.16), dec!(0.35)]);
    // Per order: the lines of each rate sum to that rate's order tax.
    assert_eq!(
        col(&po, |l| l.tax),
        vec![dec!(0.12), dec!(0.08), dec!(0.12), dec!(0.08), dec!(0.11)]
    );
}

#[test]
fn line_discounts_percent_and_amount() {
    let st = s(TaxMode::Inclusive, TaxRounding::PerLine);
    let lines = vec![
        // 3 × 3.33 = 9.99, 10 % = 0.999 -> 1.00
        with_discount(
            line(dec!(3.33), dec!(3), dec!(0.13)),
            DiscountValue::Percent(dec!(10)),
        ),
        // amount bigger than the line: capped at the line, never negative
        with_discount(
            line(dec!(2.00), dec!(1), dec!(0.13)),
            DiscountValue::Amount(dec!(5.00)),
        ),
        with_discount(
            line(dec!(8.00), dec!(1), dec!(0.09)),
            DiscountValue::Amount(dec!(0.50)),
        ),
        // 100 % off
        with_discount(
            line(dec!(4.00), dec!(2), dec!(0.06)),
            DiscountValue::Percent(dec!(100)),
        ),
    ];
    let r = price(&lines, None, &st);
    check_invariants(&r);
    assert_eq!(
        col(&r, |l| l.line_discount),
        vec![dec!(1.00), dec!(2.00), dec!(0.50), dec!(8.00)]
    );
    assert_eq!(
        col(&r, |l| l.net),
        vec![dec!(8.99), dec!(0), dec!(7.50), dec!(0)]
    );
    // 8.99 × 13/113 = 1.03425 -> 1.03; 7.50 × 9/109 = 0.61927 -> 0.62
    assert_eq!(
        col(&r, |l| l.tax),
        vec![dec!(1.03), dec!(0), dec!(0.62), dec!(0)]
    );
    assert_eq!(r.totals.subtotal, dec!(27.99));
    assert_eq!(r.totals.line_discounts, dec!(11.50));
    assert_eq!(r.totals.discount_total, dec!(11.50));
    assert_eq!(r.totals.total, dec!(16.49));
}

#[test]
fn order_discount_ten_yuan_over_three_equal_lines() {
    let lines = vec![line(dec!(20.00), dec!(1), dec!(0.13)); 3];
    let r = price(
        &lines,
        Some(&DiscountValue::Amount(dec!(10.00))),
        &s(TaxMode::Inclusive, TaxRounding::PerLine),
    );
    check_invariants(&r);
    assert_eq!(
        col(&r, |l| l.order_discount),
        vec![dec!(3.34), dec!(3.33), dec!(3.33)]
    );
    assert_eq!(
        col(&r, |l| l.net),
        vec![dec!(16.66), dec!(16.67), dec!(16.67)]
    );
    // 16.66 × 13/113 = 1.91664 -> 1.92; 16.67 × 13/113 = 1.91779 -> 1.92
    assert_eq!(col(&r, |l| l.tax), vec![dec!(1.92); 3]);
    assert_eq!(r.totals.order_discount, dec!(10.00));
    assert_eq!(r.totals.discount_total, dec!(10.00));
    assert_eq!(r.totals.total, dec!(50.00));
}

#[test]
fn order_discount_percent_largest_remainder_beats_position() {
    // 10 % of 27.00 = 2.70 over 12.34 / 5.67 / 8.99:
    // exact shares 123.4 / 56.7 / 89.9 fen -> floors 123 / 56 / 89 (268), the two missing fen
    // go to the largest remainders (lines 3 and 2), not to the first line.
    let lines = vec![
        line(dec!(12.34), dec!(1), dec!(0.13)),
        line(dec!(5.67), dec!(1), dec!(0.09)),
        line(dec!(8.99), dec!(1), dec!(0.06)),
    ];
    let r = price(
        &lines,
        Some(&DiscountValue::Percent(dec!(10))),
        &s(TaxMode::Inclusive, TaxRounding::PerLine),
    );
    check_invariants(&r);
    assert_eq!(r.totals.order_discount, dec!(2.70));
    assert_eq!(
        col(&r, |l| l.order_discount),
        vec![dec!(1.23), dec!(0.57), dec!(0.90)]
    );
    assert_eq!(
        col(&r, |l| l.net),
        vec![dec!(11.11), dec!(5.10), dec!(8.09)]
    );
    // 11.11×13/113=1.27814 -> 1.28; 5.10×9/109=0.42110 -> 0.42; 8.09×6/106=0.45792 -> 0.46
    assert_eq!(col(&r, |l| l.tax), vec![dec!(1.28), dec!(0.42), dec!(0.46)]);
    assert_eq!(r.totals.tax, dec!(2.16));
    assert_eq!(r.totals.total, dec!(24.30));
}

#[test]
fn order_discount_is_allocated_on_amounts_after_line_discounts() {
    // Line 1: 10.00 − 10 % = 9.00; line 2: 3.00. 1.20 off splits 0.90 / 0.30 exactly.
    let lines = vec![
        with_discount(
            line(dec!(10.00), dec!(1), dec!(0.13)),
            DiscountValue::Percent(dec!(10)),
        ),
        line(dec!(3.00), dec!(1), dec!(0.13)),
    ];
    let r = price(
        &lines,
        Some(&DiscountValue::Amount(dec!(1.20))),
        &s(TaxMode::Exclusive, TaxRounding::PerLine),
    );
    check_invariants(&r);
    assert_eq!(col(&r, |l| l.order_discount), vec![dec!(0.90), dec!(0.30)]);
    assert_eq!(col(&r, |l| l.net), vec![dec!(8.10), dec!(2.70)]);
    // 8.10 × 13 % = 1.053 -> 1.05; 2.70 × 13 % = 0.351 -> 0.35
    assert_eq!(col(&r, |l| l.tax), vec![dec!(1.05), dec!(0.35)]);
    assert_eq!(r.totals.total, dec!(12.20));
    assert_eq!(r.totals.discount_total, dec!(2.20));

    // An order discount larger than the order is capped: everything free, nothing negative.
    let r = price(
        &lines,
        Some(&DiscountValue::Amount(dec!(500))),
        &s(TaxMode::Exclusive, TaxRounding::PerOrder),
    );
    check_invariants(&r);
    assert_eq!(r.totals.order_discount, dec!(12.00));
    assert_eq!(col(&r, |l| l.net), vec![dec!(0), dec!(0)]);
    assert_eq!((r.totals.tax, r.totals.total), (dec!(0), dec!(0)));
}

#[test]
fn allocation_rule_examples() {
    assert_eq!(
        allocate(1000, &[2000, 2000, 2000]).unwrap(),
        vec![334, 333, 333]
    );
    assert_eq!(allocate(270, &[1234, 567, 899]).unwrap(), vec![123, 57, 90]);
    // Tie between different weights: 2 over 1:3 -> 0.5 / 1.5, same remainder, earlier wins.
    assert_eq!(allocate(2, &[1, 3]).unwrap(), vec![1, 1]);
    assert_eq!(allocate(2, &[3, 1]).unwrap(), vec![2, 0]);
    assert_eq!(allocate(0, &[]).unwrap(), Vec::<i64>::new());
    assert_eq!(allocate(3, &[]), Err(AllocError::NothingToAllocateOver(3)));
    assert_eq!(allocate(1, &[-1, 2]), Err(AllocError::Negative));
}

#[test]
fn line_order_can_move_a_tied_fen_and_change_the_tax() {
    // Documented consequence of "ties to the earlier line": two equal lines at different rates
    // and a 0.01 order discount. The fen goes to whichever line comes first, so the per-rate
    // tax (and, in exclusive mode, the order total) depends on the order the items were rung.
    let a = line(dec!(1.04), dec!(1), dec!(0.13));
    let b = line(dec!(1.04), dec!(1), dec!(0));
    let d = DiscountValue::Amount(dec!(0.01));
    let st = s(TaxMode::Exclusive, TaxRounding::PerLine);
    let ab = price(&[a.clone(), b.clone()], Some(&d), &st);
    let ba = price(&[b, a], Some(&d), &st);
    check_invariants(&ab);
    check_invariants(&ba);
    // a first: a net 1.03, tax 0.1339 -> 0.13; b first: a net 1.04, tax 0.1352 -> 0.14.
    assert_eq!((ab.totals.tax, ab.totals.total), (dec!(0.13), dec!(2.20)));
    assert_eq!((ba.totals.tax, ba.totals.total), (dec!(0.14), dec!(2.21)));
    // Whatever the order, the discount itself and the amount before tax are the same.
    assert_eq!(ab.totals.order_discount, ba.totals.order_discount);
    assert_eq!(
        ab.lines.iter().map(|l| l.net).sum::<Decimal>(),
        ba.lines.iter().map(|l| l.net).sum::<Decimal>()
    );
}

#[test]
fn cart_prices_kg_lines_and_counts_items() {
    let st = settings();
    let mut cart = Cart::new("kg");
    let apples = product("APL", dec!(12.80), dec!(0.09), Unit::Kg);
    let milk = product("MLK", dec!(6.50), dec!(0.13), Unit::Piece);
    cart.add_product(&apples, dec!(0.355), None).unwrap();
    cart.add_product(&milk, dec!(2), None).unwrap();
    let p = cart.price(&st);
    // 12.80 × 0.355 = 4.544 -> 4.54; 4.54 × 9/109 = 0.37486 -> 0.37; 13.00 × 13/113 = 1.49558 -> 1.50
    let gross: Vec<Decimal> = p.lines.iter().map(|l| l.amounts.gross).collect();
    assert_eq!(gross, vec![dec!(4.54), dec!(13.00)]);
    let tax: Vec<Decimal> = p.lines.iter().map(|l| l.amounts.tax).collect();
    assert_eq!(tax, vec![dec!(0.37), dec!(1.50)]);
    assert_eq!(p.totals.total, dec!(17.54));
    assert_eq!(p.totals.tax, dec!(1.87));
    assert_eq!(p.item_count, dec!(3));
    assert_eq!(p.payment.remaining, dec!(17.54));
}
