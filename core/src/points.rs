//! Loyalty points (会员积分): earning, redeeming, tiers, balances that converge across
//! terminals, and the dynamic member QR code.
//!
//! Pure: amounts, times, ids and "the current minute" are passed in.
//!
//! * **Earn** ([`earn`]): `floor(Σ amount_i · category_multiplier_i · points_per_unit ·
//!   tier_multiplier)`, over the amounts actually paid per line (after every discount,
//!   including a points redemption). The floor is taken once for the order, so splitting a line
//!   never changes the points. A category multiplier of 0 excludes the category (tobacco,
//!   infant formula…). Negative sums earn 0. Returns take points back with [`clawback`].
//! * **Redeem** ([`redeem_value`]): whole steps of `points_per_step` points worth
//!   `value_per_step` each (100 points = ¥1), at most `max_share` of the order total.
//! * **Tiers** ([`tier_for`]): the highest tier whose threshold the lifetime figure (points
//!   credited or spend, see [`TierBasis`]) reaches.
//! * **Balances** ([`PnCounter`]): every change is a [`PointEvent`] made on one terminal. Per
//!   member, a PN-counter holds per terminal the sum of its credits (P) and of its debits (N);
//!   the balance is `ΣP − ΣN`, and two views merge by taking the per-terminal maximum of each.
//!   Since a terminal's own sums only grow, merging is commutative, associative and idempotent,
//!   and every terminal that has seen the same events shows the same balance.
//! * **Member QR** ([`member_qr`], [`verify_member_qr`]): `TM1.<member_id>.<minute>.<mac>`,
//!   where `minute` is Unix time in whole minutes and `mac` the first 16 bytes of
//!   HMAC-SHA-256(secret, `TM1.<member_id>.<minute>`) in lowercase hex. The member app shows a
//!   new code every minute; the till accepts codes from [`QR_PAST_MINUTES`] minutes ago to
//!   [`QR_FUTURE_MINUTES`] minute ahead (clock skew).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointsError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> PointsError {
    PointsError::Invalid(msg.into())
}

/// Largest multiplier accepted by the rules' validation.
pub const MAX_MULTIPLIER: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

// ---------------------------------------------------------------------------------------------
// Earning
// ---------------------------------------------------------------------------------------------

/// How points are earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnRules {
    /// Points per whole currency unit paid: `1` = 1 point per ¥1, `0.1` = 1 point per ¥10.
    pub points_per_unit: Decimal,
    /// Multipliers by category; a category not listed counts once, `0` excludes it.
    #[serde(default)]
    pub category_multipliers: BTreeMap<String, Decimal>,
    /// Multipliers by member tier code; a tier not listed counts once.
    #[serde(default)]
    pub tier_multipliers: BTreeMap<String, Decimal>,
}

impl Default for EarnRules {
    fn default() -> Self {
        EarnRules {
            points_per_unit: Decimal::ONE,
            category_multipliers: BTreeMap::new(),
            tier_multipliers: BTreeMap::new(),
        }
    }
}

impl EarnRules {
    /// Rates and multipliers must be between 0 and [`MAX_MULTIPLIER`].
    pub fn validate(&self) -> Result<(), PointsError> {
        let check = |what: &str, m: Decimal| {
            if m.is_sign_negative() || m > MAX_MULTIPLIER {
                Err(invalid(format!(
                    "{what} must be between 0 and {MAX_MULTIPLIER}, not {m}"
                )))
            } else {
                Ok(())
            }
        };
        check("points per unit", self.points_per_unit)?;
        for (c, m) in &self.category_multipliers {
            check(&format!("the multiplier of category {c:?}"), *m)?;
        }
        for (t, m) in &self.tier_multipliers {
            check(&format!("the multiplier of tier {t:?}"), *m)?;
        }
        Ok(())
    }

    fn category(&self, category: &str) -> Decimal {
        self.category_multipliers
            .get(category)
            .copied()
            .unwrap_or(Decimal::ONE)
            .max(Decimal::ZERO)
    }

    fn tier(&self, tier: &str) -> Decimal {
        self.tier_multipliers
            .get(tier)
            .copied()
            .unwrap_or(Decimal::ONE)
            .max(Decimal::ZERO)
    }
}

