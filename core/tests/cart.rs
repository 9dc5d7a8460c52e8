//! Cart: scanning, quantities, overrides and approvals, voids, the payment lock, parking.

mod common;

use common::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tillstone_core::auth::{Action, AuthError, Role};
use tillstone_core::cart::{Cart, CartError, MAX_LINE_QTY};
use tillstone_core::catalog::{Product, Unit};
use tillstone_core::money::RoundingMode;
use tillstone_core::settings::{TaxMode, TaxRounding};
use tillstone_core::tender::TenderKind;

fn milk() -> Product {
    product("MLK", dec!(6.50), dec!(0.13), Unit::Piece)
}

fn apples() -> Product {
    product("APL", dec!(12.80), dec!(0.09), Unit::Kg)
}

fn tea() -> Product {
    product("TEA", dec!(20.00), dec!(0.13), Unit::Piece)
}

fn qtys(cart: &Cart) -> Vec<(u32, Decimal)> {
    cart.lines.iter().map(|l| (l.line_id, l.qty)).collect()
}

#[test]
fn repeated_piece_scans_merge_into_one_line() {
    let mut cart = Cart::new("c1");
    let a = cart.add_product(&milk(), dec!(1), Some("69MLK")).unwrap();
    let b = cart.add_product(&milk(), dec!(1), Some("69MLK")).unwrap();
    let c = cart.add_product(&milk(), dec!(3), None).unwrap();
    assert_eq!((a, b, c), (1, 1, 1));
    assert_eq!(qtys(&cart), vec![(1, dec!(5))]);
    assert_eq!(cart.lines[0].barcode.as_deref(), Some("69MLK"));
    assert_eq!(cart.price(&settings()).totals.total, dec!(32.50));

    // Weighed items never merge: each weighing is its own line.
    let k1 = cart.add_product(&apples(), dec!(0.5), None).unwrap();
    let k2 = cart.add_product(&apples(), dec!(0.5), None).unwrap();
    assert_eq!((k1, k2), (2, 3));

    // A new shelf price starts a new line.
    let mut dearer = milk();
    dearer.price = dec!(6.90);
    assert_eq!(cart.add_product(&dearer, dec!(1), None).unwrap(), 4);
    assert_eq!(cart.lines.len(), 4);
}

#[test]
fn scans_do_not_merge_into_discounted_overridden_or_voided_lines() {
    let st = settings();
    let mut cart = Cart::new("c1");
    let l1 = cart.add_product(&milk(), dec!(1), None).unwrap();
    cart.discount_line(l1, Some(pct(dec!(10), "临期")), &cashier(), None, &st)
        .unwrap();
    let l2 = cart.add_product(&milk(), dec!(1), None).unwrap();
    assert_ne!(l1, l2);
    cart.override_price(l2, dec!(5.00), "price match", &manager(), None, &st)
        .unwrap();
    let l3 = cart.add_product(&milk(), dec!(1), None).unwrap();
    assert!(l3 != l1 && l3 != l2);
    cart.void_line(l3).unwrap();
    let l4 = cart.add_product(&milk(), dec!(2), None).unwrap();
    assert_eq!(l4, 4);
    assert_eq!(
        qtys(&cart),
        vec![(1, dec!(1)), (2, dec!(1)), (3, dec!(1)), (4, dec!(2))]
    );
    // 6.50 − 0.65 + 5.00 + 13.00
    assert_eq!(cart.price(&st).totals.total, dec!(23.85));
}

