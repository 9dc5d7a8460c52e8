//! Convergence harness for sync (issue 5): real terminals (each a `Terminal` on its own SQLite
//! directory) selling and syncing through a faulty transport (partitions, dropped requests,
//! lost acks after the hub committed, duplicated and replayed-late batches, delays) with two
//! `tillstone-cloud` servers on one SQLite file, restarted in the middle. At the end every
//! outbox is fully acknowledged, every event is in the cloud exactly once, and every
//! terminal's replica of HQ rows (catalog rows and a deletion) has the same digest.

use rust_decimal::Decimal;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tillstone_cloud::{Config, SqliteStorage, Storage};
use tillstone_core::tender::TenderKind;
use tillstone_sync::{Entity, StoreId, TenantId};
use tillstone_sync_client::{
    Backoff, BackoffConfig, HttpTransport, Request, Response, SyncClient, SyncConfig, Transport,
    TransportError, hq_digest, sync_state,
};
use tillstone_terminal::app::ScanOutcome;

const TERMINALS: usize = 8;
const ROUNDS: usize = 20;

struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(db: &Path) -> Server {
        let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(db).expect("open hub db"));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).unwrap();
                tillstone_cloud::serve(listener, storage, Config::default(), async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
            });
        });
        let addr = addr_rx.recv().expect("server address");
        Server {
            url: format!("http://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[derive(Default)]
struct Faults {
    dropped_requests: AtomicU64,
    lost_acks: AtomicU64,
    duplicated: AtomicU64,
    replayed_late: AtomicU64,
    partitioned: AtomicU64,
}

/// Between a client and the hubs: picks one of the live servers and misbehaves at random.
struct Chaos {
    http: HttpTransport,
    urls: Arc<RwLock<Vec<String>>>,
    partitioned: AtomicBool,
    chaos: Arc<AtomicBool>,
    rng: Mutex<u64>,
    stash: Mutex<Option<Request>>,
    faults: Arc<Faults>,
}

impl Chaos {
    fn next(&self) -> u64 {
        let mut s = self.rng.lock().unwrap();
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    fn url(&self) -> Result<String, TransportError> {
        let urls = self.urls.read().unwrap();
        if urls.is_empty() {
            return Err(TransportError("the hub is down".into()));
        }
        Ok(urls[(self.next() as usize) % urls.len()].clone())
    }
}

impl Transport for Chaos {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        if self.partitioned.load(Ordering::SeqCst) {
            self.faults.partitioned.fetch_add(1, Ordering::Relaxed);
            return Err(TransportError("partitioned".into()));
        }
        if !self.chaos.load(Ordering::SeqCst) {
            return self.http.send_to(&self.url()?, req);
        }
        // A batch stashed earlier arrives late, after newer ones (reordering).
        if let Some(old) = self.stash.lock().unwrap().take() {
            self.faults.replayed_late.fetch_add(1, Ordering::Relaxed);
            let _ = self.http.send_to(&self.url()?, &old);
        }
        match self.next() % 20 {
            0 | 1 => {
                self.faults.dropped_requests.fetch_add(1, Ordering::Relaxed);
                Err(TransportError("request dropped".into()))
            }
            2 | 3 => {
                // The hub commits, the answer is lost.
                let _ = self.http.send_to(&self.url()?, req)?;
                self.faults.lost_acks.fetch_add(1, Ordering::Relaxed);
                Err(TransportError("answer lost".into()))
            }
            4 | 5 => {
                self.faults.duplicated.fetch_add(1, Ordering::Relaxed);
                let first = self.http.send_to(&self.url()?, req);
                let second = self.http.send_to(&self.url()?, req)?;
                if self.next().is_multiple_of(2) {
                    first
                } else {
                    Ok(second)
                }
            }
            6 | 7 => {
                *self.stash.lock().unwrap() = Some(req.clone());
                std::thread::sleep(Duration::from_millis(5));
                self.http.send_to(&self.url()?, req)
            }
            8 => {
                std::thread::sleep(Duration::from_millis(30));
                self.http.send_to(&self.url()?, req)
            }
            _ => self.http.send_to(&self.url()?, req),
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn terminals_and_hub_converge_under_faults() {
    let started = Instant::now();
    let hub_dir = tempfile::tempdir().unwrap();
    let db = hub_dir.path().join("hq.db");
    let admin = SqliteStorage::open(&db).unwrap();
    let tenant: TenantId = admin.create_tenant("甲公司").unwrap();
    let store_id = StoreId::new("s-01").unwrap();
    admin.create_store(&tenant, &store_id, "一店").unwrap();
    admin
        .put_change(
            &tenant,
            Entity::Catalog,
            "6900000000001",
            json!({"name": "可乐"}),
        )
        .unwrap();

    let servers = Arc::new(Mutex::new(vec![Server::start(&db), Server::start(&db)]));
    let urls = Arc::new(RwLock::new(
        servers
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.url.clone())
            .collect::<Vec<_>>(),
    ));
    let chaos_on = Arc::new(AtomicBool::new(false));
    let faults = Arc::new(Faults::default());

    // Terminals: real demo stores, enrolled with one-time codes.
    let mut dirs = Vec::new();
    let mut terminals = Vec::new();
    for i in 0..TERMINALS {
        let dir = tempfile::tempdir().unwrap();
        tillstone_tests::init_demo(dir.path()).unwrap();
        let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).unwrap();
        let client = SyncClient::new(
            Chaos {
                http: HttpTransport::with_timeout("", Duration::from_secs(10)).unwrap(),
                urls: urls.clone(),
                partitioned: AtomicBool::new(false),
                chaos: chaos_on.clone(),
                rng: Mutex::new(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1234_5678_9abc)),
                stash: Mutex::new(None),
                faults: faults.clone(),
            },
            SyncConfig {
                batch_size: 4,
                gzip: i % 2 == 0,
                pull_limit: 3,
                ..SyncConfig::default()
            },
        );
        let code = admin
            .create_enrollment_code(&tenant, &store_id, now_ms(), now_ms() + 3_600_000)
            .unwrap();
        client.enroll(&t.store(), &code).unwrap();
        dirs.push(dir);
        terminals.push((t, s, client));
    }
    eprintln!("setup: {:?}", started.elapsed());

    // Sell and sync concurrently under faults; HQ publishes and the hub restarts meanwhile.
    chaos_on.store(true, Ordering::SeqCst);
    let sold = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for (i, (t, s, client)) in terminals.iter().enumerate() {
            let sold = &sold;
            scope.spawn(move || {
                let codes = tillstone_tests::piece_barcodes(t, 50).unwrap();
                let mut seed = 0x2545_f491_4f6c_dd1d_u64 ^ ((i as u64 + 7) << 20);
                let mut next = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                for _ in 0..ROUNDS {
                    let cart = t.new_cart(s).unwrap();
                    for _ in 0..1 + next() % 3 {
                        let code = &codes[(next() as usize) % codes.len()];
                        assert!(matches!(
                            t.scan(s, &cart.cart_id, code, None).unwrap(),
                            ScanOutcome::Added { .. }
                        ));
                    }
                    t.add_tender(
                        s,
                        &cart.cart_id,
                        TenderKind::Cash,
                        Some(Decimal::from(10_000)),
                        None,
                    )
                    .unwrap();
                    t.complete(s, &cart.cart_id).unwrap();
                    sold.fetch_add(1, Ordering::Relaxed);
                    // Partitions come and go.
                    client
                        .transport
                        .partitioned
                        .store(next().is_multiple_of(4), Ordering::SeqCst);
                    let _ = client.sync_once(|| t.store());
                }
            });
        }
        // HQ: catalog rows, an update and a deletion while the terminals sell.
        scope.spawn(|| {
            for k in 0..10 {
                admin
                    .put_change(
                        &tenant,
                        Entity::Catalog,
                        &format!("69100000000{k:02}"),
                        json!({"name": format!("新品 {k}"), "price": format!("{k}.50")}),
                    )
                    .unwrap();
                std::thread::sleep(Duration::from_millis(20));
            }
            admin
                .put_change(
                    &tenant,
                    Entity::Prices,
                    "6900000000001",
                    json!({"price": "3.00"}),
                )
                .unwrap();
        });
        // The hub restarts in the middle (both servers; new ports).
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            urls.write().unwrap().clear();
            let old: Vec<Server> = std::mem::take(&mut *servers.lock().unwrap());
            for s in old {
                s.stop();
            }
            std::thread::sleep(Duration::from_millis(100));
            let fresh = vec![Server::start(&db), Server::start(&db)];
            *urls.write().unwrap() = fresh.iter().map(|s| s.url.clone()).collect();
            *servers.lock().unwrap() = fresh;
        });
    });
    eprintln!("selling: {:?}", started.elapsed());

    admin
        .delete_change(&tenant, Entity::Catalog, "6910000000003")
        .unwrap();
    admin
        .put_change(
            &tenant,
            Entity::Catalog,
            "6910000000004",
            json!({"name": "改名"}),
        )
        .unwrap();

    // Heal: partitions end, the faults stop; every terminal syncs until idle.
    chaos_on.store(false, Ordering::SeqCst);
    for (t, _, client) in &terminals {
        client.transport.partitioned.store(false, Ordering::SeqCst);
        let mut backoff = Backoff::new(BackoffConfig {
            base: Duration::from_millis(10),
            max: Duration::from_millis(200),
        });
        client
            .sync_with_retry(
                || t.store(),
                &mut backoff,
                Instant::now() + Duration::from_secs(20),
                std::thread::sleep,
            )
            .unwrap();
    }

    // Every outbox fully acknowledged, nothing quarantined.
    let mut local: BTreeMap<String, String> = BTreeMap::new();
    let mut digests = Vec::new();
    for (t, _, _) in &terminals {
        let store = t.store();
        let st = sync_state(&store).unwrap();
        assert_eq!((st.pending, st.quarantined), (0, 0), "{st:?}");
        assert!(st.healthy(), "{st:?}");
        assert_eq!(store.outbox_pending().unwrap(), 0);
        let mut stmt = store
            .connection()
            .prepare("SELECT event_id, kind FROM outbox")
            .unwrap();
        for row in stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
        {
            let (id, kind) = row.unwrap();
            assert!(local.insert(id, kind).is_none());
        }
        digests.push(hq_digest(&store).unwrap());
        let rows = store.hq_rows().unwrap();
        assert_eq!(rows.len(), 12, "{rows:?}");
        assert_eq!(rows.iter().filter(|r| r.deleted).count(), 1);
    }
    assert!(digests.iter().all(|d| d == &digests[0]), "{digests:?}");

    // Every event in the cloud exactly once, by id and by kind.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (n, distinct): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(n, distinct);
    assert_eq!(n as usize, local.len());
    let mut stmt = conn.prepare("SELECT event_id, kind FROM events").unwrap();
    let cloud: BTreeMap<String, String> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        cloud.keys().collect::<Vec<_>>(),
        local.keys().collect::<Vec<_>>()
    );
    let by_kind = |m: &BTreeMap<String, String>| {
        let mut c: BTreeMap<String, usize> = BTreeMap::new();
        for k in m.values() {
            *c.entry(k.clone()).or_default() += 1;
        }
        c
    };
    let cloud_kinds = by_kind(&cloud);
    assert_eq!(cloud_kinds, by_kind(&local));
    let sales = sold.load(Ordering::Relaxed) as usize;
    assert_eq!(sales, TERMINALS * ROUNDS);
    assert_eq!(cloud_kinds.get("sale"), Some(&sales));
    for (t, _, _) in &terminals {
        let terminal = tillstone_sync::TerminalId::new(t.terminal_id()).unwrap();
        let local_n = t
            .store()
            .connection()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))
            .unwrap();
        assert_eq!(
            admin.contiguous_through(&tenant, &terminal).unwrap(),
            local_n as u64
        );
    }
    eprintln!(
        "done in {:?}: {} events; dropped {}, lost acks {}, duplicated {}, replayed late {}, partitioned {}",
        started.elapsed(),
        local.len(),
        faults.dropped_requests.load(Ordering::Relaxed),
        faults.lost_acks.load(Ordering::Relaxed),
        faults.duplicated.load(Ordering::Relaxed),
        faults.replayed_late.load(Ordering::Relaxed),
        faults.partitioned.load(Ordering::Relaxed),
    );
    drop(dirs);
}
