//! Rate limits (L2): requests per minute and per day, tokens per minute (reserved at
//! admission, settled to the actual usage), and concurrent requests, per key and per team.
//! [`gcra`] is the algorithm and [`local`] the state of one instance (both pure, injected
//! clock); [`Limiter`] reads the clock and hands out an [`Admission`] that gives its
//! concurrency slots back and settles its tokens when the request ends, on every path (its
//! `Drop` settles at the reservation when nothing better is known). With `[redis]`, the
//! state lives in Redis ([`shared`]) and holds across instances; when Redis cannot answer,
//! `rate_limit.on_redis_error` decides: `open` admits by this instance's own limiter,
//! `closed` refuses. Provider quotas (L3) are [`quota`].

pub mod gcra;
pub mod local;
pub mod quota;
pub mod shared;

use std::sync::Arc;
use std::time::Instant;

use crate::redis::RedisError;
use crate::runtime::snapshot::Tenant;
use crate::runtime::tenant::KeyLimits;

pub use local::{Kind, Quota, Refusal, Table};

/// OpenAI's `x-ratelimit-*` headers for `quota` (requests: the per-minute limit; tokens: the
/// tokens per minute): each value is appended to `text`, then `end` is called with its name.
/// (Written without `format!` or an allocation per value: these go on every answer to a
/// limited caller.)
pub fn headers(quota: &Quota, text: &mut String, end: &mut dyn FnMut(&'static str, &String)) {
    const NAMES: [[&str; 3]; 2] = [
        [
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
            "x-ratelimit-reset-requests",
        ],
        [
            "x-ratelimit-limit-tokens",
            "x-ratelimit-remaining-tokens",
            "x-ratelimit-reset-tokens",
        ],
    ];
    for (limit, [limit_name, remaining_name, reset_name]) in
        [quota.requests, quota.tokens].into_iter().zip(NAMES)
    {
        let Some((limit, v)) = limit else { continue };
        crate::decimal::push_str(text, limit);
        end(limit_name, text);
        crate::decimal::push_str(text, v.remaining);
        end(remaining_name, text);
        duration(text, v.reset_ms);
        end(reset_name, text);
    }
}

/// Appends a wait as OpenAI writes it: `20ms`, `1s`, `6m0s`, `1h2m3s`.
pub fn duration(out: &mut String, ms: u64) {
    if ms < 1_000 {
        crate::decimal::push_str(out, ms);
        out.push_str("ms");
        return;
    }
    let secs = ms.div_ceil(1_000);
    let (h, m, s) = (secs / 3_600, secs / 60 % 60, secs % 60);
    if h > 0 {
        crate::decimal::push_str(out, h);
        out.push('h');
    }
    if h > 0 || m > 0 {
        crate::decimal::push_str(out, m);
        out.push('m');
    }
    crate::decimal::push_str(out, s);
    out.push('s');
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// A limit refused it.
    Limit(Refusal),
    /// Redis could not say, and limits fail closed.
    Unavailable(RedisError),
}

/// The limits' state: this instance's, and Redis's when configured.
#[derive(Debug)]
pub struct Limiter {
    local: local::Local,
    /// What each provider was sent, against `[provider_quota]`.
    providers: quota::ProviderQuotas,
    shared: Option<shared::Shared>,
    /// The origin of the limiter's millisecond clock.
    epoch: Instant,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new(None)
    }
}

