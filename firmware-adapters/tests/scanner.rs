//! Scanner framing and reading over real pseudo-terminals.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serialport::TTYPort;
use tillstone_devices::scan::{GtinFormat, InvalidCode, ScanConfig, ScanResult, Symbology};
use tillstone_devices::scanner::{
    Frame, Framer, ScannerConfig, ScannerEvent, ScannerReader, Suffix,
};

fn config() -> ScannerConfig {
    ScannerConfig {
        scan: ScanConfig {
            reference_year: 2026,
            ..ScanConfig::default()
        },
        ..ScannerConfig::default()
    }
}

fn scans(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| match f {
            Frame::Scan(b) => String::from_utf8_lossy(b).into_owned(),
            Frame::Overlong { len } => format!("<overlong {len}>"),
            Frame::Unterminated(b) => format!("<unterminated {}>", String::from_utf8_lossy(b)),
        })
        .collect()
}

#[test]
fn framer_splits_partial_and_multiple_reads() {
    let mut f = Framer::new(&config());
    let t = Instant::now();
    assert!(f.push(b"]E06901", t).is_empty());
    assert_eq!(f.pending(), 7);
    let out = f.push(b"234567892\r]E496385074\r\r\n\x00\r690", t);
    assert_eq!(scans(&out), ["]E06901234567892", "]E496385074"]);
    assert_eq!(scans(&f.push(b"12\r", t)), ["69012"]);
}

#[test]
fn framer_crlf_prefix_overlong_and_idle() {
    let t = Instant::now();
    let mut crlf = Framer::new(&ScannerConfig {
        suffix: Suffix::CrLf,
        ..config()
    });
    assert_eq!(
        scans(&crlf.push(b"6901234567892\r\n96385074\r\n", t)),
        ["6901234567892\r", "96385074\r"]
    );

    let mut pre = Framer::new(&ScannerConfig {
        prefix: "@#".into(),
        ..config()
    });
    assert_eq!(
        scans(&pre.push(b"noise@#6901234567892\rjunk\r@", t)),
        ["6901234567892"]
    );
    assert_eq!(scans(&pre.push(b"#96385074\r", t)), ["96385074"]);

    let mut small = Framer::new(&ScannerConfig {
        max_frame: 16,
        ..config()
    });
    let mut input = vec![b'A'; 40];
    input.extend_from_slice(b"\r96385074\r");
    assert_eq!(scans(&small.push(&input, t)), ["<overlong 16>", "96385074"]);

    let mut idle = Framer::new(&ScannerConfig {
        suffix: Suffix::None,
        idle_timeout_ms: 80,
        ..config()
    });
    assert!(idle.push(b"690123456", t).is_empty());
    assert!(idle.push(b"7892", t + Duration::from_millis(30)).is_empty());
    assert_eq!(idle.poll(t + Duration::from_millis(100)), None);
    assert_eq!(
        idle.poll(t + Duration::from_millis(110)),
        Some(Frame::Scan(b"6901234567892".to_vec()))
    );
    assert_eq!(idle.poll(t + Duration::from_millis(500)), None);

    let mut missing = Framer::new(&config());
    assert!(missing.push(b"6901234", t).is_empty());
    assert_eq!(missing.poll(t + Duration::from_millis(99)), None);
    let frame = missing.poll(t + Duration::from_millis(100));
    assert_eq!(frame, Some(Frame::Unterminated(b"6901234".to_vec())));
    assert_eq!(
        frame.map(|f| f.to_result(&config().scan).invalid_code()),
        Some(Some(InvalidCode::MissingSuffix))
    );
}

fn expect_scan(reader: &ScannerReader) -> ScanResult {
    match reader.next_event(Duration::from_secs(3)) {
        Some(ScannerEvent::Scan { result }) => result,
        other => panic!("expected a scan, got {other:?}"),
    }
}

fn write_chunks(port: &mut impl Write, chunks: &[&[u8]]) {
    for c in chunks {
        port.write_all(c).unwrap_or_else(|e| panic!("write: {e}"));
        port.flush().unwrap_or_else(|e| panic!("flush: {e}"));
        std::thread::sleep(Duration::from_millis(15));
    }
}

