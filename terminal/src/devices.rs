//! The terminal's devices: the profiles in `devices.toml`, the print queue and its worker.
//!
//! Selling never waits for a printer. A committed sale's receipt is queued (in its own SQLite
//! file, `print-queue.db`, keyed by the sale id so it is queued once); a worker thread prints
//! jobs in order when the printer reports ready and leaves them pending with the reason
//! (paper out, cover open, offline) otherwise, so the cashier sees why and nothing is lost.

use rust_decimal::Decimal;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tillstone_devices::config::{DeviceProfiles, PrinterConfig};
use tillstone_devices::display::{CustomerDisplay, DisplayError, WIDTH, label_amount};
use tillstone_devices::printer::Printer;
use tillstone_devices::queue::{JobInfo, JobPayload, PrintQueue, Step};
use tillstone_devices::receipt::{Paper, ReceiptDoc};
use tillstone_devices::scale::{Scale, ScaleReading};
use tillstone_devices::scan::ScanConfig;
use tillstone_devices::scanner::{ScannerEvent, ScannerReader};

pub const DEVICES_FILE: &str = "devices.toml";
pub const QUEUE_FILE: &str = "print-queue.db";
const RETRY: Duration = Duration::from_secs(2);
/// Printed jobs stay in the print queue this long (a reprint, the back office), then go.
const KEEP_PRINTED_DAYS: i64 = 7;
/// How often the idle print worker prunes the queue.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// A printer problem as the cashier sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub code: String,
    pub message_zh: String,
    pub message_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobView {
    pub job_id: String,
    pub created_at: String,
    pub state: String,
    pub attempts: u32,
    pub problem: Option<Problem>,
    pub reason: Option<String>,
}

/// What the till shows about its printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PrinterView {
    pub configured: bool,
    /// devices.toml could not be used: why (selling goes on; receipts are not printed).
    pub config_error: Option<String>,
    pub pending: Vec<JobView>,
    /// The last thing the worker could not do.
    pub last_problem: Option<Problem>,
    pub last_error: Option<String>,
}

enum Msg {
    Wake,
    KickDrawer,
}

#[derive(Default)]
struct WorkerState {
    last_problem: Option<Problem>,
    last_error: Option<String>,
}

pub struct Devices {
    /// The receipt logo (PNG bytes), read once.
    logo: Option<Vec<u8>>,
    display: Mutex<Option<CustomerDisplay>>,
    scale: Mutex<Option<Scale>>,
    scanner: Mutex<Option<ScannerReader>>,
    profiles: DeviceProfiles,
    config_error: Option<String>,
    queue_path: PathBuf,
    queue: Option<Mutex<PrintQueue>>,
    worker: Mutex<Option<Sender<Msg>>>,
    /// The print worker's thread, joined by [`Devices::close`].
    worker_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Tells the print worker to stop between two jobs.
    stop: Arc<AtomicBool>,
    /// Set by [`Devices::close`]: these profiles were replaced; open no device again.
    closed: AtomicBool,
    state: Arc<Mutex<WorkerState>>,
}

fn problem(p: tillstone_devices::status::PrinterProblem) -> Problem {
    Problem {
        code: p.code().to_string(),
        message_zh: p.message_zh().to_string(),
        message_en: p.message_en().to_string(),
    }
}

