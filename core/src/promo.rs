//! Promotions engine (issue 4): a pure function from cart lines, a context and HQ's rules to
//! per-line promotion discounts, each one explained.
//!
//! ```text
//! evaluate(lines: &[PromoLine], ctx: &PromoContext, rules: &[Rule]) -> PromoResult
//! ```
//!
//! No clock is read: the store's local date and time come in [`PromoContext::local_time`].
//! Amounts are integer minor units inside (rounded once with the store's rounding mode), and
//! `Decimal`s with the currency's decimals outside; there are no floats anywhere.
//!
//! # Rules as JSON
//!
//! HQ sends rules down as JSON. Amounts are decimal strings in currency units, percentages are
//! `"20"` for 20 %, dates `"2025-11-11"`, times `"17:00"`, days ISO numbers (1 = Monday … 7 =
//! Sunday). Everything but `id`, `name` and `benefit` may be left out.
//!
//! ```json
//! {
//!   "id": "P-2025-0042",
//!   "name": "饮料买二送一",
//!   "name_en": "Drinks: buy 2 get 1 free",
//!   "priority": 100,
//!   "exclusive": false,
//!   "group": "item",
//!   "when": {
//!     "stores": ["HZ01", "HZ02"],
//!     "members_only": false,
//!     "tiers": [],
//!     "from": "2025-06-01", "until": "2025-06-30",
//!     "days": [6, 7],
//!     "hours": [{ "from": "08:00", "to": "12:00" }, { "from": "22:00", "to": "02:00" }]
//!   },
//!   "benefit": {
//!     "kind": "buy_x_get_y",
//!     "scope": { "categories": ["drinks"] },
//!     "buy": 2, "get": 1, "reward": "cheapest", "percent": "100"
//!   }
//! }
//! ```
//!
//! `scope` is `"order"`, `{"skus": [...]}` or `{"categories": [...]}`. The benefits
//! (`"kind"`):
//!
//! | kind | fields | meaning |
//! |---|---|---|
//! | `percent_off` | `scope`, `percent`, `min_spend`? | `percent` % off the scope (满200打9折 with `min_spend`) |
//! | `amount_off` | `scope`, `amount`, `per_item` | `amount` off the scope once, or off each item when `per_item` |
//! | `fixed_price` | `items: [{sku, price}]` | the item costs `price` (特价) |
//! | `member_price` | `items: [{sku, price}]` | the same, for members only (会员价) |
//! | `buy_x_get_y` | `scope`, `buy`, `get`, `reward`, `percent`, `max_sets`? | buy `buy` get `get` at `percent` % off (100 = free); `reward` is `"cheapest"` or `{"skus": [...]}` |
//! | `multi_buy` | `scope`, `qty`, `price`, `max_sets`? | `qty` items for `price` (3 for ¥10) |
//! | `spend_threshold` | `scope`, `tiers: [{spend, off}]`, `repeat`, `max_off`? | 满减: spend ≥ `spend`, get `off`; the best tier wins; `repeat` counts every full `spend` (每满100减10) |
//!
//! Weighed items (`unit: kg`, or a fractional quantity) only take the amount-based benefits:
//! `percent_off`, `amount_off` (a weighed line counts as one item) and `spend_threshold`.
//!
//! # Stacking
//!
//! * Rules apply in **priority** order (higher `priority` first, ties by `id`), each on what the
//!   earlier ones left of the lines (the *remaining amount*). HQ gives item rules a higher
//!   priority than order rules so that 满减 is measured after the item promotions.
//! * An **exclusive** rule (不与其他优惠同享) that applies takes the items it used for itself:
//!   nothing else applies to them, before or after, and they do not count towards other rules'
//!   thresholds. An exclusive rule on the `order` scope applies only if nothing else does.
//!   Exclusive rules run before all others.
//! * Rules sharing a **group** (e.g. `"item"`) never apply to the same item: they compete, and
//!   each stacks with the rules outside the group.
//! * Every other rule is **stackable**.
//!
//! Exclusivity and groups work on *items*: quantities of piece goods are expanded into units,
//! so a buy-2-get-1 that uses 3 of 4 colas leaves the 4th free for another rule.
//!
//! # Best for the customer
//!
//! Which exclusive and grouped rules ("competing" rules) apply is chosen to give the largest
//! total discount:
//!
//! 1. Rules that are invalid, not in their time window, not for this store or member, or that
//!    give nothing on the cart even alone (discounts only shrink as other rules take items and
//!    amounts) are dropped. Stackable rules without a group always take part.
//! 2. With `n` competing rules left, every subset of them is evaluated if `n ≤ 10` and
//!    `2^n × items × rules ≤ 2^23` ([`MAX_EXHAUSTIVE`], [`WORK_BUDGET`]): at most 1024
//!    evaluations, fewer on huge carts. One evaluation runs the active rules in the stacking
//!    order above, each rule choosing its items deterministically (bundles take the most
//!    expensive eligible items first, so the free or cheaper items are worth the most). The
//!    subset with the largest total discount wins; on a tie, the subset that has the
//!    higher-priority rule where the two differ.
//! 3. Otherwise a greedy search starts from no competing rule and repeatedly adds the one that
//!    raises the total the most (ties to the higher priority) until none raises it: at most
//!    `n` rounds of at most `n` evaluations.
//!
//! The search chooses *which* competing rules apply; their order is always the priority order.
//! Each evaluation is O(rules × items · log items).
//!
//! # Determinism and order independence
//!
//! Lines are put in a canonical order first (sku, unit price, line id, then the other fields),
//! rules in (priority desc, id) order; every tie (cheapest item, allocation remainder, search)
//! is broken by that order, and the results are assigned back to the original line ids. The
//! result is therefore the same for every order in which the items were scanned.
//!
//! # Amounts
//!
//! Each application's total is made of parts (one per discounted item for `fixed_price`,
//! `member_price` and per-item `amount_off`; one per set for `buy_x_get_y` and `multi_buy`;
//! one for the whole scope otherwise). A part is spread over the lines it was computed from
//! with [`crate::alloc::allocate`] (weights = the lines' remaining amounts), then over the items
//! of each line the same way. The per-line amounts of an application therefore sum exactly to
//! its total, and no line ever gets more than what remains of it: a promotion never makes a
//! line negative.

