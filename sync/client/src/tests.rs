use super::*;
use std::collections::HashMap;
use std::sync::Mutex;
use tillstone_sync::{RejectReason, Rejected};

const NODE: &str = "0190f1c2-7a4b-7c00-8000-00000000a001";

fn open(dir: &std::path::Path) -> Store {
    let s = Store::open(dir.join("t.db")).unwrap();
    s.set_meta(keys::TERMINAL_ID, NODE).unwrap();
    s
}

fn enroll_locally(s: &Store) {
    s.set_meta(keys::TENANT, "t-01").unwrap();
    s.set_meta(keys::STORE, "s-01").unwrap();
    s.set_meta(keys::TERMINAL, NODE).unwrap();
    s.set_meta(keys::CREDENTIAL, "tsk_test").unwrap();
}

/// Append journal entries + outbox rows directly (the chain is not what is tested here).
fn append(s: &Store, from: i64, to: i64, at: &str) {
    for seq in from..=to {
        let id = uuid::Uuid::now_v7().to_string();
        s.connection()
            .execute(
                "INSERT INTO journal (seq, terminal_id, kind, ref_id, at, payload, prev_hash, hash)
                 VALUES (?1, ?2, 'sale', 'r', ?3, ?4, 'p', 'h')",
                rusqlite_params(seq, at),
            )
            .unwrap();
        s.connection()
            .execute(
                "INSERT INTO outbox (event_id, seq, kind, created_at) VALUES (?1, ?2, 'sale', ?3)",
                (id, seq, at.to_string()),
            )
            .unwrap();
    }
}

fn rusqlite_params(seq: i64, at: &str) -> (i64, String, String, String) {
    (
        seq,
        NODE.to_string(),
        at.to_string(),
        format!("{{\"n\":{seq}}}"),
    )
}

#[test]
fn hlc_stamps_persist_and_the_clock_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let node = TerminalId::new(NODE).unwrap();
    let first = {
        let mut s = open(dir.path());
        append(&s, 1, 3, "2024-06-10T10:00:00.000Z");
        let p = s.pending_events(10).unwrap();
        let p = stamp_pending(&mut s, &node, p).unwrap();
        let stamps: Vec<_> = p.iter().map(|e| e.stamp.unwrap()).collect();
        let t = at_ms("2024-06-10T10:00:00.000Z");
        assert_eq!(stamps, vec![(t, 0), (t, 1), (t, 2)]);
        stamps
    };
    // Reopen: the same events keep their stamps, and the clock continues after them even
    // when the new events' commit time is earlier (the wall clock stepped back).
    let mut s = open(dir.path());
    assert_eq!(load_clock(&s, &node).unwrap().counter, 2);
    append(&s, 4, 5, "2024-06-10T09:00:00.000Z");
    let p = s.pending_events(10).unwrap();
    assert_eq!(
        p.iter()
            .take(3)
            .map(|e| e.stamp.unwrap())
            .collect::<Vec<_>>(),
        first
    );
    let p = stamp_pending(&mut s, &node, p).unwrap();
    let all: Vec<_> = p.iter().map(|e| e.stamp.unwrap()).collect();
    assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    let pending = s.pending_events(10).unwrap();
    let again = stamp_pending(&mut s, &node, pending).unwrap();
    assert_eq!(again, p);
    let ev = to_event(&p[4], &node).unwrap();
    assert_eq!(ev.seq, 5);
    assert_eq!(ev.hlc.node, node);
    assert_eq!((ev.hlc.wall_ms, ev.hlc.counter), all[4]);
}

#[test]
fn journal_kinds_map_to_event_kinds() {
    assert_eq!(event_kind("sale"), Some(EventKind::Sale));
    assert_eq!(event_kind("member_sign_up"), Some(EventKind::MemberSignup));
    assert_eq!(event_kind("member_points"), Some(EventKind::PointEvent));
    assert_eq!(event_kind("z_report"), Some(EventKind::ZReport));
    assert_eq!(event_kind("nope"), None);
}

/// A hub in memory: exactly-once by event id (content must be identical), rejects seq 4,
/// and can lose its answer after "committing".
#[derive(Default)]
struct FakeHub {
    events: Mutex<HashMap<String, Event>>,
    lose_next_answer: Mutex<bool>,
    down: Mutex<bool>,
}

