//! Receipt layout and printing.
//!
//! The terminal maps a completed sale to a [`ReceiptDoc`] (a layout model that knows nothing of
//! carts or pricing), [`layout()`] turns it into [`LayoutLine`]s for a paper width, and both the
//! ESC/POS encoder ([`escpos::encode`]) and the PNG preview (`crate::preview`) consume those lines.

pub mod bitmap;
pub mod code128;
pub mod escpos;
pub mod font;
mod layout;
pub mod sample;
pub mod width;

pub use bitmap::Bitmap;
pub use layout::{Align, Layout, LayoutLine, Paper, Style, layout};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything a receipt shows, in print order. Amounts are `Decimal`s in currency units; the
/// layout formats them with [`ReceiptDoc::decimals`] places. Empty sections are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReceiptDoc {
    /// Optional logo, PNG (or any format the `image` crate reads with its enabled features):
    /// scaled to fit the paper and dithered to 1 bit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_png: Option<Vec<u8>>,
    /// Store header, centred; the first line is printed bold and double height.
    pub header: Vec<String>,
    /// A centred title under the header, e.g. "销售小票" or "RETURN".
    #[serde(default)]
    pub title: Option<String>,
    /// Receipt no, cashier, time, terminal…: `label  value` lines.
    #[serde(default)]
    pub meta: Vec<LabelValue>,
    /// Column titles of the item table.
    #[serde(default)]
    pub labels: ColumnLabels,
    #[serde(default)]
    pub items: Vec<ItemRow>,
    /// Subtotal, discounts, total…; `emphasis` rows print bold and double height.
    #[serde(default)]
    pub totals: Vec<TotalRow>,
    #[serde(default)]
    pub tax_summary: Vec<TaxRow>,
    /// One line per tender: label (e.g. "现金" / "微信支付") and amount.
    #[serde(default)]
    pub tenders: Vec<AmountLine>,
    #[serde(default)]
    pub change: Option<AmountLine>,
    /// Member number, points earned / balance: `label  value` lines.
    #[serde(default)]
    pub member: Vec<LabelValue>,
    /// Coupons issued or redeemed: free text, wrapped.
    #[serde(default)]
    pub coupons: Vec<String>,
    /// Footer lines, centred and wrapped (return policy, thanks, hotline).
    #[serde(default)]
    pub footer: Vec<String>,
    /// Receipt-number barcode payload (Code 128, printable ASCII), scanned for returns.
    #[serde(default)]
    pub barcode: Option<String>,
    /// Optional QR code (e-receipt or member-join URL) with an optional caption under it.
    #[serde(default)]
    pub qr: Option<QrBlock>,
    /// Decimal places of amounts (2 for CNY).
    #[serde(default = "default_decimals")]
    pub decimals: u32,
}

fn default_decimals() -> u32 {
    2
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LabelValue {
    pub label: String,
    pub value: String,
}

impl LabelValue {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// A label with an amount, right-aligned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountLine {
    pub label: String,
    pub amount: Decimal,
}

impl AmountLine {
    pub fn new(label: impl Into<String>, amount: Decimal) -> Self {
        Self {
            label: label.into(),
            amount,
        }
    }
}

/// Column titles of the item table and the tax summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnLabels {
    pub name: String,
    pub qty: String,
    pub price: String,
    pub amount: String,
    pub tax_rate: String,
    pub taxable: String,
    pub tax: String,
}

impl Default for ColumnLabels {
    fn default() -> Self {
        Self::chinese()
    }
}

impl ColumnLabels {
    pub fn chinese() -> Self {
        Self {
            name: "商品".into(),
            qty: "数量".into(),
            price: "单价".into(),
            amount: "金额".into(),
            tax_rate: "税率".into(),
            taxable: "不含税金额".into(),
            tax: "税额".into(),
        }
    }

    pub fn english() -> Self {
        Self {
            name: "Item".into(),
            qty: "Qty".into(),
            price: "Price".into(),
            amount: "Amount".into(),
            tax_rate: "Rate".into(),
            taxable: "Net".into(),
            tax: "Tax".into(),
        }
    }
}

/// One item line. `amount` is what the row shows on its first line (normally `qty × unit_price`
/// before discounts, which follow as `notes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRow {
    pub name: String,
    pub qty: Decimal,
    /// Unit shown after the quantity, e.g. "kg"; none for pieces.
    #[serde(default)]
    pub unit: Option<String>,
    pub unit_price: Decimal,
    pub amount: Decimal,
    /// Discount / coupon sub-lines, e.g. ("会员9折", -1.20).
    #[serde(default)]
    pub notes: Vec<ItemNote>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemNote {
    pub text: String,
    #[serde(default)]
    pub amount: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalRow {
    pub label: String,
    pub amount: Decimal,
    #[serde(default)]
    pub emphasis: bool,
}

/// One rate of the tax summary. `rate` is a percentage (13 = 13 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRow {
    pub rate: Decimal,
    pub taxable: Decimal,
    pub tax: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrBlock {
    pub data: String,
    #[serde(default)]
    pub caption: Option<String>,
}