#[test]
fn weighed_quantities_have_at_most_three_decimals_pieces_are_whole() {
    let mut cart = Cart::new("c1");
    cart.add_product(&apples(), dec!(0.355), None).unwrap();
    cart.add_product(&apples(), dec!(1.2), None).unwrap();
    cart.add_product(&milk(), dec!(2.000), None).unwrap();
    assert_eq!(
        cart.add_product(&apples(), dec!(0.3555), None),
        Err(CartError::InvalidQuantity {
            qty: dec!(0.3555),
            unit: Unit::Kg,
            why: "weights have at most 3 decimals (grams)"
        })
    );
    assert!(matches!(
        cart.add_product(&milk(), dec!(1.5), None),
        Err(CartError::InvalidQuantity {
            unit: Unit::Piece,
            ..
        })
    ));
    for bad in [dec!(0), dec!(-1), dec!(0.000)] {
        assert!(matches!(
            cart.add_product(&apples(), bad, None),
            Err(CartError::InvalidQuantity { .. })
        ));
    }
    let p = cart.price(&settings());
    // 12.80 × 0.355 = 4.544 -> 4.54; 12.80 × 1.2 = 15.36; 2 × 6.50
    let gross: Vec<Decimal> = p.lines.iter().map(|l| l.amounts.gross).collect();
    assert_eq!(gross, vec![dec!(4.54), dec!(15.36), dec!(13.00)]);
    assert_eq!(p.item_count, dec!(4));
    // set_qty follows the same rules
    assert!(cart.set_qty(1, dec!(0.0001)).is_err());
    cart.set_qty(1, dec!(0.5)).unwrap();
    assert!(cart.set_qty(3, dec!(2.5)).is_err());
    cart.set_qty(3, dec!(4)).unwrap();
    assert_eq!(
        qtys(&cart),
        vec![(1, dec!(0.5)), (2, dec!(1.2)), (3, dec!(4))]
    );
    assert_eq!(cart.set_qty(42, dec!(1)), Err(CartError::LineNotFound(42)));
}

#[test]
fn quantity_limit() {
    let max = Decimal::from(MAX_LINE_QTY);
    let mut cart = Cart::new("c1");
    let id = cart.add_product(&milk(), max, None).unwrap();
    // Merging a further scan would exceed the limit: refused, the line is unchanged.
    assert!(matches!(
        cart.add_product(&milk(), dec!(1), None),
        Err(CartError::InvalidQuantity { .. })
    ));
    assert_eq!(qtys(&cart), vec![(id, max)]);
    assert!(matches!(
        cart.set_qty(id, max + dec!(1)),
        Err(CartError::InvalidQuantity {
            why: "it is larger than 9999",
            ..
        })
    ));
    assert!(matches!(
        cart.add_product(&apples(), dec!(9999.001), None),
        Err(CartError::InvalidQuantity { .. })
    ));
    cart.add_product(&apples(), dec!(9999.000), None).unwrap();
}

#[test]
fn price_override_needs_a_manager_for_cashiers() {
    let st = settings();
    let mut cart = Cart::new("c1");
    let id = cart.add_product(&tea(), dec!(2), None).unwrap();
    let before = cart.clone();

    assert_eq!(
        cart.override_price(id, dec!(15.00), "damaged box", &cashier(), None, &st),
        Err(CartError::Auth(AuthError::ApprovalRequired(
            Action::PriceOverride
        )))
    );
    let other_cashier = actor("c002", Role::Cashier);
    assert_eq!(
        cart.override_price(
            id,
            dec!(15.00),
            "damaged box",
            &cashier(),
            Some(&other_cashier),
            &st
        ),
        Err(CartError::Auth(AuthError::ApproverNotManager))
    );
    assert_eq!(
        cart.override_price(
            id,
            dec!(15.00),
            "damaged box",
            &actor("i1", Role::Installer),
            Some(&manager()),
            &st
        ),
        Err(CartError::Auth(AuthError::Denied(
            Role::Installer,
            Action::PriceOverride
        )))
    );
    assert_eq!(
        cart.override_price(id, dec!(15.00), "  ", &cashier(), Some(&manager()), &st),
        Err(CartError::ReasonRequired)
    );
    for bad in [dec!(-1), dec!(15.001)] {
        assert_eq!(
            cart.override_price(id, bad, "x", &cashier(), Some(&manager()), &st),
            Err(CartError::InvalidPrice(bad, 2))
        );
    }
    assert_eq!(cart, before, "failed attempts change nothing");

    cart.override_price(
        id,
        dec!(15.00),
        " damaged box ",
        &cashier(),
        Some(&manager()),
        &st,
    )
    .unwrap();
    assert_eq!(cart.overrides.len(), 1);
    let o = &cart.overrides[0];
    assert_eq!(o.action, Action::PriceOverride);
    assert_eq!(
        (o.requested_by.as_str(), o.approved_by.as_str()),
        ("c001", "m001")
    );
    assert!(o.detail.contains("20.00 -> 15.00"), "{}", o.detail);
    let line = &cart.lines[0];
    assert_eq!(line.price_override.as_ref().unwrap().reason, "damaged box");
    assert_eq!(line.unit_price(), dec!(15.00));
    assert_eq!(line.list_price, dec!(20.00));
    let p = cart.price(&st);
    assert_eq!(p.lines[0].unit_price, dec!(15.00));
    assert_eq!(p.totals.total, dec!(30.00));

    // A manager overriding on their own needs no approval and records no override.
    cart.override_price(id, dec!(0), "gift", &manager(), None, &st)
        .unwrap();
    assert_eq!(cart.overrides.len(), 1);
    assert_eq!(cart.price(&st).totals.total, dec!(0));
}