impl Devices {
    /// Load `dir/devices.toml` (absent: no devices). A broken file disables the devices with
    /// a message; the till still sells.
    pub fn load(dir: &Path) -> Devices {
        let path = dir.join(DEVICES_FILE);
        let (profiles, config_error) = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (DeviceProfiles::default(), None),
            Err(e) => (
                DeviceProfiles::default(),
                Some(format!("cannot read {}: {e}", path.display())),
            ),
            Ok(text) => match DeviceProfiles::from_toml(&text) {
                Ok(p) => (p, None),
                Err(e) => (
                    DeviceProfiles::default(),
                    Some(format!(
                        "{}: {e} (run `tillstone devices check`)",
                        path.display()
                    )),
                ),
            },
        };
        if let Some(e) = &config_error {
            tracing::error!(error = %e, "devices disabled");
        }
        let queue_path = dir.join(QUEUE_FILE);
        let queue = profiles
            .printer
            .as_ref()
            .and_then(|_| match PrintQueue::open(&queue_path) {
                Ok(q) => Some(Mutex::new(q)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot open the print queue; receipts will not print");
                    None
                }
            });
        let logo = profiles.printer.as_ref().and_then(|p| p.logo.as_ref()).and_then(|path| {
            let path = dir.join(path);
            std::fs::read(&path)
                .map_err(|e| tracing::error!(error = %e, logo = %path.display(), "receipt logo not printed"))
                .ok()
        });
        Devices {
            logo,
            display: Mutex::new(None),
            scale: Mutex::new(None),
            scanner: Mutex::new(None),
            profiles,
            config_error,
            queue_path,
            queue,
            worker: Mutex::new(None),
            worker_thread: Mutex::new(None),
            stop: Arc::new(AtomicBool::new(false)),
            closed: AtomicBool::new(false),
            state: Arc::new(Mutex::new(WorkerState::default())),
        }
    }

    /// Stop using these devices (new profiles replace them): the print worker ends after the
    /// job it is printing (pending jobs stay in the queue for the next worker), and the
    /// display, scale and scanner are closed so the new profiles can open their ports.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.stop.store(true, Ordering::SeqCst);
        // Dropping the sender wakes the worker out of its wait.
        self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        let handle = self
            .worker_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("the print worker had panicked");
        }
        // A slot in use (a scanner long-poll holds its lock for seconds) is closed when the last
        // user lets go of these devices instead: not waited for here.
        if let Ok(mut d) = self.display.try_lock() {
            d.take();
        }
        if let Ok(mut s) = self.scale.try_lock() {
            s.take();
        }
        if let Ok(mut s) = self.scanner.try_lock() {
            s.take();
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub fn logo(&self) -> Option<Vec<u8>> {
        self.logo.clone()
    }

    /// The profiles the till runs with (loaded from devices.toml at start).
    pub fn profiles(&self) -> &DeviceProfiles {
        &self.profiles
    }

    pub fn scan_config(&self) -> &ScanConfig {
        &self.profiles.scan
    }

    /// Paper of the configured printer (80 mm when none is configured).
    pub fn paper(&self) -> Paper {
        self.profiles
            .printer
            .as_ref()
            .map_or(Paper::Mm80, |p| p.profile.paper)
    }

    pub fn font_path(&self) -> Option<&Path> {
        self.profiles
            .printer
            .as_ref()
            .and_then(|p| p.profile.font_path.as_deref())
    }

    fn notify(&self, msg: Msg) {
        if let Some(tx) = self
            .worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(msg);
        }
    }

    /// Queue a receipt (once per job id) and wake the worker. Without a printer: nothing.
    pub fn print(&self, job_id: &str, doc: ReceiptDoc, at: &str) -> Result<bool, String> {
        let Some(queue) = &self.queue else {
            return Ok(false);
        };
        queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .enqueue(job_id, at, &JobPayload::Receipt(Box::new(doc)))
            .map_err(|e| e.to_string())?;
        self.notify(Msg::Wake);
        Ok(true)
    }

    /// Open the cash drawer (through the printer) as soon as the worker can.
    pub fn kick_drawer(&self) {
        if self.is_closed() {
            tracing::warn!("drawer not opened: the devices were being reconfigured at that moment");
            return;
        }
        if self.profiles.printer.is_some() {
            self.notify(Msg::KickDrawer);
        }
    }

    /// Wake the print worker (after a reload: a receipt may have been queued meanwhile).
    pub fn wake(&self) {
        self.notify(Msg::Wake);
    }

    /// Write to the customer display, opening it on first use; a failure is logged and the
    /// display reopened next time (a display never stops a sale).
    fn with_display(&self, f: impl FnOnce(&mut CustomerDisplay) -> Result<(), DisplayError>) {
        let Some(cfg) = &self.profiles.display else {
            return;
        };
        if self.is_closed() {
            return;
        }
        let mut slot = self.display.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            match CustomerDisplay::open(cfg).and_then(|mut d| d.init().map(|_| d)) {
                Ok(d) => *slot = Some(d),
                Err(e) => {
                    tracing::warn!(error = %e, "customer display unavailable");
                    return;
                }
            }
        }
        if let Some(d) = slot.as_mut()
            && let Err(e) = f(d)
        {
            tracing::warn!(error = %e, "customer display write failed");
            *slot = None;
        }
    }

    /// The item just scanned on the upper line, the running total below.
    pub fn show_item(&self, name: &str, amount: Decimal, total: Decimal) {
        self.with_display(|d| {
            d.show(
                &label_amount(name, amount, WIDTH),
                &label_amount("TOTAL", total, WIDTH),
            )
        });
    }

    /// What was paid and the change, at the end of a sale.
    pub fn show_change(&self, paid: Decimal, change: Decimal) {
        self.with_display(|d| d.show_change(paid, change));
    }

    /// Read the scale once (waiting at most `timeout`).
    pub fn read_scale(&self, timeout: Duration) -> Result<ScaleReading, String> {
        let Some(cfg) = &self.profiles.scale else {
            return Err("no scale is set up: an installer adds it to devices.toml".into());
        };
        if self.is_closed() {
            return Err("the devices were just reconfigured: try again".into());
        }
        let mut slot = self.scale.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(Scale::open(cfg).map_err(|e| format!("cannot open the scale: {e}"))?);
        }
        let result = slot
            .as_mut()
            .map(|s| s.read_weight(timeout))
            .ok_or_else(|| "the scale is not open".to_string())?;
        result.map_err(|e| {
            *slot = None;
            format!("the scale did not answer: {e}")
        })
    }

    /// The next scan of the serial scanner, waiting at most `timeout`. The reader starts on
    /// first use and restarts after the scanner was unplugged.
    pub fn next_scan(&self, timeout: Duration) -> Result<Option<ScannerEvent>, String> {
        let Some(cfg) = &self.profiles.scanner else {
            return Err(
                "no serial scanner is set up (keyboard-wedge scanners type into the page)".into(),
            );
        };
        if self.is_closed() {
            return Err("the devices were just reconfigured: try again".into());
        }
        let mut slot = self.scanner.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(
                ScannerReader::open(cfg.clone())
                    .map_err(|e| format!("cannot open the scanner: {e}"))?,
            );
        }
        let event = slot.as_ref().and_then(|r| r.next_event(timeout));
        if matches!(event, Some(ScannerEvent::Disconnected { .. })) {
            *slot = None;
        }
        Ok(event)
    }

    pub fn view(&self) -> PrinterView {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let pending = self
            .queue
            .as_ref()
            .map(|q| q.lock().unwrap_or_else(|p| p.into_inner()).pending())
            .transpose();
        let (pending, queue_error) = match pending {
            Ok(p) => (p.unwrap_or_default(), None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        PrinterView {
            configured: self.profiles.printer.is_some(),
            config_error: self.config_error.clone(),
            pending: pending.iter().map(job_view).collect(),
            last_problem: state.last_problem.clone(),
            last_error: queue_error.or_else(|| state.last_error.clone()),
        }
    }

    /// Start the print worker (once). Returns false when no printer is configured.
    pub fn start_worker(&self) -> bool {
        let Some(cfg) = self.profiles.printer.clone() else {
            return false;
        };
        let mut worker = self.worker.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the worker's lock, which `close` takes after marking: a worker is never
        // started on devices that were replaced meanwhile.
        if self.is_closed() {
            return false;
        }
        if worker.is_some() {
            return true;
        }
        let queue = match PrintQueue::open(&self.queue_path) {
            Ok(q) => q,
            Err(e) => {
                tracing::error!(error = %e, "print worker not started");
                return false;
            }
        };
        let (tx, rx) = mpsc::channel();
        let state = Arc::clone(&self.state);
        let stop = Arc::clone(&self.stop);
        let spawned = std::thread::Builder::new()
            .name("print-worker".into())
            .spawn(move || work(cfg, queue, rx, state, stop));
        match spawned {
            Ok(handle) => {
                *self.worker_thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
                *worker = Some(tx);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "print worker not started");
                false
            }
        }
    }
}

