//! The registry of all breakers, keyed `provider/model`: admission before an attempt, outcome
//! reports after it, status, reset and transition counts. Export and import of its state live
//! in `persist` (which is why the fields are visible to the `breaker` folder).
//!
//! Depends on `circuit` and `state` of this folder, the injected `resilience::Clock` and
//! `resilience::policy::BreakerPolicy`; never on `persist` or `mod.rs`.

use foldhash::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::circuit::{Admission, BreakerStatus, CircuitState};
use super::state::{Breaker, Transitions};
use crate::resilience::Clock;
use crate::resilience::policy::BreakerPolicy;

/// All breakers, keyed `provider/model`.
pub struct BreakerRegistry {
    pub(super) clock: Arc<dyn Clock>,
    pub(super) breakers: RwLock<HashMap<String, Mutex<Breaker>>>,
    pub(super) transitions: Transitions,
}

impl BreakerRegistry {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            breakers: RwLock::new(HashMap::default()),
            transitions: Transitions::default(),
        }
    }

    /// May a request go to `key` now? `Allowed` when closed; `Probe` for one of the limited
    /// half-open probes (the caller must then report with `probe = true` or release the slot);
    /// `Rejected` with the remaining open time (exact; rounding is the caller's job), or 1 s
    /// when all half-open probe slots are taken.
    pub fn admit(&self, key: &str, cfg: &BreakerPolicy) -> Admission {
        let now = self.clock.now();
        self.with(key, |b| b.admit(now, cfg, &self.transitions))
    }

    /// The attempt succeeded. A probe success closes a half-open circuit.
    pub fn record_success(&self, key: &str, cfg: &BreakerPolicy, probe: bool) {
        let now = self.clock.now();
        self.with(key, |b| b.success(now, cfg, probe, &self.transitions));
    }

    /// The attempt failed in a way that trips the breaker. Opens a closed circuit at the
    /// threshold; any failure (probe or a straggler) re-opens a half-open one.
    pub fn record_failure(&self, key: &str, cfg: &BreakerPolicy, probe: bool, error: &str) {
        let now = self.clock.now();
        // `probe` needs no special case: every failure while half-open re-opens.
        let _ = probe;
        self.with(key, |b| b.failure(now, cfg, error, &self.transitions));
    }

    /// A probe that ended without an outcome (client left): frees its half-open slot.
    pub fn release_probe(&self, key: &str) {
        if let Some(b) = self.breakers.read().get(key) {
            b.lock().release_probe();
        }
    }

    /// The state of `key` now (`Closed` for a key never seen), without taking a probe slot:
    /// for filtering open candidates out of a failover chain.
    pub fn state(&self, key: &str) -> CircuitState {
        let now = self.clock.now();
        match self.breakers.read().get(key) {
            Some(b) => {
                let mut b = b.lock();
                b.tick(now, &self.transitions);
                b.state
            }
            None => CircuitState::Closed,
        }
    }

    /// Every breaker, sorted by key, as of now.
    pub fn snapshot(&self) -> Vec<BreakerStatus> {
        let now = self.clock.now();
        let map = self.breakers.read();
        let mut out: Vec<BreakerStatus> = map
            .iter()
            .map(|(key, b)| b.lock().status(key, now, &self.transitions))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    /// Closes the breakers of `name` (a `provider/model` key, or a provider id = all its
    /// models); returns how many were reset.
    pub fn reset(&self, name: &str) -> usize {
        let map = self.breakers.read();
        let mut count = 0;
        for (key, b) in map.iter() {
            let of_provider = key
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/'));
            if key == name || of_provider {
                b.lock().reset(&self.transitions);
                count += 1;
            }
        }
        count
    }

    /// State changes since start, by target state (for metrics); all three states, zeros too.
    pub fn transitions(&self) -> Vec<(CircuitState, u64)> {
        [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ]
        .into_iter()
        .map(|s| (s, self.transitions.get(s)))
        .collect()
    }

    /// Runs `f` on the breaker of `key`, creating it (closed) on first use.
    fn with<R>(&self, key: &str, f: impl FnOnce(&mut Breaker) -> R) -> R {
        if let Some(b) = self.breakers.read().get(key) {
            return f(&mut b.lock());
        }
        let mut map = self.breakers.write();
        let b = map.entry(key.to_owned()).or_default();
        f(b.get_mut())
    }
}
