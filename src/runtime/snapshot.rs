//! The runtime snapshot the request path reads: providers, catalog, aliases, pools, virtual
//! keys and limits, built once from a validated [`Config`] and swapped atomically on reload
//! (readers hold an `Arc` for the whole request, so a reload never changes a request mid-way).
//!
//! Entry point: [`Snapshot::build`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{Config, ModelRoutingConfig, PoolConfig, PoolStrategy, Secret, TimeoutConfig};
use crate::runtime::candidate::Candidate;
use crate::runtime::catalog::{Catalog, Overlay};
use crate::runtime::provider::Provider;
use crate::runtime::tenant::Policy;

/// A caller identified by a virtual key.
#[derive(Debug)]
pub struct Tenant {
    /// Stable, non-secret id: the first 12 hex digits of the key's SHA-256.
    pub id: String,
    pub label: Option<String>,
    /// The provider keys this virtual key maps to, by provider id.
    pub keys: HashMap<String, Secret>,
    /// What a key from the store may do; `None` for `[key_map.*]` keys (anything).
    pub policy: Option<Arc<Policy>>,
}

/// A pool of models (`[[pools]]`), tried in its strategy's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub strategy: PoolStrategy,
    /// Whether the other members are tried when the first fails.
    pub fallback: bool,
    /// `provider/model` (or any model name) and weight.
    pub members: Vec<(String, u32)>,
}

impl From<&PoolConfig> for Pool {
    fn from(p: &PoolConfig) -> Self {
        Pool {
            strategy: p.strategy,
            fallback: p.fallback,
            members: p
                .members
                .iter()
                .map(|m| (m.model.clone(), m.weight))
                .collect(),
        }
    }
}

/// The request path's timeouts (`[resilience.timeout]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connect.
    pub connect: Duration,
    /// Whole request, unless `x-gateway-timeout` says otherwise.
    pub total: Duration,
    /// Time to the upstream's response header; `None`: only the total applies.
    pub ttft: Option<Duration>,
    /// Longest gap between two chunks of a stream.
    pub stream_idle: Duration,
    /// Longest gap between two reads of a whole (non-streamed) response body.
    pub upstream_idle: Duration,
}

impl From<&TimeoutConfig> for Timeouts {
    fn from(t: &TimeoutConfig) -> Self {
        Timeouts {
            connect: Duration::from_millis(t.connect_ms),
            total: Duration::from_millis(t.default_total_ms),
            ttft: t.ttft_ms.map(Duration::from_millis),
            stream_idle: Duration::from_millis(t.stream_idle_ms),
            upstream_idle: Duration::from_millis(t.upstream_idle_ms),
        }
    }
}

/// Everything the request path needs, immutable.
#[derive(Debug)]
pub struct Snapshot {
    /// Enabled providers, in config order.
    pub providers: Vec<Arc<Provider>>,
    pub catalog: Catalog,
    /// Every card of the catalog as a candidate, in catalog order (what `auto` ranks).
    pub everything: Arc<[Candidate]>,
    /// `[model_routing]`: default profile, profile weights, deprecations, buckets, sticky TTL.
    pub routing: Arc<ModelRoutingConfig>,
    pub aliases: BTreeMap<String, String>,
    pub pools: HashMap<String, Pool>,
    /// SHA-256 of a virtual key → tenant.
    pub tenants: HashMap<[u8; 32], Arc<Tenant>>,
    pub admin_token_hash: Option<[u8; 32]>,
    pub timeouts: Timeouts,
    /// Delay after which the realtime profile's first attempt is hedged; `None`: no hedging.
    pub hedge_delay: Option<Duration>,
    /// Continuations of a broken stream allowed per request (0: stream rescue is off).
    pub max_continuations: u32,
    pub max_body_bytes: usize,
    /// Connection limits of the client side (`[server]`).
    pub edge: Edge,
    /// Largest SSE event or content-free stream prefix from a provider.
    pub max_sse_line_bytes: usize,
    /// Largest non-streamed provider response.
    pub max_upstream_body_bytes: usize,
    /// `[rate_limit]`, when enabled.
    pub rate_limits: Option<std::sync::Arc<crate::runtime::tenant::RateLimits>>,
    /// `[provider_quota]`, when enabled.
    pub provider_quota: Option<std::sync::Arc<crate::runtime::provider::QuotaSettings>>,
    /// `[sanitization]`: the input policy, the output gate, the classification cap.
    pub sanitization: crate::runtime::sanitizer::Sanitization,
    /// What it was built from, to rebuild it with a new [`Overlay`] (catalog sync, scores).
    source: Arc<(Config, HashMap<String, String>)>,
}

