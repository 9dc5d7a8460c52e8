mod common;

use common::*;
use proptest::prelude::*;
use rust_decimal::Decimal;
use tillstone_sync::{
    Counter, CounterState, EventKind, LwwMap, Redemption, RedemptionRegistry, Replica,
};

fn counter() -> impl Strategy<Value = Counter> {
    proptest::collection::vec((0usize..4, -1000i64..1000), 0..12).prop_map(|ops| {
        let mut c = Counter::new();
        for (t, d) in ops {
            c.add(&term(t), d).unwrap();
        }
        c
    })
}

fn lww() -> impl Strategy<Value = LwwMap<String, Option<String>>> {
    let write = (
        0usize..3,
        0u64..5,
        0u32..2,
        0usize..3,
        proptest::option::of(0u8..3),
    );
    proptest::collection::vec(write, 0..10).prop_map(|ws| {
        let mut m = LwwMap::new();
        for (k, ms, c, node, v) in ws {
            m.set(
                format!("f{k}"),
                v.map(|v| format!("v{v}")),
                hlc(ms, c, &term(node)),
            );
        }
        m
    })
}

fn registry() -> impl Strategy<Value = RedemptionRegistry> {
    let r = (0usize..3, 0u64..6, 0usize..3, 0u64..4, 0i64..500);
    // Restores (coupon, sale), some before the redemption they give back.
    let restores = proptest::collection::vec((0usize..3, 0u64..4, any::<bool>()), 0..4);
    (proptest::collection::vec(r, 0..8), restores).prop_map(|(rs, restores)| {
        let mut reg = RedemptionRegistry::new();
        for &(c, n, _) in restores.iter().filter(|r| r.2) {
            reg.restore(&format!("c{c}"), &format!("s{n}"));
        }
        for (c, ms, node, n, amount) in rs {
            reg.insert(Redemption {
                coupon_id: format!("c{c}"),
                event_id: uuid7(ms, n),
                sale_id: format!("s{n}"),
                terminal_id: term(node),
                hlc: hlc(ms, 0, &term(node)),
                amount: Decimal::new(amount, 2),
            });
        }
        for &(c, n, _) in restores.iter().filter(|r| !r.2) {
            reg.restore(&format!("c{c}"), &format!("s{n}"));
        }
        reg
    })
}

macro_rules! laws {
    ($name:ident, $strategy:expr, $merge:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]
            #[test]
            fn $name(a in $strategy, b in $strategy, c in $strategy) {
                let merge = $merge;
                let m = |x: &_, y: &_| { let mut z = Clone::clone(x); merge(&mut z, y); z };
                // commutative
                prop_assert_eq!(m(&a, &b), m(&b, &a));
                // associative
                prop_assert_eq!(m(&m(&a, &b), &c), m(&a, &m(&b, &c)));
                // idempotent
                prop_assert_eq!(m(&a, &a), a.clone());
                prop_assert_eq!(m(&m(&a, &b), &b), m(&a, &b));
            }
        }
    };
}

laws!(
    counter_merge_laws,
    counter(),
    |x: &mut Counter, y: &Counter| x.merge(y)
);
laws!(lww_merge_laws, lww(), |x: &mut LwwMap<
    String,
    Option<String>,
>,
                              y: &LwwMap<
    String,
    Option<String>,
>| x.merge(y));
laws!(
    redemption_merge_laws,
    registry(),
    |x: &mut RedemptionRegistry, y: &RedemptionRegistry| {
        x.merge(y);
    }
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn counter_wire_state_round_trips(c in counter()) {
        let s = c.state();
        let json = serde_json::to_string(&s).unwrap();
        let back: CounterState = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(Counter::from_state(&back), c.clone());
        let sum: i128 = s.p.values().map(|&v| i128::from(v)).sum::<i128>()
            - s.n.values().map(|&v| i128::from(v)).sum::<i128>();
        prop_assert_eq!(c.value(), sum);
    }

    /// Derived states built from growing prefixes of the events (the hub's view as events
    /// arrive, and each terminal's own view) merge to the state of everything.
    #[test]
    fn derived_states_along_a_chain_merge_to_the_whole(
        deltas in proptest::collection::vec((0usize..3, 0usize..2, -100i64..100), 1..40),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 1..4),
    ) {
        let mut seqs = [0u64; 3];
        let events: Vec<_> = deltas.iter().map(|&(t, k, d)| {
            seqs[t] += 1;
            if k == 0 { stock(t, seqs[t], "A", d) } else { points(t, seqs[t], "m", d) }
        }).collect();
        let replica_of = |n: usize| {
            let mut r = Replica::new(tenant());
            for e in &events[..n] { r.receive(&store(1), e.clone()); }
            r.state
        };
        let whole = replica_of(events.len());
        let mut merged = replica_of(0);
        for cut in &cuts {
            merged.merge(&replica_of(cut.index(events.len() + 1)));
        }
        merged.merge(&whole);
        prop_assert_eq!(&merged, &whole);
        let sum = |k: EventKind, f: &str| -> i128 {
            events.iter().filter(|e| e.kind == k).map(|e| i128::from(e.payload[f].as_i64().unwrap())).sum()
        };
        prop_assert_eq!(whole.stock(&store(1), "A"), sum(EventKind::StockMovement, "delta"));
        prop_assert_eq!(whole.points("m"), sum(EventKind::PointEvent, "points"));
    }
}

