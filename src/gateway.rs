//! The shared services of a running gateway, built once by `app` and read by every request:
//! the config snapshot (swapped atomically on reload), the upstream client, circuit breakers,
//! routing statistics, replica pools, metrics, the access log and tenancy (keys, budgets,
//! records).
//!
//! Holds no per-request state (that is [`crate::ctx::RequestCtx`]) and knows nothing of
//! pingora's proxy. May depend on runtime, upstream, resilience, routing, tenancy and observability;
//! never on the proxy, the attempt loop or the api.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::observability::access_log::AccessLog;
use crate::observability::metrics::Metrics;
use crate::resilience::SystemClock;
use crate::resilience::breaker::BreakerRegistry;
use crate::routing::pipeline::Why;
use crate::routing::{Candidate, Deployments, RouteStats};
use crate::runtime::provider::{Endpoint, Provider};
use crate::runtime::snapshot::Snapshot;
use crate::storage::breakers;
use crate::tenancy::Tenancy;
use crate::upstream::UpstreamClient;
use crate::upstream::replicas::Replicas;

/// Shared state of the running gateway.
pub struct Gateway {
    pub snapshot: ArcSwap<Snapshot>,
    pub client: UpstreamClient,
    pub metrics: Metrics,
    /// Circuit breakers per `provider/model`.
    pub breakers: BreakerRegistry,
    /// What routing learns: the round-robin counter, observed latency, sticky conversations.
    pub routes: RouteStats,
    /// Deployments taken out of routing at run time.
    pub deployments: Deployments,
    /// Catalog sync results, scores set at run time and their history.
    pub catalog: crate::runtime::catalog::state::CatalogState,
    /// Self-hosted replica pools by provider id.
    pub replicas: HashMap<String, Arc<Replicas>>,
    pub access_log: AccessLog,
    /// Keys from the store, budgets, and the request records' writer.
    pub tenancy: Arc<Tenancy>,
    /// The rate limits' state on this instance.
    pub limiter: Arc<crate::limits::Limiter>,
    /// The response cache (`[cache]`), when enabled.
    pub cache: Option<crate::cache::ResponseCache>,
    pub started: Instant,
    pub port: u16,
    /// Set when the shutdown grace period is over: streams still open end now, with an error
    /// event.
    closing: tokio::sync::watch::Sender<bool>,
    /// Client connections open, against `[server] max_connections`.
    pub connections: Arc<Connections>,
    /// Request-id prefix, random per process, so ids are unique across restarts.
    id_prefix: String,
    id_counter: AtomicU64,
}

impl Gateway {
    /// `id_seed` makes request ids unique across restarts (the composition root passes a
    /// random number).
    pub fn new(
        snapshot: Snapshot,
        port: u16,
        access_log: AccessLog,
        replicas: HashMap<String, Arc<Replicas>>,
        tenancy: Arc<Tenancy>,
        limiter: crate::limits::Limiter,
        id_seed: u32,
    ) -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(snapshot),
            client: UpstreamClient::new(),
            metrics: Metrics::new(),
            breakers: BreakerRegistry::new(Arc::new(SystemClock)),
            routes: RouteStats::default(),
            deployments: Deployments::default(),
            catalog: Default::default(),
            replicas,
            access_log,
            tenancy,
            limiter: Arc::new(limiter),
            cache: None,
            started: Instant::now(),
            port,
            closing: tokio::sync::watch::Sender::new(false),
            connections: Arc::new(Connections::default()),
            id_prefix: format!("{id_seed:08x}"),
            id_counter: AtomicU64::new(0),
        }
    }

    /// With the response cache `[cache]` describes.
    #[must_use]
    pub fn with_cache(mut self, cache: Option<crate::cache::ResponseCache>) -> Self {
        self.cache = cache;
        self
    }

    /// The shutdown grace period is over: every open stream ends with an error event.
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// What an open stream watches to learn that it must end (see [`Gateway::close_streams`]).
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Where an attempt to `provider` goes: a healthy replica when it has several endpoints.
    pub fn endpoint_of(&self, provider: &Provider) -> Endpoint {
        self.replicas
            .get(&provider.id)
            .and_then(|r| r.pick())
            .unwrap_or_else(|| provider.endpoint.clone())
    }

    /// Providers that can take a request now: usable by configuration (enabled, holding a key
    /// when they need one) and, for a replica pool, with a replica that passes its health check.
    pub fn usable_providers<'s>(&self, snap: &'s Snapshot) -> Vec<&'s str> {
        let mut usable = snap.usable_providers();
        usable.retain(|id| self.replicas.get(*id).is_none_or(|r| r.any_healthy()));
        usable
    }

    /// Restores the circuit breakers' state the store kept (startup; blocks). Returns how many.
    pub fn restore_breakers(&self) -> Result<usize, crate::storage::StoreError> {
        let store = &self.tenancy.store;
        let pool = store.pool();
        let rows = store.block_on(async move { breakers::load(&pool).await })?;
        let entries = rows
            .into_iter()
            .filter_map(|(name, data)| Some((name, serde_json::from_str(&data).ok()?)));
        Ok(self.breakers.import(entries, wall_now()))
    }

    /// Writes the breakers whose state changed since `last` (which it updates).
    pub async fn save_breakers(
        &self,
        last: &mut HashMap<String, String>,
    ) -> Result<(), crate::storage::StoreError> {
        let changed: Vec<(String, String)> = self
            .breakers
            .export(wall_now())
            .into_iter()
            .filter_map(|(name, state)| {
                let data = serde_json::to_string(&state).ok()?;
                (last.get(&name) != Some(&data)).then_some((name, data))
            })
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        breakers::save(
            &self.tenancy.store.pool(),
            &changed,
            crate::storage::now_ms(),
        )
        .await?;
        last.extend(changed);
        Ok(())
    }

    /// A new request id: `req_` + the process prefix + a counter.
    pub fn next_request_id(&self) -> String {
        let n = self.id_counter.fetch_add(1, Ordering::Relaxed);
        request_id(&self.id_prefix, n)
    }
}

