//! Coupons at the till with no network: HQ-signed codes are verified offline, refused with a
//! reason when they do not apply, redeemed once, given back by a full return, and printed.

use rust_decimal::Decimal;
use tillstone_core::coupon::sign;
use tillstone_core::returns::ReturnLine;
use tillstone_core::tender::TenderKind;
use tillstone_terminal::app::{CartView, Session, Terminal};
use tillstone_terminal::setup::demo_issuer;

fn code(campaign: u32, serial: u64, member: Option<&str>) -> String {
    sign(campaign, serial, member, &demo_issuer())
        .expect("sign")
        .encode()
}

fn sku(t: &Terminal, category: &str, min_price_minor: i64) -> (String, Decimal) {
    let store = t.store();
    store
        .connection()
        .query_row(
            "SELECT sku, price_minor FROM product WHERE category = ?1 AND unit = 'piece'
               AND price_minor >= ?2 ORDER BY price_minor, sku LIMIT 1",
            rusqlite::params![category, min_price_minor],
            |r| Ok((r.get::<_, String>(0)?, Decimal::new(r.get::<_, i64>(1)?, 2))),
        )
        .expect("a product")
}

fn refused(t: &Terminal, s: &Session, cart: &CartView, code: &str, reason: &str) {
    let err = t.add_coupon(s, &cart.cart_id, code).expect_err("refused");
    assert_eq!(err.code, reason, "{}", err.message);
    assert!(err.message.len() > 10);
    let after = t.cart(s, &cart.cart_id).expect("cart");
    assert!(
        after.coupons.is_empty() && after.coupon_problems.is_empty(),
        "a refused coupon is not kept"
    );
}

