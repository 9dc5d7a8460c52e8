//! The SQLite storage agrees with the pure model (`tillstone_sync::Replica`): same answers to
//! the same pushes, same derived state, whatever the order and the duplicates.

mod common;

use common::*;
use serde_json::json;
use tillstone_cloud::{Principal, Storage, StorageError};
use tillstone_sync::{Event, EventKind, PushAck, Replica, StoreId, TerminalId};

/// A tiny deterministic PRNG (xorshift) so the test needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn events_for(terminal: &TerminalId, rng: &mut Rng, n: u64) -> Vec<Event> {
    (1..=n)
        .map(|seq| {
            let (kind, payload) = match rng.below(7) {
                0 => (EventKind::StockMovement, json!({"sku": format!("sku-{}", rng.below(3)), "delta": rng.below(21) as i64 - 10})),
                1 => (EventKind::PointEvent, json!({"member_id": format!("m-{}", rng.below(3)), "points": rng.below(100) as i64 - 20})),
                2 => (EventKind::CouponRedemption, json!({"coupon_id": format!("c-{}", rng.below(3)), "sale_id": format!("sale-{seq}"), "amount": "2.00"})),
                3 => (EventKind::MemberSignup, json!({"member_id": format!("m-{}", rng.below(3)), "fields": {"name": format!("n{}", rng.below(9)), "phone": null}})),
                4 => (EventKind::StockMovement, json!({"sku": "bad"})),
                // A restore, often of a redemption not (yet) pushed, or never made.
                5 => (EventKind::CouponRestore, json!({"coupon_id": format!("c-{}", rng.below(3)), "sale_id": format!("sale-{}", 1 + rng.below(n)), "restored_by": format!("ret-{seq}")})),
                _ => (EventKind::Sale, json!({"total": "9.90"})),
            };
            let mut e = event(terminal, seq, kind, payload);
            e.hlc.wall_ms = 1_718_000_000_000 + rng.below(50);
            e.hlc.counter = rng.below(3) as u32;
            e
        })
        .collect()
}

fn principal(t: &Tenant, store: &StoreId, terminal: &TerminalId) -> Principal {
    Principal {
        tenant: t.tenant.clone(),
        store: store.clone(),
        terminal: terminal.clone(),
    }
}

