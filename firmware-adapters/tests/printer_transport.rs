//! Printer over real transports: a pseudo-terminal (serial, USB device file), TCP on
//! 127.0.0.1, a plain file; against the virtual printer.

#[path = "printer_virtual.rs"]
mod virt;

use serialport::{SerialPort, TTYPort};
use std::time::Duration;
use tillstone_devices::printer::{PrintOutcome, Printer, PrinterError, PrinterProfile};
use tillstone_devices::receipt::escpos::{DrawerPulse, drawer_kick};
use tillstone_devices::receipt::{Paper, sample};
use tillstone_devices::status::PrinterProblem;
use tillstone_devices::transport::{
    FileTransport, FlowControl, SerialConfig, SerialTransport, TcpTransport, Transport,
    UsbLpTransport,
};
use virt::VirtualPrinter;

fn profile() -> PrinterProfile {
    PrinterProfile {
        status_timeout_ms: 200,
        ..PrinterProfile::new(Paper::Mm80)
    }
}

/// A pty pair: the virtual printer on the master, the slave's path for the transport.
fn pty() -> (VirtualPrinter, TTYPort, String) {
    let (mut master, slave) = TTYPort::pair().expect("pty pair");
    master
        .set_timeout(Duration::from_millis(20))
        .expect("timeout");
    let path = slave.name().expect("slave path");
    (VirtualPrinter::spawn(master), slave, path)
}

fn serial_printer(path: &str) -> Printer {
    let cfg = SerialConfig {
        flow_control: FlowControl::None,
        ..SerialConfig::new(path, 115_200)
    };
    Printer::new(
        Box::new(SerialTransport::open(&cfg).expect("open serial")),
        profile(),
    )
}

#[test]
fn serial_status_print_and_drawer() {
    let (vp, _slave, path) = pty();
    let mut printer = serial_printer(&path);
    let status = printer.status().expect("status");
    assert!(status.online && status.is_ready(), "{status:?}");
    assert_eq!(vp.panel().status_requests, vec![1, 2, 4]);

    let doc = sample::chinese_sale();
    let bytes = printer.encode(&doc).expect("encode");
    let outcome = printer.print(&doc).expect("print");
    assert!(
        matches!(outcome, PrintOutcome::Printed { .. }),
        "{outcome:?}"
    );
    assert!(vp.wait_for(|p| p.printed.len() == 1));
    assert_eq!(vp.panel().printed[0], bytes);

    printer.kick_drawer().expect("kick");
    let kick = drawer_kick(DrawerPulse::default());
    assert!(vp.wait_for(|p| p.received.ends_with(&kick)));
    vp.panel().drawer_open = true;
    assert!(printer.status().expect("status").drawer_open);
}

#[test]
fn serial_problems_are_outcomes_not_errors() {
    let (vp, _slave, path) = pty();
    let mut printer = serial_printer(&path);
    let doc = sample::english_sale();

    vp.panel().paper_out = true;
    let before = vp.panel().received.len();
    assert_eq!(
        printer.print(&doc).expect("print"),
        PrintOutcome::NotPrinted {
            problem: PrinterProblem::PaperOut
        }
    );
    // Only the three status requests went out, no receipt.
    assert_eq!(vp.panel().received.len(), before + 9);

    vp.panel().paper_out = false;
    vp.panel().cover_open = true;
    assert_eq!(
        printer.print(&doc).expect("print"),
        PrintOutcome::NotPrinted {
            problem: PrinterProblem::CoverOpen
        }
    );

    vp.panel().cover_open = false;
    vp.panel().paper_for_jobs = Some(0);
    assert_eq!(
        printer.print(&doc).expect("print"),
        PrintOutcome::Unconfirmed {
            problem: PrinterProblem::PaperOut
        },
        "paper ran out while printing"
    );
    assert_eq!(vp.panel().torn.len(), 1);

    vp.panel().paper_out = false;
    vp.panel().paper_for_jobs = None;
    vp.panel().silent = true;
    assert!(matches!(
        printer.status(),
        Err(PrinterError::NoReply { n: 1, .. })
    ));
    assert_eq!(
        printer.print(&doc).expect("print"),
        PrintOutcome::NotPrinted {
            problem: PrinterProblem::NoReply
        }
    );

    vp.panel().silent = false;
    vp.panel().noise = true;
    assert!(printer.status().expect("noise is skipped").is_ready());
}