impl Transport for FakeHub {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        if *self.down.lock().unwrap() {
            return Err(TransportError("connection refused".into()));
        }
        if req.path == "/v1/pull" {
            let pull: PullRequest = decode(&req.body).unwrap();
            let page = PullPage {
                version: pull.version,
                rows: vec![],
                next_cursors: Cursors::new(),
                more: false,
                remaining: pull.count_remaining.map(|_| 0),
            };
            return Ok(Response {
                status: 200,
                body: encode(&page),
            });
        }
        assert_eq!(req.path, "/v1/push");
        assert!(!req.gzip);
        let batch: PushBatch = decode(&req.body).unwrap();
        let mut ack = PushAck {
            version: 1,
            batch_id: batch.batch_id.clone(),
            accepted: vec![],
            duplicates: vec![],
            rejected: vec![],
        };
        let mut stored = self.events.lock().unwrap();
        for e in batch.events {
            if e.seq == 4 {
                ack.rejected.push(Rejected {
                    event_id: e.event_id.clone(),
                    reason: RejectReason::SeqConflict,
                    detail: "taken".into(),
                });
            } else if let Some(old) = stored.get(&e.event_id) {
                assert_eq!(old, &e, "a resend must carry the same envelope");
                ack.duplicates.push(e.event_id.clone());
            } else {
                ack.accepted.push(e.event_id.clone());
                stored.insert(e.event_id.clone(), e);
            }
        }
        let mut lose = self.lose_next_answer.lock().unwrap();
        if *lose {
            *lose = false;
            return Err(TransportError("answer lost".into()));
        }
        Ok(Response {
            status: 200,
            body: encode(&ack),
        })
    }
}

#[test]
fn push_acks_only_after_the_ack_quarantines_rejections_and_resends_identically() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    enroll_locally(&s);
    append(&s, 1, 7, "2024-06-10T10:00:00.000Z");
    let store = Mutex::new(s);
    let hub = FakeHub::default();
    let client = SyncClient::new(
        &hub,
        SyncConfig {
            batch_size: 3,
            gzip: false,
            ..SyncConfig::default()
        },
    );
    let lock = || store.lock().unwrap();

    *hub.down.lock().unwrap() = true;
    let err = client.sync_once(lock).unwrap_err();
    assert!(err.is_retryable());
    let st = sync_state(&lock()).unwrap();
    assert_eq!((st.pending, st.quarantined), (7, 0));
    assert!(!st.healthy() && st.last_error.is_some());

    // The hub commits the first batch but its answer is lost: nothing is marked.
    *hub.down.lock().unwrap() = false;
    *hub.lose_next_answer.lock().unwrap() = true;
    assert!(client.push(lock).is_err());
    assert_eq!(hub.events.lock().unwrap().len(), 3);
    assert_eq!(lock().pending_count().unwrap(), 7);

    // The resend is answered as duplicates (identical envelopes), the rest accepted, seq 4
    // quarantined.
    let r = client.push(lock).unwrap();
    assert_eq!((r.duplicates, r.accepted, r.rejected), (3, 3, 1));
    let st = sync_state(&lock()).unwrap();
    assert_eq!((st.pending, st.quarantined), (0, 1));
    let q = lock().quarantined_events().unwrap();
    assert_eq!((q[0].seq, q[0].reason.as_str()), (4, "seq_conflict"));
    // Nothing left to send; a quarantined event is not retried.
    assert_eq!(client.push(lock).unwrap(), PushReport::default());
}

impl Transport for &FakeHub {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        (**self).send(req)
    }
}

#[test]
fn retry_backs_off_until_the_hub_answers() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    enroll_locally(&s);
    append(&s, 1, 2, "2024-06-10T10:00:00.000Z");
    let store = Mutex::new(s);
    let hub = FakeHub::default();
    *hub.down.lock().unwrap() = true;
    let client = SyncClient::new(
        &hub,
        SyncConfig {
            gzip: false,
            ..SyncConfig::default()
        },
    );
    let mut backoff = Backoff::with_seed(
        BackoffConfig {
            base: Duration::from_millis(10),
            max: Duration::from_millis(80),
        },
        7,
    );
    let mut waits = Vec::new();
    let report = client
        .sync_with_retry(
            || store.lock().unwrap(),
            &mut backoff,
            Instant::now() + Duration::from_secs(3600),
            |d| {
                waits.push(d);
                if waits.len() == 5 {
                    *hub.down.lock().unwrap() = false;
                }
            },
        )
        .unwrap();
    assert_eq!(report.push.accepted, 2);
    assert_eq!(backoff.failures(), 0);
    assert!(sync_state(&store.lock().unwrap()).unwrap().healthy());
    assert_eq!(store.lock().unwrap().pending_count().unwrap(), 0);
    assert_eq!(waits.len(), 5);
    for (i, w) in waits.iter().enumerate() {
        let cap = backoff::ceiling(&backoff.config, i as u32 + 1);
        assert!(*w >= cap / 2 && *w <= cap);
    }
}

