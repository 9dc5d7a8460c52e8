//! Tenders: cash and change, quick cash, card / Alipay / WeChat Pay, split tender, over-tender.

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tillstone_core::cart::{Cart, CartError};
use tillstone_core::catalog::Unit;
use tillstone_core::sale::{SaleKind, complete_sale, receipt_barcode, receipt_no_from_input};
use tillstone_core::tender::{TenderKind, applied_amounts, quick_cash};

/// A cart of 37.50: 2 × 12.50 (13 %) + 12.50 (9 %).
fn cart() -> Cart {
    let mut c = Cart::new("t");
    c.add_product(
        &product("A", dec!(12.50), dec!(0.13), Unit::Piece),
        dec!(2),
        None,
    )
    .unwrap();
    c.add_product(
        &product("B", dec!(12.50), dec!(0.09), Unit::Piece),
        dec!(1),
        None,
    )
    .unwrap();
    c
}

fn applied(sale: &tillstone_core::sale::Sale) -> Vec<(TenderKind, Decimal, Decimal)> {
    sale.tenders
        .iter()
        .map(|t| (t.kind, t.amount, t.applied))
        .collect()
}

#[test]
fn cash_gives_change_and_quick_cash_offers_notes() {
    let st = settings();
    let mut c = cart();
    let p = c.price(&st).payment;
    assert_eq!(
        (p.due, p.remaining, p.cash_due),
        (dec!(37.50), dec!(37.50), dec!(37.50))
    );
    assert_eq!(
        quick_cash(p.cash_due, 2),
        vec![dec!(37.50), dec!(38), dec!(40), dec!(50), dec!(100)]
    );
    assert_eq!(
        quick_cash(dec!(0.35), 2),
        vec![dec!(0.35), dec!(1), dec!(5), dec!(10), dec!(20)]
    );
    assert_eq!(quick_cash(dec!(50), 2), vec![dec!(50), dec!(60), dec!(100)]);
    assert_eq!(quick_cash(dec!(0), 2), vec![dec!(0)]);

    let sale = pay_and_complete(
        &mut c,
        &[(TenderKind::Cash, dec!(100))],
        &st,
        ctx_simple("S1"),
    );
    assert_eq!(sale.kind, SaleKind::Sale);
    assert_eq!(sale.change, dec!(62.50));
    assert_eq!(sale.rounding, dec!(0));
    assert_eq!(
        applied(&sale),
        vec![(TenderKind::Cash, dec!(100), dec!(37.50))]
    );
    assert_eq!(sale.settled(), dec!(37.50));
    assert_eq!(sale.currency, "CNY");
    assert_eq!(sale.tax_summary.len(), 2);
}

#[test]
fn card_and_wallets() {
    let st = settings();
    let mut c = cart();
    assert_eq!(
        c.add_tender(TenderKind::Card, dec!(37.51), None, &st),
        Err(CartError::OverTender {
            kind: TenderKind::Card,
            remaining: dec!(37.50)
        })
    );
    for kind in [TenderKind::Alipay, TenderKind::WechatPay] {
        assert_eq!(
            c.add_tender(kind, dec!(10), None, &st),
            Err(CartError::ReferenceRequired(kind))
        );
        assert_eq!(
            c.add_tender(kind, dec!(10), Some("   ".into()), &st),
            Err(CartError::ReferenceRequired(kind))
        );
        assert!(matches!(
            c.add_tender(kind, dec!(40), Some("ref".into()), &st),
            Err(CartError::OverTender { .. })
        ));
    }
    assert!(c.tenders.is_empty());
    c.add_tender(TenderKind::Alipay, dec!(10), Some(" 2025A1 ".into()), &st)
        .unwrap();
    c.add_tender(
        TenderKind::WechatPay,
        dec!(7.50),
        Some("4200W2".into()),
        &st,
    )
    .unwrap();
    assert_eq!(c.tenders[0].reference.as_deref(), Some("2025A1"));
    let p = c.price(&st).payment;
    assert_eq!(
        (p.paid, p.remaining, p.change),
        (dec!(17.50), dec!(20.00), dec!(0))
    );
    // A card for more than the rest is refused; exactly the rest is fine.
    assert!(matches!(
        c.add_tender(TenderKind::Card, dec!(20.01), None, &st),
        Err(CartError::OverTender { remaining, .. }) if remaining == dec!(20.00)
    ));
    let sale = pay_and_complete(
        &mut c,
        &[(TenderKind::Card, dec!(20.00))],
        &st,
        ctx_simple("S"),
    );
    assert_eq!(sale.change, dec!(0));
    assert_eq!(
        applied(&sale),
        vec![
            (TenderKind::Alipay, dec!(10), dec!(10)),
            (TenderKind::WechatPay, dec!(7.50), dec!(7.50)),
            (TenderKind::Card, dec!(20.00), dec!(20.00)),
        ]
    );
    assert_eq!(sale.tenders[1].reference.as_deref(), Some("4200W2"));
    assert_eq!(sale.tenders[2].reference, None);
}

