//! Store-internal codes: restricted-circulation EAN-13 (prefix 20–29) carrying a weight or a
//! price, and the 18-digit labels printed by Chinese retail scales.
//!
//! Both are configured per store because scales and label printers are set up differently
//! everywhere. Positions are 0-based digit indexes into the scanned code.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::gtin;
use super::{InvalidCode, Rejection};

/// A run of digits inside a code: `len` digits starting at index `start` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub len: usize,
}

impl Span {
    pub const fn new(start: usize, len: usize) -> Self {
        Self { start, len }
    }

    fn get<'a>(&self, code: &'a str) -> Option<&'a str> {
        code.get(self.start..self.start.checked_add(self.len)?)
    }

    fn end(&self) -> usize {
        self.start.saturating_add(self.len)
    }
}

/// What the value field of a restricted-circulation code measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Net weight in kilograms.
    WeightKg,
    /// The price to pay for the item (yuan).
    Price,
}

/// Layout of restricted-circulation EAN-13 codes starting with one of `prefixes`.
///
/// Default (the common Chinese scale "FF IIIII VVVVV C" 13-digit layout):
/// prefixes `20`–`29`, item code = digits 2..7, value = digits 7..12 as a price with 2
/// decimals, no price check digit, digit 12 = EAN-13 check digit.
///
/// A weight layout with a price/weight check digit, "2X IIIII K VVVV C": `prefixes: ["28"]`,
/// `measure: weight_kg`, `item: {start: 2, len: 5}`, `price_check: 7`,
/// `value: {start: 8, len: 4}`, `decimals: 3`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RcnRule {
    /// Leading digits selecting this rule, e.g. `["21", "22"]`.
    pub prefixes: Vec<String>,
    pub measure: Measure,
    pub item: Span,
    pub value: Span,
    /// Decimal places of the value (3 for grams in kg, 2 for fen in yuan).
    pub decimals: u32,
    /// Index of the GS1 price/weight check digit protecting a 4- or 5-digit value, if the
    /// layout has one.
    #[serde(default)]
    pub price_check: Option<usize>,
}

impl Default for RcnRule {
    fn default() -> Self {
        Self {
            prefixes: (20..=29).map(|p| p.to_string()).collect(),
            measure: Measure::Price,
            item: Span::new(2, 5),
            value: Span::new(7, 5),
            decimals: 2,
            price_check: None,
        }
    }
}

/// What the middle field of an 18-digit scale label holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MiddleField {
    /// Net weight in kg with `decimals` places.
    WeightKg { span: Span, decimals: u32 },
    /// Unit price (yuan per kg or per piece) with `decimals` places.
    UnitPrice { span: Span, decimals: u32 },
    /// Not printed / ignored.
    None,
}

/// Layout of the 18-digit labels printed by Chinese retail scales (Dahua, Aclas, …; usually
/// as Code 128).
///
/// Default: `FF IIIII WWWWW AAAAA C`: a two-digit flag starting with `2` (digits 0..2),
/// PLU/item code digits 2..7, net weight in kg with 3 decimals digits 7..12, amount to pay in
/// yuan with 2 decimals digits 12..17, digit 17 = GS1 mod-10 check digit over the first 17.
/// For the `F IIIIII WWWWW AAAAA C` variant (one flag digit, 6-digit PLU) set
/// `item: {start: 1, len: 6}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleLabelLayout {
    /// Leading digits that mark a scale label, e.g. `["2"]`.
    pub prefixes: Vec<String>,
    /// Total length in digits (18 for the usual format).
    pub length: usize,
    pub item: Span,
    pub middle: MiddleField,
    pub amount: Span,
    pub amount_decimals: u32,
    /// Whether the last digit is a GS1 mod-10 check digit over the others.
    pub check_digit: bool,
}

impl Default for ScaleLabelLayout {
    fn default() -> Self {
        Self {
            prefixes: vec!["2".into()],
            length: 18,
            item: Span::new(2, 5),
            middle: MiddleField::WeightKg {
                span: Span::new(7, 5),
                decimals: 3,
            },
            amount: Span::new(12, 5),
            amount_decimals: 2,
            check_digit: true,
        }
    }
}

/// What a store-internal code decoded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Internal {
    Weighed {
        item_code: String,
        weight_kg: Decimal,
        amount: Option<Decimal>,
    },
    Priced {
        item_code: String,
        price: Decimal,
        unit_price: Option<Decimal>,
    },
}