/// Points earned on `lines` of `(category, amount paid)` by a member of `tier`:
/// `floor(Σ amount · category multiplier · points_per_unit · tier multiplier)`, never negative.
pub fn earn<'a, I>(rules: &EarnRules, tier: &str, lines: I) -> i64
where
    I: IntoIterator<Item = (&'a str, Decimal)>,
{
    let mut weighted = Decimal::ZERO;
    for (category, amount) in lines {
        let part = mul(amount, rules.category(category));
        weighted = weighted
            .checked_add(part)
            .unwrap_or(if part.is_sign_negative() {
                Decimal::MIN
            } else {
                Decimal::MAX
            });
    }
    let rate = mul(rules.points_per_unit.max(Decimal::ZERO), rules.tier(tier));
    whole_points(mul(weighted, rate))
}

/// Points to take back after refunding `refunded` (cumulative, all returns so far) of a sale
/// that paid `paid` and earned `earned`: `floor(earned · refunded / paid)`, at most `earned`.
/// A complete refund takes back exactly `earned`; the caller books the difference to what
/// earlier returns of the same sale already took back.
pub fn clawback(earned: i64, paid: Decimal, refunded: Decimal) -> i64 {
    if earned <= 0 || paid <= Decimal::ZERO || refunded <= Decimal::ZERO {
        return 0;
    }
    if refunded >= paid {
        return earned;
    }
    let share = mul(Decimal::from(earned), refunded) / paid;
    whole_points(share).min(earned)
}

fn mul(a: Decimal, b: Decimal) -> Decimal {
    a.checked_mul(b)
        .unwrap_or(if a.is_sign_negative() != b.is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        })
}

/// Round down to whole points, 0 if negative, saturating at `i64::MAX`.
fn whole_points(d: Decimal) -> i64 {
    if d <= Decimal::ZERO {
        return 0;
    }
    d.floor().to_i64().unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// Redeeming
// ---------------------------------------------------------------------------------------------

/// How points pay for part of an order (积分抵现).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemRules {
    /// Points are used in whole steps of this many points…
    pub points_per_step: i64,
    /// …each worth this amount (100 points = ¥1.00).
    pub value_per_step: Decimal,
    /// At most this share of the order total may be paid with points (0.5 = half).
    pub max_share: Decimal,
    /// Fewer points than this cannot be used at all.
    #[serde(default)]
    pub min_points: i64,
}

impl Default for RedeemRules {
    fn default() -> Self {
        RedeemRules {
            points_per_step: 100,
            value_per_step: Decimal::new(100, 2),
            max_share: Decimal::new(5, 1),
            min_points: 0,
        }
    }
}

impl RedeemRules {
    pub fn validate(&self) -> Result<(), PointsError> {
        if self.points_per_step <= 0 {
            return Err(invalid("points per step must be positive"));
        }
        if self.value_per_step <= Decimal::ZERO {
            return Err(invalid("the value of a step must be positive"));
        }
        if self.max_share.is_sign_negative() || self.max_share > Decimal::ONE {
            return Err(invalid("the maximum share must be between 0 and 1"));
        }
        if self.min_points < 0 {
            return Err(invalid("the minimum points cannot be negative"));
        }
        Ok(())
    }
}

/// Redeem up to `points` (what the member offers, at most their balance) on an order of
/// `order_total`: returns `(points_used, amount)`, the largest whole number of steps that fits
/// both the points and `max_share · order_total`. `(0, 0)` when nothing can be redeemed.
pub fn redeem_value(points: i64, rules: &RedeemRules, order_total: Decimal) -> (i64, Decimal) {
    let nothing = (0, Decimal::ZERO);
    if rules.validate().is_err()
        || points <= 0
        || points < rules.min_points
        || order_total <= Decimal::ZERO
    {
        return nothing;
    }
    let by_points = points / rules.points_per_step;
    let cap = mul(order_total, rules.max_share);
    let by_share = (cap / rules.value_per_step)
        .floor()
        .to_i64()
        .unwrap_or(i64::MAX);
    let steps = by_points.min(by_share);
    if steps <= 0 {
        return nothing;
    }
    let amount = mul(Decimal::from(steps), rules.value_per_step);
    (steps * rules.points_per_step, amount)
}

