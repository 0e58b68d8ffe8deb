//! The file configuration: every TOML section of the gateway, with its defaults.
//!
//! These structs are the *file* shape (strict: unknown keys are errors). The runtime view that
//! the request path reads is built from them in `crate::runtime::snapshot`. Nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A secret string (API key, token). `Debug` and `Display` never print it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is sent or compared.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The whole configuration file. Every section is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub update: UpdateConfig,
    pub sanitization: SanitizationConfig,
    pub resilience: ResilienceConfig,
    pub cache: CacheConfig,
    pub rate_limit: RateLimitConfig,
    pub provider_quota: ProviderQuotaConfig,
    pub model_routing: ModelRoutingConfig,
    pub providers: Vec<ProviderConfig>,
    pub models: Vec<ModelCardConfig>,
    pub pools: Vec<PoolConfig>,
    pub key_map: BTreeMap<String, KeyMapEntry>,
    pub redis: Option<RedisConfig>,
    /// JSON Web Tokens as client credentials, beside virtual keys.
    pub jwt: Option<JwtConfig>,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Bind address; "0.0.0.0" for Docker or external access.
    pub host: String,
    /// Listen port.
    pub port: u16,
    /// Bearer token for `/admin/*`; admin endpoints answer 403 without it.
    pub admin_token: Option<Secret>,
    /// Largest accepted request body, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Worker threads of the proxy service (default: the number of CPUs).
    pub threads: Option<usize>,
    /// Seconds in-flight requests get to finish on SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Seconds an idle keep-alive connection is kept open.
    pub keepalive_timeout_secs: u64,
    /// Seconds the request body may take to arrive (whole), and each read of the request
    /// head at most.
    pub request_head_timeout_secs: u64,
    /// Seconds a write to a client may wait (a client that stops reading a stream is
    /// dropped, and the provider's stream with it).
    pub client_write_timeout_secs: u64,
    /// Largest SSE event (or content-free stream prefix) a provider may send, in bytes.
    pub max_sse_line_bytes: usize,
    /// Largest non-streamed provider response, in bytes.
    pub max_upstream_body_bytes: usize,
    /// Client connections open at once; one more is answered 503 and closed (0: no limit but
    /// the process's descriptor limit).
    pub max_connections: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8930,
            admin_token: None,
            max_body_bytes: 10 * 1024 * 1024,
            threads: None,
            shutdown_grace_secs: 10,
            keepalive_timeout_secs: 60,
            request_head_timeout_secs: 30,
            client_write_timeout_secs: 30,
            max_sse_line_bytes: 1024 * 1024,
            max_upstream_body_bytes: 64 * 1024 * 1024,
            max_connections: 0,
        }
    }
}

/// `[database]`: where keys, teams, request records and the audit log live. Without `url`,
/// in memory (gone at exit).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created at first start) or `postgres://...`.
    pub url: Option<String>,
    pub max_connections: u32,
    /// Whether request and response bodies are kept in the records.
    pub store_bodies: bool,
    /// Records older than this many days are purged (unset: kept).
    pub retention_days: Option<u64>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 5,
            store_bodies: true,
            retention_days: None,
        }
    }
}

/// `[update]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateConfig {
    pub mode: UpdateMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    Auto,
    #[default]
    Manual,
}

/// `[sanitization]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SanitizationConfig {
    pub enabled: bool,
    pub scan_credentials: bool,
    pub redact_pii: bool,
    pub compliance_gate: bool,
    pub max_classification: Option<Classification>,
    /// What a finding does: `block`, `redact` (default) or `log_only`.
    pub compliance_action: ComplianceAction,
    /// Per-detector actions (detector id → action), over `compliance_action`.
    pub detectors: BTreeMap<String, ComplianceAction>,
    /// Also detect IPv4 addresses (off by default).
    pub ip_addresses: bool,
}

impl Default for SanitizationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            scan_credentials: true,
            redact_pii: false,
            compliance_gate: false,
            max_classification: None,
            compliance_action: ComplianceAction::Redact,
            detectors: BTreeMap::new(),
            ip_addresses: false,
        }
    }
}

