//! CD5220-style 2×20 VFD customer displays.
//!
//! Command set used (CD5220 / "pole display" emulation, 9600 8N1 by default):
//!
//! | bytes            | meaning                                  |
//! |------------------|------------------------------------------|
//! | `ESC @`          | initialize                               |
//! | `FF` (0x0C)      | clear the display, cursor home           |
//! | `ESC [ H`        | cursor home                              |
//! | `ESC DC1`        | overwrite mode                           |
//! | `ESC Q A … CR`   | set the upper line (CD5220 mode)         |
//! | `ESC Q B … CR`   | set the lower line (CD5220 mode)         |
//! | `ESC l x y`      | move the cursor to column x, row y (1-based) |
//!
//! Text is always sent as exactly 20 printable ASCII characters per line: most VFDs have no
//! CJK font, so full-width forms and common Chinese punctuation are transliterated to ASCII
//! and every other non-ASCII character becomes `?`. Amounts are right-aligned with two
//! decimals; an amount too wide for the line is shown as `*` rather than cut.

use std::io::Write;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serialport::SerialPort;

/// Characters per line.
pub const WIDTH: usize = 20;

pub const ESC: u8 = 0x1B;
/// `ESC @`: initialize.
pub const INIT: [u8; 2] = [ESC, b'@'];
/// `FF`: clear the screen.
pub const CLEAR: [u8; 1] = [0x0C];
/// `ESC [ H`: cursor home.
pub const HOME: [u8; 3] = [ESC, b'[', b'H'];
/// `ESC DC1`: overwrite mode.
pub const OVERWRITE_MODE: [u8; 2] = [ESC, 0x11];

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisplayMode {
    /// `ESC Q A line CR` / `ESC Q B line CR` (CD5220 line commands).
    Cd5220,
    /// Overwrite mode: position with `ESC l 1 y` and write 20 characters.
    Overwrite,
}

/// Words shown by the helpers (ASCII; the display has no CJK font).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisplayLabels {
    pub total: String,
    pub paid: String,
    pub change: String,
}

impl Default for DisplayLabels {
    fn default() -> Self {
        Self {
            total: "TOTAL".into(),
            paid: "PAID".into(),
            change: "CHANGE".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayConfig {
    pub path: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default = "default_mode")]
    pub mode: DisplayMode,
    #[serde(default)]
    pub labels: DisplayLabels,
}

fn default_baud() -> u32 {
    9600
}

fn default_mode() -> DisplayMode {
    DisplayMode::Cd5220
}

#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error(
        "cannot open customer display port {path}: {source}; check the cable and the device path"
    )]
    Open {
        path: String,
        #[source]
        source: serialport::Error,
    },
    #[error("customer display write failed: {0}; check the cable")]
    Io(#[from] std::io::Error),
}

/// One character as the display can show it (ASCII), or `None` to use `?`.
fn transliterate(c: char) -> Option<&'static str> {
    const ASCII: [&str; 95] = [
        " ", "!", "\"", "#", "$", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/", "0", "1",
        "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?", "@", "A", "B", "C",
        "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U",
        "V", "W", "X", "Y", "Z", "[", "\\", "]", "^", "_", "`", "a", "b", "c", "d", "e", "f", "g",
        "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y",
        "z", "{", "|", "}", "~",
    ];
    let ascii = |c: u32| {
        ASCII
            .get(usize::try_from(c.checked_sub(0x20)?).ok()?)
            .copied()
    };
    let code = u32::from(c);
    match c {
        ' '..='~' => ascii(code),
        // Full-width ASCII forms (Chinese IMEs produce these).
        '\u{FF01}'..='\u{FF5E}' => ascii(code - 0xFEE0),
        '\u{3000}' => Some(" "),
        '。' | '·' | '・' => Some("."),
        '、' => Some(","),
        '【' | '「' | '『' => Some("["),
        '】' | '」' | '』' => Some("]"),
        '《' | '〈' => Some("<"),
        '》' | '〉' => Some(">"),
        '“' | '”' | '„' => Some("\""),
        '‘' | '’' => Some("'"),
        '—' | '–' | '‐' | '−' => Some("-"),
        '…' => Some("..."),
        '¥' | '￥' => Some("Y"),
        '×' => Some("x"),
        '÷' => Some("/"),
        _ => None,
    }
}

/// `text` in printable ASCII: transliterated where possible, otherwise `?` per character.
pub fn to_display_ascii(text: &str) -> String {
    text.chars()
        .map(|c| transliterate(c).unwrap_or("?"))
        .collect()
}

/// `text` made display-safe and cut or space-padded to exactly `width` columns.
pub fn fit(text: &str, width: usize) -> String {
    format!("{:<width$.width$}", to_display_ascii(text))
}

/// `text` made display-safe and right-aligned in `width` columns (cut from the right).
pub fn fit_right(text: &str, width: usize) -> String {
    format!("{:>width$.width$}", to_display_ascii(text))
}

