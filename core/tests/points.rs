//! Loyalty points: table tests for earning, redeeming, tiers, clawback and the member QR code;
//! property tests for the PN-counter (merge laws, convergence to the sum of the events) and for
//! the arithmetic rules.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use tillstone_core::points::*;

fn rules(per_unit: Decimal, cats: &[(&str, Decimal)], tiers: &[(&str, Decimal)]) -> EarnRules {
    EarnRules {
        points_per_unit: per_unit,
        category_multipliers: cats.iter().map(|(c, m)| (c.to_string(), *m)).collect(),
        tier_multipliers: tiers.iter().map(|(t, m)| (t.to_string(), *m)).collect(),
    }
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + minute * 60, 0).unwrap()
}

fn event(id: &str, terminal: &str, kind: PointKind, points: i64) -> PointEvent {
    PointEvent {
        event_id: id.into(),
        member_id: "M1".into(),
        terminal_id: terminal.into(),
        kind,
        points,
        at: at(0),
        ref_id: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Earning
// ---------------------------------------------------------------------------------------------

#[test]
fn earn_table() {
    let std = rules(dec!(1), &[], &[]);
    let shop = rules(
        dec!(1),
        &[("fresh", dec!(2)), ("tobacco", dec!(0))],
        &[("silver", dec!(1.2)), ("gold", dec!(1.5))],
    );
    let tenth = rules(dec!(0.1), &[], &[("gold", dec!(2))]);
    type Case<'a> = (
        &'a str,
        &'a EarnRules,
        &'a str,
        &'a [(&'a str, Decimal)],
        i64,
    );
    let cases: &[Case] = &[
        ("nothing bought", &std, "standard", &[], 0),
        (
            "1 point per yuan",
            &std,
            "standard",
            &[("drinks", dec!(12.80))],
            12,
        ),
        (
            "below one yuan",
            &std,
            "standard",
            &[("drinks", dec!(0.99))],
            0,
        ),
        (
            "floor once per order, not per line",
            &std,
            "standard",
            &[("drinks", dec!(0.50)), ("snacks", dec!(0.50))],
            1,
        ),
        (
            "category multiplier",
            &shop,
            "standard",
            &[("fresh", dec!(10)), ("drinks", dec!(5.5))],
            25,
        ),
        (
            "excluded category",
            &shop,
            "standard",
            &[("tobacco", dec!(300)), ("drinks", dec!(3))],
            3,
        ),
        (
            "tier multiplier",
            &shop,
            "gold",
            &[("drinks", dec!(99.99))],
            149,
        ),
        (
            "tier and category",
            &shop,
            "silver",
            &[("fresh", dec!(10.01)), ("drinks", dec!(1))],
            25,
        ),
        (
            "unknown tier counts once",
            &shop,
            "vip",
            &[("drinks", dec!(7))],
            7,
        ),
        (
            "1 point per 10 yuan",
            &tenth,
            "standard",
            &[("x", dec!(99.99))],
            9,
        ),
        (
            "1 point per 10 yuan, gold",
            &tenth,
            "gold",
            &[("x", dec!(99.99))],
            19,
        ),
        (
            "a returned line in the order reduces the sum",
            &std,
            "standard",
            &[("drinks", dec!(20)), ("drinks", dec!(-5.5))],
            14,
        ),
        (
            "negative orders earn nothing",
            &std,
            "standard",
            &[("drinks", dec!(-20))],
            0,
        ),
    ];
    for (name, r, tier, lines, want) in cases {
        assert_eq!(earn(r, tier, lines.iter().copied()), *want, "{name}");
    }
}

#[test]
fn earn_rules_validate() {
    assert!(EarnRules::default().validate().is_ok());
    assert!(rules(dec!(-1), &[], &[]).validate().is_err());
    assert!(
        rules(dec!(1), &[("x", dec!(-0.5))], &[])
            .validate()
            .is_err()
    );
    assert!(
        rules(dec!(1), &[], &[("gold", dec!(1001))])
            .validate()
            .is_err()
    );
    // Invalid multipliers never make points negative.
    let bad = rules(dec!(1), &[("x", dec!(-3))], &[]);
    assert_eq!(earn(&bad, "", [("x", dec!(10))]), 0);
}

