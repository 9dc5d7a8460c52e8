//! GS1 mod-10 check digits, UPC-E expansion and the price/weight check digit of
//! restricted-circulation codes.

/// GS1 mod-10 check digit of `body` (the digits before the check digit): weights 3,1,3,…
/// from the right. `None` if `body` contains anything but ASCII digits.
pub fn check_digit(body: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in body.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = u32::from(c - b'0');
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    // `sum % 10` is < 10, so the result always fits in a u8.
    Some(((10 - sum % 10) % 10) as u8)
}

/// True if `code` is all digits and its last digit is the GS1 check digit of the others.
pub fn has_valid_check_digit(code: &str) -> bool {
    let Some((body, check)) = code.len().checked_sub(1).map(|n| code.split_at(n)) else {
        return false;
    };
    match (check_digit(body), check.bytes().next()) {
        (Some(expected), Some(c)) if c.is_ascii_digit() => c - b'0' == expected,
        _ => false,
    }
}

/// Expand an 8-digit UPC-E (number system 0 or 1, six data digits, check digit) to the
/// 12-digit UPC-A it abbreviates. `None` if it is not a well-formed UPC-E or its check digit
/// (which is the UPC-A's check digit) is wrong.
pub fn expand_upc_e(upc_e: &str) -> Option<String> {
    let b = upc_e.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) || !matches!(b[0], b'0' | b'1') {
        return None;
    }
    let ns = b[0] as char;
    let d: Vec<char> = b[1..7].iter().map(|&c| c as char).collect();
    let (manufacturer, product): (String, String) = match d[5] {
        '0' | '1' | '2' => (
            [d[0], d[1], d[5], '0', '0'].iter().collect(),
            ['0', '0', d[2], d[3], d[4]].iter().collect(),
        ),
        '3' => (
            [d[0], d[1], d[2], '0', '0'].iter().collect(),
            ['0', '0', '0', d[3], d[4]].iter().collect(),
        ),
        '4' => (
            [d[0], d[1], d[2], d[3], '0'].iter().collect(),
            ['0', '0', '0', '0', d[4]].iter().collect(),
        ),
        _ => (
            [d[0], d[1], d[2], d[3], d[4]].iter().collect(),
            ['0', '0', '0', '0', d[5]].iter().collect(),
        ),
    };
    let upc_a = format!("{ns}{manufacturer}{product}{}", b[7] as char);
    has_valid_check_digit(&upc_a).then_some(upc_a)
}

/// Left-pad a GTIN-8/12/13/14 to the 14-digit form used for catalogue look-ups.
pub fn to_gtin14(gtin: &str) -> String {
    format!("{gtin:0>14}")
}

// Weighting-factor tables of the GS1 price/weight check digit (GS1 General Specifications,
// "check digit calculation for price/weight fields").
const W2_MINUS: [u8; 10] = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7];
const W3: [u8; 10] = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7];
const W5_PLUS: [u8; 10] = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9];
const W5_MINUS: [u8; 10] = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1];

/// The check digit printed in front of a 4- or 5-digit price/weight field of a
/// restricted-circulation EAN-13. `None` for other lengths or non-digits.
pub fn price_check_digit(value: &str) -> Option<u8> {
    let digits: Vec<usize> = value
        .bytes()
        .map(|c| c.is_ascii_digit().then(|| usize::from(c - b'0')))
        .collect::<Option<_>>()?;
    match digits.as_slice() {
        [a, b, c, d] => {
            let sum = u32::from(W2_MINUS[*a] + W2_MINUS[*b] + W3[*c] + W5_MINUS[*d]);
            Some(((sum * 3) % 10) as u8)
        }
        [a, b, c, d, e] => {
            let sum =
                u32::from(W5_PLUS[*a] + W2_MINUS[*b] + W5_MINUS[*c] + W5_PLUS[*d] + W2_MINUS[*e]);
            let target = ((10 - sum % 10) % 10) as u8;
            W5_MINUS
                .iter()
                .position(|&p| p == target)
                .and_then(|p| u8::try_from(p).ok())
        }
        _ => None,
    }
}
