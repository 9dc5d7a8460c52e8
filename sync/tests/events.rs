mod common;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;
use tillstone_sync::{
    EventKind, EventLog, PROTOCOL_VERSION, PushBatch, Receipt, RejectReason, Replica,
};

fn rejected(r: Receipt) -> RejectReason {
    match r {
        Receipt::Rejected(x) => x.reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn duplicates_are_idempotent_and_conflicts_are_reported() {
    let mut log = EventLog::new();
    let e = stock(1, 1, "A", -2);
    assert_eq!(log.insert(&store(1), e.clone()), Receipt::Accepted);
    assert_eq!(log.insert(&store(1), e.clone()), Receipt::Duplicate);
    assert_eq!(log.len(), 1);

    // Same id, other content.
    let mut changed = e.clone();
    changed.payload = json!({"sku": "A", "delta": -3});
    assert_eq!(
        rejected(log.insert(&store(1), changed)),
        RejectReason::IdConflict
    );

    // Same id, same event, another store: also a conflict.
    assert_eq!(
        rejected(log.insert(&store(2), e.clone())),
        RejectReason::IdConflict
    );

    // Same (terminal, seq), another id.
    let mut other = stock(1, 1, "A", -2);
    other.event_id = uuid7(1, 999);
    assert_eq!(
        rejected(log.insert(&store(1), other)),
        RejectReason::SeqConflict
    );

    // The terminal turns up in another store.
    assert_eq!(
        rejected(log.insert(&store(2), stock(1, 2, "A", 1))),
        RejectReason::TerminalMoved
    );
    assert_eq!(log.len(), 1);
}

#[test]
fn invalid_envelopes_are_rejected() {
    let mut log = EventLog::new();
    let mut e = stock(1, 1, "A", 1);
    e.event_id = "not-a-uuid".into();
    assert_eq!(rejected(log.insert(&store(1), e)), RejectReason::Invalid);

    let mut e = stock(1, 1, "A", 1);
    e.event_id = uuid::Uuid::from_u128(0x1234).hyphenated().to_string(); // not v7
    assert_eq!(rejected(log.insert(&store(1), e)), RejectReason::Invalid);

    let mut e = stock(1, 1, "A", 1);
    e.event_id = e.event_id.to_uppercase(); // one id, one spelling
    assert_eq!(rejected(log.insert(&store(1), e)), RejectReason::Invalid);

    let e = stock(1, 0, "A", 1);
    assert_eq!(rejected(log.insert(&store(1), e)), RejectReason::Invalid);

    let mut e = stock(1, 1, "A", 1);
    e.hlc.node = term(2);
    assert_eq!(rejected(log.insert(&store(1), e)), RejectReason::Invalid);

    let mut e = stock(1, 1, "A", 1);
    e.payload = json!([1, 2]);
    assert_eq!(rejected(log.insert(&store(1), e)), RejectReason::Invalid);
    assert!(log.is_empty());
}

#[test]
fn the_log_tracks_gaps() {
    let mut log = EventLog::new();
    for seq in [1, 2, 4, 5] {
        log.insert(&store(1), stock(1, seq, "A", 1));
    }
    assert_eq!(log.contiguous_through(&term(1)), 2);
    assert_eq!(log.highest_seq(&term(1)), 5);
    log.insert(&store(1), stock(1, 3, "A", 1));
    assert_eq!(log.contiguous_through(&term(1)), 5);
    let seqs: Vec<u64> = log.terminal_events(&term(1)).map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(log.contiguous_through(&term(2)), 0);
}

#[test]
fn payloads_of_stateful_kinds_are_checked() {
    let mut r = Replica::new(tenant());
    let bad = [
        event(1, 1, EventKind::StockMovement, json!({"sku": "A"})),
        event(
            1,
            2,
            EventKind::StockMovement,
            json!({"sku": "", "delta": 1}),
        ),
        event(
            1,
            3,
            EventKind::PointEvent,
            json!({"member_id": "m", "points": "ten"}),
        ),
        event(
            1,
            4,
            EventKind::CouponRedemption,
            json!({"coupon_id": "c", "sale_id": "s", "amount": "-1.00"}),
        ),
        event(1, 5, EventKind::MemberSignup, json!({"fields": {}})),
    ];
    for e in bad {
        assert_eq!(
            rejected(r.receive(&store(1), e)),
            RejectReason::InvalidPayload
        );
    }
    // Kinds without derived state take any object payload.
    let ok = event(1, 6, EventKind::Sale, json!({"anything": [1, 2, 3]}));
    assert_eq!(r.receive(&store(1), ok), Receipt::Accepted);
    assert_eq!(r.log.len(), 1);
}

#[test]
fn counter_overflow_is_a_rejection_not_a_panic() {
    let mut r = Replica::new(tenant());
    assert_eq!(
        r.receive(&store(1), stock(1, 1, "A", i64::MAX)),
        Receipt::Accepted
    );
    assert_eq!(
        r.receive(&store(1), stock(1, 2, "A", i64::MAX)),
        Receipt::Accepted
    );
    assert_eq!(
        rejected(r.receive(&store(1), stock(1, 3, "A", i64::MAX))),
        RejectReason::Overflow
    );
    assert_eq!(r.state.stock(&store(1), "A"), 2 * i128::from(i64::MAX));
    assert!(r.log.get(&stock(1, 3, "A", 1).event_id).is_none());
}

#[test]
fn a_batch_is_answered_event_by_event() {
    let mut r = Replica::new(tenant());
    let mut wrong = stock(2, 1, "A", 1);
    wrong.payload = json!({"sku": "A", "delta": 1});
    let batch = PushBatch {
        version: PROTOCOL_VERSION,
        tenant: tenant(),
        store: store(1),
        terminal: term(1),
        batch_id: "b-1".into(),
        events: vec![stock(1, 1, "A", -1), points(1, 2, "m1", 50), wrong.clone()],
    };
    let ack = r.receive_batch(&batch).unwrap();
    assert_eq!(ack.batch_id, "b-1");
    assert_eq!(ack.accepted.len(), 2);
    assert!(ack.duplicates.is_empty());
    assert_eq!(ack.rejected.len(), 1);
    assert_eq!(ack.rejected[0].event_id, wrong.event_id);
    assert_eq!(ack.rejected[0].reason, RejectReason::WrongTerminal);

    // The retry (lost ack) is all duplicates and changes nothing.
    let before = r.clone();
    let again = r.receive_batch(&batch).unwrap();
    assert!(again.accepted.is_empty());
    assert_eq!(again.duplicates, ack.accepted);
    assert_eq!(r.state, before.state);
    assert_eq!(r.state.points("m1"), 50);

    let mut other = batch.clone();
    other.tenant = tillstone_sync::TenantId::new("tenant-2").unwrap();
    assert!(r.receive_batch(&other).is_err());
}

/// Events of 3 terminals in one store, with stock, points, redemptions and signups.
fn history() -> impl Strategy<Value = Vec<tillstone_sync::Event>> {
    let one = (0usize..3, 0u8..4, 0usize..3, -50i64..50);
    proptest::collection::vec(one, 1..40).prop_map(|xs| {
        let mut seqs = [0u64; 3];
        xs.into_iter()
            .map(|(t, kind, k, n)| {
                seqs[t] += 1;
                let seq = seqs[t];
                match kind {
                    0 => stock(t, seq, &format!("sku-{k}"), n),
                    1 => points(t, seq, &format!("m{k}"), n),
                    2 => event(
                        t,
                        seq,
                        EventKind::CouponRedemption,
                        json!({"coupon_id": format!("c{k}"), "sale_id": format!("s{t}-{seq}"),
                               "amount": format!("{}.00", n.abs())}),
                    ),
                    _ => event(
                        t,
                        seq,
                        EventKind::MemberSignup,
                        json!({"member_id": format!("m{k}"),
                               "fields": {"name": format!("n{t}-{seq}"),
                                          "phone": if n > 0 { Some(format!("{n}")) } else { None }}}),
                    ),
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any delivery order with any duplicates gives the same log and state; the counters equal
    /// the sums of their events.
    #[test]
    fn delivery_order_and_duplicates_do_not_matter(
        events in history(),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..80),
        seed in any::<u64>(),
    ) {
        let mut in_order = Replica::new(tenant());
        for e in &events {
            prop_assert_eq!(in_order.receive(&store(1), e.clone()), Receipt::Accepted);
        }
        // Shuffled deliveries plus random duplicates.
        let mut delivery: Vec<_> = events.clone();
        for p in &picks { delivery.push(p.get(&events).clone()); }
        let mut rng = seed;
        for i in (1..delivery.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            delivery.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let mut shuffled = Replica::new(tenant());
        for e in delivery {
            let r = shuffled.receive(&store(1), e);
            prop_assert!(matches!(r, Receipt::Accepted | Receipt::Duplicate));
        }
        prop_assert_eq!(&shuffled.log, &in_order.log);
        prop_assert_eq!(&shuffled.state, &in_order.state);

        let mut stock_sum: BTreeMap<String, i128> = BTreeMap::new();
        let mut points_sum: BTreeMap<String, i128> = BTreeMap::new();
        for e in &events {
            match e.kind {
                EventKind::StockMovement => *stock_sum.entry(e.payload["sku"].as_str().unwrap().into()).or_default() += i128::from(e.payload["delta"].as_i64().unwrap()),
                EventKind::PointEvent => *points_sum.entry(e.payload["member_id"].as_str().unwrap().into()).or_default() += i128::from(e.payload["points"].as_i64().unwrap()),
                _ => {}
            }
        }
        for (sku, sum) in stock_sum {
            prop_assert_eq!(shuffled.state.stock(&store(1), &sku), sum);
        }
        for (m, sum) in points_sum {
            prop_assert_eq!(shuffled.state.points(&m), sum);
        }
        for t in 0..3 {
            prop_assert_eq!(shuffled.log.contiguous_through(&term(t)), shuffled.log.highest_seq(&term(t)));
        }
    }
}