#[test]
fn earn_saturates_instead_of_panicking() {
    let huge = rules(dec!(1000), &[("x", dec!(1000))], &[("t", dec!(1000))]);
    let lines = vec![("x", Decimal::MAX); 3];
    assert_eq!(earn(&huge, "t", lines), i64::MAX);
}

#[test]
fn clawback_table() {
    assert_eq!(clawback(120, dec!(120.50), dec!(0)), 0);
    assert_eq!(clawback(120, dec!(120.50), dec!(60.25)), 60);
    assert_eq!(clawback(120, dec!(120.50), dec!(120.50)), 120);
    assert_eq!(clawback(120, dec!(120.50), dec!(500)), 120);
    assert_eq!(clawback(7, dec!(10), dec!(3)), 2);
    assert_eq!(clawback(0, dec!(10), dec!(3)), 0);
    assert_eq!(clawback(7, dec!(0), dec!(3)), 0);
}

// ---------------------------------------------------------------------------------------------
// Redeeming
// ---------------------------------------------------------------------------------------------

#[test]
fn redeem_table() {
    let r = RedeemRules::default(); // 100 points = ¥1, at most half the order
    let min500 = RedeemRules {
        min_points: 500,
        ..RedeemRules::default()
    };
    let fen = RedeemRules {
        points_per_step: 10,
        value_per_step: dec!(0.05),
        max_share: dec!(1),
        min_points: 0,
    };
    type Case<'a> = (&'a str, i64, &'a RedeemRules, Decimal, (i64, Decimal));
    let cases: &[Case] = &[
        ("whole steps", 1_250, &r, dec!(100), (1_200, dec!(12))),
        (
            "capped by the share",
            10_000,
            &r,
            dec!(37.90),
            (1_800, dec!(18)),
        ),
        ("less than a step", 99, &r, dec!(100), (0, dec!(0))),
        ("no points", 0, &r, dec!(100), (0, dec!(0))),
        ("negative points", -500, &r, dec!(100), (0, dec!(0))),
        ("empty order", 1_000, &r, dec!(0), (0, dec!(0))),
        ("refund order", 1_000, &r, dec!(-20), (0, dec!(0))),
        ("share below one step", 1_000, &r, dec!(1.98), (0, dec!(0))),
        ("below the minimum", 400, &min500, dec!(100), (0, dec!(0))),
        ("at the minimum", 500, &min500, dec!(100), (500, dec!(5))),
        (
            "small steps, full order",
            1_000,
            &fen,
            dec!(3.33),
            (660, dec!(3.30)),
        ),
    ];
    for (name, points, rules, total, want) in cases {
        assert_eq!(redeem_value(*points, rules, *total), *want, "{name}");
    }
    let broken = RedeemRules {
        points_per_step: 0,
        ..RedeemRules::default()
    };
    assert!(broken.validate().is_err());
    assert_eq!(redeem_value(1_000, &broken, dec!(100)), (0, dec!(0)));
    let share = RedeemRules {
        max_share: dec!(1.5),
        ..RedeemRules::default()
    };
    assert!(share.validate().is_err());
}

// ---------------------------------------------------------------------------------------------
// Tiers
// ---------------------------------------------------------------------------------------------

#[test]
fn tier_table() {
    let t = TierRules::default();
    for (lifetime, want) in [
        (-5, "standard"),
        (0, "standard"),
        (4_999, "standard"),
        (5_000, "silver"),
        (19_999, "silver"),
        (20_000, "gold"),
        (i64::MAX, "gold"),
    ] {
        assert_eq!(tier_for(lifetime, &t), want, "{lifetime}");
    }
    // Unordered tiers, a lowest tier above 0, and no tiers.
    let odd = TierRules {
        basis: TierBasis::LifetimeSpendMinor,
        tiers: vec![
            Tier {
                code: "gold".into(),
                threshold: 1_000_000,
            },
            Tier {
                code: "member".into(),
                threshold: 100,
            },
        ],
    };
    assert_eq!(tier_for(0, &odd), "member");
    assert_eq!(tier_for(999_999, &odd), "member");
    assert_eq!(tier_for(1_000_000, &odd), "gold");
    let none = TierRules {
        basis: TierBasis::LifetimePoints,
        tiers: vec![],
    };
    assert_eq!(tier_for(100, &none), "");
}

