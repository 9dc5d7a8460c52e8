//! The CJK font used to rasterise text: for printers without a Chinese font (raster mode) and
//! for PNG previews. Text is drawn on the printer's own grid (12 × 24-dot cells, a CJK
//! character takes two) so raster and preview lines line up exactly like printed text.

use super::bitmap::Bitmap;
use super::layout::{Align, Paper, Style};
use super::width::char_width;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where a CJK font is looked for when none is configured (Debian/Ubuntu, Fedora, macOS,
/// Windows).
pub const FONT_SEARCH_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simhei.ttf",
];

#[derive(Debug, Error)]
pub enum FontError {
    #[error("cannot read font file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a usable font: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error(
        "no CJK font found: configure a font path or install one (Debian: apt-get install fonts-wqy-microhei); tried {tried:?}"
    )]
    NotFound { tried: Vec<PathBuf> },
}

/// Text line height in dots: 24-dot glyph cell plus 6 dots of line spacing (the printer's
/// default spacing of 30 dots).
pub const LINE_DOTS: u32 = 30;
const GLYPH_DOTS: u32 = 24;
const GLYPH_PX: f32 = 22.0;

pub struct CjkFont {
    font: fontdue::Font,
    path: PathBuf,
}

impl std::fmt::Debug for CjkFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CjkFont").field("path", &self.path).finish()
    }
}

impl CjkFont {
    /// Load the configured font, or else the first of [`FONT_SEARCH_PATHS`] that exists.
    pub fn load(configured: Option<&Path>) -> Result<CjkFont, FontError> {
        if let Some(p) = configured {
            return Self::from_path(p);
        }
        let mut tried = Vec::new();
        for p in FONT_SEARCH_PATHS {
            let p = Path::new(p);
            if p.is_file() {
                return Self::from_path(p);
            }
            tried.push(p.to_path_buf());
        }
        Err(FontError::NotFound { tried })
    }

    pub fn from_path(path: &Path) -> Result<CjkFont, FontError> {
        let bytes = std::fs::read(path).map_err(|source| FontError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let settings = fontdue::FontSettings {
            collection_index: 0,
            scale: GLYPH_PX,
            load_substitutions: false,
        };
        let font =
            fontdue::Font::from_bytes(bytes, settings).map_err(|reason| FontError::Parse {
                path: path.to_path_buf(),
                reason: reason.to_string(),
            })?;
        if !font.has_glyph('中') {
            return Err(FontError::Parse {
                path: path.to_path_buf(),
                reason: "it has no Chinese glyphs".into(),
            });
        }
        tracing::debug!(path = %path.display(), "CJK font loaded");
        Ok(CjkFont {
            font,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One text line as a bitmap `paper.dots()` wide and [`LINE_DOTS`] (double height: twice
    /// that) high, each character centred in its 12- or 24-dot cell.
    pub fn render_line(&self, text: &str, style: Style, paper: Paper) -> Bitmap {
        let cell = paper.cell_dots();
        let dots = paper.dots();
        let text_w: u32 = text.chars().map(|c| char_width(c) as u32).sum::<u32>() * cell;
        let x0 = match style.align {
            Align::Left => 0,
            Align::Center => dots.saturating_sub(text_w) / 2,
            Align::Right => dots.saturating_sub(text_w),
        };
        let mut line = Bitmap::new(dots, LINE_DOTS);
        let (ascent, descent) = self
            .font
            .horizontal_line_metrics(GLYPH_PX)
            .map(|m| (m.ascent, m.descent))
            .unwrap_or((GLYPH_PX * 0.8, -GLYPH_PX * 0.2));
        // Baseline so that the font's ascent..descent box is centred in the 24-dot cell.
        let baseline = ((GLYPH_DOTS as f32 - (ascent - descent)) / 2.0 + ascent).round() as i32;
        let mut x = x0 as i32;
        for c in text.chars() {
            let cols = char_width(c) as i32;
            if cols == 0 {
                continue;
            }
            let cell_w = cols * cell as i32;
            if c != ' ' {
                let (m, cov) = self.font.rasterize(c, GLYPH_PX);
                // Glyphs wider than their cell (m, W in a 12-dot cell) are squeezed
                // horizontally, keeping their height.
                let sx = if m.width as i32 > cell_w - 1 && m.width > 0 {
                    (cell_w - 1) as f32 / m.width as f32
                } else {
                    1.0
                };
                let drawn_w = (m.width as f32 * sx).round() as i32;
                let gx = if sx < 1.0 {
                    x + (cell_w - drawn_w) / 2
                } else {
                    x + (cell_w - m.advance_width.round() as i32) / 2 + m.xmin
                };
                let gy = baseline - (m.height as i32 + m.ymin);
                for yy in 0..m.height {
                    for xx in 0..m.width {
                        if cov[yy * m.width + xx] >= 100 {
                            let px = gx + (xx as f32 * sx) as i32;
                            let py = gy + yy as i32;
                            if px >= 0 && py >= 0 {
                                line.set(px as u32, py as u32, true);
                                if style.bold {
                                    line.set(px as u32 + 1, py as u32, true);
                                }
                            }
                        }
                    }
                }
            }
            x += cell_w;
        }
        if style.double_height {
            line.stretched_vertically(2)
        } else {
            line
        }
    }
}
