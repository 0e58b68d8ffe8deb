//! Provider quotas (L3): what the gateway may send each provider per minute (requests, and
//! tokens used), so that it stays under the provider's own limits instead of collecting 429s.
//! Every attempt sent counts a request when it is sent; the tokens of an answer count when
//! its usage is known. Before the attempts, the candidates are reordered: a provider at
//! `deprioritize_threshold` of either limit moves to the end of the chain, one at 100 % is
//! skipped; when none is left the request is refused (429, kind `provider_quota`) with the
//! wait until the first comes back.
//!
//! The same GCRA as the tenants' limits, so "at 90 %" means 90 % of the limit taken in the
//! sliding minute. Per instance: each instance counts what it sent.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::gcra::Rate;

pub use crate::runtime::provider::QuotaSettings;

/// A provider's rates: requests and tokens per minute (`None`: not limited).
fn rates(settings: &QuotaSettings, provider: &str) -> Option<(Option<Rate>, Option<Rate>)> {
    let rate = |n: u64| (n > 0).then(|| Rate::per_minute(n));
    let (rpm, tpm) = settings.providers.get(provider)?;
    Some((rate(*rpm), rate(*tpm)))
}

/// Where a provider stands against its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Free,
    /// At the threshold: tried after the others.
    Deprioritised,
    /// At 100 %: not tried; free again in this many milliseconds.
    Exhausted(u64),
}

/// What each provider was sent (TATs of its requests and tokens per minute).
#[derive(Debug, Default)]
pub struct ProviderQuotas {
    state: Mutex<HashMap<Box<str>, (u128, u128)>>,
}

impl ProviderQuotas {
    /// Where `provider` stands at `now_ms`.
    pub fn standing(&self, settings: &QuotaSettings, provider: &str, now_ms: u64) -> Standing {
        let Some((rpm, tpm)) = rates(settings, provider) else {
            return Standing::Free;
        };
        let state = self.state.lock();
        let (rq, tk) = state.get(provider).copied().unwrap_or_default();
        let mut standing = Standing::Free;
        for (rate, tat) in [(rpm, rq), (tpm, tk)] {
            let Some(rate) = rate else { continue };
            let v = rate.peek(tat, now_ms);
            if v.remaining == 0 {
                // Free again when one unit has refilled.
                let wait = v
                    .reset_ms
                    .saturating_sub(rate.period_ms - rate.period_ms / rate.limit.max(1));
                let wait = wait.max(1);
                standing = match standing {
                    Standing::Exhausted(w) => Standing::Exhausted(w.max(wait)),
                    _ => Standing::Exhausted(wait),
                };
            } else if standing == Standing::Free
                && (rate.limit - v.remaining) as f64 >= settings.threshold * rate.limit as f64
            {
                standing = Standing::Deprioritised;
            }
        }
        standing
    }

    /// Counts `requests` and `tokens` sent to `provider` (charged even past the limit: what
    /// was sent was sent).
    pub fn count(
        &self,
        settings: &QuotaSettings,
        provider: &str,
        requests: u64,
        tokens: u64,
        now_ms: u64,
    ) {
        let Some((rpm, tpm)) = rates(settings, provider) else {
            return;
        };
        let mut state = self.state.lock();
        if !state.contains_key(provider) {
            state.insert(Box::from(provider), (0, 0));
        }
        let Some((rq, tk)) = state.get_mut(provider) else {
            return;
        };
        if let Some(rate) = rpm
            && requests > 0
        {
            rate.charge(rq, now_ms, requests);
        }
        if let Some(rate) = tpm
            && tokens > 0
        {
            rate.charge(tk, now_ms, tokens);
        }
    }

    /// Reorders `items` (each naming its provider through `provider`): deprioritised ones
    /// last, exhausted ones removed. `Err(wait_ms)` when none is left.
    pub fn order<T>(
        &self,
        settings: &QuotaSettings,
        items: &mut Vec<T>,
        provider: impl Fn(&T) -> &str,
        now_ms: u64,
    ) -> Result<(), u64> {
        if items.is_empty() {
            return Ok(());
        }
        let mut wait = u64::MAX;
        let mut later = Vec::new();
        let mut kept = Vec::with_capacity(items.len());
        for item in items.drain(..) {
            match self.standing(settings, provider(&item), now_ms) {
                Standing::Free => kept.push(item),
                Standing::Deprioritised => later.push(item),
                Standing::Exhausted(w) => wait = wait.min(w),
            }
        }
        kept.append(&mut later);
        *items = kept;
        if items.is_empty() { Err(wait) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> QuotaSettings {
        QuotaSettings {
            threshold: 0.9,
            providers: HashMap::from([("a".to_string(), (10, 0)), ("b".to_string(), (0, 1_000))]),
        }
    }

    #[test]
    fn a_provider_is_deprioritised_at_the_threshold_then_skipped_at_the_limit() {
        let (s, q) = (settings(), ProviderQuotas::default());
        for _ in 0..8 {
            q.count(&s, "a", 1, 0, 0);
        }
        assert_eq!(q.standing(&s, "a", 0), Standing::Free);
        q.count(&s, "a", 1, 0, 0);
        assert_eq!(q.standing(&s, "a", 0), Standing::Deprioritised);
        let mut chain = vec!["a", "b", "c"];
        q.order(&s, &mut chain, |p| p, 0).unwrap();
        assert_eq!(chain, ["b", "c", "a"]);
        q.count(&s, "a", 1, 0, 0);
        assert_eq!(q.standing(&s, "a", 0), Standing::Exhausted(6_000));
        let mut chain = vec!["a", "c"];
        q.order(&s, &mut chain, |p| p, 0).unwrap();
        assert_eq!(chain, ["c"]);
        let mut alone = vec!["a"];
        assert_eq!(q.order(&s, &mut alone, |p| p, 1_000), Err(5_000));
        // One request's share of the minute later, it is back (deprioritised).
        assert_eq!(q.standing(&s, "a", 6_000), Standing::Deprioritised);
    }

    #[test]
    fn tokens_count_when_used() {
        let (s, q) = (settings(), ProviderQuotas::default());
        q.count(&s, "b", 1, 899, 0);
        assert_eq!(q.standing(&s, "b", 0), Standing::Free);
        q.count(&s, "b", 0, 1, 0);
        assert_eq!(q.standing(&s, "b", 0), Standing::Deprioritised);
        q.count(&s, "b", 0, 200, 0);
        assert!(matches!(q.standing(&s, "b", 0), Standing::Exhausted(_)));
        // A provider without a quota is always free.
        q.count(&s, "c", 100, 100, 0);
        assert_eq!(q.standing(&s, "c", 0), Standing::Free);
    }
}