impl Limiter {
    pub fn new(shared: Option<shared::Shared>) -> Limiter {
        Limiter {
            local: local::Local::default(),
            providers: quota::ProviderQuotas::default(),
            shared,
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The Redis client, when the limits are shared.
    pub fn redis(&self) -> Option<&crate::redis::Redis> {
        self.shared.as_ref().map(shared::Shared::redis)
    }

    /// Admits a request of `caller` (limits `key`, and `team` for its team), reserving
    /// `tokens` against the token limits. When Redis cannot answer, `fail_open` admits by
    /// this instance's limiter alone.
    pub async fn admit(
        self: &Arc<Self>,
        caller: &Arc<Tenant>,
        key: KeyLimits,
        team: Option<KeyLimits>,
        tokens: u64,
        fail_open: bool,
    ) -> Result<Admission, Denied> {
        let mut admission = Admission {
            limiter: self.clone(),
            caller: caller.clone(),
            key,
            team,
            reserved: tokens,
            quota: Quota::default(),
            held: None,
            open: false,
        };
        let now = self.now_ms();
        if let Some(shared) = &self.shared {
            match shared.admit(&admission.scopes(), tokens, now).await {
                Ok(Ok((quota, held))) => {
                    admission.quota = quota;
                    admission.held = Some(held);
                    admission.open = true;
                    return Ok(admission);
                }
                Ok(Err(refusal)) => return Err(Denied::Limit(refusal)),
                Err(e) if !fail_open => return Err(Denied::Unavailable(e)),
                Err(_) => {}
            }
        }
        admission.quota = self
            .local
            .admit(&admission.scopes(), tokens, now)
            .map_err(Denied::Limit)?;
        admission.open = true;
        Ok(admission)
    }

    /// Orders `items` by their providers' quotas (see [`quota::ProviderQuotas::order`]).
    pub fn order_by_quota<T>(
        &self,
        settings: &quota::QuotaSettings,
        items: &mut Vec<T>,
        provider: impl Fn(&T) -> &str,
    ) -> Result<(), u64> {
        self.providers
            .order(settings, items, provider, self.now_ms())
    }

    /// Counts requests and tokens sent to `provider` against its quota.
    pub fn provider_sent(
        &self,
        settings: &quota::QuotaSettings,
        provider: &str,
        requests: u64,
        tokens: u64,
    ) {
        self.providers
            .count(settings, provider, requests, tokens, self.now_ms());
    }

    /// Forgets idle state (every few minutes).
    pub fn sweep(&self) {
        let now = self.now_ms();
        self.local.sweep(now);
        if let Some(shared) = &self.shared {
            shared.sweep(now);
        }
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
    /// Set when Redis admitted the request (it is released there).
    held: Option<shared::Held>,
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
        let scopes = self.scopes();
        match (&self.held, &self.limiter.shared) {
            (Some(held), Some(shared)) => shared.release(&scopes, held, self.reserved, used),
            _ => {
                let now = self.limiter.now_ms();
                self.limiter
                    .local
                    .release(&scopes, self.reserved, used, now);
            }
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.close(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::gcra::Verdict;

    fn wait(ms: u64) -> String {
        let mut out = String::new();
        duration(&mut out, ms);
        out
    }

    #[test]
    fn waits_are_written_as_openai_does() {
        assert_eq!(wait(0), "0ms");
        assert_eq!(wait(999), "999ms");
        assert_eq!(wait(1_000), "1s");
        assert_eq!(wait(1_001), "2s");
        assert_eq!(wait(360_000), "6m0s");
        assert_eq!(wait(3_723_000), "1h2m3s");
        assert_eq!(wait(3_600_000), "1h0m0s");
    }

    #[test]
    fn headers_follow_one_another_in_one_buffer() {
        let verdict = |remaining, reset_ms| Verdict {
            allowed: true,
            remaining,
            reset_ms,
            retry_after_ms: 0,
        };
        let quota = Quota {
            requests: Some((60, verdict(59, 1_000))),
            tokens: Some((u64::MAX, verdict(0, 20))),
        };
        let mut text = String::new();
        let mut cut = Vec::new();
        headers(&quota, &mut text, &mut |name, text| {
            cut.push((name, text.len()))
        });
        let mut start = 0;
        let values: Vec<_> = cut
            .iter()
            .map(|(name, end)| {
                let v = (*name, &text[start..*end]);
                start = *end;
                v
            })
            .collect();
        assert_eq!(
            values,
            [
                ("x-ratelimit-limit-requests", "60"),
                ("x-ratelimit-remaining-requests", "59"),
                ("x-ratelimit-reset-requests", "1s"),
                ("x-ratelimit-limit-tokens", u64::MAX.to_string().as_str()),
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-reset-tokens", "20ms"),
            ]
        );
    }
}
