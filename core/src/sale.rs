//! Completed documents: sales and returns, immutable once committed.

use crate::auth::Override;
use crate::cart::{Cart, CartError, PricedLine};
use crate::coupon::CouponDiscount;
use crate::pricing::{Discount, TaxSummaryLine, Totals};
use crate::promo::PromoApplication;
use crate::settings::StoreSettings;
use crate::tender::{TenderKind, applied_amounts};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SaleKind {
    Sale,
    Return,
}

impl SaleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SaleKind::Sale => "sale",
            SaleKind::Return => "return",
        }
    }
}

/// A tender on a completed document. `applied` is what was kept (cash minus change) for a sale,
/// or what was paid back for a return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderLine {
    pub tender_id: u32,
    pub kind: TenderKind,
    pub amount: Decimal,
    pub applied: Decimal,
    #[serde(default)]
    pub reference: Option<String>,
    /// Points tender: points used (a sale) or given back (a return).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// Who, where and when: passed in by the caller (core reads no clock and makes no ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocContext {
    pub sale_id: String,
    pub receipt_no: String,
    pub store_code: String,
    pub terminal_id: String,
    pub shift_id: String,
    pub cashier_id: String,
    pub completed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalRef {
    pub sale_id: String,
    pub receipt_no: String,
}

/// A completed sale or return. Amounts of a return are positive; its kind gives the sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub kind: SaleKind,
    #[serde(flatten)]
    pub ctx: DocContext,
    pub currency: String,
    pub lines: Vec<PricedLine>,
    #[serde(default)]
    pub order_discount: Option<Discount>,
    pub tax_summary: Vec<TaxSummaryLine>,
    pub totals: Totals,
    pub tenders: Vec<TenderLine>,
    pub rounding: Decimal,
    pub change: Decimal,
    #[serde(default)]
    pub member_id: Option<String>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// For a return: the sale it returns from (none for a return without receipt).
    #[serde(default)]
    pub original: Option<OriginalRef>,
    /// Promotions that applied, with their per-line amounts (for the receipt).
    #[serde(default)]
    pub promotions: Vec<PromoApplication>,
    /// Coupons redeemed, with their per-line amounts.
    #[serde(default)]
    pub coupons: Vec<CouponDiscount>,
    /// Member points this document earned (a sale) or took back (a return, negative).
    #[serde(default)]
    pub member_points: i64,
}

impl Sale {
    /// Amount the customer paid (sale) or got back (return), cash rounding included.
    pub fn settled(&self) -> Decimal {
        self.totals.total + self.rounding
    }

    /// +1 for sales, -1 for returns.
    pub fn sign(&self) -> Decimal {
        match self.kind {
            SaleKind::Sale => Decimal::ONE,
            SaleKind::Return => Decimal::NEGATIVE_ONE,
        }
    }
}

/// Turn a fully paid cart into a completed sale.
pub fn complete_sale(
    cart: &Cart,
    settings: &StoreSettings,
    ctx: DocContext,
) -> Result<Sale, CartError> {
    let priced = cart.ready_to_complete(settings)?;
    let applied = applied_amounts(&cart.tenders, priced.payment.change);
    let tenders = cart
        .tenders
        .iter()
        .zip(applied)
        .map(|(t, applied)| TenderLine {
            tender_id: t.tender_id,
            kind: t.kind,
            amount: t.amount,
            applied,
            reference: t.reference.clone(),
            points: t.points,
        })
        .collect();
    Ok(Sale {
        kind: SaleKind::Sale,
        ctx,
        currency: settings.currency.code.clone(),
        lines: priced
            .lines
            .into_iter()
            .filter(|l| !l.line.voided)
            .collect(),
        order_discount: cart.order_discount.clone(),
        tax_summary: priced.tax_summary,
        totals: priced.totals,
        tenders,
        rounding: priced.payment.rounding,
        change: priced.payment.change,
        member_id: cart.member_id.clone(),
        overrides: cart.overrides.clone(),
        original: None,
        promotions: cart
            .promotions
            .as_ref()
            .map(|p| p.applications.clone())
            .unwrap_or_default(),
        coupons: cart.coupons.clone(),
        member_points: 0,
    })
}

/// Receipt barcode payload (Code 128) for a receipt number; scanning it finds the sale.
pub fn receipt_barcode(receipt_no: &str) -> String {
    format!("RC{receipt_no}")
}

/// Receipt number from a typed receipt number or a scanned receipt barcode.
pub fn receipt_no_from_input(input: &str) -> String {
    let s = input.trim();
    s.strip_prefix("RC").unwrap_or(s).to_string()
}
