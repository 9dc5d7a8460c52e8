//! A small Code 128 encoder (code sets B and C), shared by the ESC/POS encoder (which sends the
//! same code-set choice to the printer) and the PNG preview (which draws the bars).

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BarcodeError {
    #[error("barcode data is empty")]
    Empty,
    #[error("barcode data has {0:?}, which Code 128 set B cannot encode (printable ASCII only)")]
    Unencodable(char),
    #[error("barcode data is {0} characters long (at most 64)")]
    TooLong(usize),
}

/// A run of the data in one code set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Printable ASCII in code set B.
    B(String),
    /// Digit pairs in code set C, each a value 0..=99.
    C(Vec<u8>),
}

/// Widths (bar, space, bar, space, bar, space[, bar]) of the 107 Code 128 symbols.
const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

const START_B: u8 = 104;
const START_C: u8 = 105;
const TO_B: u8 = 100;
const TO_C: u8 = 99;
const STOP: u8 = 106;

/// Split data into code-set runs: runs of four or more digits (an even count of them) go to
/// set C, the rest to set B.
pub fn segments(data: &str) -> Result<Vec<Segment>, BarcodeError> {
    if data.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if data.len() > 64 {
        return Err(BarcodeError::TooLong(data.len()));
    }
    if let Some(c) = data.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(BarcodeError::Unencodable(c));
    }
    let bytes = data.as_bytes();
    let mut out: Vec<Segment> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let whole = i == 0 && run == bytes.len() && run >= 2 && run % 2 == 0;
        // A set C pair of 16 is the byte 0x10 (DLE), which printers may take for the start of
        // a real-time command: such runs stay in set B.
        let skip = run % 2;
        let has_dle = bytes[i + skip..i + run].chunks(2).any(|p| p == b"16");
        if (run >= 4 || whole) && !has_dle {
            // An odd run keeps its first digit in set B.
            if skip == 1 {
                push_b(&mut out, bytes[i] as char);
            }
            let pairs = bytes[i + skip..i + run]
                .chunks(2)
                .map(|p| (p[0] - b'0') * 10 + (p[1] - b'0'))
                .collect();
            out.push(Segment::C(pairs));
            i += run;
        } else {
            push_b(&mut out, bytes[i] as char);
            i += 1;
        }
    }
    Ok(out)
}

fn push_b(out: &mut Vec<Segment>, c: char) {
    if let Some(Segment::B(s)) = out.last_mut() {
        s.push(c);
    } else {
        out.push(Segment::B(c.to_string()));
    }
}

/// Symbol values: start, data (with code-set switches), check symbol, stop.
pub fn symbols(data: &str) -> Result<Vec<u8>, BarcodeError> {
    let segs = segments(data)?;
    let mut values = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Segment::B(s) => {
                values.push(if i == 0 { START_B } else { TO_B });
                values.extend(s.bytes().map(|b| b - 32));
            }
            Segment::C(pairs) => {
                values.push(if i == 0 { START_C } else { TO_C });
                values.extend(pairs);
            }
        }
    }
    let check = values
        .iter()
        .enumerate()
        .map(|(i, &v)| v as u32 * (i.max(1) as u32))
        .sum::<u32>()
        % 103;
    values.push(check as u8);
    values.push(STOP);
    Ok(values)
}

/// The bar pattern, one bool per module (true = bar), without quiet zones.
pub fn modules(data: &str) -> Result<Vec<bool>, BarcodeError> {
    let mut out = Vec::new();
    for v in symbols(data)? {
        for (k, w) in PATTERNS[v as usize].bytes().enumerate() {
            for _ in 0..(w - b'0') {
                out.push(k % 2 == 0);
            }
        }
    }
    Ok(out)
}

/// Decode a module pattern back to its symbol values (for tests): checks start, check symbol
/// and stop.
pub fn decode_modules(modules: &[bool]) -> Option<Vec<u8>> {
    // Run-length encode.
    let mut runs = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        let v = modules[i];
        let n = modules[i..].iter().take_while(|&&m| m == v).count();
        runs.push(n);
        i += n;
    }
    let mut values = Vec::new();
    let mut j = 0;
    while j + 6 <= runs.len() {
        if runs.len() - j == 7 {
            let pat: String = runs[j..].iter().map(|n| n.to_string()).collect();
            if pat != PATTERNS[STOP as usize] {
                return None;
            }
            values.push(STOP);
            break;
        }
        let pat: String = runs[j..j + 6].iter().map(|n| n.to_string()).collect();
        let v = PATTERNS.iter().position(|p| *p == pat)?;
        values.push(v as u8);
        j += 6;
    }
    let (&stop, rest) = values.split_last()?;
    let (&check, data) = rest.split_last()?;
    let sum = data
        .iter()
        .enumerate()
        .map(|(i, &v)| v as u32 * (i.max(1) as u32))
        .sum::<u32>()
        % 103;
    (stop == STOP && sum == check as u32).then_some(values)
}

/// Text of decoded symbol values (sets B and C).
pub fn text_of_symbols(values: &[u8]) -> Option<String> {
    let mut set_c = match *values.first()? {
        START_B => false,
        START_C => true,
        _ => return None,
    };
    let mut s = String::new();
    // Skip start; leave out check and stop.
    for &v in values.get(1..values.len().saturating_sub(2))? {
        match (set_c, v) {
            (_, TO_B) if set_c => set_c = false,
            (false, TO_C) => set_c = true,
            (true, v) if v < 100 => s.push_str(&format!("{v:02}")),
            (false, v) if v < 95 => s.push((v + 32) as char),
            _ => return None,
        }
    }
    Some(s)
}