// ---------------------------------------------------------------------------------------------
// Tiers
// ---------------------------------------------------------------------------------------------

/// What the tier thresholds count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TierBasis {
    /// Points ever credited (the P side of the member's counter).
    #[default]
    LifetimePoints,
    /// Lifetime spend in minor units (fen).
    LifetimeSpendMinor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub code: String,
    /// Lifetime figure from which the tier applies (the lowest tier: 0).
    pub threshold: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRules {
    #[serde(default)]
    pub basis: TierBasis,
    /// Any order; equal thresholds resolve to the tier listed last.
    pub tiers: Vec<Tier>,
}

impl Default for TierRules {
    /// standard from 0, silver from 5,000 and gold from 20,000 lifetime points.
    fn default() -> Self {
        let tier = |code: &str, threshold| Tier {
            code: code.into(),
            threshold,
        };
        TierRules {
            basis: TierBasis::LifetimePoints,
            tiers: vec![
                tier("standard", 0),
                tier("silver", 5_000),
                tier("gold", 20_000),
            ],
        }
    }
}

/// The tier for a lifetime figure: the highest threshold reached; below every threshold, the
/// lowest tier; no tiers at all, `""`.
pub fn tier_for(lifetime: i64, rules: &TierRules) -> &str {
    let reached = rules
        .tiers
        .iter()
        .enumerate()
        .filter(|(_, t)| t.threshold <= lifetime)
        .max_by_key(|(i, t)| (t.threshold, *i));
    let lowest = || {
        rules
            .tiers
            .iter()
            .enumerate()
            .min_by_key(|(i, t)| (t.threshold, std::cmp::Reverse(*i)))
    };
    reached
        .or_else(lowest)
        .map(|(_, t)| t.code.as_str())
        .unwrap_or("")
}

/// The tier a member is in: the tier their lifetime figure reaches, or the tier HQ gave them
/// when that ranks higher (HQ may promote, e.g. a staff or VIP tier; points earned at the tills
/// promote without waiting for HQ; nothing here demotes below HQ's tier). A tier HQ gave that
/// the rules do not list is kept as it is.
pub fn effective_tier(hq_tier: &str, lifetime: i64, rules: &TierRules) -> String {
    let reached = tier_for(lifetime, rules);
    let rank = |code: &str| {
        rules
            .tiers
            .iter()
            .find(|t| t.code == code)
            .map(|t| t.threshold)
    };
    match (rank(hq_tier), rank(reached)) {
        _ if hq_tier.is_empty() => reached.to_string(),
        (None, _) => hq_tier.to_string(),
        (Some(h), Some(r)) if r > h => reached.to_string(),
        _ => hq_tier.to_string(),
    }
}

/// The next tier above both `lifetime` and the member's `current` tier, and how many more
/// lifetime points reach it; none at the top.
pub fn next_tier(lifetime: i64, current: &str, rules: &TierRules) -> Option<(String, i64)> {
    let floor = rules
        .tiers
        .iter()
        .find(|t| t.code == current)
        .map_or(lifetime, |t| t.threshold.max(lifetime));
    rules
        .tiers
        .iter()
        .filter(|t| t.threshold > floor)
        .min_by_key(|t| t.threshold)
        .map(|t| (t.code.clone(), t.threshold - lifetime))
}

/// Loyalty rules of a store: how points are earned and redeemed, and the tiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Loyalty {
    #[serde(default)]
    pub earn: EarnRules,
    #[serde(default)]
    pub redeem: RedeemRules,
    #[serde(default)]
    pub tiers: TierRules,
}

// ---------------------------------------------------------------------------------------------
// Point events and the PN-counter
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// Points for a purchase (positive).
    Earn,
    /// Points paid as a discount (negative).
    Redeem,
    /// A correction by HQ or a manager, or points taken back after a return (either sign).
    Adjust,
    /// Points that lapsed (negative).
    Expire,
}

impl PointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PointKind::Earn => "earn",
            PointKind::Redeem => "redeem",
            PointKind::Adjust => "adjust",
            PointKind::Expire => "expire",
        }
    }

    pub fn parse(s: &str) -> Option<PointKind> {
        Some(match s {
            "earn" => PointKind::Earn,
            "redeem" => PointKind::Redeem,
            "adjust" => PointKind::Adjust,
            "expire" => PointKind::Expire,
            _ => return None,
        })
    }
}

