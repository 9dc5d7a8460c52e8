//! What a scan is, before any lookup: GTIN check digits and receipt barcodes.
//! (Full symbology / GS1 / scale-label parsing belongs to the devices crate.)

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ScanKind {
    /// EAN-8 / UPC-A / EAN-13 / GTIN-14 with a valid check digit.
    Gtin { code: String },
    /// A receipt barcode printed by a till ("RC" + receipt number).
    Receipt { receipt_no: String },
    /// Anything else printable: an internal code or SKU.
    Other { code: String },
    /// Not usable: the message says why.
    Invalid { code: String, message: String },
}

/// GS1 check digit of the digits before it (mod 10, weights 3,1 from the right).
pub fn gtin_check_digit(body: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in body.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = u32::from(c - b'0');
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Classify a raw scan or typed code.
pub fn classify(raw: &str) -> ScanKind {
    let code = raw.trim_matches(|c: char| c.is_whitespace() || c == '\r' || c == '\n');
    if code.is_empty() {
        return ScanKind::Invalid {
            code: String::new(),
            message: "the scan was empty: scan again".into(),
        };
    }
    if code.chars().any(|c| c.is_control()) {
        return ScanKind::Invalid {
            code: code.escape_default().to_string(),
            message: "the scan contains control characters: check the scanner's suffix setting and scan again".into(),
        };
    }
    if code.len() > 64 {
        return ScanKind::Invalid {
            code: code.chars().take(64).collect(),
            message: "the scan is too long to be a product code: scan again".into(),
        };
    }
    if let Some(rest) = code.strip_prefix("RC")
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return ScanKind::Receipt {
            receipt_no: rest.to_string(),
        };
    }
    if code.bytes().all(|b| b.is_ascii_digit()) && matches!(code.len(), 8 | 12 | 13 | 14) {
        let (body, check) = code.split_at(code.len() - 1);
        let expected = gtin_check_digit(body);
        return match expected {
            Some(e) if check.as_bytes()[0] - b'0' == e => ScanKind::Gtin {
                code: code.to_string(),
            },
            _ => ScanKind::Invalid {
                code: code.to_string(),
                message: format!(
                    "barcode {code} has a wrong check digit (misread or damaged label): scan again or type the code"
                ),
            },
        };
    }
    ScanKind::Other {
        code: code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_check_digits() {
        assert_eq!(gtin_check_digit("690123456789"), Some(2));
        assert_eq!(
            classify("6901234567892"),
            ScanKind::Gtin {
                code: "6901234567892".into()
            }
        );
        assert!(matches!(
            classify("6901234567893"),
            ScanKind::Invalid { .. }
        ));
        assert_eq!(gtin_check_digit("9638507"), Some(4)); // EAN-8 96385074
        assert!(matches!(classify("96385074"), ScanKind::Gtin { .. }));
    }

    #[test]
    fn receipts_others_and_garbage() {
        assert_eq!(
            classify("RCHZ001-T01-00000042\r\n"),
            ScanKind::Receipt {
                receipt_no: "HZ001-T01-00000042".into()
            }
        );
        assert_eq!(
            classify(" SKU-1 "),
            ScanKind::Other {
                code: "SKU-1".into()
            }
        );
        assert!(matches!(classify(""), ScanKind::Invalid { .. }));
        assert!(matches!(classify("12\u{1b}34"), ScanKind::Invalid { .. }));
    }
}
