//! What a scan means: symbology identifiers, GTIN check digits, GS1 element strings and restricted-circulation (weight / price embedded) codes.
//!
//! [`parse`] turns the raw bytes one scan delivered into a [`ScanResult`]. It is pure (no IO,
//! no clock) and total: every input, however garbled, yields a value; a scan that cannot be
//! trusted is [`ScanResult::Invalid`] with a stable [`InvalidCode`] and an actionable message,
//! never a wrong item.
//!
//! Order of interpretation:
//! 1. bytes must be UTF-8; CR/LF/space/tab and the configured prefix/suffix are trimmed;
//! 2. an AIM symbology identifier (`]` + letter + modifier, e.g. `]E0`) is split off and
//!    decides the route; without one the data's shape decides (`(`AI`)` or GS → GS1,
//!    8/12/13/14 digits → GTIN, a configured scale-label shape → scale label, …);
//! 3. EAN/UPC codes are check-digit verified; 13-digit codes claimed by a
//!    [`RcnRule`] become [`ScanResult::Weighed`] / [`ScanResult::Priced`];
//! 4. GS1 element strings are split into AIs, each value validated (length, character set,
//!    dates, check digits) — one bad element rejects the whole scan.

pub mod gs1;
pub mod gtin;
pub mod rcn;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use gs1::{AiFormat, AiSpec, Gs1Element};
pub use rcn::{Measure, MiddleField, RcnRule, ScaleLabelLayout, Span};

use gs1::GS;
use rcn::Internal;

/// Stable machine-readable reason of an [`ScanResult::Invalid`]; serialized in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidCode {
    /// Nothing left after trimming.
    Empty,
    /// The bytes are not UTF-8 (wrong baud rate, code page, line noise).
    NotUtf8,
    /// Control characters inside the data (wrong prefix/suffix setting, noise).
    ControlCharacters,
    /// Longer than [`ScanConfig::max_len`].
    TooLong,
    /// Characters the symbology cannot carry (letters in an EAN, non-ASCII in GS1).
    BadCharacters,
    /// The symbology has a fixed length and the scan does not (usually cut short).
    WrongLength,
    /// GTIN / SSCC / GLN / scale-label check digit mismatch.
    BadCheckDigit,
    /// The price/weight check digit of a restricted-circulation code mismatches.
    BadPriceCheckDigit,
    /// An application identifier not in [`gs1::AI_TABLE`].
    UnknownAi,
    /// An AI value of the wrong length or character set.
    BadAiValue,
    /// An impossible YYMMDD date.
    BadDate,
    /// The same AI twice.
    DuplicateAi,
    /// AIs that must not appear together (two weights, two prices, 01 with 02).
    ConflictingAi,
    /// A GS1 price (393n) in a currency other than [`ScanConfig::currency`].
    ForeignCurrency,
    /// The store's layout configuration does not fit the code.
    BadLayout,
    /// The scanner sent data but no suffix (reported by the scanner reader).
    MissingSuffix,
}

impl InvalidCode {
    /// The stable code as a string (same as its serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::NotUtf8 => "not_utf8",
            Self::ControlCharacters => "control_characters",
            Self::TooLong => "too_long",
            Self::BadCharacters => "bad_characters",
            Self::WrongLength => "wrong_length",
            Self::BadCheckDigit => "bad_check_digit",
            Self::BadPriceCheckDigit => "bad_price_check_digit",
            Self::UnknownAi => "unknown_ai",
            Self::BadAiValue => "bad_ai_value",
            Self::BadDate => "bad_date",
            Self::DuplicateAi => "duplicate_ai",
            Self::ConflictingAi => "conflicting_ai",
            Self::ForeignCurrency => "foreign_currency",
            Self::BadLayout => "bad_layout",
            Self::MissingSuffix => "missing_suffix",
        }
    }
}

/// Why a scan (or a GS1 element string to encode) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} [{}]", code.as_str())]
pub struct Rejection {
    pub code: InvalidCode,
    pub message: String,
}