/// An amount with exactly two decimals (half away from zero), e.g. `12.50`, `-3.00`.
pub fn amount_text(amount: Decimal) -> String {
    let mut a = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    a.rescale(2);
    a.to_string()
}

/// `label` on the left and `amount` right-aligned, `width` columns in total. The label is
/// shortened first; an amount that cannot fit whole is shown as `*`s (never a cut number).
pub fn label_amount(label: &str, amount: Decimal, width: usize) -> String {
    let amount = amount_text(amount);
    if amount.len() > width {
        return "*".repeat(width);
    }
    let room = width - amount.len();
    let label = if room == 0 {
        String::new()
    } else {
        fit(label, room - 1)
    };
    format!("{label:<room$}{amount}")
}

/// The bytes that put `line1` and `line2` on the display (each fitted to 20 columns).
pub fn encode_lines(mode: DisplayMode, line1: &str, line2: &str) -> Vec<u8> {
    let (l1, l2) = (fit(line1, WIDTH), fit(line2, WIDTH));
    let mut out = Vec::with_capacity(2 * WIDTH + 8);
    match mode {
        DisplayMode::Cd5220 => {
            out.extend_from_slice(&[ESC, b'Q', b'A']);
            out.extend_from_slice(l1.as_bytes());
            out.push(b'\r');
            out.extend_from_slice(&[ESC, b'Q', b'B']);
            out.extend_from_slice(l2.as_bytes());
            out.push(b'\r');
        }
        DisplayMode::Overwrite => {
            out.extend_from_slice(&[ESC, b'l', 1, 1]);
            out.extend_from_slice(l1.as_bytes());
            out.extend_from_slice(&[ESC, b'l', 1, 2]);
            out.extend_from_slice(l2.as_bytes());
        }
    }
    out
}

/// A customer display on any byte sink (normally a serial port).
pub struct CustomerDisplay<W: Write = Box<dyn SerialPort>> {
    port: W,
    mode: DisplayMode,
    labels: DisplayLabels,
}

impl<W: Write> std::fmt::Debug for CustomerDisplay<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerDisplay")
            .field("mode", &self.mode)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl CustomerDisplay {
    /// Open the configured serial port (8N1).
    pub fn open(cfg: &DisplayConfig) -> Result<Self, DisplayError> {
        let port = serialport::new(&cfg.path, cfg.baud)
            .timeout(std::time::Duration::from_millis(500))
            .open()
            .map_err(|source| DisplayError::Open {
                path: cfg.path.clone(),
                source,
            })?;
        Ok(Self::new(port, cfg.mode, cfg.labels.clone()))
    }
}

impl<W: Write> CustomerDisplay<W> {
    pub fn new(port: W, mode: DisplayMode, labels: DisplayLabels) -> Self {
        Self { port, mode, labels }
    }

    /// The underlying port.
    pub fn into_inner(self) -> W {
        self.port
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), DisplayError> {
        self.port.write_all(bytes)?;
        self.port.flush()?;
        Ok(())
    }

    /// Initialize (`ESC @`), select overwrite mode if configured, and clear.
    pub fn init(&mut self) -> Result<(), DisplayError> {
        let mut bytes = INIT.to_vec();
        if self.mode == DisplayMode::Overwrite {
            bytes.extend_from_slice(&OVERWRITE_MODE);
        }
        bytes.extend_from_slice(&CLEAR);
        self.send(&bytes)
    }

    pub fn clear(&mut self) -> Result<(), DisplayError> {
        self.send(&CLEAR)
    }

    pub fn home(&mut self) -> Result<(), DisplayError> {
        self.send(&HOME)
    }

    /// Show two lines of text (fitted to 20 columns each).
    pub fn show(&mut self, line1: &str, line2: &str) -> Result<(), DisplayError> {
        let bytes = encode_lines(self.mode, line1, line2);
        self.send(&bytes)
    }

    /// Item name on the upper line, its price right-aligned below.
    pub fn show_item(&mut self, name: &str, price: Decimal) -> Result<(), DisplayError> {
        self.show(name, &label_amount("", price, WIDTH))
    }

    /// Item name above; quantity × unit price on the left and the line amount on the right.
    pub fn show_item_qty(
        &mut self,
        name: &str,
        quantity: Decimal,
        unit_price: Decimal,
        amount: Decimal,
    ) -> Result<(), DisplayError> {
        let qty = format!("{}x{}", quantity.normalize(), amount_text(unit_price));
        self.show(name, &label_amount(&qty, amount, WIDTH))
    }

    /// "TOTAL  123.45" on the upper line.
    pub fn show_total(&mut self, total: Decimal) -> Result<(), DisplayError> {
        let line = label_amount(&self.labels.total, total, WIDTH);
        self.show(&line, "")
    }

    /// "PAID  200.00" above "CHANGE  76.55".
    pub fn show_change(&mut self, paid: Decimal, change: Decimal) -> Result<(), DisplayError> {
        let l1 = label_amount(&self.labels.paid, paid, WIDTH);
        let l2 = label_amount(&self.labels.change, change, WIDTH);
        self.show(&l1, &l2)
    }
}
