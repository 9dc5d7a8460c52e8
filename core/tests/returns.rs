//! Returns: exact proration of partial returns, refunds back to the original tenders (cash
//! rounding included), limits, and returns without a receipt.

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use tillstone_core::cart::Cart;
use tillstone_core::catalog::Unit;
use tillstone_core::money::RoundingMode;
use tillstone_core::returns::{
    ReturnError, ReturnLine, build_return, build_unreceipted_return, returnable,
};
use tillstone_core::sale::{Sale, SaleKind};
use tillstone_core::settings::{StoreSettings, TaxMode, TaxRounding};
use tillstone_core::tender::TenderKind;

/// Line 1: 3 × 3.33 (13 %) − 10 % = 8.99; line 2: 0.355 kg × 12.80 (9 %) = 4.54;
/// 1.00 off the order -> 0.66 / 0.34 (remainders 602 vs 751 of 1353).
/// Nets 8.33 / 4.20, tax 0.96 / 0.35, total 12.53.
fn sale_cart(st: &StoreSettings) -> Cart {
    let mut c = Cart::new("sale");
    let l1 = c
        .add_product(
            &product_in("A", dec!(3.33), dec!(0.13), Unit::Piece, "snacks"),
            dec!(3),
            None,
        )
        .unwrap();
    c.add_product(
        &product_in("B", dec!(12.80), dec!(0.09), Unit::Kg, "fruit"),
        dec!(0.355),
        None,
    )
    .unwrap();
    c.discount_line(l1, Some(pct(dec!(10), "促销")), &cashier(), None, st)
        .unwrap();
    c.discount_order(Some(amount(dec!(1.00), "会员")), &cashier(), None, st)
        .unwrap();
    c
}

fn sale_with(st: &StoreSettings, tenders: &[(TenderKind, Decimal)]) -> Sale {
    let mut c = sale_cart(st);
    pay_and_complete(&mut c, tenders, st, ctx_simple("S1"))
}

fn rl(line_id: u32, qty: Decimal) -> ReturnLine {
    ReturnLine { line_id, qty }
}

fn ret(original: &Sale, prior: &[Sale], lines: &[ReturnLine], st: &StoreSettings) -> Sale {
    let id = format!("R{}", prior.len() + 1);
    build_return(original, prior, lines, st, ctx_simple(&id)).unwrap()
}

type Amounts = (Decimal, Decimal, Decimal, Decimal, Decimal, Decimal);

fn amounts_of(s: &Sale, line_id: u32) -> Amounts {
    let a = &s
        .lines
        .iter()
        .find(|l| l.line.line_id == line_id)
        .unwrap()
        .amounts;
    (
        a.gross,
        a.line_discount,
        a.order_discount,
        a.net,
        a.tax,
        a.total,
    )
}

fn tenders(s: &Sale) -> Vec<(TenderKind, Decimal)> {
    s.tenders.iter().map(|t| (t.kind, t.applied)).collect()
}

#[test]
fn the_sale_under_test() {
    let st = settings();
    let s = sale_with(&st, &[(TenderKind::Cash, dec!(20))]);
    assert_eq!(
        amounts_of(&s, 1),
        (
            dec!(9.99),
            dec!(1.00),
            dec!(0.66),
            dec!(8.33),
            dec!(0.96),
            dec!(8.33)
        )
    );
    assert_eq!(
        amounts_of(&s, 2),
        (
            dec!(4.54),
            dec!(0),
            dec!(0.34),
            dec!(4.20),
            dec!(0.35),
            dec!(4.20)
        )
    );
    assert_eq!(
        (s.totals.total, s.totals.tax, s.change),
        (dec!(12.53), dec!(1.31), dec!(7.47))
    );
}

