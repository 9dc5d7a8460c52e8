//! Process metrics in the Prometheus text exposition format (hand-rolled: a few counters and
//! one histogram do not need a metrics crate).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the push latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    /// (route, status) → count.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    pub events_accepted: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_rejected: AtomicU64,
    pub clock_drift_events: AtomicU64,
    push_buckets: [AtomicU64; BUCKETS.len()],
    push_count: AtomicU64,
    /// Sum of push latencies in microseconds.
    push_sum_us: AtomicU64,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    pub fn request(&self, route: &str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route.to_string(), status)).or_insert(0) += 1;
    }

    pub fn push_latency(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.push_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.push_count.fetch_add(1, Ordering::Relaxed);
        self.push_sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tillstone_http_requests_total HTTP requests by route and status.\n\
             # TYPE tillstone_http_requests_total counter"
        );
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "tillstone_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tillstone_events_total Pushed events by outcome.\n\
             # TYPE tillstone_events_total counter"
        );
        for (outcome, v) in [
            ("accepted", &self.events_accepted),
            ("duplicate", &self.events_duplicate),
            ("rejected", &self.events_rejected),
        ] {
            let _ = writeln!(
                out,
                "tillstone_events_total{{outcome=\"{outcome}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tillstone_clock_drift_events_total Events stamped more than 5 minutes ahead of the hub clock.\n\
             # TYPE tillstone_clock_drift_events_total counter\n\
             tillstone_clock_drift_events_total {}",
            self.clock_drift_events.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tillstone_push_duration_seconds Time to validate, store and commit a push batch.\n\
             # TYPE tillstone_push_duration_seconds histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "tillstone_push_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.push_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.push_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "tillstone_push_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             tillstone_push_duration_seconds_sum {}\n\
             tillstone_push_duration_seconds_count {count}",
            self.push_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        out
    }
}
