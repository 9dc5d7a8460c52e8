//! The cart being rung up: lines, overrides, discounts and tenders.
//!
//! A cart is plain data (serialisable, so parked carts survive restarts). Every change goes
//! through a method that validates it and returns an expected-outcome error the cashier can read.

use crate::auth::{Action, Actor, AuthError, Override, authorize};
use crate::catalog::{Product, Unit};
use crate::coupon::CouponDiscount;
use crate::money::{from_minor, to_minor, within_limit};
use crate::points::{RedeemRules, redeem_value};
use crate::pricing::{self, Discount, DiscountValue, LineAmounts, LineInput, discount_percent};
use crate::promo::{PromoApplication, PromoResult};
use crate::settings::StoreSettings;
use crate::tender::{PaymentState, Tender, TenderKind, payment_state};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// Largest quantity accepted on one line (guards against a scanned barcode typed as a quantity).
pub const MAX_LINE_QTY: i64 = 9999;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceOverride {
    pub price: Decimal,
    pub reason: String,
    /// Who approved it and for how many units: raising the quantity above that needs a new
    /// approval before payment.
    #[serde(default)]
    pub approved_by: String,
    #[serde(default)]
    pub approved_qty: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub line_id: u32,
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default)]
    pub category: String,
    pub tax_class: String,
    pub tax_rate: Decimal,
    pub unit: Unit,
    pub qty: Decimal,
    pub list_price: Decimal,
    #[serde(default)]
    pub barcode: Option<String>,
    #[serde(default)]
    pub price_override: Option<PriceOverride>,
    #[serde(default)]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub voided: bool,
}

impl CartLine {
    pub fn unit_price(&self) -> Decimal {
        self.price_override
            .as_ref()
            .map_or(self.list_price, |o| o.price)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub cart_id: String,
    pub lines: Vec<CartLine>,
    #[serde(default)]
    pub order_discount: Option<Discount>,
    #[serde(default)]
    pub tenders: Vec<Tender>,
    #[serde(default)]
    pub member_id: Option<String>,
    #[serde(default)]
    pub overrides: Vec<Override>,
    /// The promotions evaluated for the cart as it is now (the terminal re-evaluates after every
    /// change; any change here clears them so stale promotions are never priced).
    #[serde(default)]
    pub promotions: Option<PromoResult>,
    /// Coupon codes the cashier entered or scanned (kept across changes).
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    /// The coupons accepted for the cart as it is now (re-checked after every change).
    #[serde(default)]
    pub coupons: Vec<CouponDiscount>,
    /// Entered coupons that do not apply to the cart as it is now, and why.
    #[serde(default)]
    pub coupon_problems: Vec<CouponProblem>,
    /// Codes HQ confirmed unredeemed when they were entered (checked online): they do not
    /// count against the campaign's offline allowance.
    #[serde(default)]
    pub coupons_online: Vec<String>,
    #[serde(default)]
    pub next_line_id: u32,
    #[serde(default)]
    pub next_tender_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("line {0} is not in this cart")]
    LineNotFound(u32),
    #[error("line {0} was voided")]
    LineVoided(u32),
    #[error("quantity {qty} is not valid for {unit}: {why}", unit = .unit.as_str())]
    InvalidQuantity {
        qty: Decimal,
        unit: Unit,
        why: &'static str,
    },
    #[error("price {0} is not valid: it must be from 0 to 99999999.99, with at most {1} decimals")]
    InvalidPrice(Decimal, u32),
    #[error("discount {0} is not valid: {1}")]
    InvalidDiscount(String, &'static str),
    #[error("a reason is required")]
    ReasonRequired,
    #[error("payment has started: remove the tenders before changing the items")]
    PaymentStarted,
    #[error("the cart is empty")]
    Empty,
    #[error(
        "the amount {0} is not valid: it must be more than 0 and at most 99999999.99, with at most {1} decimals"
    )]
    InvalidAmount(Decimal, u32),
    #[error("{kind} needs the transaction reference", kind = .0.as_str())]
    ReferenceRequired(TenderKind),
    #[error("nothing is left to pay")]
    NothingDue,
    #[error("{kind} cannot be more than the {remaining} still due; only cash gives change", kind = .kind.as_str())]
    OverTender {
        kind: TenderKind,
        remaining: Decimal,
    },
    #[error("tender {0} is not in this cart")]
    TenderNotFound(u32),
    #[error("points can only pay for a member's sale: attach the member first")]
    PointsNeedMember,
    #[error("points pay through the points tender, with the number of points")]
    PointsTenderOnly,
    #[error(
        "{offered} points pay nothing here: points are used in steps of {step} (at least {min}), for at most {max_share} of the order"
    )]
    NoPointsRedeemable {
        offered: i64,
        step: i64,
        min: i64,
        max_share: Decimal,
    },
    #[error("{remaining} is still due")]
    NotPaid { remaining: Decimal },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// An entered coupon that does not apply to the cart as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponProblem {
    pub code: String,
    /// The stable reason code (e.g. `expired`, `threshold_not_met`).
    pub reason: String,
    pub message_zh: String,
    pub message_en: String,
}