/// What the compliance filters do with a finding (defined beside the detectors).
pub use crate::compliance::policy::Action as ComplianceAction;

/// Data classification levels, lowest to highest.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Public,
    #[default]
    Internal,
    Cui,
    Itar,
    Classified,
}

impl Classification {
    /// A classification by its name (any case).
    pub fn parse(name: &str) -> Option<Classification> {
        Some(match name.to_ascii_lowercase().as_str() {
            "public" => Classification::Public,
            "internal" => Classification::Internal,
            "cui" => Classification::Cui,
            "itar" => Classification::Itar,
            "classified" => Classification::Classified,
            _ => return None,
        })
    }

    /// The name used in headers and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Cui => "cui",
            Classification::Itar => "itar",
            Classification::Classified => "classified",
        }
    }
}

/// `[resilience]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ResilienceConfig {
    pub default_retry_policy: RetryPolicy,
    pub timeout: TimeoutConfig,
    pub default_circuit_breaker: CircuitBreakerConfig,
    pub hedge: HedgeConfig,
    pub stream_rescue: StreamRescueConfig,
}

/// `[resilience.stream_rescue]`: continuing a stream that broke after text reached the client.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StreamRescueConfig {
    pub enabled: bool,
    /// Continuations at most per request.
    pub max_continuations: u32,
}

impl Default for StreamRescueConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_continuations: 2,
        }
    }
}

/// `[resilience.default_retry_policy]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub jitter: bool,
    pub retryable_statuses: Vec<u16>,
    pub honor_retry_after: bool,
    /// Whether a provider that sent nothing within its time-to-first-token limit is tried
    /// again (else the next candidate is).
    pub retry_on_timeout: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay_ms: 200,
            max_delay_ms: 5000,
            jitter: true,
            retryable_statuses: vec![408, 429, 500, 502, 503, 504],
            honor_retry_after: true,
            retry_on_timeout: false,
        }
    }
}

/// A provider's partial override of the retry policy (`[providers.retry_policy]`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicyOverride {
    pub max_attempts: Option<u32>,
    pub base_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub jitter: Option<bool>,
    pub retryable_statuses: Option<Vec<u16>>,
    pub honor_retry_after: Option<bool>,
    pub retry_on_timeout: Option<bool>,
}

impl RetryPolicy {
    /// This policy with a provider's overrides applied.
    pub fn with_override(&self, o: &RetryPolicyOverride) -> RetryPolicy {
        RetryPolicy {
            max_attempts: o.max_attempts.unwrap_or(self.max_attempts),
            base_delay_ms: o.base_delay_ms.unwrap_or(self.base_delay_ms),
            max_delay_ms: o.max_delay_ms.unwrap_or(self.max_delay_ms),
            jitter: o.jitter.unwrap_or(self.jitter),
            retryable_statuses: o
                .retryable_statuses
                .clone()
                .unwrap_or_else(|| self.retryable_statuses.clone()),
            honor_retry_after: o.honor_retry_after.unwrap_or(self.honor_retry_after),
            retry_on_timeout: o.retry_on_timeout.unwrap_or(self.retry_on_timeout),
        }
    }
}

/// `[resilience.timeout]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutConfig {
    /// TCP (and TLS) connect timeout.
    pub connect_ms: u64,
    /// Total request timeout; `x-gateway-timeout` (seconds) overrides it per request.
    pub default_total_ms: u64,
    /// Time to first byte of the upstream response; unset = only the total timeout applies.
    pub ttft_ms: Option<u64>,
    /// Longest gap between two chunks of a streamed upstream response.
    pub stream_idle_ms: u64,
    /// Longest gap between two reads of a non-streamed upstream response body.
    pub upstream_idle_ms: u64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        Self {
            connect_ms: 5000,
            default_total_ms: 300_000,
            ttft_ms: None,
            stream_idle_ms: 60_000,
            upstream_idle_ms: 60_000,
        }
    }
}