#[test]
fn usb_device_file_reads_status_when_it_can() {
    let (vp, _slave, path) = pty();
    let t = UsbLpTransport::open(std::path::Path::new(&path), true).expect("open");
    let mut printer = Printer::new(Box::new(t), profile());
    vp.panel().paper_out = true;
    assert_eq!(
        printer.status().expect("status").problem(),
        Some(PrinterProblem::PaperOut)
    );
    vp.panel().paper_out = false;
    assert!(matches!(
        printer.print(&sample::english_sale()).expect("print"),
        PrintOutcome::Printed { .. }
    ));
    assert!(vp.wait_for(|p| p.printed.len() == 1));

    // A write-only device: status is assumed, nothing is asked.
    let t = UsbLpTransport::open(std::path::Path::new(&path), false).expect("open");
    assert!(!t.supports_status());
    let mut printer = Printer::new(Box::new(t), profile());
    let asked = vp.panel().status_requests.len();
    assert!(printer.status().expect("status").is_ready());
    assert_eq!(vp.panel().status_requests.len(), asked);
}

#[test]
fn tcp_printer_prints_and_reconnects_after_the_connection_drops() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let vp = VirtualPrinter::spawn_tcp(listener);
    let t = TcpTransport::new(addr, Duration::from_secs(1), Duration::from_secs(2));
    let mut printer = Printer::new(Box::new(t), profile());
    let doc = sample::chinese_sale();
    assert!(matches!(
        printer.print(&doc).expect("print"),
        PrintOutcome::Printed { .. }
    ));
    assert!(vp.wait_for(|p| p.printed.len() == 1));
    drop(vp);
    // Nobody listens any more: an error (not a panic, not a hang).
    let err = printer.print(&doc);
    assert!(
        matches!(
            err,
            Err(PrinterError::Transport(_)) | Ok(PrintOutcome::NotPrinted { .. })
        ),
        "{err:?}"
    );
    // The printer comes back on the same address: the next job reconnects.
    let listener = std::net::TcpListener::bind(addr).expect("rebind");
    let vp = VirtualPrinter::spawn_tcp(listener);
    let mut outcome = printer.print(&doc);
    if outcome.is_err() {
        outcome = printer.print(&doc);
    }
    assert!(
        matches!(outcome, Ok(PrintOutcome::Printed { .. })),
        "{outcome:?}"
    );
    assert!(vp.wait_for(|p| p.printed.len() == 1));
}

#[test]
fn tcp_connection_refused_is_an_error_value() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let t = TcpTransport::new(addr, Duration::from_millis(300), Duration::from_secs(1));
    let mut printer = Printer::new(Box::new(t), profile());
    assert!(matches!(printer.status(), Err(PrinterError::Transport(_))));
}

#[test]
fn file_transport_appends_and_is_always_online() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spool.bin");
    let mut printer = Printer::new(Box::new(FileTransport::new(&path)), profile());
    let doc = sample::english_sale();
    let bytes = printer.encode(&doc).expect("encode");
    for _ in 0..2 {
        assert!(matches!(
            printer.print(&doc).expect("print"),
            PrintOutcome::Printed { .. }
        ));
    }
    let written = std::fs::read(&path).expect("read spool");
    assert_eq!(written, [bytes.clone(), bytes].concat());
}

#[test]
fn raster_profile_loads_the_font_and_sends_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spool.bin");
    let profile = PrinterProfile {
        text_mode: tillstone_devices::receipt::escpos::TextMode::Raster,
        ..PrinterProfile::new(Paper::Mm58)
    };
    let mut printer = Printer::new(Box::new(FileTransport::new(&path)), profile);
    let bytes = printer.encode(&sample::chinese_sale()).expect("encode");
    assert!(
        bytes.windows(3).any(|w| w == [0x1D, b'v', b'0']),
        "GS v 0 raster"
    );
    assert!(
        !bytes.windows(2).any(|w| w == [0x1C, b'&']),
        "no Chinese mode"
    );

    let missing = PrinterProfile {
        text_mode: tillstone_devices::receipt::escpos::TextMode::Raster,
        font_path: Some("/nonexistent/font.ttc".into()),
        ..PrinterProfile::new(Paper::Mm58)
    };
    let mut printer = Printer::new(Box::new(FileTransport::new(&path)), missing);
    assert!(matches!(
        printer.print(&sample::chinese_sale()),
        Err(PrinterError::Font(_))
    ));
}
