//! Breaker state in a form that survives a restart, for the storage layer to keep.
//!
//! `Instant`s mean nothing to another process, so times are stored as wall-clock Unix
//! milliseconds, converted with the caller's `wall_now` against the registry clock's `now`.
//! In-flight probes do not survive: an imported half-open breaker has all its slots free.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::circuit::CircuitState;
use super::registry::BreakerRegistry;
use super::state::Breaker;
use crate::resilience::policy::breaker_secs;

/// One breaker as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedBreaker {
    pub state: CircuitState,
    /// Failure times within the window, oldest first.
    pub failures_unix_ms: Vec<u64>,
    /// The failure window the failures were counted in.
    pub failure_window_secs: u64,
    pub opened_at_unix_ms: Option<u64>,
    /// When an open circuit turns half-open.
    pub open_until_unix_ms: Option<u64>,
    pub total_failures: u64,
    pub total_successes: u64,
    pub last_error: Option<String>,
}

impl BreakerRegistry {
    /// Every breaker's state, sorted by key, with times relative to `wall_now`.
    pub fn export(&self, wall_now: SystemTime) -> Vec<(String, PersistedBreaker)> {
        let now = self.clock.now();
        let map = self.breakers.read();
        let mut out: Vec<(String, PersistedBreaker)> = map
            .iter()
            .map(|(key, b)| {
                let mut b = b.lock();
                b.tick(now, &self.transitions);
                b.prune(now);
                let wall = |t: Instant| unix_ms(to_wall(t, now, wall_now));
                let persisted = PersistedBreaker {
                    state: b.state,
                    failures_unix_ms: b.failures.iter().map(|t| wall(*t)).collect(),
                    failure_window_secs: b.window.as_secs(),
                    opened_at_unix_ms: b.opened_at.map(wall),
                    open_until_unix_ms: b.open_until.map(wall),
                    total_failures: b.total_failures,
                    total_successes: b.total_successes,
                    last_error: b.last_error.clone(),
                };
                (key.clone(), persisted)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Replaces the state of the given keys with stored state (other keys are untouched);
    /// returns how many were imported. Imports are not counted as transitions.
    pub fn import(
        &self,
        entries: impl IntoIterator<Item = (String, PersistedBreaker)>,
        wall_now: SystemTime,
    ) -> usize {
        let now = self.clock.now();
        let mut map = self.breakers.write();
        let mut count = 0;
        for (key, p) in entries {
            let instant =
                |ms: u64| to_instant(UNIX_EPOCH + Duration::from_millis(ms), now, wall_now);
            let mut failures: Vec<Instant> = p
                .failures_unix_ms
                .iter()
                .filter_map(|ms| instant(*ms))
                .collect();
            failures.sort_unstable();
            let open = p.state == CircuitState::Open;
            let breaker = Breaker {
                state: p.state,
                failures: failures.into(),
                window: breaker_secs(p.failure_window_secs),
                opened_at: p.opened_at_unix_ms.and_then(instant),
                // An open circuit whose end cannot be placed turns half-open on the next call.
                open_until: p.open_until_unix_ms.and_then(instant).filter(|_| open),
                // Not stored: the next failed probe opens for the initial period again.
                open_for: Duration::ZERO,
                probes: 0,
                total_failures: p.total_failures,
                total_successes: p.total_successes,
                last_error: p.last_error,
            };
            map.insert(key, parking_lot::Mutex::new(breaker));
            count += 1;
        }
        count
    }
}

fn to_wall(t: Instant, now: Instant, wall_now: SystemTime) -> SystemTime {
    if t <= now {
        wall_now
            .checked_sub(now.duration_since(t))
            .unwrap_or(UNIX_EPOCH)
    } else {
        wall_now
            .checked_add(t.duration_since(now))
            .unwrap_or(wall_now)
    }
}

/// `None` when the time cannot be represented as an `Instant` (before this machine booted).
fn to_instant(w: SystemTime, now: Instant, wall_now: SystemTime) -> Option<Instant> {
    match w.duration_since(wall_now) {
        Ok(ahead) => now.checked_add(ahead),
        Err(behind) => now.checked_sub(behind.duration()),
    }
}

fn unix_ms(w: SystemTime) -> u64 {
    w.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
