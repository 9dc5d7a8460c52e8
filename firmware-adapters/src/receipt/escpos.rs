//! ESC/POS bytes from a [`Layout`].
//!
//! Ordinary commands go through the `escpos` crate (0.20): initialise (`ESC @`), justification
//! (`ESC a`), emphasis (`ESC E`), character size (`GS !`), the feed before the cut (`ESC d`) and
//! printable ASCII text. The crate writes to [`Capture`], a [`Driver`] of ours that keeps the
//! bytes in memory. Our own bytes (sent through `Printer::custom`, so the order is kept) where
//! the crate is wrong or lacks the command, each marked `WORKAROUND` or `NOT IN CRATE`:
//! the partial cut, the drawer kick pulse, status requests, QR model 2, Code 128 (function B),
//! GB18030 text in Chinese mode (`FS &`) with `￥` as A3 A4, raster images (`GS v 0`), absolute
//! positions (`ESC $`) and the line feed itself (`LF`). The tests below assert the crate's bytes
//! for the workarounds, so they fail the day the crate is fixed and the workaround can go.
//! For printers without a Chinese font, lines with non-ASCII characters are rasterised with a CJK
//! font and sent as `GS v 0`.

use super::bitmap::Bitmap;
use super::code128::{self, Segment};
use super::font::CjkFont;
use super::layout::{Align, Layout, LayoutLine, Paper, Style};
use escpos::driver::Driver;
use escpos::utils::{JustifyMode, Protocol};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use thiserror::Error;

pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const DLE: u8 = 0x10;
pub const EOT: u8 = 0x04;
pub const LF: u8 = 0x0A;

/// NOT IN CRATE: `FS &`, select Chinese (double-byte) character mode.
pub const CHINESE_MODE_ON: [u8; 2] = [FS, b'&'];

/// A [`Driver`] that keeps what the `escpos` crate writes, so that the crate encodes and we
/// send (through our own transports, with our status handling).
#[derive(Debug, Default)]
struct Capture(RefCell<Vec<u8>>);

