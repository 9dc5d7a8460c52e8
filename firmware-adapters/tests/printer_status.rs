//! `DLE EOT n` replies → PrinterStatus.

use proptest::prelude::*;
use tillstone_devices::status::{
    PrinterProblem, PrinterStatus, StatusError, StatusKind, StatusReply, parse_reply,
};

#[test]
fn fixed_bits_are_validated() {
    // 0x12 = bits 1 and 4: the idle reply of every kind.
    for kind in [
        StatusKind::Printer,
        StatusKind::Offline,
        StatusKind::Error,
        StatusKind::Paper,
    ] {
        assert!(parse_reply(kind, 0x12).is_ok());
        for bad in [0x00, 0x13, 0x02, 0x10, 0x92, 0xFF, b'A'] {
            assert_eq!(
                parse_reply(kind, bad),
                Err(StatusError::NotAStatusReply {
                    n: kind.n(),
                    byte: bad
                }),
                "{bad:#x}"
            );
        }
    }
}

#[test]
fn bits_map_to_the_status_fields() {
    assert_eq!(
        parse_reply(StatusKind::Printer, 0x12 | 0x08 | 0x04),
        Ok(StatusReply::Printer {
            drawer_pin3_high: true,
            offline: true,
            waiting_for_recovery: false
        })
    );
    assert_eq!(
        parse_reply(StatusKind::Offline, 0x12 | 0x04 | 0x20),
        Ok(StatusReply::Offline {
            cover_open: true,
            feed_button: false,
            paper_end_stop: true,
            error: false
        })
    );
    assert_eq!(
        parse_reply(StatusKind::Paper, 0x12 | 0x0C),
        Ok(StatusReply::Paper {
            near_end: true,
            paper_out: false
        })
    );
    assert_eq!(
        parse_reply(StatusKind::Paper, 0x12 | 0x60),
        Ok(StatusReply::Paper {
            near_end: false,
            paper_out: true
        })
    );
    assert_eq!(
        parse_reply(StatusKind::Error, 0x12 | 0x08),
        Ok(StatusReply::Error {
            mechanical: false,
            autocutter: true,
            unrecoverable: false,
            auto_recoverable: false
        })
    );
}

fn status(b1: u8, b2: u8, b4: u8) -> PrinterStatus {
    let replies = [
        parse_reply(StatusKind::Printer, b1).expect("1"),
        parse_reply(StatusKind::Offline, b2).expect("2"),
        parse_reply(StatusKind::Paper, b4).expect("4"),
    ];
    PrinterStatus::from_replies(&replies, true)
}

#[test]
fn combined_status_and_problem_for_the_cashier() {
    let ok = status(0x12, 0x12, 0x12);
    assert_eq!(
        ok,
        PrinterStatus {
            online: true,
            ..Default::default()
        }
    );
    assert!(ok.is_ready());
    let near_end = status(0x12, 0x12, 0x1E);
    assert!(
        near_end.paper_near_end && near_end.is_ready(),
        "near end only warns"
    );
    let paper_out = status(0x1A, 0x32, 0x72);
    assert!(paper_out.paper_out && !paper_out.online);
    assert_eq!(paper_out.problem(), Some(PrinterProblem::PaperOut));
    let cover = status(0x1A, 0x16, 0x12);
    assert_eq!(cover.problem(), Some(PrinterProblem::CoverOpen));
    let offline = status(0x1A, 0x12, 0x12);
    assert_eq!(offline.problem(), Some(PrinterProblem::Offline));
    let error = status(0x1A, 0x52, 0x12);
    assert_eq!(error.problem(), Some(PrinterProblem::Error));
    let drawer = status(0x16, 0x12, 0x12);
    assert!(drawer.drawer_open && drawer.is_ready());
    // Drawer wired the other way round.
    let replies = [parse_reply(StatusKind::Printer, 0x16).expect("1")];
    assert!(!PrinterStatus::from_replies(&replies, false).drawer_open);
    for p in [
        PrinterProblem::NoReply,
        PrinterProblem::CoverOpen,
        PrinterProblem::PaperOut,
        PrinterProblem::Offline,
        PrinterProblem::Error,
    ] {
        assert_eq!(PrinterProblem::from_code(p.code()), Some(p));
        assert!(!p.message_zh().is_empty() && !p.message_en().is_empty());
    }
}

proptest! {
    #[test]
    fn any_byte_parses_or_is_rejected_without_panicking(byte in any::<u8>(), n in 1u8..=4) {
        let kind = [StatusKind::Printer, StatusKind::Offline, StatusKind::Error, StatusKind::Paper][n as usize - 1];
        match parse_reply(kind, byte) {
            Ok(r) => {
                prop_assert_eq!(byte & 0x93, 0x12);
                let s = PrinterStatus::from_replies(&[r], true);
                let _ = s.problem();
            }
            Err(StatusError::NotAStatusReply { n: got, byte: b }) => {
                prop_assert_ne!(byte & 0x93, 0x12);
                prop_assert_eq!((got, b), (n, byte));
            }
        }
    }
}
