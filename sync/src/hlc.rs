//! Hybrid logical clock (Kulkarni et al., 2014).
//!
//! A timestamp is `(wall_ms, counter, node)`, ordered in that order (lexicographically): the
//! milliseconds of the physical clock it was derived from, a logical counter that orders events
//! within the same millisecond (or while the physical clock is behind), and the terminal that
//! made it. Since no node issues the same `(wall_ms, counter)` twice, the order is total and no
//! two events share a timestamp.
//!
//! A node keeps its last timestamp (an [`Hlc`] value) and derives the next one from it:
//!
//! * [`Hlc::tick`]`(now_ms)` for a local event: if the physical clock is ahead of the last
//!   timestamp, `(now_ms, 0)`; otherwise the successor `(wall_ms, counter + 1)`.
//! * [`Hlc::recv`]`(remote, now_ms)` when a timestamp from another node arrives: let `m` be the
//!   larger of the last and the remote `(wall_ms, counter)`; if `now_ms > m.wall_ms` then
//!   `(now_ms, 0)`, otherwise the successor of `m`.
//!
//! Guarantees (property-tested in `tests/hlc.rs`):
//!
//! * **Monotonic**: every timestamp a node issues is strictly greater than the one before, even
//!   when its physical clock steps backwards (NTP correction, manual change, dead RTC battery).
//! * **Causal**: a timestamp issued after `recv(r)` is strictly greater than `r`.
//! * **Close to physical time**: `wall_ms >= now_ms` always, and `wall_ms` only runs ahead of the
//!   node's own clock by as much as the remote timestamps it accepted did.
//! * **Bounded drift**: `recv` refuses (returns [`ClockDrift`], leaving the clock unchanged) a
//!   remote timestamp more than `max_drift_ms` ([`MAX_DRIFT_MS`] = 5 minutes by default) ahead
//!   of the local physical clock, so one till with a clock set to next year cannot drag every
//!   clock it talks to into the future. The *event* carrying such a timestamp is still a fact and
//!   is still stored (receiving is not clock merging); the hub reports the terminal's drift.
//!   Note that an event stamped far in the future also wins last-writer-wins conflicts until
//!   real time catches up: that is inherent to LWW, and why drift is surfaced to operators.
//! * **Counter overflow**: when the counter is at `u32::MAX` the successor is
//!   `(wall_ms + 1, 0)`: the clock borrows a millisecond rather than panic or wrap. At
//!   `wall_ms = u64::MAX` (584 million years) the clock saturates.
//!
//! On the wire an `Hlc` is `{"wall_ms": <u64>, "counter": <u32>, "node": "<terminal id>"}`.
//! `wall_ms` is Unix time in milliseconds.

use crate::ids::TerminalId;
use serde::{Deserialize, Serialize};

/// Default largest distance a remote timestamp may be ahead of the local clock: 5 minutes.
pub const MAX_DRIFT_MS: u64 = 5 * 60 * 1000;

/// A hybrid logical timestamp. `Ord` compares `wall_ms`, then `counter`, then `node`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hlc {
    pub wall_ms: u64,
    pub counter: u32,
    pub node: TerminalId,
}

/// A remote timestamp too far ahead of the local clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "remote clock of {node} is {ahead_ms} ms ahead of ours (more than the {max_drift_ms} ms allowed)"
)]
pub struct ClockDrift {
    pub node: TerminalId,
    pub remote_wall_ms: u64,
    pub now_ms: u64,
    pub ahead_ms: u64,
    pub max_drift_ms: u64,
}

/// The next `(wall_ms, counter)` after `(wall, counter)`, borrowing a millisecond when the
/// counter is exhausted and saturating at the very end.
fn successor(wall: u64, counter: u32) -> (u64, u32) {
    if counter < u32::MAX {
        (wall, counter + 1)
    } else if wall < u64::MAX {
        (wall + 1, 0)
    } else {
        (wall, counter)
    }
}

impl Hlc {
    /// The clock of a node that has issued nothing yet.
    pub fn zero(node: TerminalId) -> Hlc {
        Hlc {
            wall_ms: 0,
            counter: 0,
            node,
        }
    }

    /// The timestamp of a new local event; `self` (the node's last timestamp) becomes it.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let (wall, counter) = if now_ms > self.wall_ms {
            (now_ms, 0)
        } else {
            successor(self.wall_ms, self.counter)
        };
        self.wall_ms = wall;
        self.counter = counter;
        self.clone()
    }

    /// Merge a remote timestamp with [`MAX_DRIFT_MS`]; see [`Hlc::recv_with_max_drift`].
    pub fn recv(&mut self, remote: &Hlc, now_ms: u64) -> Result<Hlc, ClockDrift> {
        self.recv_with_max_drift(remote, now_ms, MAX_DRIFT_MS)
    }

    /// Merge a remote timestamp: the result (which `self` becomes) is greater than both the last
    /// local and the remote timestamp. A remote timestamp more than `max_drift_ms` ahead of
    /// `now_ms` is refused and the clock is left as it was.
    pub fn recv_with_max_drift(
        &mut self,
        remote: &Hlc,
        now_ms: u64,
        max_drift_ms: u64,
    ) -> Result<Hlc, ClockDrift> {
        if remote.wall_ms > now_ms.saturating_add(max_drift_ms) {
            return Err(ClockDrift {
                node: remote.node.clone(),
                remote_wall_ms: remote.wall_ms,
                now_ms,
                ahead_ms: remote.wall_ms - now_ms,
                max_drift_ms,
            });
        }
        let m = (self.wall_ms, self.counter).max((remote.wall_ms, remote.counter));
        let (wall, counter) = if now_ms > m.0 {
            (now_ms, 0)
        } else {
            successor(m.0, m.1)
        };
        self.wall_ms = wall;
        self.counter = counter;
        Ok(self.clone())
    }
}
