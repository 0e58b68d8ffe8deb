//! Schemas of the admin, catalog and routing endpoints' bodies and answers. They describe the
//! wire (the handlers read and write JSON by hand, checking each field and naming it in
//! errors); `tests/it/openapi.rs` and the schema fuzzer hold the two together. Record,
//! analytics and signal types are in `records`.
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::registry::{Registry, reg};
use utoipa::openapi::{RefOr, schema::Schema};

/// Registers the error body.
pub(super) fn reg_error(r: &mut Registry) -> RefOr<Schema> {
    reg::<ErrorBody>(r)
}

/// An error (OpenAI's shape on every endpoint but `/v1/messages`, which answers Anthropic's).
#[derive(Serialize, ToSchema)]
pub(super) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub(super) struct ErrorDetail {
    /// What went wrong and how to fix it; never an upstream's bytes or a secret.
    message: String,
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`, …).
    r#type: String,
    /// `invalid_request`, `invalid_json`, `invalid_api_key`, `not_found`, `conflict`, …
    code: String,
    /// The field at fault, if one is.
    param: Option<String>,
    /// With 429 and 503 (also as `Retry-After`).
    retry_after_seconds: Option<u64>,
    /// The limit that refused: `budget`, `rpm`, `tpm`, `rpd`, `concurrent`, `provider_quota`, `compliance`, `classification`.
    kind: Option<String>,
}

/// `GET /`.
#[derive(Serialize, ToSchema)]
pub(super) struct Index {
    name: String,
    version: String,
    /// Every endpoint as `METHOD path`.
    endpoints: Vec<String>,
}

/// `GET /health`.
#[derive(Serialize, ToSchema)]
pub(super) struct Health {
    #[schema(example = "ok")]
    status: String,
    version: String,
    uptime_secs: u64,
    port: u16,
    /// The enabled providers' ids.
    providers: Vec<String>,
}

/// `GET /ready` (200 and 503 alike).
#[derive(Serialize, ToSchema)]
pub(super) struct Ready {
    /// `ready` or `not_ready`.
    status: String,
    usable_providers: Vec<String>,
    reason: Option<String>,
    /// Provider id → why it cannot serve.
    unusable_providers: Option<std::collections::BTreeMap<String, String>>,
}

/// An entry of `GET /v1/models`.
#[derive(Serialize, ToSchema)]
pub(super) struct ModelEntry {
    id: String,
    #[schema(example = "model")]
    object: String,
    created: u64,
    /// The provider id, or `alias`, `pool`, `router`.
    owned_by: String,
}

/// `GET /v1/models`.
#[derive(Serialize, ToSchema)]
pub(super) struct ModelList {
    object: String,
    data: Vec<ModelEntry>,
}

/// Quality scores of a model (0..1, `arena_elo` on its own scale).
#[derive(Serialize, ToSchema)]
pub(super) struct QualityScores {
    coding: Option<f64>,
    reasoning: Option<f64>,
    instruction_following: Option<f64>,
    arena_elo: Option<f64>,
}

/// A model of the catalog.
#[derive(Serialize, ToSchema)]
pub(super) struct ModelCard {
    id: String,
    provider: String,
    provider_type: String,
    input_price_per_mtok: f64,
    output_price_per_mtok: f64,
    cached_input_price_per_mtok: Option<f64>,
    context_window: u64,
    max_output_tokens: u64,
    /// `streaming`, `tools`, `vision`, `json_mode`, `thinking`, `embeddings`, `citations`, `batch`.
    capabilities: Vec<String>,
    /// `public`, `internal`, `cui`, `itar` or `classified`.
    max_classification: String,
    quality: QualityScores,
    ttft_ms: Option<u64>,
    auto: bool,
    as_of: Option<String>,
    price_known: bool,
    /// `builtin`, `provider`, `sync` or `config`.
    source: String,
}

/// `GET /v1/catalog`.
#[derive(Serialize, ToSchema)]
pub(super) struct Catalog {
    object: String,
    data: Vec<ModelCard>,
}

/// A replica of a provider's pool.
#[derive(Serialize, ToSchema)]
pub(super) struct Replica {
    /// Credentials masked.
    url: String,
    address: String,
    healthy: bool,
}

/// A provider as the gateway runs it (never its key).
#[derive(Serialize, ToSchema)]
pub(super) struct ProviderView {
    id: String,
    provider_type: String,
    /// `openai`, `anthropic` or `gemini`.
    api_format: String,
    endpoint: String,
    has_api_key: bool,
    usable: bool,
    /// How many models of the catalog it serves.
    models: u64,
    replicas: Option<Vec<Replica>>,
}

/// `GET /admin/providers`, `GET /v1/providers`.
#[derive(Serialize, ToSchema)]
pub(super) struct Providers {
    providers: Vec<ProviderView>,
}

/// A circuit breaker (one per provider and model).
#[derive(Serialize, ToSchema)]
pub(super) struct Breaker {
    /// `provider/model`.
    key: String,
    /// `closed`, `open` or `half_open`.
    state: String,
    failures_in_window: u64,
    total_failures: u64,
    total_successes: u64,
    last_error: Option<String>,
    opened_for_secs: Option<u64>,
    retry_after_secs: Option<u64>,
}

/// `GET /admin/backends`.
#[derive(Serialize, ToSchema)]
pub(super) struct Backends {
    backends: Vec<Breaker>,
}

/// `POST /admin/backends/{name}/reset`.
#[derive(Serialize, ToSchema)]
pub(super) struct Reset {
    /// How many breakers were closed.
    reset: u64,
    name: String,
}

/// A provider's replica pool.
#[derive(Serialize, ToSchema)]
pub(super) struct Pool {
    provider: String,
    endpoints: Vec<Replica>,
}

/// `POST /admin/providers/{id}/endpoints`: exactly one of the two.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PoolChange {
    /// A replica URL to add.
    add: Option<String>,
    /// A replica URL to remove.
    remove: Option<String>,
}

/// A key's limits (unset ones absent).
#[derive(Serialize, ToSchema)]
pub(super) struct Limits {
    #[schema(minimum = 0)]
    rpm: Option<u64>,
    #[schema(minimum = 0)]
    tpm: Option<u64>,
    #[schema(minimum = 0)]
    rpd: Option<u64>,
    #[schema(minimum = 0)]
    concurrent: Option<u64>,
}

/// `POST /admin/keys`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewKey {
    #[schema(min_length = 1, max_length = 256)]
    name: String,
    /// An existing team's id.
    #[schema(max_length = 256)]
    team: Option<String>,
    /// Model names, aliases, pools or globs the key may call (none: all).
    models: Option<Vec<String>>,
    limits: Option<Limits>,
    #[schema(minimum = 0)]
    max_budget_usd: Option<f64>,
    /// `daily`, `weekly`, `monthly` or `total`.
    budget_period: Option<Period>,
    /// The most one request may cost (like `x-gateway-max-cost-usd`).
    #[schema(minimum = 0)]
    max_request_cost_usd: Option<f64>,
    /// RFC 3339, or Unix seconds.
    expires_at: Option<Value>,
    metadata: Option<std::collections::BTreeMap<String, Value>>,
}

/// `PATCH /admin/keys/{id}`: a field sent replaces the stored one, `null` clears it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyFields {
    #[schema(min_length = 1, max_length = 256)]
    name: Option<String>,
    /// An existing team's id.
    #[schema(max_length = 256)]
    team: Option<String>,
    /// Model names, aliases, pools or globs the key may call (none: all).
    models: Option<Vec<String>>,
    limits: Option<Limits>,
    #[schema(minimum = 0)]
    max_budget_usd: Option<f64>,
    /// `daily`, `weekly`, `monthly` or `total`.
    budget_period: Option<Period>,
    /// The most one request may cost (like `x-gateway-max-cost-usd`).
    #[schema(minimum = 0)]
    max_request_cost_usd: Option<f64>,
    /// RFC 3339, or Unix seconds.
    expires_at: Option<Value>,
    metadata: Option<std::collections::BTreeMap<String, Value>>,
}

/// A budget period.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum Period {
    Daily,
    Weekly,
    Monthly,
    Total,
}

/// A virtual key (never its secret).
#[derive(Serialize, ToSchema)]
pub(super) struct Key {
    id: String,
    name: String,
    /// The secret's first characters.
    key_hint: String,
    team: Option<String>,
    models: Vec<String>,
    limits: Limits,
    max_budget_usd: Option<f64>,
    budget_period: Option<Period>,
    max_request_cost_usd: Option<f64>,
    expires_at: Option<String>,
    metadata: std::collections::BTreeMap<String, Value>,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

/// `POST /admin/keys`: the key and its secret, shown this once.
#[derive(Serialize, ToSchema)]
pub(super) struct CreatedKey {
    #[serde(flatten)]
    view: Key,
    /// The secret (`sk-gw-…`); only its hash is stored.
    key: String,
}

/// `GET /admin/keys`.
#[derive(Serialize, ToSchema)]
pub(super) struct KeyList {
    data: Vec<Key>,
}

/// `DELETE /admin/keys/{id}`.
#[derive(Serialize, ToSchema)]
pub(super) struct Revoked {
    id: String,
    revoked: bool,
}

/// `POST /admin/teams`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTeam {
    #[schema(min_length = 1, max_length = 256)]
    name: String,
    #[schema(minimum = 0)]
    max_budget_usd: Option<f64>,
    budget_period: Option<Period>,
    metadata: Option<std::collections::BTreeMap<String, Value>>,
}

/// `PATCH /admin/teams/{id}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamFields {
    #[schema(min_length = 1, max_length = 256)]
    name: Option<String>,
    #[schema(minimum = 0)]
    max_budget_usd: Option<f64>,
    budget_period: Option<Period>,
    metadata: Option<std::collections::BTreeMap<String, Value>>,
}

/// A team.
#[derive(Serialize, ToSchema)]
pub(super) struct Team {
    id: String,
    name: String,
    max_budget_usd: Option<f64>,
    budget_period: Option<Period>,
    metadata: std::collections::BTreeMap<String, Value>,
    created_at: String,
}

/// `GET /admin/teams`.
#[derive(Serialize, ToSchema)]
pub(super) struct TeamList {
    data: Vec<Team>,
}

/// A deletion.
#[derive(Serialize, ToSchema)]
pub(super) struct Deleted {
    id: String,
    deleted: bool,
}

/// An admin action.
#[derive(Serialize, ToSchema)]
pub(super) struct AdminAction {
    id: String,
    created_at: String,
    /// The admin token's id (a hash prefix), never the token.
    actor: String,
    /// `key.create`, `config.replace`, `circuit.reset`, …
    action: String,
    target: String,
    detail: Value,
}

/// `GET /admin/audit-log`.
#[derive(Serialize, ToSchema)]
pub(super) struct AdminLog {
    data: Vec<AdminAction>,
}

/// `GET /admin/config`.
#[derive(Serialize, ToSchema)]
pub(super) struct RunningConfig {
    /// The running configuration as TOML, secrets masked.
    toml: String,
    /// The same as JSON.
    config: std::collections::BTreeMap<String, Value>,
}

/// `PUT /admin/config`, `POST /admin/config/validate`.
#[derive(Serialize, ToSchema)]
pub(super) struct Reloaded {
    /// `PUT`: it was swapped in.
    reloaded: Option<bool>,
    /// `validate`: it would be.
    valid: Option<bool>,
    /// The top-level sections that differ.
    changed: Vec<String>,
    /// Listener keys that differ and were kept as running.
    restart_needed: Vec<String>,
}

/// `POST /v1/providers`: one `[[providers]]` table as JSON (the configuration reference lists
/// every field).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ProviderTable {
    #[schema(min_length = 1)]
    id: String,
    provider_type: ProviderType,
    api_key: Option<String>,
    endpoint: Option<String>,
    deployment: Option<String>,
    api_version: Option<String>,
    enabled: Option<bool>,
    models: Option<Vec<String>>,
    /// `openai`, `anthropic` or `gemini`.
    api_format: Option<String>,
    ttft_ms: Option<u64>,
    default_max_tokens: Option<u64>,
    supports_prefill: Option<bool>,
    retry_policy: Option<Value>,
    circuit_breaker_config: Option<Value>,
}

/// A provider's kind.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum ProviderType {
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

/// `POST /v1/providers`.
#[derive(Serialize, ToSchema)]
pub(super) struct Added {
    id: String,
    added: bool,
}

/// A deployment (a provider's model) that routing may use.
#[derive(Serialize, ToSchema)]
pub(super) struct Deployment {
    /// `provider/model`.
    id: String,
    provider: String,
    model: String,
    enabled: bool,
    /// Whether this call changed it.
    changed: Option<bool>,
}

/// `GET /admin/deployments`.
#[derive(Serialize, ToSchema)]
pub(super) struct Deployments {
    object: String,
    data: Vec<Deployment>,
}

/// `POST /admin/deployments/disable|enable`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeploymentName {
    /// `provider/model`.
    #[schema(min_length = 1)]
    deployment: String,
}