#[test]
fn sqlite_storage_agrees_with_the_replica_model() {
    for seed in [1_u64, 7, 42, 1234, 99_991] {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(&db_path(&dir));
        let t = tenant(&*storage, "甲公司");
        let s2 = StoreId::new("s-02").unwrap();
        storage.create_store(&t.tenant, &s2, "二店").unwrap();
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut model = Replica::new(t.tenant.clone());
        let mut seen = std::collections::BTreeSet::new();

        let terminals: Vec<(Principal, Vec<Event>)> = (0..3)
            .map(|i| {
                let store = if i == 2 { s2.clone() } else { t.store.clone() };
                let id = TerminalId::new(uuid::Uuid::now_v7().to_string()).unwrap();
                let code = storage
                    .create_enrollment_code(&t.tenant, &store, now_ms(), now_ms() + 60_000)
                    .unwrap();
                storage.enroll(&code, &id, now_ms()).unwrap();
                let evs = events_for(&id, &mut rng, 25);
                (principal(&t, &store, &id), evs)
            })
            .collect();

        for round in 0..40 {
            let (who, evs) = &terminals[rng.below(3) as usize];
            let start = rng.below(evs.len() as u64) as usize;
            let len = 1 + rng.below(8) as usize;
            let mut chosen: Vec<Event> = evs[start..(start + len).min(evs.len())].to_vec();
            if rng.below(4) == 0 {
                chosen.reverse();
            }
            if rng.below(5) == 0 {
                // A forged variant: same id, other content.
                let mut f = chosen[0].clone();
                f.payload = json!({"total": format!("{round}")});
                chosen.push(f);
            }
            let mut b = batch(
                &Tenant {
                    tenant: who.tenant.clone(),
                    store: who.store.clone(),
                },
                &who.terminal,
                &chosen,
            );
            b.batch_id = format!("b-{round}");
            let got: PushAck = storage.push(who, &b, now_ms()).unwrap();
            let want = model.receive_batch(&b).unwrap();
            if !want.accepted.is_empty() {
                seen.insert("accepted".to_string());
            }
            if !want.duplicates.is_empty() {
                seen.insert("duplicate".to_string());
            }
            for r in &want.rejected {
                seen.insert(r.reason.as_str().to_string());
            }
            let reasons = |a: &PushAck| {
                a.rejected
                    .iter()
                    .map(|r| (r.event_id.clone(), r.reason))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                (&got.accepted, &got.duplicates),
                (&want.accepted, &want.duplicates),
                "seed {seed} round {round}"
            );
            assert_eq!(reasons(&got), reasons(&want), "seed {seed} round {round}");
        }

        assert_eq!(
            storage.event_count(&t.tenant).unwrap(),
            model.log.len() as u64
        );
        for store in [&t.store, &s2] {
            for sku in ["sku-0", "sku-1", "sku-2"] {
                assert_eq!(
                    storage.stock(&t.tenant, store, sku).unwrap(),
                    model.state.stock(store, sku),
                    "seed {seed}"
                );
            }
        }
        for m in ["m-0", "m-1", "m-2"] {
            assert_eq!(
                storage.points(&t.tenant, m).unwrap(),
                model.state.points(m),
                "seed {seed}"
            );
            for f in ["name", "phone"] {
                assert_eq!(
                    storage.profile_field(&t.tenant, m, f).unwrap().as_ref(),
                    model.state.profile_field(m, f),
                    "seed {seed}"
                );
            }
        }
        assert_eq!(
            storage.double_redemptions(&t.tenant).unwrap(),
            model.state.redemptions.conflicts(),
            "seed {seed}"
        );
        // The online check's answer: the standing redemptions of each coupon.
        for c in ["c-0", "c-1", "c-2"] {
            let mut got: Vec<String> = storage
                .coupon_redemptions(&t.tenant, c)
                .unwrap()
                .into_iter()
                .map(|r| r.sale_id)
                .collect();
            let mut want: Vec<String> = model
                .state
                .redemptions
                .outcome(c)
                .map(|o| {
                    std::iter::once(o.winner)
                        .chain(o.losers)
                        .map(|r| r.sale_id)
                        .collect()
                })
                .unwrap_or_default();
            got.sort();
            want.sort();
            assert_eq!(got, want, "seed {seed} coupon {c}");
        }
        for (who, _) in &terminals {
            assert_eq!(
                storage
                    .contiguous_through(&t.tenant, &who.terminal)
                    .unwrap(),
                model.log.contiguous_through(&who.terminal)
            );
        }
    }
}

#[test]
fn storage_refuses_a_batch_for_another_principal() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(&db_path(&dir));
    let a = tenant(&*storage, "甲");
    let b = tenant(&*storage, "乙");
    let id = TerminalId::new(uuid::Uuid::now_v7().to_string()).unwrap();
    let who = principal(&a, &a.store, &id);
    let forged = batch(&b, &id, &stock_events(&id, 1));
    assert!(matches!(
        storage.push(&who, &forged, now_ms()),
        Err(StorageError::Forbidden(_))
    ));
    assert_eq!(storage.event_count(&b.tenant).unwrap(), 0);
}

#[test]
fn schema_is_migrated_once_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let s = tillstone_cloud::SqliteStorage::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 3);
    let t = tenant(&s, "甲");
    drop(s);
    let s = tillstone_cloud::SqliteStorage::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 3);
    assert!(matches!(
        s.create_store(&t.tenant, &t.store, "again"),
        Err(StorageError::AlreadyExists(_))
    ));
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}