/// The symbology that produced a scan, from its AIM identifier; `unknown` when the scanner
/// sent none (enable AIM IDs on the scanner for the strictest checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbology {
    /// `]E0`: EAN-13, UPC-A and UPC-E.
    Ean13,
    /// `]E3`: EAN-13/UPC with a 2- or 5-digit add-on.
    Ean13AddOn,
    /// `]E4`.
    Ean8,
    /// `]C0`, `]C2`, `]C4`.
    Code128,
    /// `]C1`.
    #[serde(rename = "gs1_128")]
    Gs1128,
    /// `]A*`.
    Code39,
    /// `]G*`.
    Code93,
    /// `]I*`: Interleaved 2 of 5 / ITF-14.
    Itf,
    /// `]F*`.
    Codabar,
    /// `]e*`.
    Gs1DataBar,
    /// `]d1` and other non-GS1 modifiers.
    DataMatrix,
    /// `]d2`.
    Gs1DataMatrix,
    /// `]Q0`, `]Q1`, `]Q5`, ….
    Qr,
    /// `]Q3`.
    Gs1Qr,
    /// `]L*`.
    Pdf417,
    /// `]z*`.
    Aztec,
    /// An AIM identifier this parser does not name (e.g. `]X0`).
    Other,
    /// No AIM identifier was sent.
    Unknown,
}

impl Symbology {
    /// Map an AIM identifier's code character and modifier; the bool says whether the data
    /// is a GS1 element string.
    pub fn from_aim(code: char, modifier: char) -> (Self, bool) {
        match (code, modifier) {
            ('E', '0') => (Self::Ean13, false),
            ('E', '3') => (Self::Ean13AddOn, false),
            ('E', '4') => (Self::Ean8, false),
            ('C', '1') => (Self::Gs1128, true),
            ('C', _) => (Self::Code128, false),
            ('A', _) => (Self::Code39, false),
            ('G', _) => (Self::Code93, false),
            ('I', _) => (Self::Itf, false),
            ('F', _) => (Self::Codabar, false),
            ('e', _) => (Self::Gs1DataBar, true),
            ('d', '2') => (Self::Gs1DataMatrix, true),
            ('d', _) => (Self::DataMatrix, false),
            ('Q', '3') => (Self::Gs1Qr, true),
            ('Q', _) => (Self::Qr, false),
            ('L', _) => (Self::Pdf417, false),
            ('z', _) => (Self::Aztec, false),
            _ => (Self::Other, false),
        }
    }
}

/// The data format of a GTIN result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GtinFormat {
    Ean13,
    Ean8,
    UpcA,
    /// Scanned as 8-digit UPC-E; the `gtin` is the expanded 12-digit UPC-A.
    UpcE,
    Gtin14,
}

/// What one scan means. Serialized internally tagged: `{"kind": "gtin", …}`; decimals as
/// strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanResult {
    /// A trade item number with a valid check digit, in its natural length (8, 12, 13 or 14
    /// digits; UPC-E expanded to UPC-A). Use [`gtin::to_gtin14`] for look-ups.
    Gtin {
        gtin: String,
        format: GtinFormat,
        symbology: Symbology,
    },
    /// A GS1 element string (GS1-128, GS1 DataMatrix, GS1 QR, DataBar, or typed "(01)…").
    Gs1 {
        /// AI 01, if present (14 digits).
        gtin: Option<String>,
        elements: Vec<Gs1Element>,
        /// From 310n (kg) or 320n (lb, converted exactly with 1 lb = 0.45359237 kg).
        weight_kg: Option<Decimal>,
        /// From 392n (local currency) or 393n (with `currency`).
        price: Option<Decimal>,
        /// ISO 4217 numeric currency of a 393n price.
        currency: Option<String>,
        /// AI 10.
        batch: Option<String>,
        /// AI 17 as YYYY-MM-DD (day 00 → last day of the month).
        expiry: Option<String>,
        /// AI 15 as YYYY-MM-DD (day 00 → last day of the month).
        best_before: Option<String>,
        /// AI 21.
        serial: Option<String>,
        symbology: Symbology,
    },
    /// A store label carrying a weight (restricted-circulation EAN-13 or scale label).
    Weighed {
        item_code: String,
        weight_kg: Decimal,
        /// The amount to pay, when the label prints one (18-digit scale labels).
        amount: Option<Decimal>,
        symbology: Symbology,
    },
    /// A store label carrying the price to pay for this item.
    Priced {
        item_code: String,
        price: Decimal,
        /// Unit price, when the label prints one.
        unit_price: Option<Decimal>,
        symbology: Symbology,
    },
    /// A receipt barcode printed by a till ([`ScanConfig::receipt_prefix`] + number).
    Receipt {
        receipt_no: String,
        symbology: Symbology,
    },
    /// Anything else printable: an internal code, a SKU, a URL.
    Code { text: String, symbology: Symbology },
    /// Not usable; `message` says why and what to do, `data` is the (escaped, shortened)
    /// scan for the log.
    Invalid {
        code: InvalidCode,
        message: String,
        data: String,
    },
}