/// Time limits of a client connection.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    pub keepalive_secs: u64,
    /// The whole request body; each read of the request head.
    pub request_head: Duration,
    /// Each write to the client.
    pub client_write: Duration,
    /// Client connections open at once (0: no limit).
    pub max_connections: u64,
}

/// SHA-256 of a secret, the form in which keys are held and compared.
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Snapshot {
    /// Builds the snapshot. `mock_endpoints` maps the id of each `mock` provider to the base
    /// URL of its in-process mock upstream.
    pub fn build(
        config: Config,
        mock_endpoints: &HashMap<String, String>,
    ) -> Result<Snapshot, String> {
        Self::build_with(config, mock_endpoints, &Overlay::default())
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &Config {
        &self.source.0
    }

    /// A snapshot of `config` (a reload), with this one's mock upstreams and `overlay`.
    pub fn reconfigure(&self, config: Config, overlay: &Overlay) -> Result<Snapshot, String> {
        Self::build_with(config, &self.source.1, overlay)
    }

    /// The same snapshot with the catalog rebuilt under `overlay`.
    pub fn rebuild(&self, overlay: &Overlay) -> Result<Snapshot, String> {
        let (config, mocks) = &*self.source;
        Self::build_with(config.clone(), mocks, overlay)
    }

    /// [`Snapshot::build`] with what the running gateway learned (`overlay`).
    pub fn build_with(
        config: Config,
        mock_endpoints: &HashMap<String, String>,
        overlay: &Overlay,
    ) -> Result<Snapshot, String> {
        let mut providers = Vec::new();
        for p in config.providers.iter().filter(|p| p.enabled) {
            let override_url = mock_endpoints.get(&p.id).map(String::as_str);
            providers.push(Arc::new(Provider::with_breaker(
                p,
                &config.resilience.default_retry_policy,
                &config.resilience.default_circuit_breaker,
                override_url,
            )?));
        }
        let tenants = config
            .key_map
            .iter()
            .map(|(key, entry)| {
                let hash = key_hash(key);
                let keys = providers
                    .iter()
                    .filter_map(|p| {
                        let key = entry.key_for(&p.id, p.provider_type)?;
                        Some((p.id.clone(), key.clone()))
                    })
                    .collect();
                let tenant = Tenant {
                    id: hex(&hash[..6]),
                    label: entry.label.clone(),
                    keys,
                    policy: None,
                };
                (hash, Arc::new(tenant))
            })
            .collect();
        let catalog = Catalog::build(&config, overlay);
        let everything: Arc<[Candidate]> = catalog
            .cards()
            .iter()
            .filter_map(|card| {
                let provider = providers.iter().find(|p| p.id == card.provider)?;
                Some(Candidate {
                    provider: provider.clone(),
                    model: card.id.clone(),
                    card: Some(card.clone()),
                })
            })
            .collect();
        Ok(Snapshot {
            catalog,
            everything,
            routing: Arc::new(config.model_routing.clone()),
            providers,
            aliases: config.model_routing.aliases.clone(),
            pools: config
                .pools
                .iter()
                .map(|p| (p.name.clone(), Pool::from(p)))
                .collect(),
            tenants,
            admin_token_hash: config
                .server
                .admin_token
                .as_ref()
                .map(|t| key_hash(t.expose())),
            timeouts: Timeouts::from(&config.resilience.timeout),
            hedge_delay: config
                .resilience
                .hedge
                .enabled
                .then(|| Duration::from_millis(config.resilience.hedge.hedge_delay_ms)),
            max_continuations: if config.resilience.stream_rescue.enabled {
                config.resilience.stream_rescue.max_continuations
            } else {
                0
            },
            max_body_bytes: config.server.max_body_bytes,
            edge: Edge {
                keepalive_secs: config.server.keepalive_timeout_secs,
                request_head: Duration::from_secs(config.server.request_head_timeout_secs),
                client_write: Duration::from_secs(config.server.client_write_timeout_secs),
                max_connections: config.server.max_connections,
            },
            max_sse_line_bytes: config.server.max_sse_line_bytes,
            max_upstream_body_bytes: config.server.max_upstream_body_bytes,
            rate_limits: crate::runtime::tenant::RateLimits::from_config(&config.rate_limit)
                .map(Arc::new),
            provider_quota: crate::runtime::provider::QuotaSettings::from_config(
                &config.provider_quota,
            )
            .map(Arc::new),
            sanitization: crate::runtime::sanitizer::Sanitization::from_config(
                &config.sanitization,
            )?,
            source: Arc::new((config, mock_endpoints.clone())),
        })
    }

    /// The enabled provider with this id.
    pub fn provider(&self, id: &str) -> Option<&Arc<Provider>> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Whether virtual keys are configured (then every `/v1/*` call needs one).
    pub fn keys_required(&self) -> bool {
        !self.tenants.is_empty()
    }

    /// The key to send to `provider` for a caller: the tenant's mapped key wins.
    pub fn upstream_key<'a>(
        &'a self,
        provider: &'a Provider,
        tenant: Option<&'a Tenant>,
    ) -> Option<&'a Secret> {
        tenant
            .and_then(|t| t.keys.get(&provider.id))
            .or(provider.api_key.as_ref())
    }

    /// Providers that can take a request now: enabled and holding a key when they need one
    /// (or some virtual key maps one).
    pub fn usable_providers(&self) -> Vec<&str> {
        self.providers
            .iter()
            .filter(|p| {
                !p.needs_key()
                    || p.api_key.is_some()
                    || self.tenants.values().any(|t| t.keys.contains_key(&p.id))
            })
            .map(|p| p.id.as_str())
            .collect()
    }
}

