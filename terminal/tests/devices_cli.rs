//! The installer commands of the `tillstone` binary (`devices list|check|test`, `barcode
//! parse`), run against files and real pseudo-terminals: socat makes a virtual serial cable,
//! the till end is given to the binary and a thread plays the device on the other end.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn tillstone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tillstone"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("tillstone runs: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// "中文测试" in GB18030, as a printer with a Chinese font receives it.
const ZHONGWEN_CESHI_GB18030: &[u8] = &[0xD6, 0xD0, 0xCE, 0xC4, 0xB2, 0xE2, 0xCA, 0xD4];
/// "￥" in GB18030.
const YUAN_GB18030: &[u8] = &[0xA3, 0xA4];

/// A socat-made virtual serial cable: `device` is played by a test thread, `till` is given to
/// the binary. The test keeps the till end open as well, so socat stays up while the binary
/// opens and closes it. Killed on drop.
struct Socat {
    child: Child,
    _dir: tempfile::TempDir,
    device: String,
    till: String,
    _hold: Option<File>,
}

impl Socat {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let device = dir.path().join("device").display().to_string();
        let till = dir.path().join("till").display().to_string();
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={device}"))
            .arg(format!("pty,raw,echo=0,link={till}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("socat: {e}"));
        let mut socat = Self {
            child,
            _dir: dir,
            device,
            till,
            _hold: None,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(Path::new(&socat.device).exists() && Path::new(&socat.till).exists()) {
            assert!(Instant::now() < deadline, "socat did not create its ptys");
            std::thread::sleep(Duration::from_millis(10));
        }
        socat._hold =
            Some(File::open(&socat.till).unwrap_or_else(|e| panic!("open {}: {e}", socat.till)));
        socat
    }

    /// Open the device end.
    fn device_port(&self) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.device)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.device))
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a virtual device has seen.
#[derive(Default)]
struct Panel {
    /// Printer: paper out (answers DLE EOT 2 and 4 accordingly).
    paper_out: bool,
    drawer_open: bool,
    /// Everything received except status requests.
    data: Vec<u8>,
    status_requests: Vec<u8>,
    pending: Vec<u8>,
    /// Toledo scale: the replies to `W`, in turn.
    scale_replies: Vec<&'static [u8]>,
    scale_asked: usize,
}

impl Panel {
    fn printer_reply(&self, n: u8) -> u8 {
        let mut b = 0x12;
        match n {
            1 => {
                if self.drawer_open {
                    b |= 0x04;
                }
                if self.paper_out {
                    b |= 0x08;
                }
            }
            2 if self.paper_out => b |= 0x20,
            4 if self.paper_out => b |= 0x60,
            _ => {}
        }
        b
    }

    /// An ESC/POS printer: answers `DLE EOT n`, opens the drawer on `ESC p`.
    fn printer(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            self.pending.push(b);
            match self.pending.as_slice() {
                [0x10] | [0x10, 0x04] => continue,
                [0x10, 0x04, n] if (1..=4).contains(n) => {
                    let n = *n;
                    self.status_requests.push(n);
                    out.push(self.printer_reply(n));
                    self.pending.clear();
                }
                _ => {
                    let p = std::mem::take(&mut self.pending);
                    self.data.extend_from_slice(&p);
                    if self.data.ends_with(&[0x1B, b'p']) {
                        self.drawer_open = true;
                    }
                }
            }
        }
        out
    }

    /// A Toledo 8217 scale: answers each `W` with the next reply.
    fn toledo(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.data.extend_from_slice(bytes);
        let mut out = Vec::new();
        for &b in bytes {
            if b & 0x7F == b'W'
                && let Some(reply) = self.scale_replies.get(self.scale_asked)
            {
                out.extend_from_slice(reply);
                self.scale_asked += 1;
            }
        }
        out
    }

    /// A customer display: records what it is sent.
    fn display(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.data.extend_from_slice(bytes);
        Vec::new()
    }
}

/// A device played on the device end of a socat cable until the cable goes away.
struct Virtual {
    panel: Arc<Mutex<Panel>>,
    handle: Option<JoinHandle<()>>,
}