#[test]
fn partial_returns_of_one_line_add_up_to_the_line_exactly() {
    let st = settings();
    let sale = sale_with(&st, &[(TenderKind::Cash, dec!(20))]);
    let mut prior = Vec::new();

    let r1 = ret(&sale, &prior, &[rl(1, dec!(1))], &st);
    assert_eq!(r1.kind, SaleKind::Return);
    assert_eq!(r1.original.as_ref().unwrap().sale_id, "S1");
    assert_eq!(r1.original.as_ref().unwrap().receipt_no, "R-S1");
    // cumulative round(A × k / 3): total 2.78, tax 0.32, line disc 0.33, order disc 0.22
    assert_eq!(
        amounts_of(&r1, 1),
        (
            dec!(3.33),
            dec!(0.33),
            dec!(0.22),
            dec!(2.78),
            dec!(0.32),
            dec!(2.78)
        )
    );
    assert_eq!(
        (r1.totals.total, r1.rounding, r1.settled()),
        (dec!(2.78), dec!(0), dec!(2.78))
    );
    assert_eq!(tenders(&r1), vec![(TenderKind::Cash, dec!(2.78))]);
    prior.push(r1);
    assert_eq!(
        returnable(&sale, &prior),
        BTreeMap::from([(1, dec!(2)), (2, dec!(0.355))])
    );

    let r2 = ret(&sale, &prior, &[rl(1, dec!(1))], &st);
    // round(8.33 × 2/3) = 5.55 -> 2.77; line discount round(2/3) = 0.67 -> 0.34
    assert_eq!(
        amounts_of(&r2, 1),
        (
            dec!(3.33),
            dec!(0.34),
            dec!(0.22),
            dec!(2.77),
            dec!(0.32),
            dec!(2.77)
        )
    );
    assert_eq!(tenders(&r2), vec![(TenderKind::Cash, dec!(2.77))]);
    prior.push(r2);

    // Cannot take back more than is left.
    assert_eq!(
        build_return(&sale, &prior, &[rl(1, dec!(2))], &st, ctx_simple("X")),
        Err(ReturnError::QtyExceeds {
            line_id: 1,
            requested: dec!(2),
            returnable: dec!(1)
        })
    );

    // The last unit of line 1 and all of line 2: completes the sale.
    let r3 = ret(&sale, &prior, &[rl(2, dec!(0.355)), rl(1, dec!(1))], &st);
    assert_eq!(
        amounts_of(&r3, 1),
        (
            dec!(3.33),
            dec!(0.33),
            dec!(0.22),
            dec!(2.78),
            dec!(0.32),
            dec!(2.78)
        )
    );
    assert_eq!(
        amounts_of(&r3, 2),
        (
            dec!(4.54),
            dec!(0),
            dec!(0.34),
            dec!(4.20),
            dec!(0.35),
            dec!(4.20)
        )
    );
    assert_eq!((r3.totals.total, r3.totals.tax), (dec!(6.98), dec!(0.67)));
    let rows: Vec<_> = r3
        .tax_summary
        .iter()
        .map(|t| (t.rate, t.taxable, t.tax, t.total))
        .collect();
    assert_eq!(
        rows,
        vec![
            (dec!(0.09), dec!(3.85), dec!(0.35), dec!(4.20)),
            (dec!(0.13), dec!(2.46), dec!(0.32), dec!(2.78)),
        ]
    );
    assert_eq!(tenders(&r3), vec![(TenderKind::Cash, dec!(6.98))]);
    prior.push(r3);

    // Everything on line 1 added up: exactly the line, discounts and tax included.
    let sum = |f: fn(&Amounts) -> Decimal| -> Decimal {
        prior.iter().map(|r| f(&amounts_of(r, 1))).sum()
    };
    assert_eq!(
        (
            sum(|a| a.0),
            sum(|a| a.1),
            sum(|a| a.2),
            sum(|a| a.3),
            sum(|a| a.4),
            sum(|a| a.5)
        ),
        amounts_of(&sale, 1)
    );
    let refunded: Decimal = prior.iter().map(Sale::settled).sum();
    assert_eq!(refunded, sale.settled());
    assert_eq!(
        returnable(&sale, &prior),
        BTreeMap::from([(1, dec!(0)), (2, dec!(0))])
    );
    assert_eq!(
        build_return(&sale, &prior, &[rl(2, dec!(0.001))], &st, ctx_simple("X")),
        Err(ReturnError::QtyExceeds {
            line_id: 2,
            requested: dec!(0.001),
            returnable: dec!(0)
        })
    );
}

