//! Money: rounding modes, minor units and cash rounding (on cash tenders only).

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tillstone_core::cart::Cart;
use tillstone_core::catalog::Unit;
use tillstone_core::money::{RoundingMode, from_minor, round, round_to_step, to_minor};
use tillstone_core::pricing::{LineInput, price};
use tillstone_core::settings::{TaxMode, TaxRounding};
use tillstone_core::tender::TenderKind;

#[test]
fn half_up_rounds_midpoints_away_from_zero_half_even_to_even() {
    for (x, up, even) in [
        (dec!(0.125), dec!(0.13), dec!(0.12)),
        (dec!(0.135), dec!(0.14), dec!(0.14)),
        (dec!(2.345), dec!(2.35), dec!(2.34)),
        (dec!(2.355), dec!(2.36), dec!(2.36)),
        (dec!(-0.125), dec!(-0.13), dec!(-0.12)),
        (dec!(0.1249), dec!(0.12), dec!(0.12)),
        (dec!(0.1251), dec!(0.13), dec!(0.13)),
    ] {
        assert_eq!(round(x, 2, RoundingMode::HalfUp), up, "half-up {x}");
        assert_eq!(round(x, 2, RoundingMode::HalfEven), even, "half-even {x}");
    }
    assert_eq!(to_minor(dec!(0.125), 2, RoundingMode::HalfUp), 13);
    assert_eq!(to_minor(dec!(0.125), 2, RoundingMode::HalfEven), 12);
    assert_eq!(from_minor(-5, 2), dec!(-0.05));
    assert_eq!(from_minor(100, 2).to_string(), "1.00");
    assert_eq!(RoundingMode::default(), RoundingMode::HalfUp);
}

#[test]
fn rounding_mode_decides_a_weighed_line_at_half_a_fen() {
    // 1.00 / kg × 0.125 kg = 0.125 exactly: half-up 0.13, half-even 0.12.
    let line = LineInput {
        qty: dec!(0.125),
        unit_price: dec!(1.00),
        tax_rate: Decimal::ZERO,
        discount: None,
    };
    let up = settings_with(
        TaxMode::Inclusive,
        TaxRounding::PerLine,
        RoundingMode::HalfUp,
        None,
    );
    let even = settings_with(
        TaxMode::Inclusive,
        TaxRounding::PerLine,
        RoundingMode::HalfEven,
        None,
    );
    assert_eq!(
        price(std::slice::from_ref(&line), None, &up).totals.total,
        dec!(0.13)
    );
    assert_eq!(price(&[line], None, &even).totals.total, dec!(0.12));

    // Tax at a midpoint: exclusive 10% of 0.25 = 0.025 -> 0.03 / 0.02.
    let taxed = LineInput {
        qty: dec!(1),
        unit_price: dec!(0.25),
        tax_rate: dec!(0.10),
        discount: None,
    };
    let mut up_ex = up.clone();
    up_ex.tax_mode = TaxMode::Exclusive;
    let mut even_ex = even.clone();
    even_ex.tax_mode = TaxMode::Exclusive;
    let r = price(std::slice::from_ref(&taxed), None, &up_ex);
    assert_eq!((r.totals.tax, r.totals.total), (dec!(0.03), dec!(0.28)));
    let r = price(&[taxed], None, &even_ex);
    assert_eq!((r.totals.tax, r.totals.total), (dec!(0.02), dec!(0.27)));
}

#[test]
fn cash_rounding_steps() {
    for (x, five, ten) in [
        (dec!(10.00), dec!(10.00), dec!(10.00)),
        (dec!(10.01), dec!(10.00), dec!(10.00)),
        (dec!(10.02), dec!(10.00), dec!(10.00)),
        (dec!(10.03), dec!(10.05), dec!(10.00)),
        (dec!(10.04), dec!(10.05), dec!(10.00)),
        (dec!(10.05), dec!(10.05), dec!(10.10)),
        (dec!(10.06), dec!(10.05), dec!(10.10)),
        (dec!(10.07), dec!(10.05), dec!(10.10)),
        (dec!(10.08), dec!(10.10), dec!(10.10)),
        (dec!(10.09), dec!(10.10), dec!(10.10)),
    ] {
        assert_eq!(round_to_step(x, dec!(0.05)), five, "0.05 step of {x}");
        assert_eq!(round_to_step(x, dec!(0.10)), ten, "0.10 step of {x}");
    }
    assert_eq!(round_to_step(dec!(10.03), Decimal::ZERO), dec!(10.03));
    assert_eq!(round_to_step(dec!(10.03), dec!(0.05)).to_string(), "10.05");
}

