//! One provider's resilience policies as the request path reads them: how to retry
//! ([`RetryPolicy`]) and when to open its circuit ([`BreakerPolicy`]), with durations instead
//! of the config's millisecond and second counts. Built at load time from the config's
//! defaults merged with the provider's overrides (`runtime::provider`); pure data.
//!
//! May depend on `config` for the conversion only.

use std::time::Duration;

use crate::config;

/// Longest duration a breaker setting may give (ten years): larger values saturate.
const MAX_BREAKER_SECS: u64 = 10 * 365 * 86_400;

/// How a provider's failed attempts are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per candidate, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Decorrelated jitter (else plain exponential).
    pub jitter: bool,
    /// Statuses retried on the same candidate.
    pub retryable_statuses: Vec<u16>,
    /// Never retry sooner than the provider's `Retry-After`.
    pub honor_retry_after: bool,
    /// Try a silent provider (no response or no content within its time-to-first-token
    /// limit) again instead of failing over.
    pub retry_on_timeout: bool,
}

impl From<&config::RetryPolicy> for RetryPolicy {
    fn from(p: &config::RetryPolicy) -> Self {
        RetryPolicy {
            max_attempts: p.max_attempts,
            base_delay: Duration::from_millis(p.base_delay_ms),
            max_delay: Duration::from_millis(p.max_delay_ms),
            jitter: p.jitter,
            retryable_statuses: p.retryable_statuses.clone(),
            honor_retry_after: p.honor_retry_after,
            retry_on_timeout: p.retry_on_timeout,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::from(&config::RetryPolicy::default())
    }
}

/// When a provider's circuit opens, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failures within `failure_window` that open the circuit.
    pub failure_threshold: u32,
    pub failure_window: Duration,
    /// The longest the circuit stays open before probes are let through.
    pub open_duration: Duration,
    /// The first open period (at most `open_duration`); doubled after each failed probe.
    pub initial_open: Duration,
    /// Probes in flight at once while half-open.
    pub half_open_max_concurrent: u32,
}

/// Seconds from the config (or a stored breaker), saturating at ten years so `Instant`
/// arithmetic cannot overflow.
pub(crate) fn breaker_secs(secs: u64) -> Duration {
    Duration::from_secs(secs.min(MAX_BREAKER_SECS))
}

impl From<&config::CircuitBreakerConfig> for BreakerPolicy {
    fn from(c: &config::CircuitBreakerConfig) -> Self {
        BreakerPolicy {
            failure_threshold: c.failure_threshold,
            failure_window: breaker_secs(c.failure_window_secs),
            open_duration: breaker_secs(c.open_duration_secs),
            initial_open: breaker_secs(c.initial_open_secs.min(c.open_duration_secs)),
            half_open_max_concurrent: c.half_open_max_concurrent,
        }
    }
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy::from(&config::CircuitBreakerConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_from_the_config() {
        let r = RetryPolicy::default();
        assert_eq!(
            (r.base_delay, r.max_delay),
            (Duration::from_millis(200), Duration::from_secs(5))
        );
        let b = BreakerPolicy::from(&config::CircuitBreakerConfig {
            open_duration_secs: u64::MAX,
            ..config::CircuitBreakerConfig::default()
        });
        assert_eq!(b.open_duration, Duration::from_secs(MAX_BREAKER_SECS));
    }
}
