//! Store settings that change how a sale is priced and reported.

use crate::money::{Currency, RoundingMode};
use crate::points::Loyalty;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Whether shelf prices include tax (China: VAT-inclusive) or tax is added on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    #[default]
    Inclusive,
    Exclusive,
}

/// Where tax is rounded to minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaxRounding {
    /// Each line's tax is rounded; the order's tax is the sum of the lines.
    #[default]
    PerLine,
    /// Tax is rounded once per rate over the whole order, then allocated back to the lines
    /// of that rate by the allocation rule so that lines still sum to the order.
    PerOrder,
}

/// The store's language for receipts and defaults (the UI can switch per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Zh,
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSettings {
    pub store_code: String,
    pub store_name: String,
    #[serde(default)]
    pub store_name_en: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub tax_id: String,
    pub currency: Currency,
    #[serde(default)]
    pub rounding: RoundingMode,
    #[serde(default)]
    pub tax_mode: TaxMode,
    #[serde(default)]
    pub tax_rounding: TaxRounding,
    /// Cash rounding step (0.05 or 0.10) applied to cash tenders only, or none.
    #[serde(default)]
    pub cash_rounding: Option<Decimal>,
    /// Offset of the store's local time from UTC, used for "sales by hour".
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    /// A line or order discount above this percentage needs a manager.
    #[serde(default = "default_large_discount")]
    pub large_discount_percent: Decimal,
    /// Language of printed receipts.
    #[serde(default)]
    pub language: Language,
    /// QR code printed on receipts (an e-receipt or member-join page); `{receipt_no}` is
    /// replaced by the receipt number. None: no QR.
    #[serde(default)]
    pub receipt_qr: Option<String>,
    /// The store's position (WGS-84 degrees), for location-based coupons.
    #[serde(default)]
    pub latitude: Option<Decimal>,
    #[serde(default)]
    pub longitude: Option<Decimal>,
    /// Points: earning, redeeming (积分抵现) and tiers.
    #[serde(default)]
    pub loyalty: Loyalty,
    /// A till left without use this long signs its user out (the next request asks for the
    /// PIN again; open carts stay). 0: never.
    #[serde(default = "default_session_idle")]
    pub session_idle_minutes: u32,
}

fn default_offset() -> i32 {
    480
}

fn default_session_idle() -> u32 {
    30
}

fn default_large_discount() -> Decimal {
    Decimal::from(20)
}

impl StoreSettings {
    /// Hangzhou defaults: CNY, VAT-inclusive, per-line tax rounding, half-up.
    pub fn new(store_code: &str, store_name: &str) -> Self {
        StoreSettings {
            store_code: store_code.into(),
            store_name: store_name.into(),
            store_name_en: String::new(),
            address: String::new(),
            tax_id: String::new(),
            currency: Currency::cny(),
            rounding: RoundingMode::HalfUp,
            tax_mode: TaxMode::Inclusive,
            tax_rounding: TaxRounding::PerLine,
            cash_rounding: None,
            utc_offset_minutes: default_offset(),
            large_discount_percent: default_large_discount(),
            language: Language::Zh,
            receipt_qr: None,
            latitude: None,
            longitude: None,
            loyalty: Loyalty::default(),
            session_idle_minutes: default_session_idle(),
        }
    }

    pub fn minor_units(&self) -> u32 {
        self.currency.minor_units
    }
}
