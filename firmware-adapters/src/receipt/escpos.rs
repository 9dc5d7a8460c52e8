//! ESC/POS bytes from a [`Layout`].
//!
//! A small encoder of our own (the `escpos` crate 0.20 sends a full cut for a partial one, omits
//! the drawer pulse bytes, sends a malformed status request and defaults QR codes to model 1).
//! Text goes out as GB18030 in Chinese mode (`FS &`), or, for printers without a Chinese font,
//! lines with non-ASCII characters are rasterised with a CJK font and sent as `GS v 0`.

use super::bitmap::Bitmap;
use super::code128::{self, Segment};
use super::font::CjkFont;
use super::layout::{Align, Layout, LayoutLine, Paper, Style};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const DLE: u8 = 0x10;
pub const EOT: u8 = 0x04;
pub const LF: u8 = 0x0A;

/// `ESC @`: initialise the printer.
pub const INIT: [u8; 2] = [ESC, b'@'];
/// `FS &`: select Chinese (double-byte) character mode.
pub const CHINESE_MODE_ON: [u8; 2] = [FS, b'&'];

/// `ESC a n`: 0 left, 1 centre, 2 right.
pub fn align(a: Align) -> [u8; 3] {
    let n = match a {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    };
    [ESC, b'a', n]
}

/// `ESC E n`: bold on/off.
pub fn bold(on: bool) -> [u8; 3] {
    [ESC, b'E', u8::from(on)]
}

/// `GS ! n`: character size; bit 0 = double height.
pub fn size(double_height: bool) -> [u8; 3] {
    [GS, b'!', if double_height { 0x01 } else { 0x00 }]
}

/// `ESC d n`: print and feed n lines.
pub fn feed_lines(n: u8) -> [u8; 3] {
    [ESC, b'd', n]
}

/// `GS V 66 n`: feed to the cutter (+ n dots) and cut partially (one point left uncut).
pub fn partial_cut(n: u8) -> [u8; 4] {
    [GS, b'V', 66, n]
}

/// `DLE EOT n`: real-time status request, n = 1 (printer), 2 (offline cause), 3 (error
/// cause), 4 (paper sensor).
pub fn status_request(n: u8) -> [u8; 3] {
    [DLE, EOT, n]
}

/// Cash-drawer kick pulse: connector pin, on and off time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerPulse {
    /// 0 = connector pin 2, 1 = pin 5.
    pub pin: u8,
    /// Pulse on time in milliseconds (sent in 2 ms units).
    pub on_ms: u16,
    /// Pulse off time in milliseconds (sent in 2 ms units, at least the on time).
    pub off_ms: u16,
}

impl Default for DrawerPulse {
    fn default() -> Self {
        DrawerPulse {
            pin: 0,
            on_ms: 100,
            off_ms: 200,
        }
    }
}

/// `ESC p m t1 t2`: generate the drawer kick pulse.
pub fn drawer_kick(p: DrawerPulse) -> [u8; 5] {
    let t1 = (p.on_ms / 2).clamp(1, 255) as u8;
    let t2 = (p.off_ms / 2).clamp(t1 as u16, 255) as u8;
    [ESC, b'p', p.pin.min(1), t1, t2]
}

/// QR error-correction level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum QrEc {
    L,
    #[default]
    M,
    Q,
    H,
}

fn gs_k(fn_and_params: &[u8], out: &mut Vec<u8>) {
    // GS ( k pL pH cn fn params…, with cn = 49 (QR code).
    let len = fn_and_params.len() + 1;
    out.extend_from_slice(&[GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8, 49]);
    out.extend_from_slice(fn_and_params);
}

/// QR code model 2: select model (fn 165), module size (fn 167), error correction (fn 169),
/// store data (fn 180), print (fn 181).
pub fn qr_code(data: &[u8], module: u8, ec: QrEc, out: &mut Vec<u8>) {
    gs_k(&[65, 50, 0], out);
    gs_k(&[67, module.clamp(1, 16)], out);
    let e = match ec {
        QrEc::L => 48,
        QrEc::M => 49,
        QrEc::Q => 50,
        QrEc::H => 51,
    };
    gs_k(&[69, e], out);
    let mut store = Vec::with_capacity(data.len() + 2);
    store.extend_from_slice(&[80, 48]);
    store.extend_from_slice(data);
    gs_k(&store, out);
    gs_k(&[81, 48], out);
}