/// HQ's change log (the pure model) behind a transport; optionally only protocol version 1.
struct ModelHub {
    log: Mutex<tillstone_sync::ChangeLog>,
    v1_only: bool,
    requests: Mutex<Vec<PullRequest>>,
}

impl ModelHub {
    fn new(rows: usize, v1_only: bool) -> ModelHub {
        let mut log = tillstone_sync::ChangeLog::new();
        for i in 0..rows {
            let e = if i % 5 == 0 {
                Entity::Prices
            } else {
                Entity::Catalog
            };
            log.put(e, &format!("sku-{i}"), serde_json::json!({"n": i}));
        }
        ModelHub {
            log: Mutex::new(log),
            v1_only,
            requests: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for &ModelHub {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        assert_eq!(req.path, "/v1/pull");
        let pull: PullRequest = match decode(&req.body) {
            Ok(p) => p,
            Err(e) => panic!("bad pull request: {e}"),
        };
        if self.v1_only && pull.version != 1 {
            return Ok(Response {
                status: 400,
                body: br#"{"error":{"code":"unsupported_version","message":"protocol version 2 is not supported (supported: [1])"}}"#.to_vec(),
            });
        }
        self.requests.lock().unwrap().push(pull.clone());
        Ok(Response {
            status: 200,
            body: encode(&self.log.lock().unwrap().pull(&pull)),
        })
    }
}

#[test]
fn pull_progress_counts_once_and_ends_at_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    enroll_locally(&s);
    let store = Mutex::new(s);
    let hub = ModelHub::new(103, false);
    let client = SyncClient::new(
        &hub,
        SyncConfig {
            pull_limit: 10,
            ..SyncConfig::default()
        },
    );
    let mut seen = Vec::new();
    let report = client
        .pull_with_progress(|| store.lock().unwrap(), |p| seen.push(*p))
        .unwrap();
    assert!(report.complete);
    assert_eq!((report.rows, report.pages), (103, 11));
    assert_eq!(seen.len(), 11);
    assert!(seen.iter().all(|p| p.total == Some(103)), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].rows < w[1].rows));
    assert!(
        seen.windows(2)
            .all(|w| w[0].fraction().unwrap() <= w[1].fraction().unwrap())
    );
    let last = seen.last().unwrap();
    assert!(last.done && last.rows == 103 && last.fraction() == Some(1.0));
    // The count is asked once (the first page), in version 2; the rest are plain version 1.
    let reqs = hub.requests.lock().unwrap();
    assert_eq!(reqs[0].version, 2);
    assert_eq!(reqs[0].count_remaining, Some(true));
    assert!(
        reqs[1..]
            .iter()
            .all(|r| r.version == 1 && r.count_remaining.is_none())
    );
    drop(reqs);
    // The state shows the session.
    let st = sync_state(&store.lock().unwrap()).unwrap();
    let view = st.pull.unwrap();
    assert_eq!(view.progress, *last);
    // Nothing new: an empty session leaves the last one on record.
    let again = client.pull(|| store.lock().unwrap()).unwrap();
    assert_eq!((again.rows, again.complete), (0, true));
    let st = sync_state(&store.lock().unwrap()).unwrap();
    assert_eq!(st.pull.unwrap().progress.rows, 103);
}

#[test]
fn a_version_1_hub_is_pulled_without_totals() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    enroll_locally(&s);
    let store = Mutex::new(s);
    let hub = ModelHub::new(25, true);
    let client = SyncClient::new(
        &hub,
        SyncConfig {
            pull_limit: 10,
            ..SyncConfig::default()
        },
    );
    let mut seen = Vec::new();
    let report = client
        .pull_with_progress(|| store.lock().unwrap(), |p| seen.push(*p))
        .unwrap();
    assert_eq!((report.rows, report.complete), (25, true));
    assert_eq!(client.pull_version(), 1);
    assert!(seen[..seen.len() - 1].iter().all(|p| p.total.is_none()));
    assert_eq!(seen.last().unwrap().fraction(), Some(1.0));
    assert!(hub.requests.lock().unwrap().iter().all(|r| r.version == 1));
    let model = hub.log.lock().unwrap();
    assert_eq!(
        store.lock().unwrap().hq_rows().unwrap().len(),
        model.live(Entity::Catalog).len() + model.live(Entity::Prices).len()
    );
}

