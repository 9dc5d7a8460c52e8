//! The admin CLI's logic (`tillstone_cloud::admin`) and the `tillstone-cloud` binary: imports,
//! coupon keys and packs, the daily report. Every test runs on a real SQLite file and, with
//! `TILLSTONE_PG_URL`, on a fresh PostgreSQL database.

mod common;

use common::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use tillstone_cloud::Storage;
use tillstone_cloud::admin::coupons::{self, Recipients};
use tillstone_cloud::admin::import::{self, ImportOptions, ImportReport};
use tillstone_core::coupon::{CouponCode, KeyRing, PublicKeyEntry};
use tillstone_sync::{Entity, EventKind, TenantId};

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(&super::TestDb::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                let Some(db) = super::TestDb::postgres() else { return };
                super::$name(&db);
            })*
        }
    };
}

on_both!(
    catalog_import_is_checked_all_or_nothing_and_idempotent,
    prices_import_needs_known_skus,
    campaigns_promotions_and_settings_import,
    members_import_keeps_issued_coupons,
    users_import_hashes_pins_once,
    coupon_packs_verify_and_reach_the_member,
    serials_are_never_reserved_twice,
    daily_report_matches_the_pushed_sales,
    cli_round_trip,
);

fn demo(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(file)
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn strict() -> ImportOptions {
    ImportOptions {
        skip_bad: false,
        batch_rows: 7, // several batches even for the small files
    }
}

fn lenient() -> ImportOptions {
    ImportOptions {
        skip_bad: true,
        batch_rows: 7,
    }
}

/// The tenant's next revision (writes a probe row): two probes one apart = nothing written
/// in between.
fn probe(s: &dyn Storage, t: &TenantId) -> u64 {
    s.put_change(
        t,
        Entity::Prices,
        "__probe__",
        json!({"n": uuid::Uuid::new_v4().to_string()}),
    )
    .unwrap()
}

fn row(s: &dyn Storage, t: &TenantId, e: Entity, key: &str) -> Option<Value> {
    s.get_changes(t, e, &[key.to_string()]).unwrap().remove(key)
}

fn lines(r: &ImportReport) -> Vec<u64> {
    r.errors.iter().map(|e| e.line).collect()
}

fn counts(r: &ImportReport) -> (u64, u64, u64, u64) {
    (
        r.counts.new,
        r.counts.changed,
        r.counts.unchanged,
        r.rejected,
    )
}

fn catalog_import_is_checked_all_or_nothing_and_idempotent(db: &TestDb) {
    let s = db.open();
    let t = tenant(s.as_ref(), "甲");
    let tax = demo("tax_classes.csv");
    let r = import::import_catalog(s.as_ref(), &t.tenant, &demo("products.csv"), &tax, strict())
        .unwrap();
    assert!(r.applied && r.is_clean(), "{r}");
    assert_eq!(counts(&r), (2000, 0, 0, 0));
    // Exactly the row the terminal expects (sync/ROWS.md).
    assert_eq!(
        row(s.as_ref(), &t.tenant, Entity::Catalog, "DR0000002").unwrap(),
        json!({"sku": "DR0000002", "name": "西湖泉橙汁 300ml×6",
               "name_en": "West Lake Spring Orange Juice 300ml x6",
               "barcodes": ["6988788439325", "6905437239280"], "category": "饮料",
               "tax_class": "standard", "tax_rate": "0.13", "unit": "piece", "price": "20.00"})
    );
    // Idempotent: the same file again writes nothing and uses no revision.
    let before = probe(s.as_ref(), &t.tenant);
    let again =
        import::import_catalog(s.as_ref(), &t.tenant, &demo("products.csv"), &tax, strict())
            .unwrap();
    assert_eq!(counts(&again), (0, 0, 2000, 0));
    assert_eq!(probe(s.as_ref(), &t.tenant), before + 1);

    // A file with bad rows: every one reported with its line, nothing written.
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "bad.csv",
        "sku,name,name_en,category,tax_class,unit,price,barcodes\n\
         NEW0001,新品一,New one,饮料,standard,piece,3.50,6900000000017\n\
         NEW0002,新品二,,饮料,standard,piece,12,5,\n\
         NEW0003,新品三,,饮料,luxury,piece,1.00,\n\
         NEW0001,重复,,饮料,standard,piece,1.00,\n\
         NEW0004,新品四,,饮料,standard,box,1.00,\n\
         NEW0005,新品五,,饮料,food,kg,-1,\n\
         \n\
         NEW0006,\"新品,六\",,饮料,food,kg,28.8,\n\
         DR0000002,西湖泉橙汁 300ml×6,West Lake Spring Orange Juice 300ml x6,饮料,standard,piece,21.00,6988788439325|6905437239280\n",
    );
    let r = import::import_catalog(s.as_ref(), &t.tenant, &bad, &tax, strict()).unwrap();
    assert!(!r.applied);
    assert_eq!(lines(&r), vec![3, 4, 5, 6, 7], "{r}");
    let msg = r.to_string();
    for part in [
        "line 3 (NEW0002): the row has 9 fields",
        "line 4 (NEW0003): unknown tax class \"luxury\"",
        "line 5 (NEW0001): this key is already on line 2",
        "line 6 (NEW0004): unknown unit \"box\"",
        "line 7 (NEW0005): price \"-1\" is negative",
        "nothing was written",
    ] {
        assert!(msg.contains(part), "{part:?} not in\n{msg}");
    }
    assert_eq!(row(s.as_ref(), &t.tenant, Entity::Catalog, "NEW0001"), None);
    assert_eq!(
        row(s.as_ref(), &t.tenant, Entity::Catalog, "DR0000002").unwrap()["price"],
        "20.00"
    );
    assert_eq!(probe(s.as_ref(), &t.tenant), before + 2);
    // --skip-bad: the good rows (one new, one changed price) go in, the bad ones are reported.
    let r = import::import_catalog(s.as_ref(), &t.tenant, &bad, &tax, lenient()).unwrap();
    assert!(r.applied);
    assert_eq!(counts(&r), (2, 1, 0, 5));
    assert_eq!(
        row(s.as_ref(), &t.tenant, Entity::Catalog, "NEW0006").unwrap(),
        json!({"sku": "NEW0006", "name": "新品,六", "name_en": "", "barcodes": [],
               "category": "饮料", "tax_class": "food", "tax_rate": "0.09", "unit": "kg",
               "price": "28.80"})
    );
    // A broken header is an error for the whole file.
    let hdr = write(&dir, "hdr.csv", "sku,title,price\nA,B,1\n");
    let e = import::import_catalog(s.as_ref(), &t.tenant, &hdr, &tax, lenient()).unwrap_err();
    assert!(
        e.to_string()
            .contains("line 1: the header lacks column(s) name, tax_class"),
        "{e}"
    );
}

