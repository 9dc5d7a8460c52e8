//! Initial sync of a large catalog (issue 5), CI-sized: 20,000 products pulled by a terminal
//! from a real `tillstone-cloud` over HTTP. The pull is paged (many pages, none above the page
//! size), resumable (the transport dies after some pages; the next pull resumes from the saved
//! cursors and ends with the same digest as a clean pull), and its progress only grows and ends
//! at exactly 100 % of the total the hub announced.
//! The 1,000,000-product measurement is `cargo bench -p tillstone-tests --bench initial_sync`.

mod hub;

use hub::{Hub, now_ms, product};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tillstone_cloud::Storage;
use tillstone_store::Store;
use tillstone_sync::{Entity, PullPage, PullRequest, StoreId, TenantId};
use tillstone_sync_client::{
    HttpTransport, PullProgress, Request, Response, SyncClient, SyncConfig, SyncError, Transport,
    TransportError, hq_digest, sync_state,
};

const PRODUCTS: usize = 20_000;
const PAGE: u32 = 500;

/// Records every pull exchange; dies (like a cut cable or a killed hub) after `die_after`
/// answered pulls.
struct Probe {
    http: HttpTransport,
    die_after: Option<usize>,
    pulls: AtomicUsize,
    pages: Mutex<Vec<(PullRequest, PullPage)>>,
}

