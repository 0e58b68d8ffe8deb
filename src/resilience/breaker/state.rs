//! One breaker's state machine; the registry in `registry.rs` owns many and locks each.
//!
//! ```text
//!            failures >= threshold within window
//!   Closed ─────────────────────────────────────▶ Open ◀──────────────┐
//!     ▲                                            │ open_duration    │ probe (or any)
//!     │ probe success                              ▼ passed           │ failure
//!     └──────────────────────────────────────── HalfOpen ─────────────┘
//! ```
//!
//! Time is an argument of every method; nothing here reads a clock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::circuit::{Admission, BreakerStatus, CircuitState};
use crate::resilience::policy::BreakerPolicy;

/// Longest `last_error` kept, in characters.
const LAST_ERROR_CHARS: usize = 300;

/// What a caller rejected by a full half-open breaker is told to wait.
const HALF_OPEN_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Counts of transitions into each state, shared by all breakers of a registry.
#[derive(Debug, Default)]
pub(super) struct Transitions([AtomicU64; 3]);

impl Transitions {
    fn index(state: CircuitState) -> usize {
        match state {
            CircuitState::Closed => 0,
            CircuitState::Open => 1,
            CircuitState::HalfOpen => 2,
        }
    }

    fn record(&self, into: CircuitState) {
        self.0[Self::index(into)].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn get(&self, into: CircuitState) -> u64 {
        self.0[Self::index(into)].load(Ordering::Relaxed)
    }
}

/// The state of one `provider/model` breaker.
#[derive(Debug)]
pub(super) struct Breaker {
    pub(super) state: CircuitState,
    /// Failure times, oldest first; only those within `window` count.
    pub(super) failures: VecDeque<Instant>,
    /// The failure window of the last config seen (the snapshot has no config of its own).
    pub(super) window: Duration,
    /// When the circuit last left `Closed`.
    pub(super) opened_at: Option<Instant>,
    /// When `Open` turns `HalfOpen`.
    pub(super) open_until: Option<Instant>,
    /// The last open period: the next, after a failed probe, is twice as long (up to the
    /// policy's `open_duration`); zero once the circuit closed.
    pub(super) open_for: Duration,
    /// Probes admitted in `HalfOpen` and not yet reported or released.
    pub(super) probes: u32,
    pub(super) total_failures: u64,
    pub(super) total_successes: u64,
    pub(super) last_error: Option<String>,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            state: CircuitState::Closed,
            failures: VecDeque::new(),
            window: BreakerPolicy::default().failure_window,
            opened_at: None,
            open_until: None,
            open_for: Duration::ZERO,
            probes: 0,
            total_failures: 0,
            total_successes: 0,
            last_error: None,
        }
    }
}

impl Breaker {
    /// Applies the passage of time: an `Open` circuit whose duration is over turns `HalfOpen`.
    pub(super) fn tick(&mut self, now: Instant, t: &Transitions) {
        if self.state == CircuitState::Open && self.open_until.is_none_or(|until| now >= until) {
            self.state = CircuitState::HalfOpen;
            self.open_until = None;
            self.probes = 0;
            t.record(CircuitState::HalfOpen);
        }
    }

    pub(super) fn admit(
        &mut self,
        now: Instant,
        cfg: &BreakerPolicy,
        t: &Transitions,
    ) -> Admission {
        self.window = cfg.failure_window;
        self.tick(now, t);
        match self.state {
            CircuitState::Closed => Admission::Allowed,
            CircuitState::Open => Admission::Rejected {
                retry_after: self
                    .open_until
                    .map_or(Duration::ZERO, |until| until.saturating_duration_since(now)),
            },
            // At least one probe, or a zero in the config would keep the circuit open forever.
            CircuitState::HalfOpen if self.probes < cfg.half_open_max_concurrent.max(1) => {
                self.probes += 1;
                Admission::Probe
            }
            CircuitState::HalfOpen => Admission::Rejected {
                retry_after: HALF_OPEN_RETRY_AFTER,
            },
        }
    }

