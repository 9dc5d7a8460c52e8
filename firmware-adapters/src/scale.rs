//! Scales: Toledo 8217 family and CAS continuous stream.
//!
//! * **Toledo 8217** (Mettler Toledo 8213/8217 and the many scales emulating them, often
//!   9600 baud 7E1): the till sends `W`; a stable scale answers `STX weight CR`
//!   (e.g. `\x02` `01.234` `\r`); otherwise `STX ? status CR` where the status byte's bits
//!   are 0 = in motion, 1 = over capacity, 2 = under zero, 3 = outside zero capture range.
//!   The weight unit (kg or lb) is a scale setting and must be configured.
//! * **CAS continuous** (CAS PD/ER/DB and compatibles, usually 9600 8N1): the scale streams
//!   lines like `ST,GS,  0.535kg\r\n`; the header is `ST` stable, `US` unstable or `OL`
//!   overload, the second field gross/net, the last field the signed weight with its unit
//!   (`kg`, `g` or `lb`).
//!
//! Weights are returned in kilograms as exact decimals; pounds are converted with
//! 1 lb = 0.45359237 kg and not rounded.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serialport::{ClearBuffer, DataBits, Parity, SerialPort, StopBits};

/// One weight reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "value", rename_all = "snake_case")]
pub enum ScaleReading {
    /// A stable weight in kg (0 for an empty platter).
    Stable(Decimal),
    /// The load is moving; wait and read again.
    Motion,
    /// The load exceeds the scale's capacity.
    OverCapacity,
    /// Below zero (platter lifted, tare removed): re-zero the scale.
    UnderZero,
    /// The scale reported a fault or sent something unusable; the text says what to do.
    Error(String),
}

/// The protocol a scale speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleProtocol {
    Toledo8217,
    CasContinuous,
}

/// Unit of a Toledo reply (CAS lines carry their own unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightUnit {
    Kg,
    Lb,
}

/// Character framing on the serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineFraming {
    /// 7 data bits, even parity, 1 stop bit (Toledo default).
    SevenEvenOne,
    /// 8 data bits, no parity, 1 stop bit (CAS default).
    EightNoneOne,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleConfig {
    pub path: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    pub protocol: ScaleProtocol,
    #[serde(default = "default_unit")]
    pub unit: WeightUnit,
    /// Defaults to 7E1 for Toledo, 8N1 for CAS.
    #[serde(default)]
    pub framing: Option<LineFraming>,
}

fn default_baud() -> u32 {
    9600
}

fn default_unit() -> WeightUnit {
    WeightUnit::Kg
}

#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("cannot open scale port {path}: {source}; check the cable and the device path")]
    Open {
        path: String,
        #[source]
        source: serialport::Error,
    },
    #[error("cannot configure the scale port: {0}")]
    Configure(#[source] serialport::Error),
    #[error("scale port error: {0}; check the cable")]
    Io(#[from] std::io::Error),
    #[error(
        "the scale did not answer within {timeout_ms} ms: check that it is on, its cable, and its protocol setting"
    )]
    NoResponse { timeout_ms: u128 },
}

const STX: u8 = 0x02;
const CR: u8 = b'\r';

fn kg_per_lb() -> Decimal {
    Decimal::new(45_359_237, 8)
}

/// An unsigned decimal of digits with at most one '.', e.g. "01.234".
fn unsigned_decimal(text: &str) -> Option<Decimal> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() && frac.is_empty()
        || int.len() + frac.len() > 18
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n: i64 = format!("{int}{frac}").parse().ok()?;
    Decimal::try_new(n, u32::try_from(frac.len()).ok()?).ok()
}

/// Interpret one Toledo 8217 reply: the bytes between STX and CR. Parity bits are ignored.
pub fn parse_toledo(body: &[u8], unit: WeightUnit) -> ScaleReading {
    let body: Vec<u8> = body.iter().map(|b| b & 0x7F).collect();
    if let [b'?', status, ..] = body.as_slice() {
        return if status & 0b0010 != 0 {
            ScaleReading::OverCapacity
        } else if status & 0b0100 != 0 {
            ScaleReading::UnderZero
        } else if status & 0b0001 != 0 {
            ScaleReading::Motion
        } else if status & 0b1000 != 0 {
            ScaleReading::Error(
                "the scale is outside its zero range: empty the platter and re-zero the scale"
                    .into(),
            )
        } else {
            ScaleReading::Error(format!(
                "the scale sent status 0x{status:02X} without a weight: weigh again"
            ))
        };
    }
    let text = String::from_utf8_lossy(&body);
    match unsigned_decimal(text.trim()) {
        Some(w) => ScaleReading::Stable(match unit {
            WeightUnit::Kg => w,
            WeightUnit::Lb => (w * kg_per_lb()).normalize(),
        }),
        None => ScaleReading::Error(format!(
            "the scale sent \"{}\", which is not a weight: check the scale's protocol setting (Toledo 8217)",
            text.escape_default()
        )),
    }
}