#[test]
fn large_line_discount_needs_a_manager() {
    let st = settings(); // threshold 20 %
    let mut cart = Cart::new("c1");
    let id = cart.add_product(&tea(), dec!(1), None).unwrap();

    // At the threshold: fine for a cashier, nothing recorded.
    cart.discount_line(id, Some(pct(dec!(20), "会员")), &cashier(), None, &st)
        .unwrap();
    cart.discount_line(id, Some(amount(dec!(4.00), "会员")), &cashier(), None, &st)
        .unwrap();
    assert!(cart.overrides.is_empty());

    // 25 % as a percentage or as an amount (5.00 of 20.00).
    for d in [pct(dec!(25), "damaged"), amount(dec!(5.00), "damaged")] {
        assert_eq!(
            cart.discount_line(id, Some(d.clone()), &cashier(), None, &st),
            Err(CartError::Auth(AuthError::ApprovalRequired(
                Action::LargeDiscount
            )))
        );
    }
    assert_eq!(
        cart.lines[0].discount,
        Some(amount(dec!(4.00), "会员")),
        "a refused discount leaves the old one"
    );
    cart.discount_line(
        id,
        Some(pct(dec!(25), "damaged")),
        &cashier(),
        Some(&manager()),
        &st,
    )
    .unwrap();
    assert_eq!(cart.overrides.len(), 1);
    let o = &cart.overrides[0];
    assert_eq!(o.action, Action::LargeDiscount);
    assert_eq!(
        (o.requested_by.as_str(), o.approved_by.as_str()),
        ("c001", "m001")
    );
    assert_eq!(cart.price(&st).totals.total, dec!(15.00));

    // Validation.
    for bad in [
        pct(dec!(0), "x"),
        pct(dec!(101), "x"),
        amount(dec!(0), "x"),
        amount(dec!(0.001), "x"),
    ] {
        assert!(matches!(
            cart.discount_line(id, Some(bad), &manager(), None, &st),
            Err(CartError::InvalidDiscount(..))
        ));
    }
    assert_eq!(
        cart.discount_line(id, Some(pct(dec!(5), " ")), &manager(), None, &st),
        Err(CartError::ReasonRequired)
    );
    // Clearing needs nobody.
    cart.discount_line(id, None, &cashier(), None, &st).unwrap();
    assert_eq!(cart.price(&st).totals.total, dec!(20.00));
}