#[test]
fn split_tender_change_only_from_cash() {
    let st = settings();
    // Card first, then cash over the rest: change from the cash.
    let mut c = cart();
    let sale = pay_and_complete(
        &mut c,
        &[(TenderKind::Card, dec!(20)), (TenderKind::Cash, dec!(20))],
        &st,
        ctx_simple("S1"),
    );
    assert_eq!(sale.change, dec!(2.50));
    assert_eq!(
        applied(&sale),
        vec![
            (TenderKind::Card, dec!(20), dec!(20)),
            (TenderKind::Cash, dec!(20), dec!(17.50)),
        ]
    );
    assert_eq!(
        sale.tenders.iter().map(|t| t.applied).sum::<Decimal>(),
        sale.settled()
    );

    // Cash first, then a card that would leave change: refused.
    let mut c = cart();
    c.add_tender(TenderKind::Cash, dec!(20), None, &st).unwrap();
    assert_eq!(
        c.add_tender(TenderKind::Card, dec!(20), None, &st),
        Err(CartError::OverTender {
            kind: TenderKind::Card,
            remaining: dec!(17.50)
        })
    );
    c.add_tender(TenderKind::Card, dec!(17.50), None, &st)
        .unwrap();
    assert_eq!(
        c.add_tender(TenderKind::Cash, dec!(1), None, &st),
        Err(CartError::NothingDue)
    );
    let sale = complete_sale(&c, &st, ctx_simple("S2")).unwrap();
    assert_eq!(sale.change, dec!(0));

    // Change taken back from the last cash tender first.
    assert_eq!(
        applied_amounts(&c.tenders, dec!(0)),
        vec![dec!(20), dec!(17.50)]
    );
}

#[test]
fn short_payment_cannot_complete_and_amounts_are_checked() {
    let st = settings();
    let mut c = cart();
    for bad in [dec!(0), dec!(-5), dec!(1.001)] {
        assert_eq!(
            c.add_tender(TenderKind::Cash, bad, None, &st),
            Err(CartError::InvalidAmount(bad, 2))
        );
    }
    c.add_tender(TenderKind::Cash, dec!(30), None, &st).unwrap();
    let p = c.price(&st).payment;
    assert_eq!((p.remaining, p.change), (dec!(7.50), dec!(0)));
    assert_eq!(
        complete_sale(&c, &st, ctx_simple("S")),
        Err(CartError::NotPaid {
            remaining: dec!(7.50)
        })
    );
    c.add_tender(TenderKind::Cash, dec!(10), None, &st).unwrap();
    let p = c.price(&st).payment;
    assert_eq!((p.remaining, p.change), (dec!(0), dec!(2.50)));
    let sale = complete_sale(&c, &st, ctx_simple("S")).unwrap();
    // The change comes back from the last cash tender.
    assert_eq!(
        applied(&sale),
        vec![
            (TenderKind::Cash, dec!(30), dec!(30)),
            (TenderKind::Cash, dec!(10), dec!(7.50)),
        ]
    );
    assert!(sale.change >= Decimal::ZERO);
}