fn prices_import_needs_known_skus(db: &TestDb) {
    let s = db.open();
    let t = tenant(s.as_ref(), "甲");
    import::import_catalog(
        s.as_ref(),
        &t.tenant,
        &demo("products.csv"),
        &demo("tax_classes.csv"),
        strict(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "p.csv",
        "price,sku\n12.8,DR0000002\n1,NOPE\n¥3,HH0000001\n",
    );
    let r = import::import_prices(s.as_ref(), &t.tenant, &bad, strict()).unwrap();
    assert!(!r.applied);
    assert_eq!(lines(&r), vec![3, 4]);
    assert!(r.errors[0].message.contains("unknown SKU NOPE"), "{r}");
    assert_eq!(
        row(s.as_ref(), &t.tenant, Entity::Prices, "DR0000002"),
        None
    );
    let good = write(&dir, "g.csv", "sku,price\nDR0000002,12.8\nHH0000001,3\n");
    let r = import::import_prices(s.as_ref(), &t.tenant, &good, strict()).unwrap();
    assert_eq!(counts(&r), (2, 0, 0, 0));
    assert_eq!(
        row(s.as_ref(), &t.tenant, Entity::Prices, "DR0000002").unwrap(),
        json!({"sku": "DR0000002", "price": "12.80"})
    );
    let r = import::import_prices(s.as_ref(), &t.tenant, &good, strict()).unwrap();
    assert_eq!(counts(&r), (0, 0, 2, 0));
}

fn campaigns_promotions_and_settings_import(db: &TestDb) {
    let s = db.open();
    let t = tenant(s.as_ref(), "甲");
    let st = s.as_ref();
    let r = import::import_campaigns(st, &t.tenant, &demo("campaigns.json"), strict()).unwrap();
    assert_eq!(counts(&r), (2, 0, 0, 0));
    let c = row(st, &t.tenant, Entity::Campaigns, "1002").unwrap();
    let c: tillstone_core::coupon::Campaign = serde_json::from_value(c).unwrap();
    assert_eq!(c.per_member_limit, Some(1));
    let r = import::import_campaigns(st, &t.tenant, &demo("campaigns.json"), strict()).unwrap();
    assert_eq!(counts(&r), (0, 0, 2, 0));
    let r = import::import_promotions(st, &t.tenant, &demo("promotions.json"), strict()).unwrap();
    assert_eq!(counts(&r), (3, 0, 0, 0));
    assert!(row(st, &t.tenant, Entity::Promotions, "DEMO-SPEND").is_some());
    let r = import::import_settings(st, &t.tenant, &demo("store.json"), strict()).unwrap();
    assert_eq!(counts(&r), (1, 0, 0, 0));
    assert_eq!(
        row(st, &t.tenant, Entity::StoreSettings, "HZ001").unwrap()["utc_offset_minutes"],
        480
    );
    let r = import::import_settings(st, &t.tenant, &demo("store.json"), strict()).unwrap();
    assert_eq!(counts(&r), (0, 0, 1, 0));

    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "c.json",
        r#"[
  {"id": 7, "name": "ok", "benefit": {"kind": "amount_off", "amount": "5"}},
  {"id": 8, "name": "too much",
   "benefit": {"kind": "percent_off", "percent": "150"}},
  {"id": 9, "name": "typo",
   "benefit": {"kind": "amount_of", "amount": "5"}}
]"#,
    );
    let r = import::import_campaigns(st, &t.tenant, &bad, strict()).unwrap();
    assert!(!r.applied);
    // Validation errors point at the row, serde's at the faulty value.
    assert_eq!(lines(&r), vec![3, 6], "{r}");
    assert!(
        r.errors[0].message.contains("a percentage is more than 0"),
        "{r}"
    );
    assert!(r.errors[1].message.contains("amount_of"), "{r}");
    assert_eq!(row(st, &t.tenant, Entity::Campaigns, "7"), None);
    // Broken JSON: the whole file is refused, with the line.
    let broken = write(
        &dir,
        "b.json",
        "[\n {\"id\": 1, \"name\": \"x\"},\n {\"id\": 2\n",
    );
    let e = import::import_campaigns(st, &t.tenant, &broken, lenient()).unwrap_err();
    assert!(e.to_string().contains("line 4"), "{e}");
}