impl Virtual {
    fn spawn(mut port: File, panel: Panel, role: fn(&mut Panel, &[u8]) -> Vec<u8>) -> Self {
        let panel = Arc::new(Mutex::new(panel));
        let p = Arc::clone(&panel);
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends when socat is killed (EOF or EIO on the pty).
            while let Ok(n @ 1..) = port.read(&mut buf) {
                let reply = match p.lock() {
                    Ok(mut g) => role(&mut g, &buf[..n]),
                    Err(_) => return,
                };
                if !reply.is_empty() && port.write_all(&reply).and_then(|()| port.flush()).is_err()
                {
                    return;
                }
            }
        });
        Self {
            panel,
            handle: Some(handle),
        }
    }

    fn panel(&self) -> MutexGuard<'_, Panel> {
        match self.panel.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Wait (at most 2 s) until the bytes in flight through the ptys have arrived.
    fn wait_for(&self, cond: impl Fn(&Panel) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if cond(&self.panel()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Stop (after the socat cable has been dropped) and hand back what it saw.
    fn finish(mut self, socat: Socat) -> Panel {
        drop(socat);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        std::mem::take(&mut *self.panel())
    }
}

// --- printer ---------------------------------------------------------------------------------

#[test]
fn printer_test_page_to_a_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("page.bin");
    let device = format!("file:{}", out.display());
    let o = tillstone(&[
        "devices", "test", "printer", "--device", &device, "--paper", "mm58",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("test page printed"), "{}", text(&o));
    assert!(text(&o).contains("32 columns"), "{}", text(&o));
    let bytes = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes.starts_with(&[0x1B, b'@']), "starts with ESC @");
    assert!(contains(&bytes, b"TILLSTONE"));
    assert!(
        contains(&bytes, ZHONGWEN_CESHI_GB18030),
        "GB18030 Chinese text"
    );
    assert!(contains(&bytes, YUAN_GB18030), "full-width yuan sign");
    // The 58 mm ruler is 32 columns wide.
    assert!(contains(&bytes, b"....+....1....+....2....+....3..\n"));
    assert!(contains(&bytes, b"12345678901234567890123456789012\n"));
    assert!(contains(&bytes, &[0x1D, b'k', 73]), "Code 128");
    assert!(contains(&bytes, &[0x1D, b'(', b'k']), "QR code");
    assert!(bytes.ends_with(&[0x1D, b'V', 66, 0]), "ends with a cut");

    // 80 mm: a 48-column ruler.
    let out80 = dir.path().join("page80.bin");
    let o = tillstone(&[
        "devices",
        "test",
        "printer",
        "--device",
        &format!("file:{}", out80.display()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let bytes = std::fs::read(&out80).unwrap_or_else(|e| panic!("{e}"));
    assert!(contains(
        &bytes,
        b"123456789012345678901234567890123456789012345678\n"
    ));

    // The printer of devices.toml (58 mm there).
    let from_profile = dir.path().join("profile.bin");
    std::fs::write(
        dir.path().join("devices.toml"),
        format!(
            "[printer]\ntransport = \"file\"\npath = \"{}\"\npaper = \"mm58\"\n",
            from_profile.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().display().to_string();
    let o = tillstone(&[
        "devices", "test", "printer", "--device", "profile", "--data", &d,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let bytes = std::fs::read(&from_profile).unwrap_or_else(|e| panic!("{e}"));
    assert!(contains(&bytes, b"12345678901234567890123456789012\n"));
    assert!(!contains(&bytes, b"123456789012345678901234567890123"));
}

#[test]
fn printer_test_page_on_a_virtual_serial_printer() {
    let socat = Socat::start();
    let printer = Virtual::spawn(socat.device_port(), Panel::default(), Panel::printer);
    let o = tillstone(&[
        "devices",
        "test",
        "printer",
        "--device",
        &socat.till,
        "--baud",
        "19200",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("online:      yes"), "{out}");
    assert!(out.contains("paper:       ok"), "{out}");
    assert!(out.contains("cash drawer: closed"), "{out}");
    assert!(out.contains("test page printed"), "{out}");
    assert!(printer.wait_for(|p| p.data.ends_with(&[0x1D, b'V', 66, 0])));
    let seen = printer.finish(socat);
    for n in [1, 2, 4] {
        assert!(
            seen.status_requests.contains(&n),
            "{:?}",
            seen.status_requests
        );
    }
    assert!(contains(&seen.data, b"TILLSTONE"));
    assert!(contains(&seen.data, ZHONGWEN_CESHI_GB18030));
    assert!(contains(
        &seen.data,
        b"123456789012345678901234567890123456789012345678\n"
    ));
}

#[test]
fn printer_out_of_paper_is_reported_and_nothing_is_printed() {
    let socat = Socat::start();
    let printer = Virtual::spawn(
        socat.device_port(),
        Panel {
            paper_out: true,
            ..Panel::default()
        },
        Panel::printer,
    );
    let o = tillstone(&["devices", "test", "printer", "--device", &socat.till]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("paper:       OUT"), "{out}");
    assert!(out.contains("打印机缺纸：请更换纸卷"), "{out}");
    assert!(
        out.contains("printer is out of paper: load a new roll"),
        "{out}"
    );
    assert!(out.contains("NOT printed"), "{out}");
    let seen = printer.finish(socat);
    assert!(!contains(&seen.data, b"TILLSTONE"), "nothing printed");
    assert!(seen.status_requests.contains(&4));
}

#[test]
fn a_printer_that_does_not_answer_is_reported() {
    let socat = Socat::start();
    // Nobody plays the printer: status requests go unanswered.
    let o = tillstone(&["devices", "test", "printer", "--device", &socat.till]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("打印机无响应"), "{}", text(&o));
    assert!(text(&o).contains("baud rate"), "{}", text(&o));
}

#[test]
fn drawer_kick_with_status_before_and_after() {
    let socat = Socat::start();
    let printer = Virtual::spawn(socat.device_port(), Panel::default(), Panel::printer);
    let o = tillstone(&["devices", "test", "drawer", "--device", &socat.till]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("drawer before: closed"), "{out}");
    assert!(out.contains("drawer after:  open"), "{out}");
    let seen = printer.finish(socat);
    assert!(
        contains(&seen.data, &[0x1B, b'p', 0, 50, 100]),
        "ESC p pin 2"
    );
}

#[test]
fn printer_device_names_are_checked() {
    let o = tillstone(&["devices", "test", "printer", "--device", "printer.local"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("IP:PORT"), "{}", text(&o));
    let o = tillstone(&[
        "devices",
        "test",
        "printer",
        "--device",
        "/dev/ttyUSB-does-not-exist",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("tillstone devices list"), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().display().to_string();
    let o = tillstone(&[
        "devices", "test", "printer", "--device", "profile", "--data", &d,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("devices.toml"), "{}", text(&o));
}

// --- scale, display, scanner -----------------------------------------------------------------

#[test]
fn scale_readings_from_a_virtual_toledo() {
    let socat = Socat::start();
    let scale = Virtual::spawn(
        socat.device_port(),
        Panel {
            scale_replies: vec![
                b"\x0201.234\r",
                b"\x02?A\r",
                // A 7E1 scale read as 8N1 (pseudo-terminals are always 8N1): parity bits set.
                b"\x8202.5\xb00\x8d",
                b"\x02?B\r",
            ],
            ..Panel::default()
        },
        Panel::toledo,
    );
    let o = tillstone(&[
        "devices",
        "test",
        "scale",
        "--device",
        &socat.till,
        "--count",
        "4",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("toledo8217, 9600 baud 7E1"), "{out}");
    assert!(out.contains("reading 1: 1.234 kg (stable)"), "{out}");
    assert!(out.contains("reading 2: motion"), "{out}");
    assert!(out.contains("reading 3: 2.500 kg (stable)"), "{out}");
    assert!(out.contains("reading 4: over capacity"), "{out}");
    let seen = scale.finish(socat);
    assert_eq!(seen.scale_asked, 4);
}

#[test]
fn a_silent_scale_is_reported() {
    let socat = Socat::start();
    let o = tillstone(&[
        "devices",
        "test",
        "scale",
        "--device",
        &socat.till,
        "--count",
        "1",
        "--protocol",
        "cas",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no answer within 2000 ms"),
        "{}",
        text(&o)
    );
}

#[test]
fn display_test_lines_item_and_total() {
    let socat = Socat::start();
    let vfd = Virtual::spawn(socat.device_port(), Panel::default(), Panel::display);
    let o = tillstone(&[
        "devices",
        "test",
        "display",
        "--device",
        &socat.till,
        "--seconds",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let upper = |text: &str| format!("\x1bQA{text:<20}\r").into_bytes();
    let total = upper(&format!("{:<15}{}", "TOTAL", "20.08"));
    assert!(vfd.wait_for(|p| contains(&p.data, &total)));
    let seen = vfd.finish(socat);
    assert!(seen.data.starts_with(&[0x1B, b'@', 0x0C]), "init and clear");
    assert!(contains(&seen.data, &upper("TILLSTONE TEST")));
    assert!(contains(&seen.data, b"\x1bQB12345678901234567890\r"));
    assert!(contains(&seen.data, &upper("APPLE FUJI")));
    assert!(contains(&seen.data, b"16.08\r"));
}

#[test]
fn scanner_scans_are_echoed_as_json() {
    let socat = Socat::start();
    let mut scanner_end = socat.device_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tillstone"))
        .args([
            "devices",
            "test",
            "scanner",
            "--device",
            &socat.till,
            "--seconds",
            "2",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("tillstone: {e}"));
    // Scan once the binary listens (it says so on stderr).
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr"));
    let (tx, rx) = mpsc::channel();
    let err_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("listening") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let listening = rx.recv_timeout(Duration::from_secs(10)).is_ok();
    if listening {
        scanner_end
            .write_all(b"]E06901234567892\r6901234567893\r")
            .unwrap_or_else(|e| panic!("scan: {e}"));
    }
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let stderr = err_reader.join().unwrap_or_default();
    assert!(listening, "{stderr}");
    assert!(status.success(), "{stdout}{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["kind"], "gtin");
    assert_eq!(lines[0]["gtin"], "6901234567892");
    assert_eq!(lines[0]["symbology"], "ean13");
    assert_eq!(lines[1]["kind"], "invalid");
    assert_eq!(lines[1]["code"], "bad_check_digit");
    assert!(stderr.contains("2 scan(s) received"), "{stderr}");
    drop(socat);
}

// --- barcode parse ---------------------------------------------------------------------------

fn parse_json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["barcode", "parse", "--json"];
    all.extend_from_slice(args);
    let o = tillstone(&all);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (o.status.code(), v)
}

#[test]
fn barcode_parse_ean13_and_a_bad_check_digit() {
    let (code, v) = parse_json(&["6901234567892"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["kind"], "gtin");
    assert_eq!(v["gtin"], "6901234567892");
    assert_eq!(v["format"], "ean13");

    let o = tillstone(&["barcode", "parse", "6901234567892"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("EAN-13"), "{}", text(&o));
    assert!(text(&o).contains("06901234567892"), "GTIN-14: {}", text(&o));

    let o = tillstone(&["barcode", "parse", "6901234567893"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("wrong check digit"), "{}", text(&o));
    assert!(text(&o).contains("bad_check_digit"), "{}", text(&o));
    let (code, v) = parse_json(&["6901234567893"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["kind"], "invalid");
    assert_eq!(v["code"], "bad_check_digit");
}

#[test]
fn barcode_parse_gs1_with_weight_and_a_scale_label() {
    let (code, v) = parse_json(&["(01)09501101530003(3103)001234(10)LOT7"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["kind"], "gs1");
    assert_eq!(v["gtin"], "09501101530003");
    assert_eq!(v["weight_kg"], "1.234");
    assert_eq!(v["batch"], "LOT7");
    // The same as a scanner sends it: AIM identifier and GS separators.
    let (code, v) = parse_json(&["]C101095011015300033103001234"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["symbology"], "gs1_128");
    let o = tillstone(&[
        "barcode",
        "parse",
        "]C1010950110153000310LOT7<GS>3103001234",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("1.234 kg"), "{}", text(&o));
    assert!(text(&o).contains("(10) LOT7"), "{}", text(&o));

    // An 18-digit scale label: flag 22, PLU 12345, 1.234 kg, 16.08 yuan, check digit.
    let (code, v) = parse_json(&["221234501234016088"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["kind"], "weighed");
    assert_eq!(v["item_code"], "12345");
    assert_eq!(v["weight_kg"], "1.234");
    assert_eq!(v["amount"], "16.08");
    let (code, v) = parse_json(&["221234501234016087"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["code"], "bad_check_digit");
}

#[test]
fn barcode_parse_reads_the_store_scan_settings() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().display().to_string();
    let (_, v) = parse_json(&["RC0001-42", "--data", &d]);
    assert_eq!(v["kind"], "receipt", "default receipt prefix RC: {v}");
    std::fs::write(
        dir.path().join("devices.toml"),
        "[scan]\nreceipt_prefix = \"XP\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (_, v) = parse_json(&["RC0001-42", "--data", &d]);
    assert_eq!(v["kind"], "code", "{v}");
    let (_, v) = parse_json(&["XP0001-42", "--data", &d]);
    assert_eq!(v["kind"], "receipt", "{v}");
    assert_eq!(v["receipt_no"], "0001-42");
}

// --- devices check / list --------------------------------------------------------------------

#[test]
fn devices_check_valid_invalid_and_missing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().display().to_string();
    let toml = dir.path().join("devices.toml");

    // Missing: says so and shows an example, which is itself valid.
    let o = tillstone(&["devices", "check", "--data", &d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("no "), "{out}");
    let start = out
        .find("# Receipt printer")
        .unwrap_or_else(|| panic!("{out}"));
    let end = out
        .find("Find the device paths")
        .unwrap_or_else(|| panic!("{out}"));
    std::fs::write(&toml, &out[start..end]).unwrap_or_else(|e| panic!("{e}"));
    let o = tillstone(&["devices", "check", "--data", &d]);
    assert_eq!(o.status.code(), Some(0), "example: {}", text(&o));

    std::fs::write(
        &toml,
        r#"
[printer]
transport = "serial"
path = "/dev/ttyUSB0"
baud = 19200
paper = "mm58"

[scale]
path = "/dev/ttyUSB1"
protocol = "cas_continuous"

[scan]
receipt_prefix = "RC"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = tillstone(&["devices", "check", "--data", &d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains(": OK"), "{out}");
    assert!(out.contains("serial /dev/ttyUSB0, 19200 baud"), "{out}");
    assert!(out.contains("58 mm paper (32 columns)"), "{out}");
    assert!(out.contains("cas_continuous, 9600 baud 8N1"), "{out}");
    assert!(out.contains("not configured: scanner"), "{out}");

    std::fs::write(
        &toml,
        r#"
[printer]
transport = "tcp"
address = "printer.local"
paper = "mm80"

[scanner]
path = "ttyACM0"
baud = 12345

[scale]
path = "/dev/ttyUSB1"
protocol = "toledo8217"

[display]
path = "/dev/ttyUSB1"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = tillstone(&["devices", "check", "--data", &d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("has problems"), "{out}");
    assert!(
        out.contains("  - printer.address \"printer.local\""),
        "{out}"
    );
    assert!(out.contains("12345 is not a standard rate"), "{out}");
    assert!(out.contains("absolute device path"), "{out}");
    assert!(
        out.contains("/dev/ttyUSB1 is assigned to two devices"),
        "{out}"
    );

    std::fs::write(&toml, "[printr]\npath = \"/dev/x\"\n").unwrap_or_else(|e| panic!("{e}"));
    let o = tillstone(&["devices", "check", "--data", &d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("printr"), "{}", text(&o));
}

#[test]
fn devices_list_json_is_json() {
    let o = tillstone(&["devices", "list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let list = v.as_array().unwrap_or_else(|| panic!("an array: {v}"));
    for d in list {
        assert!(d["path"].is_string(), "{d}");
        assert!(d["connection"].is_string(), "{d}");
    }
    let o = tillstone(&["devices", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