/// Code 128 with HRI text below: `GS H 2`, `GS f 0`, `GS h height`, `GS w module`, then
/// `GS k 73 n {B…{C…` (set C data bytes are the pair values 0..=99).
pub fn code128(segments: &[Segment], module: u8, height: u8, out: &mut Vec<u8>) {
    let mut data = Vec::new();
    for seg in segments {
        match seg {
            Segment::B(s) => {
                data.extend_from_slice(b"{B");
                for b in s.bytes() {
                    if b == b'{' {
                        data.extend_from_slice(b"{{");
                    } else {
                        data.push(b);
                    }
                }
            }
            Segment::C(pairs) => {
                data.extend_from_slice(b"{C");
                data.extend_from_slice(pairs);
            }
        }
    }
    out.extend_from_slice(&[GS, b'H', 2, GS, b'f', 0, GS, b'h', height, GS, b'w', module]);
    out.extend_from_slice(&[GS, b'k', 73, data.len().min(255) as u8]);
    out.extend_from_slice(&data);
}

/// `GS v 0 0 xL xH yL yH data`: a raster image, sent in bands of at most 256 rows.
pub fn raster(img: &Bitmap, out: &mut Vec<u8>) {
    let rb = img.row_bytes();
    let data = img.data();
    let mut y = 0usize;
    let h = img.height() as usize;
    while y < h {
        let band = (h - y).min(256);
        out.extend_from_slice(&[
            GS,
            b'v',
            b'0',
            0,
            (rb & 0xFF) as u8,
            (rb >> 8) as u8,
            (band & 0xFF) as u8,
            (band >> 8) as u8,
        ]);
        let start = out.len();
        out.extend_from_slice(&data[y * rb..(y + band) * rb]);
        defuse_realtime(&mut out[start..]);
        y += band;
    }
}

/// Printers act on `DLE EOT`, `DLE ENQ` and `DLE DC4` even inside image data: where image
/// bytes would spell one, the DLE byte (one dot) is cleared.
fn defuse_realtime(data: &mut [u8]) {
    for i in 0..data.len().saturating_sub(1) {
        if data[i] == DLE && matches!(data[i + 1], 0x04 | 0x05 | 0x14) {
            data[i] = 0;
        }
    }
}

/// Encode text for a printer with a Chinese (GBK) font: GB18030, `¥` as full-width `￥`
/// (A3 A4); characters outside GBK (four-byte GB18030 sequences, which such printers cannot
/// print) become `?`.
pub fn encode_text(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let c = if c == '¥' { '￥' } else { c };
        if c.is_ascii() {
            if !c.is_ascii_control() {
                out.push(c as u8);
            }
            continue;
        }
        let (bytes, _, _) = encoding_rs::GB18030.encode(c.encode_utf8(&mut buf));
        if bytes.len() == 2 {
            out.extend_from_slice(&bytes);
        } else {
            out.push(b'?');
        }
    }
    out
}

/// `ESC $ nL nH`: move to an absolute position (dots from the left margin).
pub fn position(dots: u16) -> [u8; 4] {
    [ESC, b'$', (dots & 0xFF) as u8, (dots >> 8) as u8]
}

/// A left-aligned line with each run of 5 or more spaces replaced by an absolute position
/// (`ESC $`): the same paper, far fewer bytes over a slow serial line.
fn encode_positioned(text: &str, paper: Paper, out: &mut Vec<u8>) {
    let cell = paper.cell_dots() as usize;
    let mut col = 0usize;
    let mut spaces = 0usize;
    let mut chunk = String::new();
    let flush_spaces = |spaces: &mut usize, col: usize, out: &mut Vec<u8>| {
        if *spaces >= 5 {
            out.extend_from_slice(&position((col * cell) as u16));
        } else {
            out.extend(std::iter::repeat_n(b' ', *spaces));
        }
        *spaces = 0;
    };
    for c in text.chars() {
        if c == ' ' {
            if !chunk.is_empty() {
                out.extend_from_slice(&encode_text(&chunk));
                chunk.clear();
            }
            spaces += 1;
        } else {
            if spaces > 0 {
                flush_spaces(&mut spaces, col, out);
            }
            chunk.push(c);
        }
        col += super::width::char_width(c);
    }
    out.extend_from_slice(&encode_text(&chunk));
}