/// Pricing inputs for the active lines (in cart order), each line's `extra` discount
/// (promotions, coupons) added to its manual discount as an amount, never beyond its gross.
pub fn line_inputs_with_extra(
    cart: &Cart,
    extra: &dyn Fn(u32) -> Decimal,
    settings: &StoreSettings,
) -> Vec<LineInput> {
    let mu = settings.minor_units();
    cart.active_lines()
        .map(|l| {
            let unit_price = l.unit_price();
            let extra = to_minor(extra(l.line_id), mu, settings.rounding).max(0);
            let discount = if extra == 0 {
                l.discount.as_ref().map(|d| d.value.clone())
            } else {
                let gross = to_minor(unit_price * l.qty, mu, settings.rounding).max(0);
                let manual = l
                    .discount
                    .as_ref()
                    .map_or(0, |d| pricing::discount_minor(&d.value, gross, settings));
                Some(DiscountValue::Amount(from_minor(
                    (manual + extra).min(gross),
                    mu,
                )))
            };
            LineInput {
                qty: l.qty,
                unit_price,
                tax_rate: l.tax_rate,
                discount,
            }
        })
        .collect()
}

/// A cart line with its computed amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub line: CartLine,
    pub unit_price: Decimal,
    pub amounts: LineAmounts,
    /// The part of `amounts.line_discount` that came from promotions and coupons.
    #[serde(default)]
    pub promo_discount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    /// All lines, voided ones with zero amounts (shown struck through).
    pub lines: Vec<PricedLine>,
    pub tax_summary: Vec<pricing::TaxSummaryLine>,
    pub totals: pricing::Totals,
    pub payment: PaymentState,
    pub item_count: Decimal,
    /// The promotions that applied, each explaining which lines it took how much off.
    #[serde(default)]
    pub promotions: Vec<PromoApplication>,
}

fn check_decimals(d: Decimal, max: u32) -> bool {
    d.normalize().scale() <= max
}

impl Cart {
    pub fn new(cart_id: impl Into<String>) -> Self {
        Cart {
            cart_id: cart_id.into(),
            lines: Vec::new(),
            order_discount: None,
            tenders: Vec::new(),
            member_id: None,
            overrides: Vec::new(),
            promotions: None,
            coupon_codes: Vec::new(),
            coupons: Vec::new(),
            coupon_problems: Vec::new(),
            coupons_online: Vec::new(),
            next_line_id: 1,
            next_tender_id: 1,
        }
    }

    pub fn active_lines(&self) -> impl Iterator<Item = &CartLine> {
        self.lines.iter().filter(|l| !l.voided)
    }

    pub fn is_empty(&self) -> bool {
        self.active_lines().next().is_none()
    }

    /// Every change to lines or discounts drops the promotions and coupon discounts evaluated
    /// before it (the coupon codes stay, to be checked again).
    fn changing(&mut self) -> Result<(), CartError> {
        self.unpaid()?;
        self.promotions = None;
        self.coupons.clear();
        self.coupon_problems.clear();
        Ok(())
    }

    /// Promotion and coupon discount of a line (what pricing adds to its manual discount).
    pub fn extra_discount(&self, line_id: u32) -> Decimal {
        let promo = self
            .promotions
            .as_ref()
            .map_or(Decimal::ZERO, |p| p.discount_for(line_id));
        let coupons: Decimal = self
            .coupons
            .iter()
            .flat_map(|c| &c.lines)
            .filter(|l| l.line_id == line_id)
            .map(|l| l.amount)
            .sum();
        promo + coupons
    }