/// `[resilience.default_circuit_breaker]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitBreakerConfig {
    pub failure_threshold: u32,
    pub failure_window_secs: u64,
    /// The longest an open circuit stays open.
    pub open_duration_secs: u64,
    /// The first open period after the circuit was closed (at most `open_duration_secs`); it
    /// doubles after each failed probe, up to `open_duration_secs`.
    pub initial_open_secs: u64,
    pub half_open_max_concurrent: u32,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            failure_window_secs: 60,
            open_duration_secs: 30,
            initial_open_secs: 5,
            half_open_max_concurrent: 1,
        }
    }
}

/// A provider's partial override of the circuit breaker.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitBreakerOverride {
    pub failure_threshold: Option<u32>,
    pub failure_window_secs: Option<u64>,
    pub open_duration_secs: Option<u64>,
    pub initial_open_secs: Option<u64>,
    pub half_open_max_concurrent: Option<u32>,
}

/// `[resilience.hedge]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HedgeConfig {
    pub enabled: bool,
    pub hedge_delay_ms: u64,
}

impl Default for HedgeConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            hedge_delay_ms: 300,
        }
    }
}

/// `[cache]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    pub enabled: bool,
    /// Entries kept on this instance at most (least recently used go first).
    pub max_entries: usize,
    pub ttl_secs: u64,
    /// Only requests with `temperature` at or below this are cached (no `temperature`: 1).
    pub temperature_threshold: f64,
    /// Who shares entries: each virtual key (`key`), its team (`team`), or everyone (`global`).
    pub scope: CacheScope,
    /// Largest answer kept, in bytes.
    pub max_entry_bytes: usize,
    pub semantic: SemanticCacheConfig,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_entries: 1000,
            ttl_secs: 3600,
            temperature_threshold: 0.3,
            scope: CacheScope::Key,
            max_entry_bytes: 1024 * 1024,
            semantic: SemanticCacheConfig::default(),
        }
    }
}

/// `cache.scope`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    #[default]
    Key,
    Team,
    Global,
}

/// `[cache.semantic]`: answers for prompts that mean the same, by embedding similarity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SemanticCacheConfig {
    pub enabled: bool,
    /// `provider/model` of an embeddings model.
    pub embedding_model: Option<String>,
    /// Cosine similarity at or above which a kept answer is served.
    pub similarity_threshold: f64,
    /// Prompts kept per instance for the similarity search (a brute-force scan).
    pub max_entries: usize,
}

impl Default for SemanticCacheConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            embedding_model: None,
            similarity_threshold: 0.95,
            max_entries: 10_000,
        }
    }
}

/// `[rate_limit]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// What the limits do when Redis cannot answer.
    pub on_redis_error: OnRedisError,
    pub default_limits: Limits,
    pub tenant_limits: BTreeMap<String, Limits>,
}

/// `rate_limit.on_redis_error`: admit by this instance's own limiter (`open`), or refuse
/// (`closed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnRedisError {
    #[default]
    Open,
    Closed,
}

/// Per-tenant limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub rpm: u32,
    pub tpm: u32,
    pub rpd: u32,
    pub concurrent: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rpm: 60,
            tpm: 100_000,
            rpd: 10_000,
            concurrent: 10,
        }
    }
}

/// `[provider_quota]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderQuotaConfig {
    pub enabled: bool,
    pub deprioritize_threshold: f64,
    pub provider_limits: BTreeMap<String, ProviderLimits>,
}

impl Default for ProviderQuotaConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            deprioritize_threshold: 0.9,
            provider_limits: BTreeMap::new(),
        }
    }
}

/// `[provider_quota.provider_limits.<id>]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderLimits {
    pub rpm: u32,
    pub tpm: u32,
}

impl Default for ProviderLimits {
    fn default() -> Self {
        Self {
            rpm: 1000,
            tpm: 1_000_000,
        }
    }
}

/// The nine routing profiles (seed 001 §4), by name.
pub const PROFILE_NAMES: [&str; 9] = [
    "realtime",
    "interactive",
    "batch",
    "cost_optimized",
    "quality_optimized",
    "balanced",
    "reasoning",
    "creative",
    "code",
];

