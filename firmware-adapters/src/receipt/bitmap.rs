//! 1-bit images: logos, rasterised text lines, barcodes in previews.

use image::{DynamicImage, GrayImage, imageops::FilterType};

/// A 1-bit image, rows packed MSB first (the bit layout of ESC/POS `GS v 0`), 1 = black.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitmap({}x{})", self.width, self.height)
    }
}

impl Bitmap {
    /// A white image.
    pub fn new(width: u32, height: u32) -> Self {
        let row = width.div_ceil(8) as usize;
        Self {
            width,
            height,
            data: vec![0; row * height as usize],
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row (`ceil(width / 8)`).
    pub fn row_bytes(&self) -> usize {
        self.width.div_ceil(8) as usize
    }

    /// Packed rows, `row_bytes() * height()` bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let i = y as usize * self.row_bytes() + (x / 8) as usize;
        self.data.get(i).is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }

    /// Set a pixel; outside the image it is ignored.
    pub fn set(&mut self, x: u32, y: u32, black: bool) {
        if x >= self.width || y >= self.height {
            return;
        }
        let i = y as usize * self.row_bytes() + (x / 8) as usize;
        if let Some(b) = self.data.get_mut(i) {
            if black {
                *b |= 0x80 >> (x % 8);
            } else {
                *b &= !(0x80 >> (x % 8));
            }
        }
    }

    pub fn fill_rect(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                self.set(xx, yy, true);
            }
        }
    }

    /// Black pixels set in `other` are drawn at (x, y).
    pub fn draw(&mut self, other: &Bitmap, x: u32, y: u32) {
        for yy in 0..other.height {
            for xx in 0..other.width {
                if other.get(xx, yy) {
                    self.set(x + xx, y + yy, true);
                }
            }
        }
    }

    /// This image centred horizontally on a white image `width` dots wide.
    pub fn centred_in(&self, width: u32) -> Bitmap {
        if self.width >= width {
            return self.clone();
        }
        let mut out = Bitmap::new(width, self.height);
        out.draw(self, (width - self.width) / 2, 0);
        out
    }

    /// Every row repeated `factor` times (double-height printing).
    pub fn stretched_vertically(&self, factor: u32) -> Bitmap {
        let factor = factor.max(1);
        let mut out = Bitmap::new(self.width, self.height * factor);
        let rb = self.row_bytes();
        for y in 0..self.height as usize {
            let row = &self.data[y * rb..(y + 1) * rb];
            for k in 0..factor as usize {
                let start = (y * factor as usize + k) * rb;
                out.data[start..start + rb].copy_from_slice(row);
            }
        }
        out
    }

    pub fn black_pixels(&self) -> usize {
        self.data.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Decode an image (PNG), composite transparency over white, scale it down to at most
    /// `max_width` dots (aspect kept) and dither it to 1 bit with Floyd–Steinberg.
    pub fn from_image_dithered(bytes: &[u8], max_width: u32) -> Result<Bitmap, image::ImageError> {
        let img = image::load_from_memory(bytes)?;
        Ok(Self::dither(&img, max_width))
    }

    pub fn dither(img: &DynamicImage, max_width: u32) -> Bitmap {
        let rgba = img.to_rgba8();
        let (w, h) = rgba.dimensions();
        let mut gray = GrayImage::new(w, h);
        for (x, y, p) in rgba.enumerate_pixels() {
            let [r, g, b, a] = p.0;
            let luma = (299 * r as u32 + 587 * g as u32 + 114 * b as u32) / 1000;
            // Over white: transparent pixels are paper.
            let v = (luma * a as u32 + 255 * (255 - a as u32)) / 255;
            gray.put_pixel(x, y, image::Luma([v as u8]));
        }
        let gray = if w > max_width && max_width > 0 {
            let nh = ((h as u64 * max_width as u64) / w as u64).max(1) as u32;
            image::imageops::resize(&gray, max_width, nh, FilterType::Triangle)
        } else {
            gray
        };
        let (w, h) = gray.dimensions();
        let mut err: Vec<f32> = gray.pixels().map(|p| p.0[0] as f32).collect();
        let mut out = Bitmap::new(w, h);
        let (wi, hi) = (w as usize, h as usize);
        for y in 0..hi {
            for x in 0..wi {
                let i = y * wi + x;
                let old = err[i];
                let new = if old < 128.0 { 0.0 } else { 255.0 };
                if new == 0.0 {
                    out.set(x as u32, y as u32, true);
                }
                let e = old - new;
                if x + 1 < wi {
                    err[i + 1] += e * 7.0 / 16.0;
                }
                if y + 1 < hi {
                    if x > 0 {
                        err[i + wi - 1] += e * 3.0 / 16.0;
                    }
                    err[i + wi] += e * 5.0 / 16.0;
                    if x + 1 < wi {
                        err[i + wi + 1] += e * 1.0 / 16.0;
                    }
                }
            }
        }
        out
    }

    /// As an 8-bit grey image (black = 0, white = 255), for previews.
    pub fn to_gray_image(&self) -> GrayImage {
        GrayImage::from_fn(self.width, self.height, |x, y| {
            image::Luma([if self.get(x, y) { 0 } else { 255 }])
        })
    }
}
