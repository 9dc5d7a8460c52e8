//! An in-process `tillstone-cloud` for the sync tests and the initial-sync bench: the real
//! server (`serve` / `serve_tls`) on 127.0.0.1:0 in its own thread and runtime.
#![allow(dead_code)]

use std::sync::Arc;
use std::thread::JoinHandle;
use tillstone_cloud::tls::ServerConfig;
use tillstone_cloud::{Config, Storage};

pub struct Hub {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Hub {
    /// Plain HTTP.
    pub fn start(storage: Arc<dyn Storage>) -> Hub {
        Hub::run(storage, None)
    }

    /// HTTPS with `tls` (see `tillstone_cloud::tls::load_server_config`).
    pub fn start_tls(storage: Arc<dyn Storage>, tls: Arc<ServerConfig>) -> Hub {
        Hub::run(storage, Some(tls))
    }

    fn run(storage: Arc<dyn Storage>, tls: Option<Arc<ServerConfig>>) -> Hub {
        let scheme = if tls.is_some() { "https" } else { "http" };
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
                    .expect("send the address");
                let shutdown = async {
                    let _ = stop_rx.await;
                };
                match tls {
                    Some(tls) => tillstone_cloud::serve_tls(
                        listener,
                        tls,
                        storage,
                        Config::default(),
                        shutdown,
                    )
                    .await
                    .expect("serve https"),
                    None => tillstone_cloud::serve(listener, storage, Config::default(), shutdown)
                        .await
                        .expect("serve"),
                }
            });
        });
        let addr = addr_rx.recv().expect("server address");
        Hub {
            url: format!("{scheme}://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn now_ms() -> u64 {
    tillstone_cloud::sqlite::now_ms()
}

/// A catalog row as HQ sends it (a product, `sync/ROWS.md`).
pub fn product(i: usize) -> (String, serde_json::Value) {
    let sku = format!("69{:011}", i);
    let category = ["饮料", "零食", "日用品", "乳品"][i % 4];
    let data = serde_json::json!({
        "sku": sku,
        "name": format!("测试商品 {i} 号 500ml"),
        "name_en": format!("Test product {i} 500ml"),
        "barcodes": [],
        "category": category,
        "tax_class": "standard",
        "tax_rate": "0.13",
        "unit": "piece",
        "price": format!("{}.{:02}", 1 + i % 97, i % 100),
    });
    (sku, data)
}

/// A terminal id never used before (the process id, the time and a counter).
pub fn fresh_terminal_id() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "till-{}-{}-{}",
        std::process::id(),
        now_ms(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// An HQ on a SQLite file in its own temporary directory, with one tenant and the demo's store
/// `HZ001`, serving over HTTP.
pub struct SqliteHq {
    /// A second handle on the database, for admin calls (enrollment codes, HQ rows, reports).
    pub admin: tillstone_cloud::SqliteStorage,
    pub tenant: tillstone_sync::TenantId,
    pub store: tillstone_sync::StoreId,
    pub hub: Hub,
    _dir: tempfile::TempDir,
}

impl SqliteHq {
    pub fn start() -> SqliteHq {
        use tillstone_cloud::Storage;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("hq.db");
        let admin = tillstone_cloud::SqliteStorage::open(&db).expect("hub db");
        let tenant = admin.create_tenant("天石").expect("tenant");
        let store = tillstone_sync::StoreId::new("HZ001").expect("store id");
        admin
            .create_store(&tenant, &store, "杭州旗舰店")
            .expect("store");
        let hub = Hub::start(Arc::new(
            tillstone_cloud::SqliteStorage::open(&db).expect("hub db"),
        ));
        SqliteHq {
            admin,
            tenant,
            store,
            hub,
            _dir: dir,
        }
    }

    /// A one-time enrollment code for a new terminal of the store, valid ten minutes.
    pub fn enrollment_code(&self) -> String {
        use tillstone_cloud::Storage;
        self.admin
            .create_enrollment_code(&self.tenant, &self.store, now_ms(), now_ms() + 600_000)
            .expect("enrollment code")
    }
}
