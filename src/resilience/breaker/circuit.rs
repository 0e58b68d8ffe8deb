//! The breaker vocabulary callers see: whether a request may go ([`Admission`]), the
//! [`CircuitState`] and what `/admin/backends` shows for one breaker ([`BreakerStatus`]).
//!
//! Plain data: depends on no other file of `breaker` (nor on the rest of the crate), so the
//! state machine, the registry and persistence can all use it without importing `mod.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whether a request may go to a backend now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go.
    Allowed,
    /// Half-open: go as one of the limited probes; report the outcome with `probe = true`.
    Probe,
    /// Open: skip it; it may be tried again after this long.
    Rejected { retry_after: Duration },
}

/// Circuit state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

/// What `/admin/backends` shows for one breaker.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerStatus {
    pub key: String,
    pub state: CircuitState,
    pub failures_in_window: u32,
    pub total_failures: u64,
    pub total_successes: u64,
    pub last_error: Option<String>,
    pub opened_for_secs: Option<u64>,
    pub retry_after_secs: Option<u64>,
}