#[test]
fn large_order_discount_needs_a_manager() {
    let st = settings();
    let mut cart = Cart::new("c1");
    assert_eq!(
        cart.discount_order(Some(pct(dec!(5), "x")), &cashier(), None, &st),
        Err(CartError::Empty)
    );
    cart.add_product(&tea(), dec!(5), None).unwrap(); // 100.00
    cart.discount_order(Some(amount(dec!(20.00), "会员日")), &cashier(), None, &st)
        .unwrap();
    assert_eq!(
        cart.discount_order(Some(pct(dec!(30), "x")), &cashier(), None, &st),
        Err(CartError::Auth(AuthError::ApprovalRequired(
            Action::LargeDiscount
        )))
    );
    assert_eq!(
        cart.discount_order(Some(amount(dec!(21.00), "x")), &cashier(), None, &st),
        Err(CartError::Auth(AuthError::ApprovalRequired(
            Action::LargeDiscount
        )))
    );
    cart.discount_order(
        Some(pct(dec!(30), "店庆")),
        &cashier(),
        Some(&manager()),
        &st,
    )
    .unwrap();
    assert_eq!(cart.overrides.len(), 1);
    assert_eq!(cart.price(&st).totals.total, dec!(70.00));
}

#[test]
fn order_discount_threshold_is_measured_on_the_discounted_base() {
    // The order discount applies to the amount after line discounts and before tax; the
    // approval threshold must be measured on that same base.
    let mut st = settings_with(
        TaxMode::Exclusive,
        TaxRounding::PerLine,
        RoundingMode::HalfUp,
        None,
    );
    st.large_discount_percent = dec!(20);
    let mut cart = Cart::new("c1");
    cart.add_product(&tea(), dec!(5), None).unwrap(); // 100.00 + 13 % = 113.00
    // 21.00 off 100.00 is 21 %: above the threshold even though it is 18.6 % of 113.00.
    assert_eq!(
        cart.discount_order(Some(amount(dec!(21.00), "x")), &cashier(), None, &st),
        Err(CartError::Auth(AuthError::ApprovalRequired(
            Action::LargeDiscount
        )))
    );

    // Replacing an approved order discount is measured against the undiscounted order, not
    // against the total that already has the old discount taken off.
    let st = settings();
    let mut cart = Cart::new("c2");
    cart.add_product(&tea(), dec!(5), None).unwrap(); // 100.00
    cart.discount_order(
        Some(amount(dec!(50.00), "清仓")),
        &cashier(),
        Some(&manager()),
        &st,
    )
    .unwrap();
    cart.discount_order(Some(amount(dec!(15.00), "会员")), &cashier(), None, &st)
        .unwrap();
    assert_eq!(cart.overrides.len(), 1);
    assert_eq!(cart.price(&st).totals.total, dec!(85.00));
}

#[test]
fn voided_line_counts_for_nothing() {
    let st = settings();
    let mut cart = Cart::new("c1");
    let a = cart.add_product(&tea(), dec!(1), None).unwrap();
    let b = cart.add_product(&milk(), dec!(2), None).unwrap();
    let c = cart.add_product(&apples(), dec!(0.5), None).unwrap();
    cart.discount_order(Some(amount(dec!(2.00), "x")), &cashier(), None, &st)
        .unwrap();
    cart.void_line(b).unwrap();
    let p = cart.price(&st);
    assert_eq!(p.lines.len(), 3, "the voided line stays visible");
    assert!(p.lines[1].line.voided);
    let z = &p.lines[1].amounts;
    assert_eq!(
        (
            z.gross,
            z.line_discount,
            z.order_discount,
            z.net,
            z.tax,
            z.total
        ),
        (dec!(0), dec!(0), dec!(0), dec!(0), dec!(0), dec!(0))
    );
    // 20.00 + 6.40: 2.00 off splits 151.52 / 48.48 fen -> 1.52 / 0.48 (largest remainder)
    let od: Vec<Decimal> = p.lines.iter().map(|l| l.amounts.order_discount).collect();
    assert_eq!(od, vec![dec!(1.52), dec!(0), dec!(0.48)]);
    assert_eq!(p.totals.subtotal, dec!(26.40));
    assert_eq!(p.totals.total, dec!(24.40));
    assert_eq!(p.item_count, dec!(2));
    assert_eq!(cart.void_line(b), Err(CartError::LineVoided(b)));
    assert_eq!(cart.set_qty(b, dec!(1)), Err(CartError::LineVoided(b)));
    assert_eq!(
        cart.discount_line(b, None, &manager(), None, &st),
        Err(CartError::LineVoided(b))
    );
    cart.void_line(a).unwrap();
    cart.void_line(c).unwrap();
    assert!(cart.is_empty());
    let p = cart.price(&st);
    assert_eq!((p.totals.total, p.item_count), (dec!(0), dec!(0)));
    assert_eq!(cart.ready_to_complete(&st), Err(CartError::Empty));
    assert_eq!(
        cart.add_tender(TenderKind::Cash, dec!(10), None, &st),
        Err(CartError::Empty)
    );
}