#[test]
fn rules_round_trip_as_json() {
    let json = r#"{
        "points_per_unit": "1",
        "category_multipliers": { "fresh": "2", "tobacco": "0" },
        "tier_multipliers": { "gold": "1.5" }
    }"#;
    let r: EarnRules = serde_json::from_str(json).unwrap();
    assert_eq!(earn(&r, "gold", [("fresh", dec!(10))]), 30);
    let redeem: RedeemRules = serde_json::from_str(
        r#"{ "points_per_step": 100, "value_per_step": "1", "max_share": "0.3" }"#,
    )
    .unwrap();
    assert_eq!(redeem_value(5_000, &redeem, dec!(50)), (1_500, dec!(15)));
    let tiers: TierRules = serde_json::from_str(
        r#"{ "basis": "lifetime_spend_minor", "tiers": [{ "code": "silver", "threshold": 0 }] }"#,
    )
    .unwrap();
    assert_eq!(tiers.basis, TierBasis::LifetimeSpendMinor);
    let e = event("E1", "T1", PointKind::Redeem, -300);
    let back: PointEvent = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
    assert_eq!(back, e);
    assert!(
        serde_json::to_string(&e)
            .unwrap()
            .contains("\"kind\":\"redeem\"")
    );
}

// ---------------------------------------------------------------------------------------------
// Point events and the PN-counter
// ---------------------------------------------------------------------------------------------

#[test]
fn point_event_signs() {
    assert!(event("E", "T", PointKind::Earn, 10).validate().is_ok());
    assert!(event("E", "T", PointKind::Earn, -10).validate().is_err());
    assert!(event("E", "T", PointKind::Earn, 0).validate().is_err());
    assert!(event("E", "T", PointKind::Redeem, -10).validate().is_ok());
    assert!(event("E", "T", PointKind::Redeem, 10).validate().is_err());
    assert!(event("E", "T", PointKind::Expire, -10).validate().is_ok());
    assert!(event("E", "T", PointKind::Expire, 10).validate().is_err());
    assert!(event("E", "T", PointKind::Adjust, 10).validate().is_ok());
    assert!(event("E", "T", PointKind::Adjust, -10).validate().is_ok());
    assert!(event("E", "T", PointKind::Adjust, 0).validate().is_err());
    assert!(event("", "T", PointKind::Earn, 1).validate().is_err());
    assert!(event("E", " ", PointKind::Earn, 1).validate().is_err());
    for k in [
        PointKind::Earn,
        PointKind::Redeem,
        PointKind::Adjust,
        PointKind::Expire,
    ] {
        assert_eq!(PointKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(PointKind::parse("gift"), None);
}

#[test]
fn counter_table() {
    let events = [
        event("E1", "T1", PointKind::Earn, 120),
        event("E2", "T1", PointKind::Redeem, -100),
        event("E3", "T2", PointKind::Earn, 30),
        event("E4", "HQ", PointKind::Adjust, 5),
        event("E5", "HQ", PointKind::Expire, -20),
    ];
    let c = PnCounter::from_events(&events);
    assert_eq!(c.balance(), 35);
    assert_eq!(c.credited(), 155);
    assert_eq!(c.debited(), 120);
    assert_eq!(c.actor("T1"), (120, 100));
    assert_eq!(c.actor("T9"), (0, 0));

    // Two terminals, each knowing part of it, converge by merging.
    let t1 = PnCounter::from_events(&events[..2]);
    let t2 = PnCounter::from_events(&events[2..3]);
    let hq = PnCounter::from_events(&events[3..]);
    let merged = t1.merged(&t2).merged(&hq);
    assert_eq!(merged, c);
    assert!(t1.covered_by(&merged) && !merged.covered_by(&t1));
    // A stale view merged in changes nothing.
    let stale = PnCounter::from_events(&events[..1]);
    assert_eq!(merged.merged(&stale), merged);

    // Serialised as {"p": {...}, "n": {...}}.
    let json = serde_json::to_value(&t1).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "p": { "T1": 120 }, "n": { "T1": 100 } })
    );
    let mut zero = PnCounter::new();
    zero.add("T1", 0);
    zero.p.insert("T2".into(), 0);
    assert_eq!(zero.normalized(), PnCounter::new());
    assert_eq!(zero.balance(), 0);
}

