//! HQ → till (issue 5): rows HQ writes reach what the till sells with. A product and a price
//! change are scanned at the new price, a member with a coupon wallet is found and their coupon
//! applies, a promotion is in force after the sync without a restart, a deleted product stops
//! selling, and a malformed row is reported in the sync state without stopping the rest.

mod hub;

use hub::SqliteHq;

use rust_decimal::Decimal;
use serde_json::json;
use tillstone_cloud::Storage;
use tillstone_core::coupon::sign;
use tillstone_sync::Entity;
use tillstone_terminal::app::ScanOutcome;
use tillstone_terminal::setup::demo_issuer;

#[test]
fn hq_rows_reach_the_till() {
    let hq = SqliteHq::start();
    let (admin, tenant) = (&hq.admin, &hq.tenant);
    let url = hq.hub.url.clone();

    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    let enrollment = hq.enrollment_code();
    t.enroll(&url, &enrollment).expect("enroll");

    // HQ: a new product, then a price change of it; a member with a wallet; a promotion; a
    // malformed catalog row.
    let put = |entity, key: &str, data: serde_json::Value| {
        admin
            .put_change(tenant, entity, key, data)
            .expect("put change");
    };
    put(
        Entity::Catalog,
        "HQ-TEA-1",
        json!({"sku": "HQ-TEA-1", "name": "西湖龙井 特级 100g", "name_en": "Longjing tea 100g",
               "barcodes": ["6970000000017"], "category": "茶叶", "tax_class": "reduced",
               "tax_rate": "0.09", "unit": "piece", "price": "128.00"}),
    );
    put(
        Entity::Prices,
        "HQ-TEA-1",
        json!({"sku": "HQ-TEA-1", "price": "118.00"}),
    );
    let coupon = sign(1001, 880_001, Some("MHQ0001"), &demo_issuer())
        .expect("sign")
        .encode();
    put(
        Entity::Members,
        "MHQ0001",
        json!({"member_id": "MHQ0001", "name": "钱塘", "phone": "13600001234",
               "card_no": null, "tier": "standard", "points": 100, "lifetime_points": 4_900,
               "coupons": [coupon]}),
    );
    put(
        Entity::Promotions,
        "HQ-TEA-10",
        json!({"id": "HQ-TEA-10", "name": "茶叶九折", "name_en": "Tea 10% off", "priority": 5,
               "benefit": {"kind": "percent_off", "scope": {"categories": ["茶叶"]},
                           "percent": "10"}}),
    );
    put(
        Entity::Catalog,
        "HQ-BAD",
        json!({"sku": "HQ-BAD", "name": "坏行", "tax_class": "standard", "tax_rate": "0.13",
               "price": "-3"}),
    );
    let view = t.sync_now().expect("sync");
    assert!(view.state.last_success_at.is_some(), "{view:?}");
    assert_eq!(view.apply_errors.len(), 1, "{:?}", view.apply_errors);
    assert_eq!(view.apply_errors[0].key, "HQ-BAD");
    assert!(view.apply_errors[0].message.contains("negative"));

    // The product sells at HQ's price, with HQ's promotion, no restart needed.
    let cart = t.new_cart(&s).expect("cart");
    match t
        .scan(&s, &cart.cart_id, "6970000000017", None)
        .expect("scan")
    {
        ScanOutcome::Added { .. } => {}
        other => panic!("{other:?}"),
    }
    let c = t.cart(&s, &cart.cart_id).expect("cart");
    assert_eq!(c.priced.lines[0].line.list_price, Decimal::new(11_800, 2));
    assert_eq!(
        c.priced.lines[0].promo_discount,
        Decimal::new(1_180, 2),
        "{:?}",
        c.priced.lines[0]
    );
    // The member is found by phone, their wallet coupon applies.
    let found = t.search_members(&s, "13600001234", 5).expect("search");
    assert_eq!(found[0].member_id, "MHQ0001");
    assert_eq!(found[0].lifetime_points, 4_900);
    t.set_member(&s, &cart.cart_id, Some("MHQ0001"))
        .expect("member");
    let wallet = t
        .member_wallet(&s, "MHQ0001", Some(&cart.cart_id))
        .expect("wallet");
    assert_eq!(wallet[0].status, "applies", "{wallet:?}");
    t.void_cart(&s, &cart.cart_id).expect("void");

    // HQ deletes the product: the till stops selling it.
    admin
        .delete_change(tenant, Entity::Catalog, "HQ-TEA-1")
        .expect("delete");
    t.sync_now().expect("sync");
    let cart = t.new_cart(&s).expect("cart");
    assert!(matches!(
        t.scan(&s, &cart.cart_id, "6970000000017", None)
            .expect("scan"),
        ScanOutcome::NotFound { .. }
    ));
    // HQ deactivates the signed-in cashier: their session ends at the next request.
    assert!(t.session(&s.token).is_ok());
    admin
        .delete_change(tenant, Entity::Users, &s.user.user_id)
        .expect("delete user");
    t.sync_now().expect("sync");
    let err = t.session(&s.token).expect_err("signed out");
    assert_eq!(err.code, "user_inactive");
    assert!(err.message.contains("sign in as another user"));
    drop(hq);
}