impl ScanResult {
    /// True for [`ScanResult::Invalid`].
    pub fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid { .. })
    }

    /// The invalid code, if this is [`ScanResult::Invalid`].
    pub fn invalid_code(&self) -> Option<InvalidCode> {
        match self {
            Self::Invalid { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn invalid(code: InvalidCode, message: impl Into<String>, data: &str) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
            data: shown(data),
        }
    }
}

/// How this store's scanners and labels are set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScanConfig {
    /// Stripped from the start of a scan if present (after CR/LF/space trimming).
    pub prefix: String,
    /// Stripped from the end of a scan if present.
    pub suffix: String,
    /// Longest accepted scan in characters (after trimming).
    pub max_len: usize,
    /// Restricted-circulation EAN-13 layouts, first match wins.
    pub restricted: Vec<RcnRule>,
    /// Scale-label layouts (all-digit codes of the layout's length and prefix).
    pub scale_labels: Vec<ScaleLabelLayout>,
    /// Receipt barcodes start with this (None: no receipt barcodes).
    pub receipt_prefix: Option<String>,
    /// ISO 4217 numeric code of the till's currency ("156" = CNY); a 393n price in another
    /// currency is rejected. None accepts any currency (check `currency` yourself).
    pub currency: Option<String>,
    /// Reference year for the GS1 two-digit-year window. Defaults to the current year.
    pub reference_year: u16,
    /// Without an AIM identifier, read 8 digits as UPC-E instead of EAN-8.
    pub eight_digits_as_upc_e: bool,
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            suffix: String::new(),
            max_len: 512,
            restricted: vec![RcnRule::default()],
            scale_labels: vec![ScaleLabelLayout::default()],
            receipt_prefix: Some("RC".into()),
            currency: Some("156".into()),
            reference_year: current_year(),
            eight_digits_as_upc_e: false,
        }
    }
}

/// The current UTC year from the system clock.
pub fn current_year() -> u16 {
    use chrono::Datelike;
    u16::try_from(chrono::Utc::now().year()).unwrap_or(2000)
}

/// The scan, escaped and shortened to 64 characters, for messages and logs.
fn shown(data: &str) -> String {
    data.chars()
        .take(64)
        .collect::<String>()
        .escape_default()
        .to_string()
}

fn is_blank(c: char) -> bool {
    matches!(c, '\r' | '\n' | ' ' | '\t')
}

/// Parse the text of a scan (typed or received); see [`parse`].
pub fn parse_str(text: &str, cfg: &ScanConfig) -> ScanResult {
    parse(text.as_bytes(), cfg)
}

/// Interpret the raw bytes of one scan. Pure and total: never panics, never does IO.
pub fn parse(raw: &[u8], cfg: &ScanConfig) -> ScanResult {
    let result = parse_inner(raw, cfg);
    if let ScanResult::Invalid { code, data, .. } = &result {
        tracing::debug!(code = code.as_str(), data = %data, "scan rejected");
    }
    result
}