#[test]
fn free_cart_completes_without_tenders() {
    let st = settings();
    let mut c = cart();
    c.discount_order(Some(pct(dec!(100), "赠品")), &manager(), None, &st)
        .unwrap();
    assert_eq!(
        c.add_tender(TenderKind::Cash, dec!(1), None, &st),
        Err(CartError::NothingDue)
    );
    let sale = complete_sale(&c, &st, ctx_simple("FREE")).unwrap();
    assert_eq!(
        (sale.totals.total, sale.settled(), sale.tenders.len()),
        (dec!(0), dec!(0), 0)
    );
}

#[test]
fn completed_sale_drops_voided_lines_and_keeps_the_context() {
    let st = settings();
    let mut c = cart();
    c.void_line(2).unwrap();
    let sale = pay_and_complete(
        &mut c,
        &[(TenderKind::Cash, dec!(25))],
        &st,
        ctx_simple("S9"),
    );
    assert_eq!(sale.lines.len(), 1);
    assert_eq!(sale.lines[0].line.line_id, 1);
    assert_eq!(sale.totals.total, dec!(25.00));
    assert_eq!(sale.ctx.receipt_no, "R-S9");
    assert_eq!(receipt_barcode("R-S9"), "RCR-S9");
    assert_eq!(receipt_no_from_input(" RCR-S9 "), "R-S9");
    assert_eq!(receipt_no_from_input("R-S9"), "R-S9");
    let json = serde_json::to_string(&sale).unwrap();
    let back: tillstone_core::sale::Sale = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sale);
}

#[test]
fn card_after_cash_pays_exactly_the_rest_of_the_total_with_cash_rounding() {
    // 615.94 with 0.05 cash rounding. The customer hands 0.62 in coins first, the rest by card.
    let mut st = settings();
    st.cash_rounding = Some(dec!(0.05));
    let mut c = Cart::new("r");
    c.add_product(
        &product("A", dec!(615.94), dec!(0.13), Unit::Piece),
        dec!(1),
        None,
    )
    .unwrap();
    c.add_tender(TenderKind::Cash, dec!(0.62), None, &st)
        .unwrap();
    let p = c.price(&st).payment;
    // All-cash view: 615.94 -> 615.95, 615.33 still due.
    assert_eq!((p.due, p.remaining), (dec!(615.95), dec!(615.33)));
    // A card cannot take the cash rounding: the card pays up to the unrounded total.
    assert_eq!(
        c.add_tender(TenderKind::Card, dec!(615.33), None, &st),
        Err(CartError::OverTender {
            kind: TenderKind::Card,
            remaining: dec!(615.32)
        })
    );
    // ...and exactly that amount is accepted: the cash part 0.62 rounds to 0.60, 0.02 change.
    c.add_tender(TenderKind::Card, dec!(615.32), None, &st)
        .unwrap();
    let sale = complete_sale(&c, &st, ctx_simple("S")).unwrap();
    assert_eq!(
        (sale.rounding, sale.change, sale.settled()),
        (dec!(-0.02), dec!(0.02), dec!(615.92))
    );
    assert_eq!(
        applied(&sale),
        vec![
            (TenderKind::Cash, dec!(0.62), dec!(0.60)),
            (TenderKind::Card, dec!(615.32), dec!(615.32)),
        ]
    );

    // Rounding up: 10.03, cash 5 first. The card pays 5.03, not the all-cash 5.05.
    let mut c = Cart::new("r2");
    c.add_product(
        &product("A", dec!(10.03), dec!(0.13), Unit::Piece),
        dec!(1),
        None,
    )
    .unwrap();
    c.add_tender(TenderKind::Cash, dec!(5), None, &st).unwrap();
    assert_eq!(c.price(&st).payment.remaining, dec!(5.05));
    assert!(matches!(
        c.add_tender(TenderKind::Card, dec!(5.05), None, &st),
        Err(CartError::OverTender { remaining, .. }) if remaining == dec!(5.03)
    ));
    c.add_tender(TenderKind::Card, dec!(5.03), None, &st)
        .unwrap();
    let sale = complete_sale(&c, &st, ctx_simple("S2")).unwrap();
    assert_eq!(
        (sale.rounding, sale.change, sale.settled()),
        (dec!(0), dec!(0), dec!(10.03))
    );
}