#[test]
fn counter_sums_per_actor() {
    let mut c = Counter::new();
    c.add(&term(1), 10).unwrap();
    c.add(&term(1), -3).unwrap();
    c.add(&term(2), -4).unwrap();
    c.add(&term(2), 0).unwrap();
    assert_eq!(c.value(), 3);
    assert_eq!(c.actor(&term(1)), (10, 3));
    assert_eq!(c.actor(&term(2)), (0, 4));
    assert_eq!(c.actor(&term(3)), (0, 0));
    assert_eq!(
        serde_json::to_value(c.state()).unwrap(),
        serde_json::json!({"p": {"term-1": 10}, "n": {"term-1": 3, "term-2": 4}})
    );
    // A stale view of term-1 does not undo anything.
    let mut stale = Counter::new();
    stale.add(&term(1), 5).unwrap();
    c.merge(&stale);
    assert_eq!(c.value(), 3);
    let mut big = Counter::new();
    big.add(&term(1), i64::MAX).unwrap();
    big.add(&term(1), i64::MAX).unwrap();
    assert!(big.add(&term(1), 2).is_err());
    assert_eq!(big.actor(&term(1)).0, u64::MAX - 1);
}

#[test]
fn lww_fields_are_independent_and_ties_go_to_the_node() {
    let mut a = LwwMap::new();
    a.set("name", Some("王芳"), hlc(10, 0, &term(1)));
    a.set("phone", Some("138"), hlc(10, 0, &term(1)));
    let mut b = LwwMap::new();
    b.set("name", Some("王芳芳"), hlc(10, 0, &term(2))); // same time, greater node
    b.set("phone", None, hlc(9, 0, &term(2))); // older clear
    a.merge(&b);
    assert_eq!(a.get(&"name"), Some(&Some("王芳芳")));
    assert_eq!(a.get(&"phone"), Some(&Some("138")));
    assert!(!a.set("name", Some("old"), hlc(5, 0, &term(9))));
    assert!(a.set("phone", None, hlc(11, 0, &term(1))));
    assert_eq!(a.get(&"phone"), Some(&None));
    assert_eq!(a.stamp(&"phone"), Some(&hlc(11, 0, &term(1))));
}

#[test]
fn first_redemption_by_hlc_wins_and_losers_are_reported() {
    let red = |ms: u64, node: usize, sale: &str, amount: i64| Redemption {
        coupon_id: "CPN-1".into(),
        event_id: uuid7(ms, node as u64),
        sale_id: sale.into(),
        terminal_id: term(node),
        hlc: hlc(ms, 0, &term(node)),
        amount: Decimal::new(amount, 2),
    };
    let mut hub = RedemptionRegistry::new();
    let o = hub.insert(red(200, 2, "S-2", 1000)).expect("redeemed");
    assert!(!o.is_conflict());
    // An earlier redemption arrives later (the till was offline): it wins.
    let o = hub.insert(red(100, 1, "S-1", 500)).expect("redeemed");
    assert_eq!(o.winner.sale_id, "S-1");
    assert_eq!(o.losers.len(), 1);
    assert_eq!(o.losers[0].sale_id, "S-2");
    assert_eq!(o.losers[0].amount, Decimal::new(1000, 2));
    // Idempotent.
    assert_eq!(hub.insert(red(100, 1, "S-1", 500)), Some(o));

    let mut other = RedemptionRegistry::new();
    other.insert(red(150, 3, "S-3", 700));
    let outcomes = hub.merge(&other);
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].winner.sale_id, "S-1");
    let losers: Vec<_> = outcomes[0]
        .losers
        .iter()
        .map(|r| r.sale_id.as_str())
        .collect();
    assert_eq!(losers, ["S-3", "S-2"]);
    assert_eq!(hub.conflicts(), outcomes);
    assert!(hub.is_redeemed("CPN-1"));
    assert!(!hub.is_redeemed("CPN-2"));
}

#[test]
fn a_redemption_given_back_no_longer_counts_whichever_arrives_first() {
    let red = |ms: u64, node: usize, sale: &str| Redemption {
        coupon_id: "CPN-9".into(),
        event_id: uuid7(ms, node as u64),
        sale_id: sale.into(),
        terminal_id: term(node),
        hlc: hlc(ms, 0, &term(node)),
        amount: Decimal::new(500, 2),
    };
    // Till 1 redeems, then a return gives the coupon back: not redeemed any more.
    let mut hub = RedemptionRegistry::new();
    hub.insert(red(100, 1, "S-1")).expect("redeemed");
    assert_eq!(hub.restore("CPN-9", "S-1"), None);
    assert!(!hub.is_redeemed("CPN-9"));
    // Redeemed again on till 2 later: that sale holds it, with no conflict.
    let o = hub.insert(red(300, 2, "S-2")).expect("redeemed again");
    assert_eq!(o.winner.sale_id, "S-2");
    assert!(!o.is_conflict());
    assert!(hub.conflicts().is_empty());

    // Another replica sees the restore before the redemption it gives back (and a resend):
    // the same state once everything has arrived.
    let mut other = RedemptionRegistry::new();
    other.restore("CPN-9", "S-1");
    assert_eq!(other.insert(red(100, 1, "S-1")), None);
    other.insert(red(300, 2, "S-2"));
    other.restore("CPN-9", "S-1");
    assert_eq!(other, hub);

    // A double redemption resolved by giving one back: the conflict is gone.
    let mut two = RedemptionRegistry::new();
    two.insert(red(100, 1, "S-1"));
    let o = two.insert(red(200, 2, "S-2")).expect("redeemed");
    assert!(o.is_conflict());
    let o = two.restore("CPN-9", "S-1").expect("S-2 stands");
    assert_eq!(o.winner.sale_id, "S-2");
    assert!(!o.is_conflict());
    assert!(two.conflicts().is_empty());
}
