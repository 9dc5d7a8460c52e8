//! Tenders and the payment state of a cart.
//!
//! Rules: amounts are positive; only cash may exceed what is due (the excess is change, paid
//! from the cash tendered); Alipay and WeChat Pay need the wallet's transaction reference; cash
//! rounding (0.05 / 0.10) applies to the part of the total paid in cash and is shown as its own
//! rounding line.

use crate::money::{RoundingMode, from_minor, round_to_step, to_minor};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    Cash,
    Card,
    Alipay,
    WechatPay,
    /// Member points paid as money (积分抵现); the tender carries how many points.
    Points,
}

impl TenderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TenderKind::Cash => "cash",
            TenderKind::Card => "card",
            TenderKind::Alipay => "alipay",
            TenderKind::WechatPay => "wechat_pay",
            TenderKind::Points => "points",
        }
    }

    pub fn parse(s: &str) -> Option<TenderKind> {
        match s {
            "cash" => Some(TenderKind::Cash),
            "card" => Some(TenderKind::Card),
            "alipay" => Some(TenderKind::Alipay),
            "wechat_pay" | "wechat" => Some(TenderKind::WechatPay),
            "points" => Some(TenderKind::Points),
            _ => None,
        }
    }

    /// External tenders settled elsewhere that must carry the provider's reference.
    pub fn needs_reference(self) -> bool {
        matches!(self, TenderKind::Alipay | TenderKind::WechatPay)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tender {
    pub tender_id: u32,
    pub kind: TenderKind,
    /// Amount handed over / charged.
    pub amount: Decimal,
    #[serde(default)]
    pub reference: Option<String>,
    /// For a points tender: the points it uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PaymentState {
    /// Order total before cash rounding.
    pub total: Decimal,
    /// Cash rounding line (positive or negative), zero without cash.
    pub rounding: Decimal,
    /// `total + rounding`.
    pub due: Decimal,
    pub paid: Decimal,
    pub remaining: Decimal,
    pub change: Decimal,
    /// What the customer would pay if the rest is paid in cash (cash-rounded).
    pub cash_due: Decimal,
    /// What a card or e-wallet may still pay (no cash rounding on non-cash tenders).
    pub non_cash_due: Decimal,
}

/// Compute the payment state of `total` with `tenders`.
pub fn payment_state(
    total: Decimal,
    tenders: &[Tender],
    cash_step: Option<Decimal>,
    minor_units: u32,
) -> PaymentState {
    let non_cash: Decimal = tenders
        .iter()
        .filter(|t| t.kind != TenderKind::Cash)
        .map(|t| t.amount)
        .sum();
    let has_cash = tenders.iter().any(|t| t.kind == TenderKind::Cash);
    let cash_part = (total - non_cash).max(Decimal::ZERO);
    let cash_rounded = match cash_step {
        Some(step) => round_to_step(cash_part, step),
        None => cash_part,
    };
    let rounding = if has_cash {
        cash_rounded - cash_part
    } else {
        Decimal::ZERO
    };
    let due = total + rounding;
    let paid: Decimal = tenders.iter().map(|t| t.amount).sum();
    let remaining = (due - paid).max(Decimal::ZERO);
    let change = (paid - due).max(Decimal::ZERO);
    let cash_paid: Decimal = tenders
        .iter()
        .filter(|t| t.kind == TenderKind::Cash)
        .map(|t| t.amount)
        .sum();
    // With or without cash tendered so far, what cash still has to cover is the cash part
    // rounded, less the cash already handed over (equal to `remaining` once cash is present).
    let cash_due = (cash_rounded - cash_paid).max(Decimal::ZERO);
    // A card or wallet may bring the amount paid up to the unrounded total, never beyond.
    let non_cash_due = (total - paid).max(Decimal::ZERO);
    let fix = |d: Decimal| {
        let mut d = d;
        d.rescale(minor_units);
        d
    };
    PaymentState {
        total: fix(total),
        rounding: fix(rounding),
        due: fix(due),
        paid: fix(paid),
        remaining: fix(remaining),
        change: fix(change),
        cash_due: fix(cash_due),
        non_cash_due: fix(non_cash_due),
    }
}

/// How much of each tender was kept: change is taken back from cash tenders, last one first.
pub fn applied_amounts(tenders: &[Tender], change: Decimal) -> Vec<Decimal> {
    let mut applied: Vec<Decimal> = tenders.iter().map(|t| t.amount).collect();
    let mut left = change;
    for (i, t) in tenders.iter().enumerate().rev() {
        if left <= Decimal::ZERO {
            break;
        }
        if t.kind == TenderKind::Cash {
            let take = left.min(applied[i]);
            applied[i] -= take;
            left -= take;
        }
    }
    applied
}

/// Quick-cash buttons: the exact amount and the next round amounts in CNY notes.
pub fn quick_cash(due: Decimal, minor_units: u32) -> Vec<Decimal> {
    let mut out = vec![due];
    if due <= Decimal::ZERO {
        return out;
    }
    for note in [1i64, 5, 10, 20, 50, 100] {
        let note = Decimal::from(note);
        let up = (due / note).ceil() * note;
        if up > due && !out.contains(&up) {
            out.push(up);
        }
    }
    out.sort();
    out.dedup();
    out.truncate(5);
    out.into_iter()
        .map(|d| from_minor(to_minor(d, minor_units, RoundingMode::HalfUp), minor_units))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn t(id: u32, kind: TenderKind, amount: Decimal) -> Tender {
        Tender {
            points: None,
            tender_id: id,
            kind,
            amount,
            reference: None,
        }
    }

    #[test]
    fn cash_change_and_rounding_line() {
        let s = payment_state(
            dec!(10.03),
            &[t(1, TenderKind::Cash, dec!(20))],
            Some(dec!(0.05)),
            2,
        );
        assert_eq!(s.rounding, dec!(0.02));
        assert_eq!(s.due, dec!(10.05));
        assert_eq!(s.change, dec!(9.95));
        assert_eq!(s.remaining, dec!(0));
    }

    #[test]
    fn no_rounding_without_cash_and_split_rounds_only_the_cash_part() {
        let s = payment_state(
            dec!(10.03),
            &[t(1, TenderKind::Card, dec!(10.03))],
            Some(dec!(0.05)),
            2,
        );
        assert_eq!(
            (s.rounding, s.remaining, s.change),
            (dec!(0), dec!(0), dec!(0))
        );
        let s = payment_state(
            dec!(10.03),
            &[
                t(1, TenderKind::Card, dec!(5.00)),
                t(2, TenderKind::Cash, dec!(5)),
            ],
            Some(dec!(0.10)),
            2,
        );
        // cash part 5.03 -> 5.00: rounding -0.03, due 10.00, paid 10.00
        assert_eq!(
            (s.rounding, s.due, s.change),
            (dec!(-0.03), dec!(10.00), dec!(0))
        );
        let before = payment_state(
            dec!(10.03),
            &[t(1, TenderKind::Card, dec!(5))],
            Some(dec!(0.05)),
            2,
        );
        assert_eq!(
            (before.remaining, before.cash_due),
            (dec!(5.03), dec!(5.05))
        );
    }

    #[test]
    fn change_comes_back_from_the_last_cash_tender() {
        let tenders = [
            t(1, TenderKind::Cash, dec!(50)),
            t(2, TenderKind::Card, dec!(30)),
            t(3, TenderKind::Cash, dec!(10)),
        ];
        assert_eq!(
            applied_amounts(&tenders, dec!(15)),
            vec![dec!(45), dec!(30), dec!(0)]
        );
    }

    #[test]
    fn quick_cash_suggests_notes() {
        assert_eq!(
            quick_cash(dec!(37.50), 2),
            vec![dec!(37.50), dec!(38), dec!(40), dec!(50), dec!(100)]
        );
        assert_eq!(quick_cash(dec!(100), 2), vec![dec!(100)]);
    }
}