/// `req_` + `prefix` + `n` in lowercase hex, at least 12 digits, written without the
/// formatting machinery (this runs once per request).
fn request_id(prefix: &str, n: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if n >> 48 != 0 {
        return format!("req_{prefix}{n:012x}");
    }
    let mut id = String::with_capacity(4 + prefix.len() + 12);
    id.push_str("req_");
    id.push_str(prefix);
    for shift in (0..12).rev() {
        id.push(char::from(HEX[((n >> (shift * 4)) & 0xf) as usize]));
    }
    id
}

/// How often changed breaker state is written to the store.
pub const SAVE_BREAKERS_EVERY: Duration = Duration::from_secs(1);

/// Keeps the breakers' state in the store while the gateway lives.
pub async fn keep_breakers(gateway: std::sync::Weak<Gateway>) {
    let mut last = HashMap::new();
    let mut ticks = 0u64;
    let mut tick = tokio::time::interval(SAVE_BREAKERS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(gw) = gateway.upgrade() else {
            return;
        };
        ticks += 1;
        if ticks.is_multiple_of(60) {
            // Limits of keys idle for a whole period are forgotten.
            gw.limiter.sweep();
        }
        if let Err(e) = gw.save_breakers(&mut last).await {
            tracing::warn!(error = %e, "could not save the circuit breakers' state");
        }
    }
}

impl Gateway {
    /// Why `cand` cannot be tried now: its deployment is disabled, or (asked only for the
    /// few candidates about to enter a chain) its circuit is open.
    pub fn unusable(&self, cand: &Candidate) -> Option<Why> {
        if self.deployments.is_disabled(&cand.provider.id, &cand.model) {
            return Some(Why::Disabled);
        }
        let open = cand.with_breaker_key(|key| {
            self.breakers.state(key) == crate::resilience::breaker::CircuitState::Open
        });
        open.then_some(Why::CircuitOpen)
    }

    /// Today's date, `YYYY-MM-DD` (UTC), for deprecations.
    pub fn today(&self) -> String {
        crate::runtime::tenant::date_of(wall_ms())
    }
}

/// Wall-clock Unix time in milliseconds.
pub fn wall_ms() -> i64 {
    wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn wall_now() -> std::time::SystemTime {
    #[expect(
        clippy::disallowed_methods,
        reason = "breaker state is stored with wall-clock times"
    )]
    std::time::SystemTime::now()
}

/// The count of open client connections.
#[derive(Debug, Default)]
pub struct Connections {
    open: AtomicU64,
}

/// One open connection's place in the count, given back when dropped.
#[derive(Debug)]
pub struct ConnectionSlot(Arc<Connections>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connections {
    /// A place for one more connection, unless `max` (0: no limit) are open.
    pub fn open(self: &Arc<Self>, max: u64) -> Option<ConnectionSlot> {
        let before = self.open.fetch_add(1, Ordering::Relaxed);
        if max > 0 && before >= max {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(ConnectionSlot(self.clone()))
    }

    /// Connections open now.
    pub fn count(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_ids_are_the_prefix_and_twelve_hex_digits_or_more() {
        for n in [0, 1, 0xabc, 0xffff_ffff_ffff, 0x1_0000_0000_0000, u64::MAX] {
            assert_eq!(request_id("7f963028", n), format!("req_7f963028{n:012x}"));
        }
        assert_eq!(request_id("00", 0x2a), "req_0000000000002a");
    }
}