use crate::alloc::allocate;
use crate::cart::Cart;
use crate::catalog::Unit;
use crate::money::{RoundingMode, from_minor, to_minor};
use crate::pricing::{LineInput, discount_minor};
use crate::settings::StoreSettings;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Competing rules searched exhaustively up to this many (2^10 = 1024 evaluations).
pub const MAX_EXHAUSTIVE: usize = 10;

/// Exhaustive search only while `2^n × items × rules` stays within this many steps
/// (a few milliseconds in a release build); beyond it the greedy search runs.
pub const WORK_BUDGET: usize = 1 << 23;

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// A promotion rule as HQ sends it (see the module docs for the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    /// Name on screen and on the receipt (Chinese).
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Higher runs first.
    #[serde(default)]
    pub priority: i32,
    /// When it applies, nothing else applies to the items it used.
    #[serde(default)]
    pub exclusive: bool,
    /// Rules of one group never apply to the same item; the best combination wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default)]
    pub when: Conditions,
    pub benefit: Benefit,
}

/// Where, when and for whom a rule applies. Empty lists mean "no restriction".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Conditions {
    /// Store codes the rule runs at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<String>,
    /// A member must be attached to the sale.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub members_only: bool,
    /// The member's tier must be one of these (implies `members_only`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<String>,
    /// First day (inclusive, local date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Last day (inclusive, local date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// ISO weekdays: 1 = Monday … 7 = Sunday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<u8>,
    /// Local time ranges; the rule applies if the time is in any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hours: Vec<HourRange>,
}

/// `[from, to)` in local time; `to <= from` wraps past midnight (`22:00`–`02:00`), and
/// `from == to` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRange {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl HourRange {
    pub fn contains(&self, t: NaiveTime) -> bool {
        match self.from.cmp(&self.to) {
            Ordering::Less => self.from <= t && t < self.to,
            Ordering::Greater => t >= self.from || t < self.to,
            Ordering::Equal => true,
        }
    }
}

/// Which lines a benefit looks at. JSON: `"order"`, `{"skus": [...]}`, `{"categories": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Order,
    Skus(Vec<String>),
    Categories(Vec<String>),
}

impl Scope {
    fn matches(&self, line: &PromoLine) -> bool {
        match self {
            Scope::Order => true,
            Scope::Skus(s) => s.contains(&line.sku),
            Scope::Categories(c) => c.contains(&line.category),
        }
    }

    fn is_empty_list(&self) -> bool {
        match self {
            Scope::Order => false,
            Scope::Skus(v) | Scope::Categories(v) => v.is_empty(),
        }
    }
}

/// An item at a price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuPrice {
    pub sku: String,
    pub price: Decimal,
}

/// Which items a buy-X-get-Y rewards. JSON: `"cheapest"` or `{"skus": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reward {
    /// The cheapest `get` items of each set of `buy + get` items of the scope.
    #[default]
    Cheapest,
    /// `get` of these items for every `buy` items of the scope (the most expensive ones first).
    Skus(Vec<String>),
}

/// One step of a spend threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub spend: Decimal,
    pub off: Decimal,
}

fn hundred() -> Decimal {
    Decimal::ONE_HUNDRED
}

/// What a rule gives. JSON: internally tagged by `"kind"` (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Benefit {
    PercentOff {
        scope: Scope,
        percent: Decimal,
        /// Applies only if the scope's remaining amount reaches this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_spend: Option<Decimal>,
    },
    AmountOff {
        scope: Scope,
        amount: Decimal,
        /// Off each item (a weighed line is one item) instead of once.
        #[serde(default)]
        per_item: bool,
    },
    FixedPrice {
        items: Vec<SkuPrice>,
    },
    MemberPrice {
        items: Vec<SkuPrice>,
    },
    BuyXGetY {
        scope: Scope,
        buy: u32,
        get: u32,
        #[serde(default)]
        reward: Reward,
        /// Percent off the rewarded items; 100 = free.
        #[serde(default = "hundred")]
        percent: Decimal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_sets: Option<u32>,
    },
    MultiBuy {
        scope: Scope,
        qty: u32,
        price: Decimal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_sets: Option<u32>,
    },
    SpendThreshold {
        scope: Scope,
        tiers: Vec<Tier>,
        #[serde(default)]
        repeat: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_off: Option<Decimal>,
    },
}