/// Interpret one CAS continuous-stream line (without CR/LF). `None` if the line is not in
/// the CAS format at all (e.g. a partial line).
pub fn parse_cas_line(line: &[u8]) -> Option<ScaleReading> {
    let line = std::str::from_utf8(line).ok()?.trim();
    let mut fields = line.split(',');
    let header = fields.next()?.trim();
    let last = fields.next_back()?.trim();
    match header {
        "OL" => return Some(ScaleReading::OverCapacity),
        "ST" | "US" => {}
        _ => return None,
    }
    let compact: String = last.chars().filter(|c| !c.is_whitespace()).collect();
    let (number, factor) = if let Some(n) = compact.strip_suffix("kg") {
        (n, Decimal::ONE)
    } else if let Some(n) = compact.strip_suffix("lb") {
        (n, kg_per_lb())
    } else if let Some(n) = compact.strip_suffix('g') {
        (n, Decimal::new(1, 3))
    } else {
        return Some(ScaleReading::Error(format!(
            "the scale sent weight \"{}\" without a known unit: set the scale to kg",
            last.escape_default()
        )));
    };
    let (negative, digits) = match number.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    if header == "US" {
        return Some(ScaleReading::Motion);
    }
    let Some(value) = unsigned_decimal(digits) else {
        return Some(ScaleReading::Error(format!(
            "the scale sent weight \"{}\", which is not a number: weigh again",
            last.escape_default()
        )));
    };
    Some(if negative && !value.is_zero() {
        ScaleReading::UnderZero
    } else {
        ScaleReading::Stable((value * factor).normalize())
    })
}

/// A scale on a serial port.
pub struct Scale {
    port: Box<dyn SerialPort>,
    protocol: ScaleProtocol,
    unit: WeightUnit,
}

impl std::fmt::Debug for Scale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scale")
            .field("port", &self.port.name())
            .field("protocol", &self.protocol)
            .field("unit", &self.unit)
            .finish()
    }
}

/// How long one blocking read may wait before the deadline is checked again.
const POLL: Duration = Duration::from_millis(20);

impl Scale {
    /// Open the configured port.
    pub fn open(cfg: &ScaleConfig) -> Result<Self, ScaleError> {
        let framing = cfg.framing.unwrap_or(match cfg.protocol {
            ScaleProtocol::Toledo8217 => LineFraming::SevenEvenOne,
            ScaleProtocol::CasContinuous => LineFraming::EightNoneOne,
        });
        let (bits, parity) = match framing {
            LineFraming::SevenEvenOne => (DataBits::Seven, Parity::Even),
            LineFraming::EightNoneOne => (DataBits::Eight, Parity::None),
        };
        let port = serialport::new(&cfg.path, cfg.baud)
            .data_bits(bits)
            .parity(parity)
            .stop_bits(StopBits::One)
            .timeout(POLL)
            .open()
            .map_err(|source| ScaleError::Open {
                path: cfg.path.clone(),
                source,
            })?;
        Self::new(port, cfg.protocol, cfg.unit)
    }

    /// Use an already-open port.
    pub fn new(
        mut port: Box<dyn SerialPort>,
        protocol: ScaleProtocol,
        unit: WeightUnit,
    ) -> Result<Self, ScaleError> {
        port.set_timeout(POLL).map_err(ScaleError::Configure)?;
        Ok(Self {
            port,
            protocol,
            unit,
        })
    }

    /// Ask for (Toledo) or wait for (CAS) one reading, for at most `timeout`.
    pub fn read_weight(&mut self, timeout: Duration) -> Result<ScaleReading, ScaleError> {
        // Stale replies or stream lines must not be taken for the current weight.
        self.port
            .clear(ClearBuffer::Input)
            .map_err(ScaleError::Configure)?;
        let deadline = Instant::now() + timeout;
        let reading = match self.protocol {
            ScaleProtocol::Toledo8217 => {
                self.port.write_all(b"W")?;
                self.port.flush()?;
                self.read_toledo(deadline)?
            }
            ScaleProtocol::CasContinuous => self.read_cas(deadline)?,
        };
        match reading {
            Some(r) => {
                tracing::debug!(reading = ?r, "scale reading");
                Ok(r)
            }
            None => Err(ScaleError::NoResponse {
                timeout_ms: timeout.as_millis(),
            }),
        }
    }

    /// Read whatever arrives before `deadline`, passing each chunk to `take` until it
    /// returns a reading.
    fn read_until(
        &mut self,
        deadline: Instant,
        mut take: impl FnMut(&[u8]) -> Option<ScaleReading>,
    ) -> Result<Option<ScaleReading>, ScaleError> {
        let mut buf = [0u8; 256];
        while Instant::now() < deadline {
            match self.port.read(&mut buf) {
                Ok(n) => {
                    if let Some(r) = take(buf.get(..n).unwrap_or_default()) {
                        return Ok(Some(r));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    fn read_toledo(&mut self, deadline: Instant) -> Result<Option<ScaleReading>, ScaleError> {
        let unit = self.unit;
        let mut pending: Vec<u8> = Vec::new();
        self.read_until(deadline, |chunk| {
            pending.extend(chunk.iter().map(|b| b & 0x7F));
            let start = pending.iter().position(|&b| b == STX)?;
            let len = pending[start..].iter().position(|&b| b == CR)?;
            Some(parse_toledo(&pending[start + 1..start + len], unit))
        })
    }

    fn read_cas(&mut self, deadline: Instant) -> Result<Option<ScaleReading>, ScaleError> {
        let mut pending: Vec<u8> = Vec::new();
        let mut unrecognised = false;
        let found = self.read_until(deadline, |chunk| {
            pending.extend_from_slice(chunk);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match parse_cas_line(line) {
                    Some(r) => return Some(r),
                    None => unrecognised = true,
                }
            }
            // A stream without line ends is not CAS; do not buffer it forever.
            if pending.len() > 4096 {
                pending.clear();
                unrecognised = true;
            }
            None
        })?;
        Ok(found.or_else(|| {
            unrecognised.then(|| {
                ScaleReading::Error(
                    "the scale sends data this till does not understand: check the scale's protocol setting (CAS continuous)".into(),
                )
            })
        }))
    }
}
