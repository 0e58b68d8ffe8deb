//! Circuit breakers per `provider/model` key (seed 001 §5).
//!
//! Closed: requests flow and failures are counted in a sliding window. `failure_threshold`
//! failures within `failure_window_secs` open the circuit: requests are rejected without a
//! network call for `initial_open_secs`. Then it is half-open: at most
//! `half_open_max_concurrent` probes go through; a probe success closes it, a failure re-opens
//! it for twice the last period, up to `open_duration_secs`. So a brief flap costs seconds,
//! and a provider that stays down is probed less and less often.
//!
//! Entry point: [`BreakerRegistry`] — [`admit`](BreakerRegistry::admit) before an attempt,
//! then exactly one of `record_success`, `record_failure` or `release_probe` (for a probe).
//! The config is passed per call since it differs per provider and changes on reload; a key is
//! created on first use. Pure: time comes from the injected [`Clock`](crate::resilience::Clock);
//! state can be exported and imported ([`PersistedBreaker`]) for the storage layer to keep
//! across restarts.
//!
//! Layout: `circuit` (the public vocabulary), `state` (one breaker's state machine),
//! `registry` (all breakers), `persist` (export/import). This file only re-exports them.

mod circuit;
mod persist;
mod registry;
mod state;

pub use circuit::{Admission, BreakerStatus, CircuitState};
pub use persist::PersistedBreaker;
pub use registry::BreakerRegistry;

#[cfg(test)]
mod tests;