#[test]
fn reader_on_a_pty_pair_yields_parsed_scans_and_stops() {
    let (mut scanner_end, till_end) = TTYPort::pair().unwrap_or_else(|e| panic!("pty: {e}"));
    let reader =
        ScannerReader::spawn(Box::new(till_end), config()).unwrap_or_else(|e| panic!("spawn: {e}"));
    write_chunks(
        &mut scanner_end,
        &[
            b"]E069012",
            b"34567892\r]E49638",
            b"5074\r\r\n]E06901234567893\r",
            b"210123402537009977\r",
        ],
    );
    assert_eq!(
        expect_scan(&reader),
        ScanResult::Gtin {
            gtin: "6901234567892".into(),
            format: GtinFormat::Ean13,
            symbology: Symbology::Ean13
        }
    );
    assert_eq!(
        expect_scan(&reader),
        ScanResult::Gtin {
            gtin: "96385074".into(),
            format: GtinFormat::Ean8,
            symbology: Symbology::Ean8
        }
    );
    assert_eq!(
        expect_scan(&reader).invalid_code(),
        Some(InvalidCode::BadCheckDigit)
    );
    assert!(matches!(
        expect_scan(&reader),
        ScanResult::Weighed { ref item_code, .. } if item_code == "01234"
    ));
    assert_eq!(reader.next_event(Duration::from_millis(200)), None);

    let started = Instant::now();
    reader.stop();
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn reader_reports_a_closed_port() {
    let (scanner_end, till_end) = TTYPort::pair().unwrap_or_else(|e| panic!("pty: {e}"));
    let reader =
        ScannerReader::spawn(Box::new(till_end), config()).unwrap_or_else(|e| panic!("spawn: {e}"));
    drop(scanner_end);
    match reader.next_event(Duration::from_secs(3)) {
        Some(ScannerEvent::Disconnected { message }) => {
            assert!(
                message.starts_with("the scanner stopped responding"),
                "{message}"
            )
        }
        other => panic!("expected a disconnect, got {other:?}"),
    }
}

/// A socat-made virtual serial cable with two named ends; killed on drop.
struct Socat {
    child: Child,
    _dir: tempfile::TempDir,
    a: String,
    b: String,
}

impl Socat {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let a = dir.path().join("scanner").display().to_string();
        let b = dir.path().join("till").display().to_string();
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={a}"))
            .arg(format!("pty,raw,echo=0,link={b}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("socat: {e}"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(Path::new(&a).exists() && Path::new(&b).exists()) {
            assert!(Instant::now() < deadline, "socat did not create its ptys");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            child,
            _dir: dir,
            a,
            b,
        }
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn reader_opened_by_path_through_socat_with_prefix_and_idle_suffix() {
    let socat = Socat::start();
    let mut scanner_end = serialport::new(&socat.a, 115_200)
        .timeout(Duration::from_millis(100))
        .open()
        .unwrap_or_else(|e| panic!("open {}: {e}", socat.a));
    let reader = ScannerReader::open(ScannerConfig {
        path: socat.b.clone(),
        baud: 115_200,
        prefix: "\u{2}".into(),
        suffix: Suffix::None,
        idle_timeout_ms: 60,
        ..config()
    })
    .unwrap_or_else(|e| panic!("open reader: {e}"));
    write_chunks(&mut scanner_end, &[b"xx\x02]C1010950", b"1101530003"]);
    std::thread::sleep(Duration::from_millis(150));
    write_chunks(&mut scanner_end, &[b"\x02RC0001-42"]);
    match expect_scan(&reader) {
        ScanResult::Gs1 { gtin, .. } => assert_eq!(gtin.as_deref(), Some("09501101530003")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        expect_scan(&reader),
        ScanResult::Receipt {
            receipt_no: "0001-42".into(),
            symbology: Symbology::Unknown
        }
    );
    reader.stop();
}

#[test]
fn opening_a_missing_device_is_an_error() {
    let err = ScannerReader::open(ScannerConfig {
        path: "/dev/does-not-exist-tillstone".into(),
        ..config()
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.starts_with("cannot open scanner port /dev/does-not-exist-tillstone"),
        "{err}"
    );
}
