//! Members at the till: sign-up with consent (offline, journaled), points earned on a sale and
//! taken back by a return, the balance on the receipt.

use rust_decimal::Decimal;
use tillstone_core::points::{EarnRules, earn, member_qr};
use tillstone_core::returns::ReturnLine;
use tillstone_core::tender::TenderKind;
use tillstone_terminal::app::ScanOutcome;
use tillstone_terminal::setup::DEMO_MEMBER_QR_SECRET;

#[test]
fn sign_up_earn_return_and_balance() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");

    // Sign-up needs consent; a phone joins once.
    let err = t
        .sign_up(&s, "13900001111", "周杰", false)
        .expect_err("consent");
    assert_eq!(err.code, "consent_required");
    let m = t
        .sign_up(&s, "+86 139 0000 1111", "周杰", true)
        .expect("sign up");
    assert_eq!(m.phone_masked, "139****1111");
    assert_eq!(m.points, 0);
    let again = t
        .sign_up(&s, "13900001111", "周杰", true)
        .expect_err("twice");
    assert_eq!(again.code, "already_member");
    let found = t.search_members(&s, "1111", 10).expect("search");
    assert!(found.iter().any(|f| f.member_id == m.member_id));

    // A sale with the member earns points, journaled with the sale.
    let code = tillstone_tests::piece_barcodes(&t, 1)
        .expect("codes")
        .remove(0);
    let cart = t.new_cart(&s).expect("cart");
    t.scan(&s, &cart.cart_id, &code, Some(Decimal::from(3)))
        .expect("scan");
    // The customer shows the member QR in the app: scanning it attaches the member.
    let minute = chrono::Utc::now().timestamp().div_euclid(60);
    let qr = member_qr(&m.member_id, minute, DEMO_MEMBER_QR_SECRET);
    match t.scan(&s, &cart.cart_id, &qr, None).expect("scan QR") {
        ScanOutcome::MemberAttached { member, cart } => {
            assert_eq!(member.member_id, m.member_id);
            assert_eq!(cart.member_id.as_deref(), Some(m.member_id.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // A forged one is refused with a reason.
    let forged = member_qr(&m.member_id, minute, b"not the store's secret");
    assert!(matches!(
        t.scan(&s, &cart.cart_id, &forged, None).expect("scan"),
        ScanOutcome::Invalid { .. }
    ));
    t.add_tender(&s, &cart.cart_id, TenderKind::Cash, None, None)
        .expect("cash");
    let receipt = t.complete(&s, &cart.cart_id).expect("complete");
    let expected = earn(
        &EarnRules::default(),
        "standard",
        receipt
            .sale
            .lines
            .iter()
            .map(|l| (l.line.category.as_str(), l.amounts.total)),
    );
    assert!(expected > 0);
    assert_eq!(receipt.sale.member_points, expected);
    let after = t.member(&s, &m.member_id).expect("member");
    assert_eq!(after.points, expected);
    assert_eq!(receipt.member.as_ref().map(|v| v.points), Some(expected));

    // Returning one of three takes back a third of the points (rounded down once).
    let ret = t
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
    assert!(ret.sale.member_points < 0);
    let balance = t.member(&s, &m.member_id).expect("member").points;
    assert_eq!(balance, expected + ret.sale.member_points);
    assert!(balance > 0);
    // A post-voided sale takes its points back.
    let cart = t.new_cart(&s).expect("cart");
    t.scan(&s, &cart.cart_id, &code, None).expect("scan");
    t.set_member(&s, &cart.cart_id, Some(&m.member_id))
        .expect("member");
    t.add_tender(&s, &cart.cart_id, TenderKind::Card, None, Some("C1".into()))
        .expect("card");
    let second = t.complete(&s, &cart.cart_id).expect("complete");
    assert!(second.sale.member_points > 0);
    assert_eq!(
        t.member(&s, &m.member_id).expect("member").points,
        balance + second.sale.member_points
    );
    let manager = t.login("9001", "9999").expect("manager");
    t.post_void(&manager, &second.sale.ctx.receipt_no, "wrong member", None)
        .expect("void");
    assert_eq!(t.member(&s, &m.member_id).expect("member").points, balance);
    assert!(t.verify_journal().expect("verify").ok());
}