/// The kind of a benefit, as shown with an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromoKind {
    PercentOff,
    AmountOff,
    FixedPrice,
    MemberPrice,
    BuyXGetY,
    MultiBuy,
    SpendThreshold,
}

impl Benefit {
    pub fn kind(&self) -> PromoKind {
        match self {
            Benefit::PercentOff { .. } => PromoKind::PercentOff,
            Benefit::AmountOff { .. } => PromoKind::AmountOff,
            Benefit::FixedPrice { .. } => PromoKind::FixedPrice,
            Benefit::MemberPrice { .. } => PromoKind::MemberPrice,
            Benefit::BuyXGetY { .. } => PromoKind::BuyXGetY,
            Benefit::MultiBuy { .. } => PromoKind::MultiBuy,
            Benefit::SpendThreshold { .. } => PromoKind::SpendThreshold,
        }
    }

    fn scope(&self) -> Option<&Scope> {
        match self {
            Benefit::PercentOff { scope, .. }
            | Benefit::AmountOff { scope, .. }
            | Benefit::BuyXGetY { scope, .. }
            | Benefit::MultiBuy { scope, .. }
            | Benefit::SpendThreshold { scope, .. } => Some(scope),
            Benefit::FixedPrice { .. } | Benefit::MemberPrice { .. } => None,
        }
    }
}

/// Why a rule cannot be used (checked on import; [`evaluate`] skips such rules).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the rule has no id")]
    NoId,
    #[error("rule {0}: a percentage is more than 0 and at most 100")]
    Percent(String),
    #[error("rule {0}: amounts and prices must not be negative, and discounts more than 0")]
    Amount(String),
    #[error("rule {0}: quantities must be at least 1")]
    Quantity(String),
    #[error("rule {0}: an item, category or tier list is empty")]
    EmptyList(String),
    #[error("rule {0}: days are 1 (Monday) to 7 (Sunday)")]
    Day(String),
    #[error("rule {0}: the date range ends before it starts")]
    Dates(String),
}

impl Rule {
    /// Check the rule makes sense.
    pub fn validate(&self) -> Result<(), RuleError> {
        let id = || self.id.clone();
        if self.id.trim().is_empty() {
            return Err(RuleError::NoId);
        }
        let pct_ok = |p: &Decimal| *p > Decimal::ZERO && *p <= Decimal::ONE_HUNDRED;
        let w = &self.when;
        if w.days.iter().any(|d| !(1..=7).contains(d)) {
            return Err(RuleError::Day(id()));
        }
        if let (Some(f), Some(u)) = (w.from, w.until)
            && u < f
        {
            return Err(RuleError::Dates(id()));
        }
        if self.benefit.scope().is_some_and(Scope::is_empty_list) {
            return Err(RuleError::EmptyList(id()));
        }
        match &self.benefit {
            Benefit::PercentOff {
                percent, min_spend, ..
            } => {
                if !pct_ok(percent) {
                    return Err(RuleError::Percent(id()));
                }
                if min_spend.is_some_and(|m| m < Decimal::ZERO) {
                    return Err(RuleError::Amount(id()));
                }
            }
            Benefit::AmountOff { amount, .. } => {
                if *amount <= Decimal::ZERO {
                    return Err(RuleError::Amount(id()));
                }
            }
            Benefit::FixedPrice { items } | Benefit::MemberPrice { items } => {
                if items.is_empty() {
                    return Err(RuleError::EmptyList(id()));
                }
                if items.iter().any(|i| i.price < Decimal::ZERO) {
                    return Err(RuleError::Amount(id()));
                }
            }
            Benefit::BuyXGetY {
                buy,
                get,
                reward,
                percent,
                max_sets,
                ..
            } => {
                if *buy == 0 || *get == 0 || *max_sets == Some(0) {
                    return Err(RuleError::Quantity(id()));
                }
                if !pct_ok(percent) {
                    return Err(RuleError::Percent(id()));
                }
                if matches!(reward, Reward::Skus(s) if s.is_empty()) {
                    return Err(RuleError::EmptyList(id()));
                }
            }
            Benefit::MultiBuy {
                qty,
                price,
                max_sets,
                ..
            } => {
                if *qty == 0 || *max_sets == Some(0) {
                    return Err(RuleError::Quantity(id()));
                }
                if *price < Decimal::ZERO {
                    return Err(RuleError::Amount(id()));
                }
            }
            Benefit::SpendThreshold { tiers, max_off, .. } => {
                if tiers.is_empty() {
                    return Err(RuleError::EmptyList(id()));
                }
                if tiers
                    .iter()
                    .any(|t| t.spend <= Decimal::ZERO || t.off <= Decimal::ZERO)
                    || max_off.is_some_and(|m| m <= Decimal::ZERO)
                {
                    return Err(RuleError::Amount(id()));
                }
            }
        }
        Ok(())
    }