fn cart_of(total: Decimal) -> Cart {
    let mut cart = Cart::new("cash-round");
    cart.add_product(&product("A", total, dec!(0.13), Unit::Piece), dec!(1), None)
        .unwrap();
    cart
}

#[test]
fn cash_rounding_is_a_separate_line_on_cash_only() {
    let mut s = settings();
    s.cash_rounding = Some(dec!(0.05));

    // Nothing tendered yet: total unrounded, cash would pay 10.05.
    let cart = cart_of(dec!(10.03));
    let p = cart.price(&s).payment;
    assert_eq!(
        (p.total, p.rounding, p.due, p.remaining, p.cash_due),
        (dec!(10.03), dec!(0), dec!(10.03), dec!(10.03), dec!(10.05))
    );

    // All cash: rounding line +0.02, due 10.05, change from 20.
    let mut cart = cart_of(dec!(10.03));
    let sale = pay_and_complete(
        &mut cart,
        &[(TenderKind::Cash, dec!(20))],
        &s,
        ctx_simple("S1"),
    );
    assert_eq!(sale.totals.total, dec!(10.03));
    assert_eq!(sale.rounding, dec!(0.02));
    assert_eq!(sale.change, dec!(9.95));
    assert_eq!(sale.settled(), dec!(10.05));
    assert_eq!(sale.tenders[0].applied, dec!(10.05));

    // Card only: never rounded.
    let mut cart = cart_of(dec!(10.03));
    let sale = pay_and_complete(
        &mut cart,
        &[(TenderKind::Card, dec!(10.03))],
        &s,
        ctx_simple("S2"),
    );
    assert_eq!((sale.rounding, sale.settled()), (dec!(0), dec!(10.03)));

    // Split: card 5.00 + cash; only the cash part 5.03 rounds (to 5.05).
    let mut cart = cart_of(dec!(10.03));
    cart.add_tender(TenderKind::Card, dec!(5.00), None, &s)
        .unwrap();
    let p = cart.price(&s).payment;
    assert_eq!(
        (p.remaining, p.cash_due, p.rounding),
        (dec!(5.03), dec!(5.05), dec!(0))
    );
    let sale = pay_and_complete(
        &mut cart,
        &[(TenderKind::Cash, dec!(5.05))],
        &s,
        ctx_simple("S3"),
    );
    assert_eq!(
        (sale.rounding, sale.change, sale.settled()),
        (dec!(0.02), dec!(0), dec!(10.05))
    );
    let applied: Vec<Decimal> = sale.tenders.iter().map(|t| t.applied).collect();
    assert_eq!(applied, vec![dec!(5.00), dec!(5.05)]);

    // Step 0.10 rounds 10.03 down: cash 10.00 pays it exactly.
    s.cash_rounding = Some(dec!(0.10));
    let mut cart = cart_of(dec!(10.03));
    let sale = pay_and_complete(
        &mut cart,
        &[(TenderKind::Cash, dec!(10.00))],
        &s,
        ctx_simple("S4"),
    );
    assert_eq!(
        (sale.rounding, sale.change, sale.settled()),
        (dec!(-0.03), dec!(0), dec!(10.00))
    );

    // Split at 0.10: card 4.96 leaves 5.07 in cash, rounded to 5.10.
    let mut cart = cart_of(dec!(10.03));
    let sale = pay_and_complete(
        &mut cart,
        &[(TenderKind::Card, dec!(4.96)), (TenderKind::Cash, dec!(10))],
        &s,
        ctx_simple("S5"),
    );
    assert_eq!(
        (sale.rounding, sale.change, sale.settled()),
        (dec!(0.03), dec!(4.90), dec!(10.06))
    );
    let applied: Vec<Decimal> = sale.tenders.iter().map(|t| t.applied).collect();
    assert_eq!(applied, vec![dec!(4.96), dec!(5.10)]);
}
