//! Serial / USB-CDC barcode scanners: framing (prefix, suffix) and reading.
//!
//! A scanner in serial or USB-CDC ("virtual COM") mode sends each scan as bytes, usually
//! ended by CR. [`Framer`] cuts the byte stream into scans whatever the read boundaries are;
//! [`ScannerReader`] runs a blocking serial port on a background thread and delivers
//! [`ScannerEvent`]s (parsed [`ScanResult`]s) through a `std::sync::mpsc` channel.
//!
//! Enable AIM symbology identifiers on the scanner if it supports them: they make the parser
//! strict about lengths (a cut-short EAN-13 is then rejected instead of read as something
//! else).

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serialport::SerialPort;

use crate::scan::{self, InvalidCode, ScanConfig, ScanResult};

/// What ends a scan on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suffix {
    /// CR (0x0D), the factory default of most scanners.
    Cr,
    /// LF (0x0A).
    Lf,
    /// CR LF.
    CrLf,
    /// No suffix: a scan ends when the line has been idle for `idle_timeout_ms`.
    None,
}

/// How a serial scanner is connected and set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScannerConfig {
    /// Device path, e.g. `/dev/ttyACM0` or `/dev/serial/by-id/usb-…`.
    pub path: String,
    /// Baud rate (ignored by USB-CDC devices, but must be valid).
    pub baud: u32,
    /// Bytes the scanner sends before every scan (empty if none). Bytes received outside
    /// a prefix…suffix frame are discarded as line noise.
    pub prefix: String,
    pub suffix: Suffix,
    /// With [`Suffix::None`]: the gap that ends a scan. With a suffix: how long a partial
    /// scan may wait for its suffix before it is reported as [`InvalidCode::MissingSuffix`].
    pub idle_timeout_ms: u64,
    /// Longest frame in bytes; longer input is discarded up to the next suffix and reported
    /// once as [`InvalidCode::TooLong`].
    pub max_frame: usize,
    /// How scans are interpreted.
    pub scan: ScanConfig,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            path: String::new(),
            baud: 9600,
            prefix: String::new(),
            suffix: Suffix::Cr,
            idle_timeout_ms: 100,
            max_frame: 1024,
            scan: ScanConfig::default(),
        }
    }
}

/// One unit cut from the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The bytes of one scan (prefix and suffix removed).
    Scan(Vec<u8>),
    /// More than `max_frame` bytes without a suffix; `len` bytes were dropped so far.
    Overlong { len: usize },
    /// Data that never got its suffix within the idle timeout.
    Unterminated(Vec<u8>),
}

impl Frame {
    /// Interpret the frame.
    pub fn to_result(&self, cfg: &ScanConfig) -> ScanResult {
        match self {
            Self::Scan(bytes) => scan::parse(bytes, cfg),
            Self::Overlong { len } => ScanResult::invalid(
                InvalidCode::TooLong,
                format!(
                    "the scanner sent more than {len} bytes without ending the scan: check the scanner's suffix setting, then scan again"
                ),
                "",
            ),
            Self::Unterminated(bytes) => ScanResult::invalid(
                InvalidCode::MissingSuffix,
                "the scanner sent a code without the expected suffix: set the scanner's suffix (CR by default) or the till's scanner setting to match, then scan again",
                &String::from_utf8_lossy(bytes),
            ),
        }
    }
}

/// Cuts a byte stream into scans. Feed it whatever each read returned ([`Framer::push`]) and
/// call [`Framer::poll`] when no bytes arrived, for idle timeouts.
#[derive(Debug)]
pub struct Framer {
    prefix: Vec<u8>,
    terminator: Option<u8>,
    idle: Duration,
    max: usize,
    buf: Vec<u8>,
    /// A prefix has been seen (always true without a prefix).
    in_frame: bool,
    /// Bytes dropped since the current frame overflowed (0: not overflowing).
    overflow: usize,
    last_byte: Option<Instant>,
}

fn is_noise(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0)
}

impl Framer {
    pub fn new(cfg: &ScannerConfig) -> Self {
        Self {
            prefix: cfg.prefix.as_bytes().to_vec(),
            terminator: match cfg.suffix {
                Suffix::Cr => Some(b'\r'),
                Suffix::Lf | Suffix::CrLf => Some(b'\n'),
                Suffix::None => None,
            },
            idle: Duration::from_millis(cfg.idle_timeout_ms.max(1)),
            max: cfg.max_frame.max(1),
            buf: Vec::new(),
            in_frame: cfg.prefix.is_empty(),
            overflow: 0,
            last_byte: None,
        }
    }

