//! A virtual ESC/POS printer on a thread, for the printer and queue tests (included with
//! `#[path]`): it answers `DLE EOT n` from its panel state, like a real printer even while
//! receiving a job, and records every job (up to and including the cut `GS V 66 n`) as printed,
//! or torn when the paper was out or ran out while printing it.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Panel {
    pub paper_out: bool,
    pub cover_open: bool,
    /// Does not answer status requests (switched off, wrong port).
    pub silent: bool,
    pub drawer_open: bool,
    /// Sends a byte that is not a status reply before each reply.
    pub noise: bool,
    /// Paper left for this many more jobs; the next one runs out of paper part-way.
    pub paper_for_jobs: Option<usize>,
    pub received: Vec<u8>,
    pub printed: Vec<Vec<u8>>,
    pub torn: Vec<Vec<u8>>,
    pub status_requests: Vec<u8>,
    current: Vec<u8>,
    pending: Vec<u8>,
}

impl Panel {
    fn reply(&self, n: u8) -> u8 {
        let offline = self.paper_out || self.cover_open;
        let mut b = 0x12;
        match n {
            1 => {
                if self.drawer_open {
                    b |= 0x04;
                }
                if offline {
                    b |= 0x08;
                }
            }
            2 => {
                if self.cover_open {
                    b |= 0x04;
                }
                if self.paper_out {
                    b |= 0x20;
                }
            }
            4 if self.paper_out => b |= 0x60,
            _ => {}
        }
        b
    }

    /// Feed received bytes; returns the bytes to send back.
    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.received.extend_from_slice(bytes);
        for &b in bytes {
            self.pending.push(b);
            match self.pending.as_slice() {
                [0x10] | [0x10, 0x04] => continue,
                [0x10, 0x04, n] if (1..=4).contains(n) => {
                    let n = *n;
                    self.status_requests.push(n);
                    if !self.silent {
                        if self.noise {
                            out.push(0xFF);
                        }
                        out.push(self.reply(n));
                    }
                    self.pending.clear();
                    continue;
                }
                _ => {}
            }
            let data = std::mem::take(&mut self.pending);
            for d in data {
                self.current.push(d);
                let k = self.current.len();
                if k >= 4 && self.current[k - 4..k - 1] == [0x1D, 0x56, 66] {
                    let job = std::mem::take(&mut self.current);
                    if self.paper_out || self.cover_open {
                        self.torn.push(job);
                    } else if self.paper_for_jobs == Some(0) {
                        self.paper_out = true;
                        self.torn.push(job);
                    } else {
                        self.paper_for_jobs = self.paper_for_jobs.map(|n| n - 1);
                        self.printed.push(job);
                    }
                }
            }
        }
        out
    }
}

pub struct VirtualPrinter {
    panel: Arc<Mutex<Panel>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl VirtualPrinter {
    /// Serve one port whose reads time out (a pty master with a short timeout).
    pub fn spawn<P: Read + Write + Send + 'static>(mut port: P) -> Self {
        let panel = Arc::new(Mutex::new(Panel::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (panel.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                match port.read(&mut buf) {
                    Ok(0) => std::thread::sleep(Duration::from_millis(5)),
                    Ok(n) => {
                        let reply = p.lock().map(|mut g| g.feed(&buf[..n])).unwrap_or_default();
                        if !reply.is_empty() {
                            let _ = port.write_all(&reply);
                            let _ = port.flush();
                        }
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        VirtualPrinter {
            panel,
            stop,
            handle: Some(handle),
        }
    }

    /// Serve TCP connections one after the other on `listener` (non-blocking accept).
    pub fn spawn_tcp(listener: std::net::TcpListener) -> Self {
        let panel = Arc::new(Mutex::new(Panel::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (panel.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let _ = listener.set_nonblocking(true);
            while !s.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_millis(20)));
                let mut buf = [0u8; 4096];
                while !s.load(Ordering::Relaxed) {
                    match conn.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let reply = p.lock().map(|mut g| g.feed(&buf[..n])).unwrap_or_default();
                            if !reply.is_empty() && conn.write_all(&reply).is_err() {
                                break;
                            }
                        }
                        Err(e)
                            if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
                        Err(_) => break,
                    }
                }
            }
        });
        VirtualPrinter {
            panel,
            stop,
            handle: Some(handle),
        }
    }

    pub fn panel(&self) -> MutexGuard<'_, Panel> {
        match self.panel.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Wait until `cond` holds for the panel (bytes in flight through a pty), at most 2 s.
    pub fn wait_for(&self, cond: impl Fn(&Panel) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if cond(&self.panel()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

impl Drop for VirtualPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[test]
fn virtual_printer_answers_status_and_splits_jobs_at_the_cut() {
    let mut panel = Panel {
        paper_for_jobs: Some(1),
        ..Panel::default()
    };
    assert_eq!(
        panel.feed(&[0x10, 0x04, 1, 0x10, 0x04, 4]),
        vec![0x12, 0x12]
    );
    panel.feed(b"\x1b@one\n\x1dVB\x00\x1b@two\n\x1dVB\x00");
    assert_eq!(panel.printed.len(), 1);
    assert_eq!(panel.torn.len(), 1);
    assert!(panel.paper_out);
    assert_eq!(panel.feed(&[0x10, 0x04, 4]), vec![0x72]);
}
