//! Derived state: what the accepted events add up to, as CRDTs, and the hub's pure receive
//! logic ([`Replica`]).
//!
//! Only five kinds change derived state; their payloads must hold these fields (other fields are
//! allowed and ignored here; the whole payload is kept in the event log):
//!
//! | kind | required payload fields | effect |
//! |---|---|---|
//! | `stock_movement` | `sku` (string), `delta` (i64, in the SKU's base unit: pieces, or grams for weighed goods) | stock of `(batch store, sku)` += delta, actor = terminal |
//! | `point_event` | `member_id` (string), `points` (i64, signed) | points of the member += points, actor = terminal (same fields as `core::points::PointEvent`) |
//! | `coupon_redemption` | `coupon_id`, `sale_id` (strings), `amount` (decimal string ≥ 0) | a [`Redemption`] in the registry |
//! | `member_signup` | `member_id` (string), `fields` (object of string or null) | each field written to the member's profile at the event's HLC |
//! | `coupon_restore` | `coupon_id`, `sale_id` (strings: the coupon and the sale that redeemed it) | that redemption is given back: it no longer counts (see [`RedemptionRegistry`]) |
//!
//! A sale or return that moves stock or points commits the matching `stock_movement` /
//! `point_event` events in the same transaction; the hub never derives stock or points by
//! interpreting sale payloads, so the counters equal the sum of their events by construction.
//! An event of these kinds whose payload lacks a field is rejected `invalid_payload`.

use crate::counter::{CounterMap, CounterOverflow};
use crate::event::{Event, EventKind, EventLog, Receipt, RejectReason, Rejection};
use crate::ids::{StoreId, TenantId, TerminalId};
use crate::lww::LwwMap;
use crate::redemption::{Outcome, Redemption, RedemptionRegistry};
use crate::wire::{PROTOCOL_VERSION, PushAck, PushBatch, Rejected};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Longest SKU, member id, coupon id, sale id or profile field name accepted.
pub const MAX_REF_LEN: usize = 128;

/// What one event does to derived state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    Stock {
        sku: String,
        delta: i64,
    },
    Points {
        member_id: String,
        delta: i64,
    },
    Redemption {
        coupon_id: String,
        sale_id: String,
        amount: Decimal,
    },
    Profile {
        member_id: String,
        fields: BTreeMap<String, Option<String>>,
    },
    /// The redemption of `coupon_id` by `sale_id` was given back.
    Restore {
        coupon_id: String,
        sale_id: String,
    },
}

#[derive(Deserialize)]
struct StockPayload {
    sku: String,
    delta: i64,
}

#[derive(Deserialize)]
struct PointsPayload {
    member_id: String,
    points: i64,
}

#[derive(Deserialize)]
struct RedemptionPayload {
    coupon_id: String,
    sale_id: String,
    amount: Decimal,
}

#[derive(Deserialize)]
struct RestorePayload {
    coupon_id: String,
    sale_id: String,
}

#[derive(Deserialize)]
struct SignupPayload {
    member_id: String,
    #[serde(default)]
    fields: BTreeMap<String, Option<String>>,
}

fn reference(what: &str, s: &str) -> Result<(), String> {
    if s.trim().is_empty() || s.len() > MAX_REF_LEN {
        Err(format!("{what} must be 1 to {MAX_REF_LEN} bytes"))
    } else {
        Ok(())
    }
}

/// The effect of an event's payload, or why the payload is unusable.
pub fn effect_of(event: &Event) -> Result<Effect, String> {
    fn parse<T: for<'de> Deserialize<'de>>(event: &Event) -> Result<T, String> {
        T::deserialize(&event.payload).map_err(|e| format!("{} payload: {e}", event.kind.as_str()))
    }
    Ok(match event.kind {
        EventKind::StockMovement => {
            let p: StockPayload = parse(event)?;
            reference("sku", &p.sku)?;
            Effect::Stock {
                sku: p.sku,
                delta: p.delta,
            }
        }
        EventKind::PointEvent => {
            let p: PointsPayload = parse(event)?;
            reference("member_id", &p.member_id)?;
            Effect::Points {
                member_id: p.member_id,
                delta: p.points,
            }
        }
        EventKind::CouponRedemption => {
            let p: RedemptionPayload = parse(event)?;
            reference("coupon_id", &p.coupon_id)?;
            reference("sale_id", &p.sale_id)?;
            if p.amount.is_sign_negative() {
                return Err(format!(
                    "a redemption amount cannot be negative: {}",
                    p.amount
                ));
            }
            Effect::Redemption {
                coupon_id: p.coupon_id,
                sale_id: p.sale_id,
                amount: p.amount,
            }
        }
        EventKind::CouponRestore => {
            let p: RestorePayload = parse(event)?;
            reference("coupon_id", &p.coupon_id)?;
            reference("sale_id", &p.sale_id)?;
            Effect::Restore {
                coupon_id: p.coupon_id,
                sale_id: p.sale_id,
            }
        }
        EventKind::MemberSignup => {
            let p: SignupPayload = parse(event)?;
            reference("member_id", &p.member_id)?;
            for k in p.fields.keys() {
                reference("a profile field name", k)?;
            }
            Effect::Profile {
                member_id: p.member_id,
                fields: p.fields,
            }
        }
        _ => Effect::None,
    })
}

/// Stock, points, member profiles and coupon redemptions: all CRDTs, merged field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DerivedState {
    pub stock: CounterMap<(StoreId, String)>,
    pub points: CounterMap<String>,
    pub profiles: BTreeMap<String, LwwMap<String, Option<String>>>,
    pub redemptions: RedemptionRegistry,
}