    /// Bytes buffered for the current (incomplete) frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    fn reset(&mut self) -> Vec<u8> {
        self.in_frame = self.prefix.is_empty();
        self.overflow = 0;
        std::mem::take(&mut self.buf)
    }

    fn finish(&mut self, out: &mut Vec<Frame>) {
        let in_frame = self.in_frame;
        let frame = self.reset();
        if !in_frame {
            if !frame.is_empty() {
                tracing::debug!(
                    bytes = frame.len(),
                    "scanner: discarded bytes outside a prefix"
                );
            }
            return;
        }
        if frame.iter().all(|&b| is_noise(b)) {
            return;
        }
        out.push(Frame::Scan(frame));
    }

    /// Feed received bytes; returns the frames they completed.
    pub fn push(&mut self, bytes: &[u8], now: Instant) -> Vec<Frame> {
        let mut out = Vec::new();
        if bytes.is_empty() {
            return out;
        }
        // A long silence before these bytes ends what was pending.
        out.extend(self.poll(now));
        self.last_byte = Some(now);
        for &b in bytes {
            if Some(b) == self.terminator {
                if self.overflow > 0 {
                    self.reset();
                } else {
                    self.finish(&mut out);
                }
                continue;
            }
            if self.overflow > 0 {
                self.overflow += 1;
                continue;
            }
            if !self.in_frame {
                self.buf.push(b);
                if self.buf.ends_with(&self.prefix) {
                    let stray = self.buf.len() - self.prefix.len();
                    if stray > 0 {
                        tracing::debug!(
                            bytes = stray,
                            "scanner: discarded bytes before the prefix"
                        );
                    }
                    self.buf.clear();
                    self.in_frame = true;
                } else if self.buf.len() >= self.prefix.len() {
                    let keep = self.prefix.len().saturating_sub(1);
                    self.buf.drain(..self.buf.len() - keep);
                }
                continue;
            }
            self.buf.push(b);
            if self.buf.len() > self.max {
                self.overflow = self.buf.len();
                self.buf.clear();
                tracing::warn!(
                    max = self.max,
                    "scanner: frame too long, discarding to the next suffix"
                );
                out.push(Frame::Overlong { len: self.max });
            }
        }
        out
    }

    /// Report what the idle timeout completes at `now`, if anything.
    pub fn poll(&mut self, now: Instant) -> Option<Frame> {
        let last = self.last_byte?;
        if now.saturating_duration_since(last) < self.idle {
            return None;
        }
        if self.overflow > 0 {
            self.reset();
            return None;
        }
        if self.buf.is_empty() {
            return None;
        }
        if self.terminator.is_none() {
            let mut out = Vec::new();
            self.finish(&mut out);
            return out.pop();
        }
        let in_frame = self.in_frame;
        let frame = self.reset();
        (in_frame && !frame.iter().all(|&b| is_noise(b))).then_some(Frame::Unterminated(frame))
    }
}

/// What the reader thread delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ScannerEvent {
    /// One scan, interpreted.
    Scan { result: ScanResult },
    /// The port failed (unplugged, closed); the reader has stopped. Re-open to continue.
    Disconnected { message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error("cannot open scanner port {path}: {source}; check the cable and the device path")]
    Open {
        path: String,
        #[source]
        source: serialport::Error,
    },
    #[error("cannot configure the scanner port: {0}")]
    Configure(#[source] serialport::Error),
    #[error("cannot start the scanner reader thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// A scanner being read on a background thread. Dropping it stops the thread.
#[derive(Debug)]
pub struct ScannerReader {
    events: Receiver<ScannerEvent>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// How often the reader thread wakes up to check for stop and idle timeouts.
const POLL: Duration = Duration::from_millis(20);

impl ScannerReader {
    /// Open `cfg.path` at `cfg.baud` (8N1) and start reading.
    pub fn open(cfg: ScannerConfig) -> Result<Self, ScannerError> {
        let port = serialport::new(&cfg.path, cfg.baud)
            .timeout(POLL)
            .open()
            .map_err(|source| ScannerError::Open {
                path: cfg.path.clone(),
                source,
            })?;
        Self::spawn(port, cfg)
    }

    /// Start reading an already-open port (its timeout is set to a short poll interval).
    pub fn spawn(mut port: Box<dyn SerialPort>, cfg: ScannerConfig) -> Result<Self, ScannerError> {
        port.set_timeout(POLL).map_err(ScannerError::Configure)?;
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("scanner-reader".into())
            .spawn(move || run(port, &cfg, &flag, &tx))
            .map_err(ScannerError::Thread)?;
        Ok(Self {
            events: rx,
            stop,
            handle: Some(handle),
        })
    }

    /// The channel of events; it disconnects when the reader stops.
    pub fn events(&self) -> &Receiver<ScannerEvent> {
        &self.events
    }

    /// The next event within `timeout`, or `None`.
    pub fn next_event(&self, timeout: Duration) -> Option<ScannerEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Stop the thread and wait for it (at most about one poll interval).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take()
            && h.join().is_err()
        {
            tracing::error!("scanner reader thread panicked");
        }
    }
}

impl Drop for ScannerReader {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    mut port: Box<dyn SerialPort>,
    cfg: &ScannerConfig,
    stop: &AtomicBool,
    tx: &Sender<ScannerEvent>,
) {
    let mut framer = Framer::new(cfg);
    let mut buf = [0u8; 512];
    tracing::info!(port = ?port.name(), "scanner reader started");
    let send = |frame: Frame| {
        let result = frame.to_result(&cfg.scan);
        tx.send(ScannerEvent::Scan { result }).is_ok()
    };
    while !stop.load(Ordering::Relaxed) {
        let frames = match port.read(&mut buf) {
            Ok(n) => framer.push(buf.get(..n).unwrap_or_default(), Instant::now()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "scanner port failed; reader stopping");
                // The receiver may be gone already; nothing else to do then.
                let _ = tx.send(ScannerEvent::Disconnected {
                    message: format!(
                        "the scanner stopped responding ({e}): check its cable, then reconnect it"
                    ),
                });
                return;
            }
        };
        for frame in frames.into_iter().chain(framer.poll(Instant::now())) {
            if !send(frame) {
                tracing::debug!("scanner event receiver dropped; reader stopping");
                return;
            }
        }
    }
    tracing::info!("scanner reader stopped");
}