    /// Whether the rule runs for this store, member and local time.
    pub fn is_eligible(&self, ctx: &PromoContext) -> bool {
        let w = &self.when;
        if !w.stores.is_empty() && !w.stores.contains(&ctx.store_code) {
            return false;
        }
        let needs_member = w.members_only
            || !w.tiers.is_empty()
            || matches!(self.benefit, Benefit::MemberPrice { .. });
        match &ctx.member {
            None if needs_member => return false,
            Some(m) if !w.tiers.is_empty() && !w.tiers.contains(&m.tier) => return false,
            _ => {}
        }
        let date = ctx.local_time.date();
        if w.from.is_some_and(|f| date < f) || w.until.is_some_and(|u| date > u) {
            return false;
        }
        let day = date.weekday().number_from_monday() as u8;
        if !w.days.is_empty() && !w.days.contains(&day) {
            return false;
        }
        let time = ctx.local_time.time();
        w.hours.is_empty() || w.hours.iter().any(|h| h.contains(time))
    }
}

// ---------------------------------------------------------------------------------------------
// Input and output
// ---------------------------------------------------------------------------------------------

/// One cart line as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoLine {
    pub line_id: u32,
    pub sku: String,
    #[serde(default)]
    pub category: String,
    /// Weighed lines (`kg`) only take amount-based benefits.
    #[serde(default)]
    pub unit: Unit,
    pub qty: Decimal,
    pub unit_price: Decimal,
    /// The line's amount after its manual discount: what promotions work on.
    pub amount: Decimal,
}

impl PromoLine {
    /// The engine's view of a cart line: `amount = round(unit price × qty) − manual discount`,
    /// exactly as [`crate::pricing::price`] computes it.
    pub fn from_cart_line(line: &crate::cart::CartLine, settings: &StoreSettings) -> PromoLine {
        let mu = settings.minor_units();
        let unit_price = line.unit_price();
        let gross = to_minor(unit_price * line.qty, mu, settings.rounding).max(0);
        let manual = line
            .discount
            .as_ref()
            .map_or(0, |d| discount_minor(&d.value, gross, settings));
        PromoLine {
            line_id: line.line_id,
            sku: line.sku.clone(),
            category: line.category.clone(),
            unit: line.unit,
            qty: line.qty,
            unit_price,
            amount: from_minor(gross - manual, mu),
        }
    }

    /// The active (not voided) lines of a cart.
    pub fn from_cart(cart: &Cart, settings: &StoreSettings) -> Vec<PromoLine> {
        cart.active_lines()
            .map(|l| PromoLine::from_cart_line(l, settings))
            .collect()
    }

    /// Whole units of a piece line, or `None` for weighed (or fractional) lines.
    fn pieces(&self) -> Option<u64> {
        if self.unit != Unit::Piece || !self.qty.fract().is_zero() {
            return None;
        }
        self.qty.to_u64()
    }
}

/// The member attached to the sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoMember {
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub tier: String,
}

/// Where, when and for whom the cart is evaluated, and the currency's rounding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoContext {
    pub store_code: String,
    /// The store's local date and time (passed in: core reads no clock).
    pub local_time: NaiveDateTime,
    pub member: Option<PromoMember>,
    pub minor_units: u32,
    #[serde(default)]
    pub rounding: RoundingMode,
}

impl PromoContext {
    pub fn new(
        settings: &StoreSettings,
        local_time: NaiveDateTime,
        member: Option<PromoMember>,
    ) -> Self {
        PromoContext {
            store_code: settings.store_code.clone(),
            local_time,
            member,
            minor_units: settings.minor_units(),
            rounding: settings.rounding,
        }
    }
}

/// An amount for one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmount {
    pub line_id: u32,
    pub amount: Decimal,
}

/// One rule that applied: which lines it took how much off, for screen and receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoApplication {
    pub rule_id: String,
    pub rule_name: String,
    pub rule_name_en: String,
    pub kind: PromoKind,
    /// Lines with a non-zero share, by line id; they sum to `total`.
    pub lines: Vec<LineAmount>,
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PromoResult {
    /// Every input line, in input order, with its total promotion discount (possibly 0).
    pub lines: Vec<LineAmount>,
    /// In the order they were applied.
    pub applications: Vec<PromoApplication>,
    /// `Σ lines == Σ applications.total == total`.
    pub total: Decimal,
    /// Ids of rules skipped because they failed [`Rule::validate`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_rules: Vec<String>,
}

impl PromoResult {
    /// The promotion discount of a line (0 if it has none).
    pub fn discount_for(&self, line_id: u32) -> Decimal {
        self.lines
            .iter()
            .filter(|l| l.line_id == line_id)
            .map(|l| l.amount)
            .sum()
    }
}

