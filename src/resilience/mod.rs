//! Resilience (S1–S8): pure decision pieces the attempt loop consults — the retry verdict for
//! an upstream outcome ([`classify`]), backoff delays ([`backoff`]), circuit breakers per
//! provider+model ([`breaker`]), each provider's [`policy`] — plus the clock they read,
//! injected so tests control time.
//! Nothing here does I/O or sleeps.
//!
//! May depend on `config` only; never on the attempt loop, routing or any I/O.

pub mod backoff;
pub mod breaker;
pub mod classify;
pub mod policy;

use std::time::Instant;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset: parking_lot::Mutex<std::time::Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            offset: parking_lot::Mutex::new(std::time::Duration::ZERO),
        }
    }
}

impl ManualClock {
    pub fn advance(&self, by: std::time::Duration) {
        *self.offset.lock() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.lock()
    }
}
