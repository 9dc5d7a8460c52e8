//! Loyalty at the till (issue 4): points paying part of a sale (积分抵现) and coming back with
//! a return or a void, the member's coupon wallet, and tiers from lifetime points.

use rust_decimal::Decimal;
use tillstone_core::coupon::sign;
use tillstone_core::returns::ReturnLine;
use tillstone_core::tender::TenderKind;
use tillstone_terminal::setup::demo_issuer;

/// An expensive enough piece product (≥ ¥30) for the tests.
fn dear_barcode(t: &tillstone_terminal::Terminal) -> (String, Decimal) {
    t.store()
        .connection()
        .query_row(
            "SELECT b.barcode, p.price_minor FROM product p JOIN barcode b ON b.sku = p.sku
             WHERE p.unit = 'piece' AND p.price_minor >= 3000 AND p.active = 1
             ORDER BY p.price_minor, p.sku LIMIT 1",
            [],
            |r| Ok((r.get::<_, String>(0)?, Decimal::new(r.get::<_, i64>(1)?, 2))),
        )
        .expect("a product of at least 30.00")
}

#[test]
fn points_pay_part_of_a_sale_and_come_back_with_returns_and_voids() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    let member = "M000001"; // gold, 12,800 points
    let before = t.member(&s, member).expect("member").points;
    assert_eq!(before, 12_800);
    let lifetime =
        |t: &tillstone_terminal::Terminal| t.member(&s, member).expect("member").lifetime_points;
    assert_eq!(lifetime(&t), 12_800);
    let (code, price) = dear_barcode(&t);

    let cart = t.new_cart(&s).expect("cart");
    t.scan(&s, &cart.cart_id, &code, Some(Decimal::from(2)))
        .expect("scan");
    // No member yet: points cannot pay.
    let err = t
        .add_points_tender(&s, &cart.cart_id, Some(500))
        .expect_err("no member");
    assert_eq!(err.code, "points_need_member");
    t.set_member(&s, &cart.cart_id, Some(member))
        .expect("member");
    // More than the balance is refused; the default uses what the rules allow.
    let err = t
        .add_points_tender(&s, &cart.cart_id, Some(before + 1))
        .expect_err("too many");
    assert_eq!(err.code, "not_enough_points");
    let view = t
        .add_points_tender(&s, &cart.cart_id, Some(1_050))
        .expect("points");
    let pts = view
        .tenders
        .iter()
        .find(|t| t.kind == TenderKind::Points)
        .expect("a points tender");
    assert_eq!((pts.points, pts.amount), (Some(1_000), Decimal::from(10)));
    t.add_tender(&s, &cart.cart_id, TenderKind::Cash, None, None)
        .expect("cash for the rest");
    let receipt = t.complete(&s, &cart.cart_id).expect("complete");
    let total = receipt.sale.totals.total;
    assert!(total >= price * Decimal::from(2) - Decimal::from(50));
    // Points earned only on what was not paid with points (gold earns at least 1 per yuan).
    let earned = receipt.sale.member_points;
    assert!(earned > 0 && Decimal::from(earned) <= (total - Decimal::from(10)) * Decimal::from(3));
    let after_sale = t.member(&s, member).expect("member").points;
    assert_eq!(after_sale, before - 1_000 + earned);
    // Only earning moves lifetime points (and the tier): paying with points does not lower it.
    assert_eq!(lifetime(&t), 12_800 + earned);
    // The receipt shows the points tender with its points.
    let doc = tillstone_terminal::receipt_doc::receipt_doc(
        &receipt,
        t.settings(),
        tillstone_terminal::receipt_doc::Lang::Zh,
    );
    assert!(
        doc.tenders
            .iter()
            .any(|l| l.label.contains("积分抵现") && l.label.contains("1000分")),
        "{:?}",
        doc.tenders
    );

    // Return one of two: about half the points come back, and half the earned are taken back.
    let half = t
        .return_lines(
            &s,
            &receipt.sale.ctx.receipt_no,
            &[ReturnLine {
                line_id: 1,
                qty: Decimal::ONE,
            }],
            None,
        )
        .expect("return");
    let back: i64 = half.sale.tenders.iter().filter_map(|t| t.points).sum();
    assert_eq!(back, 500);
    let after_return = t.member(&s, member).expect("member").points;
    assert_eq!(after_return, after_sale + 500 + half.sale.member_points);
    // Points given back are not earned again: lifetime loses only the earnings taken back.
    let lifetime_after_return = lifetime(&t);
    assert_eq!(
        lifetime_after_return,
        12_800 + earned + half.sale.member_points
    );

    // A second sale paid partly with points, post-voided: all its points come back.
    let cart = t.new_cart(&s).expect("cart");
    t.scan(&s, &cart.cart_id, &code, None).expect("scan");
    t.set_member(&s, &cart.cart_id, Some(member))
        .expect("member");
    t.add_points_tender(&s, &cart.cart_id, Some(700))
        .expect("points");
    t.add_tender(&s, &cart.cart_id, TenderKind::Card, None, Some("C9".into()))
        .expect("card");
    let second = t.complete(&s, &cart.cart_id).expect("complete");
    assert_ne!(t.member(&s, member).expect("member").points, after_return);
    let manager = t.login("9001", "9999").expect("manager");
    t.post_void(
        &manager,
        &second.sale.ctx.receipt_no,
        "customer changed mind",
        None,
    )
    .expect("void");
    assert_eq!(t.member(&s, member).expect("member").points, after_return);
    assert_eq!(
        lifetime(&t),
        lifetime_after_return,
        "a voided sale earns nothing"
    );
    // Without a receipt there is no member to give points to: refused with a clear reason.
    let (sku, _) = {
        let store = t.store();
        let p = store
            .product_by_barcode(&code)
            .expect("lookup")
            .expect("product");
        (p.sku, p.price)
    };
    let err = t
        .return_without_receipt(
            &manager,
            &[tillstone_terminal::app::ReturnItem {
                sku,
                qty: Decimal::ONE,
            }],
            TenderKind::Points,
            "customer lost the receipt",
            None,
            None,
        )
        .expect_err("points need the receipt");
    assert_eq!(err.code, "points_refund_needs_receipt");
    assert!(t.verify_journal().expect("journal").ok());
}