fn members_import_keeps_issued_coupons(db: &TestDb) {
    let s = db.open();
    let st = s.as_ref();
    let t = tenant(st, "甲");
    let r = import::import_members(st, &t.tenant, &demo("members.json"), strict()).unwrap();
    assert_eq!(counts(&r), (8, 0, 0, 0));
    assert_eq!(
        row(st, &t.tenant, Entity::Members, "M000001").unwrap(),
        json!({"member_id": "M000001", "name": "张伟", "phone": "13812341234",
               "card_no": "8800000001", "tier": "gold", "points": 12800,
               "lifetime_points": 12800, "coupons": []})
    );
    // Issue a bound pack to M000001, then import the members again: the coupons stay.
    import::import_campaigns(st, &t.tenant, &demo("campaigns.json"), strict()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    coupons::keygen(st, &t.tenant, 1, &dir.path().join("k.json")).unwrap();
    let key = coupons::read_key_file(&dir.path().join("k.json")).unwrap();
    let pack = write(
        &dir,
        "pack.json",
        r#"{"id": "WELCOME", "name": "礼包", "items": [{"campaign_id": 1001, "count": 2}]}"#,
    );
    let mut out = Vec::new();
    coupons::issue_pack(
        st,
        &t.tenant,
        &pack,
        &key,
        &Recipients::Members(vec!["M000001".into()]),
        &mut out,
    )
    .unwrap();
    let r = import::import_members(st, &t.tenant, &demo("members.json"), strict()).unwrap();
    assert_eq!(counts(&r), (0, 0, 8, 0));
    let changed = write(
        &dir,
        "m.json",
        r#"[{"member_id": "M000001", "name": "张伟", "phone": "13812341234", "tier": "platinum", "points": -5}]"#,
    );
    let r = import::import_members(st, &t.tenant, &changed, strict()).unwrap();
    assert_eq!(counts(&r), (0, 1, 0, 0));
    let m = row(st, &t.tenant, Entity::Members, "M000001").unwrap();
    assert_eq!(m["tier"], "platinum");
    assert_eq!(m["card_no"], Value::Null);
    assert_eq!(m["lifetime_points"], 0);
    assert_eq!(m["coupons"].as_array().unwrap().len(), 2);

    let bad = write(
        &dir,
        "bad.json",
        "[\n{\"member_id\": \"M9\", \"name\": \"a\", \"phone\": \"138-1234\"},\n\
         {\"member_id\": \"M 10\", \"name\": \"b\", \"phone\": \"13800000000\"},\n\
         {\"member_id\": \"M11\", \"name\": \"c\", \"phone\": \"13800000000\", \"coupons\": []}\n]",
    );
    let r = import::import_members(st, &t.tenant, &bad, strict()).unwrap();
    assert_eq!(lines(&r), vec![2, 3, 4], "{r}");
    assert!(r.errors[0].message.contains("phone"), "{r}");
    assert!(r.errors[1].message.contains("member_id"), "{r}");
    assert!(
        r.errors[2].message.contains("unknown field `coupons`"),
        "{r}"
    );
}

fn users_import_hashes_pins_once(db: &TestDb) {
    let s = db.open();
    let st = s.as_ref();
    let t = tenant(st, "甲");
    let r = import::import_users(st, &t.tenant, &demo("users.json"), strict()).unwrap();
    assert_eq!(counts(&r), (4, 0, 0, 0));
    let u = row(st, &t.tenant, Entity::Users, "9001").unwrap();
    assert_eq!(u["role"], "manager");
    assert_eq!(u["active"], true);
    assert!(u.get("pin").is_none());
    let hash = u["pin_hash"].as_str().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(import::verify_pin("9999", hash));
    assert!(!import::verify_pin("1111", hash));
    // Same PINs: unchanged (the stored hash is kept); a new PIN: a new hash.
    let r = import::import_users(st, &t.tenant, &demo("users.json"), strict()).unwrap();
    assert_eq!(counts(&r), (0, 0, 4, 0));
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        &dir,
        "u.json",
        r#"[{"user_id": "9001", "name": "陈经理", "role": "manager", "pin": "8888"}]"#,
    );
    assert_eq!(
        counts(&import::import_users(st, &t.tenant, &f, strict()).unwrap()),
        (0, 1, 0, 0)
    );
    let h = row(st, &t.tenant, Entity::Users, "9001").unwrap()["pin_hash"].clone();
    assert!(import::verify_pin("8888", h.as_str().unwrap()));
    let bad = write(
        &dir,
        "b.json",
        "[{\"user_id\": \"1\", \"name\": \"a\", \"role\": \"boss\", \"pin\": \"1234\"},\n\
         {\"user_id\": \"2\", \"name\": \"b\", \"role\": \"cashier\", \"pin\": \"12\"}]",
    );
    let r = import::import_users(st, &t.tenant, &bad, strict()).unwrap();
    assert_eq!(lines(&r), vec![1, 2]);
    assert!(r.errors[0].message.contains("unknown role"), "{r}");
    assert!(r.errors[1].message.contains("4 to 8 digits"), "{r}");
}