/// One change to a member's points, made once on one terminal and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointEvent {
    /// Unique (UUIDv7 made by the terminal); applying an event twice is a no-op in the store.
    pub event_id: String,
    pub member_id: String,
    /// The actor of the PN-counter.
    pub terminal_id: String,
    pub kind: PointKind,
    /// Signed: `Earn` > 0, `Redeem` and `Expire` < 0, `Adjust` ≠ 0.
    pub points: i64,
    pub at: DateTime<Utc>,
    /// What caused it: the sale or return id, an HQ adjustment reference.
    #[serde(default)]
    pub ref_id: Option<String>,
}

impl PointEvent {
    pub fn validate(&self) -> Result<(), PointsError> {
        for (what, v) in [
            ("event id", &self.event_id),
            ("member id", &self.member_id),
            ("terminal id", &self.terminal_id),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(format!("the point event has no {what}")));
            }
        }
        let sign_ok = match self.kind {
            PointKind::Earn => self.points > 0,
            PointKind::Redeem | PointKind::Expire => self.points < 0,
            PointKind::Adjust => self.points != 0,
        };
        if !sign_ok || self.points == i64::MIN {
            return Err(invalid(format!(
                "{} points cannot be {}",
                self.kind.as_str(),
                self.points
            )));
        }
        Ok(())
    }
}

/// A PN-counter: per actor (terminal) the sum of increments `p` and of decrements `n`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnCounter {
    #[serde(default)]
    pub p: BTreeMap<String, u64>,
    #[serde(default)]
    pub n: BTreeMap<String, u64>,
}

impl PnCounter {
    pub fn new() -> Self {
        PnCounter::default()
    }

    /// The counter of a set of events (one member's, or any: the counter does not look at the
    /// member). Each event must be applied once; the store deduplicates by event id.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a PointEvent>) -> Self {
        let mut c = PnCounter::new();
        for e in events {
            c.apply(e);
        }
        c
    }

    pub fn increment(&mut self, actor: &str, by: u64) {
        bump(&mut self.p, actor, by);
    }

    pub fn decrement(&mut self, actor: &str, by: u64) {
        bump(&mut self.n, actor, by);
    }

    /// Add a signed amount for an actor: positive to `p`, negative to `n`.
    pub fn add(&mut self, actor: &str, points: i64) {
        if points > 0 {
            self.increment(actor, points.unsigned_abs());
        } else if points < 0 {
            self.decrement(actor, points.unsigned_abs());
        }
    }

    pub fn apply(&mut self, e: &PointEvent) {
        self.add(&e.terminal_id, e.points);
    }

    /// Merge another view of the same counter: per actor, the larger of each sum.
    pub fn merge(&mut self, other: &PnCounter) {
        for (side, theirs) in [(&mut self.p, &other.p), (&mut self.n, &other.n)] {
            for (actor, &v) in theirs {
                let mine = side.entry(actor.clone()).or_insert(0);
                *mine = (*mine).max(v);
            }
        }
    }

    pub fn merged(&self, other: &PnCounter) -> PnCounter {
        let mut c = self.clone();
        c.merge(other);
        c
    }

    /// Σ increments (points ever credited).
    pub fn credited(&self) -> u64 {
        sum(&self.p)
    }

    /// Σ decrements (points ever debited).
    pub fn debited(&self) -> u64 {
        sum(&self.n)
    }

    /// Σ increments − Σ decrements, saturating at the bounds of `i64`.
    pub fn balance(&self) -> i64 {
        let b = i128::from(self.credited()) - i128::from(self.debited());
        b.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// `(p, n)` of one actor.
    pub fn actor(&self, actor: &str) -> (u64, u64) {
        (
            self.p.get(actor).copied().unwrap_or(0),
            self.n.get(actor).copied().unwrap_or(0),
        )
    }

    /// Whether every sum of `self` is at most the matching sum of `other` (`other` has seen at
    /// least what `self` has).
    pub fn covered_by(&self, other: &PnCounter) -> bool {
        let within = |mine: &BTreeMap<String, u64>, theirs: &BTreeMap<String, u64>| {
            mine.iter()
                .all(|(a, &v)| v <= theirs.get(a).copied().unwrap_or(0))
        };
        within(&self.p, &other.p) && within(&self.n, &other.n)
    }

    /// The same counter without zero entries (two counters that count the same compare equal).
    pub fn normalized(&self) -> PnCounter {
        let keep = |m: &BTreeMap<String, u64>| {
            m.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(a, v)| (a.clone(), *v))
                .collect()
        };
        PnCounter {
            p: keep(&self.p),
            n: keep(&self.n),
        }
    }
}

