//! A per-field last-writer-wins map (member profile fields: name, phone, birthday…).
//!
//! Every key holds the value of the write with the greatest [`Hlc`]; since an HLC is ordered by
//! `(wall_ms, counter, node)`, concurrent writes in the same millisecond are decided by the node
//! (terminal) id. Two writes with the *same* HLC cannot come from a correct node; should they
//! meet anyway, the greater value wins, so merge stays commutative. Fields are independent: a
//! phone number changed at one till and a name changed at another both survive.
//!
//! A cleared field is a write of "no value" (use `Option<V>` as `V`), so it also has a
//! timestamp and beats older writes. `crdts::Map` cannot hold `crdts::LWWReg` (not a causal
//! CRDT) and `LWWReg` keeps the local value on a marker tie, so this small type is our own.

use crate::hlc::Hlc;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LwwMap<K: Ord, V> {
    entries: BTreeMap<K, (Hlc, V)>,
}

impl<K: Ord, V> Default for LwwMap<K, V> {
    fn default() -> Self {
        LwwMap {
            entries: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone, V: Ord + Clone> LwwMap<K, V> {
    pub fn new() -> Self {
        LwwMap::default()
    }

    /// Write `value` at `hlc`; returns whether it became the field's value.
    pub fn set(&mut self, key: K, value: V, hlc: Hlc) -> bool {
        match self.entries.get_mut(&key) {
            Some(cur) => {
                if (&hlc, &value) > (&cur.0, &cur.1) {
                    *cur = (hlc, value);
                    true
                } else {
                    false
                }
            }
            None => {
                self.entries.insert(key, (hlc, value));
                true
            }
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, v)| v)
    }

    /// The timestamp of the field's winning write.
    pub fn stamp(&self, key: &K) -> Option<&Hlc> {
        self.entries.get(key).map(|(h, _)| h)
    }

    pub fn merge(&mut self, other: &LwwMap<K, V>) {
        for (k, (h, v)) in &other.entries {
            self.set(k.clone(), v.clone(), h.clone());
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V, &Hlc)> {
        self.entries.iter().map(|(k, (h, v))| (k, v, h))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
