//! GS1 element strings: application identifiers (AIs), their formats, dates, and the
//! FNC1-as-GS (0x1D) and human-readable "(01)…(17)…" forms.

use serde::{Deserialize, Serialize};

use super::gtin;
use super::{InvalidCode, Rejection};

/// ASCII group separator: how scanners transmit FNC1 inside a GS1 element string.
pub const GS: char = '\u{1d}';

/// One AI and its value, as found in the barcode.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Gs1Element {
    pub ai: String,
    pub value: String,
}

impl Gs1Element {
    pub fn new(ai: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            ai: ai.into(),
            value: value.into(),
        }
    }
}

/// What the data field of an AI may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiFormat {
    /// Exactly `n` digits.
    Numeric(usize),
    /// Exactly `n` digits, the last one a GS1 mod-10 check digit.
    NumericCheck(usize),
    /// 1 to `max` digits.
    NumericVar(usize),
    /// 1 to `max` characters of GS1 character set 82.
    AlnumVar(usize),
    /// YYMMDD; DD may be 00 ("end of month" / day unknown).
    Date,
    /// YYMMDDHH, optionally followed by MM and SS (AI 8008).
    DateTime,
    /// 3-digit ISO 4217 currency or country code followed by 1 to `max` digits.
    IsoNumeric(usize),
    /// 3-digit ISO country code followed by 1 to `max` characters of set 82.
    IsoAlnum(usize),
}

/// The definition of one application identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AiSpec {
    /// The AI; a trailing `n` stands for the decimal-point digit 0–9 (e.g. `310n`).
    pub pattern: &'static str,
    /// Highest allowed `n` for decimal-indicator AIs.
    pub max_decimals: u8,
    pub format: AiFormat,
    pub title: &'static str,
}

impl AiSpec {
    /// Length of the AI itself (2, 3 or 4 digits).
    pub fn ai_len(&self) -> usize {
        self.pattern.len()
    }

    /// Whether `ai` (exactly the AI digits) is an instance of this spec.
    pub fn matches(&self, ai: &str) -> bool {
        if ai.len() != self.pattern.len() || !ai.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        self.pattern.bytes().zip(ai.bytes()).all(|(p, a)| {
            if p == b'n' {
                a - b'0' <= self.max_decimals
            } else {
                p == a
            }
        })
    }

    /// Fixed data length, if the AI has one.
    pub fn fixed_len(&self) -> Option<usize> {
        match self.format {
            AiFormat::Numeric(n) | AiFormat::NumericCheck(n) => Some(n),
            AiFormat::Date => Some(6),
            _ => None,
        }
    }

    /// Whether GS1 predefines the element's total length, so no FNC1 follows it.
    pub fn predefined_length(&self) -> bool {
        matches!(
            &self.pattern.as_bytes()[..2],
            b"00"
                | b"01"
                | b"02"
                | b"03"
                | b"04"
                | b"11"
                | b"12"
                | b"13"
                | b"14"
                | b"15"
                | b"16"
                | b"17"
                | b"18"
                | b"19"
                | b"20"
                | b"31"
                | b"32"
                | b"33"
                | b"34"
                | b"35"
                | b"36"
                | b"41"
        )
    }
}

const fn ai(pattern: &'static str, format: AiFormat, title: &'static str) -> AiSpec {
    AiSpec {
        pattern,
        max_decimals: 0,
        format,
        title,
    }
}

const fn ai_dec(pattern: &'static str, max: u8, format: AiFormat, title: &'static str) -> AiSpec {
    AiSpec {
        pattern,
        max_decimals: max,
        format,
        title,
    }
}

use AiFormat::{AlnumVar, Date, DateTime, IsoAlnum, IsoNumeric, Numeric, NumericCheck, NumericVar};

