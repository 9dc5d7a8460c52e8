//! Test harness: the real server on 127.0.0.1:0 over a real SQLite file or a fresh PostgreSQL
//! database ([`TestDb`]), driven with reqwest.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use tillstone_cloud::{Config, SqliteStorage, Storage};
use tillstone_sync::{Event, EventKind, Hlc, PushAck, PushBatch, StoreId, TenantId, TerminalId};

pub struct TestServer {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(storage: Arc<dyn Storage>, config: Config) -> TestServer {
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
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send");
                tillstone_cloud::serve(listener, storage, config, async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
            });
        });
        let addr = addr_rx.recv().expect("server address");
        TestServer {
            url: format!("http://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Graceful shutdown; returns once the server (and its storage handle) is gone.
    pub fn stop(mut self) {
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

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

/// POST raw bytes; returns status and JSON body (Null if not JSON).
pub fn post_raw(
    url: &str,
    path: &str,
    credential: Option<&str>,
    body: Vec<u8>,
    gzip: bool,
) -> (u16, Value) {
    let mut req = client()
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(c) = credential {
        req = req.header("authorization", format!("Bearer {c}"));
    }
    if gzip {
        req = req.header("content-encoding", "gzip");
    }
    let res = req.send().expect("request");
    let status = res.status().as_u16();
    let text = res.text().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn post(url: &str, path: &str, credential: Option<&str>, body: &Value) -> (u16, Value) {
    post_raw(
        url,
        path,
        credential,
        serde_json::to_vec(body).unwrap(),
        false,
    )
}

pub struct Tenant {
    pub tenant: TenantId,
    pub store: StoreId,
}

/// A tenant with one store `s-01`.
pub fn tenant(storage: &dyn Storage, name: &str) -> Tenant {
    let tenant = storage.create_tenant(name).expect("tenant");
    let store = StoreId::new("s-01").unwrap();
    storage
        .create_store(&tenant, &store, "门店一")
        .expect("store");
    Tenant { tenant, store }
}

pub fn open(path: &Path) -> Arc<dyn Storage> {
    Arc::new(SqliteStorage::open(path).expect("open"))
}

pub fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("cloud.db")
}

pub fn now_ms() -> u64 {
    tillstone_cloud::sqlite::now_ms()
}

/// Enroll a fresh terminal of (tenant, store) over HTTP; returns its id and credential.
pub fn enroll(
    url: &str,
    storage: &dyn Storage,
    tenant: &TenantId,
    store: &StoreId,
) -> (TerminalId, String) {
    let code = storage
        .create_enrollment_code(tenant, store, now_ms(), now_ms() + 60_000)
        .expect("code");
    let terminal = TerminalId::new(uuid::Uuid::now_v7().to_string()).unwrap();
    let (status, body) = post(
        url,
        "/v1/enroll",
        None,
        &json!({"code": code, "terminal_id": terminal}),
    );
    assert_eq!(status, 200, "{body}");
    (terminal, body["credential"].as_str().unwrap().to_string())
}

pub fn event(terminal: &TerminalId, seq: u64, kind: EventKind, payload: Value) -> Event {
    Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        terminal_id: terminal.clone(),
        seq,
        hlc: Hlc {
            wall_ms: 1_718_000_000_000 + seq * 1000,
            counter: 0,
            node: terminal.clone(),
        },
        kind,
        payload,
    }
}

/// `n` stock movements of one SKU (delta -1 each), seq 1..=n.
pub fn stock_events(terminal: &TerminalId, n: u64) -> Vec<Event> {
    (1..=n)
        .map(|s| {
            event(
                terminal,
                s,
                EventKind::StockMovement,
                json!({"sku": "6901234567892", "delta": -1}),
            )
        })
        .collect()
}

pub fn batch(t: &Tenant, terminal: &TerminalId, events: &[Event]) -> PushBatch {
    PushBatch {
        // As a terminal sends it: version 1, or 3 when it carries a `coupon_restore`.
        version: PushBatch::version_for(events),
        tenant: t.tenant.clone(),
        store: t.store.clone(),
        terminal: terminal.clone(),
        batch_id: uuid::Uuid::now_v7().to_string(),
        events: events.to_vec(),
    }
}

pub fn push(url: &str, credential: &str, batch: &PushBatch) -> PushAck {
    let (status, body) = post(
        url,
        "/v1/push",
        Some(credential),
        &serde_json::to_value(batch).unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("a push ack")
}

pub fn ids(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// The environment variable naming the PostgreSQL server tests create their databases on.
pub const PG_URL_ENV: &str = "TILLSTONE_PG_URL";

/// A database for one test: a SQLite file in a temporary directory, or a fresh PostgreSQL
/// database (created on `TILLSTONE_PG_URL`'s server, dropped at the end).
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres(PgDb),
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        TestDb::Sqlite(tempfile::tempdir().expect("tempdir"))
    }

    /// A fresh PostgreSQL database; `None` (after a skip line) when `TILLSTONE_PG_URL` is unset
    /// outside CI. With `CI` set, a missing URL fails the test.
    pub fn postgres() -> Option<TestDb> {
        PgDb::create().map(TestDb::Postgres)
    }

    /// The URL `tillstone-cloud --db` takes.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => format!("sqlite:{}", db_path(dir).display()),
            TestDb::Postgres(pg) => pg.url.clone(),
        }
    }

    /// Open the storage (a new handle each time, like a new process).
    pub fn open(&self) -> Arc<dyn Storage> {
        tillstone_cloud::open(&self.url()).expect("open storage")
    }
}

/// A PostgreSQL database created for one test.
pub struct PgDb {
    /// The server URL the database was created from (its database is the maintenance one).
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDb {
    pub fn create() -> Option<PgDb> {
        let admin_url = match std::env::var(PG_URL_ENV) {
            Ok(u) if !u.trim().is_empty() => u,
            _ => {
                if std::env::var_os("CI").is_some() {
                    panic!(
                        "CI is set but {PG_URL_ENV} is not: the PostgreSQL tests must run in CI"
                    );
                }
                eprintln!("skipped: set {PG_URL_ENV}=postgres://USER:PASS@HOST:PORT/DB to run");
                return None;
            }
        };
        let name = format!("tillstone_t_{}", uuid::Uuid::new_v4().simple());
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to {PG_URL_ENV}: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE (the role needs CREATEDB)");
        let url = with_database(&admin_url, &name);
        Some(PgDb {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `url` with its database name replaced by `db` (query parameters kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}