impl DerivedState {
    pub fn new() -> Self {
        DerivedState::default()
    }

    /// Whether [`DerivedState::apply`] would succeed.
    pub fn check(
        &self,
        store: &StoreId,
        actor: &TerminalId,
        effect: &Effect,
    ) -> Result<(), CounterOverflow> {
        match effect {
            Effect::Stock { sku, delta } => {
                self.stock
                    .check_add(&(store.clone(), sku.clone()), actor, *delta)
            }
            Effect::Points { member_id, delta } => self.points.check_add(member_id, actor, *delta),
            _ => Ok(()),
        }
    }

    /// Apply an accepted event's effect (once per event: the event log guarantees it). Returns
    /// the coupon outcome for a redemption.
    pub fn apply(
        &mut self,
        store: &StoreId,
        event: &Event,
        effect: Effect,
    ) -> Result<Option<Outcome>, CounterOverflow> {
        let actor = &event.terminal_id;
        match effect {
            Effect::None => {}
            Effect::Stock { sku, delta } => self.stock.add((store.clone(), sku), actor, delta)?,
            Effect::Points { member_id, delta } => self.points.add(member_id, actor, delta)?,
            Effect::Redemption {
                coupon_id,
                sale_id,
                amount,
            } => {
                return Ok(self.redemptions.insert(Redemption {
                    coupon_id,
                    event_id: event.event_id.clone(),
                    sale_id,
                    terminal_id: actor.clone(),
                    hlc: event.hlc.clone(),
                    amount,
                }));
            }
            Effect::Restore { coupon_id, sale_id } => {
                self.redemptions.restore(&coupon_id, &sale_id);
            }
            Effect::Profile { member_id, fields } => {
                let profile = self.profiles.entry(member_id).or_default();
                for (k, v) in fields {
                    profile.set(k, v, event.hlc.clone());
                }
            }
        }
        Ok(None)
    }

    /// Join with another state (see the per-type docs for why each merge is exact).
    pub fn merge(&mut self, other: &DerivedState) {
        self.stock.merge(&other.stock);
        self.points.merge(&other.points);
        for (m, p) in &other.profiles {
            self.profiles.entry(m.clone()).or_default().merge(p);
        }
        self.redemptions.merge(&other.redemptions);
    }

    pub fn stock(&self, store: &StoreId, sku: &str) -> i128 {
        self.stock.value(&(store.clone(), sku.to_string()))
    }

    pub fn points(&self, member_id: &str) -> i128 {
        self.points.value(&member_id.to_string())
    }

    pub fn profile_field(&self, member_id: &str, field: &str) -> Option<&Option<String>> {
        self.profiles.get(member_id)?.get(&field.to_string())
    }
}

/// The batch is for another tenant: nothing in it was looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the batch is for tenant {got}, this replica holds tenant {expected}")]
pub struct WrongTenant {
    pub expected: TenantId,
    pub got: TenantId,
}

/// One tenant's hub state: the event log and what it adds up to. The pure model of the
/// server's push handling.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    pub tenant: TenantId,
    pub log: EventLog,
    pub state: DerivedState,
}

impl Replica {
    pub fn new(tenant: TenantId) -> Replica {
        Replica {
            tenant,
            log: EventLog::new(),
            state: DerivedState::new(),
        }
    }

    /// Receive one event from a terminal of `store`: validated, deduplicated, applied once.
    pub fn receive(&mut self, store: &StoreId, event: Event) -> Receipt {
        match self.log.check(store, &event) {
            Receipt::Accepted => {}
            other => return other,
        }
        let effect = match effect_of(&event) {
            Ok(e) => e,
            Err(detail) => {
                return Receipt::Rejected(Rejection::new(RejectReason::InvalidPayload, detail));
            }
        };
        if let Err(e) = self.state.check(store, &event.terminal_id, &effect) {
            return Receipt::Rejected(Rejection::new(RejectReason::Overflow, e.to_string()));
        }
        let applied = self.state.apply(store, &event, effect);
        debug_assert!(applied.is_ok(), "checked above");
        self.log.insert(store, event)
    }

    /// Handle a push batch: every event is answered exactly once in the acknowledgement
    /// (`accepted`, `duplicates` or `rejected`), in batch order.
    pub fn receive_batch(&mut self, batch: &PushBatch) -> Result<PushAck, WrongTenant> {
        if batch.tenant != self.tenant {
            return Err(WrongTenant {
                expected: self.tenant.clone(),
                got: batch.tenant.clone(),
            });
        }
        let mut ack = PushAck {
            version: PROTOCOL_VERSION,
            batch_id: batch.batch_id.clone(),
            accepted: Vec::new(),
            duplicates: Vec::new(),
            rejected: Vec::new(),
        };
        for event in &batch.events {
            let id = event.event_id.clone();
            let receipt = if event.terminal_id != batch.terminal {
                Receipt::Rejected(Rejection::new(
                    RejectReason::WrongTerminal,
                    format!(
                        "the event is from terminal {}, the batch from {}",
                        event.terminal_id, batch.terminal
                    ),
                ))
            } else {
                self.receive(&batch.store, event.clone())
            };
            match receipt {
                Receipt::Accepted => ack.accepted.push(id),
                Receipt::Duplicate => ack.duplicates.push(id),
                Receipt::Rejected(r) => ack.rejected.push(Rejected {
                    event_id: id,
                    reason: r.reason,
                    detail: r.detail,
                }),
            }
        }
        Ok(ack)
    }
}