#[test]
fn counter_saturates() {
    let mut c = PnCounter::new();
    c.increment("A", u64::MAX);
    c.increment("A", 5);
    c.increment("B", u64::MAX);
    assert_eq!(c.actor("A").0, u64::MAX);
    assert_eq!(c.credited(), u64::MAX);
    assert_eq!(c.balance(), i64::MAX);
    c.decrement("A", u64::MAX);
    c.decrement("B", u64::MAX);
    assert_eq!(c.balance(), 0);
    let mut d = PnCounter::new();
    d.decrement("A", u64::MAX);
    assert_eq!(d.balance(), i64::MIN);
}

const TERMINALS: [&str; 4] = ["T1", "T2", "T3", "HQ"];

fn arb_event() -> impl Strategy<Value = (usize, i64)> {
    (0..TERMINALS.len(), prop_oneof![1i64..5_000, -5_000i64..0])
}

fn counter_of(events: &[(usize, i64)]) -> PnCounter {
    let mut c = PnCounter::new();
    for (t, p) in events {
        c.add(TERMINALS[*t], *p);
    }
    c
}

fn arb_counter() -> impl Strategy<Value = PnCounter> {
    prop::collection::vec(arb_event(), 0..20).prop_map(|e| counter_of(&e))
}

/// Per terminal, its event stream (points, signed); replicas each know a prefix of every
/// stream (a terminal's events reach others in order through its outbox).
fn arb_replicas() -> impl Strategy<Value = (Vec<Vec<i64>>, Vec<Vec<usize>>)> {
    let streams = prop::collection::vec(
        prop::collection::vec(prop_oneof![1i64..10_000, -10_000i64..0], 0..12),
        TERMINALS.len(),
    );
    streams.prop_flat_map(|streams| {
        let lens: Vec<usize> = streams.iter().map(Vec::len).collect();
        let replica = lens.iter().map(|&l| 0..=l).collect::<Vec<_>>();
        (Just(streams), prop::collection::vec(replica, 1..5))
    })
}

fn view(streams: &[Vec<i64>], prefix: &[usize]) -> (PnCounter, Vec<PointEvent>) {
    let mut events = Vec::new();
    for (t, stream) in streams.iter().enumerate() {
        for (i, p) in stream[..prefix[t]].iter().enumerate() {
            let kind = if *p > 0 {
                PointKind::Earn
            } else {
                PointKind::Redeem
            };
            events.push(PointEvent {
                event_id: format!("{}-{i}", TERMINALS[t]),
                member_id: "M1".into(),
                terminal_id: TERMINALS[t].into(),
                kind,
                points: *p,
                at: at(i as i64),
                ref_id: None,
            });
        }
    }
    (PnCounter::from_events(&events), events)
}