/// Pricing inputs for the active lines of `cart` (in cart order, as [`Cart::price`] builds
/// them) with each line's promotion discount folded into its line discount:
/// `Amount(manual discount + promotion discount)`. [`crate::pricing::price`] then takes the
/// order discount off what the promotions left, and computes tax on the net. `result` must come
/// from [`evaluate`] on [`PromoLine::from_cart`] of the same cart.
pub fn line_inputs_with_promotions(
    cart: &Cart,
    result: &PromoResult,
    settings: &StoreSettings,
) -> Vec<LineInput> {
    crate::cart::line_inputs_with_extra(cart, &|id| result.discount_for(id), settings)
}

// ---------------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------------

/// One item: a unit of a piece line, or a whole weighed line.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Canonical line index.
    line: usize,
    piece: bool,
    /// What is left of it (minor units).
    rem: i64,
    /// Some rule applied to it.
    touched: bool,
    /// An exclusive rule took it.
    locked: bool,
    /// Groups that took it (bit `g` for group `g`; groups past 63 share bit 63).
    groups: u64,
}

/// A rule ready to run.
struct Prepared<'a> {
    rule: &'a Rule,
    /// Bit of its group, if any.
    group: Option<u64>,
    order_wide_exclusive: bool,
    /// Per canonical line: in the benefit's scope.
    in_scope: Vec<bool>,
    /// Per canonical line: a `Reward::Skus` item.
    reward: Vec<bool>,
    /// Per canonical line: the fixed / member price (minor units).
    price: Vec<Option<i64>>,
}

/// What one rule would do: the items it uses, and its parts (amount, items it is spread over).
struct Draft {
    used: Vec<usize>,
    parts: Vec<(i64, Vec<usize>)>,
}

/// One application in an evaluation: rule index and the discount per slot.
struct Applied {
    rule: usize,
    per_slot: Vec<(usize, i64)>,
    total: i64,
}

struct Run {
    applied: Vec<Applied>,
    total: i64,
}

struct Engine<'a> {
    lines: Vec<&'a PromoLine>,
    slots: Vec<Slot>,
    rules: Vec<Prepared<'a>>,
    mu: u32,
    rounding: RoundingMode,
}

/// Evaluate the promotions for a cart. Pure and deterministic; see the module docs.
pub fn evaluate(lines: &[PromoLine], ctx: &PromoContext, rules: &[Rule]) -> PromoResult {
    let mu = ctx.minor_units;
    let rounding = ctx.rounding;

    // Canonical line order.
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by(|a, b| canonical_cmp(&lines[*a], &lines[*b]));
    let canon: Vec<&PromoLine> = order.iter().map(|i| &lines[*i]).collect();

    let mut slots = Vec::new();
    for (li, l) in canon.iter().enumerate() {
        if l.qty <= Decimal::ZERO {
            continue;
        }
        let amount = to_minor(l.amount, mu, rounding).max(0);
        match l.pieces() {
            Some(n) if n > 0 => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                let units = allocate(amount, &vec![1; n]).unwrap_or_else(|_| vec![0; n]);
                slots.extend(units.into_iter().map(|rem| Slot {
                    line: li,
                    piece: true,
                    rem,
                    touched: false,
                    locked: false,
                    groups: 0,
                }));
            }
            _ => slots.push(Slot {
                line: li,
                piece: false,
                rem: amount,
                touched: false,
                locked: false,
                groups: 0,
            }),
        }
    }

    // Rules: valid and eligible, in (priority desc, id) order.
    let mut invalid_rules = Vec::new();
    let mut usable: Vec<(usize, &Rule)> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        if r.validate().is_err() {
            invalid_rules.push(r.id.clone());
        } else if r.is_eligible(ctx) {
            usable.push((i, r));
        }
    }
    invalid_rules.sort();
    usable.sort_by(|(ia, a), (ib, b)| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| ia.cmp(ib))
    });
    let mut group_names: Vec<&str> = Vec::new();
    let prepared = usable
        .into_iter()
        .map(|(_, rule)| {
            let group = (!rule.exclusive)
                .then_some(rule.group.as_deref())
                .flatten()
                .map(|g| match group_names.iter().position(|n| *n == g) {
                    Some(p) => p,
                    None => {
                        group_names.push(g);
                        group_names.len() - 1
                    }
                })
                .map(|i| 1u64 << i.min(63));
            let b = &rule.benefit;
            Prepared {
                rule,
                group,
                order_wide_exclusive: rule.exclusive && b.scope() == Some(&Scope::Order),
                in_scope: canon
                    .iter()
                    .map(|l| b.scope().is_some_and(|s| s.matches(l)))
                    .collect(),
                reward: canon
                    .iter()
                    .map(|l| {
                        matches!(b, Benefit::BuyXGetY { reward: Reward::Skus(s), .. } if s.contains(&l.sku))
                    })
                    .collect(),
                price: canon
                    .iter()
                    .map(|l| match b {
                        Benefit::FixedPrice { items } | Benefit::MemberPrice { items } => items
                            .iter()
                            .find(|ip| ip.sku == l.sku)
                            .map(|ip| to_minor(ip.price, mu, rounding).max(0)),
                        _ => None,
                    })
                    .collect(),
            }
        })
        .collect();

    let engine = Engine {
        lines: canon,
        slots,
        rules: prepared,
        mu,
        rounding,
    };
    let run = engine.best_run();
    engine.result(lines, &order, run, invalid_rules)
}