/// The AIs this parser understands. Anything else is rejected as unknown rather than guessed.
pub const AI_TABLE: &[AiSpec] = &[
    ai("00", NumericCheck(18), "SSCC"),
    ai("01", NumericCheck(14), "GTIN"),
    ai("02", NumericCheck(14), "CONTENT"),
    ai("10", AlnumVar(20), "BATCH/LOT"),
    ai("11", Date, "PROD DATE"),
    ai("12", Date, "DUE DATE"),
    ai("13", Date, "PACK DATE"),
    ai("15", Date, "BEST BEFORE"),
    ai("16", Date, "SELL BY"),
    ai("17", Date, "USE BY"),
    ai("20", Numeric(2), "VARIANT"),
    ai("21", AlnumVar(20), "SERIAL"),
    ai("22", AlnumVar(20), "CPV"),
    ai("235", AlnumVar(28), "TPX"),
    ai("240", AlnumVar(30), "ADDITIONAL ID"),
    ai("241", AlnumVar(30), "CUST. PART No."),
    ai("242", NumericVar(6), "MTO VARIANT"),
    ai("243", AlnumVar(20), "PCN"),
    ai("250", AlnumVar(30), "SECONDARY SERIAL"),
    ai("251", AlnumVar(30), "REF. TO SOURCE"),
    ai("254", AlnumVar(20), "GLN EXTENSION COMPONENT"),
    ai("30", NumericVar(8), "VAR. COUNT"),
    ai_dec("310n", 5, Numeric(6), "NET WEIGHT (kg)"),
    ai_dec("311n", 5, Numeric(6), "LENGTH (m)"),
    ai_dec("312n", 5, Numeric(6), "WIDTH (m)"),
    ai_dec("313n", 5, Numeric(6), "HEIGHT (m)"),
    ai_dec("314n", 5, Numeric(6), "AREA (m2)"),
    ai_dec("315n", 5, Numeric(6), "NET VOLUME (l)"),
    ai_dec("316n", 5, Numeric(6), "NET VOLUME (m3)"),
    ai_dec("320n", 5, Numeric(6), "NET WEIGHT (lb)"),
    ai_dec("330n", 5, Numeric(6), "GROSS WEIGHT (kg)"),
    ai_dec("340n", 5, Numeric(6), "GROSS WEIGHT (lb)"),
    ai("37", NumericVar(8), "COUNT"),
    ai_dec("390n", 9, NumericVar(15), "AMOUNT"),
    ai_dec("391n", 9, IsoNumeric(15), "AMOUNT (ISO)"),
    ai_dec("392n", 9, NumericVar(15), "PRICE"),
    ai_dec("393n", 9, IsoNumeric(15), "PRICE (ISO)"),
    ai("400", AlnumVar(30), "ORDER NUMBER"),
    ai("401", AlnumVar(30), "GINC"),
    ai("402", NumericCheck(17), "GSIN"),
    ai("403", AlnumVar(30), "ROUTE"),
    ai("410", NumericCheck(13), "SHIP TO LOC"),
    ai("411", NumericCheck(13), "BILL TO"),
    ai("412", NumericCheck(13), "PURCHASE FROM"),
    ai("413", NumericCheck(13), "SHIP FOR LOC"),
    ai("414", NumericCheck(13), "LOC No."),
    ai("415", NumericCheck(13), "PAY TO"),
    ai("416", NumericCheck(13), "PROD/SERV LOC"),
    ai("417", NumericCheck(13), "PARTY"),
    ai("420", AlnumVar(20), "SHIP TO POST"),
    ai("421", IsoAlnum(9), "SHIP TO POST (ISO)"),
    ai("422", Numeric(3), "ORIGIN"),
    ai("7003", Numeric(10), "EXPIRY TIME"),
    ai("7006", Date, "FIRST FREEZE DATE"),
    ai("8005", Numeric(6), "PRICE PER UNIT"),
    ai("8008", DateTime, "PROD TIME"),
    ai("8020", AlnumVar(25), "REF No."),
    ai("90", AlnumVar(30), "INTERNAL"),
    ai("91", AlnumVar(90), "INTERNAL"),
    ai("92", AlnumVar(90), "INTERNAL"),
    ai("93", AlnumVar(90), "INTERNAL"),
    ai("94", AlnumVar(90), "INTERNAL"),
    ai("95", AlnumVar(90), "INTERNAL"),
    ai("96", AlnumVar(90), "INTERNAL"),
    ai("97", AlnumVar(90), "INTERNAL"),
    ai("98", AlnumVar(90), "INTERNAL"),
    ai("99", AlnumVar(90), "INTERNAL"),
];

/// The spec of exactly this AI (e.g. "3103"), if known.
pub fn ai_spec(ai: &str) -> Option<&'static AiSpec> {
    AI_TABLE.iter().find(|s| s.matches(ai))
}

/// Find the AI at the start of `data`: the spec and the AI digits.
fn leading_ai(data: &str) -> Option<(&'static AiSpec, &str)> {
    (2..=4).find_map(|n| {
        let candidate = data.get(..n)?;
        ai_spec(candidate).map(|spec| (spec, candidate))
    })
}

/// GS1 character set 82 (the characters allowed in alphanumeric AI values).
pub fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

fn reject(code: InvalidCode, message: String) -> Rejection {
    Rejection { code, message }
}