    /// Enter a coupon code (checked by the terminal against the cart).
    pub fn add_coupon_code(&mut self, code: String) -> Result<(), CartError> {
        self.changing()?;
        if !self.coupon_codes.contains(&code) {
            self.coupon_codes.push(code);
        }
        Ok(())
    }

    /// Take a coupon code off the cart.
    pub fn remove_coupon_code(&mut self, code: &str) -> Result<(), CartError> {
        self.changing()?;
        self.coupon_codes.retain(|c| c != code);
        self.coupons_online.retain(|c| c != code);
        Ok(())
    }

    fn unpaid(&self) -> Result<(), CartError> {
        if self.tenders.is_empty() {
            Ok(())
        } else {
            Err(CartError::PaymentStarted)
        }
    }

    fn line_mut(&mut self, line_id: u32) -> Result<&mut CartLine, CartError> {
        let line = self
            .lines
            .iter_mut()
            .find(|l| l.line_id == line_id)
            .ok_or(CartError::LineNotFound(line_id))?;
        if line.voided {
            return Err(CartError::LineVoided(line_id));
        }
        Ok(line)
    }

    fn validate_qty(qty: Decimal, unit: Unit) -> Result<Decimal, CartError> {
        if qty <= Decimal::ZERO {
            return Err(CartError::InvalidQuantity {
                qty,
                unit,
                why: "it must be more than zero",
            });
        }
        if qty > Decimal::from(MAX_LINE_QTY) {
            return Err(CartError::InvalidQuantity {
                qty,
                unit,
                why: "it is larger than 9999",
            });
        }
        pricing::normalize_qty(qty, unit).ok_or(CartError::InvalidQuantity {
            qty,
            unit,
            why: match unit {
                Unit::Piece => "pieces are counted in whole numbers",
                Unit::Kg => "weights have at most 3 decimals (grams)",
            },
        })
    }

    /// Add a product. Scanning the same piece item again adds to its line.
    pub fn add_product(
        &mut self,
        product: &Product,
        qty: Decimal,
        barcode: Option<&str>,
    ) -> Result<u32, CartError> {
        self.changing()?;
        let qty = Self::validate_qty(qty, product.unit)?;
        if product.unit == Unit::Piece
            && let Some(line) = self.lines.iter_mut().find(|l| {
                !l.voided
                    && l.sku == product.sku
                    && l.price_override.is_none()
                    && l.discount.is_none()
                    && l.list_price == product.price
                    && l.tax_rate == product.tax_rate
            })
        {
            let new_qty = Self::validate_qty(line.qty + qty, product.unit)?;
            line.qty = new_qty;
            return Ok(line.line_id);
        }
        let line_id = self.next_line_id.max(1);
        self.next_line_id = line_id + 1;
        self.lines.push(CartLine {
            line_id,
            sku: product.sku.clone(),
            name: product.name.clone(),
            name_en: product.name_en.clone(),
            category: product.category.clone(),
            tax_class: product.tax_class.clone(),
            tax_rate: product.tax_rate,
            unit: product.unit,
            qty,
            list_price: product.price,
            barcode: barcode.map(str::to_string),
            price_override: None,
            discount: None,
            voided: false,
        });
        Ok(line_id)
    }

    pub fn set_qty(&mut self, line_id: u32, qty: Decimal) -> Result<(), CartError> {
        self.changing()?;
        let line = self.line_mut(line_id)?;
        line.qty = Self::validate_qty(qty, line.unit)?;
        Ok(())
    }

    /// Void a line: it stays visible, struck through, and counts for nothing.
    pub fn void_line(&mut self, line_id: u32) -> Result<(), CartError> {
        self.changing()?;
        self.line_mut(line_id)?.voided = true;
        Ok(())
    }