#[test]
fn lines_are_locked_once_a_tender_exists() {
    let st = settings();
    let mut cart = Cart::new("c1");
    let id = cart.add_product(&tea(), dec!(1), None).unwrap();
    let t = cart
        .add_tender(TenderKind::Card, dec!(5), None, &st)
        .unwrap();
    let locked = cart.clone();
    let m = manager();
    assert_eq!(
        cart.add_product(&milk(), dec!(1), None),
        Err(CartError::PaymentStarted)
    );
    assert_eq!(
        cart.add_product(&tea(), dec!(1), None),
        Err(CartError::PaymentStarted)
    );
    assert_eq!(cart.set_qty(id, dec!(2)), Err(CartError::PaymentStarted));
    assert_eq!(cart.void_line(id), Err(CartError::PaymentStarted));
    assert_eq!(
        cart.override_price(id, dec!(1), "x", &m, None, &st),
        Err(CartError::PaymentStarted)
    );
    assert_eq!(
        cart.discount_line(id, Some(pct(dec!(5), "x")), &m, None, &st),
        Err(CartError::PaymentStarted)
    );
    assert_eq!(
        cart.discount_order(Some(pct(dec!(5), "x")), &m, None, &st),
        Err(CartError::PaymentStarted)
    );
    assert_eq!(cart, locked);
    assert_eq!(cart.remove_tender(99), Err(CartError::TenderNotFound(99)));
    cart.remove_tender(t).unwrap();
    cart.set_qty(id, dec!(2)).unwrap();
    assert_eq!(cart.price(&st).totals.total, dec!(40.00));
}

#[test]
fn parked_cart_survives_a_serde_round_trip() {
    let st = settings();
    let mut cart = Cart::new("park-1");
    cart.member_id = Some("M-8848".into());
    let a = cart.add_product(&tea(), dec!(3), Some("69TEA")).unwrap();
    cart.add_product(&apples(), dec!(0.755), None).unwrap();
    let c = cart.add_product(&milk(), dec!(1), None).unwrap();
    cart.override_price(
        a,
        dec!(18.88),
        "价格匹配",
        &cashier(),
        Some(&manager()),
        &st,
    )
    .unwrap();
    cart.discount_line(c, Some(amount(dec!(0.50), "临期")), &cashier(), None, &st)
        .unwrap();
    cart.discount_order(Some(pct(dec!(12.5), "会员日")), &cashier(), None, &st)
        .unwrap();
    let v = cart
        .add_product(&product("X", dec!(1), dec!(0), Unit::Piece), dec!(1), None)
        .unwrap();
    cart.void_line(v).unwrap();
    cart.add_tender(
        TenderKind::Alipay,
        dec!(10.00),
        Some("2025030122001".into()),
        &st,
    )
    .unwrap();

    let json = serde_json::to_string(&cart).unwrap();
    let back: Cart = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cart);
    assert_eq!(back.price(&st), cart.price(&st));
    // Amounts are stored as strings, never as floats.
    assert!(json.contains("\"18.88\""), "{json}");
    // Ids keep counting after the round trip.
    let mut back = back;
    back.remove_tender(1).unwrap();
    assert_eq!(back.add_product(&tea(), dec!(1), None).unwrap(), 5);
}

