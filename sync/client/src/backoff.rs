//! Exponential backoff with jitter for retrying failed sync rounds.
//!
//! The `n`-th consecutive failure (`n` from 1) waits a random delay in
//! `[cap/2, cap]` with `cap = min(max, base · 2^(n-1))` ("equal jitter"): the delay grows
//! exponentially, never exceeds `max`, and terminals that failed together (a hub outage) do not
//! retry in lock-step.

use std::time::Duration;

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    pub base: Duration,
    pub max: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

/// The upper bound of the delay after `failures` consecutive failures (0 → no delay).
pub fn ceiling(config: &BackoffConfig, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
    config.base.saturating_mul(factor).min(config.max)
}

/// The delay after `failures` consecutive failures for a jitter sample `unit` in `[0, 1]`.
pub fn delay(config: &BackoffConfig, failures: u32, unit: f64) -> Duration {
    let cap = ceiling(config, failures);
    let half = cap / 2;
    half + (cap - half).mul_f64(unit.clamp(0.0, 1.0))
}

/// Consecutive failures and a small random source for the jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub config: BackoffConfig,
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(config: BackoffConfig) -> Backoff {
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        Backoff::with_seed(config, seed)
    }

    pub fn with_seed(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff {
            config,
            failures: 0,
            rng: seed | 1,
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Record a failure; returns how long to wait before the next attempt.
    pub fn fail(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        delay(&self.config, self.failures, unit)
    }

    /// Record a success: the next failure starts from `base` again.
    pub fn succeed(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BackoffConfig {
        BackoffConfig {
            base: Duration::from_millis(100),
            max: Duration::from_secs(10),
        }
    }

    #[test]
    fn ceiling_doubles_and_is_capped() {
        let c = cfg();
        assert_eq!(ceiling(&c, 0), Duration::ZERO);
        assert_eq!(ceiling(&c, 1), Duration::from_millis(100));
        assert_eq!(ceiling(&c, 2), Duration::from_millis(200));
        assert_eq!(ceiling(&c, 5), Duration::from_millis(1600));
        assert_eq!(ceiling(&c, 8), Duration::from_secs(10));
        assert_eq!(ceiling(&c, 40), Duration::from_secs(10));
        assert_eq!(ceiling(&c, u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn jitter_stays_within_half_and_full_ceiling() {
        let c = cfg();
        assert_eq!(delay(&c, 3, 0.0), Duration::from_millis(200));
        assert_eq!(delay(&c, 3, 1.0), Duration::from_millis(400));
        assert_eq!(delay(&c, 3, 7.0), Duration::from_millis(400));
        let mut b = Backoff::with_seed(c, 42);
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..=12 {
            let d = b.fail();
            assert_eq!(b.failures(), n);
            let cap = ceiling(&c, n);
            assert!(
                d >= cap / 2 && d <= cap,
                "{d:?} outside [{:?}, {cap:?}]",
                cap / 2
            );
            seen.insert(d);
        }
        assert!(seen.len() > 6, "jitter should vary the delays: {seen:?}");
        b.succeed();
        assert_eq!(b.failures(), 0);
        assert!(b.fail() <= Duration::from_millis(100));
    }

    #[test]
    fn two_clients_do_not_retry_in_lock_step() {
        let mut a = Backoff::with_seed(cfg(), 1);
        let mut b = Backoff::with_seed(cfg(), 2);
        let same = (0..6).filter(|_| a.fail() == b.fail()).count();
        assert!(same < 6);
    }
}