/// How text reaches the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TextMode {
    /// GB18030 text in Chinese mode (the printer has a Chinese font).
    #[default]
    Gb18030,
    /// Lines with non-ASCII characters are rasterised with the CJK font (`GS v 0`).
    Raster,
}

#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions<'a> {
    pub text_mode: TextMode,
    /// Required in [`TextMode::Raster`].
    pub font: Option<&'a CjkFont>,
    pub qr_module: u8,
    pub qr_ec: QrEc,
    /// Barcode height in dots.
    pub barcode_height: u8,
    /// Lines fed before the cut so the last line clears the cutter.
    pub feed_before_cut: u8,
    pub cut: bool,
    /// Kick the drawer at the start of the receipt.
    pub kick_drawer: Option<DrawerPulse>,
}

impl Default for EncodeOptions<'_> {
    fn default() -> Self {
        EncodeOptions {
            text_mode: TextMode::Gb18030,
            font: None,
            qr_module: 6,
            qr_ec: QrEc::M,
            barcode_height: 64,
            feed_before_cut: 4,
            cut: true,
            kick_drawer: None,
        }
    }
}

#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("raster text mode needs a CJK font")]
    NoFont,
    #[error("barcode: {0}")]
    Barcode(#[from] code128::BarcodeError),
}

/// Module width (dots) for a Code 128 symbol on this paper: the widest of 1..=3 that fits with
/// 10-module quiet zones.
pub fn barcode_module(data: &str, paper: Paper) -> Result<u8, code128::BarcodeError> {
    let n = code128::modules(data)?.len() as u32 + 20;
    Ok((paper.dots() / n).clamp(1, 3) as u8)
}

struct State {
    align: Align,
    bold: bool,
    double_height: bool,
}

impl State {
    fn apply(&mut self, style: Style, out: &mut Vec<u8>) {
        if style.align != self.align {
            out.extend_from_slice(&align(style.align));
            self.align = style.align;
        }
        if style.bold != self.bold {
            out.extend_from_slice(&bold(style.bold));
            self.bold = style.bold;
        }
        if style.double_height != self.double_height {
            out.extend_from_slice(&size(style.double_height));
            self.double_height = style.double_height;
        }
    }
}

/// The bytes of a whole receipt: init, Chinese mode, lines, feed, partial cut.
pub fn encode(layout: &Layout, opts: &EncodeOptions<'_>) -> Result<Vec<u8>, EncodeError> {
    let font = match opts.text_mode {
        TextMode::Raster => Some(opts.font.ok_or(EncodeError::NoFont)?),
        TextMode::Gb18030 => None,
    };
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(&INIT);
    if font.is_none() {
        out.extend_from_slice(&CHINESE_MODE_ON);
    }
    if let Some(p) = opts.kick_drawer {
        out.extend_from_slice(&drawer_kick(p));
    }
    let mut st = State {
        align: Align::Left,
        bold: false,
        double_height: false,
    };
    for line in &layout.lines {
        match line {
            LayoutLine::Text { text, style } => match font {
                Some(f) if !text.is_ascii() => {
                    st.apply(Style::PLAIN, &mut out);
                    raster(&f.render_line(text, *style, layout.paper), &mut out);
                }
                _ => {
                    st.apply(*style, &mut out);
                    if style.align == Align::Left {
                        encode_positioned(text, layout.paper, &mut out);
                    } else {
                        out.extend_from_slice(&encode_text(text));
                    }
                    out.push(LF);
                }
            },
            LayoutLine::Barcode { data } => {
                let segs = code128::segments(data)?;
                let module = barcode_module(data, layout.paper)?;
                st.apply(
                    Style {
                        align: Align::Center,
                        ..Style::PLAIN
                    },
                    &mut out,
                );
                code128(&segs, module, opts.barcode_height, &mut out);
            }
            LayoutLine::Qr { data } => {
                st.apply(
                    Style {
                        align: Align::Center,
                        ..Style::PLAIN
                    },
                    &mut out,
                );
                qr_code(data.as_bytes(), opts.qr_module, opts.qr_ec, &mut out);
                out.push(LF);
            }
            LayoutLine::Image(img) => {
                st.apply(Style::PLAIN, &mut out);
                raster(img, &mut out);
            }
        }
    }
    st.apply(Style::PLAIN, &mut out);
    if opts.cut {
        out.extend_from_slice(&feed_lines(opts.feed_before_cut));
        out.extend_from_slice(&partial_cut(0));
    }
    Ok(out)
}
