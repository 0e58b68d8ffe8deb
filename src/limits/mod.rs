//! Rate limits (L2): requests per minute and per day, tokens per minute (reserved at
//! admission, settled to the actual usage), and concurrent requests, per key and per team.
//! [`gcra`] is the algorithm and [`local`] the state of one instance (both pure, injected
//! clock); [`Limiter`] reads the clock and hands out an [`Admission`] that gives its
//! concurrency slots back and settles its tokens when the request ends, on every path (its
//! `Drop` settles at the reservation when nothing better is known). Provider quotas (L3) and
//! the state shared by several instances through Redis (L6) come next (issue 12).

pub mod gcra;
pub mod local;

use std::sync::Arc;
use std::time::Instant;

use crate::runtime::snapshot::Tenant;
use crate::runtime::tenant::KeyLimits;

pub use local::{Kind, Quota, Refusal, Table};

/// The limits' state on this instance.
#[derive(Debug)]
pub struct Limiter {
    local: local::Local,
    /// The origin of the limiter's millisecond clock.
    epoch: Instant,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            local: local::Local::default(),
            epoch: Instant::now(),
        }
    }
}

impl Limiter {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Admits a request of `caller` (limits `key`, and `team` for its team), reserving
    /// `tokens` against the token limits.
    pub fn admit(
        self: &Arc<Self>,
        caller: &Arc<Tenant>,
        key: KeyLimits,
        team: Option<KeyLimits>,
        tokens: u64,
    ) -> Result<Admission, Refusal> {
        let mut admission = Admission {
            limiter: self.clone(),
            caller: caller.clone(),
            key,
            team,
            reserved: tokens,
            quota: Quota::default(),
            open: false,
        };
        admission.quota = self
            .local
            .admit(&admission.scopes(), tokens, self.now_ms())?;
        admission.open = true;
        Ok(admission)
    }
}

/// An admitted request's hold on its limits.
#[derive(Debug)]
pub struct Admission {
    limiter: Arc<Limiter>,
    caller: Arc<Tenant>,
    key: KeyLimits,
    team: Option<KeyLimits>,
    reserved: u64,
    /// What the `x-ratelimit-*` headers say.
    pub quota: Quota,
    /// Whether the slots are still held.
    open: bool,
}

impl Admission {
    fn scopes(&self) -> [local::Scope<'_>; 2] {
        let team = self
            .caller
            .policy
            .as_ref()
            .and_then(|p| p.team.as_deref())
            .unwrap_or("");
        [
            (Table::Key, self.caller.id.as_str(), self.key),
            (Table::Team, team, self.team.unwrap_or_default()),
        ]
    }

    /// Ends the request: its slots are freed and its tokens settled to `used` (the
    /// reservation when unknown).
    pub fn finish(mut self, used: Option<u64>) {
        self.close(used);
    }

    fn close(&mut self, used: Option<u64>) {
        if !self.open {
            return;
        }
        self.open = false;
        let used = used.unwrap_or(self.reserved);
        let now = self.limiter.now_ms();
        self.limiter
            .local
            .release(&self.scopes(), self.reserved, used, now);
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.close(None);
    }
}
