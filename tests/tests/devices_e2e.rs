//! The customer display, the scale and a serial scanner, wired to a real terminal over
//! pseudo-terminals: the display follows the sale, the scale weighs, the scanner's scans reach
//! the till.

use rust_decimal::Decimal;
use serialport::{SerialPort, TTYPort};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tillstone_core::tender::TenderKind;
use tillstone_devices::scale::ScaleReading;
use tillstone_devices::scan::ScanResult;
use tillstone_devices::scanner::ScannerEvent;
use tillstone_terminal::app::ScanOutcome;

fn pty() -> (TTYPort, TTYPort, String) {
    let (master, slave) = TTYPort::pair().expect("pty pair");
    let path = slave.name().expect("pty name");
    (master, slave, path)
}

/// Everything the display receives, in the background.
fn capture(mut port: TTYPort) -> Arc<Mutex<Vec<u8>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&seen);
    port.set_timeout(Duration::from_millis(50))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        loop {
            match port.read(&mut buf) {
                Ok(n) if n > 0 => out.lock().expect("lock").extend_from_slice(&buf[..n]),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    });
    seen
}

/// A Toledo 8217 scale: answers `W` with a stable 1.250 kg.
fn toledo(mut port: TTYPort) {
    port.set_timeout(Duration::from_millis(50))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 16];
        loop {
            match port.read(&mut buf) {
                Ok(n) if buf[..n].contains(&b'W') => {
                    let _ = port.write_all(b"\x0201.250\r");
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return,
            }
        }
    });
}

fn wait_for(seen: &Mutex<Vec<u8>>, needle: &[u8]) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if seen
            .lock()
            .expect("lock")
            .windows(needle.len())
            .any(|w| w == needle)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn display_scale_and_scanner_follow_the_sale() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (display_master, _display_slave, display_path) = pty();
    let (scale_master, _scale_slave, scale_path) = pty();
    let (mut scanner_master, _scanner_slave, scanner_path) = pty();
    std::fs::write(
        dir.path().join("devices.toml"),
        format!(
            "[display]\npath = \"{display_path}\"\n\n[scale]\npath = \"{scale_path}\"\nprotocol = \"toledo8217\"\n\n[scanner]\npath = \"{scanner_path}\"\nsuffix = \"cr\"\n"
        ),
    )
    .expect("devices.toml");
    let shown = capture(display_master);
    toledo(scale_master);

    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    let code = tillstone_tests::piece_barcodes(&t, 1)
        .expect("codes")
        .remove(0);

    // The scanner's scan reaches the till, parsed.
    let first = t
        .next_scan(&s, Duration::from_millis(100))
        .expect("scanner opens");
    assert_eq!(first, None, "nothing scanned yet");
    scanner_master
        .write_all(format!("{code}\r").as_bytes())
        .expect("scan");
    match t.next_scan(&s, Duration::from_secs(5)).expect("scan") {
        Some(ScannerEvent::Scan {
            result: ScanResult::Gtin { gtin, .. },
        }) => assert_eq!(gtin, code),
        other => panic!("expected the scan, got {other:?}"),
    }

    // Scanning shows the item and the total on the display.
    let cart = t.new_cart(&s).expect("cart");
    let product = match t.scan(&s, &cart.cart_id, &code, None).expect("scan") {
        ScanOutcome::Added { product, .. } => product,
        other => panic!("{other:?}"),
    };
    assert!(wait_for(&shown, b"TOTAL"), "the display shows the total");
    let name: String = product.name_en.chars().take(8).collect();
    assert!(
        wait_for(&shown, name.as_bytes()),
        "the display shows {name}"
    );

    // The scale weighs.
    assert_eq!(
        t.read_scale(&s).expect("scale"),
        ScaleReading::Stable(Decimal::new(1250, 3))
    );

    // Paying cash shows the change.
    t.add_tender(
        &s,
        &cart.cart_id,
        TenderKind::Cash,
        Some(Decimal::from(100)),
        None,
    )
    .expect("cash");
    t.complete(&s, &cart.cart_id).expect("complete");
    assert!(wait_for(&shown, b"CHANGE"), "the display shows the change");
}
