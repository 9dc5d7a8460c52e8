//! Text layout: a [`ReceiptDoc`] becomes a list of [`LayoutLine`]s for a paper width.

use super::bitmap::Bitmap;
use super::width::{pad_left, pad_right, str_width, wrap};
use super::{ItemRow, ReceiptDoc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Paper roll width. Both use the printer's 12 × 24-dot font: 32 or 48 columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    /// 58 mm roll: 384 dots, 32 columns.
    Mm58,
    /// 80 mm roll: 576 dots, 48 columns.
    #[default]
    Mm80,
}

impl Paper {
    /// Printable width in dots (203 dpi).
    pub fn dots(self) -> u32 {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }

    /// Columns of the 12-dot ASCII font (a CJK character takes two).
    pub fn columns(self) -> usize {
        match self {
            Paper::Mm58 => 32,
            Paper::Mm80 => 48,
        }
    }

    /// Dots per column.
    pub fn cell_dots(self) -> u32 {
        self.dots() / self.columns() as u32
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Style {
    pub bold: bool,
    pub double_height: bool,
    pub align: Align,
}

impl Style {
    pub const PLAIN: Style = Style {
        bold: false,
        double_height: false,
        align: Align::Left,
    };

    fn centred() -> Self {
        Style {
            align: Align::Center,
            ..Style::PLAIN
        }
    }
}

/// One printed line (or block) of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutLine {
    /// Text of at most `paper.columns()` columns; left-aligned lines are already padded into
    /// their columns (trailing spaces trimmed), centred/right lines are placed by the printer.
    Text { text: String, style: Style },
    /// Code 128 barcode with human-readable text under it, centred.
    Barcode { data: String },
    /// QR code (model 2), centred.
    Qr { data: String },
    /// A 1-bit image exactly `paper.dots()` wide (content already centred).
    Image(Bitmap),
}

impl LayoutLine {
    fn text(text: impl Into<String>, style: Style) -> Self {
        LayoutLine::Text {
            text: text.into(),
            style,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub paper: Paper,
    pub lines: Vec<LayoutLine>,
    /// Things left out (e.g. a logo that could not be read), for the log and the back office.
    pub warnings: Vec<String>,
}

impl Layout {
    /// The text lines only (what a customer reads), for tests and logs.
    pub fn text_lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| match l {
                LayoutLine::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Drop control characters (so a product name can never smuggle printer commands) and turn
/// tabs into spaces.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            '\n' => Some('\n'),
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => None,
            c => Some(c),
        })
        .collect()
}

fn money(d: Decimal, dp: u32) -> String {
    format!("{:.*}", dp as usize, d.round_dp(dp))
}

fn qty_text(q: Decimal, unit: Option<&str>) -> String {
    let mut s = q.normalize().to_string();
    if let Some(u) = unit {
        s.push_str(&clean(u));
    }
    s
}

/// `label ........ value` on one line, or the label wrapped and the value right-aligned on the
/// next line when both do not fit.
fn justify(label: &str, value: &str, cols: usize, style: Style, out: &mut Vec<LayoutLine>) {
    let (label, value) = (clean(label), clean(value));
    let (lw, vw) = (str_width(&label), str_width(&value));
    if lw + 1 + vw <= cols {
        let gap = cols - lw - vw;
        out.push(LayoutLine::text(
            format!("{label}{}{value}", " ".repeat(gap)),
            style,
        ));
    } else {
        for l in wrap(&label, cols) {
            out.push(LayoutLine::text(l, style));
        }
        for v in wrap(&value, cols) {
            out.push(LayoutLine::text(pad_left(&v, cols), style));
        }
    }
}

fn centred(text: &str, cols: usize, style: Style, out: &mut Vec<LayoutLine>) {
    for l in wrap(&clean(text), cols) {
        out.push(LayoutLine::text(l.trim().to_string(), style));
    }
}

/// Column widths of the item table: name, qty, unit price (0 = price on a sub-line), amount.
struct ItemColumns {
    name: usize,
    qty: usize,
    price: usize,
    amount: usize,
}

impl ItemColumns {
    fn for_paper(paper: Paper) -> Self {
        match paper {
            Paper::Mm58 => ItemColumns {
                name: 16,
                qty: 6,
                price: 0,
                amount: 10,
            },
            Paper::Mm80 => ItemColumns {
                name: 22,
                qty: 8,
                price: 9,
                amount: 9,
            },
        }
    }
}

fn item_lines(item: &ItemRow, dp: u32, c: &ItemColumns, cols: usize, out: &mut Vec<LayoutLine>) {
    let qty = qty_text(item.qty, item.unit.as_deref());
    let price = money(item.unit_price, dp);
    let amount = money(item.amount, dp);
    // Numeric cells keep at least one space before them; a wide quantity borrows columns
    // from the name on the first line.
    let cell = |text: &str, w: usize| pad_left(text, w.max(str_width(text) + 1));
    let mut numbers = cell(&qty, c.qty);
    if c.price > 0 {
        numbers.push_str(&cell(&price, c.price));
    }
    numbers.push_str(&cell(&amount, c.amount));
    let name = clean(&item.name);
    let first_w = cols.saturating_sub(str_width(&numbers));
    if first_w >= 8 {
        let mut parts = wrap(&name, first_w - 1).into_iter();
        let first = parts.next().unwrap_or_default();
        out.push(LayoutLine::text(
            format!("{}{numbers}", pad_right(&first, first_w)),
            Style::PLAIN,
        ));
        for part in parts {
            out.push(LayoutLine::text(part, Style::PLAIN));
        }
    } else {
        for part in wrap(&name, cols) {
            out.push(LayoutLine::text(part, Style::PLAIN));
        }
        for part in wrap(numbers.trim_start(), cols) {
            out.push(LayoutLine::text(pad_left(&part, cols), Style::PLAIN));
        }
    }
    if c.price == 0 && (item.qty != Decimal::ONE || item.unit.is_some()) {
        out.push(LayoutLine::text(format!("  @{price}"), Style::PLAIN));
    }
    for note in &item.notes {
        let label = format!("  {}", clean(&note.text));
        match note.amount {
            Some(a) => justify(&label, &money(a, dp), cols, Style::PLAIN, out),
            None => {
                for part in wrap(&label, cols) {
                    out.push(LayoutLine::text(part, Style::PLAIN));
                }
            }
        }
    }
}

/// Lay a receipt out for a paper width. Never fails: a logo that cannot be read is left out
/// and reported in [`Layout::warnings`].
pub fn layout(doc: &ReceiptDoc, paper: Paper) -> Layout {
    let cols = paper.columns();
    let dp = doc.decimals.min(8);
    let sep = || LayoutLine::text("-".repeat(cols), Style::PLAIN);
    let mut out = Vec::new();
    let mut warnings = Vec::new();

    if let Some(png) = &doc.logo_png {
        match Bitmap::from_image_dithered(png, paper.dots()) {
            Ok(img) => out.push(LayoutLine::Image(img.centred_in(paper.dots()))),
            Err(e) => {
                tracing::warn!(error = %e, "receipt logo left out");
                warnings.push(format!("logo left out: {e}"));
            }
        }
    }

    for (i, h) in doc.header.iter().enumerate() {
        let style = if i == 0 {
            Style {
                bold: true,
                double_height: true,
                align: Align::Center,
            }
        } else {
            Style::centred()
        };
        centred(h, cols, style, &mut out);
    }
    if let Some(title) = &doc.title {
        let style = Style {
            bold: true,
            ..Style::centred()
        };
        centred(title, cols, style, &mut out);
    }
    if !doc.meta.is_empty() {
        out.push(sep());
        for m in &doc.meta {
            justify(&m.label, &m.value, cols, Style::PLAIN, &mut out);
        }
    }

    if !doc.items.is_empty() {
        let c = ItemColumns::for_paper(paper);
        let l = &doc.labels;
        out.push(sep());
        let name_head = wrap(&clean(&l.name), c.name - 1)
            .into_iter()
            .next()
            .unwrap_or_default();
        let mut head = pad_right(&name_head, c.name);
        head.push_str(&pad_left(&clean(&l.qty), c.qty));
        if c.price > 0 {
            head.push_str(&pad_left(&clean(&l.price), c.price));
        }
        head.push_str(&pad_left(&clean(&l.amount), c.amount));
        out.push(LayoutLine::text(head, Style::PLAIN));
        for item in &doc.items {
            item_lines(item, dp, &c, cols, &mut out);
        }
    }

    if !doc.totals.is_empty() {
        out.push(sep());
        for t in &doc.totals {
            let style = Style {
                bold: t.emphasis,
                double_height: t.emphasis,
                align: Align::Left,
            };
            justify(&t.label, &money(t.amount, dp), cols, style, &mut out);
        }
    }

    if !doc.tax_summary.is_empty() {
        out.push(sep());
        let (rw, vw) = match paper {
            Paper::Mm58 => (8, 12),
            Paper::Mm80 => (12, 18),
        };
        let l = &doc.labels;
        let head = format!(
            "{}{}{}",
            pad_right(&clean(&l.tax_rate), rw),
            pad_left(&clean(&l.taxable), vw),
            pad_left(&clean(&l.tax), vw)
        );
        out.push(LayoutLine::text(head, Style::PLAIN));
        for t in &doc.tax_summary {
            let rate = format!("{}%", t.rate.normalize());
            let row = format!(
                "{}{}{}",
                pad_right(&rate, rw),
                pad_left(&money(t.taxable, dp), vw),
                pad_left(&money(t.tax, dp), vw)
            );
            out.push(LayoutLine::text(row, Style::PLAIN));
        }
    }

    if !doc.tenders.is_empty() || doc.change.is_some() {
        out.push(sep());
        for t in &doc.tenders {
            justify(&t.label, &money(t.amount, dp), cols, Style::PLAIN, &mut out);
        }
        if let Some(c) = &doc.change {
            justify(&c.label, &money(c.amount, dp), cols, Style::PLAIN, &mut out);
        }
    }

    if !doc.member.is_empty() || !doc.coupons.is_empty() {
        out.push(sep());
        for m in &doc.member {
            justify(&m.label, &m.value, cols, Style::PLAIN, &mut out);
        }
        for c in &doc.coupons {
            for part in wrap(&clean(c), cols) {
                out.push(LayoutLine::text(part, Style::PLAIN));
            }
        }
    }

    if !doc.footer.is_empty() {
        out.push(sep());
        for f in &doc.footer {
            centred(f, cols, Style::centred(), &mut out);
        }
    }

    if let Some(code) = &doc.barcode {
        match super::code128::segments(code) {
            Ok(_) => out.push(LayoutLine::Barcode { data: code.clone() }),
            Err(e) => {
                tracing::warn!(error = %e, "receipt barcode left out");
                warnings.push(format!("barcode left out: {e}"));
            }
        }
    }
    if let Some(qr) = &doc.qr {
        if qr.data.is_empty() || qr.data.len() > 700 || qr.data.chars().any(char::is_control) {
            warnings.push(format!(
                "QR code left out: {} bytes of data (1..=700, no control characters)",
                qr.data.len()
            ));
        } else {
            out.push(LayoutLine::Qr {
                data: qr.data.clone(),
            });
            if let Some(caption) = &qr.caption {
                centred(caption, cols, Style::centred(), &mut out);
            }
        }
    }

    // Left-aligned lines carry no trailing spaces (fewer bytes, same paper).
    for line in &mut out {
        if let LayoutLine::Text { text, .. } = line {
            let trimmed = text.trim_end().len();
            text.truncate(trimmed);
        }
    }
    Layout {
        paper,
        lines: out,
        warnings,
    }
}
