//! What routing learns while the gateway runs: the round-robin counter of pools and the
//! observed time to first token per `provider/model` (read by the `latency` strategy). The
//! attempt stage reports; routing reads. Shared by all requests; no I/O.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::pool::LatencyStats;

/// Per-process routing statistics.
#[derive(Debug, Default)]
pub struct RouteStats {
    pub latency: LatencyStats,
    counter: AtomicUsize,
}

impl RouteStats {
    /// The next value of the round-robin counter.
    pub fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Records the time to first token of an answer `provider` served with `model`.
    pub fn observe(&self, provider: &str, model: &str, ttft: Duration) {
        self.latency.observe(provider, model, ttft);
    }
}