    /// Change a line's unit price (manager override for cashiers).
    pub fn override_price(
        &mut self,
        line_id: u32,
        price: Decimal,
        reason: &str,
        actor: &Actor,
        approver: Option<&Actor>,
        settings: &StoreSettings,
    ) -> Result<(), CartError> {
        self.changing()?;
        if reason.trim().is_empty() {
            return Err(CartError::ReasonRequired);
        }
        if price < Decimal::ZERO
            || !within_limit(price)
            || !check_decimals(price, settings.minor_units())
        {
            return Err(CartError::InvalidPrice(price, settings.minor_units()));
        }
        let line = self.line_mut(line_id)?;
        let detail = format!(
            "line {line_id} {sku}: {old} -> {price} ({reason})",
            sku = line.sku,
            old = line.unit_price()
        );
        let ov = authorize(actor, approver, Action::PriceOverride, &detail)?;
        let approved_by = ov
            .as_ref()
            .map_or_else(|| actor.user_id.clone(), |o| o.approved_by.clone());
        let line = self.line_mut(line_id)?;
        line.price_override = Some(PriceOverride {
            price,
            reason: reason.trim().to_string(),
            approved_by,
            approved_qty: line.qty,
        });
        self.overrides.extend(ov);
        Ok(())
    }

    fn validate_discount(d: &Discount, settings: &StoreSettings) -> Result<(), CartError> {
        if d.reason.trim().is_empty() {
            return Err(CartError::ReasonRequired);
        }
        match &d.value {
            DiscountValue::Percent(p) if *p <= Decimal::ZERO || *p > Decimal::ONE_HUNDRED => Err(
                CartError::InvalidDiscount(format!("{p}%"), "a percentage is between 0 and 100"),
            ),
            DiscountValue::Amount(a)
                if *a <= Decimal::ZERO
                    || !within_limit(*a)
                    || !check_decimals(*a, settings.minor_units()) =>
            {
                Err(CartError::InvalidDiscount(
                    a.to_string(),
                    "an amount is more than zero, in whole minor units",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Authorize a discount above the threshold; records on it who approved it and the
    /// percentage they approved.
    fn approve_discount(
        &mut self,
        d: &mut Discount,
        base: Decimal,
        what: String,
        actor: &Actor,
        approver: Option<&Actor>,
        settings: &StoreSettings,
    ) -> Result<(), CartError> {
        d.approved_by = None;
        d.approved_percent = None;
        let pct = discount_percent(&d.value, base);
        if pct > settings.large_discount_percent {
            let detail = format!("{what}: {:.2}% ({})", pct, d.reason.trim());
            let ov = authorize(actor, approver, Action::LargeDiscount, &detail)?;
            d.approved_by = Some(
                ov.as_ref()
                    .map_or_else(|| actor.user_id.clone(), |o| o.approved_by.clone()),
            );
            d.approved_percent = Some(pct);
            self.overrides.extend(ov);
        }
        Ok(())
    }

    /// Approvals cover what was approved, not more: a discount that grew above the threshold,
    /// or above the percentage a manager approved, after it was set (quantity lowered, lines
    /// voided, price overridden), and an overridden price on more units than approved, need a
    /// new approval before payment and completion.
    fn check_approvals(&self, settings: &StoreSettings) -> Result<(), CartError> {
        let large = |d: &Discount, base: Decimal| {
            let pct = discount_percent(&d.value, base);
            pct > settings.large_discount_percent
                && !(d.approved_by.is_some() && d.approved_percent.is_some_and(|a| pct <= a))
        };
        for l in self.active_lines() {
            if let Some(o) = &l.price_override
                && l.qty > o.approved_qty
            {
                return Err(AuthError::ApprovalRequired(Action::PriceOverride).into());
            }
        }
        for l in self.active_lines() {
            if let Some(d) = &l.discount
                && large(d, l.unit_price() * l.qty)
            {
                return Err(AuthError::ApprovalRequired(Action::LargeDiscount).into());
            }
        }
        if let Some(d) = &self.order_discount
            && large(d, self.manual_discount_base(settings))
        {
            return Err(AuthError::ApprovalRequired(Action::LargeDiscount).into());
        }
        Ok(())
    }

    /// What an order discount is measured on for approvals: the subtotal less the manual line
    /// discounts (promotions and coupons excluded, so the same base is used when the discount
    /// is set and when it is checked again).
    fn manual_discount_base(&self, settings: &StoreSettings) -> Decimal {
        let mut plain = self.clone();
        plain.promotions = None;
        plain.coupons.clear();
        let t = plain.price(settings).totals;
        t.subtotal - t.line_discounts
    }

    /// Set or clear (`None`) a line discount. Above the store's threshold a manager must approve.
    pub fn discount_line(
        &mut self,
        line_id: u32,
        discount: Option<Discount>,
        actor: &Actor,
        approver: Option<&Actor>,
        settings: &StoreSettings,
    ) -> Result<(), CartError> {
        self.changing()?;
        let line = self.line_mut(line_id)?.clone();
        let mut discount = discount;
        if let Some(d) = &mut discount {
            Self::validate_discount(d, settings)?;
            let base = line.unit_price() * line.qty;
            self.approve_discount(
                d,
                base,
                format!("line {line_id}"),
                actor,
                approver,
                settings,
            )?;
        }
        self.line_mut(line_id)?.discount = discount;
        Ok(())
    }

    /// Set or clear an order discount, allocated to the lines by the allocation rule.
    pub fn discount_order(
        &mut self,
        discount: Option<Discount>,
        actor: &Actor,
        approver: Option<&Actor>,
        settings: &StoreSettings,
    ) -> Result<(), CartError> {
        self.changing()?;
        let mut discount = discount;
        if let Some(d) = &mut discount {
            if self.is_empty() {
                return Err(CartError::Empty);
            }
            Self::validate_discount(d, settings)?;
            // The order discount applies to the lines after their own discounts, before tax
            // (see `pricing::price`): measure it on that base, not on a total that already has
            // the current order discount off and, in exclusive mode, tax added.
            let base = self.manual_discount_base(settings);
            self.approve_discount(d, base, "order".into(), actor, approver, settings)?;
        }
        self.order_discount = discount;
        Ok(())
    }

    pub fn price(&self, settings: &StoreSettings) -> PricedCart {
        let active: Vec<&CartLine> = self.active_lines().collect();
        let inputs = line_inputs_with_extra(self, &|id| self.extra_discount(id), settings);
        let result = pricing::price(
            &inputs,
            self.order_discount.as_ref().map(|d| &d.value),
            settings,
        );
        let zero = LineAmounts {
            gross: Decimal::ZERO,
            line_discount: Decimal::ZERO,
            order_discount: Decimal::ZERO,
            net: Decimal::ZERO,
            tax: Decimal::ZERO,
            total: Decimal::ZERO,
        };
        let mut amounts = result.lines.into_iter();
        let lines = self
            .lines
            .iter()
            .map(|l| {
                let amounts = if l.voided {
                    zero.clone()
                } else {
                    amounts.next().unwrap_or_else(|| zero.clone())
                };
                let promo_discount = if l.voided {
                    Decimal::ZERO
                } else {
                    self.extra_discount(l.line_id).min(amounts.line_discount)
                };
                PricedLine {
                    line: l.clone(),
                    unit_price: l.unit_price(),
                    amounts,
                    promo_discount,
                }
            })
            .collect();
        let item_count = active
            .iter()
            .map(|l| match l.unit {
                Unit::Piece => l.qty,
                Unit::Kg => Decimal::ONE,
            })
            .sum();
        PricedCart {
            lines,
            tax_summary: result.tax_summary,
            payment: payment_state(
                result.totals.total,
                &self.tenders,
                settings.cash_rounding,
                settings.minor_units(),
            ),
            totals: result.totals,
            item_count,
            promotions: self
                .promotions
                .as_ref()
                .map(|p| p.applications.clone())
                .unwrap_or_default(),
        }
    }

    /// Attach or detach the member (member prices and member-only promotions follow).
    pub fn set_member(&mut self, member_id: Option<String>) -> Result<(), CartError> {
        self.changing()?;
        self.member_id = member_id;
        Ok(())
    }

    /// Attach the promotions evaluated for the cart as it is now (see [`crate::promo::evaluate`]).
    pub fn apply_promotions(&mut self, result: PromoResult) {
        self.promotions = Some(result);
    }

    /// Add a tender. Only cash may exceed what is due.
    pub fn add_tender(
        &mut self,
        kind: TenderKind,
        amount: Decimal,
        reference: Option<String>,
        settings: &StoreSettings,
    ) -> Result<u32, CartError> {
        if kind == TenderKind::Points {
            return Err(CartError::PointsTenderOnly);
        }
        self.push_tender(kind, amount, reference, None, settings)
    }

    /// Pay with up to `points` of the member's points (the caller passes at most the balance):
    /// the largest whole number of steps that fits the redeem rules' share of the order and what
    /// is still due. A points tender already on the cart is replaced. Returns the tender id, the
    /// points used and the amount they pay.
    pub fn add_points_tender(
        &mut self,
        points: i64,
        rules: &RedeemRules,
        settings: &StoreSettings,
    ) -> Result<(u32, i64, Decimal), CartError> {
        if self.member_id.is_none() {
            return Err(CartError::PointsNeedMember);
        }
        if self.is_empty() {
            return Err(CartError::Empty);
        }
        let mut trial = self.clone();
        trial.tenders.retain(|t| t.kind != TenderKind::Points);
        let priced = trial.price(settings);
        let total = priced.totals.total;
        let left = (total - priced.payment.paid).max(Decimal::ZERO);
        let (mut used, mut amount) = redeem_value(points, rules, total);
        if amount > left {
            let steps = (left / rules.value_per_step)
                .floor()
                .to_i64()
                .unwrap_or(0)
                .min(used / rules.points_per_step.max(1));
            used = steps * rules.points_per_step;
            amount = Decimal::from(steps) * rules.value_per_step;
        }
        if used <= 0 || amount <= Decimal::ZERO {
            return Err(CartError::NoPointsRedeemable {
                offered: points,
                step: rules.points_per_step,
                min: rules.min_points,
                max_share: rules.max_share,
            });
        }
        let id = trial.push_tender(TenderKind::Points, amount, None, Some(used), settings)?;
        *self = trial;
        Ok((id, used, amount))
    }

    fn push_tender(
        &mut self,
        kind: TenderKind,
        amount: Decimal,
        reference: Option<String>,
        points: Option<i64>,
        settings: &StoreSettings,
    ) -> Result<u32, CartError> {
        let mu = settings.minor_units();
        if amount <= Decimal::ZERO || !within_limit(amount) || !check_decimals(amount, mu) {
            return Err(CartError::InvalidAmount(amount, mu));
        }
        let reference = reference
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if kind.needs_reference() && reference.is_none() {
            return Err(CartError::ReferenceRequired(kind));
        }
        if self.is_empty() {
            return Err(CartError::Empty);
        }
        if self.tenders.is_empty() {
            self.check_approvals(settings)?;
        }
        let before = self.price(settings).payment;
        if before.remaining <= Decimal::ZERO {
            return Err(CartError::NothingDue);
        }
        let tender_id = self.next_tender_id.max(1);
        let tender = Tender {
            tender_id,
            kind,
            amount,
            reference,
            points,
        };
        let mut tenders = self.tenders.clone();
        tenders.push(tender);
        let total = self.price(settings).totals.total;
        let after = payment_state(total, &tenders, settings.cash_rounding, mu);
        let cash: Decimal = tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Cash)
            .map(|t| t.amount)
            .sum();
        // A non-cash tender may bring the amount paid up to the order total, no further. Change
        // that then arises only from rounding the cash part down is paid from the cash.
        if after.change > cash || (kind != TenderKind::Cash && after.paid > total) {
            let remaining = if kind == TenderKind::Cash {
                before.remaining
            } else {
                // what a non-cash tender can still cover, without cash rounding
                (total - (before.paid)).max(Decimal::ZERO)
            };
            return Err(CartError::OverTender { kind, remaining });
        }
        self.tenders = tenders;
        self.next_tender_id = tender_id + 1;
        Ok(tender_id)
    }

    pub fn remove_tender(&mut self, tender_id: u32) -> Result<(), CartError> {
        let before = self.tenders.len();
        self.tenders.retain(|t| t.tender_id != tender_id);
        if self.tenders.len() == before {
            return Err(CartError::TenderNotFound(tender_id));
        }
        Ok(())
    }

    /// Check the cart can be completed: items present and fully paid.
    pub fn ready_to_complete(&self, settings: &StoreSettings) -> Result<PricedCart, CartError> {
        if self.is_empty() {
            return Err(CartError::Empty);
        }
        self.check_approvals(settings)?;
        let priced = self.price(settings);
        if priced.payment.remaining > Decimal::ZERO {
            return Err(CartError::NotPaid {
                remaining: priced.payment.remaining,
            });
        }
        Ok(priced)
    }
}
