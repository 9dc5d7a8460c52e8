//! The online coupon check before the offline path (issue 4): with HQ reachable, a coupon used
//! on another till is refused with HQ's word for it and accepted ones do not use up the offline
//! allowance; a coupon this till gave back by a return is accepted again; with HQ down the
//! till decides offline within the short timeout.

mod hub;

use hub::SqliteHq;

use rust_decimal::Decimal;
use std::time::{Duration, Instant};
use tillstone_core::coupon::sign;
use tillstone_core::returns::ReturnLine;
use tillstone_core::tender::TenderKind;
use tillstone_terminal::app::{Receipt, Session, Terminal};
use tillstone_terminal::setup::demo_issuer;

fn code(serial: u64) -> String {
    sign(1001, serial, None, &demo_issuer())
        .expect("sign")
        .encode()
}

/// A cart of ≥ 50 (the campaign's threshold) paid by card, with `coupon`.
fn sell_with(t: &Terminal, s: &Session, coupon: &str) -> Result<Receipt, String> {
    let sku: String = t
        .store()
        .connection()
        .query_row(
            "SELECT sku FROM product WHERE unit = 'piece' AND price_minor >= 2000 AND active = 1
             ORDER BY sku LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a product");
    let cart = t.new_cart(s).expect("cart");
    t.add_sku(s, &cart.cart_id, &sku, Decimal::from(3))
        .expect("add");
    if let Err(e) = t.add_coupon(s, &cart.cart_id, coupon) {
        t.void_cart(s, &cart.cart_id).expect("void cart");
        return Err(format!("{}: {}", e.code, e.message));
    }
    t.add_tender(s, &cart.cart_id, TenderKind::Card, None, Some("C".into()))
        .expect("pay");
    Ok(t.complete(s, &cart.cart_id).expect("complete"))
}

fn offline_flag(t: &Terminal, sale_id: &str) -> i64 {
    t.store()
        .connection()
        .query_row(
            "SELECT offline FROM coupon_redemptions WHERE sale_id = ?1",
            [sale_id],
            |r| r.get(0),
        )
        .expect("a redemption")
}

/// Two demo tills of the store, each with a cashier's shift, enrolled with `hq`.
fn two_enrolled_tills(hq: &SqliteHq) -> Vec<(tempfile::TempDir, Terminal, Session)> {
    (0..2)
        .map(|_| {
            let dir = tempfile::tempdir().expect("tempdir");
            tillstone_tests::init_demo(dir.path()).expect("demo");
            let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
            t.enroll(&hq.hub.url, &hq.enrollment_code())
                .expect("enroll");
            (dir, t, s)
        })
        .collect()
}

/// Return every line of `sale` (with its receipt).
fn return_all(t: &Terminal, s: &Session, sale: &Receipt) {
    let lines: Vec<ReturnLine> = sale
        .sale
        .lines
        .iter()
        .map(|l| ReturnLine {
            line_id: l.line.line_id,
            qty: l.line.qty,
        })
        .collect();
    t.return_lines(s, &sale.sale.ctx.receipt_no, &lines, None)
        .expect("full return");
}

#[test]
fn hq_is_asked_first_and_the_till_falls_back_offline() {
    let hq = SqliteHq::start();
    let tills = two_enrolled_tills(&hq);
    let (a, sa) = (&tills[0].1, &tills[0].2);
    let (b, sb) = (&tills[1].1, &tills[1].2);

    // Till A redeems X with HQ reachable: checked online, so not counted as offline.
    let x = code(7001);
    let first = sell_with(a, sa, &x).expect("A redeems X");
    assert_eq!(offline_flag(a, &first.sale.ctx.sale_id), 0);
    a.sync_now().expect("A syncs");

    // Till B has never seen X; HQ has: refused, naming where it was used.
    let err = sell_with(b, sb, &x).expect_err("B must not redeem X");
    assert!(err.starts_with("coupon_already_used"), "{err}");
    assert!(err.contains("HZ001"), "{err}");

    // A gives X back with a full return (the campaign restores on refund): HQ still lists A's
    // sale, but A knows it restored it, so A may accept X again.
    return_all(a, sa, &first);
    let again = sell_with(a, sa, &x).expect("A redeems X again after the return");
    assert_eq!(offline_flag(a, &again.sale.ctx.sale_id), 0);

    // HQ goes down: B decides offline, within the short timeout, and counts it as offline.
    drop(hq);
    let y = code(7002);
    let started = Instant::now();
    let offline = sell_with(b, sb, &y).expect("B redeems Y offline");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the offline path waited {:?}",
        started.elapsed()
    );
    assert_eq!(offline_flag(b, &offline.sale.ctx.sale_id), 1);
    assert!(!offline.sale.coupons.is_empty());
}

#[test]
fn a_coupon_given_back_on_one_till_is_accepted_online_on_another() {
    let hq = SqliteHq::start();
    let tills = two_enrolled_tills(&hq);
    let (a, sa) = (&tills[0].1, &tills[0].2);
    let (b, sb) = (&tills[1].1, &tills[1].2);

    let x = code(7101);
    let first = sell_with(a, sa, &x).expect("A redeems X");
    a.sync_now().expect("A syncs");
    let err = sell_with(b, sb, &x).expect_err("B must not redeem X yet");
    assert!(err.starts_with("coupon_already_used"), "{err}");

    // The customer returns everything on till A; the campaign gives the coupon back, and the
    // restore travels to HQ with A's next sync.
    return_all(a, sa, &first);
    a.sync_now().expect("A syncs the return");
    let (restores, pending): (i64, i64) = a
        .store()
        .connection()
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(o.acked_at IS NULL), 0)
             FROM outbox o JOIN journal j ON j.seq = o.seq WHERE j.kind = 'coupon_restore'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("outbox");
    assert_eq!(
        (restores, pending),
        (1, 0),
        "one restore, acknowledged by HQ"
    );

    // Till B now accepts X online (checked with HQ, so not an offline redemption).
    let second = sell_with(b, sb, &x).expect("B redeems X after A gave it back");
    assert_eq!(offline_flag(b, &second.sale.ctx.sale_id), 0);
    b.sync_now().expect("B syncs");
    // And B's sale holds it now: A, which gave its own redemption back, is refused.
    let err = sell_with(a, sa, &x).expect_err("A must not redeem X again");
    assert!(err.starts_with("coupon_already_used"), "{err}");
    // No double redemption at HQ: A's was given back before B's.
    use tillstone_cloud::Storage;
    assert!(
        hq.admin
            .double_redemptions(&hq.tenant)
            .expect("report")
            .is_empty()
    );
}