/// Days in a month of a four-digit year.
pub(crate) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Four-digit year of a two-digit GS1 year, by the GS1 sliding window (7.12): 49 years back
/// and 50 years ahead of `reference_year`.
pub fn resolve_year(yy: u32, reference_year: u16) -> u32 {
    let reference = u32::from(reference_year);
    let century = reference / 100 * 100;
    let diff = i64::from(yy) - i64::from(reference % 100);
    if diff >= 51 {
        century.saturating_sub(100) + yy
    } else if diff <= -50 {
        century + 100 + yy
    } else {
        century + yy
    }
}

fn two(s: &str, at: usize) -> Option<u32> {
    s.get(at..at + 2)?.parse().ok()
}

/// A validated GS1 date: (year, month, day) with day 0 meaning "no day given".
fn parse_date(
    ai: &str,
    value: &str,
    reference_year: u16,
    allow_day_zero: bool,
) -> Result<(u32, u32, u32), Rejection> {
    let bad = || {
        reject(
            InvalidCode::BadDate,
            format!(
                "GS1 date ({ai}) {value} is not a valid YYMMDD date: the label is misprinted; type the product code instead"
            ),
        )
    };
    let (Some(yy), Some(mm), Some(dd)) = (two(value, 0), two(value, 2), two(value, 4)) else {
        return Err(bad());
    };
    let year = resolve_year(yy, reference_year);
    if !(1..=12).contains(&mm) {
        return Err(bad());
    }
    if dd == 0 && !allow_day_zero {
        return Err(bad());
    }
    if dd > days_in_month(year, mm) {
        return Err(bad());
    }
    Ok((year, mm, dd))
}

/// ISO "YYYY-MM-DD" of a GS1 date; a day of 00 becomes the last day of the month.
pub(crate) fn iso_date(value: &str, reference_year: u16) -> Option<String> {
    let (y, m, d) = parse_date("", value, reference_year, true).ok()?;
    let d = if d == 0 { days_in_month(y, m) } else { d };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Check that `value` is a valid data field for `ai` (whose spec is `spec`).
pub fn validate_value(
    spec: &AiSpec,
    ai: &str,
    value: &str,
    reference_year: u16,
) -> Result<(), Rejection> {
    let bad = |what: &str| {
        reject(
            InvalidCode::BadAiValue,
            format!(
                "GS1 field ({ai}) \"{}\" {what}: the barcode is damaged or misprinted; scan again or type the product code",
                value.escape_default()
            ),
        )
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match spec.format {
        AiFormat::Numeric(n) => {
            if value.len() != n || !digits(value) {
                return Err(bad(&format!("must be exactly {n} digits")));
            }
        }
        AiFormat::NumericCheck(n) => {
            if value.len() != n || !digits(value) {
                return Err(bad(&format!("must be exactly {n} digits")));
            }
            if !gtin::has_valid_check_digit(value) {
                return Err(reject(
                    InvalidCode::BadCheckDigit,
                    format!(
                        "GS1 field ({ai}) {value} has a wrong check digit (misread or damaged label): scan again or type the code"
                    ),
                ));
            }
        }
        AiFormat::NumericVar(max) => {
            if value.len() > max || !digits(value) {
                return Err(bad(&format!("must be 1 to {max} digits")));
            }
        }
        AiFormat::AlnumVar(max) => {
            if value.is_empty() || value.len() > max || !value.chars().all(is_cset82) {
                return Err(bad(&format!(
                    "must be 1 to {max} letters, digits or GS1 punctuation"
                )));
            }
        }
        AiFormat::Date => {
            if value.len() != 6 || !digits(value) {
                return Err(bad("must be a 6-digit YYMMDD date"));
            }
            parse_date(ai, value, reference_year, true)?;
        }
        AiFormat::DateTime => {
            if !matches!(value.len(), 8 | 10 | 12) || !digits(value) {
                return Err(bad("must be YYMMDDHH with optional minutes and seconds"));
            }
            parse_date(ai, value, reference_year, false)?;
            let hh = two(value, 6).unwrap_or(99);
            let mm = two(value, 8).unwrap_or(0);
            let ss = two(value, 10).unwrap_or(0);
            if hh > 23 || mm > 59 || ss > 59 {
                return Err(reject(
                    InvalidCode::BadDate,
                    format!(
                        "GS1 date-time ({ai}) {value} has an impossible time: the label is misprinted; type the product code instead"
                    ),
                ));
            }
        }
        AiFormat::IsoNumeric(max) => {
            if value.len() < 4 || value.len() > 3 + max || !digits(value) {
                return Err(bad(&format!(
                    "must be a 3-digit ISO code followed by 1 to {max} digits"
                )));
            }
        }
        AiFormat::IsoAlnum(max) => {
            let (iso, rest) = value.split_at(value.len().min(3));
            if !digits(iso)
                || iso.len() != 3
                || rest.is_empty()
                || rest.len() > max
                || !rest.chars().all(is_cset82)
            {
                return Err(bad(&format!(
                    "must be a 3-digit ISO code followed by 1 to {max} characters"
                )));
            }
        }
    }
    Ok(())
}

fn unknown_ai(data: &str) -> Rejection {
    let shown: String = data.chars().take(4).collect();
    reject(
        InvalidCode::UnknownAi,
        format!(
            "GS1 barcode uses an application identifier this till does not know (data starts \"{}\"): type the product code instead",
            shown.escape_default()
        ),
    )
}

/// Parse an element string with FNC1 sent as GS (a leading FNC1/GS is tolerated).
pub fn parse_elements(data: &str, reference_year: u16) -> Result<Vec<Gs1Element>, Rejection> {
    if !data.is_ascii() {
        return Err(reject(
            InvalidCode::BadCharacters,
            "GS1 barcode contains non-ASCII characters: the scan is garbled, scan again".into(),
        ));
    }
    if let Some(rest) = data.strip_prefix('(') {
        return parse_human_readable(rest, reference_year);
    }
    let mut elements = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(GS) {
            rest = r;
            continue;
        }
        let (spec, ai) = leading_ai(rest).ok_or_else(|| unknown_ai(rest))?;
        rest = &rest[ai.len()..];
        let value = match spec.fixed_len() {
            Some(n) => {
                let Some(v) = rest.get(..n) else {
                    return Err(reject(
                        InvalidCode::WrongLength,
                        format!(
                            "GS1 field ({ai}) needs {n} characters but the scan ends after {}: the scan was cut short, scan again",
                            rest.len()
                        ),
                    ));
                };
                v
            }
            None => rest.split(GS).next().unwrap_or(""),
        };
        validate_value(spec, ai, value, reference_year)?;
        elements.push(Gs1Element::new(ai, value));
        rest = &rest[value.len()..];
    }
    if elements.is_empty() {
        return Err(reject(
            InvalidCode::Empty,
            "GS1 barcode carries no data: scan again".into(),
        ));
    }
    Ok(elements)
}

/// Position of the next "(AI)" (2–4 digits in parentheses) in `s`.
fn next_bracketed_ai(s: &str) -> Option<(usize, &str)> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|t| t.find('(')) {
        let start = from + p;
        let digits = bytes[start + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if (2..=4).contains(&digits) && bytes.get(start + 1 + digits) == Some(&b')') {
            return Some((start, &s[start + 1..start + 1 + digits]));
        }
        from = start + 1;
    }
    None
}