fn bad_layout(what: &str) -> Rejection {
    Rejection {
        code: InvalidCode::BadLayout,
        message: format!(
            "the store's barcode layout does not fit this code ({what}): fix the scan configuration"
        ),
    }
}

fn decimal(digits: &str, scale: u32) -> Option<Decimal> {
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Decimal::try_new(n, scale).ok()
}

fn starts_with_any(code: &str, prefixes: &[String]) -> bool {
    prefixes
        .iter()
        .any(|p| !p.is_empty() && code.starts_with(p.as_str()))
}

/// Decode a 13-digit EAN whose check digit is already verified, if a rule claims it.
pub(crate) fn decode_rcn(code: &str, rules: &[RcnRule]) -> Option<Result<Internal, Rejection>> {
    let rule = rules.iter().find(|r| starts_with_any(code, &r.prefixes))?;
    Some(decode_rule(code, rule))
}

fn decode_rule(code: &str, rule: &RcnRule) -> Result<Internal, Rejection> {
    if rule.item.end() > 12 || rule.value.end() > 12 {
        return Err(bad_layout(
            "a field overlaps the check digit or lies past digit 13",
        ));
    }
    let item_code = rule
        .item
        .get(code)
        .ok_or_else(|| bad_layout("item code out of range"))?;
    let value_digits = rule
        .value
        .get(code)
        .ok_or_else(|| bad_layout("value out of range"))?;
    if let Some(at) = rule.price_check {
        let printed = code
            .as_bytes()
            .get(at)
            .filter(|b| b.is_ascii_digit())
            .map(|b| b - b'0')
            .ok_or_else(|| bad_layout("price check digit out of range"))?;
        let expected = gtin::price_check_digit(value_digits)
            .ok_or_else(|| bad_layout("a price check digit needs a 4- or 5-digit value"))?;
        if printed != expected {
            return Err(Rejection {
                code: InvalidCode::BadPriceCheckDigit,
                message: format!(
                    "the price/weight in label {code} fails its check digit (misprinted or misread): scan again or weigh the item again"
                ),
            });
        }
    }
    let value =
        decimal(value_digits, rule.decimals).ok_or_else(|| bad_layout("value is not a number"))?;
    Ok(match rule.measure {
        Measure::WeightKg => Internal::Weighed {
            item_code: item_code.to_string(),
            weight_kg: value,
            amount: None,
        },
        Measure::Price => Internal::Priced {
            item_code: item_code.to_string(),
            price: value,
            unit_price: None,
        },
    })
}

/// Decode an all-digit scan as a scale label, if a layout claims it.
pub(crate) fn decode_scale_label(
    code: &str,
    layouts: &[ScaleLabelLayout],
) -> Option<Result<Internal, Rejection>> {
    let layout = layouts
        .iter()
        .find(|l| l.length == code.len() && starts_with_any(code, &l.prefixes))?;
    Some(decode_label(code, layout))
}

fn decode_label(code: &str, layout: &ScaleLabelLayout) -> Result<Internal, Rejection> {
    if layout.check_digit && !gtin::has_valid_check_digit(code) {
        return Err(Rejection {
            code: InvalidCode::BadCheckDigit,
            message: format!(
                "scale label {code} has a wrong check digit (misread or damaged label): scan again or weigh the item again"
            ),
        });
    }
    let item_code = layout
        .item
        .get(code)
        .ok_or_else(|| bad_layout("item code out of range"))?
        .to_string();
    let amount = layout
        .amount
        .get(code)
        .and_then(|d| decimal(d, layout.amount_decimals))
        .ok_or_else(|| bad_layout("amount out of range"))?;
    match layout.middle {
        MiddleField::WeightKg { span, decimals } => {
            let weight_kg = span
                .get(code)
                .and_then(|d| decimal(d, decimals))
                .ok_or_else(|| bad_layout("weight out of range"))?;
            Ok(Internal::Weighed {
                item_code,
                weight_kg,
                amount: Some(amount),
            })
        }
        MiddleField::UnitPrice { span, decimals } => {
            let unit_price = span
                .get(code)
                .and_then(|d| decimal(d, decimals))
                .ok_or_else(|| bad_layout("unit price out of range"))?;
            Ok(Internal::Priced {
                item_code,
                price: amount,
                unit_price: Some(unit_price),
            })
        }
        MiddleField::None => Ok(Internal::Priced {
            item_code,
            price: amount,
            unit_price: None,
        }),
    }
}
