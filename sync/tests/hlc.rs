mod common;

use common::{hlc, term};
use proptest::prelude::*;
use tillstone_sync::{Hlc, MAX_DRIFT_MS};

const BASE: u64 = 1_700_000_000_000;

#[test]
fn tick_follows_the_physical_clock_and_counts_within_a_millisecond() {
    let mut c = Hlc::zero(term(1));
    assert_eq!(c.tick(BASE), hlc(BASE, 0, &term(1)));
    assert_eq!(c.tick(BASE), hlc(BASE, 1, &term(1)));
    // The clock steps back: the HLC does not.
    assert_eq!(c.tick(BASE - 5000), hlc(BASE, 2, &term(1)));
    assert_eq!(c.tick(BASE + 1), hlc(BASE + 1, 0, &term(1)));
}

#[test]
fn recv_moves_past_the_remote_timestamp() {
    let mut c = Hlc::zero(term(1));
    c.tick(BASE);
    let remote = hlc(BASE + 1000, 7, &term(2));
    let got = c.recv(&remote, BASE + 10).unwrap();
    assert_eq!(got, hlc(BASE + 1000, 8, &term(1)));
    assert!(got > remote);
    // Physical time overtakes.
    assert_eq!(c.tick(BASE + 2000), hlc(BASE + 2000, 0, &term(1)));
}

#[test]
fn recv_refuses_a_clock_too_far_ahead_and_stays_put() {
    let mut c = Hlc::zero(term(1));
    c.tick(BASE);
    let before = c.clone();
    let remote = hlc(BASE + MAX_DRIFT_MS + 1, 0, &term(2));
    let err = c.recv(&remote, BASE).unwrap_err();
    assert_eq!(err.ahead_ms, MAX_DRIFT_MS + 1);
    assert!(err.to_string().contains("term-2"), "{err}");
    assert_eq!(c, before);
    // Exactly at the bound is accepted.
    assert!(c.recv(&hlc(BASE + MAX_DRIFT_MS, 0, &term(2)), BASE).is_ok());
}

#[test]
fn counter_overflow_borrows_a_millisecond() {
    let mut c = hlc(BASE, u32::MAX, &term(1));
    assert_eq!(c.tick(BASE), hlc(BASE + 1, 0, &term(1)));
    let mut c = hlc(BASE, 3, &term(1));
    let r = hlc(BASE, u32::MAX, &term(2));
    assert_eq!(c.recv(&r, BASE).unwrap(), hlc(BASE + 1, 0, &term(1)));
    // The very end saturates instead of panicking.
    let mut c = hlc(u64::MAX, u32::MAX, &term(1));
    assert_eq!(c.tick(u64::MAX), hlc(u64::MAX, u32::MAX, &term(1)));
}

#[test]
fn order_is_wall_then_counter_then_node() {
    assert!(hlc(1, 9, &term(9)) < hlc(2, 0, &term(0)));
    assert!(hlc(2, 0, &term(9)) < hlc(2, 1, &term(0)));
    assert!(hlc(2, 1, &term(1)) < hlc(2, 1, &term(2)));
}

#[test]
fn wire_shape() {
    let h = hlc(BASE, 3, &term(1));
    let v = serde_json::to_value(&h).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"wall_ms": BASE, "counter": 3, "node": "term-1"})
    );
    assert!(serde_json::from_str::<Hlc>(r#"{"wall_ms":1,"counter":0,"node":""}"#).is_err());
    assert!(serde_json::from_str::<Hlc>(r#"{"wall_ms":1,"counter":0,"node":"a","x":1}"#).is_err());
}

#[derive(Debug, Clone)]
enum Step {
    Tick(u64),
    Recv {
        wall: u64,
        counter: u32,
        node: usize,
        now: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    // Clocks within ±1 h of BASE, counters sometimes near the top.
    let ms = BASE - 3_600_000..BASE + 3_600_000;
    let counter = prop_oneof![0u32..5, (u32::MAX - 3)..=u32::MAX];
    prop_oneof![
        ms.clone().prop_map(Step::Tick),
        (ms.clone(), counter, 0usize..4, ms).prop_map(|(wall, counter, node, now)| Step::Recv {
            wall,
            counter,
            node,
            now
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Monotonic, causal, never behind physical time, bounded drift.
    #[test]
    fn hlc_guarantees(steps in proptest::collection::vec(step(), 1..60)) {
        let me = term(0);
        let mut c = Hlc::zero(me.clone());
        for s in steps {
            let before = c.clone();
            match s {
                Step::Tick(now) => {
                    let t = c.tick(now);
                    prop_assert!((t.wall_ms, t.counter) > (before.wall_ms, before.counter));
                    prop_assert!(t.wall_ms >= now);
                    prop_assert_eq!(&t.node, &me);
                    prop_assert_eq!(&t, &c);
                }
                Step::Recv { wall, counter, node, now } => {
                    let remote = hlc(wall, counter, &term(node));
                    match c.recv(&remote, now) {
                        Ok(t) => {
                            prop_assert!(wall <= now + MAX_DRIFT_MS);
                            prop_assert!((t.wall_ms, t.counter) > (before.wall_ms, before.counter));
                            prop_assert!(t > remote);
                            prop_assert!(t.wall_ms >= now);
                            prop_assert_eq!(&t.node, &me);
                        }
                        Err(e) => {
                            prop_assert!(wall > now + MAX_DRIFT_MS);
                            prop_assert_eq!(e.remote_wall_ms, wall);
                            prop_assert_eq!(&c, &before);
                        }
                    }
                }
            }
        }
    }

    /// `wall_ms` never exceeds the largest physical time or accepted remote time seen, except
    /// by the milliseconds borrowed on counter overflow (at most one per step).
    #[test]
    fn wall_is_bounded_by_what_was_seen(steps in proptest::collection::vec(step(), 1..60)) {
        let mut c = Hlc::zero(term(0));
        let mut seen = 0u64;
        for (i, s) in steps.into_iter().enumerate() {
            let res = match s {
                Step::Tick(now) => {
                    seen = seen.max(now);
                    Some(c.tick(now))
                }
                Step::Recv { wall, counter, node, now } => {
                    seen = seen.max(now);
                    let r = c.recv(&hlc(wall, counter, &term(node)), now).ok();
                    if r.is_some() { seen = seen.max(wall); }
                    r
                }
            };
            if let Some(t) = res {
                prop_assert!(t.wall_ms <= seen + i as u64 + 1);
            }
        }
    }
}