#[test]
fn the_wallet_shows_each_coupon_with_what_it_does_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    let member = "M000003";
    let issue = |campaign: u32, serial: u64, bound: Option<&str>| {
        sign(campaign, serial, bound, &demo_issuer())
            .expect("sign")
            .encode()
    };
    // Three coupons of ¥5 off 50 (one bound to another member), one forged.
    let mine = issue(1001, 9_001, Some(member));
    let second = issue(1001, 9_002, None);
    let other = issue(1001, 9_003, Some("M000001"));
    let mut forged = issue(1001, 9_004, None);
    forged.pop();
    forged.push(if second.ends_with('A') { 'B' } else { 'A' });
    t.store()
        .set_member_coupon_codes(
            member,
            &[mine.clone(), second.clone(), other.clone(), forged.clone()],
        )
        .expect("wallet");

    let status = |cart: Option<&str>| -> Vec<(String, String)> {
        t.member_wallet(&s, member, cart)
            .expect("wallet")
            .into_iter()
            .map(|w| (w.code, w.status))
            .collect()
    };
    let without_cart = status(None);
    assert_eq!(without_cart[0], (mine.clone(), "usable".to_string()));
    assert_eq!(without_cart[1], (second.clone(), "usable".to_string()));
    assert_eq!(without_cart[2].1, "wrong_member");
    assert!(
        ["bad_signature", "malformed"].contains(&without_cart[3].1.as_str()),
        "{without_cart:?}"
    );

    // Against a cart of ≥ 50 with the member: it applies, with the amount; once added, in_cart.
    let (code, _) = dear_barcode(&t);
    let cart = t.new_cart(&s).expect("cart");
    t.scan(&s, &cart.cart_id, &code, Some(Decimal::from(2)))
        .expect("scan");
    t.set_member(&s, &cart.cart_id, Some(member))
        .expect("member");
    let w = t
        .member_wallet(&s, member, Some(&cart.cart_id))
        .expect("wallet");
    assert_eq!(w[0].status, "applies", "{w:?}");
    assert_eq!(w[0].amount, Some(Decimal::from(5)));
    assert!(!w[0].name.is_empty());
    t.add_coupon(&s, &cart.cart_id, &mine).expect("add");
    assert_eq!(status(Some(&cart.cart_id))[0].1, "in_cart");
    t.add_tender(&s, &cart.cart_id, TenderKind::Cash, None, None)
        .expect("cash");
    t.complete(&s, &cart.cart_id).expect("complete");
    // Used: the wallet says so, with the reason.
    let w = t.member_wallet(&s, member, None).expect("wallet");
    assert_eq!(w[0].status, "already_used");
    assert!(!w[0].message_en.is_empty() && !w[0].message_zh.is_empty());
    assert_eq!(w[1].status, "usable");
    // An unknown member is a clear not-found.
    let err = t.member_wallet(&s, "M404", None).expect_err("unknown");
    assert_eq!(err.code, "member_not_found");
}

#[test]
fn tiers_follow_lifetime_points_earned_at_the_till() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    let member = "M000003"; // standard, 420 points; silver from 5,000 lifetime points
    let m = t.member(&s, member).expect("member");
    assert_eq!(m.tier, "standard");
    assert_eq!(m.next_tier.as_deref(), Some("silver"));
    let missing = m.points_to_next_tier.expect("missing points");
    assert_eq!(missing, 5_000 - m.lifetime_points);

    // Sell enough to reach silver (1 point per yuan for standard members).
    let (code, price) = dear_barcode(&t);
    let qty = (Decimal::from(missing) / price).ceil() + Decimal::ONE;
    let cart = t.new_cart(&s).expect("cart");
    t.scan(&s, &cart.cart_id, &code, Some(qty)).expect("scan");
    t.set_member(&s, &cart.cart_id, Some(member))
        .expect("member");
    t.add_tender(&s, &cart.cart_id, TenderKind::Card, None, Some("C1".into()))
        .expect("card");
    let receipt = t.complete(&s, &cart.cart_id).expect("complete");
    assert!(
        receipt.sale.member_points >= missing,
        "{}",
        receipt.sale.member_points
    );
    let m = t.member(&s, member).expect("member");
    assert_eq!(m.tier, "silver");
    assert_eq!(m.next_tier.as_deref(), Some("gold"));
    assert_eq!(m.lifetime_points, 420 + receipt.sale.member_points);
    // The member search shows the same tier.
    let found = t.search_members(&s, "18668001234", 5).expect("search");
    assert_eq!(found[0].tier, "silver");
}
