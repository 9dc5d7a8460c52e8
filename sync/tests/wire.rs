mod common;

use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use tillstone_sync::{
    Entity, EventKind, PROTOCOL_VERSION, PullPage, PullRequest, PushAck, PushBatch, RejectReason,
    Rejected, Row, WireError, decode, encode,
};

fn batch() -> PushBatch {
    PushBatch {
        version: PROTOCOL_VERSION,
        tenant: tenant(),
        store: store(1),
        terminal: term(1),
        batch_id: uuid7(1_700_000_000_000, 1),
        events: vec![stock(1, 1, "6901234567892", -2), points(1, 2, "m-1", 120)],
    }
}

#[test]
fn round_trips() {
    let b = batch();
    assert_eq!(decode::<PushBatch>(&encode(&b)).unwrap(), b);
    let ack = PushAck {
        version: 1,
        batch_id: b.batch_id.clone(),
        accepted: vec![b.events[0].event_id.clone()],
        duplicates: vec![b.events[1].event_id.clone()],
        rejected: vec![Rejected {
            event_id: "x".into(),
            reason: RejectReason::SeqConflict,
            detail: "seq 3 of terminal term-1 is already event y".into(),
        }],
    };
    assert_eq!(decode::<PushAck>(&encode(&ack)).unwrap(), ack);
    let req = PullRequest {
        version: 1,
        cursors: [(Entity::Catalog, 12), (Entity::CouponKeys, 3)].into(),
        limit: Some(100),
        count_remaining: None,
    };
    assert_eq!(decode::<PullRequest>(&encode(&req)).unwrap(), req);
    let page = PullPage {
        version: 1,
        rows: vec![Row {
            entity: Entity::Catalog,
            key: "sku-1".into(),
            revision: 13,
            deleted: false,
            data: json!({"name": "可乐 330ml"}),
        }],
        next_cursors: [(Entity::Catalog, 13)].into(),
        more: false,
        remaining: None,
    };
    assert_eq!(decode::<PullPage>(&encode(&page)).unwrap(), page);
}

#[test]
fn version_2_adds_pull_progress_and_version_1_refuses_it() {
    // Version 2: the request may ask for the count, the page carries it.
    let req =
        json!({"version": 2, "cursors": {"catalog": 5}, "limit": 10, "count_remaining": true});
    let req = decode::<PullRequest>(req.to_string().as_bytes()).unwrap();
    assert_eq!(req.count_remaining, Some(true));
    let page = json!({"version": 2, "rows": [], "next_cursors": {"catalog": 5}, "more": false,
        "remaining": 0});
    let page = decode::<PullPage>(page.to_string().as_bytes()).unwrap();
    assert_eq!(page.remaining, Some(0));
    assert_eq!(decode::<PullPage>(&encode(&page)).unwrap(), page);
    // Optional in version 2.
    let plain = json!({"version": 2, "cursors": {}});
    assert_eq!(
        decode::<PullRequest>(plain.to_string().as_bytes())
            .unwrap()
            .count_remaining,
        None
    );
    // A version-1 message with a version-2 field is refused.
    let e = err_of::<PullRequest>(json!({"version": 1, "cursors": {}, "count_remaining": true}));
    assert!(e.to_string().contains("needs protocol version 2"), "{e}");
    let e = err_of::<PullPage>(
        json!({"version": 1, "rows": [], "next_cursors": {}, "more": false, "remaining": 3}),
    );
    assert!(e.to_string().contains("needs protocol version 2"), "{e}");
    // Unknown fields stay errors in version 2.
    let e = err_of::<PullRequest>(json!({"version": 2, "cursors": {}, "total": true}));
    assert!(matches!(e, WireError::Malformed { .. }), "{e}");
    // Push messages are the same in both versions.
    let mut b = serde_json::to_value(batch()).unwrap();
    b["version"] = json!(2);
    assert_eq!(
        decode::<PushBatch>(b.to_string().as_bytes())
            .unwrap()
            .version,
        2
    );
}

#[test]
fn the_documented_shape() {
    let v: Value = serde_json::from_slice(&encode(&batch())).unwrap();
    let e = &v["events"][0];
    assert_eq!(v["version"], 1);
    assert_eq!(v["tenant"], "tenant-1");
    assert_eq!(e["kind"], "stock_movement");
    assert_eq!(e["seq"], 1);
    assert_eq!(e["hlc"]["node"], "term-1");
    assert_eq!(e["payload"]["delta"], -2);
    let req = json!({"version": 1, "cursors": {"catalog": 5, "store_settings": 0}});
    let req = decode::<PullRequest>(req.to_string().as_bytes()).unwrap();
    assert_eq!(req.cursors[&Entity::StoreSettings], 0);
    assert_eq!(req.limit, None);
}

fn err_of<M: tillstone_sync::Message + std::fmt::Debug>(v: Value) -> WireError {
    decode::<M>(v.to_string().as_bytes()).unwrap_err()
}

