//! A receipt printer: a [`Transport`] plus a [`PrinterProfile`].

use crate::receipt::escpos::{self, DrawerPulse, EncodeError, EncodeOptions, QrEc, TextMode};
use crate::receipt::font::{CjkFont, FontError};
use crate::receipt::{Paper, ReceiptDoc, layout};
use crate::status::{PrinterProblem, PrinterStatus, StatusKind, StatusReply, parse_reply};
use crate::transport::{Transport, TransportError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use thiserror::Error;

/// What differs between printer models and installations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterProfile {
    pub paper: Paper,
    /// `gb18030` for printers with a Chinese font, `raster` for those without.
    #[serde(default)]
    pub text_mode: TextMode,
    /// CJK font for raster mode; none = search the usual font paths.
    #[serde(default)]
    pub font_path: Option<PathBuf>,
    #[serde(default = "qr_module")]
    pub qr_module: u8,
    #[serde(default)]
    pub qr_ec: QrEc,
    #[serde(default = "feed")]
    pub feed_before_cut: u8,
    #[serde(default = "yes")]
    pub cut: bool,
    #[serde(default)]
    pub drawer: DrawerPulse,
    /// Drawer switch wiring: pin 3 high means open (most drawers).
    #[serde(default = "yes")]
    pub drawer_open_when_high: bool,
    /// How long to wait for each status reply.
    #[serde(default = "status_timeout_ms")]
    pub status_timeout_ms: u64,
    /// Pause after writing a receipt before the post-print status check, so a paper end
    /// reached while printing shows.
    #[serde(default)]
    pub settle_ms: u64,
}

fn qr_module() -> u8 {
    6
}
fn feed() -> u8 {
    4
}
fn yes() -> bool {
    true
}
fn status_timeout_ms() -> u64 {
    500
}

impl PrinterProfile {
    pub fn new(paper: Paper) -> Self {
        PrinterProfile {
            paper,
            text_mode: TextMode::Gb18030,
            font_path: None,
            qr_module: match paper {
                Paper::Mm58 => 5,
                Paper::Mm80 => 6,
            },
            qr_ec: QrEc::M,
            feed_before_cut: feed(),
            cut: true,
            drawer: DrawerPulse::default(),
            drawer_open_when_high: true,
            status_timeout_ms: status_timeout_ms(),
            settle_ms: 0,
        }
    }
}

#[derive(Debug, Error)]
pub enum PrinterError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("printer did not answer status request DLE EOT {n} within {timeout_ms} ms")]
    NoReply { n: u8, timeout_ms: u64 },
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Font(#[from] FontError),
}

/// The result of a print attempt. Only `Printed` means the customer has the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrintOutcome {
    /// Written, and the printer reports ready afterwards.
    Printed { status: PrinterStatus },
    /// Not sent: the printer was not ready.
    NotPrinted { problem: PrinterProblem },
    /// Sent, but the printer reported a problem afterwards (e.g. paper ran out while printing):
    /// the receipt may be incomplete and should be printed again.
    Unconfirmed { problem: PrinterProblem },
}

pub struct Printer {
    transport: Box<dyn Transport>,
    profile: PrinterProfile,
    font: Option<CjkFont>,
}

impl Printer {
    pub fn new(transport: Box<dyn Transport>, profile: PrinterProfile) -> Self {
        Printer {
            transport,
            profile,
            font: None,
        }
    }