/// Total order on lines used to canonicalize the input.
fn canonical_cmp(a: &PromoLine, b: &PromoLine) -> Ordering {
    a.sku
        .cmp(&b.sku)
        .then_with(|| a.unit_price.cmp(&b.unit_price))
        .then_with(|| a.line_id.cmp(&b.line_id))
        .then_with(|| a.amount.cmp(&b.amount))
        .then_with(|| a.qty.cmp(&b.qty))
        .then_with(|| a.category.cmp(&b.category))
        .then_with(|| a.unit.as_str().cmp(b.unit.as_str()))
}

impl<'a> Engine<'a> {
    fn is_competing(&self, r: usize) -> bool {
        self.rules[r].rule.exclusive || self.rules[r].group.is_some()
    }

    /// Choose the competing rules (see "Best for the customer" in the module docs).
    fn best_run(&self) -> Run {
        let always: Vec<usize> = (0..self.rules.len())
            .filter(|r| !self.is_competing(*r))
            .collect();
        // Competing rules that give something on their own (in priority order).
        let competing: Vec<usize> = (0..self.rules.len())
            .filter(|r| self.is_competing(*r) && self.run(&[*r]).total > 0)
            .collect();
        let n = competing.len();
        let run_with = |chosen: &[bool]| {
            let mut active = always.clone();
            active.extend(
                competing
                    .iter()
                    .zip(chosen)
                    .filter(|(_, c)| **c)
                    .map(|(r, _)| *r),
            );
            active.sort_unstable();
            self.run(&active)
        };
        let mut best_chosen = vec![false; n];
        let mut best = run_with(&best_chosen);
        let per_run = self
            .slots
            .len()
            .max(1)
            .saturating_mul(self.rules.len().max(1));
        if n <= MAX_EXHAUSTIVE && (1usize << n).saturating_mul(per_run) <= WORK_BUDGET {
            for mask in 1u32..(1u32 << n) {
                let chosen: Vec<bool> = (0..n).map(|i| mask & (1 << i) != 0).collect();
                let r = run_with(&chosen);
                if r.total > best.total || (r.total == best.total && prefers(&chosen, &best_chosen))
                {
                    best = r;
                    best_chosen = chosen;
                }
            }
        } else {
            loop {
                let mut step: Option<(usize, Run)> = None;
                for i in 0..n {
                    if best_chosen[i] {
                        continue;
                    }
                    let mut chosen = best_chosen.clone();
                    chosen[i] = true;
                    let r = run_with(&chosen);
                    let cur = step.as_ref().map_or(best.total, |(_, s)| s.total);
                    if r.total > cur {
                        step = Some((i, r));
                    }
                }
                match step {
                    Some((i, r)) => {
                        best_chosen[i] = true;
                        best = r;
                    }
                    None => break,
                }
            }
        }
        best
    }

    /// Run the active rules (indices in priority order): exclusive ones first, then the rest.
    fn run(&self, active: &[usize]) -> Run {
        let mut slots = self.slots.clone();
        let mut applied = Vec::new();
        let mut total = 0i64;
        let ordered = active
            .iter()
            .filter(|r| self.rules[**r].rule.exclusive)
            .chain(active.iter().filter(|r| !self.rules[**r].rule.exclusive));
        for &r in ordered {
            let p = &self.rules[r];
            let exclusive = p.rule.exclusive;
            if p.order_wide_exclusive && slots.iter().any(|s| s.touched || s.locked) {
                continue;
            }
            let avail: Vec<usize> = (0..slots.len())
                .filter(|i| {
                    let s = &slots[*i];
                    let blocked = s.locked || (exclusive && s.touched);
                    !blocked && p.group.is_none_or(|g| s.groups & g == 0)
                })
                .collect();
            let Some(draft) = self.draft(p, &slots, &avail) else {
                continue;
            };
            // Parts never share an item, so the spreads simply add up.
            let mut per_slot: Vec<(usize, i64)> = Vec::new();
            for (amount, units) in &draft.parts {
                self.spread(*amount, units, &slots, &mut per_slot);
            }
            per_slot.retain(|(_, d)| *d != 0);
            per_slot.sort_unstable();
            let app_total: i64 = per_slot.iter().map(|(_, d)| d).sum();
            if app_total <= 0 {
                continue;
            }
            for (slot, d) in &per_slot {
                slots[*slot].rem -= d;
            }
            let used: Vec<usize> = if p.order_wide_exclusive {
                (0..slots.len()).collect()
            } else {
                draft.used
            };
            for u in used {
                let s = &mut slots[u];
                s.touched = true;
                s.locked |= exclusive;
                if let Some(g) = p.group {
                    s.groups |= g;
                }
            }
            total += app_total;
            applied.push(Applied {
                rule: r,
                per_slot,
                total: app_total,
            });
        }
        Run { applied, total }
    }

