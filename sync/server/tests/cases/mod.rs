//! The end-to-end behaviour tests, run against every backend: `tests/api.rs` (SQLite files)
//! and `tests/postgres.rs` (a fresh PostgreSQL database per test).

use crate::common::*;
use serde_json::{Value, json};
use std::io::Write;
use tillstone_cloud::Config;
use tillstone_sync::{
    Entity, EventKind, Mirror, PROTOCOL_VERSION, PullPage, PullRequest, RejectReason, StoreId,
};

pub fn enrollment_code_is_single_use_and_expiring(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let srv = TestServer::start(storage.clone(), Config::default());
    let now = now_ms();

    let code = storage
        .create_enrollment_code(&t.tenant, &t.store, now, now + 60_000)
        .unwrap();
    let term = uuid::Uuid::now_v7().to_string();
    let (status, body) = post(
        &srv.url,
        "/v1/enroll",
        None,
        &json!({"code": code, "terminal_id": term}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tenant"], t.tenant.as_str());
    assert_eq!(body["store"], "s-01");
    let credential = body["credential"].as_str().unwrap().to_string();
    assert!(credential.len() >= 60);

    // The same code again (even lower-cased, for another terminal): refused.
    let other = uuid::Uuid::now_v7().to_string();
    let (status, body) = post(
        &srv.url,
        "/v1/enroll",
        None,
        &json!({"code": code.to_lowercase(), "terminal_id": other}),
    );
    assert_eq!((status, error_code(&body)), (403, "code_used"), "{body}");

    // Unknown code.
    let (status, body) = post(
        &srv.url,
        "/v1/enroll",
        None,
        &json!({"code": "AAAA-BBBB-CCCC-DDDD", "terminal_id": other}),
    );
    assert_eq!((status, error_code(&body)), (401, "code_unknown"), "{body}");

    // Expired code.
    let expired = storage
        .create_enrollment_code(&t.tenant, &t.store, now - 120_000, now - 60_000)
        .unwrap();
    let (status, body) = post(
        &srv.url,
        "/v1/enroll",
        None,
        &json!({"code": expired, "terminal_id": other}),
    );
    assert_eq!((status, error_code(&body)), (403, "code_expired"), "{body}");

    // A terminal id is never enrolled twice.
    let fresh = storage
        .create_enrollment_code(&t.tenant, &t.store, now, now + 60_000)
        .unwrap();
    let (status, body) = post(
        &srv.url,
        "/v1/enroll",
        None,
        &json!({"code": fresh, "terminal_id": term}),
    );
    assert_eq!(
        (status, error_code(&body)),
        (409, "terminal_exists"),
        "{body}"
    );

    // Malformed request.
    let (status, body) = post(&srv.url, "/v1/enroll", None, &json!({"code": fresh}));
    assert_eq!((status, error_code(&body)), (400, "malformed"), "{body}");

    // The credential works; a wrong one does not.
    let terminal = tillstone_sync::TerminalId::new(term).unwrap();
    let ack = push(&srv.url, &credential, &batch(&t, &terminal, &[]));
    assert!(ack.accepted.is_empty());
    let (status, body) = post(
        &srv.url,
        "/v1/push",
        Some("tsk_nope"),
        &serde_json::to_value(batch(&t, &terminal, &[])).unwrap(),
    );
    assert_eq!((status, error_code(&body)), (401, "unauthorized"));
    let (status, body) = post(
        &srv.url,
        "/v1/push",
        None,
        &serde_json::to_value(batch(&t, &terminal, &[])).unwrap(),
    );
    assert_eq!((status, error_code(&body)), (401, "unauthorized"));
}

pub fn push_is_idempotent_and_conflicts_are_rejected(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let srv = TestServer::start(storage.clone(), Config::default());
    let (terminal, cred) = enroll(&srv.url, &*storage, &t.tenant, &t.store);
    let events = stock_events(&terminal, 8);

    // The same batch three times.
    let first = batch(&t, &terminal, &events[..5]);
    let ack = push(&srv.url, &cred, &first);
    assert_eq!(ack.accepted, ids(&events[..5]));
    assert_eq!(ack.batch_id, first.batch_id);
    for _ in 0..2 {
        let ack = push(&srv.url, &cred, &first);
        assert!(ack.accepted.is_empty() && ack.rejected.is_empty());
        assert_eq!(ack.duplicates, ids(&events[..5]));
    }
    // An overlapping batch (4..=8), sent twice as after a lost ack, with new batch ids.
    for round in 0..2 {
        let ack = push(&srv.url, &cred, &batch(&t, &terminal, &events[3..]));
        if round == 0 {
            assert_eq!(ack.duplicates, ids(&events[3..5]));
            assert_eq!(ack.accepted, ids(&events[5..]));
        } else {
            assert_eq!(ack.duplicates, ids(&events[3..]));
            assert!(ack.accepted.is_empty());
        }
        assert!(ack.rejected.is_empty());
    }
    // A batch repeating one event inside itself: the second copy is a duplicate.
    let nine = event(&terminal, 9, EventKind::NoSale, json!({}));
    let ack = push(
        &srv.url,
        &cred,
        &batch(&t, &terminal, &[nine.clone(), nine.clone()]),
    );
    assert_eq!((ack.accepted.len(), ack.duplicates.len()), (1, 1));

    assert_eq!(storage.event_count(&t.tenant).unwrap(), 9);
    assert_eq!(
        storage.stock(&t.tenant, &t.store, "6901234567892").unwrap(),
        -8
    );
    assert_eq!(storage.contiguous_through(&t.tenant, &terminal).unwrap(), 9);

    // Conflicting content for a known id; another id on a taken seq; a foreign terminal's
    // event; an invalid envelope; an invalid payload. All reported, none stored.
    let mut changed = events[0].clone();
    changed.payload = json!({"sku": "6901234567892", "delta": -100});
    let mut reseq = event(&terminal, 2, EventKind::NoSale, json!({}));
    reseq.hlc.wall_ms += 1;
    let foreign_id = tillstone_sync::TerminalId::new(uuid::Uuid::now_v7().to_string()).unwrap();
    let foreign = event(&foreign_id, 10, EventKind::NoSale, json!({}));
    let mut zero = event(&terminal, 10, EventKind::NoSale, json!({}));
    zero.seq = 0;
    let bad_payload = event(&terminal, 10, EventKind::StockMovement, json!({"sku": "x"}));
    let ok = event(
        &terminal,
        10,
        EventKind::StockMovement,
        json!({"sku": "x", "delta": 3}),
    );
    let ack = push(
        &srv.url,
        &cred,
        &batch(
            &t,
            &terminal,
            &[
                changed.clone(),
                reseq,
                foreign,
                zero,
                bad_payload,
                ok.clone(),
            ],
        ),
    );
    let reasons: Vec<RejectReason> = ack.rejected.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            RejectReason::IdConflict,
            RejectReason::SeqConflict,
            RejectReason::WrongTerminal,
            RejectReason::Invalid,
            RejectReason::InvalidPayload
        ]
    );
    assert_eq!(ack.rejected[0].event_id, changed.event_id);
    assert_eq!(ack.accepted, vec![ok.event_id.clone()]);
    assert_eq!(storage.event_count(&t.tenant).unwrap(), 10);
    assert_eq!(
        storage.stock(&t.tenant, &t.store, "6901234567892").unwrap(),
        -8
    );
    assert_eq!(storage.stock(&t.tenant, &t.store, "x").unwrap(), 3);

    // A malformed or future-version (4) batch is refused as a whole.
    let mut v2 = serde_json::to_value(batch(&t, &terminal, &[])).unwrap();
    v2["version"] = json!(4);
    let (status, body) = post(&srv.url, "/v1/push", Some(&cred), &v2);
    assert_eq!(
        (status, error_code(&body)),
        (400, "unsupported_version"),
        "{body}"
    );
    let (status, body) = post(
        &srv.url,
        "/v1/push",
        Some(&cred),
        &json!({"version": 1, "nope": 1}),
    );
    assert_eq!((status, error_code(&body)), (400, "malformed"), "{body}");

    // Metrics count what happened.
    let metrics = client()
        .get(format!("{}/metrics", srv.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("tillstone_events_total{outcome=\"accepted\"} 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tillstone_events_total{outcome=\"rejected\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tillstone_events_total{outcome=\"duplicate\"} 18"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tillstone_push_duration_seconds_count"),
        "{metrics}"
    );
    assert!(metrics.contains("tillstone_http_requests_total{route=\"/v1/push\",status=\"200\"}"));
    let health = client().get(format!("{}/healthz", srv.url)).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

fn pull(url: &str, cred: &str, mirror: &Mirror, limit: u32) -> (PullRequest, PullPage) {
    let mut req = mirror.pull_request();
    req.limit = Some(limit);
    let (status, body) = post(
        url,
        "/v1/pull",
        Some(cred),
        &serde_json::to_value(&req).unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    (req, serde_json::from_value(body).expect("a pull page"))
}

pub fn pull_is_resumable_and_carries_deletions(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let srv = TestServer::start(storage.clone(), Config::default());
    let (_terminal, cred) = enroll(&srv.url, &*storage, &t.tenant, &t.store);

    for i in 0..6 {
        storage
            .put_change(
                &t.tenant,
                Entity::Catalog,
                &format!("sku-{i}"),
                json!({"name": format!("商品{i}")}),
            )
            .unwrap();
    }
    storage
        .put_change(&t.tenant, Entity::Prices, "sku-0", json!({"price": "3.50"}))
        .unwrap();
    storage
        .put_change(&t.tenant, Entity::Members, "m-1", json!({"name": "王"}))
        .unwrap();

    // Version 2: asked, the page says how many rows remain after it (initial sync progress);
    // the answer is in the request's version. Not asked (or version 1): no count.
    let (status, body) = post(
        &srv.url,
        "/v1/pull",
        Some(&cred),
        &json!({"version": 2, "cursors": {}, "limit": 3, "count_remaining": true}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["version"].as_u64(), body["remaining"].as_u64()),
        (Some(2), Some(5))
    );
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(3));
    let (status, body) = post(
        &srv.url,
        "/v1/pull",
        Some(&cred),
        &json!({"version": 2, "cursors": {"catalog": 6}, "limit": 3, "count_remaining": true}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["remaining"].as_u64(), body["more"].as_bool()),
        (Some(0), Some(false))
    );
    for v in [1, 2] {
        let (status, body) = post(
            &srv.url,
            "/v1/pull",
            Some(&cred),
            &json!({"version": v, "cursors": {}, "limit": 3}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["version"].as_u64(), Some(v));
        assert!(body.get("remaining").is_none(), "{body}");
    }
    let (status, body) = post(
        &srv.url,
        "/v1/pull",
        Some(&cred),
        &json!({"version": 1, "cursors": {}, "count_remaining": true}),
    );
    assert_eq!((status, error_code(&body)), (400, "malformed"), "{body}");

    // First page applied, then a page lost in transit: pulling again from the saved cursors
    // answers the same rows.
    let mut mirror = Mirror::new();
    let (req, page) = pull(&srv.url, &cred, &mirror, 3);
    assert!(page.more);
    assert_eq!(page.rows.len(), 3);
    mirror.apply_page(&req.cursors, &page).unwrap();
    let (_, lost) = pull(&srv.url, &cred, &mirror, 3);
    let (req, again) = pull(&srv.url, &cred, &mirror, 3);
    assert_eq!(lost, again);
    mirror.apply_page(&req.cursors, &again).unwrap();

    // HQ changes things meanwhile: deletes, an update, a delete of a not-yet-pulled row.
    let del_rev = storage
        .delete_change(&t.tenant, Entity::Catalog, "sku-1")
        .unwrap();
    storage
        .delete_change(&t.tenant, Entity::Catalog, "sku-5")
        .unwrap();
    storage
        .put_change(&t.tenant, Entity::Catalog, "sku-2", json!({"name": "新名"}))
        .unwrap();
    storage
        .delete_change(&t.tenant, Entity::Members, "m-1")
        .unwrap();

    let mut saw_tombstone = false;
    for _ in 0..20 {
        let (req, page) = pull(&srv.url, &cred, &mirror, 3);
        saw_tombstone |= page
            .rows
            .iter()
            .any(|r| r.deleted && r.revision == del_rev && r.data.is_null());
        mirror.apply_page(&req.cursors, &page).unwrap();
        if !page.more {
            break;
        }
    }
    assert!(saw_tombstone);
    let live = mirror.live(Entity::Catalog);
    let keys: Vec<&str> = live.keys().map(String::as_str).collect();
    assert_eq!(keys, ["sku-0", "sku-2", "sku-3", "sku-4"]);
    assert_eq!(live["sku-2"], json!({"name": "新名"}));
    assert!(mirror.get(Entity::Catalog, "sku-1").is_none());
    assert!(mirror.live(Entity::Members).is_empty());
    assert_eq!(mirror.live(Entity::Prices).len(), 1);

    // Up to date: an empty page with the same cursors.
    let (_, page) = pull(&srv.url, &cred, &mirror, 100);
    assert!(page.rows.is_empty() && !page.more);

    // Limit 0 is a malformed request.
    let (status, body) = post(
        &srv.url,
        "/v1/pull",
        Some(&cred),
        &json!({"version": 1, "cursors": {}, "limit": 0}),
    );
    assert_eq!((status, error_code(&body)), (400, "malformed"), "{body}");
}

pub fn tenants_cannot_see_each_other(db: &TestDb) {
    let storage = db.open();
    let a = tenant(&*storage, "甲公司");
    let b = tenant(&*storage, "乙公司");
    let b2 = StoreId::new("s-02").unwrap();
    storage.create_store(&b.tenant, &b2, "乙二店").unwrap();
    let srv = TestServer::start(storage.clone(), Config::default());
    let (ta, ca) = enroll(&srv.url, &*storage, &a.tenant, &a.store);
    let (tb, cb) = enroll(&srv.url, &*storage, &b.tenant, &b.store);

    storage
        .put_change(&a.tenant, Entity::Catalog, "a-only", json!({"name": "甲"}))
        .unwrap();
    storage
        .put_change(&b.tenant, Entity::Catalog, "b-only", json!({"name": "乙"}))
        .unwrap();

    // A's terminal naming B's tenant, or B's store, or another terminal: refused whole.
    let events = stock_events(&ta, 2);
    let forged = [
        batch(
            &Tenant {
                tenant: b.tenant.clone(),
                store: b.store.clone(),
            },
            &ta,
            &events,
        ),
        batch(
            &Tenant {
                tenant: a.tenant.clone(),
                store: b2.clone(),
            },
            &ta,
            &events,
        ),
        batch(&a, &tb, &events),
    ];
    for f in &forged {
        let (status, body) = post(
            &srv.url,
            "/v1/push",
            Some(&ca),
            &serde_json::to_value(f).unwrap(),
        );
        assert_eq!((status, error_code(&body)), (403, "forbidden"), "{body}");
    }
    assert_eq!(storage.event_count(&a.tenant).unwrap(), 0);
    assert_eq!(storage.event_count(&b.tenant).unwrap(), 0);

    // Proper pushes; B re-using A's event ids learns nothing and changes nothing.
    assert_eq!(
        push(&srv.url, &ca, &batch(&a, &ta, &events)).accepted.len(),
        2
    );
    let mut stolen = events[0].clone();
    stolen.terminal_id = tb.clone();
    stolen.hlc.node = tb.clone();
    let ack = push(&srv.url, &cb, &batch(&b, &tb, &[stolen]));
    assert_eq!(ack.rejected.len(), 1);
    assert_eq!(ack.rejected[0].reason, RejectReason::IdConflict);
    assert!(!ack.rejected[0].detail.contains(a.tenant.as_str()));
    assert_eq!(storage.event_count(&b.tenant).unwrap(), 0);
    assert_eq!(
        storage.stock(&b.tenant, &b.store, "6901234567892").unwrap(),
        0
    );
    assert_eq!(
        storage.stock(&a.tenant, &a.store, "6901234567892").unwrap(),
        -2
    );

    // Pulls see only their own tenant's rows.
    for (cred, key) in [(&ca, "a-only"), (&cb, "b-only")] {
        let (_, page) = pull(&srv.url, cred, &Mirror::new(), 100);
        let keys: Vec<&str> = page.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, [key]);
    }
}

pub fn revoked_terminal_is_refused(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let srv = TestServer::start(storage.clone(), Config::default());
    let (terminal, cred) = enroll(&srv.url, &*storage, &t.tenant, &t.store);
    let events = stock_events(&terminal, 2);
    push(&srv.url, &cred, &batch(&t, &terminal, &events[..1]));

    // Another tenant cannot revoke it.
    let other = tenant(&*storage, "乙公司");
    assert!(storage.revoke_terminal(&other.tenant, &terminal).is_err());
    storage.revoke_terminal(&t.tenant, &terminal).unwrap();

    let (status, body) = post(
        &srv.url,
        "/v1/push",
        Some(&cred),
        &serde_json::to_value(batch(&t, &terminal, &events)).unwrap(),
    );
    assert_eq!((status, error_code(&body)), (403, "revoked"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    let (status, body) = post(
        &srv.url,
        "/v1/pull",
        Some(&cred),
        &json!({"version": 1, "cursors": {}}),
    );
    assert_eq!((status, error_code(&body)), (403, "revoked"), "{body}");
    assert_eq!(storage.event_count(&t.tenant).unwrap(), 1);
}

pub fn oversize_bodies_are_refused_and_gzip_is_accepted(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let srv = TestServer::start(
        storage.clone(),
        Config {
            body_limit: 16 * 1024,
        },
    );
    let (terminal, cred) = enroll(&srv.url, &*storage, &t.tenant, &t.store);

    // Too large as sent.
    let big = batch(&t, &terminal, &stock_events(&terminal, 200));
    let bytes = serde_json::to_vec(&big).unwrap();
    assert!(bytes.len() > 16 * 1024);
    let (status, body) = post_raw(&srv.url, "/v1/push", Some(&cred), bytes.clone(), false);
    assert_eq!((status, error_code(&body)), (413, "too_large"), "{body}");

    // Small when compressed, too large once inflated: refused too (no zip bombs).
    let gz = |data: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    };
    let compressed = gz(&bytes);
    assert!(compressed.len() < 16 * 1024);
    let (status, body) = post_raw(&srv.url, "/v1/push", Some(&cred), compressed, true);
    assert_eq!((status, error_code(&body)), (413, "too_large"), "{body}");

    // A gzip body within the limit is accepted.
    let small = batch(&t, &terminal, &stock_events(&terminal, 20));
    let (status, body) = post_raw(
        &srv.url,
        "/v1/push",
        Some(&cred),
        gz(&serde_json::to_vec(&small).unwrap()),
        true,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"].as_array().unwrap().len(), 20);
    assert_eq!(storage.event_count(&t.tenant).unwrap(), 20);

    // Unknown route: JSON 404.
    let (status, body) = post(&srv.url, "/v1/nope", None, &Value::Null);
    assert_eq!((status, error_code(&body)), (404, "not_found"));
}

pub fn double_redemption_is_reported_with_both_sales(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let s2 = Tenant {
        tenant: t.tenant.clone(),
        store: StoreId::new("s-02").unwrap(),
    };
    storage.create_store(&s2.tenant, &s2.store, "二店").unwrap();
    let srv = TestServer::start(storage.clone(), Config::default());
    let (t1, c1) = enroll(&srv.url, &*storage, &t.tenant, &t.store);
    let (t2, c2) = enroll(&srv.url, &*storage, &s2.tenant, &s2.store);

    let redeem = |terminal, sale: &str, amount: &str, wall_offset: u64| {
        let mut e = event(
            terminal,
            1,
            EventKind::CouponRedemption,
            json!({"coupon_id": "CPN-0001", "sale_id": sale, "amount": amount}),
        );
        e.hlc.wall_ms += wall_offset;
        e
    };
    // t2 redeemed it later (by HLC) but syncs first.
    let late = redeem(&t2, "sale-B", "5.00", 10);
    let early = redeem(&t1, "sale-A", "5.00", 0);
    push(&srv.url, &c2, &batch(&s2, &t2, std::slice::from_ref(&late)));
    push(&srv.url, &c1, &batch(&t, &t1, std::slice::from_ref(&early)));
    // Resends change nothing.
    push(&srv.url, &c1, &batch(&t, &t1, std::slice::from_ref(&early)));

    let conflicts = storage.double_redemptions(&t.tenant).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].winner.sale_id, "sale-A");
    assert_eq!(conflicts[0].winner.terminal_id, t1);
    assert_eq!(conflicts[0].losers.len(), 1);
    assert_eq!(conflicts[0].losers[0].sale_id, "sale-B");
    assert_eq!(conflicts[0].losers[0].terminal_id, t2);
    let other = tenant(&*storage, "乙公司");
    assert!(
        storage
            .double_redemptions(&other.tenant)
            .unwrap()
            .is_empty()
    );
    srv.stop();
    drop(storage);

    // The admin CLI reports it from the same file.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
        .args([
            "--db",
            &db.url(),
            "report",
            "double-redemptions",
            "--tenant",
            t.tenant.as_str(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("CPN-0001") && text.contains("sale-A") && text.contains("sale-B"),
        "{text}"
    );
}

/// The online coupon check: a till asks HQ about one coupon and sees every redemption of it in
/// its own tenant only; bad requests are refused with a clear message.
pub fn coupon_status_answers_within_the_tenant(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let srv = TestServer::start(storage.clone(), Config::default());
    let (t1, c1) = enroll(&srv.url, &*storage, &t.tenant, &t.store);
    let other = tenant(&*storage, "乙公司");
    let (_, c_other) = enroll(&srv.url, &*storage, &other.tenant, &other.store);
    let e = event(
        &t1,
        1,
        EventKind::CouponRedemption,
        json!({"coupon_id": "1001-7", "sale_id": "sale-A", "amount": "5.00"}),
    );
    push(&srv.url, &c1, &batch(&t, &t1, std::slice::from_ref(&e)));

    let ask = |cred: Option<&str>, body: Value| post(&srv.url, "/v1/coupons/status", cred, &body);
    let (status, body) = ask(Some(&c1), json!({"v": 1, "coupon_id": "1001-7"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["coupon_id"], "1001-7");
    let uses = body["redemptions"].as_array().unwrap();
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0]["sale_id"], "sale-A");
    assert_eq!(uses[0]["store_id"], t.store.as_str());
    assert_eq!(uses[0]["terminal_id"], t1.as_str());
    // Never redeemed; another tenant does not see this tenant's redemption.
    let (_, body) = ask(Some(&c1), json!({"v": 1, "coupon_id": "1001-8"}));
    assert_eq!(body["redemptions"].as_array().unwrap().len(), 0);
    let (status, body) = ask(Some(&c_other), json!({"v": 1, "coupon_id": "1001-7"}));
    assert_eq!(status, 200);
    assert_eq!(body["redemptions"].as_array().unwrap().len(), 0, "{body}");
    // No credential, a malformed id, an unknown version: refused, with a reason.
    assert_eq!(ask(None, json!({"v": 1, "coupon_id": "1001-7"})).0, 401);
    let (status, body) = ask(Some(&c1), json!({"v": 1, "coupon_id": "1001-x"}));
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1001-4242"),
        "{body}"
    );
    assert_eq!(
        ask(Some(&c1), json!({"v": 9, "coupon_id": "1001-7"})).0,
        400
    );
    assert_eq!(ask(Some(&c1), json!({"coupon": 1})).0, 400);
    srv.stop();
}

/// A redemption given back (a return or post-void: a `coupon_restore` event, protocol version
/// 3) no longer counts: the online check stops listing it, a double redemption it was part of
/// is resolved, and a version-1 push cannot carry one.
pub fn a_coupon_given_back_no_longer_counts(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let s2 = Tenant {
        tenant: t.tenant.clone(),
        store: StoreId::new("s-02").unwrap(),
    };
    storage.create_store(&s2.tenant, &s2.store, "二店").unwrap();
    let srv = TestServer::start(storage.clone(), Config::default());
    let (t1, c1) = enroll(&srv.url, &*storage, &t.tenant, &t.store);
    let (t2, c2) = enroll(&srv.url, &*storage, &s2.tenant, &s2.store);
    let redeem = |terminal, sale: &str| {
        event(
            terminal,
            1,
            EventKind::CouponRedemption,
            json!({"coupon_id": "1001-7", "sale_id": sale, "amount": "5.00"}),
        )
    };
    let give_back = |terminal, sale: &str, by: &str| {
        event(
            terminal,
            2,
            EventKind::CouponRestore,
            json!({"coupon_id": "1001-7", "sale_id": sale, "restored_by": by}),
        )
    };
    // Redeemed offline on two tills of two stores: a double redemption.
    push(&srv.url, &c1, &batch(&t, &t1, &[redeem(&t1, "sale-A")]));
    push(&srv.url, &c2, &batch(&s2, &t2, &[redeem(&t2, "sale-B")]));
    assert_eq!(storage.double_redemptions(&t.tenant).unwrap().len(), 1);
    let status = || {
        let (code, body) = post(
            &srv.url,
            "/v1/coupons/status",
            Some(&c1),
            &json!({"v": 1, "coupon_id": "1001-7"}),
        );
        assert_eq!(code, 200, "{body}");
        body["redemptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["sale_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(status(), ["sale-A", "sale-B"]);

    // A version-1 push cannot carry a restore: refused as a whole, with the reason.
    let back_a = give_back(&t1, "sale-A", "return-A");
    let mut v1 = batch(&t, &t1, std::slice::from_ref(&back_a));
    assert_eq!(v1.version, 3);
    v1.version = 1;
    let (code, body) = post(
        &srv.url,
        "/v1/push",
        Some(&c1),
        &serde_json::to_value(&v1).unwrap(),
    );
    assert_eq!((code, error_code(&body)), (400, "malformed"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("need protocol version 3"),
        "{body}"
    );
    assert_eq!(status(), ["sale-A", "sale-B"]);

    // Store 1 gives it back (a return): only store 2's redemption stands, no conflict left.
    let ack = push(
        &srv.url,
        &c1,
        &batch(&t, &t1, std::slice::from_ref(&back_a)),
    );
    assert_eq!(ack.version, 3);
    assert_eq!(ack.accepted, std::slice::from_ref(&back_a.event_id));
    let again = push(
        &srv.url,
        &c1,
        &batch(&t, &t1, std::slice::from_ref(&back_a)),
    );
    assert_eq!(again.duplicates, std::slice::from_ref(&back_a.event_id));
    assert_eq!(status(), ["sale-B"]);
    assert!(storage.double_redemptions(&t.tenant).unwrap().is_empty());

    // Store 2 voids its sale: the coupon is free again.
    push(
        &srv.url,
        &c2,
        &batch(&s2, &t2, &[give_back(&t2, "sale-B", "sale-B")]),
    );
    assert!(status().is_empty());
    srv.stop();
}

/// `GET /openapi.json` documents every route, and every documented route exists (answers
/// something other than the 404 of an unknown route).
pub fn openapi_documents_every_route(db: &TestDb) {
    let storage = db.open();
    let srv = TestServer::start(storage, Config::default());
    let doc: Value = client()
        .get(format!("{}/openapi.json", srv.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path, _, auth, request, _) in tillstone_cloud::openapi::ROUTES {
        let op = &doc["paths"][*path][*method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert_eq!(op["security"].is_array(), *auth, "{method} {path}");
        if let Some(schema) = request {
            assert!(
                doc["components"]["schemas"][*schema].is_object(),
                "{schema}"
            );
        }
        let url = format!("{}{path}", srv.url);
        let res = match *method {
            "get" => client().get(&url).send().unwrap(),
            _ => client().post(&url).body("{}").send().unwrap(),
        };
        assert_ne!(res.status().as_u16(), 404, "{method} {path} does not exist");
    }
    // The fallback: an unknown route is a JSON 404.
    let (status, body) = post(&srv.url, "/v1/nope", None, &json!({}));
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    srv.stop();
}

pub fn restart_between_pushes_loses_nothing(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    storage
        .put_change(&t.tenant, Entity::Catalog, "sku-1", json!({"name": "可乐"}))
        .unwrap();
    let srv = TestServer::start(storage.clone(), Config::default());
    let (terminal, cred) = enroll(&srv.url, &*storage, &t.tenant, &t.store);
    let events = stock_events(&terminal, 8);
    assert_eq!(
        push(&srv.url, &cred, &batch(&t, &terminal, &events[..5]))
            .accepted
            .len(),
        5
    );
    srv.stop();
    drop(storage);

    // A new process on the same file: the credential, the events and the change log survive.
    let storage = db.open();
    let srv = TestServer::start(storage.clone(), Config::default());
    let ack = push(&srv.url, &cred, &batch(&t, &terminal, &events[2..]));
    assert_eq!(ack.duplicates, ids(&events[2..5]));
    assert_eq!(ack.accepted, ids(&events[5..]));
    assert_eq!(storage.event_count(&t.tenant).unwrap(), 8);
    assert_eq!(
        storage.stock(&t.tenant, &t.store, "6901234567892").unwrap(),
        -8
    );
    assert_eq!(storage.contiguous_through(&t.tenant, &terminal).unwrap(), 8);
    assert_eq!(
        storage
            .put_change(&t.tenant, Entity::Catalog, "sku-2", json!({}))
            .unwrap(),
        2
    );
    let (_, page) = pull(&srv.url, &cred, &Mirror::new(), 10);
    assert_eq!(page.rows.len(), 2);
    assert_eq!(page.version, PROTOCOL_VERSION);
}

pub fn admin_cli_round_trip(db: &TestDb) {
    let url = db.url();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
            .arg("--db")
            .arg(&url)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, tenant_id, err) = run(&["tenant", "create", "甲公司"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["store", "create", "--tenant", &tenant_id, "s-01", "一店"]);
    assert!(ok, "{err}");
    let (ok, code, err) = run(&[
        "terminal",
        "enroll-code",
        "--tenant",
        &tenant_id,
        "--store",
        "s-01",
    ]);
    assert!(ok, "{err}");
    assert_eq!(code.len(), 19, "{code}");
    let (ok, _, _) = run(&[
        "terminal",
        "enroll-code",
        "--tenant",
        &tenant_id,
        "--store",
        "s-99",
    ]);
    assert!(!ok);

    let storage = db.open();
    let terminal = tillstone_sync::TerminalId::new(uuid::Uuid::now_v7().to_string()).unwrap();
    let enrolled = storage.enroll(&code, &terminal, now_ms()).unwrap();
    assert_eq!(enrolled.principal.tenant.as_str(), tenant_id);
    drop(storage);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
        .args([
            "--db",
            "postgres://u@127.0.0.1:1/hq",
            "tenant",
            "create",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to the database"), "{err}");
}

#[cfg(unix)]
pub fn the_binary_serves_and_stops_gracefully_on_sigterm(db: &TestDb) {
    use std::io::BufRead;
    let url = db.url();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
        .args(["--db", &url, "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"));
    let res = client()
        .get(format!("http://{addr}/healthz"))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

pub fn concurrent_resends_store_each_event_once(db: &TestDb) {
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let srv = TestServer::start(storage.clone(), Config::default());
    let terminals: Vec<_> = (0..3)
        .map(|_| {
            let (id, cred) = enroll(&srv.url, &*storage, &t.tenant, &t.store);
            let events = stock_events(&id, 30);
            (id, cred, events)
        })
        .collect();
    // Every terminal sends its events from 3 threads at once, in overlapping windows.
    std::thread::scope(|s| {
        for (id, cred, events) in &terminals {
            for w in 0..3 {
                let (t, url) = (&t, &srv.url);
                s.spawn(move || {
                    for start in (0..30).step_by(5) {
                        let from = (start + w * 2).min(29);
                        let to = (from + 10).min(30);
                        let ack = push(url, cred, &batch(t, id, &events[from..to]));
                        assert!(ack.rejected.is_empty(), "{:?}", ack.rejected);
                        assert_eq!(ack.accepted.len() + ack.duplicates.len(), to - from);
                    }
                });
            }
        }
    });
    // Whatever was missed by the windows, a final full resend completes it.
    for (id, cred, events) in &terminals {
        push(&srv.url, cred, &batch(&t, id, events));
        assert_eq!(storage.contiguous_through(&t.tenant, id).unwrap(), 30);
    }
    assert_eq!(storage.event_count(&t.tenant).unwrap(), 90);
    assert_eq!(
        storage.stock(&t.tenant, &t.store, "6901234567892").unwrap(),
        -90
    );
}