/// A hub on the pure model (the `Replica` behind pushes, a `ChangeLog` behind pulls) that,
/// while `old`, reads only protocol versions 1 and 2, as a hub from before coupon restores.
struct VersionedHub {
    replica: Mutex<tillstone_sync::Replica>,
    log: Mutex<tillstone_sync::ChangeLog>,
    old: Mutex<bool>,
    /// (version, seqs) of every push the hub took.
    pushes: Mutex<Vec<(u32, Vec<u64>)>>,
}

impl Transport for &VersionedHub {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        let body = if req.gzip {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&req.body[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        } else {
            req.body.clone()
        };
        let version = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["version"]
            .as_u64()
            .unwrap();
        if *self.old.lock().unwrap() && version > 2 {
            return Ok(Response {
                status: 400,
                body: format!(
                    r#"{{"error":{{"code":"unsupported_version","message":"protocol version {version} is not supported (supported: [1, 2])"}}}}"#
                )
                .into_bytes(),
            });
        }
        let body = if req.path == "/v1/push" {
            let batch: PushBatch = decode(&body).unwrap();
            self.pushes
                .lock()
                .unwrap()
                .push((batch.version, batch.events.iter().map(|e| e.seq).collect()));
            encode(&self.replica.lock().unwrap().receive_batch(&batch).unwrap())
        } else {
            let pull: PullRequest = decode(&body).unwrap();
            encode(&self.log.lock().unwrap().pull(&pull))
        };
        Ok(Response { status: 200, body })
    }
}

#[test]
fn an_older_hub_gets_the_events_before_a_coupon_restore_and_is_still_pulled_from() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    enroll_locally(&s);
    let at = "2026-11-25T10:00:00.000Z";
    append(&s, 1, 2, at);
    // seq 3 gives a coupon back (a return), seq 4 is the next sale.
    s.connection()
        .execute(
            "INSERT INTO journal (seq, terminal_id, kind, ref_id, at, payload, prev_hash, hash)
             VALUES (3, ?1, 'coupon_restore', '1001-7', ?2,
                     '{\"coupon_id\":\"1001-7\",\"sale_id\":\"S-1\",\"restored_by\":\"R-1\"}', 'p', 'h')",
            (NODE, at),
        )
        .unwrap();
    s.connection()
        .execute(
            "INSERT INTO outbox (event_id, seq, kind, created_at)
             VALUES (?1, 3, 'coupon_restore', ?2)",
            (uuid::Uuid::now_v7().to_string(), at),
        )
        .unwrap();
    append(&s, 4, 4, at);
    let store = Mutex::new(s);
    let mut log = tillstone_sync::ChangeLog::new();
    for i in 0..5 {
        log.put(
            Entity::Catalog,
            &format!("sku-{i}"),
            serde_json::json!({"n": i}),
        );
    }
    let hub = VersionedHub {
        replica: Mutex::new(tillstone_sync::Replica::new(
            tillstone_sync::TenantId::new("t-01").unwrap(),
        )),
        log: Mutex::new(log),
        old: Mutex::new(true),
        pushes: Mutex::new(Vec::new()),
    };
    let client = SyncClient::new(&hub, SyncConfig::default());

    // The old hub: the two sales before the restore are taken (version 1), the restore's
    // batch is refused with a message saying what to do, and HQ's rows still arrive.
    let err = client
        .sync_once(|| store.lock().unwrap())
        .expect_err("the restore cannot go to an old hub");
    match &err {
        SyncError::Http { code, message, .. } => {
            assert_eq!(code, "hub_too_old");
            assert!(message.contains("upgrade tillstone-cloud"), "{message}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(
        !err.is_retryable(),
        "a refused version is not retried in a loop"
    );
    assert_eq!(*hub.pushes.lock().unwrap(), [(1, vec![1, 2])]);
    assert_eq!(store.lock().unwrap().pending_count().unwrap(), 2);
    assert_eq!(store.lock().unwrap().hq_rows().unwrap().len(), 5);
    let state = sync_state(&store.lock().unwrap()).unwrap();
    assert!(
        state
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("upgrade tillstone-cloud")),
        "{:?}",
        state.last_error
    );

    // After the hub's upgrade the restore and the sale after it go, in version 3.
    *hub.old.lock().unwrap() = false;
    client.sync_once(|| store.lock().unwrap()).expect("synced");
    assert_eq!(hub.pushes.lock().unwrap().last().unwrap(), &(3, vec![3, 4]));
    assert_eq!(store.lock().unwrap().pending_count().unwrap(), 0);
}
