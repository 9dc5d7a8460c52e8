//! Shift reports: aggregation of documents and the cash drawer arithmetic.

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::HashSet;
use tillstone_core::cart::Cart;
use tillstone_core::catalog::{Product, Unit};
use tillstone_core::report::{
    Aggregates, Bucket, ReportHeader, ReportKind, ShiftCash, TaxRow, TenderRow, aggregate_docs,
    build_report, local_hour,
};
use tillstone_core::returns::{ReturnLine, build_return, build_unreceipted_return};
use tillstone_core::sale::Sale;
use tillstone_core::settings::StoreSettings;
use tillstone_core::tender::TenderKind;

fn tea() -> Product {
    product_in("TEA", dec!(20.00), dec!(0.13), Unit::Piece, "drinks")
}
fn apples() -> Product {
    product_in("APL", dec!(12.80), dec!(0.09), Unit::Kg, "fruit")
}
fn milk() -> Product {
    product_in("MLK", dec!(6.50), dec!(0.13), Unit::Piece, "dairy")
}

fn st() -> StoreSettings {
    let mut s = settings();
    s.cash_rounding = Some(dec!(0.05));
    s
}

/// A shift: three sales, one post-voided sale, a receipted and an unreceipted return.
fn shift_docs() -> (Vec<Sale>, HashSet<String>) {
    let st = st();
    // S1 09:30 local by c1: tea + 0.355 kg apples = 24.54, cash 30 (rounded to 24.55).
    let mut c = Cart::new("1");
    c.add_product(&tea(), dec!(1), None).unwrap();
    c.add_product(&apples(), dec!(0.355), None).unwrap();
    let s1 = pay_and_complete(
        &mut c,
        &[(TenderKind::Cash, dec!(30))],
        &st,
        ctx("S1", "c1", at(2025, 3, 1, 1, 30)),
    );
    // S2 10:10 local by c2: 2 milk = 13.00 − 10 % = 11.70 by card.
    let mut c = Cart::new("2");
    c.add_product(&milk(), dec!(2), None).unwrap();
    c.discount_order(Some(pct(dec!(10), "会员")), &cashier(), None, &st)
        .unwrap();
    let s2 = pay_and_complete(
        &mut c,
        &[(TenderKind::Card, dec!(11.70))],
        &st,
        ctx("S2", "c2", at(2025, 3, 1, 2, 10)),
    );
    // S3 09:45 local by c1: tea in cash, post-voided.
    let mut c = Cart::new("3");
    c.add_product(&tea(), dec!(1), None).unwrap();
    let s3 = pay_and_complete(
        &mut c,
        &[(TenderKind::Cash, dec!(20))],
        &st,
        ctx("S3", "c1", at(2025, 3, 1, 1, 45)),
    );
    // S4 00:30 local the next day (16:30 UTC) by c2: 1 kg apples by WeChat Pay.
    let mut c = Cart::new("4");
    c.add_product(&apples(), dec!(1.000), None).unwrap();
    let s4 = pay_and_complete(
        &mut c,
        &[(TenderKind::WechatPay, dec!(12.80))],
        &st,
        ctx("S4", "c2", at(2025, 3, 1, 16, 30)),
    );
    // R1 14:00 local by c1: the tea of S1 back in cash.
    let r1 = build_return(
        &s1,
        &[],
        &[ReturnLine {
            line_id: 1,
            qty: dec!(1),
        }],
        &st,
        ctx("R1", "c1", at(2025, 3, 1, 6, 0)),
    )
    .unwrap();
    // U1 11:00 local by c2: a milk without receipt, cash.
    let mut c = Cart::new("u");
    c.add_product(&milk(), dec!(1), None).unwrap();
    let u1 = build_unreceipted_return(
        &c,
        TenderKind::Cash,
        &st,
        ctx("U1", "c2", at(2025, 3, 1, 3, 0)),
    )
    .unwrap();
    (
        vec![s1, s2, s3, s4, r1, u1],
        HashSet::from(["S3".to_string()]),
    )
}

fn bucket(key: &str, count: u64, net: Decimal) -> Bucket {
    Bucket {
        key: key.into(),
        count,
        net,
    }
}

fn header() -> ReportHeader {
    ReportHeader {
        store_code: "HZ01".into(),
        terminal_id: "T1".into(),
        shift_id: "SH1".into(),
        shift_no: 3,
        opened_by: "c1".into(),
        opened_at: at(2025, 3, 1, 0, 0),
        at: at(2025, 3, 1, 17, 0),
        currency: "CNY".into(),
    }
}

#[test]
fn local_hours_are_utc_plus_8() {
    assert_eq!(local_hour(at(2025, 3, 1, 1, 30), 480), "09");
    assert_eq!(local_hour(at(2025, 3, 1, 15, 59), 480), "23");
    assert_eq!(local_hour(at(2025, 3, 1, 16, 0), 480), "00");
    assert_eq!(local_hour(at(2025, 3, 1, 16, 0), 0), "16");
}