fn bump(side: &mut BTreeMap<String, u64>, actor: &str, by: u64) {
    if by == 0 {
        return;
    }
    match side.get_mut(actor) {
        Some(v) => *v = v.saturating_add(by),
        None => {
            side.insert(actor.to_string(), by);
        }
    }
}

fn sum(side: &BTreeMap<String, u64>) -> u64 {
    side.values().fold(0u64, |a, &v| a.saturating_add(v))
}

// ---------------------------------------------------------------------------------------------
// Dynamic member QR code
// ---------------------------------------------------------------------------------------------

/// The version prefix of member QR codes.
pub const QR_PREFIX: &str = "TM1";
/// Bytes of the HMAC kept in the code (hex: twice as many characters).
pub const QR_MAC_BYTES: usize = 16;
/// A code is still accepted this many minutes after its minute…
pub const QR_PAST_MINUTES: i64 = 2;
/// …and this many minutes before it (the phone's clock runs ahead).
pub const QR_FUTURE_MINUTES: i64 = 1;
/// Longest member id in a code.
pub const QR_MAX_MEMBER_ID: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum QrError {
    #[error("this is not a member code")]
    Malformed,
    #[error("the member code is not genuine")]
    BadSignature,
    #[error("the member code has expired: ask the customer to refresh it")]
    Expired,
    #[error("the member code is not valid yet: check the till's clock")]
    NotYetValid,
}

fn qr_member_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= QR_MAX_MEMBER_ID
        && id.bytes().all(|b| b.is_ascii_graphic() && b != b'.')
}

/// The code the member app shows during `minute` (Unix time / 60). `member_id` must be
/// printable ASCII without `.` (UUIDs and `M000001` are).
pub fn member_qr(member_id: &str, minute: i64, secret: &[u8]) -> String {
    let body = format!("{QR_PREFIX}.{member_id}.{minute}");
    let mac = hmac_sha256(secret, body.as_bytes());
    format!("{body}.{}", hex_lower(&mac[..QR_MAC_BYTES]))
}

/// Check a scanned member code against the shared secret at `now_minute` (Unix time / 60);
/// returns the member id.
pub fn verify_member_qr(code: &str, secret: &[u8], now_minute: i64) -> Result<String, QrError> {
    let code = code.trim();
    let (body, mac_hex) = code.rsplit_once('.').ok_or(QrError::Malformed)?;
    let mut parts = body.split('.');
    let (Some(prefix), Some(member_id), Some(minute), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(QrError::Malformed);
    };
    if prefix != QR_PREFIX
        || !qr_member_id_ok(member_id)
        || minute.is_empty()
        || minute.len() > 12
        || !minute.bytes().all(|b| b.is_ascii_digit())
        || mac_hex.len() != QR_MAC_BYTES * 2
    {
        return Err(QrError::Malformed);
    }
    let Some(given) = hex_decode(mac_hex) else {
        return Err(QrError::Malformed);
    };
    let minute: i64 = minute.parse().map_err(|_| QrError::Malformed)?;
    let expected = hmac_sha256(secret, body.as_bytes());
    // Constant time over the compared bytes.
    let diff = given
        .iter()
        .zip(&expected[..QR_MAC_BYTES])
        .fold(0u8, |d, (a, b)| d | (a ^ b));
    if diff != 0 {
        return Err(QrError::BadSignature);
    }
    if minute < now_minute.saturating_sub(QR_PAST_MINUTES) {
        return Err(QrError::Expired);
    }
    if minute > now_minute.saturating_add(QR_FUTURE_MINUTES) {
        return Err(QrError::NotYetValid);
    }
    Ok(member_id.to_string())
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [h, l] => Some(nibble(*h)? << 4 | nibble(*l)?),
            _ => None,
        })
        .collect()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}