/// `[model_routing]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ModelRoutingConfig {
    pub sticky_ttl_secs: u64,
    /// The routing profile of requests without `x-routing-profile`.
    pub default_profile: String,
    /// Friendly name → `provider/model` or model id (or `auto`).
    pub aliases: BTreeMap<String, String>,
    pub deprecations: Vec<Deprecation>,
    /// Seconds between catalog syncs against each provider's models endpoint; off when unset.
    pub sync_interval_secs: Option<u64>,
    /// Pools the smart-router buckets send `auto` requests to.
    pub buckets: BucketsConfig,
    /// Weights of a profile, overriding the built-in ones.
    pub profiles: BTreeMap<String, ProfileOverride>,
}

impl Default for ModelRoutingConfig {
    fn default() -> Self {
        Self {
            sticky_ttl_secs: 900,
            default_profile: "balanced".to_string(),
            aliases: BTreeMap::new(),
            deprecations: Vec::new(),
            sync_interval_secs: None,
            buckets: BucketsConfig::default(),
            profiles: BTreeMap::new(),
        }
    }
}

/// `[model_routing.buckets]`: the pool each smart-router bucket of an `auto` request goes to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BucketsConfig {
    pub simple: Option<String>,
    pub complex: Option<String>,
}

/// `[model_routing.profiles.<name>]`: a profile's weights, each optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileOverride {
    /// 0..1: how much quality scores count.
    pub quality_weight: Option<f64>,
    /// 0..1: how much a low price counts.
    pub cost_weight: Option<f64>,
    /// Longest median time to first token a model may have (0: no limit).
    pub max_ttft_ms: Option<u64>,
}

/// `[[model_routing.deprecations]]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deprecation {
    pub model: String,
    /// `YYYY-MM-DD`.
    pub sunset_date: String,
    pub replacement: Option<String>,
}

/// Provider types the gateway knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderType {
    Openai,
    Anthropic,
    Google,
    AzureOpenai,
    Groq,
    DeepInfra,
    Mistral,
    Meta,
    Local,
    Bedrock,
    Mock,
}

impl ProviderType {
    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
            Self::Google => "google",
            Self::AzureOpenai => "azure_openai",
            Self::Groq => "groq",
            Self::DeepInfra => "deep_infra",
            Self::Mistral => "mistral",
            Self::Meta => "meta",
            Self::Local => "local",
            Self::Bedrock => "bedrock",
            Self::Mock => "mock",
        }
    }

    /// Whether requests to providers of this type need an API key.
    pub fn needs_key(self) -> bool {
        !matches!(self, Self::Local | Self::Mock)
    }
}

/// Wire formats a provider may speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiFormat {
    Openai,
    Anthropic,
    Gemini,
}

/// `[[providers]]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub id: String,
    pub provider_type: ProviderType,
    #[serde(default)]
    pub api_key: Option<Secret>,
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Several base URLs of self-hosted replicas (instead of `endpoint`).
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub deployment: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default)]
    pub retry_policy: Option<RetryPolicyOverride>,
    #[serde(default)]
    pub circuit_breaker_config: Option<CircuitBreakerOverride>,
    /// Served model ids; replaces the built-in list of the provider type.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    pub api_format: Option<ApiFormat>,
    /// Time-to-first-byte timeout for this provider (overrides `[resilience.timeout].ttft_ms`).
    #[serde(default)]
    pub ttft_ms: Option<u64>,
    /// `max_tokens` sent to providers that require it when the request has none.
    #[serde(default)]
    pub default_max_tokens: Option<u32>,
    /// Whether the provider continues an answer given as a trailing assistant message
    /// (default by type: Anthropic, local servers and the mock yes, the others no).
    #[serde(default)]
    pub supports_prefill: Option<bool>,
    /// How often each of several `endpoints` is health-checked (`GET {endpoint}/models`).
    #[serde(default)]
    pub health_check_interval_ms: Option<u64>,
}

fn default_true() -> bool {
    true
}

/// Model capabilities.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Streaming,
    Tools,
    Vision,
    JsonMode,
    Thinking,
    Embeddings,
    Citations,
    Batch,
}

