//! Catalog items as the till sees them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How an item is sold: by the piece, or weighed (decimal quantity in kg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Piece,
    Kg,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Piece => "piece",
            Unit::Kg => "kg",
        }
    }

    pub fn parse(s: &str) -> Option<Unit> {
        match s.trim().to_ascii_lowercase().as_str() {
            "piece" | "pc" | "pcs" | "ea" | "each" | "件" | "个" => Some(Unit::Piece),
            "kg" | "kilogram" | "公斤" | "千克" => Some(Unit::Kg),
            _ => None,
        }
    }

    /// Decimal places allowed in a quantity of this unit (grams for kg).
    pub fn quantity_scale(self) -> u32 {
        match self {
            Unit::Piece => 0,
            Unit::Kg => 3,
        }
    }
}

/// A product with its tax rate resolved from its tax class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub barcodes: Vec<String>,
    #[serde(default)]
    pub category: String,
    pub tax_class: String,
    /// Tax rate as a fraction: 0.13 for 13 % VAT.
    pub tax_rate: Decimal,
    #[serde(default)]
    pub unit: Unit,
    /// Shelf price per unit (per piece or per kg).
    pub price: Decimal,
}

/// A tax class and its rate (fraction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxClass {
    pub code: String,
    pub rate: Decimal,
    #[serde(default)]
    pub name: String,
}