proptest! {
    #[test]
    fn merge_is_commutative(a in arb_counter(), b in arb_counter()) {
        prop_assert_eq!(a.merged(&b).normalized(), b.merged(&a).normalized());
    }

    #[test]
    fn merge_is_associative(a in arb_counter(), b in arb_counter(), c in arb_counter()) {
        prop_assert_eq!(
            a.merged(&b).merged(&c).normalized(),
            a.merged(&b.merged(&c)).normalized()
        );
    }

    #[test]
    fn merge_is_idempotent(a in arb_counter(), b in arb_counter()) {
        prop_assert_eq!(a.merged(&a).normalized(), a.normalized());
        let ab = a.merged(&b);
        prop_assert_eq!(ab.merged(&b).normalized(), ab.normalized());
        prop_assert!(a.covered_by(&ab) && b.covered_by(&ab));
    }

    #[test]
    fn balance_is_the_sum_of_the_events(events in prop::collection::vec(arb_event(), 0..40)) {
        let c = counter_of(&events);
        let sum: i64 = events.iter().map(|(_, p)| p).sum();
        let credits: i64 = events.iter().map(|(_, p)| (*p).max(0)).sum();
        prop_assert_eq!(c.balance(), sum);
        prop_assert_eq!(c.credited() as i64, credits);
        prop_assert_eq!(c.credited() as i64 - c.debited() as i64, sum);
    }

    /// Replicas that each know a prefix of every terminal's events converge, merged in any
    /// order, to the counter of the longest prefixes: its balance is the sum of those events.
    #[test]
    fn replicas_converge((streams, replicas) in arb_replicas(), rot in 0usize..8) {
        let views: Vec<(PnCounter, Vec<PointEvent>)> =
            replicas.iter().map(|r| view(&streams, r)).collect();
        for (c, events) in &views {
            prop_assert_eq!(c.balance(), events.iter().map(|e| e.points).sum::<i64>());
        }
        let longest: Vec<usize> = (0..TERMINALS.len())
            .map(|t| replicas.iter().map(|r| r[t]).max().unwrap_or(0))
            .collect();
        let (want, want_events) = view(&streams, &longest);
        let mut forward = PnCounter::new();
        for (c, _) in &views {
            forward.merge(c);
        }
        let mut order: Vec<usize> = (0..views.len()).collect();
        order.rotate_left(rot % views.len());
        order.reverse();
        let mut other = PnCounter::new();
        for i in order {
            other.merge(&views[i].0);
        }
        prop_assert_eq!(forward.normalized(), want.normalized());
        prop_assert_eq!(other.normalized(), want.normalized());
        prop_assert_eq!(
            forward.balance(),
            want_events.iter().map(|e| e.points).sum::<i64>()
        );
    }

    #[test]
    fn earn_is_the_floor_of_the_exact_sum(
        lines in prop::collection::vec((0usize..3, 0i64..1_000_000), 0..8),
        tier in 0usize..3,
    ) {
        let cats = ["a", "b", "c"];
        let tiers = ["standard", "silver", "gold"];
        let r = rules(
            dec!(0.5),
            &[("a", dec!(1)), ("b", dec!(3)), ("c", dec!(0))],
            &[("silver", dec!(1.2)), ("gold", dec!(2))],
        );
        let cat_m: BTreeMap<&str, Decimal> =
            [("a", dec!(1)), ("b", dec!(3)), ("c", dec!(0))].into_iter().collect();
        let tier_m = [dec!(1), dec!(1.2), dec!(2)][tier];
        let amounts: Vec<(&str, Decimal)> =
            lines.iter().map(|(c, m)| (cats[*c], Decimal::new(*m, 2))).collect();
        let exact: Decimal = amounts
            .iter()
            .map(|(c, a)| *a * cat_m[c] * dec!(0.5) * tier_m)
            .sum();
        let got = earn(&r, tiers[tier], amounts.iter().copied());
        prop_assert!(Decimal::from(got) <= exact);
        prop_assert!(Decimal::from(got + 1) > exact);
        // Splitting every line in two never changes the points.
        let split: Vec<(&str, Decimal)> = amounts
            .iter()
            .flat_map(|(c, a)| {
                let half = (*a / dec!(2)).round_dp(2);
                [(*c, half), (*c, *a - half)]
            })
            .collect();
        prop_assert_eq!(earn(&r, tiers[tier], split), got);
    }

    #[test]
    fn redeem_takes_the_most_that_fits(
        points in -100i64..100_000,
        total_fen in -1_000i64..1_000_000,
        step in 1i64..500,
        value_fen in 1i64..500,
        share_pct in 0i64..=100,
    ) {
        let r = RedeemRules {
            points_per_step: step,
            value_per_step: Decimal::new(value_fen, 2),
            max_share: Decimal::new(share_pct, 2),
            min_points: 0,
        };
        let total = Decimal::new(total_fen, 2);
        let (used, amount) = redeem_value(points, &r, total);
        prop_assert!(used >= 0 && used <= points.max(0));
        prop_assert_eq!(used % step, 0);
        prop_assert_eq!(amount, Decimal::from(used / step) * r.value_per_step);
        prop_assert!(amount <= (total * r.max_share).max(Decimal::ZERO));
        // One more step would not fit.
        let more_points = used + step <= points;
        let more_share = amount + r.value_per_step <= total * r.max_share;
        prop_assert!(!(more_points && more_share));
    }

    #[test]
    fn clawback_is_bounded_and_monotone(
        earned in 0i64..100_000,
        paid_fen in 1i64..10_000_000,
        a in 0i64..10_000_000,
        b in 0i64..10_000_000,
    ) {
        let paid = Decimal::new(paid_fen, 2);
        let (lo, hi) = (a.min(b), a.max(b));
        let c_lo = clawback(earned, paid, Decimal::new(lo, 2));
        let c_hi = clawback(earned, paid, Decimal::new(hi, 2));
        prop_assert!(0 <= c_lo && c_lo <= c_hi && c_hi <= earned);
        prop_assert_eq!(clawback(earned, paid, paid), earned);
    }

    #[test]
    fn tier_is_monotone(a in -10i64..50_000, b in -10i64..50_000) {
        let t = TierRules::default();
        let rank = |code: &str| ["standard", "silver", "gold"].iter().position(|c| *c == code);
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(rank(tier_for(lo, &t)) <= rank(tier_for(hi, &t)));
    }

    #[test]
    fn qr_round_trips(
        id in "[A-Za-z0-9_-]{1,40}",
        minute in 0i64..100_000_000,
        skew in -QR_FUTURE_MINUTES..=QR_PAST_MINUTES,
        secret in prop::collection::vec(any::<u8>(), 0..100),
    ) {
        let code = member_qr(&id, minute, &secret);
        prop_assert_eq!(verify_member_qr(&code, &secret, minute + skew), Ok(id.clone()));
        let mut other = secret.clone();
        other.push(1);
        prop_assert_eq!(verify_member_qr(&code, &other, minute), Err(QrError::BadSignature));
    }
}

