//! Catalog items as the till sees them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How an item is sold: by the piece, or weighed (decimal quantity in kg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Piece,
    Kg,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Piece => "piece",
            Unit::Kg => "kg",
        }
    }

    pub fn parse(s: &str) -> Option<Unit> {
        match s.trim().to_ascii_lowercase().as_str() {
            "piece" | "pc" | "pcs" | "ea" | "each" | "件" | "个" => Some(Unit::Piece),
            "kg" | "kilogram" | "公斤" | "千克" => Some(Unit::Kg),
            _ => None,
        }
    }

    /// Decimal places allowed in a quantity of this unit (grams for kg).
    pub fn quantity_scale(self) -> u32 {
        match self {
            Unit::Piece => 0,
            Unit::Kg => 3,
        }
    }
}

/// A product with its tax rate resolved from its tax class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub barcodes: Vec<String>,
    #[serde(default)]
    pub category: String,
    pub tax_class: String,
    /// Tax rate as a fraction: 0.13 for 13 % VAT.
    pub tax_rate: Decimal,
    #[serde(default)]
    pub unit: Unit,
    /// Shelf price per unit (per piece or per kg).
    pub price: Decimal,
}

/// A tax class and its rate (fraction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxClass {
    pub code: String,
    pub rate: Decimal,
    #[serde(default)]
    pub name: String,
}

/// Decimal places of a shelf price.
pub const PRICE_DECIMALS: u32 = 2;
/// Longest SKU, barcode or tax class code, in characters.
pub const MAX_CODE_CHARS: usize = 64;
/// Highest shelf price in minor units (`money::MAX_AMOUNT` in fen).
pub const MAX_PRICE_MINOR: i64 = 9_999_999_999;

/// A shelf price as typed in a file: digits, optionally a dot and at most 2 decimals (more only
/// if they are zeros); returned in minor units. The message says what is wrong and how to fix it.
pub fn parse_price(raw: &str) -> Result<i64, String> {
    let s = raw.trim();
    let shown: String = s.chars().take(40).collect();
    if s.starts_with('-') {
        return Err(format!("price {shown:?} is negative"));
    }
    if s.contains(',') {
        return Err(format!(
            "price {shown:?} has a comma: write decimals with a dot and no thousands separators, e.g. 12.50"
        ));
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
        return Err(format!(
            "price {shown:?} is not a plain number like 12.50 (no currency sign or spaces)"
        ));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > PRICE_DECIMALS as usize {
        return Err(format!(
            "price {shown:?} has more than {PRICE_DECIMALS} decimal places"
        ));
    }
    let int = int.trim_start_matches('0');
    if int.len() > 13 {
        return Err(format!("price {shown:?} is too large"));
    }
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse()
            .map_err(|_| format!("price {shown:?} is too large"))?
    };
    let mut cents: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        cents += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .filter(|m| *m <= MAX_PRICE_MINOR)
        .ok_or_else(|| format!("price {shown:?} is too large"))
}

/// A barcode as typed in a file: printable ASCII without spaces or `|`, at most
/// [`MAX_CODE_CHARS`], and not a number a spreadsheet turned into `6.9E+12`.
pub fn check_barcode(code: &str) -> Result<(), String> {
    let shown: String = code.chars().take(40).collect();
    if code.chars().count() > MAX_CODE_CHARS {
        return Err(format!(
            "barcode {shown:?}… is longer than {MAX_CODE_CHARS} characters"
        ));
    }
    if !code.bytes().all(|b| b.is_ascii_graphic() && b != b'|') {
        return Err(format!(
            "barcode {shown:?} must be printable ASCII without spaces or '|'"
        ));
    }
    if code.to_ascii_uppercase().contains("E+") && code.contains('.') {
        return Err(format!(
            "barcode {shown:?} looks like a number mangled by a spreadsheet (format the column as text)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_exactly_or_say_why_not() {
        assert_eq!(parse_price("12"), Ok(1200));
        assert_eq!(parse_price("12.5"), Ok(1250));
        assert_eq!(parse_price(" 0.05 "), Ok(5));
        assert_eq!(parse_price("3.500"), Ok(350));
        assert_eq!(parse_price("99999999.99"), Ok(9_999_999_999));
        for (bad, why) in [
            ("-1", "negative"),
            ("1,50", "comma"),
            ("¥5", "plain number"),
            ("1.", "plain number"),
            ("1.234", "decimal places"),
            ("100000000.00", "too large"),
        ] {
            let e = parse_price(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        for bad in [
            "12,5", "-1", "1.234", "abc", "", "¥12", "1e3", ".5", "5.", "1 2", "+1", "1.2.3",
        ] {
            assert!(parse_price(bad).is_err(), "{bad} accepted");
        }
        assert!(parse_price("99999999999999999999").is_err());
    }

    #[test]
    fn barcodes_are_checked() {
        assert!(check_barcode("6901234567892").is_ok());
        assert!(check_barcode("69 01").is_err());
        assert!(check_barcode("a|b").is_err());
        assert!(
            check_barcode("6.90123E+12")
                .unwrap_err()
                .contains("spreadsheet")
        );
        assert!(check_barcode(&"9".repeat(65)).is_err());
    }
}