impl Driver for Capture {
    fn name(&self) -> String {
        "tillstone-capture".to_owned()
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// The crate's printer writing into memory. No page code: `init` is just `ESC @`, and text goes
/// through the crate's default (UTF-8) encoder, which leaves ASCII as it is.
type Out = escpos::printer::Printer<Capture>;

fn new_out() -> Out {
    escpos::printer::Printer::new(Capture::default(), Protocol::default(), None)
}

/// Everything queued on `p`, as bytes.
fn finish(mut p: Out) -> Result<Vec<u8>, EncodeError> {
    p.print()?;
    Ok(p.driver().0.into_inner())
}

fn justify(a: Align) -> JustifyMode {
    match a {
        Align::Left => JustifyMode::LEFT,
        Align::Center => JustifyMode::CENTER,
        Align::Right => JustifyMode::RIGHT,
    }
}

/// WORKAROUND: `GS V 66 n`, feed to the cutter (+ n dots) and cut partially (one point left
/// uncut). The crate's `Printer::partial_cut` sends `GS V 65 1`, a *full* cut.
pub fn partial_cut(n: u8) -> [u8; 4] {
    [GS, b'V', 66, n]
}

/// WORKAROUND: `DLE EOT n`, real-time status request, n = 1 (printer), 2 (offline cause),
/// 3 (error cause), 4 (paper sensor). The crate's `Printer::real_time_status` sends
/// `DLE EOT n 0`: the extra byte is taken as data (or as the start of the next command).
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

/// WORKAROUND: `ESC p m t1 t2`, generate the drawer kick pulse. The crate's
/// `Printer::cash_drawer` sends `ESC p m` without the pulse times, so the printer takes the next
/// two bytes of the job as t1 and t2.
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

/// WORKAROUND: the crate's `Printer::qrcode` selects model 1 by default (`GS ( k … 65 49 0`);
/// we always send model 2, with our own `GS ( k` bytes.
///
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

/// NOT IN CRATE: the crate's barcodes are the NUL-terminated `GS k m` forms (m 0..=6: UPC,
/// EAN, Code 39, ITF, Codabar); it has no Code 128 (`GS k 73 n`, function B, with code sets).
///
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

/// NOT IN CRATE (without its `graphics` feature, which decodes image files itself): our own
/// `GS v 0 0 xL xH yL yH data` from a [`Bitmap`] we dithered, with real-time commands defused.
///
/// A raster image, sent in bands of at most 256 rows.
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

/// WORKAROUND: the crate's text goes through `encoding_rs`, whose GB18030 encoder sends `¥` and
/// characters outside GBK as four-byte sequences (`81 30 84 36` for `¥`) that GBK printer fonts
/// print as garbage; and it has no Chinese mode (`FS &`).
///
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

/// NOT IN CRATE: `ESC $ nL nH`, move to an absolute position (dots from the left margin).
pub fn position(dots: u16) -> [u8; 4] {
    [ESC, b'$', (dots & 0xFF) as u8, (dots >> 8) as u8]
}

/// Text: printable ASCII through the crate (`Printer::write`); anything else (GB18030, `￥`,
/// control characters dropped) through our [`encode_text`].
fn put_text(p: &mut Out, text: &str) -> Result<(), EncodeError> {
    if !text.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        p.custom(&encode_text(text))?;
    } else if !text.is_empty() {
        p.write(text)?;
    }
    Ok(())
}

/// A left-aligned line with each run of 5 or more spaces replaced by an absolute position
/// (`ESC $`): the same paper, far fewer bytes over a slow serial line.
fn encode_positioned(text: &str, paper: Paper, p: &mut Out) -> Result<(), EncodeError> {
    let cell = paper.cell_dots() as usize;
    let mut col = 0usize;
    let mut spaces = 0usize;
    let mut chunk = String::new();
    for c in text.chars() {
        if c == ' ' {
            put_text(p, &chunk)?;
            chunk.clear();
            spaces += 1;
        } else {
            if spaces >= 5 {
                p.custom(&position((col * cell) as u16))?;
            } else if spaces > 0 {
                p.write(&" ".repeat(spaces))?;
            }
            spaces = 0;
            chunk.push(c);
        }
        col += super::width::char_width(c);
    }
    put_text(p, &chunk)
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
    #[error("escpos: {0}")]
    Escpos(#[from] escpos::errors::PrinterError),
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
    fn apply(&mut self, style: Style, p: &mut Out) -> Result<(), EncodeError> {
        if style.align != self.align {
            p.justify(justify(style.align))?;
            self.align = style.align;
        }
        if style.bold != self.bold {
            p.bold(style.bold)?;
            self.bold = style.bold;
        }
        if style.double_height != self.double_height {
            // GS ! n: width 1, height 2 or 1 (n = 0x01 or 0x00).
            p.size(1, if style.double_height { 2 } else { 1 })?;
            self.double_height = style.double_height;
        }
        Ok(())
    }
}

/// Our own bytes, in order with the crate's commands.
fn put_ours(p: &mut Out, f: impl FnOnce(&mut Vec<u8>)) -> Result<(), EncodeError> {
    let mut buf = Vec::new();
    f(&mut buf);
    p.custom(&buf)?;
    Ok(())
}

/// The bytes of a whole receipt: init, Chinese mode, lines, feed, partial cut.
pub fn encode(layout: &Layout, opts: &EncodeOptions<'_>) -> Result<Vec<u8>, EncodeError> {
    let font = match opts.text_mode {
        TextMode::Raster => Some(opts.font.ok_or(EncodeError::NoFont)?),
        TextMode::Gb18030 => None,
    };
    let mut p = new_out();
    p.init()?;
    if font.is_none() {
        p.custom(&CHINESE_MODE_ON)?;
    }
    if let Some(pulse) = opts.kick_drawer {
        p.custom(&drawer_kick(pulse))?;
    }
    let mut st = State {
        align: Align::Left,
        bold: false,
        double_height: false,
    };
    let centred = Style {
        align: Align::Center,
        ..Style::PLAIN
    };
    for line in &layout.lines {
        match line {
            LayoutLine::Text { text, style } => match font {
                Some(f) if !text.is_ascii() => {
                    st.apply(Style::PLAIN, &mut p)?;
                    put_ours(&mut p, |o| {
                        raster(&f.render_line(text, *style, layout.paper), o)
                    })?;
                }
                _ => {
                    st.apply(*style, &mut p)?;
                    if style.align == Align::Left {
                        encode_positioned(text, layout.paper, &mut p)?;
                    } else {
                        put_text(&mut p, text)?;
                    }
                    // Our LF: the crate's `feed`/`writeln` send `ESC d 1` (the same paper
                    // motion in three bytes instead of one).
                    p.custom(&[LF])?;
                }
            },
            LayoutLine::Barcode { data } => {
                let segs = code128::segments(data)?;
                let module = barcode_module(data, layout.paper)?;
                st.apply(centred, &mut p)?;
                put_ours(&mut p, |o| code128(&segs, module, opts.barcode_height, o))?;
            }
            LayoutLine::Qr { data } => {
                st.apply(centred, &mut p)?;
                put_ours(&mut p, |o| {
                    qr_code(data.as_bytes(), opts.qr_module, opts.qr_ec, o);
                    o.push(LF);
                })?;
            }
            LayoutLine::Image(img) => {
                st.apply(Style::PLAIN, &mut p)?;
                put_ours(&mut p, |o| raster(img, o))?;
            }
        }
    }
    st.apply(Style::PLAIN, &mut p)?;
    if opts.cut {
        p.feeds(opts.feed_before_cut)?;
        p.custom(&partial_cut(0))?;
    }
    finish(p)
}

#[cfg(test)]
mod tests {
    //! Each workaround: the crate's bytes are still wrong (these fail the day the crate is
    //! fixed, and the workaround can go) and ours are right.
    use super::*;
    use escpos::utils::{CashDrawer, QRCodeOption, RealTimeStatusRequest};

    /// The bytes the crate sends for the commands queued by `f`.
    fn crate_bytes(f: impl FnOnce(&mut Out) -> escpos::errors::Result<&mut Out>) -> Vec<u8> {
        let mut p = new_out();
        f(&mut p).expect("escpos command");
        finish(p).expect("escpos print")
    }

    #[test]
    fn crate_partial_cut_is_a_full_cut_so_we_send_gs_v_66() {
        let theirs = crate_bytes(|p| p.partial_cut());
        // GS V 65 n = feed n dots and cut *fully*; 66 is the partial cut.
        assert_eq!(theirs, [GS, b'V', 65, 1]);
        assert_ne!(theirs[..3], partial_cut(0)[..3]);
        assert_eq!(partial_cut(0), [GS, b'V', 66, 0]);
    }

    #[test]
    fn crate_cash_drawer_omits_the_pulse_times_so_we_send_esc_p_m_t1_t2() {
        assert_eq!(
            crate_bytes(|p| p.cash_drawer(CashDrawer::Pin2)),
            [ESC, b'p', 0]
        );
        assert_eq!(
            crate_bytes(|p| p.cash_drawer(CashDrawer::Pin5)),
            [ESC, b'p', 1]
        );
        let kick = drawer_kick(DrawerPulse::default());
        assert_eq!(kick, [ESC, b'p', 0, 50, 100]);
        let pin5 = drawer_kick(DrawerPulse {
            pin: 7,
            on_ms: 1,
            off_ms: 0,
        });
        // Pin clamped to 5, at least 2 ms on, off time at least the on time.
        assert_eq!(pin5, [ESC, b'p', 1, 1, 1]);
    }

    #[test]
    fn crate_status_request_has_one_byte_too_many_so_we_send_dle_eot_n() {
        let theirs = crate_bytes(|p| p.real_time_status(RealTimeStatusRequest::Printer));
        assert_eq!(theirs, [DLE, EOT, 1, 0]);
        for (req, n) in [
            (RealTimeStatusRequest::Printer, 1),
            (RealTimeStatusRequest::OfflineCause, 2),
            (RealTimeStatusRequest::ErrorCause, 3),
            (RealTimeStatusRequest::RollPaperSensor, 4),
        ] {
            assert_eq!(crate_bytes(|p| p.real_time_status(req)).len(), 4);
            assert_eq!(status_request(n), [DLE, EOT, n]);
        }
    }

    #[test]
    fn crate_qr_defaults_to_model_1_so_we_select_model_2() {
        let theirs = crate_bytes(|p| p.qrcode("AB"));
        assert_eq!(
            &theirs[..9],
            &[GS, b'(', b'k', 4, 0, 49, 65, 49, 0],
            "model 1"
        );
        assert_eq!(
            QRCodeOption::default().model().to_string(),
            "Model 1",
            "the crate's default"
        );
        let mut ours = Vec::new();
        qr_code(b"AB", 6, QrEc::M, &mut ours);
        assert_eq!(
            &ours[..9],
            &[GS, b'(', b'k', 4, 0, 49, 65, 50, 0],
            "model 2"
        );
        // Store: pL pH count cn fn m and the data.
        assert!(
            ours.windows(10)
                .any(|w| w == [GS, b'(', b'k', 5, 0, 49, 80, 48, b'A', b'B'])
        );
    }

    #[test]
    fn crate_gb18030_text_sends_yen_as_four_bytes_so_we_encode_text_ourselves() {
        let gb = escpos::utils::Encoder::new(encoding_rs::GB18030);
        let mut p = escpos::printer::Printer::new(Capture::default(), Protocol::new(gb), None);
        p.write("¥中").expect("write");
        let theirs = finish(p).expect("print");
        assert_eq!(theirs, [0x81, 0x30, 0x84, 0x36, 0xD6, 0xD0]);
        assert_eq!(encode_text("¥中"), [0xA3, 0xA4, 0xD6, 0xD0]);
        // And the crate's default (UTF-8) encoder is not GB18030 at all.
        assert_ne!(crate_bytes(|p| p.write("中")), encode_text("中"));
    }

    #[test]
    fn crate_has_no_code128_so_we_send_gs_k_73() {
        let segs = code128::segments("RC20250308").expect("segments");
        let mut bc = Vec::new();
        code128(&segs, 2, 64, &mut bc);
        let k = bc
            .windows(3)
            .position(|w| w == [GS, b'k', 73])
            .expect("GS k 73");
        assert_eq!(
            bc[k + 3] as usize,
            bc.len() - k - 4,
            "n counts the data bytes"
        );
    }

    #[test]
    fn crate_bytes_we_use_match_the_escpos_spec() {
        assert_eq!(crate_bytes(|p| p.init()), [ESC, b'@']);
        assert_eq!(
            crate_bytes(|p| p
                .justify(JustifyMode::LEFT)?
                .justify(JustifyMode::CENTER)?
                .justify(JustifyMode::RIGHT)),
            [ESC, b'a', 0, ESC, b'a', 1, ESC, b'a', 2]
        );
        assert_eq!(
            crate_bytes(|p| p.bold(true)?.bold(false)),
            [ESC, b'E', 1, ESC, b'E', 0]
        );
        assert_eq!(
            crate_bytes(|p| p.size(1, 2)?.size(1, 1)),
            [GS, b'!', 0x01, GS, b'!', 0x00]
        );
        assert_eq!(crate_bytes(|p| p.feeds(4)), [ESC, b'd', 4]);
        assert_eq!(
            crate_bytes(|p| p.write("Total 12.50 {x}")),
            b"Total 12.50 {x}"
        );
        assert_eq!(crate_bytes(|p| p.custom(&[1, 2, 3])), [1, 2, 3]);
    }

    #[test]
    fn text_goes_through_the_crate_only_when_plain_ascii() {
        let mut p = new_out();
        put_text(&mut p, "A\tB").expect("text");
        put_text(&mut p, "应付 ￥").expect("text");
        put_text(&mut p, "ok").expect("text");
        let bytes = finish(p).expect("print");
        assert_eq!(bytes, b"AB\xd3\xa6\xb8\xb6 \xa3\xa4ok");
    }
}
