//! Shared fixtures for the integration tests of `tillstone-core`.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use tillstone_core::auth::{Actor, Role};
use tillstone_core::cart::Cart;
use tillstone_core::catalog::{Product, Unit};
use tillstone_core::money::RoundingMode;
use tillstone_core::pricing::{Discount, DiscountValue};
use tillstone_core::sale::{DocContext, Sale, complete_sale};
use tillstone_core::settings::{StoreSettings, TaxMode, TaxRounding};
use tillstone_core::tender::TenderKind;

/// Hangzhou defaults: CNY, VAT-inclusive, per-line tax, half-up, no cash rounding.
pub fn settings() -> StoreSettings {
    StoreSettings::new("HZ01", "西湖店")
}

pub fn settings_with(
    tax_mode: TaxMode,
    tax_rounding: TaxRounding,
    rounding: RoundingMode,
    cash_rounding: Option<Decimal>,
) -> StoreSettings {
    let mut s = settings();
    s.tax_mode = tax_mode;
    s.tax_rounding = tax_rounding;
    s.rounding = rounding;
    s.cash_rounding = cash_rounding;
    s
}

pub fn product(sku: &str, price: Decimal, rate: Decimal, unit: Unit) -> Product {
    product_in(sku, price, rate, unit, "grocery")
}

pub fn product_in(sku: &str, price: Decimal, rate: Decimal, unit: Unit, category: &str) -> Product {
    Product {
        sku: sku.into(),
        name: format!("商品 {sku}"),
        name_en: format!("Item {sku}"),
        barcodes: vec![format!("69{sku}")],
        category: category.into(),
        tax_class: format!("VAT{rate}"),
        tax_rate: rate,
        unit,
        price,
    }
}

pub fn actor(id: &str, role: Role) -> Actor {
    Actor {
        user_id: id.into(),
        name: id.to_uppercase(),
        role,
    }
}

pub fn cashier() -> Actor {
    actor("c001", Role::Cashier)
}

pub fn manager() -> Actor {
    actor("m001", Role::Manager)
}

pub fn pct(p: Decimal, reason: &str) -> Discount {
    Discount {
        value: DiscountValue::Percent(p),
        reason: reason.into(),
        approved_by: None,
        approved_percent: None,
    }
}

pub fn amount(a: Decimal, reason: &str) -> Discount {
    Discount {
        value: DiscountValue::Amount(a),
        reason: reason.into(),
        approved_by: None,
        approved_percent: None,
    }
}

pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

pub fn ctx(sale_id: &str, cashier_id: &str, completed_at: DateTime<Utc>) -> DocContext {
    DocContext {
        sale_id: sale_id.into(),
        receipt_no: format!("R-{sale_id}"),
        store_code: "HZ01".into(),
        terminal_id: "T1".into(),
        shift_id: "SH1".into(),
        cashier_id: cashier_id.into(),
        completed_at,
    }
}

pub fn ctx_simple(sale_id: &str) -> DocContext {
    ctx(sale_id, "c001", at(2025, 3, 1, 2, 0))
}

/// Pay the cart with the given tenders and complete it.
pub fn pay_and_complete(
    cart: &mut Cart,
    tenders: &[(TenderKind, Decimal)],
    settings: &StoreSettings,
    ctx: DocContext,
) -> Sale {
    for (i, (kind, amount)) in tenders.iter().enumerate() {
        let reference = kind.needs_reference().then(|| format!("REF{i}"));
        cart.add_tender(*kind, *amount, reference, settings)
            .unwrap_or_else(|e| panic!("tender {kind:?} {amount}: {e}"));
    }
    complete_sale(cart, settings, ctx).expect("cart completes")
}