fn parse_inner(raw: &[u8], cfg: &ScanConfig) -> ScanResult {
    let Ok(text) = std::str::from_utf8(raw) else {
        return ScanResult::invalid(
            InvalidCode::NotUtf8,
            "the scan is not readable text (garbled bytes): check the scanner's baud rate and interface settings, then scan again",
            &String::from_utf8_lossy(raw),
        );
    };
    let mut text = text.trim_matches(is_blank);
    if !cfg.prefix.is_empty() {
        text = text.strip_prefix(cfg.prefix.as_str()).unwrap_or(text);
    }
    if !cfg.suffix.is_empty() {
        text = text.strip_suffix(cfg.suffix.as_str()).unwrap_or(text);
    }
    let text = text.trim_matches(is_blank);
    if text.is_empty() {
        return ScanResult::invalid(InvalidCode::Empty, "the scan was empty: scan again", text);
    }
    if text.chars().count() > cfg.max_len {
        return ScanResult::invalid(
            InvalidCode::TooLong,
            format!(
                "the scan is longer than {} characters: scan the product barcode again, one code at a time",
                cfg.max_len
            ),
            text,
        );
    }
    let (symbology, is_gs1, data) = split_aim(text);
    let gs_allowed = is_gs1 || symbology == Symbology::Unknown;
    if data
        .chars()
        .any(|c| c.is_control() && !(gs_allowed && c == GS))
    {
        return ScanResult::invalid(
            InvalidCode::ControlCharacters,
            "the scan contains control characters: check the scanner's prefix/suffix settings and scan again",
            text,
        );
    }
    if data.is_empty() {
        return ScanResult::invalid(
            InvalidCode::Empty,
            "the scan carried a symbology identifier but no data: scan again",
            text,
        );
    }
    let outcome = match symbology {
        _ if is_gs1 => gs1_result(data, symbology, cfg),
        Symbology::Ean13 | Symbology::Ean13AddOn | Symbology::Ean8 => {
            ean_result(data, symbology, cfg)
        }
        Symbology::Unknown => unidentified(data, cfg),
        Symbology::Itf if data.len() == 14 && all_digits(data) => {
            gtin_result(data, GtinFormat::Gtin14, symbology)
        }
        _ => other_result(data, symbology, cfg),
    };
    outcome.unwrap_or_else(|r| ScanResult::invalid(r.code, r.message, text))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Split an AIM identifier (`]` + code character + modifier) off the front.
fn split_aim(text: &str) -> (Symbology, bool, &str) {
    let mut chars = text.chars();
    if let (Some(']'), Some(code), Some(modifier)) = (chars.next(), chars.next(), chars.next())
        && code.is_ascii_alphabetic()
        && modifier.is_ascii_alphanumeric()
    {
        let (symbology, gs1) = Symbology::from_aim(code, modifier);
        return (symbology, gs1, &text[3..]);
    }
    (Symbology::Unknown, false, text)
}

fn gtin_result(
    code: &str,
    format: GtinFormat,
    symbology: Symbology,
) -> Result<ScanResult, Rejection> {
    if !gtin::has_valid_check_digit(code) {
        return Err(bad_check(code));
    }
    Ok(ScanResult::Gtin {
        gtin: code.to_string(),
        format,
        symbology,
    })
}

fn bad_check(code: &str) -> Rejection {
    Rejection {
        code: InvalidCode::BadCheckDigit,
        message: format!(
            "barcode {code} has a wrong check digit (misread or damaged label): scan again or type the code"
        ),
    }
}

/// A 13-digit EAN: check digit, then restricted-circulation layouts.
fn ean13(code: &str, symbology: Symbology, cfg: &ScanConfig) -> Result<ScanResult, Rejection> {
    if !gtin::has_valid_check_digit(code) {
        return Err(bad_check(code));
    }
    if let Some(internal) = rcn::decode_rcn(code, &cfg.restricted) {
        return internal.map(|i| internal_result(i, symbology));
    }
    Ok(ScanResult::Gtin {
        gtin: code.to_string(),
        format: GtinFormat::Ean13,
        symbology,
    })
}

fn upc_e(code: &str, symbology: Symbology) -> Result<ScanResult, Rejection> {
    match gtin::expand_upc_e(code) {
        Some(upc_a) => Ok(ScanResult::Gtin {
            gtin: upc_a,
            format: GtinFormat::UpcE,
            symbology,
        }),
        None if !matches!(code.as_bytes().first(), Some(b'0' | b'1')) => Err(Rejection {
            code: InvalidCode::BadCharacters,
            message: format!(
                "UPC-E barcode {code} must start with 0 or 1: scan again or type the code"
            ),
        }),
        None => Err(bad_check(code)),
    }
}

fn internal_result(internal: Internal, symbology: Symbology) -> ScanResult {
    match internal {
        Internal::Weighed {
            item_code,
            weight_kg,
            amount,
        } => ScanResult::Weighed {
            item_code,
            weight_kg,
            amount,
            symbology,
        },
        Internal::Priced {
            item_code,
            price,
            unit_price,
        } => ScanResult::Priced {
            item_code,
            price,
            unit_price,
            symbology,
        },
    }
}

fn wrong_length(data: &str, what: &str) -> Rejection {
    Rejection {
        code: InvalidCode::WrongLength,
        message: format!(
            "the scan has {} digits but {what}: it was cut short or misread, scan again",
            data.len()
        ),
    }
}

/// Data the scanner identified as EAN/UPC.
fn ean_result(data: &str, symbology: Symbology, cfg: &ScanConfig) -> Result<ScanResult, Rejection> {
    if !all_digits(data) {
        return Err(Rejection {
            code: InvalidCode::BadCharacters,
            message: "an EAN/UPC barcode carries only digits but this scan has other characters: scan again".into(),
        });
    }
    match (symbology, data.len()) {
        (Symbology::Ean8, 8) => gtin_result(data, GtinFormat::Ean8, symbology),
        (Symbology::Ean8, _) => Err(wrong_length(data, "an EAN-8 has 8")),
        (Symbology::Ean13AddOn, 15 | 18) => ean13(&data[..13], symbology, cfg),
        (Symbology::Ean13AddOn, _) => Err(wrong_length(data, "an EAN-13 with add-on has 15 or 18")),
        (_, 13) => ean13(data, symbology, cfg),
        (_, 12) => gtin_result(data, GtinFormat::UpcA, symbology),
        (_, 8) => upc_e(data, symbology),
        _ => Err(wrong_length(data, "an EAN-13 has 13 (UPC-A 12, UPC-E 8)")),
    }
}

fn looks_like_bracketed_gs1(data: &str) -> bool {
    let b = data.as_bytes();
    let digits = b.iter().skip(1).take_while(|c| c.is_ascii_digit()).count();
    b.first() == Some(&b'(') && (2..=4).contains(&digits) && b.get(1 + digits) == Some(&b')')
}

/// Data without an AIM identifier: decide by shape.
fn unidentified(data: &str, cfg: &ScanConfig) -> Result<ScanResult, Rejection> {
    let symbology = Symbology::Unknown;
    if data.contains(GS) || looks_like_bracketed_gs1(data) {
        return gs1_result(data, symbology, cfg);
    }
    if all_digits(data) {
        match data.len() {
            8 if cfg.eight_digits_as_upc_e => return upc_e(data, symbology),
            8 => return gtin_result(data, GtinFormat::Ean8, symbology),
            12 => return gtin_result(data, GtinFormat::UpcA, symbology),
            13 => return ean13(data, symbology, cfg),
            14 => return gtin_result(data, GtinFormat::Gtin14, symbology),
            _ => {}
        }
        if let Some(internal) = rcn::decode_scale_label(data, &cfg.scale_labels) {
            return internal.map(|i| internal_result(i, symbology));
        }
        if data.len() >= 16
            && matches!(&data[..2], "00" | "01" | "02")
            && let Ok(result) = gs1_result(data, symbology, cfg)
        {
            return Ok(result);
        }
    }
    other_result(data, symbology, cfg)
}

/// Non-GS1, non-EAN symbologies: scale labels, receipts, plain codes.
fn other_result(
    data: &str,
    symbology: Symbology,
    cfg: &ScanConfig,
) -> Result<ScanResult, Rejection> {
    if all_digits(data)
        && let Some(internal) = rcn::decode_scale_label(data, &cfg.scale_labels)
    {
        return internal.map(|i| internal_result(i, symbology));
    }
    if let Some(prefix) = cfg.receipt_prefix.as_deref().filter(|p| !p.is_empty())
        && let Some(rest) = data.strip_prefix(prefix)
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Ok(ScanResult::Receipt {
            receipt_no: rest.to_string(),
            symbology,
        });
    }
    Ok(ScanResult::Code {
        text: data.to_string(),
        symbology,
    })
}