    fn m(&self, d: Decimal) -> i64 {
        to_minor(d, self.mu, self.rounding)
    }

    /// `percent` % of `base`, rounded once, never more than `base`.
    fn pct(&self, base: i64, percent: Decimal) -> i64 {
        to_minor(
            from_minor(base, self.mu) * percent / Decimal::ONE_HUNDRED,
            self.mu,
            self.rounding,
        )
        .clamp(0, base.max(0))
    }

    /// What rule `p` would do on the available slots (in canonical order).
    fn draft(&self, p: &Prepared, slots: &[Slot], avail: &[usize]) -> Option<Draft> {
        let rule = p.rule;
        // Available slots in scope (any, or pieces only), in canonical order.
        let in_scope = |pieces: bool| -> Vec<usize> {
            avail
                .iter()
                .copied()
                .filter(|i| (!pieces || slots[*i].piece) && p.in_scope[slots[*i].line])
                .collect()
        };
        let sum = |units: &[usize]| units.iter().map(|u| slots[*u].rem).sum::<i64>();
        // Most expensive first, ties in canonical order.
        let by_value_desc = |units: &mut Vec<usize>| {
            units.sort_by(|a, b| slots[*b].rem.cmp(&slots[*a].rem).then(a.cmp(b)));
        };
        let draft = match &rule.benefit {
            Benefit::PercentOff {
                scope: _,
                percent,
                min_spend,
            } => {
                let units = in_scope(false);
                let base = sum(&units);
                if min_spend.is_some_and(|m| base < self.m(m)) {
                    return None;
                }
                Draft {
                    parts: vec![(self.pct(base, *percent), units.clone())],
                    used: units,
                }
            }
            Benefit::AmountOff {
                scope: _,
                amount,
                per_item,
            } => {
                let units = in_scope(false);
                let off = self.m(*amount);
                let parts = if *per_item {
                    units
                        .iter()
                        .map(|u| (off.min(slots[*u].rem), vec![*u]))
                        .collect()
                } else {
                    vec![(off.min(sum(&units)), units.clone())]
                };
                Draft { parts, used: units }
            }
            Benefit::FixedPrice { .. } | Benefit::MemberPrice { .. } => {
                let mut parts = Vec::new();
                let mut used = Vec::new();
                for &u in avail {
                    let s = &slots[u];
                    if let (true, Some(price)) = (s.piece, p.price[s.line]) {
                        let d = s.rem - price;
                        if d > 0 {
                            parts.push((d, vec![u]));
                            used.push(u);
                        }
                    }
                }
                Draft { parts, used }
            }
            Benefit::BuyXGetY {
                scope: _,
                buy,
                get,
                reward,
                percent,
                max_sets,
            } => {
                let (x, y) = (*buy as usize, *get as usize);
                let cap = max_sets.map_or(usize::MAX, |m| m as usize);
                let mut buyable = in_scope(true);
                let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (buy, reward)
                match reward {
                    Reward::Cheapest => {
                        by_value_desc(&mut buyable);
                        let k = (buyable.len() / (x + y)).min(cap);
                        for g in buyable.chunks_exact(x + y).take(k) {
                            groups.push((g[..x].to_vec(), g[x..].to_vec()));
                        }
                    }
                    Reward::Skus(_) => {
                        let mut rewardable: Vec<usize> = avail
                            .iter()
                            .copied()
                            .filter(|i| slots[*i].piece && p.reward[slots[*i].line])
                            .collect();
                        by_value_desc(&mut rewardable);
                        let mut is_buyable = vec![false; slots.len()];
                        for u in &buyable {
                            is_buyable[*u] = true;
                        }
                        let overlap = rewardable.iter().filter(|r| is_buyable[**r]).count();
                        let b = buyable.len() - overlap;
                        let r = rewardable.len() - overlap;
                        let mut k = ((b + r + overlap) / (x + y)).min(cap);
                        while k > 0 && (x * k > b + overlap || y * k > r + overlap) {
                            k -= 1;
                        }
                        // Rewards: the most expensive; shared items only while enough remain to buy.
                        let mut budget = (b + overlap).saturating_sub(x * k);
                        let mut rewards = Vec::new();
                        for u in rewardable {
                            if rewards.len() == y * k {
                                break;
                            }
                            if !is_buyable[u] {
                                rewards.push(u);
                            } else if budget > 0 {
                                budget -= 1;
                                rewards.push(u);
                            }
                        }
                        // Buys: the cheapest (the expensive ones stay free for other rules).
                        let mut is_reward = vec![false; slots.len()];
                        for u in &rewards {
                            is_reward[*u] = true;
                        }
                        buyable.retain(|u| !is_reward[*u]);
                        buyable.sort_by(|a, b| slots[*a].rem.cmp(&slots[*b].rem).then(a.cmp(b)));
                        for i in 0..k {
                            groups.push((
                                buyable[i * x..(i + 1) * x].to_vec(),
                                rewards[i * y..(i + 1) * y].to_vec(),
                            ));
                        }
                    }
                }
                let mut parts = Vec::new();
                let mut used = Vec::new();
                for (b, r) in groups {
                    let d = self.pct(sum(&r), *percent);
                    let mut all = b;
                    all.extend(r);
                    used.extend(all.iter().copied());
                    parts.push((d, all));
                }
                Draft { parts, used }
            }
            Benefit::MultiBuy {
                scope: _,
                qty,
                price,
                max_sets,
            } => {
                let mut units = in_scope(true);
                by_value_desc(&mut units);
                let cap = max_sets.map_or(usize::MAX, |m| m as usize);
                let price = self.m(*price).max(0);
                let mut parts = Vec::new();
                let mut used = Vec::new();
                for set in units.chunks_exact(*qty as usize).take(cap) {
                    let d = sum(set) - price;
                    if d <= 0 {
                        break; // sets only get cheaper from here
                    }
                    used.extend(set.iter().copied());
                    parts.push((d, set.to_vec()));
                }
                Draft { parts, used }
            }
            Benefit::SpendThreshold {
                scope: _,
                tiers,
                repeat,
                max_off,
            } => {
                let units = in_scope(false);
                let base = sum(&units);
                let mut off = 0i64;
                for t in tiers {
                    let spend = self.m(t.spend);
                    if spend <= 0 || base < spend {
                        continue;
                    }
                    let times = if *repeat { base / spend } else { 1 };
                    off = off.max(times.saturating_mul(self.m(t.off)));
                }
                if let Some(m) = max_off {
                    off = off.min(self.m(*m));
                }
                Draft {
                    parts: vec![(off.min(base), units.clone())],
                    used: units,
                }
            }
        };
        let total: i64 = draft.parts.iter().map(|(d, _)| *d).sum();
        (total > 0).then_some(draft)
    }