/// The key ring a till builds from the `coupon_keys` rows.
fn key_ring(s: &dyn Storage, t: &TenantId, ids: &[u32]) -> KeyRing {
    let keys: Vec<String> = ids.iter().map(u32::to_string).collect();
    let rows = s.get_changes(t, Entity::CouponKeys, &keys).unwrap();
    let entries: Vec<PublicKeyEntry> = rows
        .into_values()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    KeyRing::try_from(entries).unwrap()
}

fn coupon_packs_verify_and_reach_the_member(db: &TestDb) {
    let s = db.open();
    let st = s.as_ref();
    let t = tenant(st, "甲");
    import::import_campaigns(st, &t.tenant, &demo("campaigns.json"), strict()).unwrap();
    import::import_members(st, &t.tenant, &demo("members.json"), strict()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kf = dir.path().join("hq-key-3.json");
    let entry = coupons::keygen(st, &t.tenant, 3, &kf).unwrap();
    assert_eq!(
        row(st, &t.tenant, Entity::CouponKeys, "3").unwrap(),
        json!({"key_id": 3, "public_key": entry.public_key})
    );
    // Never overwritten, never published twice.
    assert!(coupons::keygen(st, &t.tenant, 4, &kf).is_err());
    assert!(coupons::keygen(st, &t.tenant, 3, &dir.path().join("other.json")).is_err());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kf).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let key = coupons::read_key_file(&kf).unwrap();
    let ring = key_ring(st, &t.tenant, &[3]);
    let pack = write(
        &dir,
        "pack.json",
        r#"{"id": "NEW-MEMBER", "name": "新会员礼包",
            "items": [{"campaign_id": 1001, "count": 2}, {"campaign_id": 1002}]}"#,
    );
    // Unbound: 3 packs = 9 codes, all verifying, serials 1..=6 and 1..=3.
    let mut out = Vec::new();
    let issued =
        coupons::issue_pack(st, &t.tenant, &pack, &key, &Recipients::Count(3), &mut out).unwrap();
    assert_eq!(issued.codes, 9);
    let text = String::from_utf8(out).unwrap();
    let mut serials: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for line in text.lines() {
        let code = CouponCode::from_str(line).unwrap();
        let v = tillstone_core::coupon::verify(&code, &ring).unwrap();
        assert_eq!(v.member_id(), None);
        serials.entry(v.campaign_id()).or_default().push(v.serial());
    }
    assert_eq!(serials[&1001], (1..=6).collect::<Vec<_>>());
    assert_eq!(serials[&1002], vec![1, 2, 3]);
    // Bound to two members: codes carry the member and land in their rows.
    let mut out = Vec::new();
    coupons::issue_pack(
        st,
        &t.tenant,
        &pack,
        &key,
        &Recipients::Members(vec!["M000002".into(), "M000005".into()]),
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut by_member: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        let (m, code) = line.split_once('\t').unwrap();
        let c = CouponCode::from_str(code).unwrap();
        let v = tillstone_core::coupon::verify(&c, &ring).unwrap();
        assert_eq!(v.member_id(), Some(m));
        assert!(v.serial() > 3 && (v.campaign_id() == 1002 || v.serial() > 6));
        by_member.entry(m.into()).or_default().push(code.into());
    }
    for m in ["M000002", "M000005"] {
        let r = row(st, &t.tenant, Entity::Members, m).unwrap();
        let wallet: Vec<String> = serde_json::from_value(r["coupons"].clone()).unwrap();
        assert_eq!(wallet, by_member[m], "{m}");
    }
    // Refusals: an unknown member, an unknown campaign, a key the tills do not trust.
    let e = coupons::issue_pack(
        st,
        &t.tenant,
        &pack,
        &key,
        &Recipients::Members(vec!["M999".into()]),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown member(s) M999"), "{e}");
    let pack2 = write(
        &dir,
        "p2.json",
        r#"{"id": "X", "name": "x", "items": [{"campaign_id": 5}]}"#,
    );
    let e = coupons::issue_pack(
        st,
        &t.tenant,
        &pack2,
        &key,
        &Recipients::Count(1),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("campaign 5"), "{e}");
    let stranger = tillstone_core::coupon::IssuerKey::from_secret(3, &[7; 32]);
    let e = coupons::issue_pack(
        st,
        &t.tenant,
        &pack,
        &stranger,
        &Recipients::Count(1),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("not the published coupon key 3"),
        "{e}"
    );
}