#[test]
fn partial_weight_return_then_the_rest() {
    let st = settings();
    let sale = sale_with(&st, &[(TenderKind::Cash, dec!(20))]);
    let r1 = ret(&sale, &[], &[rl(2, dec!(0.100))], &st);
    // 4.20 × 0.1/0.355 = 1.1831 -> 1.18; tax 0.0986 -> 0.10; order disc 0.0958 -> 0.10
    assert_eq!(
        amounts_of(&r1, 2),
        (
            dec!(1.28),
            dec!(0),
            dec!(0.10),
            dec!(1.18),
            dec!(0.10),
            dec!(1.18)
        )
    );
    let r2 = ret(&sale, std::slice::from_ref(&r1), &[rl(2, dec!(0.255))], &st);
    assert_eq!(
        amounts_of(&r2, 2),
        (
            dec!(3.26),
            dec!(0),
            dec!(0.24),
            dec!(3.02),
            dec!(0.25),
            dec!(3.02)
        )
    );
    // Line 1 untouched: this return does not complete the sale.
    assert_eq!(tenders(&r2), vec![(TenderKind::Cash, dec!(3.02))]);
}

#[test]
fn full_return_in_one_go_mirrors_the_sale() {
    let st = settings();
    let sale = sale_with(
        &st,
        &[
            (TenderKind::Card, dec!(5.00)),
            (TenderKind::Alipay, dec!(7.53)),
        ],
    );
    let r = ret(&sale, &[], &[rl(1, dec!(3)), rl(2, dec!(0.355))], &st);
    assert_eq!(r.totals, sale.totals);
    assert_eq!(r.tax_summary, sale.tax_summary);
    assert_eq!(
        tenders(&r),
        vec![
            (TenderKind::Card, dec!(5.00)),
            (TenderKind::Alipay, dec!(7.53))
        ]
    );
    assert_eq!(r.tenders[1].reference.as_deref(), Some("REF1"));
    assert_eq!(r.tenders[1].tender_id, sale.tenders[1].tender_id);
    assert_eq!(r.settled(), sale.settled());
}

#[test]
fn partial_refund_is_split_over_the_original_tenders() {
    let st = settings();
    let sale = sale_with(
        &st,
        &[
            (TenderKind::Card, dec!(5.00)),
            (TenderKind::Alipay, dec!(7.53)),
        ],
    );
    // 2.78 over 5.00 : 7.53 -> 110.93 / 167.07 fen -> 1.11 / 1.67
    let r1 = ret(&sale, &[], &[rl(1, dec!(1))], &st);
    assert_eq!(
        tenders(&r1),
        vec![
            (TenderKind::Card, dec!(1.11)),
            (TenderKind::Alipay, dec!(1.67))
        ]
    );
    assert_eq!(r1.rounding, dec!(0));
    let r2 = ret(
        &sale,
        std::slice::from_ref(&r1),
        &[rl(1, dec!(2)), rl(2, dec!(0.355))],
        &st,
    );
    assert_eq!(
        tenders(&r2),
        vec![
            (TenderKind::Card, dec!(3.89)),
            (TenderKind::Alipay, dec!(5.86))
        ]
    );
    assert_eq!(r1.settled() + r2.settled(), dec!(12.53));
}

#[test]
fn cash_rounding_on_refunds_and_the_final_return_settles_exactly() {
    let mut st = settings();
    st.cash_rounding = Some(dec!(0.05));
    let sale = sale_with(&st, &[(TenderKind::Cash, dec!(20))]);
    assert_eq!(
        (sale.rounding, sale.change, sale.settled()),
        (dec!(0.02), dec!(7.45), dec!(12.55))
    );

    let r1 = ret(&sale, &[], &[rl(1, dec!(1))], &st);
    assert_eq!(
        (r1.totals.total, r1.rounding, r1.settled()),
        (dec!(2.78), dec!(0.02), dec!(2.80))
    );
    assert_eq!(tenders(&r1), vec![(TenderKind::Cash, dec!(2.80))]);
    let prior = vec![r1];
    let r2 = ret(&sale, &prior, &[rl(1, dec!(1))], &st);
    assert_eq!(
        (r2.totals.total, r2.rounding, r2.settled()),
        (dec!(2.77), dec!(-0.02), dec!(2.75))
    );
    let prior = vec![prior[0].clone(), r2];
    let r3 = ret(&sale, &prior, &[rl(1, dec!(1)), rl(2, dec!(0.355))], &st);
    // Completing return: exactly what is left on the cash tender.
    assert_eq!(
        (r3.totals.total, r3.rounding, r3.settled()),
        (dec!(6.98), dec!(0.02), dec!(7.00))
    );
    let all: Decimal = prior.iter().chain([&r3]).map(Sale::settled).sum();
    assert_eq!(all, dec!(12.55));
    let cash_back: Decimal = prior
        .iter()
        .chain([&r3])
        .flat_map(|r| &r.tenders)
        .map(|t| t.applied)
        .sum();
    assert_eq!(cash_back, sale.tenders[0].applied);
}