    /// Spread `amount` over `units`: over their lines by the lines' remaining amounts, then over
    /// each line's units by theirs (allocation rule both times). `amount <= Σ rem` is required
    /// and every draft keeps to it, so no unit gets more than it has left.
    fn spread(&self, amount: i64, units: &[usize], slots: &[Slot], out: &mut Vec<(usize, i64)>) {
        let mut units = units.to_vec();
        units.sort_unstable();
        let mut by_line: Vec<(usize, Vec<usize>)> = Vec::new();
        for u in units {
            match by_line.last_mut() {
                Some((l, us)) if *l == slots[u].line => us.push(u),
                _ => by_line.push((slots[u].line, vec![u])),
            }
        }
        let weights: Vec<i64> = by_line
            .iter()
            .map(|(_, us)| us.iter().map(|u| slots[*u].rem).sum())
            .collect();
        let Ok(line_shares) = allocate(amount, &weights) else {
            return;
        };
        for ((_, us), share) in by_line.iter().zip(line_shares) {
            let w: Vec<i64> = us.iter().map(|u| slots[*u].rem).collect();
            if let Ok(s) = allocate(share, &w) {
                out.extend(us.iter().copied().zip(s));
            }
        }
    }

    /// Turn the chosen evaluation into per-line amounts for the original lines.
    fn result(
        &self,
        input: &[PromoLine],
        order: &[usize],
        run: Run,
        invalid_rules: Vec<String>,
    ) -> PromoResult {
        let mu = self.mu;
        let mut per_canon = vec![0i64; self.lines.len()];
        let mut applications = Vec::new();
        for a in run.applied {
            let mut per_line: BTreeMap<usize, i64> = BTreeMap::new();
            for (slot, d) in &a.per_slot {
                *per_line.entry(self.slots[*slot].line).or_default() += d;
            }
            let mut lines: Vec<(u32, usize, i64)> = per_line
                .into_iter()
                .filter(|(_, d)| *d != 0)
                .map(|(l, d)| (self.lines[l].line_id, l, d))
                .collect();
            lines.sort_unstable();
            for (_, l, d) in &lines {
                per_canon[*l] += d;
            }
            let rule = self.rules[a.rule].rule;
            applications.push(PromoApplication {
                rule_id: rule.id.clone(),
                rule_name: rule.name.clone(),
                rule_name_en: rule.name_en.clone(),
                kind: rule.benefit.kind(),
                lines: lines
                    .into_iter()
                    .map(|(line_id, _, d)| LineAmount {
                        line_id,
                        amount: from_minor(d, mu),
                    })
                    .collect(),
                total: from_minor(a.total, mu),
            });
        }
        let mut per_input = vec![0i64; input.len()];
        for (canon_idx, input_idx) in order.iter().enumerate() {
            per_input[*input_idx] = per_canon[canon_idx];
        }
        PromoResult {
            lines: input
                .iter()
                .zip(per_input)
                .map(|(l, d)| LineAmount {
                    line_id: l.line_id,
                    amount: from_minor(d, mu),
                })
                .collect(),
            applications,
            total: from_minor(run.total, mu),
            invalid_rules,
        }
    }
}

/// Tie-break between two choices of competing rules (in priority order): the one that has the
/// highest-priority rule where they differ.
fn prefers(a: &[bool], b: &[bool]) -> bool {
    a.iter()
        .zip(b)
        .find(|(x, y)| x != y)
        .is_some_and(|(x, _)| *x)
}
