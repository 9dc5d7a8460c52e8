//! Receipts from a real terminal to a virtual ESC/POS printer on a pseudo-terminal: every
//! committed sale prints once, a paper-out holds the queue (the cashier sees why) and the
//! receipt prints when paper is back; the drawer opens for cash; previews are PNG.

#[path = "../../firmware-adapters/tests/printer_virtual.rs"]
mod printer_virtual;

use printer_virtual::VirtualPrinter;
use rust_decimal::Decimal;
use std::time::{Duration, Instant};
use tillstone_core::tender::TenderKind;
use tillstone_terminal::app::{ScanOutcome, Session, Terminal};

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn wait(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sell(t: &Terminal, s: &Session, code: &str, kind: TenderKind) -> String {
    let cart = t.new_cart(s).expect("cart");
    match t.scan(s, &cart.cart_id, code, None).expect("scan") {
        ScanOutcome::Added { .. } => {}
        other => panic!("scan: {other:?}"),
    }
    let reference = (kind != TenderKind::Cash).then(|| "T-1".to_string());
    t.add_tender(s, &cart.cart_id, kind, None, reference)
        .expect("tender");
    t.complete(s, &cart.cart_id)
        .expect("complete")
        .sale
        .ctx
        .receipt_no
}

/// A virtual ESC/POS printer on a pseudo-terminal: the printer, our end of the slave (keep it
/// open for the whole test so the master never sees a hang-up) and the slave's path.
fn virtual_printer() -> (VirtualPrinter, serialport::TTYPort, String) {
    let (master, slave) = serialport::TTYPort::pair().expect("pty pair");
    let path = serialport::SerialPort::name(&slave).expect("pty name");
    (VirtualPrinter::spawn(master), slave, path)
}

/// devices.toml with one 80 mm serial printer at `path`.
fn printer_toml(path: &str) -> String {
    format!(
        "[printer]\ntransport = \"serial\"\npath = \"{path}\"\nbaud = 115200\nflow_control = \"none\"\npaper = \"mm80\"\n"
    )
}

#[test]
fn receipts_print_once_through_paper_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (printer, _slave, slave_path) = virtual_printer();
    std::fs::write(dir.path().join("devices.toml"), printer_toml(&slave_path))
        .expect("devices.toml");

    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    assert!(t.start_devices(), "the printer worker starts");
    let code = tillstone_tests::piece_barcodes(&t, 1)
        .expect("codes")
        .remove(0);

    // A cash sale prints its receipt and opens the drawer (ESC p).
    let first = sell(&t, &s, &code, TenderKind::Cash);
    wait("the first receipt", || {
        count(&printer.panel().received, first.as_bytes()) > 0
    });
    // The drawer opens for cash, before the receipt prints.
    wait("the drawer kick", || {
        count(&printer.panel().received, &[0x1b, b'p']) > 0
    });
    {
        let p = printer.panel();
        let kick = p.received.windows(2).position(|w| w == [0x1b, b'p']);
        let receipt = p
            .received
            .windows(first.len())
            .position(|w| w == first.as_bytes());
        assert!(
            kick < receipt,
            "drawer before receipt: {kick:?} vs {receipt:?}"
        );
    }
    let per_receipt = {
        let p = printer.panel();
        assert!(
            count(&p.received, &[0x1b, b'p']) >= 1,
            "drawer kicked for cash"
        );
        assert!(
            count(&p.received, &gb18030("销售小票")) == 1,
            "Chinese title in GB18030"
        );
        assert!(
            count(&p.received, &[0x1d, b'V', 66]) == 1,
            "partial cut GS V 66"
        );
        count(&p.received, first.as_bytes())
    };

    // Paper runs out: the next receipt waits, and the cashier is told why.
    printer.panel().paper_out = true;
    let second = sell(&t, &s, &code, TenderKind::Card);
    wait("the paper-out problem", || {
        t.printer(&s)
            .expect("printer")
            .last_problem
            .is_some_and(|p| p.code == "paper_out")
    });
    let view = t.printer(&s).expect("printer");
    assert_eq!(view.pending.len(), 1);
    assert!(
        view.pending[0]
            .problem
            .as_ref()
            .is_some_and(|p| !p.message_zh.is_empty())
    );
    assert_eq!(count(&printer.panel().received, second.as_bytes()), 0);

    // Paper back: it prints, exactly once, and the queue empties.
    printer.panel().paper_out = false;
    wait("the second receipt", || {
        count(&printer.panel().received, second.as_bytes()) >= per_receipt
            && t.printer(&s).expect("printer").pending.is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        count(&printer.panel().received, second.as_bytes()),
        per_receipt
    );
    assert_eq!(
        count(&printer.panel().received, first.as_bytes()),
        per_receipt
    );

    // Reprint makes a new job of the same receipt.
    t.reprint(&s, &first).expect("reprint");
    wait("the reprint", || {
        count(&printer.panel().received, first.as_bytes()) == 2 * per_receipt
    });

    // The preview is the same layout as a PNG image.
    let png = t.receipt_png(&s, &first, None, None).expect("preview");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("receipt-preview-zh.png");
    std::fs::write(&out, &png).expect("save preview");
    let en = t
        .receipt_png(
            &s,
            &first,
            Some(tillstone_devices::receipt::Paper::Mm58),
            Some(tillstone_core::settings::Language::En),
        )
        .expect("english preview");
    std::fs::write(out.with_file_name("receipt-preview-en-58.png"), &en).expect("save preview");
    let _ = Decimal::ZERO;
}

#[test]
fn the_print_worker_prunes_jobs_printed_more_than_a_week_ago() {
    use tillstone_devices::queue::{JobPayload, PrintQueue};
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    let (_printer, _slave, slave_path) = virtual_printer();
    std::fs::write(dir.path().join("devices.toml"), printer_toml(&slave_path))
        .expect("devices.toml");
    // Yesterday's queue as a till leaves it: jobs printed 30, 8 and 2 days ago.
    let queue_path = dir.path().join(tillstone_terminal::devices::QUEUE_FILE);
    {
        let q = PrintQueue::open(&queue_path).expect("queue");
        let conn = rusqlite::Connection::open(&queue_path).expect("queue db");
        for (job, days) in [("old", 30), ("last-week", 8), ("recent", 2)] {
            q.enqueue(
                job,
                "2025-01-01T00:00:00Z",
                &JobPayload::Bytes(b"x".to_vec()),
            )
            .expect("enqueue");
            let at = (chrono::Utc::now() - chrono::Duration::days(days))
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            conn.execute(
                "UPDATE print_jobs SET state = 'done', updated_at = ?2 WHERE job_id = ?1",
                rusqlite::params![job, at],
            )
            .expect("age");
        }
    }

    let (t, _s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    assert!(t.start_devices(), "the printer worker starts");
    let jobs = || -> Vec<String> {
        PrintQueue::open(&queue_path)
            .expect("queue")
            .jobs()
            .expect("jobs")
            .into_iter()
            .map(|j| j.job_id)
            .collect()
    };
    wait("the week-old printed jobs to be pruned", || {
        jobs() == vec!["recent".to_string()]
    });
}

#[test]
fn a_devices_toml_saved_on_the_devices_screen_is_used_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    tillstone_tests::init_demo(dir.path()).expect("demo");
    // Two virtual printers: the till starts with none configured.
    let printers = [virtual_printer(), virtual_printer()];
    let (t, s) = tillstone_tests::cashier_with_shift(dir.path()).expect("terminal");
    assert!(!t.start_devices(), "no printer configured yet");
    let installer = t.login("7001", "7777").expect("installer");
    let code = tillstone_tests::piece_barcodes(&t, 1)
        .expect("codes")
        .remove(0);

    // The installer saves a printer: the next receipt prints, no restart.
    let view = t
        .save_devices_config(&installer, &printer_toml(&printers[0].2))
        .expect("saved");
    assert!(!view.restart_required, "in use at once");
    assert!(view.printer.configured);
    let first = sell(&t, &s, &code, TenderKind::Card);
    wait("the receipt on the first printer, done", || {
        count(&printers[0].0.panel().received, first.as_bytes()) > 0
            && t.printer(&s).is_ok_and(|p| p.pending.is_empty())
    });

    // Moved to another printer: the next receipt goes there, none to the old one.
    t.save_devices_config(&installer, &printer_toml(&printers[1].2))
        .expect("saved");
    let second = sell(&t, &s, &code, TenderKind::Card);
    wait("the receipt on the second printer, done", || {
        count(&printers[1].0.panel().received, second.as_bytes()) > 0
            && t.printer(&s).is_ok_and(|p| p.pending.is_empty())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&printers[0].0.panel().received, second.as_bytes()), 0);
    assert_eq!(count(&printers[1].0.panel().received, first.as_bytes()), 0);

    // Saving the same file again restarts the devices on it: printing goes on, once per sale
    // (a receipt carries its number more than once: the text and the QR code).
    let once = count(&printers[1].0.panel().received, second.as_bytes());
    let view = t
        .save_devices_config(&installer, &printer_toml(&printers[1].2))
        .expect("saved");
    assert!(!view.restart_required);
    let third = sell(&t, &s, &code, TenderKind::Card);
    wait("the third receipt", || {
        count(&printers[1].0.panel().received, third.as_bytes()) > 0
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        count(&printers[1].0.panel().received, second.as_bytes()),
        once
    );
    assert_eq!(
        count(&printers[1].0.panel().received, third.as_bytes()),
        once
    );
}