#[test]
fn split_tender_with_cash_rounding_only_rounds_the_cash_refund() {
    let mut st = settings();
    st.cash_rounding = Some(dec!(0.05));
    let sale = sale_with(
        &st,
        &[(TenderKind::Card, dec!(5.00)), (TenderKind::Cash, dec!(10))],
    );
    assert_eq!(
        tenders(&sale),
        vec![
            (TenderKind::Card, dec!(5.00)),
            (TenderKind::Cash, dec!(7.55))
        ]
    );
    // 1.18 over 5.00 : 7.55 -> 47.01 / 70.99 fen -> 0.47 card, 0.71 cash -> cash rounded 0.70
    let r1 = ret(&sale, &[], &[rl(2, dec!(0.100))], &st);
    assert_eq!(
        tenders(&r1),
        vec![
            (TenderKind::Card, dec!(0.47)),
            (TenderKind::Cash, dec!(0.70))
        ]
    );
    assert_eq!((r1.rounding, r1.settled()), (dec!(-0.01), dec!(1.17)));
    let r2 = ret(
        &sale,
        std::slice::from_ref(&r1),
        &[rl(1, dec!(3)), rl(2, dec!(0.255))],
        &st,
    );
    assert_eq!(
        tenders(&r2),
        vec![
            (TenderKind::Card, dec!(4.53)),
            (TenderKind::Cash, dec!(6.85))
        ]
    );
    assert_eq!(r1.settled() + r2.settled(), sale.settled());
}

#[test]
fn exclusive_tax_partial_returns() {
    let st = settings_with(
        TaxMode::Exclusive,
        TaxRounding::PerLine,
        RoundingMode::HalfUp,
        None,
    );
    let mut c = Cart::new("ex");
    c.add_product(
        &product("A", dec!(3.33), dec!(0.13), Unit::Piece),
        dec!(3),
        None,
    )
    .unwrap();
    let sale = pay_and_complete(
        &mut c,
        &[(TenderKind::Card, dec!(11.29))],
        &st,
        ctx_simple("S1"),
    );
    assert_eq!(
        (sale.totals.tax, sale.totals.total),
        (dec!(1.30), dec!(11.29))
    );
    let mut prior = Vec::new();
    let mut got = Vec::new();
    for _ in 0..3 {
        let r = ret(&sale, &prior, &[rl(1, dec!(1))], &st);
        got.push(amounts_of(&r, 1));
        prior.push(r);
    }
    // totals 3.76 / 3.77 / 3.76, tax 0.43 / 0.44 / 0.43, net 3.33 each
    assert_eq!(
        got,
        vec![
            (
                dec!(3.33),
                dec!(0),
                dec!(0),
                dec!(3.33),
                dec!(0.43),
                dec!(3.76)
            ),
            (
                dec!(3.33),
                dec!(0),
                dec!(0),
                dec!(3.33),
                dec!(0.44),
                dec!(3.77)
            ),
            (
                dec!(3.33),
                dec!(0),
                dec!(0),
                dec!(3.33),
                dec!(0.43),
                dec!(3.76)
            ),
        ]
    );
    assert_eq!(
        prior.iter().map(Sale::settled).sum::<Decimal>(),
        dec!(11.29)
    );
}