fn job_view(j: &JobInfo) -> JobView {
    JobView {
        job_id: j.job_id.clone(),
        created_at: j.created_at.clone(),
        state: format!("{:?}", j.state).to_lowercase(),
        attempts: j.attempts,
        problem: j.problem().map(problem),
        reason: j.reason.clone(),
    }
}

/// The worker: print pending jobs in order; on a problem wait and retry; kick the drawer when
/// asked (a drawer kick does not wait for paper). Ends when the terminal is dropped.
fn work(
    cfg: PrinterConfig,
    queue: PrintQueue,
    rx: Receiver<Msg>,
    state: Arc<Mutex<WorkerState>>,
    stop: Arc<AtomicBool>,
) {
    let mut printer: Option<Printer> = None;
    let mut wait = Duration::from_millis(0);
    let mut pruned_at: Option<Instant> = None;
    loop {
        match rx.recv_timeout(wait) {
            Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Msg::KickDrawer) => {
                let failed = printer_or_open(&cfg, &mut printer, &state)
                    .map(|p| p.kick_drawer())
                    .is_some_and(|r| r.is_err());
                if failed {
                    tracing::warn!("drawer kick failed; reopening the printer");
                    printer = None;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
        wait = Duration::from_secs(60);
        let Some(p) = printer_or_open(&cfg, &mut printer, &state) else {
            wait = RETRY;
            continue;
        };
        let mut reopen = false;
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match queue.process_next(p) {
                Ok(Step::Idle) => {
                    {
                        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                        s.last_problem = None;
                        s.last_error = None;
                    }
                    if pruned_at.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                        pruned_at = Some(Instant::now());
                        prune(&queue);
                    }
                    break;
                }
                Ok(Step::Printed { job_id }) => tracing::info!(job_id, "receipt printed"),
                Ok(Step::Failed { job_id, reason }) => {
                    tracing::error!(job_id, reason, "print job cannot print");
                }
                Ok(Step::Blocked {
                    job_id,
                    problem: pr,
                    ..
                }) => {
                    tracing::warn!(job_id, problem = pr.code(), "printer not ready");
                    state.lock().unwrap_or_else(|e| e.into_inner()).last_problem =
                        Some(problem(pr));
                    wait = RETRY;
                    break;
                }
                Ok(Step::Error { job_id, reason }) => {
                    tracing::warn!(job_id, reason, "printer unreachable");
                    state.lock().unwrap_or_else(|e| e.into_inner()).last_error = Some(reason);
                    reopen = true;
                    wait = RETRY;
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "print queue failed");
                    state.lock().unwrap_or_else(|e| e.into_inner()).last_error =
                        Some(e.to_string());
                    wait = RETRY;
                    break;
                }
            }
        }
        if reopen {
            printer = None;
        }
    }
}

/// Drop printed jobs older than [`KEEP_PRINTED_DAYS`] (the last printed one stays for a reprint).
fn prune(queue: &PrintQueue) {
    let before = (chrono::Utc::now() - chrono::Duration::days(KEEP_PRINTED_DAYS))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    if let Err(e) = queue.prune_printed(&before) {
        tracing::warn!(error = %e, "print queue not pruned; tried again in an hour");
    }
}

fn printer_or_open<'a>(
    cfg: &PrinterConfig,
    printer: &'a mut Option<Printer>,
    state: &Mutex<WorkerState>,
) -> Option<&'a mut Printer> {
    if printer.is_none() {
        match cfg.open() {
            Ok(p) => *printer = Some(p),
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the printer");
                state.lock().unwrap_or_else(|p| p.into_inner()).last_error =
                    Some(format!("cannot open the printer: {e}"));
                return None;
            }
        }
    }
    printer.as_mut()
}