fn serials_are_never_reserved_twice(db: &TestDb) {
    let s = db.open();
    let t = tenant(s.as_ref(), "甲");
    let other = tenant(s.as_ref(), "乙");
    // Two handles (like two processes), four threads each, reserving blocks of 1..=5.
    let handles = [db.open(), db.open()];
    let got: Vec<(u64, u64)> = std::thread::scope(|sc| {
        let mut joins = Vec::new();
        for h in &handles {
            for k in 0..4u64 {
                let h = h.clone();
                let tenant = t.tenant.clone();
                joins.push(sc.spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..15u64 {
                        let n = 1 + (i + k) % 5;
                        let first = h.reserve_serials(&tenant, 1001, n).unwrap();
                        mine.push((first, first + n - 1));
                    }
                    mine
                }));
            }
        }
        joins.into_iter().flat_map(|j| j.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = got.iter().flat_map(|&(a, b)| a..=b).collect();
    let n = all.len() as u64;
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=n).collect::<Vec<_>>(),
        "every serial once, no gaps"
    );
    // Per campaign and per tenant.
    assert_eq!(s.reserve_serials(&t.tenant, 1002, 2).unwrap(), 1);
    assert_eq!(s.reserve_serials(&other.tenant, 1001, 1).unwrap(), 1);
    assert_eq!(s.reserve_serials(&t.tenant, 1001, 1).unwrap(), n + 1);
    assert!(s.reserve_serials(&t.tenant, 1001, 0).is_err());

    // Two `issue-pack` processes at once: no code shares a serial.
    let dir = tempfile::tempdir().unwrap();
    import::import_campaigns(s.as_ref(), &t.tenant, &demo("campaigns.json"), strict()).unwrap();
    let kf = dir.path().join("k.json");
    coupons::keygen(s.as_ref(), &t.tenant, 1, &kf).unwrap();
    let pack = write(
        &dir,
        "p.json",
        r#"{"id": "P", "name": "p", "items": [{"campaign_id": 1002, "count": 3}]}"#,
    );
    let url = db.url();
    let children: Vec<_> = (0..2)
        .map(|i| {
            let out = dir.path().join(format!("codes{i}.txt"));
            let child = Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
                .args([
                    "--db",
                    &url,
                    "coupons",
                    "issue-pack",
                    "--tenant",
                    t.tenant.as_str(),
                ])
                .arg("--pack")
                .arg(&pack)
                .arg("--key-file")
                .arg(&kf)
                .args(["--count", "40", "--out"])
                .arg(&out)
                .spawn()
                .unwrap();
            (child, out)
        })
        .collect();
    let ring = key_ring(s.as_ref(), &t.tenant, &[1]);
    let mut seen = HashSet::new();
    for (mut child, out) in children {
        assert!(child.wait().unwrap().success());
        let text = std::fs::read_to_string(out).unwrap();
        assert_eq!(text.lines().count(), 120);
        for l in text.lines() {
            let v =
                tillstone_core::coupon::verify(&CouponCode::from_str(l).unwrap(), &ring).unwrap();
            assert!(
                seen.insert(v.serial()),
                "serial {} issued twice",
                v.serial()
            );
        }
    }
    assert_eq!(seen.len(), 240);
}

// ---------------------------------------------------------------------------------------------
// The daily report
// ---------------------------------------------------------------------------------------------

fn product(sku: &str, price: &str, rate: &str, class: &str) -> tillstone_core::catalog::Product {
    tillstone_core::catalog::Product {
        sku: sku.into(),
        name: sku.into(),
        name_en: String::new(),
        barcodes: vec![],
        category: "测试".into(),
        tax_class: class.into(),
        tax_rate: Decimal::from_str(rate).unwrap(),
        unit: tillstone_core::catalog::Unit::Piece,
        price: Decimal::from_str(price).unwrap(),
    }
}