/// Compares two 32-byte digests in constant time.
pub fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(text: &str) -> Snapshot {
        Snapshot::build(toml::from_str(text).unwrap(), &HashMap::new()).unwrap()
    }

    #[test]
    fn tenant_keys_win_and_usability() {
        let s = snapshot(
            "[[providers]]\nid='openai'\nprovider_type='openai'\n[[providers]]\nid='anthropic'\nprovider_type='anthropic'\napi_key='sk-ant'\n[key_map.vk1]\nopenai_key='sk-team'\nlabel='Team'",
        );
        let tenant = s.tenants.get(&key_hash("vk1")).unwrap();
        let openai = s.provider("openai").unwrap();
        assert_eq!(
            s.upstream_key(openai, Some(tenant)).unwrap().expose(),
            "sk-team"
        );
        assert!(s.upstream_key(openai, None).is_none());
        assert_eq!(s.usable_providers(), vec!["openai", "anthropic"]);
        assert!(s.keys_required());
        assert_eq!(tenant.id.len(), 12);
    }

    #[test]
    fn provider_without_key_is_not_usable() {
        let s = snapshot("[[providers]]\nid='openai'\nprovider_type='openai'");
        assert!(s.usable_providers().is_empty());
    }

    #[test]
    fn digest_compare() {
        assert!(digest_eq(&key_hash("a"), &key_hash("a")));
        assert!(!digest_eq(&key_hash("a"), &key_hash("b")));
    }
}