#[test]
fn coupons_offline_from_check_to_restore() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    let five_off = code(1001, 1, None);
    let (grain, price) = sku(&t, "粮油", 2000);

    // Below the threshold of 满50减5: refused, saying so.
    let cart = t.new_cart(&s).expect("cart");
    let cart = t
        .add_sku(&s, &cart.cart_id, &grain, Decimal::ONE)
        .expect("add");
    if price < Decimal::from(50) {
        refused(&t, &s, &cart, &five_off, "coupon_threshold_not_met");
    }
    // Forged and garbled codes.
    let mut forged = five_off.clone().into_bytes();
    let i = forged.len() - 5;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    refused(
        &t,
        &s,
        &cart,
        &String::from_utf8(forged).expect("ascii"),
        "coupon_bad_signature",
    );
    assert_eq!(
        t.add_coupon(&s, &cart.cart_id, "HELLO")
            .expect_err("garbage")
            .code,
        "coupon_malformed"
    );
    let other_key = sign(
        1001,
        1,
        None,
        &tillstone_core::coupon::IssuerKey::from_secret(1, &[7u8; 32]),
    )
    .expect("sign")
    .encode();
    refused(&t, &s, &cart, &other_key, "coupon_bad_signature");

    // Enough in the cart: 5.00 off, explained and allocated to the lines.
    let qty = (Decimal::from(60) / price).ceil();
    let cart = t.set_qty(&s, &cart.cart_id, 1, qty).expect("qty");
    let before = cart.priced.totals.total;
    let cart = t
        .add_coupon(&s, &cart.cart_id, &five_off.to_lowercase())
        .expect("coupon");
    assert_eq!(cart.coupons.len(), 1);
    assert_eq!(cart.coupons[0].amount, Decimal::from(5));
    assert_eq!(cart.priced.totals.total, before - Decimal::from(5));
    // Changing the cart re-checks it: still valid.
    let cart = t
        .set_qty(&s, &cart.cart_id, 1, qty + Decimal::ONE)
        .expect("qty");
    assert_eq!(cart.coupons.len(), 1);
    let cart = t
        .add_tender(&s, &cart.cart_id, TenderKind::Card, None, Some("C9".into()))
        .expect("pay");
    let sale = t.complete(&s, &cart.cart_id).expect("complete");
    assert_eq!(sale.sale.coupons.len(), 1);
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("receipt-coupon.png"),
        t.receipt_png(&s, &sale.sale.ctx.receipt_no, None, None)
            .expect("preview"),
    )
    .expect("save");

    // Single use: the same code again is refused, on this till, offline.
    let again = t.new_cart(&s).expect("cart");
    let again = t.add_sku(&s, &again.cart_id, &grain, qty).expect("add");
    refused(&t, &s, &again, &five_off, "coupon_already_used");

    // A full return gives the coupon back (the campaign allows it).
    t.return_lines(
        &s,
        &sale.sale.ctx.receipt_no,
        &sale
            .sale
            .lines
            .iter()
            .map(|l| ReturnLine {
                line_id: l.line.line_id,
                qty: l.line.qty,
            })
            .collect::<Vec<_>>(),
        None,
    )
    .expect("return");
    // Scanning the coupon's QR applies it like typing it.
    match t
        .scan(&s, &again.cart_id, &five_off, None)
        .expect("scan coupon")
    {
        tillstone_terminal::app::ScanOutcome::CouponAdded { cart } => {
            assert_eq!(cart.coupons.len(), 1)
        }
        other => panic!("{other:?}"),
    }

    // Members-only dairy coupon near West Lake: needs a member, then 20 % off (max 30).
    let (milk, milk_price) = sku(&t, "乳制品", 1000);
    let dairy = t.new_cart(&s).expect("cart");
    let dairy = t
        .add_sku(&s, &dairy.cart_id, &milk, Decimal::ONE)
        .expect("add");
    let member_code = code(1002, 7, None);
    refused(&t, &s, &dairy, &member_code, "coupon_needs_member");
    t.set_member(&s, &dairy.cart_id, Some("M000002"))
        .expect("member");
    let dairy = t
        .add_coupon(&s, &dairy.cart_id, &member_code)
        .expect("dairy coupon");
    // The members' 10 % dairy promotion comes first; the coupon takes 20 % of what is left.
    let after_promo = milk_price - (milk_price / Decimal::TEN).round_dp(2);
    assert_eq!(dairy.coupons[0].eligible, after_promo);
    let off = dairy.coupons[0].amount;
    assert_eq!(
        off,
        (after_promo * Decimal::new(2, 1))
            .round_dp(2)
            .min(Decimal::from(30))
    );
    // A second coupon of the same campaign in the same cart counts against the member's limit.
    let second = code(1002, 9, None);
    let err = t
        .add_coupon(&s, &dairy.cart_id, &second)
        .expect_err("limit 1 per member");
    assert_eq!(err.code, "coupon_member_limit_reached", "{}", err.message);

    // Two open carts holding the same single-use coupon: the first to complete wins, the
    // other is stopped at completion.
    let shared = code(1001, 77, None);
    let (grain2, price2) = sku(&t, "粮油", 2000);
    let q2 = (Decimal::from(60) / price2).ceil();
    let a = t.new_cart(&s).expect("cart a");
    t.add_sku(&s, &a.cart_id, &grain2, q2).expect("add");
    t.add_coupon(&s, &a.cart_id, &shared).expect("a accepts");
    let b = t.new_cart(&s).expect("cart b");
    t.add_sku(&s, &b.cart_id, &grain2, q2).expect("add");
    t.add_coupon(&s, &b.cart_id, &shared)
        .expect("b accepts too (not used yet)");
    t.add_tender(&s, &b.cart_id, TenderKind::Card, None, Some("B".into()))
        .expect("pay b");
    t.complete(&s, &b.cart_id).expect("b completes");
    t.add_tender(&s, &a.cart_id, TenderKind::Card, None, Some("A".into()))
        .expect("pay a");
    let err = t.complete(&s, &a.cart_id).expect_err("a is stopped");
    assert_eq!(err.code, "coupons_changed", "{}", err.message);

    // A post-void gives the coupon back even when refunds do not (the sale never happened).
    let manager = t.login("9001", "9999").expect("manager");
    let d2 = t.new_cart(&s).expect("cart");
    t.add_sku(&s, &d2.cart_id, &milk, Decimal::ONE)
        .expect("add");
    t.set_member(&s, &d2.cart_id, Some("M000005"))
        .expect("member");
    let ten = code(1002, 10, None);
    t.add_coupon(&s, &d2.cart_id, &ten).expect("coupon");
    t.add_tender(&s, &d2.cart_id, TenderKind::Card, None, Some("V".into()))
        .expect("pay");
    let voided = t.complete(&s, &d2.cart_id).expect("complete");
    t.post_void(
        &manager,
        &voided.sale.ctx.receipt_no,
        "customer changed mind",
        None,
    )
    .expect("void");
    let d3 = t.new_cart(&s).expect("cart");
    t.add_sku(&s, &d3.cart_id, &milk, Decimal::ONE)
        .expect("add");
    t.set_member(&s, &d3.cart_id, Some("M000005"))
        .expect("member");
    t.add_coupon(&s, &d3.cart_id, &ten)
        .expect("the voided sale's coupon works again");
    // The void's restore is a synced event naming the voided sale, so HQ stops counting it.
    let restore: String = t
        .store()
        .connection()
        .query_row(
            "SELECT payload FROM journal WHERE kind = 'coupon_restore' AND payload LIKE ?1",
            [format!("%{}%", voided.sale.ctx.sale_id)],
            |r| r.get(0),
        )
        .expect("a coupon_restore event for the voided sale");
    let restore: serde_json::Value = serde_json::from_str(&restore).expect("json");
    assert_eq!(restore["sale_id"], voided.sale.ctx.sale_id.as_str());
    assert_eq!(restore["restored_by"], voided.sale.ctx.sale_id.as_str());
    assert_eq!(
        restore["coupon_id"],
        format!(
            "{}-{}",
            voided.sale.coupons[0].campaign_id, voided.sale.coupons[0].serial
        )
    );

    // A code bound to another member is refused.
    let bound = code(1002, 8, Some("M000001"));
    let err = t
        .add_coupon(&s, &dairy.cart_id, &bound)
        .expect_err("other member");
    assert!(err.code.starts_with("coupon_"), "{}", err.code);
}