/// A completed sale made with core's cart, at a local time (+08:00).
fn sale(
    n: u32,
    terminal: &str,
    local: &str,
    items: &[(&tillstone_core::catalog::Product, i64)],
    percent_off: Option<i64>,
    tender: tillstone_core::tender::TenderKind,
) -> tillstone_core::sale::Sale {
    use tillstone_core::settings::StoreSettings;
    let settings = StoreSettings::new("s-01", "门店一");
    let mut cart = tillstone_core::cart::Cart::new(format!("cart-{n}"));
    for (p, q) in items {
        cart.add_product(p, Decimal::from(*q), None).unwrap();
    }
    if let Some(p) = percent_off {
        cart.order_discount = Some(tillstone_core::pricing::Discount {
            value: tillstone_core::pricing::DiscountValue::Percent(Decimal::from(p)),
            reason: "test".into(),
            approved_by: None,
            approved_percent: None,
        });
    }
    let due = cart.price(&settings).totals.total;
    let reference = tender.needs_reference().then(|| format!("ref-{n}"));
    // Cash: hand over a round 100 more than due, to have change.
    let amount = if tender == tillstone_core::tender::TenderKind::Cash {
        due.ceil() + Decimal::ONE_HUNDRED
    } else {
        due
    };
    cart.add_tender(tender, amount, reference, &settings)
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(local)
        .unwrap()
        .with_timezone(&chrono::Utc);
    tillstone_core::sale::complete_sale(
        &cart,
        &settings,
        tillstone_core::sale::DocContext {
            sale_id: format!("sale-{n}"),
            receipt_no: format!("R{n:05}"),
            store_code: "s-01".into(),
            terminal_id: terminal.into(),
            shift_id: "shift-1".into(),
            cashier_id: "1001".into(),
            completed_at: at,
        },
    )
    .unwrap()
}

fn coupon(campaign_id: u32, serial: u64, amount: &str) -> tillstone_core::coupon::CouponDiscount {
    tillstone_core::coupon::CouponDiscount {
        code: format!("TC1.TEST{campaign_id}{serial}"),
        key_id: 1,
        campaign_id,
        serial,
        member_id: None,
        kind: tillstone_core::coupon::CouponKind::AmountOff,
        name: "券".into(),
        name_en: "coupon".into(),
        eligible: Decimal::from(100),
        amount: Decimal::from_str(amount).unwrap(),
        lines: vec![],
        explanation_zh: String::new(),
        explanation_en: String::new(),
        offline: true,
        refund_restores: false,
    }
}

fn ms(doc: &tillstone_core::sale::Sale) -> u64 {
    doc.ctx.completed_at.timestamp_millis() as u64
}

