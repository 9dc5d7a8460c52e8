//! Promotions at the till: the demo store's rules (second drink half price, 满100减10 /
//! 满200减25, members' 10 % off dairy) price real carts, explain themselves, reach the sale
//! and its receipt, and returns refund the promoted prices exactly.

use rust_decimal::Decimal;
use tillstone_core::returns::ReturnLine;
use tillstone_core::tender::TenderKind;
use tillstone_terminal::app::{CartView, Session, Terminal};

fn skus(t: &Terminal, category: &str, n: usize) -> Vec<(String, Decimal)> {
    let store = t.store();
    let mut stmt = store
        .connection()
        .prepare(
            "SELECT sku, price_minor FROM product WHERE category = ?1 AND unit = 'piece'
             ORDER BY price_minor DESC, sku LIMIT ?2",
        )
        .expect("query");
    stmt.query_map(rusqlite::params![category, n as i64], |r| {
        Ok((r.get::<_, String>(0)?, Decimal::new(r.get::<_, i64>(1)?, 2)))
    })
    .expect("rows")
    .collect::<Result<Vec<_>, _>>()
    .expect("skus")
}

fn promo(cart: &CartView, id: &str) -> Option<Decimal> {
    cart.priced
        .promotions
        .iter()
        .find(|p| p.rule_id == id)
        .map(|p| p.total)
}

fn consistent(cart: &CartView) {
    let lines: Decimal = cart.priced.lines.iter().map(|l| l.amounts.total).sum();
    assert_eq!(lines, cart.priced.totals.total);
    for p in &cart.priced.promotions {
        let sum: Decimal = p.lines.iter().map(|l| l.amount).sum();
        assert_eq!(sum, p.total, "{} explains every fen", p.rule_id);
    }
    for l in &cart.priced.lines {
        assert!(l.promo_discount <= l.amounts.line_discount);
        assert!(l.amounts.total >= Decimal::ZERO);
    }
}

fn sell(t: &Terminal, s: &Session, items: &[(&str, u32)], member: Option<&str>) -> CartView {
    let cart = t.new_cart(s).expect("cart");
    let mut view = cart;
    for (sku, qty) in items {
        view = t
            .add_sku(s, &view.cart_id, sku, Decimal::from(*qty))
            .expect("add");
    }
    if let Some(m) = member {
        view = t.set_member(s, &view.cart_id, Some(m)).expect("member");
    }
    consistent(&view);
    view
}

#[test]
fn demo_promotions_price_explain_print_and_refund() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    assert_eq!(t.promotions(&s).expect("rules").len(), 3);
    let drinks = skus(&t, "饮料", 2);
    let dairy = skus(&t, "乳制品", 1);
    let grain = skus(&t, "粮油", 1);

    // Two drinks: the cheaper one is half price.
    let two = sell(&t, &s, &[(&drinks[0].0, 1), (&drinks[1].0, 1)], None);
    let cheaper = drinks[0].1.min(drinks[1].1);
    assert_eq!(
        promo(&two, "DEMO-DRINKS-2ND-HALF"),
        Some((cheaper / Decimal::TWO).round_dp(2))
    );

    // Dairy: 10 % off for members only.
    let anon = sell(&t, &s, &[(&dairy[0].0, 1)], None);
    assert_eq!(promo(&anon, "DEMO-DAIRY-MEMBER"), None);
    let member = sell(&t, &s, &[(&dairy[0].0, 1)], Some("M000001"));
    assert_eq!(
        promo(&member, "DEMO-DAIRY-MEMBER"),
        Some((dairy[0].1 / Decimal::TEN).round_dp(2))
    );
    let detached = t.set_member(&s, &member.cart_id, None).expect("detach");
    assert_eq!(promo(&detached, "DEMO-DAIRY-MEMBER"), None);

    // Enough for 满200减25 (no other promotion on grain and oil): the best tier, once.
    let qty = (Decimal::from(210) / grain[0].1).ceil();
    let qty = u32::try_from(qty.mantissa()).expect("small");
    let big = sell(&t, &s, &[(&grain[0].0, qty)], None);
    assert_eq!(promo(&big, "DEMO-SPEND"), Some(Decimal::from(25)));
    assert_eq!(
        big.priced.totals.total,
        grain[0].1 * Decimal::from(qty) - Decimal::from(25)
    );
    // Many drinks: the half prices come first (higher priority); the threshold counts what is
    // left to pay.
    let qty = (Decimal::from(210) / drinks[0].1).ceil();
    let qty = u32::try_from(qty.mantissa()).expect("small");
    let drinks_only = sell(&t, &s, &[(&drinks[0].0, qty)], None);
    let half = promo(&drinks_only, "DEMO-DRINKS-2ND-HALF").expect("half price");
    let left = drinks[0].1 * Decimal::from(qty) - half;
    let expected = if left >= Decimal::from(200) {
        25
    } else if left >= Decimal::from(100) {
        10
    } else {
        0
    };
    assert_eq!(
        promo(&drinks_only, "DEMO-SPEND").unwrap_or_default(),
        Decimal::from(expected)
    );

    // Complete the two-drinks sale: the promotions are on the sale and its receipt.
    let cart = t
        .add_tender(&s, &two.cart_id, TenderKind::Card, None, Some("C1".into()))
        .expect("pay");
    assert_eq!(cart.priced.payment.remaining, Decimal::ZERO);
    let receipt = t.complete(&s, &two.cart_id).expect("complete");
    assert_eq!(receipt.sale.promotions, two.priced.promotions);
    assert!(
        receipt
            .sale
            .promotions
            .iter()
            .any(|p| p.rule_id == "DEMO-DRINKS-2ND-HALF")
    );
    assert_eq!(receipt.sale.totals.total, two.priced.totals.total);
    let png = t
        .receipt_png(&s, &receipt.sale.ctx.receipt_no, None, None)
        .expect("preview");
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("receipt-promotions.png"),
        png,
    )
    .expect("save");

    // Returning both drinks refunds exactly what was paid for them, promotion included.
    let ret = t
        .return_lines(
            &s,
            &receipt.sale.ctx.receipt_no,
            &receipt
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
    assert_eq!(ret.sale.totals.total, receipt.sale.totals.total);
    let refunded: Decimal = ret.sale.tenders.iter().map(|x| x.applied).sum();
    assert_eq!(refunded, receipt.sale.settled());
}
