//! Real-time printer status: the one-byte replies to `DLE EOT n` (standard ESC/POS layout).
//!
//! Every reply has bit 1 and bit 4 set and bits 0 and 7 clear; a byte that does not is not a
//! status reply (e.g. a stray ASB byte or line noise) and is returned as an error value.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Which `DLE EOT n` request a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusKind {
    /// n = 1: printer status (drawer pin 3, online/offline).
    Printer = 1,
    /// n = 2: offline cause (cover, feed button, paper end, error).
    Offline = 2,
    /// n = 3: error cause (mechanical, autocutter, unrecoverable, auto-recoverable).
    Error = 3,
    /// n = 4: roll paper sensor (near end, end).
    Paper = 4,
}

impl StatusKind {
    pub fn n(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StatusError {
    #[error("byte {byte:#04x} is not a reply to DLE EOT {n} (fixed bits wrong)")]
    NotAStatusReply { n: u8, byte: u8 },
}

const FIXED_MASK: u8 = 0b1001_0011;
const FIXED_VALUE: u8 = 0b0001_0010;

/// One decoded reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusReply {
    Printer {
        /// Drawer kick-out connector pin 3 is high.
        drawer_pin3_high: bool,
        offline: bool,
        waiting_for_recovery: bool,
    },
    Offline {
        cover_open: bool,
        feed_button: bool,
        paper_end_stop: bool,
        error: bool,
    },
    Error {
        mechanical: bool,
        autocutter: bool,
        unrecoverable: bool,
        auto_recoverable: bool,
    },
    Paper {
        near_end: bool,
        paper_out: bool,
    },
}

/// Decode the reply byte to `DLE EOT n`.
pub fn parse_reply(kind: StatusKind, byte: u8) -> Result<StatusReply, StatusError> {
    if byte & FIXED_MASK != FIXED_VALUE {
        return Err(StatusError::NotAStatusReply { n: kind.n(), byte });
    }
    let bit = |n: u8| byte & (1 << n) != 0;
    Ok(match kind {
        StatusKind::Printer => StatusReply::Printer {
            drawer_pin3_high: bit(2),
            offline: bit(3),
            waiting_for_recovery: bit(5),
        },
        StatusKind::Offline => StatusReply::Offline {
            cover_open: bit(2),
            feed_button: bit(3),
            paper_end_stop: bit(5),
            error: bit(6),
        },
        StatusKind::Error => StatusReply::Error {
            mechanical: bit(2),
            autocutter: bit(3),
            unrecoverable: bit(5),
            auto_recoverable: bit(6),
        },
        // Near end and paper end are each reported on two bits (one per sensor of some
        // models); either set counts.
        StatusKind::Paper => StatusReply::Paper {
            near_end: bit(2) || bit(3),
            paper_out: bit(5) || bit(6),
        },
    })
}

/// What the cashier needs to know about the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PrinterStatus {
    pub online: bool,
    pub cover_open: bool,
    pub paper_out: bool,
    pub paper_near_end: bool,
    pub drawer_open: bool,
    pub error: bool,
}

/// Why a printer cannot print now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterProblem {
    /// No answer to a status request (unplugged, powered off, wrong port).
    NoReply,
    CoverOpen,
    PaperOut,
    /// Offline for another reason (feed button held, recovering).
    Offline,
    Error,
}

impl PrinterProblem {
    /// Stable code stored with a pending job.
    pub fn code(self) -> &'static str {
        match self {
            PrinterProblem::NoReply => "no_reply",
            PrinterProblem::CoverOpen => "cover_open",
            PrinterProblem::PaperOut => "paper_out",
            PrinterProblem::Offline => "offline",
            PrinterProblem::Error => "error",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            PrinterProblem::NoReply,
            PrinterProblem::CoverOpen,
            PrinterProblem::PaperOut,
            PrinterProblem::Offline,
            PrinterProblem::Error,
        ]
        .into_iter()
        .find(|p| p.code() == code)
    }

    /// What the cashier reads.
    pub fn message_zh(self) -> &'static str {
        match self {
            PrinterProblem::NoReply => "打印机无响应：请检查电源和连接线",
            PrinterProblem::CoverOpen => "打印机盖未关好",
            PrinterProblem::PaperOut => "打印机缺纸：请更换纸卷",
            PrinterProblem::Offline => "打印机离线",
            PrinterProblem::Error => "打印机故障：请关机重启",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            PrinterProblem::NoReply => "printer does not answer: check power and cable",
            PrinterProblem::CoverOpen => "printer cover is open",
            PrinterProblem::PaperOut => "printer is out of paper: load a new roll",
            PrinterProblem::Offline => "printer is offline",
            PrinterProblem::Error => "printer error: switch it off and on",
        }
    }
}

impl PrinterStatus {
    /// A printer without status read-back (a file, a write-only device): assumed ready.
    pub fn assumed_online() -> Self {
        PrinterStatus {
            online: true,
            ..Default::default()
        }
    }

    /// Combine the replies to `DLE EOT 1`, `2` and `4`. `drawer_open_when_high` says how the
    /// drawer's switch is wired (pin 3 high = open for most drawers).
    pub fn from_replies(replies: &[StatusReply], drawer_open_when_high: bool) -> Self {
        let mut s = PrinterStatus {
            online: true,
            ..Default::default()
        };
        for r in replies {
            match *r {
                StatusReply::Printer {
                    drawer_pin3_high,
                    offline,
                    ..
                } => {
                    s.drawer_open = drawer_pin3_high == drawer_open_when_high;
                    s.online &= !offline;
                }
                StatusReply::Offline {
                    cover_open,
                    paper_end_stop,
                    error,
                    ..
                } => {
                    s.cover_open |= cover_open;
                    s.paper_out |= paper_end_stop;
                    s.error |= error;
                }
                StatusReply::Error {
                    mechanical,
                    autocutter,
                    unrecoverable,
                    auto_recoverable,
                } => {
                    s.error |= mechanical || autocutter || unrecoverable || auto_recoverable;
                }
                StatusReply::Paper {
                    near_end,
                    paper_out,
                } => {
                    s.paper_near_end |= near_end;
                    s.paper_out |= paper_out;
                }
            }
        }
        s
    }

    /// The first reason the printer cannot print, if any (paper near end is only a warning).
    pub fn problem(&self) -> Option<PrinterProblem> {
        if self.cover_open {
            Some(PrinterProblem::CoverOpen)
        } else if self.paper_out {
            Some(PrinterProblem::PaperOut)
        } else if self.error {
            Some(PrinterProblem::Error)
        } else if !self.online {
            Some(PrinterProblem::Offline)
        } else {
            None
        }
    }

    pub fn is_ready(&self) -> bool {
        self.problem().is_none()
    }
}
