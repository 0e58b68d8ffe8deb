//! What routing learns while the gateway runs: the round-robin counter of pools, the
//! observed time to first token per `provider/model` (read by the `latency` strategy), and
//! which model each conversation stuck to (`x-gateway-conversation-id`, R6). The attempt stage
//! and the proxy report; routing reads. Shared by all requests; no I/O; bounded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::pool::LatencyStats;

/// Most conversations remembered at once; past it, expired ones are dropped, then the
/// oldest.
pub const MAX_CONVERSATIONS: usize = 100_000;

/// Longest conversation id kept (longer ids are not sticky).
pub const MAX_CONVERSATION_ID: usize = 256;

/// Per-process routing statistics.
#[derive(Debug, Default)]
pub struct RouteStats {
    pub latency: LatencyStats,
    counter: AtomicUsize,
    sticky: Mutex<HashMap<String, Stuck>>,
}

/// The model a conversation sticks to, until `until`.
#[derive(Debug, Clone)]
pub struct Stuck {
    pub provider: Arc<str>,
    pub model: Arc<str>,
    pub until: Instant,
}

impl RouteStats {
    /// The next value of the round-robin counter.
    pub fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Records the time to first token of an answer `provider` served with `model`.
    pub fn observe(&self, provider: &str, model: &str, ttft: Duration) {
        self.latency.observe(provider, model, ttft);
    }

    /// The model `conversation` is stuck to, if it has not expired.
    pub fn stuck(&self, conversation: &str, now: Instant) -> Option<Stuck> {
        let map = self.sticky.lock();
        map.get(conversation).filter(|s| s.until > now).cloned()
    }

    /// Sticks `conversation` to `provider`/`model` for `ttl` from `now`.
    pub fn stick(
        &self,
        conversation: &str,
        provider: Arc<str>,
        model: Arc<str>,
        now: Instant,
        ttl: Duration,
    ) {
        if conversation.is_empty() || conversation.len() > MAX_CONVERSATION_ID || ttl.is_zero() {
            return;
        }
        let mut map = self.sticky.lock();
        if map.len() >= MAX_CONVERSATIONS && !map.contains_key(conversation) {
            map.retain(|_, s| s.until > now);
            if map.len() >= MAX_CONVERSATIONS
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, s)| s.until)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let stuck = Stuck {
            provider,
            model,
            until: now + ttl,
        };
        match map.get_mut(conversation) {
            Some(s) => *s = stuck,
            None => {
                map.insert(conversation.to_string(), stuck);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_stick_until_their_ttl() {
        let stats = RouteStats::default();
        let now = Instant::now();
        stats.stick("c1", "p".into(), "m".into(), now, Duration::from_secs(10));
        assert_eq!(&*stats.stuck("c1", now).unwrap().model, "m");
        assert!(stats.stuck("c1", now + Duration::from_secs(11)).is_none());
        assert!(stats.stuck("c2", now).is_none());
        stats.stick(
            &"x".repeat(300),
            "p".into(),
            "m".into(),
            now,
            Duration::from_secs(10),
        );
        assert!(stats.stuck(&"x".repeat(300), now).is_none());
    }
}
