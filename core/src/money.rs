//! Money: `rust_decimal` amounts in a currency with a fixed number of minor units.
//!
//! Every amount that leaves this module is rounded to the currency's minor units with the
//! store's [`RoundingMode`]. Allocation and tax arithmetic work on integer minor units (`i64`)
//! so that sums are exact.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// The largest amount the till accepts anywhere a person types or imports one
/// (99,999,999.99): far above any real sale, far below where arithmetic could overflow.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1_410_065_407, 2, 0, false, 2);

/// Whether an entered amount is within [`MAX_AMOUNT`] (either sign).
pub fn within_limit(amount: Decimal) -> bool {
    amount.abs() <= MAX_AMOUNT
}

/// A currency: ISO code and number of minor units (CNY has 2: yuan and fen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Currency {
    pub code: String,
    pub minor_units: u32,
}

impl Currency {
    pub fn cny() -> Self {
        Currency {
            code: "CNY".into(),
            minor_units: 2,
        }
    }
}

/// How amounts are rounded to minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// 0.005 -> 0.01 (away from zero at the midpoint), the usual till rule.
    #[default]
    HalfUp,
    /// Banker's rounding: 0.005 -> 0.00, 0.015 -> 0.02.
    HalfEven,
}

impl RoundingMode {
    fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
        }
    }
}

/// Round an amount to `minor_units` decimal places.
pub fn round(amount: Decimal, minor_units: u32, mode: RoundingMode) -> Decimal {
    amount.round_dp_with_strategy(minor_units, mode.strategy())
}

/// Convert an amount to integer minor units, rounding first.
pub fn to_minor(amount: Decimal, minor_units: u32, mode: RoundingMode) -> i64 {
    let scaled = round(amount, minor_units, mode) * Decimal::from(10i64.pow(minor_units));
    // Till amounts are far below i64::MAX minor units; saturate rather than panic.
    scaled.to_i64().unwrap_or(if scaled.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Convert integer minor units back to an amount with exactly `minor_units` decimals.
pub fn from_minor(minor: i64, minor_units: u32) -> Decimal {
    Decimal::new(minor, minor_units)
}

/// Round `amount` to the nearest multiple of `step` (cash rounding: 0.05 or 0.10).
/// Midpoints go up (away from zero), as cash rounding rules in CNY/AUD/CHF do.
pub fn round_to_step(amount: Decimal, step: Decimal) -> Decimal {
    if step <= Decimal::ZERO {
        return amount;
    }
    let units = (amount / step).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let mut rounded = units * step;
    rounded.rescale(step.scale().max(amount.scale()));
    rounded
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_amount_limit() {
        assert_eq!(MAX_AMOUNT.to_string(), "99999999.99");
        assert!(within_limit(dec!(99999999.99)));
        assert!(!within_limit(dec!(100000000)));
        assert!(!within_limit(dec!(-100000000)));
    }

    #[test]
    fn half_up_and_half_even_differ_at_midpoints() {
        assert_eq!(round(dec!(0.125), 2, RoundingMode::HalfUp), dec!(0.13));
        assert_eq!(round(dec!(0.125), 2, RoundingMode::HalfEven), dec!(0.12));
        assert_eq!(round(dec!(0.135), 2, RoundingMode::HalfEven), dec!(0.14));
        assert_eq!(round(dec!(-0.125), 2, RoundingMode::HalfUp), dec!(-0.13));
    }

    #[test]
    fn minor_units_round_trip() {
        assert_eq!(to_minor(dec!(12.34), 2, RoundingMode::HalfUp), 1234);
        assert_eq!(to_minor(dec!(-0.015), 2, RoundingMode::HalfUp), -2);
        assert_eq!(to_minor(dec!(7), 2, RoundingMode::HalfUp), 700);
        assert_eq!(from_minor(1234, 2), dec!(12.34));
        assert_eq!(from_minor(1234, 2).to_string(), "12.34");
    }

    #[test]
    fn cash_rounding_to_five_and_ten_fen() {
        assert_eq!(round_to_step(dec!(10.02), dec!(0.05)), dec!(10.00));
        assert_eq!(round_to_step(dec!(10.03), dec!(0.05)), dec!(10.05));
        assert_eq!(round_to_step(dec!(10.025), dec!(0.05)), dec!(10.05));
        assert_eq!(round_to_step(dec!(10.04), dec!(0.10)), dec!(10.00));
        assert_eq!(round_to_step(dec!(10.05), dec!(0.10)), dec!(10.10));
        assert_eq!(round_to_step(dec!(10.05), dec!(0.10)).to_string(), "10.10");
    }
}