/// Parse the human-readable form; `rest` is the input after its first '('.
fn parse_human_readable(rest: &str, reference_year: u16) -> Result<Vec<Gs1Element>, Rejection> {
    let full = format!("({rest}");
    let mut elements = Vec::new();
    let mut cursor = full.as_str();
    while !cursor.is_empty() {
        let Some((0, ai)) = next_bracketed_ai(cursor) else {
            return Err(reject(
                InvalidCode::BadAiValue,
                format!(
                    "GS1 text \"{}\" is not in the (AI)value form: type it again",
                    full.escape_default()
                ),
            ));
        };
        let spec = ai_spec(ai).ok_or_else(|| unknown_ai(ai))?;
        let after = &cursor[ai.len() + 2..];
        let end = next_bracketed_ai(after).map_or(after.len(), |(i, _)| i);
        let value = &after[..end];
        validate_value(spec, ai, value, reference_year)?;
        elements.push(Gs1Element::new(ai, value));
        cursor = &after[end..];
    }
    Ok(elements)
}

/// Build the element string a GS1 barcode would carry (without the leading FNC1): GS after
/// every element whose length GS1 does not predefine, except the last.
pub fn encode(elements: &[Gs1Element], reference_year: u16) -> Result<String, Rejection> {
    let mut out = String::new();
    for (i, e) in elements.iter().enumerate() {
        let spec = ai_spec(&e.ai).ok_or_else(|| unknown_ai(&e.ai))?;
        validate_value(spec, &e.ai, &e.value, reference_year)?;
        out.push_str(&e.ai);
        out.push_str(&e.value);
        if i + 1 < elements.len() && !spec.predefined_length() {
            out.push(GS);
        }
    }
    Ok(out)
}

/// The human-readable "(01)…(17)…" form.
pub fn to_human_readable(elements: &[Gs1Element]) -> String {
    elements
        .iter()
        .map(|e| format!("({}){}", e.ai, e.value))
        .collect()
}
