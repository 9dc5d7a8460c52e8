//! A PNG picture of a receipt, drawn from the same [`Layout`] the printer gets, at the paper's
//! dot width (1 pixel = 1 printer dot).

use crate::receipt::bitmap::Bitmap;
use crate::receipt::code128;
use crate::receipt::escpos::{QrEc, barcode_module};
use crate::receipt::font::{CjkFont, FontError, LINE_DOTS};
use crate::receipt::{Layout, LayoutLine, Paper, ReceiptDoc, Style, layout};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PreviewError {
    #[error(transparent)]
    Font(#[from] FontError),
    #[error("QR code: {0}")]
    Qr(String),
    #[error("barcode: {0}")]
    Barcode(#[from] code128::BarcodeError),
    #[error("PNG: {0}")]
    Png(#[from] image::ImageError),
}

#[derive(Debug, Clone, Copy)]
pub struct PreviewOptions {
    /// QR module size in dots (as `GS ( k` fn 167).
    pub qr_module: u32,
    pub qr_ec: QrEc,
    pub barcode_height: u32,
}

impl PreviewOptions {
    pub fn for_paper(paper: Paper) -> Self {
        PreviewOptions {
            qr_module: match paper {
                Paper::Mm58 => 5,
                Paper::Mm80 => 6,
            },
            qr_ec: QrEc::M,
            barcode_height: 64,
        }
    }
}

const MARGIN_TOP: u32 = 16;
const MARGIN_BOTTOM: u32 = 48;

fn qr_bitmap(data: &str, module: u32, ec: QrEc) -> Result<Bitmap, PreviewError> {
    let level = match ec {
        QrEc::L => qrcode::EcLevel::L,
        QrEc::M => qrcode::EcLevel::M,
        QrEc::Q => qrcode::EcLevel::Q,
        QrEc::H => qrcode::EcLevel::H,
    };
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), level)
        .map_err(|e| PreviewError::Qr(e.to_string()))?;
    let n = code.width() as u32;
    let colors = code.to_colors();
    let quiet = 4;
    let mut bm = Bitmap::new((n + 2 * quiet) * module, (n + 2 * quiet) * module);
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i as u32 % n, i as u32 / n);
            bm.fill_rect((x + quiet) * module, (y + quiet) * module, module, module);
        }
    }
    Ok(bm)
}

fn barcode_bitmap(data: &str, paper: Paper, height: u32) -> Result<Bitmap, PreviewError> {
    let modules = code128::modules(data)?;
    let w = u32::from(barcode_module(data, paper)?);
    let mut bm = Bitmap::new(modules.len() as u32 * w, height);
    for (i, bar) in modules.iter().enumerate() {
        if *bar {
            bm.fill_rect(i as u32 * w, 0, w, height);
        }
    }
    Ok(bm)
}

/// Draw a laid-out receipt as a 1-bit image.
pub fn render(
    layout: &Layout,
    font: &CjkFont,
    opts: PreviewOptions,
) -> Result<Bitmap, PreviewError> {
    let paper = layout.paper;
    let dots = paper.dots();
    let centred = Style {
        align: crate::receipt::Align::Center,
        ..Style::PLAIN
    };
    let mut blocks: Vec<Bitmap> = Vec::new();
    for line in &layout.lines {
        match line {
            LayoutLine::Text { text, style } => blocks.push(font.render_line(text, *style, paper)),
            LayoutLine::Barcode { data } => {
                blocks.push(Bitmap::new(dots, 8));
                blocks.push(barcode_bitmap(data, paper, opts.barcode_height)?.centred_in(dots));
                blocks.push(font.render_line(data, centred, paper));
            }
            LayoutLine::Qr { data } => {
                blocks.push(qr_bitmap(data, opts.qr_module, opts.qr_ec)?.centred_in(dots));
            }
            LayoutLine::Image(img) => blocks.push(img.centred_in(dots)),
        }
    }
    let height = MARGIN_TOP + blocks.iter().map(Bitmap::height).sum::<u32>() + MARGIN_BOTTOM;
    let mut page = Bitmap::new(dots, height.max(LINE_DOTS));
    let mut y = MARGIN_TOP;
    for b in &blocks {
        page.draw(b, 0, y);
        y += b.height();
    }
    Ok(page)
}

/// PNG bytes of a receipt's preview. `font_path`: the configured CJK font, or none to search
/// the usual places.
pub fn render_png(
    doc: &ReceiptDoc,
    paper: Paper,
    font_path: Option<&Path>,
) -> Result<Vec<u8>, PreviewError> {
    let font = CjkFont::load(font_path)?;
    let lay = layout(doc, paper);
    png_bytes(&render(&lay, &font, PreviewOptions::for_paper(paper))?)
}

/// Encode a bitmap as a greyscale PNG.
pub fn png_bytes(page: &Bitmap) -> Result<Vec<u8>, PreviewError> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(page.to_gray_image())
        .write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}
