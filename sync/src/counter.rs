//! PN-counters with one actor per terminal: stock per (store, SKU) and member points.
//!
//! A counter holds per actor (terminal) the sum of its increments `P[a]` and of its decrements
//! `N[a]`; its value is `ΣP − ΣN`; two states merge by taking per actor the larger of each sum.
//! Merge is commutative, associative and idempotent (a join-semilattice).
//!
//! **Why per-actor `max` is exact here.** A terminal only ever adds its own events, so its `P[a]`
//! and `N[a]` grow along one history. Two states of actor `a` merge correctly as long as one was
//! derived from a subset of the events the other was derived from. In Tillstone's star topology
//! this holds: the terminal itself holds all of its events; the hub holds a growing subset of
//! them (events arrive in any order, deduplicated by the [`EventLog`](crate::event::EventLog));
//! other terminals only ever receive the hub's state. Terminals must not exchange counter
//! state with each other directly, and an actor id is never reused (see [`crate::ids`]).
//!
//! The per-actor sums are `u64`; an event whose application would overflow one is refused with
//! [`CounterOverflow`] before anything changes (never a panic or a wrap).
//!
//! Built on `crdts::PNCounter<TerminalId>`. That type hides its per-actor sums, does unchecked
//! `u64` addition in `inc_many`, reads as a `BigInt` and serialises as its internal layout, so
//! [`Counter`] wraps it: it keeps the set of actors so it can read each actor's sums
//! (`inc_many(a, 0)` yields the actor's current dot without changing anything), checks for
//! overflow first, and converts to and from its own wire form, [`CounterState`]
//! (`{"p": {"<terminal>": n}, "n": {…}}`, zero sums omitted).

use crate::ids::TerminalId;
use crdts::{CmRDT, CvRDT, PNCounter};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Applying a delta would push an actor's sum past `u64::MAX`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the counter sum of terminal {actor} would overflow")]
pub struct CounterOverflow {
    pub actor: TerminalId,
}

/// The wire form of a counter: per actor the sum of increments and of decrements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterState {
    #[serde(default)]
    pub p: BTreeMap<TerminalId, u64>,
    #[serde(default)]
    pub n: BTreeMap<TerminalId, u64>,
}

/// A PN-counter whose actors are terminals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counter {
    inner: PNCounter<TerminalId>,
    actors: BTreeSet<TerminalId>,
}

impl Counter {
    pub fn new() -> Counter {
        Counter::default()
    }

    /// `(P[a], N[a])`.
    pub fn actor(&self, actor: &TerminalId) -> (u64, u64) {
        if !self.actors.contains(actor) {
            return (0, 0);
        }
        (
            self.inner.inc_many(actor.clone(), 0).dot.counter,
            self.inner.dec_many(actor.clone(), 0).dot.counter,
        )
    }

    /// Whether [`Counter::add`] of `delta` by `actor` would succeed.
    pub fn check_add(&self, actor: &TerminalId, delta: i64) -> Result<(), CounterOverflow> {
        let (p, n) = self.actor(actor);
        let side = if delta >= 0 { p } else { n };
        side.checked_add(delta.unsigned_abs())
            .map(|_| ())
            .ok_or_else(|| CounterOverflow {
                actor: actor.clone(),
            })
    }

    /// Count one event of `actor`: a positive delta adds to `P[a]`, a negative one to `N[a]`.
    /// Each event must be added once (the event log deduplicates).
    pub fn add(&mut self, actor: &TerminalId, delta: i64) -> Result<(), CounterOverflow> {
        self.check_add(actor, delta)?;
        if delta == 0 {
            return Ok(());
        }
        let op = if delta > 0 {
            self.inner.inc_many(actor.clone(), delta.unsigned_abs())
        } else {
            self.inner.dec_many(actor.clone(), delta.unsigned_abs())
        };
        self.inner.apply(op);
        self.actors.insert(actor.clone());
        Ok(())
    }

    /// `ΣP − ΣN`.
    pub fn value(&self) -> i128 {
        // |ΣP − ΣN| < 2^64 · (number of actors), far inside i128.
        i128::try_from(self.inner.read()).unwrap_or(i128::MAX)
    }

    /// Merge another state of the same counter: per actor, the larger of each sum.
    pub fn merge(&mut self, other: &Counter) {
        self.inner.merge(other.inner.clone());
        self.actors.extend(other.actors.iter().cloned());
    }

    pub fn merged(&self, other: &Counter) -> Counter {
        let mut c = self.clone();
        c.merge(other);
        c
    }

    pub fn actors(&self) -> impl Iterator<Item = &TerminalId> {
        self.actors.iter()
    }

    /// The wire form.
    pub fn state(&self) -> CounterState {
        let mut s = CounterState::default();
        for a in &self.actors {
            let (p, n) = self.actor(a);
            if p > 0 {
                s.p.insert(a.clone(), p);
            }
            if n > 0 {
                s.n.insert(a.clone(), n);
            }
        }
        s
    }

    /// A counter from its wire form.
    pub fn from_state(state: &CounterState) -> Counter {
        let mut c = Counter::new();
        for (a, &v) in &state.p {
            if v > 0 {
                let op = c.inner.inc_many(a.clone(), v);
                c.inner.apply(op);
                c.actors.insert(a.clone());
            }
        }
        for (a, &v) in &state.n {
            if v > 0 {
                let op = c.inner.dec_many(a.clone(), v);
                c.inner.apply(op);
                c.actors.insert(a.clone());
            }
        }
        c
    }
}

/// Counters by key (stock by `(store, sku)`, points by member id); a missing key reads 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterMap<K: Ord> {
    counters: BTreeMap<K, Counter>,
}

impl<K: Ord> Default for CounterMap<K> {
    fn default() -> Self {
        CounterMap {
            counters: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> CounterMap<K> {
    pub fn new() -> Self {
        CounterMap::default()
    }

    pub fn get(&self, key: &K) -> Option<&Counter> {
        self.counters.get(key)
    }

    pub fn value(&self, key: &K) -> i128 {
        self.counters.get(key).map(Counter::value).unwrap_or(0)
    }

    pub fn check_add(
        &self,
        key: &K,
        actor: &TerminalId,
        delta: i64,
    ) -> Result<(), CounterOverflow> {
        match self.counters.get(key) {
            Some(c) => c.check_add(actor, delta),
            None => Ok(()),
        }
    }

    pub fn add(&mut self, key: K, actor: &TerminalId, delta: i64) -> Result<(), CounterOverflow> {
        self.check_add(&key, actor, delta)?;
        if delta != 0 {
            self.counters.entry(key).or_default().add(actor, delta)?;
        }
        Ok(())
    }

    pub fn merge(&mut self, other: &CounterMap<K>) {
        for (k, c) in &other.counters {
            self.counters.entry(k.clone()).or_default().merge(c);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &Counter)> {
        self.counters.iter()
    }
}