impl Probe {
    fn new(url: &str, die_after: Option<usize>) -> Probe {
        Probe {
            http: HttpTransport::new(url).expect("transport"),
            die_after,
            pulls: AtomicUsize::new(0),
            pages: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for &Probe {
    fn send(&self, req: &Request) -> Result<Response, TransportError> {
        if req.path != "/v1/pull" {
            return self.http.send(req);
        }
        let n = self.pulls.fetch_add(1, Ordering::SeqCst);
        if self.die_after.is_some_and(|d| n >= d) {
            return Err(TransportError("connection reset by peer".into()));
        }
        let res = self.http.send(req)?;
        if res.status == 200 {
            let pull: PullRequest = tillstone_sync::decode(&req.body).expect("our own request");
            let page: PullPage = tillstone_sync::decode(&res.body).expect("the hub's page");
            self.pages.lock().expect("lock").push((pull, page));
        }
        Ok(res)
    }
}

struct Till {
    _dir: tempfile::TempDir,
    store: Mutex<Store>,
}

impl Till {
    fn enrolled(hq: &dyn Storage, tenant: &TenantId, store: &StoreId, url: &str) -> Till {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(dir.path().join("till.db")).expect("store");
        s.set_meta("terminal_id", &hub::fresh_terminal_id())
            .expect("terminal id");
        let code = hq
            .create_enrollment_code(tenant, store, now_ms(), now_ms() + 600_000)
            .expect("code");
        SyncClient::new(HttpTransport::new(url).expect("transport"), config())
            .enroll(&s, &code)
            .expect("enroll");
        Till {
            _dir: dir,
            store: Mutex::new(s),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("store lock")
    }
}

fn config() -> SyncConfig {
    SyncConfig {
        pull_limit: PAGE,
        ..SyncConfig::default()
    }
}

fn check_progress(seen: &[PullProgress], total: u64) {
    assert!(!seen.is_empty());
    for w in seen.windows(2) {
        assert!(w[0].rows < w[1].rows, "rows must grow: {w:?}");
        assert!(
            w[0].fraction().expect("a total") <= w[1].fraction().expect("a total"),
            "progress went back: {w:?}"
        );
    }
    assert!(
        seen.iter().all(|p| p.total == Some(total)),
        "the total moved: {:?}",
        seen.iter().map(|p| p.total).collect::<Vec<_>>()
    );
    let last = seen.last().expect("a last report");
    assert!(last.done, "{last:?}");
    assert_eq!((last.rows, last.fraction()), (total, Some(1.0)));
    assert!(seen[..seen.len() - 1].iter().all(|p| !p.done));
}

#[test]
fn initial_pull_is_paged_resumable_and_reports_progress() {
    let hq_dir = tempfile::tempdir().expect("tempdir");
    let hq = tillstone_cloud::open(&format!("sqlite:{}", hq_dir.path().join("hq.db").display()))
        .expect("hub db");
    let tenant = hq.create_tenant("甲公司").expect("tenant");
    let store_id = StoreId::new("s-01").expect("store id");
    hq.create_store(&tenant, &store_id, "一店").expect("store");
    let rows: Vec<_> = (0..PRODUCTS).map(product).collect();
    for chunk in rows.chunks(5000) {
        hq.put_changes(&tenant, Entity::Catalog, chunk, None)
            .expect("load the catalog");
    }
    drop(rows);
    let hub = Hub::start(hq.clone());

    // A clean pull.
    let clean = Till::enrolled(&*hq, &tenant, &store_id, &hub.url);
    let probe = Probe::new(&hub.url, None);
    let client = SyncClient::new(&probe, config());
    let mut seen = Vec::new();
    let report = client
        .pull_with_progress(|| clean.lock(), |p| seen.push(*p))
        .expect("clean pull");
    assert!(report.complete);
    assert_eq!(report.rows, PRODUCTS as u64);
    // Paged: many pages, none above the page size, each request asking for at most it.
    let pages = probe.pages.lock().expect("lock");
    let expected_pages = PRODUCTS.div_ceil(PAGE as usize);
    assert!(
        pages.len() == expected_pages || pages.len() == expected_pages + 1,
        "{} pages",
        pages.len()
    );
    assert!(
        pages
            .iter()
            .all(|(req, page)| req.limit == Some(PAGE) && page.rows.len() <= PAGE as usize)
    );
    // The hub was asked to count once, on the first page, and said what was left.
    assert_eq!(pages[0].0.count_remaining, Some(true));
    assert_eq!(
        pages[0].1.remaining,
        Some((PRODUCTS - PAGE as usize) as u64)
    );
    assert!(
        pages[1..]
            .iter()
            .all(|(req, page)| { req.count_remaining.is_none() && page.remaining.is_none() })
    );
    drop(pages);
    check_progress(&seen, PRODUCTS as u64);
    let digest = hq_digest(&clean.lock()).expect("digest");
    assert_eq!(clean.lock().hq_rows().expect("rows").len(), PRODUCTS);
    let st = sync_state(&clean.lock()).expect("state");
    let view = st.pull.expect("the pull is on record");
    assert_eq!(view.progress, *seen.last().expect("last"));

    // Interrupted: the connection dies after 7 pages. The 7 applied pages stay (each with its
    // cursors), the error is a retryable transport error.
    let cut = Till::enrolled(&*hq, &tenant, &store_id, &hub.url);
    let dying = Probe::new(&hub.url, Some(7));
    let err = SyncClient::new(&dying, config())
        .pull(|| cut.lock())
        .expect_err("the transport died");
    assert!(
        matches!(err, SyncError::Transport(_)) && err.is_retryable(),
        "{err}"
    );
    let kept = cut.lock().hq_rows().expect("rows").len();
    assert_eq!(kept, 7 * PAGE as usize);
    // Resumed: it asks from the saved cursors (not from 0), announces what is left and ends
    // with the clean pull's digest.
    let probe = Probe::new(&hub.url, None);
    let mut resumed = Vec::new();
    let report = SyncClient::new(&probe, config())
        .pull_with_progress(|| cut.lock(), |p| resumed.push(*p))
        .expect("resumed pull");
    assert_eq!(report.rows, (PRODUCTS - kept) as u64);
    let first = probe.pages.lock().expect("lock")[0].0.clone();
    assert_eq!(
        first.cursors.get(&Entity::Catalog).copied(),
        Some(kept as u64)
    );
    check_progress(&resumed, (PRODUCTS - kept) as u64);
    assert_eq!(hq_digest(&cut.lock()).expect("digest"), digest);

    // Up to date: one empty page, nothing written, the last real session stays on record.
    let again = SyncClient::new(&probe, config())
        .pull(|| clean.lock())
        .expect("pull again");
    assert_eq!((again.rows, again.written, again.complete), (0, 0, true));
    let st = sync_state(&clean.lock()).expect("state");
    assert_eq!(
        st.pull.expect("still on record").progress.rows,
        PRODUCTS as u64
    );
    hub.stop();
}
