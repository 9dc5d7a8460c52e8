//! Single-use coupon redemptions: the first by HLC wins, later ones are reported.
//!
//! Terminals may accept a single-use coupon offline (within the campaign's offline allowance),
//! so two tills can redeem the same coupon before either syncs. The registry is a grow-only set
//! of redemptions per coupon (merge = union, so commutative, associative, idempotent); the
//! *winner* is the redemption with the smallest `(hlc, event_id)` and every other one is a
//! *loser*. Losing sales are not undone (they were paid and printed): they are reported to HQ
//! with both sales' ids and amounts for reconciliation. Since the winner is a function of the
//! set, every replica that has seen the same redemptions names the same winner.
//!
//! A redemption can be given back (a return that restores the coupon, a post-void): the
//! registry also keeps a grow-only set of restores, `(coupon, sale)`, and a restored
//! redemption no longer counts — not as the winner, not as a loser. The registry is then a
//! two-phase set per coupon: a restore wins over its redemption whichever arrives first, so
//! merge stays a union and the outcome stays a function of what was seen. A coupon given back
//! can be redeemed again by a later sale, which is then the winner.

use crate::hlc::Hlc;
use crate::ids::TerminalId;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One redemption of a coupon by one sale.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Redemption {
    pub coupon_id: String,
    /// The `coupon_redemption` event.
    pub event_id: String,
    pub sale_id: String,
    pub terminal_id: TerminalId,
    pub hlc: Hlc,
    /// The discount the coupon gave on that sale.
    pub amount: Decimal,
}

impl Redemption {
    fn rank(&self) -> (&Hlc, &str) {
        (&self.hlc, &self.event_id)
    }
}

/// The state of one coupon: who won, who lost (in HLC order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub winner: Redemption,
    pub losers: Vec<Redemption>,
}

impl Outcome {
    pub fn is_conflict(&self) -> bool {
        !self.losers.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedemptionRegistry {
    /// coupon id → event id → redemption.
    coupons: BTreeMap<String, BTreeMap<String, Redemption>>,
    /// coupon id → the sales whose redemption of it was given back.
    restored: BTreeMap<String, BTreeSet<String>>,
}

impl RedemptionRegistry {
    pub fn new() -> Self {
        RedemptionRegistry::default()
    }

    fn put(&mut self, r: Redemption) {
        let per = self.coupons.entry(r.coupon_id.clone()).or_default();
        match per.get_mut(&r.event_id) {
            // The same event id with other content cannot pass the event log; should two
            // replicas disagree anyway, keep the smaller so merge stays commutative.
            Some(cur) => {
                if r < *cur {
                    *cur = r;
                }
            }
            None => {
                per.insert(r.event_id.clone(), r);
            }
        }
    }

    /// Add a redemption (idempotent) and return the coupon's outcome (`None` when every
    /// redemption of it, this one included, was given back).
    pub fn insert(&mut self, r: Redemption) -> Option<Outcome> {
        let coupon = r.coupon_id.clone();
        self.put(r);
        self.outcome(&coupon)
    }

    /// Record that `sale_id` gave its redemption of `coupon_id` back (idempotent; it may arrive
    /// before the redemption). Returns the coupon's outcome without it.
    pub fn restore(&mut self, coupon_id: &str, sale_id: &str) -> Option<Outcome> {
        self.restored
            .entry(coupon_id.to_string())
            .or_default()
            .insert(sale_id.to_string());
        self.outcome(coupon_id)
    }

    fn is_restored(&self, r: &Redemption) -> bool {
        self.restored
            .get(&r.coupon_id)
            .is_some_and(|sales| sales.contains(&r.sale_id))
    }

    /// Union with another registry. Returns the outcomes of the coupons `other` brought
    /// redemptions for that now have losers.
    pub fn merge(&mut self, other: &RedemptionRegistry) -> Vec<Outcome> {
        for per in other.coupons.values() {
            for r in per.values() {
                self.put(r.clone());
            }
        }
        for (coupon, sales) in &other.restored {
            self.restored
                .entry(coupon.clone())
                .or_default()
                .extend(sales.iter().cloned());
        }
        other
            .coupons
            .keys()
            .filter_map(|c| self.outcome(c))
            .filter(Outcome::is_conflict)
            .collect()
    }

    /// The coupon's standing redemptions (those not given back): the first by HLC and the rest.
    pub fn outcome(&self, coupon_id: &str) -> Option<Outcome> {
        let per = self.coupons.get(coupon_id)?;
        let mut all: Vec<&Redemption> = per.values().filter(|r| !self.is_restored(r)).collect();
        all.sort_by(|a, b| a.rank().cmp(&b.rank()));
        let (first, rest) = all.split_first()?;
        Some(Outcome {
            winner: (*first).clone(),
            losers: rest.iter().map(|r| (*r).clone()).collect(),
        })
    }

    /// Whether the coupon has a standing redemption (one not given back).
    pub fn is_redeemed(&self, coupon_id: &str) -> bool {
        self.outcome(coupon_id).is_some()
    }

    /// Every coupon redeemed more than once.
    pub fn conflicts(&self) -> Vec<Outcome> {
        self.coupons
            .keys()
            .filter_map(|c| self.outcome(c))
            .filter(Outcome::is_conflict)
            .collect()
    }
}