#[test]
fn aggregates_of_a_shift() {
    let (docs, voided) = shift_docs();
    assert_eq!(docs[0].settled(), dec!(24.55));
    let a = aggregate_docs(&docs, &voided, &st());
    assert_eq!((a.sales_count, a.returns_count), (3, 2));
    assert_eq!((a.voided_count, a.voided_total), (1, dec!(20.00)));
    assert_eq!(a.gross_sales, dec!(50.34));
    assert_eq!(a.discounts, dec!(1.30));
    assert_eq!(a.sales_total, dec!(49.04));
    assert_eq!(a.returns_total, dec!(26.50));
    assert_eq!(a.rounding, dec!(0.01));
    assert_eq!(
        a.tax,
        vec![
            TaxRow {
                rate: dec!(0.09),
                taxable: dec!(15.91),
                tax: dec!(1.43),
                total: dec!(17.34)
            },
            TaxRow {
                rate: dec!(0.13),
                taxable: dec!(4.60),
                tax: dec!(0.60),
                total: dec!(5.20)
            },
        ]
    );
    assert_eq!(
        a.tax.iter().map(|t| t.total).sum::<Decimal>(),
        a.sales_total - a.returns_total
    );
    let row = |kind, sales, refunds, count| TenderRow {
        kind,
        sales,
        refunds,
        count,
    };
    assert_eq!(
        a.tenders,
        vec![
            row(TenderKind::Cash, dec!(24.55), dec!(26.50), 3),
            row(TenderKind::Card, dec!(11.70), dec!(0), 1),
            row(TenderKind::WechatPay, dec!(12.80), dec!(0), 1),
        ]
    );
    assert_eq!(
        a.by_hour,
        vec![
            bucket("00", 1, dec!(12.80)),
            bucket("09", 1, dec!(24.54)),
            bucket("10", 1, dec!(11.70)),
            bucket("11", 1, dec!(-6.50)),
            bucket("14", 1, dec!(-20.00)),
        ]
    );
    assert_eq!(
        a.by_category,
        vec![
            bucket("dairy", 2, dec!(5.20)),
            bucket("drinks", 2, dec!(0)),
            bucket("fruit", 2, dec!(17.34)),
        ]
    );
    assert_eq!(
        a.by_cashier,
        vec![bucket("c1", 2, dec!(4.54)), bucket("c2", 3, dec!(18.00))]
    );
    // Every amount has exactly two decimals.
    assert_eq!(a.returns_total.to_string(), "26.50");
    assert_eq!(a.by_category[1].net.to_string(), "0.00");
}

#[test]
fn voiding_changes_the_aggregates_by_exactly_that_sale() {
    let (docs, voided) = shift_docs();
    let with = aggregate_docs(&docs, &HashSet::new(), &st());
    let without = aggregate_docs(&docs, &voided, &st());
    assert_eq!(with.sales_count, without.sales_count + 1);
    assert_eq!(with.sales_total - without.sales_total, dec!(20.00));
    assert_eq!(with.voided_count, 0);
    let cash = |a: &Aggregates| {
        a.tenders
            .iter()
            .find(|t| t.kind == TenderKind::Cash)
            .unwrap()
            .sales
    };
    assert_eq!(cash(&with) - cash(&without), dec!(20.00));
    assert_eq!(with.by_hour[1], bucket("09", 2, dec!(44.54)));
}

#[test]
fn drawer_expected_cash_and_variance() {
    let (docs, voided) = shift_docs();
    let st = st();
    let a = aggregate_docs(&docs, &voided, &st);
    let cash = ShiftCash {
        opening_float: dec!(200.00),
        paid_in: dec!(50.00),
        paid_out: dec!(30.00),
        no_sale_count: 2,
        override_count: 1,
    };
    // 200 + 24.55 − 26.50 + 50 − 30 = 218.05
    let x = build_report(ReportKind::X, None, header(), a.clone(), &cash, None, &st);
    assert_eq!(x.cash.expected, dec!(218.05));
    assert_eq!(
        (x.cash.cash_sales, x.cash.cash_refunds),
        (dec!(24.55), dec!(26.50))
    );
    assert_eq!((x.cash.counted, x.cash.variance), (None, None));
    assert_eq!(x.net_sales, dec!(22.54));
    assert_eq!((x.no_sale_count, x.override_count, x.z_no), (2, 1, None));
    assert_eq!(x.agg, a);

    let short = build_report(
        ReportKind::Z,
        Some(7),
        header(),
        a.clone(),
        &cash,
        Some(dec!(218.00)),
        &st,
    );
    assert_eq!(short.cash.variance, Some(dec!(-0.05)));
    assert_eq!(short.z_no, Some(7));
    let over = build_report(
        ReportKind::Z,
        Some(7),
        header(),
        a,
        &cash,
        Some(dec!(220.00)),
        &st,
    );
    assert_eq!(over.cash.variance, Some(dec!(1.95)));

    // A shift with no documents expects just the float and the movements.
    let empty = aggregate_docs(&[], &HashSet::new(), &st);
    let r = build_report(
        ReportKind::X,
        None,
        header(),
        empty,
        &cash,
        Some(dec!(220)),
        &st,
    );
    assert_eq!(
        (r.cash.expected, r.cash.variance, r.net_sales),
        (dec!(220.00), Some(dec!(0)), dec!(0))
    );
}