// ---------------------------------------------------------------------------------------------
// Member QR code
// ---------------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sha256_test_vectors() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        )),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    assert_eq!(
        hex(&sha256(&vec![b'a'; 1_000_000])),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

#[test]
fn hmac_sha256_rfc4231() {
    // Test cases 1, 2, 6 and 7 of RFC 4231.
    assert_eq!(
        hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hex(&hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    assert_eq!(
        hex(&hmac_sha256(
            &[0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
        )),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
    );
}

#[test]
fn member_qr_table() {
    let secret = b"store-secret";
    let code = member_qr("M000001", 29_166_666, secret);
    assert!(code.starts_with("TM1.M000001.29166666."), "{code}");
    assert_eq!(code.len(), "TM1.M000001.29166666.".len() + 32);
    let ok = Ok("M000001".to_string());
    assert_eq!(verify_member_qr(&code, secret, 29_166_666), ok);
    assert_eq!(
        verify_member_qr(&format!(" {code}\n"), secret, 29_166_668),
        ok
    );
    // Scanners in QR alphanumeric mode may upper-case the code: the MAC's hex case is free.
    assert_eq!(
        verify_member_qr(&code.to_uppercase(), secret, 29_166_666),
        ok
    );
    assert_eq!(
        verify_member_qr(&code, secret, 29_166_669),
        Err(QrError::Expired)
    );
    assert_eq!(verify_member_qr(&code, secret, 29_166_665), ok);
    assert_eq!(
        verify_member_qr(&code, secret, 29_166_664),
        Err(QrError::NotYetValid)
    );
    assert_eq!(
        verify_member_qr(&code, b"other", 29_166_666),
        Err(QrError::BadSignature)
    );

    // Tampering with any part breaks the signature.
    let forged_id = code.replace("M000001", "M000002");
    assert_eq!(
        verify_member_qr(&forged_id, secret, 29_166_666),
        Err(QrError::BadSignature)
    );
    let forged_minute = code.replace("29166666", "29166667");
    assert_eq!(
        verify_member_qr(&forged_minute, secret, 29_166_666),
        Err(QrError::BadSignature)
    );
    let mut flipped = code.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        verify_member_qr(&flipped, secret, 29_166_666),
        Err(QrError::BadSignature)
    );

    for bad in [
        "",
        "TM1",
        "6901234567892",
        "TM2.M000001.29166666.00000000000000000000000000000000",
        "TM1.M000001.29166666",
        "TM1.M000001.-5.00000000000000000000000000000000",
        "TM1.M000001.+5.00000000000000000000000000000000",
        "TM1..29166666.00000000000000000000000000000000",
        "TM1.M0.01.29166666.00000000000000000000000000000000",
        "TM1.M000001.29166666.0000",
        "TM1.M000001.29166666.zz000000000000000000000000000000",
        "TM1.张伟.29166666.00000000000000000000000000000000",
    ] {
        assert_eq!(
            verify_member_qr(bad, secret, 29_166_666),
            Err(QrError::Malformed),
            "{bad:?}"
        );
    }
}