/// Quality scores of a model card (0..1, Elo as is).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct QualityScores {
    pub coding: Option<f64>,
    pub reasoning: Option<f64>,
    pub instruction_following: Option<f64>,
    pub arena_elo: Option<f64>,
}

/// `[[models]]`: a model card; overrides the built-in one with the same id and provider.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelCardConfig {
    pub id: String,
    /// Provider id; without it the card applies to every provider serving `id`.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub input_price_per_mtok: Option<f64>,
    #[serde(default)]
    pub output_price_per_mtok: Option<f64>,
    #[serde(default)]
    pub context_window: Option<u32>,
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub capabilities: Option<Vec<Capability>>,
    #[serde(default)]
    pub max_classification: Option<Classification>,
    #[serde(default)]
    pub quality: Option<QualityScores>,
    #[serde(default)]
    pub ttft_ms: Option<u64>,
}

/// Pool strategies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolStrategy {
    #[default]
    Priority,
    Latency,
    Cost,
    Weighted,
    RoundRobin,
    /// The routing engine ranks the members under the request's profile (like `auto`,
    /// restricted to the pool).
    Auto,
}

/// `[[pools]]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    pub name: String,
    #[serde(default)]
    pub strategy: PoolStrategy,
    #[serde(default = "default_true")]
    pub fallback: bool,
    pub members: Vec<PoolMember>,
}

/// A pool member: `{ model = "provider/model", weight = 70 }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolMember {
    pub model: String,
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// `[key_map.<virtual key>]`: a virtual key and the provider keys it maps to.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeyMapEntry {
    pub label: Option<String>,
    pub openai_key: Option<Secret>,
    pub anthropic_key: Option<Secret>,
    pub google_key: Option<Secret>,
    pub azure_openai_key: Option<Secret>,
    pub groq_key: Option<Secret>,
    pub deep_infra_key: Option<Secret>,
    pub mistral_key: Option<Secret>,
    pub meta_key: Option<Secret>,
    /// Keys for individual providers by provider id (win over the per-type keys).
    pub provider_keys: BTreeMap<String, Secret>,
}

impl KeyMapEntry {
    /// The provider key this virtual key maps to for a provider, if any.
    pub fn key_for(&self, provider_id: &str, provider_type: ProviderType) -> Option<&Secret> {
        if let Some(k) = self.provider_keys.get(provider_id) {
            return Some(k);
        }
        match provider_type {
            ProviderType::Openai => self.openai_key.as_ref(),
            ProviderType::Anthropic => self.anthropic_key.as_ref(),
            ProviderType::Google => self.google_key.as_ref(),
            ProviderType::AzureOpenai => self.azure_openai_key.as_ref(),
            ProviderType::Groq => self.groq_key.as_ref(),
            ProviderType::DeepInfra => self.deep_infra_key.as_ref(),
            ProviderType::Mistral => self.mistral_key.as_ref(),
            ProviderType::Meta => self.meta_key.as_ref(),
            ProviderType::Local | ProviderType::Bedrock | ProviderType::Mock => None,
        }
    }
}

/// `[jwt]`: callers may present an RS256 JSON Web Token (`Authorization: Bearer <jwt>`)
/// signed by a key of the JWKS at `jwks_url`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Where the signing keys are published (`http://` or `https://`).
    pub jwks_url: String,
    /// The `iss` a token must carry (unset: any).
    pub issuer: Option<String>,
    /// An `aud` a token must carry (unset: any).
    pub audience: Option<String>,
    /// How long fetched keys are used before they are fetched again.
    #[serde(default = "default_jwks_cache_secs")]
    pub jwks_cache_secs: u64,
    /// The claim that names the tenant (for limits, budgets and records).
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
}

fn default_jwks_cache_secs() -> u64 {
    300
}

fn default_tenant_claim() -> String {
    "sub".into()
}

/// `[redis]`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: String,
    /// Every key the gateway writes starts with it (several deployments on one Redis).
    #[serde(default)]
    pub key_prefix: String,
}