    pub fn profile(&self) -> &PrinterProfile {
        &self.profile
    }

    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    fn read_reply(&mut self, kind: StatusKind) -> Result<StatusReply, PrinterError> {
        let timeout = Duration::from_millis(self.profile.status_timeout_ms);
        let deadline = Instant::now() + timeout;
        self.transport
            .write_all(&escpos::status_request(kind.n()))?;
        let mut buf = [0u8; 1];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.transport.read_timeout(&mut buf, left)? == 0 {
                return Err(PrinterError::NoReply {
                    n: kind.n(),
                    timeout_ms: self.profile.status_timeout_ms,
                });
            }
            match parse_reply(kind, buf[0]) {
                Ok(r) => return Ok(r),
                // Not a status byte (noise, an automatic status block): keep listening.
                Err(e) => tracing::debug!(error = %e, "ignored byte from printer"),
            }
        }
    }

    /// Ask the printer: `DLE EOT 1`, `2` and `4` (and `3` when an error is flagged). A
    /// transport without read-back reports [`PrinterStatus::assumed_online`]; a printer that
    /// does not answer gives [`PrinterError::NoReply`].
    pub fn status(&mut self) -> Result<PrinterStatus, PrinterError> {
        if !self.transport.supports_status() {
            return Ok(PrinterStatus::assumed_online());
        }
        self.transport.discard_input()?;
        let mut replies = Vec::with_capacity(4);
        for kind in [StatusKind::Printer, StatusKind::Offline, StatusKind::Paper] {
            let r = self.read_reply(kind)?;
            let error_flag = matches!(r, StatusReply::Offline { error: true, .. });
            replies.push(r);
            if error_flag {
                replies.push(self.read_reply(StatusKind::Error)?);
            }
        }
        let status = PrinterStatus::from_replies(&replies, self.profile.drawer_open_when_high);
        tracing::debug!(?status, printer = %self.transport.describe(), "printer status");
        Ok(status)
    }

    /// Status as a print decision: `Ok(None)` = ready.
    fn problem(&mut self) -> Result<Option<PrinterProblem>, PrinterError> {
        match self.status() {
            Ok(s) => Ok(s.problem()),
            Err(PrinterError::NoReply { .. }) => Ok(Some(PrinterProblem::NoReply)),
            Err(e) => Err(e),
        }
    }

    /// The ESC/POS bytes of a receipt with this printer's profile.
    pub fn encode(&mut self, doc: &ReceiptDoc) -> Result<Vec<u8>, PrinterError> {
        if self.profile.text_mode == TextMode::Raster && self.font.is_none() {
            self.font = Some(CjkFont::load(self.profile.font_path.as_deref())?);
        }
        let lay = layout(doc, self.profile.paper);
        let opts = EncodeOptions {
            text_mode: self.profile.text_mode,
            font: self.font.as_ref(),
            qr_module: self.profile.qr_module,
            qr_ec: self.profile.qr_ec,
            feed_before_cut: self.profile.feed_before_cut,
            cut: self.profile.cut,
            ..EncodeOptions::default()
        };
        Ok(escpos::encode(&lay, &opts)?)
    }

    /// Check status, print the receipt, check status again.
    pub fn print(&mut self, doc: &ReceiptDoc) -> Result<PrintOutcome, PrinterError> {
        let bytes = self.encode(doc)?;
        self.print_bytes(&bytes)
    }

    /// Check status, write the bytes, check status again.
    pub fn print_bytes(&mut self, bytes: &[u8]) -> Result<PrintOutcome, PrinterError> {
        if let Some(problem) = self.problem()? {
            tracing::warn!(?problem, printer = %self.transport.describe(), "not printing");
            return Ok(PrintOutcome::NotPrinted { problem });
        }
        self.transport.write_all(bytes)?;
        if self.profile.settle_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.profile.settle_ms));
        }
        match self.status() {
            Ok(status) => match status.problem() {
                None => {
                    tracing::info!(bytes = bytes.len(), "receipt printed");
                    Ok(PrintOutcome::Printed { status })
                }
                Some(problem) => {
                    tracing::warn!(?problem, "printer reported a problem after printing");
                    Ok(PrintOutcome::Unconfirmed { problem })
                }
            },
            Err(PrinterError::NoReply { .. }) => Ok(PrintOutcome::Unconfirmed {
                problem: PrinterProblem::NoReply,
            }),
            Err(e) => Err(e),
        }
    }

    /// Open the cash drawer (`ESC p m t1 t2` with this profile's pulse).
    pub fn kick_drawer(&mut self) -> Result<(), PrinterError> {
        self.transport
            .write_all(&escpos::drawer_kick(self.profile.drawer))?;
        tracing::info!("cash drawer kicked");
        Ok(())
    }
}