#[test]
fn a_discount_that_grows_above_the_threshold_needs_approval_again() {
    let st = settings();
    let mut cart = Cart::new("c");
    let p = product("A", dec!(10.00), dec!(0.13), Unit::Piece);
    let id = cart.add_product(&p, dec!(10), None).unwrap();
    // 15.00 off 100.00 is 15 %: within the cashier's limit.
    cart.discount_line(
        id,
        Some(amount(dec!(15.00), "dented")),
        &cashier(),
        None,
        &st,
    )
    .unwrap();
    // Down to one item, 15.00 off 10.00 is 100 %: paying and completing need a manager.
    cart.set_qty(id, dec!(1)).unwrap();
    let err = cart
        .add_tender(TenderKind::Cash, dec!(10), None, &st)
        .unwrap_err();
    assert_eq!(
        err,
        CartError::Auth(AuthError::ApprovalRequired(Action::LargeDiscount))
    );
    // A manager re-applies it: approved, and the sale can be paid.
    cart.discount_line(
        id,
        Some(amount(dec!(15.00), "dented")),
        &cashier(),
        Some(&manager()),
        &st,
    )
    .unwrap();
    assert_eq!(
        cart.lines[0]
            .discount
            .as_ref()
            .unwrap()
            .approved_by
            .as_deref(),
        Some("m001")
    );
    cart.add_tender(TenderKind::Cash, dec!(0.01), None, &st)
        .expect_err("nothing is due on a fully discounted line");
}

#[test]
fn an_approved_discount_covers_the_approved_percentage_only() {
    let st = settings();
    let mut cart = Cart::new("c");
    let a = cart
        .add_product(
            &product("A", dec!(70.00), dec!(0.13), Unit::Piece),
            dec!(1),
            None,
        )
        .unwrap();
    cart.add_product(
        &product("B", dec!(30.00), dec!(0.13), Unit::Piece),
        dec!(1),
        None,
    )
    .unwrap();
    // The manager approves 30.00 off 100.00 (30 %).
    cart.discount_order(
        Some(amount(dec!(30.00), "vip")),
        &cashier(),
        Some(&manager()),
        &st,
    )
    .unwrap();
    let d = cart.order_discount.as_ref().unwrap();
    assert_eq!(
        (d.approved_by.as_deref(), d.approved_percent),
        (Some("m001"), Some(dec!(30)))
    );
    // Voiding the 70.00 line would make the same 30.00 a 100 % discount: approval again.
    cart.void_line(a).unwrap();
    assert_eq!(
        cart.add_tender(TenderKind::Cash, dec!(1), None, &st)
            .unwrap_err(),
        CartError::Auth(AuthError::ApprovalRequired(Action::LargeDiscount))
    );
}

#[test]
fn an_approved_price_covers_the_approved_quantity_only() {
    let st = settings();
    let mut cart = Cart::new("c");
    let id = cart
        .add_product(
            &product("A", dec!(25.00), dec!(0.13), Unit::Piece),
            dec!(1),
            None,
        )
        .unwrap();
    cart.add_product(
        &product("B", dec!(5.00), dec!(0.13), Unit::Piece),
        dec!(1),
        None,
    )
    .unwrap();
    cart.override_price(id, dec!(0.00), "damaged", &cashier(), Some(&manager()), &st)
        .unwrap();
    let o = cart.lines[0].price_override.as_ref().unwrap();
    assert_eq!((o.approved_by.as_str(), o.approved_qty), ("m001", dec!(1)));
    // Fifty damaged units at 0.00 were never approved.
    cart.set_qty(id, dec!(50)).unwrap();
    assert_eq!(
        cart.add_tender(TenderKind::Cash, dec!(5), None, &st)
            .unwrap_err(),
        CartError::Auth(AuthError::ApprovalRequired(Action::PriceOverride))
    );
    cart.set_qty(id, dec!(1)).unwrap();
    cart.add_tender(TenderKind::Cash, dec!(5), None, &st)
        .unwrap();
}