#[test]
fn versions_are_checked_first() {
    let mut v = serde_json::to_value(batch()).unwrap();
    v["version"] = json!(4);
    v["something_new"] = json!(true);
    let e = err_of::<PushBatch>(v.clone());
    assert!(
        matches!(e, WireError::UnsupportedVersion { found: 4, .. }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "protocol version 4 is not supported (supported: [1, 2, 3])"
    );
    v["version"] = json!("1");
    assert!(matches!(
        err_of::<PushBatch>(v.clone()),
        WireError::BadVersion(_)
    ));
    v["version"] = json!(-1);
    assert!(matches!(
        err_of::<PushBatch>(v.clone()),
        WireError::BadVersion(_)
    ));
    v.as_object_mut().unwrap().remove("version");
    assert_eq!(err_of::<PushBatch>(v), WireError::MissingVersion);
    assert_eq!(err_of::<PushBatch>(json!([1])), WireError::NotAnObject);
    assert!(matches!(
        decode::<PushBatch>(b"{\"version\":1,"),
        Err(WireError::Json(_))
    ));
}

#[test]
fn malformed_messages_say_what_is_wrong() {
    let base = serde_json::to_value(batch()).unwrap();
    type Case = (fn(&mut Value), &'static str);
    let cases: Vec<Case> = vec![
        (|v| v["extra"] = json!(1), "unknown field `extra`"),
        (
            |v| {
                v.as_object_mut().unwrap().remove("batch_id");
            },
            "missing field `batch_id`",
        ),
        (
            |v| v["terminal"] = json!("has space"),
            "a terminal id must be",
        ),
        (
            |v| v["events"][0]["kind"] = json!("teleport"),
            "unknown variant `teleport`",
        ),
        (|v| v["events"][0]["seq"] = json!(-1), "invalid value"),
        (
            |v| v["events"][0]["hlc"]["counter"] = json!(1u64 << 40),
            "u32",
        ),
        (|v| v["batch_id"] = json!(""), "batch_id must be"),
    ];
    for (mutate, msg) in cases {
        let mut v = base.clone();
        mutate(&mut v);
        let e = err_of::<PushBatch>(v);
        assert!(e.to_string().contains(msg), "{e} does not mention {msg}");
    }
    let mut v = base.clone();
    let many: Vec<Value> = (0..1001).map(|_| base["events"][0].clone()).collect();
    v["events"] = json!(many);
    assert!(matches!(err_of::<PushBatch>(v), WireError::Invalid { .. }));
    let huge = vec![b' '; tillstone_sync::wire::MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        decode::<PushBatch>(&huge),
        Err(WireError::TooLarge { .. })
    ));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        decode::<PullPage>(deep.as_bytes()),
        Err(WireError::Json(_))
    ));
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("version".to_string()),
            Just("1".to_string()),
            Just("catalog".to_string()),
            Just("sale".to_string()),
            "[a-z_0-9-]{0,12}",
            any::<String>(),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("version".to_string()),
            Just("events".to_string()),
            Just("rows".to_string()),
            Just("cursors".to_string()),
            Just("next_cursors".to_string()),
            Just("batch_id".to_string()),
            "[a-z_]{1,10}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            proptest::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn decode_all(bytes: &[u8]) {
    let _ = decode::<PushBatch>(bytes);
    let _ = decode::<PushAck>(bytes);
    let _ = decode::<PullRequest>(bytes);
    let _ = decode::<PullPage>(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    #[test]
    fn random_json_never_panics(mut v in json_value(), version in prop_oneof![Just(None), Just(Some(json!(1))), any::<i64>().prop_map(|n| Some(json!(n)))]) {
        if let (Value::Object(m), Some(ver)) = (&mut v, version) {
            m.insert("version".into(), ver);
        }
        decode_all(v.to_string().as_bytes());
    }

    /// Valid messages with random content survive encode → decode; a single corrupted byte
    /// never panics the decoder.
    #[test]
    fn push_batches_round_trip(
        n in 0usize..5,
        delta in any::<i64>(),
        sku in "[0-9]{1,14}",
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut b = batch();
        b.events = (1..=n as u64).map(|s| stock(1, s, &sku, delta)).collect();
        let bytes = encode(&b);
        prop_assert_eq!(decode::<PushBatch>(&bytes).unwrap(), b);
        let mut corrupt = bytes.clone();
        let i = flip.index(corrupt.len());
        corrupt[i] = byte;
        decode_all(&corrupt);
    }
}

#[test]
fn a_coupon_restore_needs_version_3() {
    let mut b = batch();
    b.events[0].kind = EventKind::CouponRestore;
    b.events[0].payload = json!({"coupon_id": "1001-7", "sale_id": "S-1"});
    assert_eq!(PushBatch::version_for(&b.events), 3);
    for version in [1, 2] {
        b.version = version;
        let e = err_of::<PushBatch>(serde_json::to_value(&b).unwrap());
        assert!(
            e.to_string()
                .contains("`coupon_restore` events need protocol version 3"),
            "{e}"
        );
    }
    b.version = 3;
    let back = decode::<PushBatch>(&encode(&b)).expect("version 3 carries it");
    assert_eq!(back.events[0].kind, EventKind::CouponRestore);
    // Other batches stay in version 1, readable by older hubs.
    assert_eq!(PushBatch::version_for(&batch().events), 1);
}