fn daily_report_matches_the_pushed_sales(db: &TestDb) {
    use tillstone_core::sale::SaleKind;
    use tillstone_core::tender::TenderKind::*;
    let s = db.open();
    let st = s.as_ref();
    let t = tenant(st, "甲");
    let now = now_ms();
    let mut terms = Vec::new();
    for _ in 0..2 {
        let code = st
            .create_enrollment_code(&t.tenant, &t.store, now, now + 60_000)
            .unwrap();
        let id = tillstone_sync::TerminalId::new(uuid::Uuid::now_v7().to_string()).unwrap();
        terms.push(st.enroll(&code, &id, now).unwrap().principal);
    }
    let (a, b) = (terms[0].terminal.as_str(), terms[1].terminal.as_str());
    let cola = product("COLA", "3.50", "0.13", "standard");
    let rice = product("RICE", "52.80", "0.09", "food");
    let tea = product("TEA", "19.90", "0.06", "service");
    let mut docs = vec![
        // The day before (local), just before midnight: not in the report.
        sale(1, a, "2026-11-19T23:59:59+08:00", &[(&cola, 2)], None, Cash),
        // The day: 00:00:00 local = 16:00 UTC the day before.
        sale(
            2,
            a,
            "2026-11-20T00:00:00+08:00",
            &[(&cola, 3), (&rice, 1)],
            None,
            Cash,
        ),
        sale(
            3,
            b,
            "2026-11-20T09:15:00+08:00",
            &[(&rice, 2), (&tea, 1)],
            Some(5),
            Card,
        ),
        sale(
            4,
            b,
            "2026-11-20T12:30:00+08:00",
            &[(&tea, 3)],
            None,
            Alipay,
        ),
        sale(
            5,
            a,
            "2026-11-20T18:00:00+08:00",
            &[(&cola, 1), (&tea, 2)],
            Some(10),
            WechatPay,
        ),
        sale(6, a, "2026-11-20T20:00:00+08:00", &[(&rice, 1)], None, Card), // voided
        sale(
            7,
            b,
            "2026-11-20T23:59:59+08:00",
            &[(&cola, 6), (&rice, 1), (&tea, 1)],
            None,
            Cash,
        ),
        // The next day.
        sale(8, b, "2026-11-21T00:00:00+08:00", &[(&rice, 3)], None, Card),
    ];
    docs[2].coupons.push(coupon(1001, 17, "5.00"));
    docs[3].coupons.push(coupon(1001, 18, "5.00"));
    docs[6].coupons.push(coupon(1002, 4, "9.50"));
    // A full return of sale 3 the same day, on the other terminal.
    let mut ret = docs[2].clone();
    ret.kind = SaleKind::Return;
    ret.ctx.sale_id = "return-1".into();
    ret.ctx.receipt_no = "R90001".into();
    ret.ctx.terminal_id = a.into();
    ret.ctx.completed_at = chrono::DateTime::parse_from_rfc3339("2026-11-20T15:00:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    ret.coupons.clear();
    docs.push(ret);

    // Push: each document as its terminal does (kind, payload = the document), a post-void
    // of sale 6, and coupon redemptions (coupon 1001-17 also redeemed by sale 4 offline).
    let mut per_terminal: HashMap<String, Vec<tillstone_sync::Event>> = HashMap::new();
    let mut add = |terminal: &str, kind: EventKind, wall: u64, payload: Value| {
        let list = per_terminal.entry(terminal.to_string()).or_default();
        let tid = tillstone_sync::TerminalId::new(terminal).unwrap();
        let mut e = event(&tid, list.len() as u64 + 1, kind, payload);
        e.hlc.wall_ms = wall;
        list.push(e);
    };
    for d in &docs {
        let kind = match d.kind {
            SaleKind::Sale => EventKind::Sale,
            SaleKind::Return => EventKind::Return,
        };
        add(
            &d.ctx.terminal_id,
            kind,
            ms(d),
            serde_json::to_value(d).unwrap(),
        );
        for c in &d.coupons {
            add(
                &d.ctx.terminal_id,
                EventKind::CouponRedemption,
                ms(d),
                json!({"coupon_id": format!("{}-{}", c.campaign_id, c.serial),
                       "sale_id": d.ctx.sale_id, "amount": c.amount.to_string()}),
            );
        }
    }
    add(
        a,
        EventKind::CouponRedemption,
        ms(&docs[4]),
        json!({"coupon_id": "1001-17", "sale_id": "sale-5", "amount": "5.00"}),
    );
    add(
        a,
        EventKind::PostVoid,
        ms(&docs[5]) + 60_000,
        json!({"sale_id": "sale-6", "receipt_no": "R00006", "shift_id": "shift-1",
               "user_id": "1001", "approved_by": "9001", "reason": "test",
               "at": "2026-11-20T12:01:00Z"}),
    );
    for p in &terms {
        let events = per_terminal.remove(p.terminal.as_str()).unwrap();
        let ack = st.push(p, &batch(&t, &p.terminal, &events), now).unwrap();
        assert_eq!(ack.accepted.len(), events.len(), "{ack:?}");
    }

    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let r = tillstone_cloud::admin::report::daily(st, &t.tenant, &t.store, date).unwrap();

    // The same figures, summed here from the documents.
    let day: Vec<&tillstone_core::sale::Sale> = docs
        .iter()
        .filter(|d| !["sale-1", "sale-8"].contains(&d.ctx.sale_id.as_str()))
        .collect();
    let live: Vec<&&tillstone_core::sale::Sale> =
        day.iter().filter(|d| d.ctx.sale_id != "sale-6").collect();
    let sales: Vec<_> = live.iter().filter(|d| d.kind == SaleKind::Sale).collect();
    let returns: Vec<_> = live.iter().filter(|d| d.kind == SaleKind::Return).collect();
    let sum = |it: &mut dyn Iterator<Item = Decimal>| it.fold(Decimal::ZERO, |a, b| a + b);
    assert_eq!(r.agg.sales_count, 5);
    assert_eq!(r.agg.returns_count, 1);
    assert_eq!(
        r.agg.gross_sales,
        sum(&mut sales.iter().map(|d| d.totals.subtotal))
    );
    assert_eq!(
        r.agg.discounts,
        sum(&mut sales.iter().map(|d| d.totals.discount_total))
    );
    assert!(r.agg.discounts > Decimal::ZERO);
    let sales_total = sum(&mut sales.iter().map(|d| d.totals.total));
    let returns_total = sum(&mut returns.iter().map(|d| d.totals.total));
    assert_eq!(r.agg.sales_total, sales_total);
    assert_eq!(r.agg.returns_total, returns_total);
    assert_eq!(r.net_sales, sales_total - returns_total);
    assert_eq!(r.agg.voided_count, 1);
    assert_eq!(r.agg.voided_total, docs[5].totals.total);
    let mut tax: BTreeMap<String, Decimal> = BTreeMap::new();
    for d in &live {
        for l in &d.tax_summary {
            *tax.entry(l.rate.normalize().to_string()).or_default() += d.sign() * l.tax;
        }
    }
    let got: BTreeMap<String, Decimal> = r
        .agg
        .tax
        .iter()
        .map(|t| (t.rate.normalize().to_string(), t.tax))
        .collect();
    assert_eq!(got, tax);
    assert_eq!(got.len(), 3);
    let mut tenders: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for d in &live {
        for tl in &d.tenders {
            let e = tenders.entry(tl.kind.as_str()).or_default();
            match d.kind {
                SaleKind::Sale => e.0 += tl.applied,
                SaleKind::Return => e.1 += tl.applied,
            }
        }
    }
    let got: BTreeMap<&str, (Decimal, Decimal)> = r
        .agg
        .tenders
        .iter()
        .map(|t| (t.kind.as_str(), (t.sales, t.refunds)))
        .collect();
    assert_eq!(got, tenders);
    assert_eq!(got.len(), 4);
    // Cash kept = the total of the cash sales (the change went back).
    assert_eq!(got["cash"].0, docs[1].totals.total + docs[6].totals.total);
    assert_eq!(r.coupon_count, 3);
    assert_eq!(r.coupon_amount, Decimal::from_str("19.50").unwrap());
    assert_eq!(r.double_redemptions.len(), 1);
    let o = &r.double_redemptions[0];
    assert_eq!(o.winner.coupon_id, "1001-17");
    assert_eq!(o.winner.sale_id, "sale-3");
    assert_eq!(o.losers[0].sale_id, "sale-5");
    assert_eq!(r.terminals.len(), 2);
    assert!(r.unreadable.is_empty(), "{:?}", r.unreadable);
    assert_eq!(r.from.to_rfc3339(), "2026-11-19T16:00:00+00:00");
    // Another offset (store settings): the day moves.
    let mut settings = tillstone_core::settings::StoreSettings::new("s-01", "门店一");
    settings.utc_offset_minutes = 0;
    st.put_change(
        &t.tenant,
        Entity::StoreSettings,
        "s-01",
        serde_json::to_value(&settings).unwrap(),
    )
    .unwrap();
    let r = tillstone_cloud::admin::report::daily(st, &t.tenant, &t.store, date).unwrap();
    // UTC 2026-11-20 is 08:00 on the 20th to 08:00 on the 21st at +08:00: sales 3 to 8 (6
    // voided) and the return.
    assert_eq!(
        (r.agg.sales_count, r.agg.voided_count, r.agg.returns_count),
        (5, 1, 1)
    );
    // An unknown store is an error, not an empty report.
    let e = tillstone_cloud::admin::report::daily(
        st,
        &t.tenant,
        &tillstone_sync::StoreId::new("nope").unwrap(),
        date,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown store"), "{e}");
}

/// The binary: import (exit status and messages), keygen, issue-pack, report daily --json.
fn cli_round_trip(db: &TestDb) {
    let s = db.open();
    let t = tenant(s.as_ref(), "甲");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
            .args(["--db", &url])
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let tenant = t.tenant.as_str();
    let products = demo("products.csv");
    let tax = demo("tax_classes.csv");
    let (code, out, err) = run(&[
        "import",
        "catalog",
        products.to_str().unwrap(),
        "--tax-classes",
        tax.to_str().unwrap(),
        "--tenant",
        tenant,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("catalog: 2000 rows: 2000 new, 0 changed, 0 unchanged, 0 rejected"),
        "{out}"
    );
    let bad = write(&dir, "p.csv", "sku,price\nDR0000002,1\nDR0000002,2\n");
    let (code, out, err) = run(&[
        "import",
        "prices",
        bad.to_str().unwrap(),
        "--tenant",
        tenant,
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("line 3 (DR0000002): this key is already on line 2"),
        "{out}"
    );
    assert!(
        err.contains("1 row(s) rejected; nothing was written"),
        "{err}"
    );
    let (code, out, _) = run(&[
        "import",
        "prices",
        bad.to_str().unwrap(),
        "--tenant",
        tenant,
        "--skip-bad",
        "--json",
    ]);
    assert_eq!(code, Some(1));
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["new"], 1);
    assert_eq!(summary["rejected"], 1);
    assert_eq!(summary["errors"][0]["line"], 3);
    for (what, file) in [
        ("campaigns", "campaigns.json"),
        ("members", "members.json"),
        ("users", "users.json"),
        ("promotions", "promotions.json"),
        ("settings", "store.json"),
    ] {
        let f = demo(file);
        let (code, out, err) = run(&["import", what, f.to_str().unwrap(), "--tenant", tenant]);
        assert_eq!(code, Some(0), "{what}: {out}{err}");
    }
    let kf = dir.path().join("key.json");
    let (code, out, err) = run(&[
        "coupons",
        "keygen",
        "--tenant",
        tenant,
        "--key-id",
        "2",
        "--out",
        kf.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("public key"), "{out}");
    let pack = write(
        &dir,
        "pack.json",
        r#"{"id": "W", "name": "w", "items": [{"campaign_id": 1001}]}"#,
    );
    let (code, out, err) = run(&[
        "coupons",
        "issue-pack",
        "--tenant",
        tenant,
        "--pack",
        pack.to_str().unwrap(),
        "--key-file",
        kf.to_str().unwrap(),
        "--member",
        "M000003",
        "--member",
        "M000004",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out.lines().count(), 2);
    assert!(out.starts_with("M000003\tTC1."), "{out}");
    assert!(err.contains("campaign 1001: serials 1–2"), "{err}");
    let (code, out, err) = run(&[
        "report",
        "daily",
        "--tenant",
        tenant,
        "--store",
        "s-01",
        "--date",
        "2026-11-20",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["sales_count"], 0);
    assert_eq!(r["net_sales"], "0.00");
    let (code, _, err) = run(&[
        "report",
        "daily",
        "--tenant",
        tenant,
        "--store",
        "s-01",
        "--date",
        "20.11.2026",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is not a date like"), "{err}");
}