fn conflict(message: String) -> Rejection {
    Rejection {
        code: InvalidCode::ConflictingAi,
        message,
    }
}

/// 1 lb in kg, exactly (international avoirdupois pound).
fn kg_per_lb() -> Decimal {
    Decimal::new(45_359_237, 8)
}

fn decimal_digit(ai: &str) -> u32 {
    ai.bytes()
        .last()
        .map_or(0, |b| u32::from(b.saturating_sub(b'0')))
}

fn amount(digits: &str, scale: u32, ai: &str) -> Result<Decimal, Rejection> {
    digits
        .parse::<i64>()
        .ok()
        .and_then(|n| Decimal::try_new(n, scale).ok())
        .ok_or_else(|| Rejection {
            code: InvalidCode::BadAiValue,
            message: format!("GS1 field ({ai}) is not a usable number: type the product code"),
        })
}

fn gs1_result(data: &str, symbology: Symbology, cfg: &ScanConfig) -> Result<ScanResult, Rejection> {
    let elements = gs1::parse_elements(data, cfg.reference_year)?;
    let mut seen = std::collections::HashSet::new();
    for e in &elements {
        if !seen.insert(e.ai.as_str()) {
            return Err(Rejection {
                code: InvalidCode::DuplicateAi,
                message: format!(
                    "GS1 barcode contains field ({}) twice: the label is misprinted; type the product code",
                    e.ai
                ),
            });
        }
    }
    let find = |ai: &str| {
        elements
            .iter()
            .find(|e| e.ai == ai)
            .map(|e| e.value.clone())
    };
    let weights: Vec<&Gs1Element> = elements
        .iter()
        .filter(|e| e.ai.starts_with("310") || e.ai.starts_with("320"))
        .collect();
    let prices: Vec<&Gs1Element> = elements
        .iter()
        .filter(|e| e.ai.starts_with("392") || e.ai.starts_with("393"))
        .collect();
    if weights.len() > 1 {
        return Err(conflict(
            "GS1 barcode carries more than one net weight: the label is misprinted; weigh the item instead".into(),
        ));
    }
    if prices.len() > 1 {
        return Err(conflict(
            "GS1 barcode carries more than one price: the label is misprinted; enter the price by hand".into(),
        ));
    }
    if seen.contains("01") && seen.contains("02") {
        return Err(conflict(
            "GS1 barcode carries both a GTIN (01) and a contained GTIN (02): the label is misprinted; type the product code".into(),
        ));
    }
    let weight_kg = match weights.first() {
        Some(e) => {
            let w = amount(&e.value, decimal_digit(&e.ai), &e.ai)?;
            Some(if e.ai.starts_with("320") {
                (w * kg_per_lb()).normalize()
            } else {
                w
            })
        }
        None => None,
    };
    let (price, currency) = match prices.first() {
        Some(e) if e.ai.starts_with("393") => {
            let (iso, digits) = e.value.split_at(3);
            if let Some(local) = cfg.currency.as_deref()
                && iso != local
            {
                return Err(Rejection {
                    code: InvalidCode::ForeignCurrency,
                    message: format!(
                        "GS1 price is in currency {iso}, not this till's {local}: enter the price by hand"
                    ),
                });
            }
            (
                Some(amount(digits, decimal_digit(&e.ai), &e.ai)?),
                Some(iso.to_string()),
            )
        }
        Some(e) => (Some(amount(&e.value, decimal_digit(&e.ai), &e.ai)?), None),
        None => (None, None),
    };
    let year = cfg.reference_year;
    Ok(ScanResult::Gs1 {
        gtin: find("01"),
        weight_kg,
        price,
        currency,
        batch: find("10"),
        expiry: find("17").and_then(|v| gs1::iso_date(&v, year)),
        best_before: find("15").and_then(|v| gs1::iso_date(&v, year)),
        serial: find("21"),
        elements,
        symbology,
    })
}