#[test]
fn return_errors() {
    let st = settings();
    let mut c = sale_cart(&st);
    let voided = c
        .add_product(&product("V", dec!(1), dec!(0), Unit::Piece), dec!(1), None)
        .unwrap();
    c.void_line(voided).unwrap();
    let sale = pay_and_complete(
        &mut c,
        &[(TenderKind::Cash, dec!(20))],
        &st,
        ctx_simple("S1"),
    );
    let e =
        |lines: &[ReturnLine]| build_return(&sale, &[], lines, &st, ctx_simple("X")).unwrap_err();
    assert_eq!(e(&[]), ReturnError::NothingChosen);
    assert_eq!(
        e(&[rl(1, dec!(0)), rl(2, dec!(0))]),
        ReturnError::NothingChosen
    );
    assert_eq!(e(&[rl(99, dec!(1))]), ReturnError::LineNotInSale(99));
    assert_eq!(
        e(&[rl(voided, dec!(1))]),
        ReturnError::LineNotInSale(voided)
    );
    assert_eq!(
        e(&[rl(1, dec!(0.5))]),
        ReturnError::InvalidQuantity {
            line_id: 1,
            qty: dec!(0.5)
        }
    );
    assert_eq!(
        e(&[rl(2, dec!(0.0001))]),
        ReturnError::InvalidQuantity {
            line_id: 2,
            qty: dec!(0.0001)
        }
    );
    assert_eq!(
        e(&[rl(1, dec!(-1))]),
        ReturnError::InvalidQuantity {
            line_id: 1,
            qty: dec!(-1)
        }
    );
    assert_eq!(
        e(&[rl(1, dec!(4))]),
        ReturnError::QtyExceeds {
            line_id: 1,
            requested: dec!(4),
            returnable: dec!(3)
        }
    );
    // A negative entry cannot cancel another entry of the same line (that made an empty
    // return document, or silently returned less than listed).
    assert_eq!(
        e(&[rl(1, dec!(1)), rl(1, dec!(-1))]),
        ReturnError::InvalidQuantity {
            line_id: 1,
            qty: dec!(-1)
        }
    );
    assert_eq!(
        e(&[rl(1, dec!(3)), rl(1, dec!(-1))]),
        ReturnError::InvalidQuantity {
            line_id: 1,
            qty: dec!(-1)
        }
    );
    // The same line twice in one request counts together.
    assert_eq!(
        e(&[rl(1, dec!(2)), rl(1, dec!(2))]),
        ReturnError::QtyExceeds {
            line_id: 1,
            requested: dec!(4),
            returnable: dec!(3)
        }
    );
    let r = ret(&sale, &[], &[rl(1, dec!(1)), rl(1, dec!(1))], &st);
    assert_eq!(r.lines.len(), 1);
    assert_eq!(r.totals.total, dec!(5.55));
    // A return is not a sale.
    assert_eq!(
        build_return(&r, &[], &[rl(1, dec!(1))], &st, ctx_simple("X")),
        Err(ReturnError::NotASale("R-R1".into()))
    );
    // Returns of another sale do not count against this one.
    let mut other = r.clone();
    other.original.as_mut().unwrap().sale_id = "S-OTHER".into();
    assert_eq!(
        returnable(&sale, &[other]),
        BTreeMap::from([(1, dec!(3)), (2, dec!(0.355))])
    );
}

#[test]
fn unreceipted_return_at_todays_prices() {
    let mut st = settings();
    st.cash_rounding = Some(dec!(0.10));
    let mut c = Cart::new("noreceipt");
    c.add_product(
        &product_in("A", dec!(9.99), dec!(0.13), Unit::Piece, "snacks"),
        dec!(1),
        None,
    )
    .unwrap();
    let r = build_unreceipted_return(&c, TenderKind::Cash, &st, ctx_simple("U1")).unwrap();
    assert_eq!(r.kind, SaleKind::Return);
    assert_eq!(r.original, None);
    assert_eq!((r.totals.total, r.totals.tax), (dec!(9.99), dec!(1.15)));
    assert_eq!((r.rounding, r.settled()), (dec!(0.01), dec!(10.00)));
    assert_eq!(tenders(&r), vec![(TenderKind::Cash, dec!(10.00))]);

    let r = build_unreceipted_return(&c, TenderKind::Card, &st, ctx_simple("U2")).unwrap();
    assert_eq!((r.rounding, r.settled()), (dec!(0), dec!(9.99)));
    assert_eq!(tenders(&r), vec![(TenderKind::Card, dec!(9.99))]);

    let empty = Cart::new("e");
    assert_eq!(
        build_unreceipted_return(&empty, TenderKind::Cash, &st, ctx_simple("U3")),
        Err(ReturnError::NothingChosen)
    );
}