    pub(super) fn success(
        &mut self,
        now: Instant,
        cfg: &BreakerPolicy,
        probe: bool,
        t: &Transitions,
    ) {
        self.window = cfg.failure_window;
        self.tick(now, t);
        self.total_successes += 1;
        // A success admitted before the circuit opened says nothing about the backend now.
        if probe && self.state == CircuitState::HalfOpen {
            self.close(t);
        }
    }

    pub(super) fn failure(
        &mut self,
        now: Instant,
        cfg: &BreakerPolicy,
        error: &str,
        t: &Transitions,
    ) {
        self.window = cfg.failure_window;
        self.tick(now, t);
        self.total_failures += 1;
        self.last_error = Some(error.chars().take(LAST_ERROR_CHARS).collect());
        self.prune(now);
        self.failures.push_back(now);
        match self.state {
            CircuitState::Closed => {
                let count = u32::try_from(self.failures.len()).unwrap_or(u32::MAX);
                if count >= cfg.failure_threshold.max(1) {
                    self.open(now, cfg, t);
                }
            }
            // Probe or not, the backend is still failing: open again, for twice as long.
            CircuitState::HalfOpen => self.open(now, cfg, t),
            // A straggler admitted before the circuit opened; it does not extend the open time.
            CircuitState::Open => {}
        }
    }

    /// A probe ended without a verdict: its slot is free again, the state is unchanged.
    pub(super) fn release_probe(&mut self) {
        if self.state == CircuitState::HalfOpen {
            self.probes = self.probes.saturating_sub(1);
        }
    }

    /// Back to `Closed` with an empty window (totals and the last error are history and stay).
    pub(super) fn reset(&mut self, t: &Transitions) {
        if self.state == CircuitState::Closed {
            self.failures.clear();
        } else {
            self.close(t);
        }
    }

    pub(super) fn status(&mut self, key: &str, now: Instant, t: &Transitions) -> BreakerStatus {
        self.tick(now, t);
        self.prune(now);
        let open = self.state != CircuitState::Closed;
        BreakerStatus {
            key: key.to_owned(),
            state: self.state,
            failures_in_window: u32::try_from(self.failures.len()).unwrap_or(u32::MAX),
            total_failures: self.total_failures,
            total_successes: self.total_successes,
            last_error: self.last_error.clone(),
            opened_for_secs: self
                .opened_at
                .filter(|_| open)
                .map(|at| now.saturating_duration_since(at).as_secs()),
            retry_after_secs: self
                .open_until
                .filter(|_| self.state == CircuitState::Open)
                .map(|until| ceil_secs(until.saturating_duration_since(now))),
        }
    }

    /// Drops failures that are no longer within the window.
    pub(super) fn prune(&mut self, now: Instant) {
        while let Some(first) = self.failures.front() {
            if now.saturating_duration_since(*first) < self.window {
                break;
            }
            self.failures.pop_front();
        }
    }

    /// Opens the circuit: for `initial_open` when it was closed (or the last period is
    /// unknown), else for twice the last period, never longer than `open_duration`.
    fn open(&mut self, now: Instant, cfg: &BreakerPolicy, t: &Transitions) {
        let period = if self.state == CircuitState::Closed || self.open_for.is_zero() {
            cfg.initial_open
        } else {
            self.open_for.saturating_mul(2)
        };
        self.open_for = period.min(cfg.open_duration);
        self.state = CircuitState::Open;
        self.opened_at = Some(now);
        self.open_until = Some(now.checked_add(self.open_for).unwrap_or(now));
        self.probes = 0;
        t.record(CircuitState::Open);
    }

    fn close(&mut self, t: &Transitions) {
        self.state = CircuitState::Closed;
        self.failures.clear();
        self.opened_at = None;
        self.open_until = None;
        self.open_for = Duration::ZERO;
        self.probes = 0;
        t.record(CircuitState::Closed);
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
