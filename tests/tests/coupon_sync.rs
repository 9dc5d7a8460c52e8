//! One single-use coupon redeemed offline on two tills: each till accepts it (it cannot know
//! about the other), both redemptions reach HQ as their own events, and HQ reports the double
//! redemption with both sales — the first by hybrid logical clock keeps it. Member sign-ups and
//! point events from the tills are accepted by HQ too (nothing quarantined).

mod hub;

use hub::SqliteHq;

use rust_decimal::Decimal;
use tillstone_cloud::Storage;
use tillstone_core::coupon::sign;
use tillstone_core::tender::TenderKind;
use tillstone_sync_client::{HttpTransport, SyncClient, SyncConfig, sync_state};
use tillstone_terminal::app::{Session, Terminal};
use tillstone_terminal::setup::demo_issuer;

fn redeem(t: &Terminal, s: &Session, code: &str, member: Option<&str>) -> (String, String) {
    let sku: String = t
        .store()
        .connection()
        .query_row(
            "SELECT sku FROM product WHERE category = '粮油' AND unit = 'piece' AND price_minor >= 2000
             ORDER BY sku LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a product");
    let cart = t.new_cart(s).expect("cart");
    t.add_sku(s, &cart.cart_id, &sku, Decimal::from(3))
        .expect("add");
    if let Some(m) = member {
        t.set_member(s, &cart.cart_id, Some(m)).expect("member");
    }
    t.add_coupon(s, &cart.cart_id, code)
        .expect("offline: the till accepts it");
    t.add_tender(s, &cart.cart_id, TenderKind::Card, None, Some("C".into()))
        .expect("pay");
    let sale_id = t
        .complete(s, &cart.cart_id)
        .expect("complete")
        .sale
        .ctx
        .sale_id;
    (sale_id, sku)
}

#[test]
fn hq_reports_a_coupon_redeemed_offline_on_two_tills() {
    let hq = SqliteHq::start();
    let (admin, tenant, store_id) = (&hq.admin, &hq.tenant, &hq.store);
    let url = hq.hub.url.clone();

    let code = sign(1001, 4242, None, &demo_issuer())
        .expect("sign")
        .encode();
    let mut sales = Vec::new();
    let mut skus = Vec::new();
    let mut tills = Vec::new();
    for i in 0..2 {
        let dir = tempfile::tempdir().expect("tempdir");
        tillstone_tests::init_demo(dir.path()).expect("demo");
        let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
        let member = (i == 0).then(|| {
            t.sign_up(&s, "13700009999", "林", true)
                .expect("sign up")
                .member_id
        });
        let (sale_id, sku) = redeem(&t, &s, &code, member.as_deref());
        sales.push(sale_id);
        skus.push(sku);
        let client = SyncClient::new(
            HttpTransport::new(url.clone()).expect("transport"),
            SyncConfig::default(),
        );
        let enrollment = hq.enrollment_code();
        if i == 0 {
            client.enroll(&t.store(), &enrollment).expect("enroll");
        } else {
            // The terminal's own enrollment (what `tillstone sync enroll` does).
            let view = t.enroll(&url, &enrollment).expect("enroll");
            assert_eq!(view.url.as_deref(), Some(url.as_str()));
            assert!(view.state.enrolled && view.state.pending > 0);
        }
        tills.push((dir, t, client));
    }
    let offline = |t: &Terminal| {
        tillstone_core::coupon::RedemptionLedger::offline_redemptions(&*t.store(), 1001)
    };
    for (_, t, _) in &tills {
        assert_eq!(offline(t), 1, "accepted offline, not yet confirmed by HQ");
    }
    for (i, (_, t, client)) in tills.iter().enumerate() {
        if i == 0 {
            client.sync_once(|| t.store()).expect("sync");
        } else {
            let view = t.sync_now().expect("sync now");
            assert!(view.state.last_success_at.is_some(), "{view:?}");
        }
        let state = sync_state(&t.store()).expect("state");
        assert_eq!((state.pending, state.quarantined), (0, 0), "{state:?}");
        // HQ acknowledged the redemption: it no longer uses the offline allowance.
        assert_eq!(offline(t), 0);
    }
    let report = admin.double_redemptions(tenant).expect("report");
    assert_eq!(report.len(), 1, "{report:?}");
    let o = &report[0];
    assert_eq!(o.winner.coupon_id, "1001-4242");
    assert_eq!(o.losers.len(), 1);
    let mut both = vec![o.winner.sale_id.clone(), o.losers[0].sale_id.clone()];
    both.sort();
    sales.sort();
    assert_eq!(both, sales, "HQ names both sales");
    assert_eq!(o.winner.amount, Decimal::from(5));
    // Stock is a counter per store and SKU with one actor per till: 3 sold on each.
    assert_eq!(skus[0], skus[1]);
    assert_eq!(admin.stock(tenant, store_id, &skus[0]).expect("stock"), -6);
    drop(hq);
}
