//! The PostgreSQL backend: the end-to-end behaviour tests of `tests/api.rs` (shared bodies in
//! `tests/cases`) on a fresh database per test, plus several `tillstone-cloud serve` processes
//! on one database.
//!
//! Needs `TILLSTONE_PG_URL=postgres://USER:PASS@HOST:PORT/DB` (a role with CREATEDB: every test
//! creates and drops its own database). Without it the tests print a skip line and pass, unless
//! `CI` is set: then they fail.

mod cases;
mod common;

use common::*;
use serde_json::json;
use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use tillstone_cloud::Storage;
use tillstone_sync::{Event, EventKind, TerminalId};

macro_rules! postgres_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let Some(db) = TestDb::postgres() else { return };
            cases::$name(&db);
        }
    )*};
}

postgres_tests!(
    enrollment_code_is_single_use_and_expiring,
    push_is_idempotent_and_conflicts_are_rejected,
    pull_is_resumable_and_carries_deletions,
    tenants_cannot_see_each_other,
    revoked_terminal_is_refused,
    oversize_bodies_are_refused_and_gzip_is_accepted,
    double_redemption_is_reported_with_both_sales,
    coupon_status_answers_within_the_tenant,
    a_coupon_given_back_no_longer_counts,
    openapi_documents_every_route,
    restart_between_pushes_loses_nothing,
    admin_cli_round_trip,
    concurrent_resends_store_each_event_once,
);

#[cfg(unix)]
postgres_tests!(the_binary_serves_and_stops_gracefully_on_sigterm);

#[test]
fn migrations_are_tracked_and_idempotent() {
    let Some(db) = TestDb::postgres() else { return };
    let url = db.url();
    // Several processes starting at once on an empty database migrate exactly once.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| tillstone_cloud::PostgresStorage::open(&url).expect("open"));
        }
    });
    let s = tillstone_cloud::PostgresStorage::open(&url).unwrap();
    assert_eq!(s.schema_version().unwrap(), 3);
    let t = tenant(&s, "甲公司");
    assert!(matches!(
        s.create_store(&t.tenant, &t.store, "again"),
        Err(tillstone_cloud::StorageError::AlreadyExists(_))
    ));
}

/// A `tillstone-cloud serve` process; killed if the test panics.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(db: &str) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tillstone-cloud"))
            .args(["--db", db, "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tillstone-cloud");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no address from the server: {line:?}"))
            .to_string();
        Serve {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// SIGTERM and wait: a graceful stop.
    fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Events of one terminal: stock movements and point events with varying deltas, and member
/// profile writes, seq 1..=n.
fn mixed_events(terminal: &TerminalId, n: u64) -> Vec<Event> {
    (1..=n)
        .map(|s| match s % 3 {
            0 => event(
                terminal,
                s,
                EventKind::StockMovement,
                json!({"sku": "6901234567892", "delta": -((s % 4) as i64) - 1}),
            ),
            1 => event(
                terminal,
                s,
                EventKind::PointEvent,
                json!({"member_id": "m-1", "points": (s % 7) as i64 + 1}),
            ),
            _ => event(
                terminal,
                s,
                EventKind::MemberSignup,
                json!({"member_id": "m-1", "fields": {"name": format!("{terminal}-{s}")}}),
            ),
        })
        .collect()
}

#[test]
fn two_server_processes_on_one_database_store_each_event_once() {
    let Some(db) = TestDb::postgres() else { return };
    let storage = db.open();
    let t = tenant(&*storage, "甲公司");
    let url = db.url();
    let servers = [Serve::start(&url), Serve::start(&url)];
    const N: u64 = 60;
    // Four terminals, enrolled alternately through either process.
    let terminals: Vec<(TerminalId, String, Vec<Event>)> = (0..4)
        .map(|i| {
            let (id, cred) = enroll(&servers[i % 2].url, &*storage, &t.tenant, &t.store);
            let events = mixed_events(&id, N);
            (id, cred, events)
        })
        .collect();

    // Every terminal pushes from two threads at once, in overlapping windows of 12 events,
    // alternating between the two processes (as after lost acks and a load balancer).
    let accepted: Vec<String> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (id, cred, events) in &terminals {
            for w in 0..2usize {
                let (t, servers) = (&t, &servers);
                handles.push(s.spawn(move || {
                    let mut accepted = Vec::new();
                    for (round, start) in (0..N as usize).step_by(4).enumerate() {
                        let from = (start + w * 3).min(N as usize - 1);
                        let to = (from + 12).min(N as usize);
                        let server = &servers[(round + w) % 2];
                        let ack = push(&server.url, cred, &batch(t, id, &events[from..to]));
                        assert!(ack.rejected.is_empty(), "{:?}", ack.rejected);
                        assert_eq!(ack.accepted.len() + ack.duplicates.len(), to - from);
                        accepted.extend(ack.accepted);
                    }
                    accepted
                }));
            }
        }
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("pusher"))
            .collect()
    });
    // A final full resend through each process completes whatever the windows missed.
    let mut all_accepted = accepted;
    for (i, (id, cred, events)) in terminals.iter().enumerate() {
        for k in 0..2 {
            let ack = push(&servers[(i + k) % 2].url, cred, &batch(&t, id, events));
            assert!(ack.rejected.is_empty(), "{:?}", ack.rejected);
            if k == 1 {
                assert!(ack.accepted.is_empty(), "{:?}", ack.accepted);
            }
            all_accepted.extend(ack.accepted);
        }
    }

    // Every event was accepted exactly once, across both processes.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in &all_accepted {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    let total = terminals.len() * N as usize;
    assert_eq!(seen.len(), total);
    assert!(seen.values().all(|&n| n == 1), "an event accepted twice");
    assert_eq!(all_accepted.len(), total);
    assert_eq!(storage.event_count(&t.tenant).unwrap(), total as u64);

    // Counters equal the sums of their events; the profile field is the latest by HLC.
    let (mut stock, mut points) = (0i128, 0i128);
    let mut latest: Option<(&Event, String)> = None;
    for (id, _, events) in &terminals {
        assert_eq!(storage.contiguous_through(&t.tenant, id).unwrap(), N);
        for e in events {
            match e.kind {
                EventKind::StockMovement => stock += e.payload["delta"].as_i64().unwrap() as i128,
                EventKind::PointEvent => points += e.payload["points"].as_i64().unwrap() as i128,
                _ => {
                    let name = e.payload["fields"]["name"].as_str().unwrap().to_string();
                    let key = |e: &Event| (e.hlc.wall_ms, e.hlc.counter, e.hlc.node.clone());
                    if latest.as_ref().is_none_or(|(l, _)| key(e) > key(l)) {
                        latest = Some((e, name));
                    }
                }
            }
        }
    }
    assert_eq!(
        storage.stock(&t.tenant, &t.store, "6901234567892").unwrap(),
        stock
    );
    assert_eq!(storage.points(&t.tenant, "m-1").unwrap(), points);
    assert_eq!(
        storage.profile_field(&t.tenant, "m-1", "name").unwrap(),
        Some(Some(latest.unwrap().1))
    );

    for s in servers {
        s.stop();
    }
}
