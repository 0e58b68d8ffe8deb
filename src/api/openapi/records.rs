//! Schemas of the records, spend, analytics, quality and routing endpoints' answers (see
//! `types` for why they are declared beside the handlers).
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::types::QualityScores;

/// A request record.
#[derive(Serialize, ToSchema)]
pub(super) struct Record {
    /// The request's `x-request-id`.
    id: String,
    created_at: String,
    key_id: Option<String>,
    team_id: Option<String>,
    /// `chat_completions`, `messages`, `completions`, `embeddings`, `moderations`, `images_generations`, `responses`.
    endpoint: String,
    model_requested: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    status: u16,
    error: Option<String>,
    input_tokens: u64,
    output_tokens: u64,
    cached_tokens: u64,
    /// Absent when the model's price is unknown.
    cost_usd: Option<f64>,
    latency_ms: u64,
    ttft_ms: Option<u64>,
    attempts: u32,
    failovers: u32,
    /// `hit`, `semantic-hit` or `miss`.
    cache_status: Option<String>,
    stream: bool,
    /// From `x-source`.
    source: Option<String>,
    /// From `x-project`.
    project: Option<String>,
    /// `GET /v1/requests/{id}` with `store_bodies`.
    request_body: Option<Value>,
    response_body: Option<Value>,
}

/// A page of records, newest first.
#[derive(Serialize, ToSchema)]
pub(super) struct RecordPage {
    data: Vec<Record>,
    /// Pass as `cursor` for the next page (absent on the last).
    next_cursor: Option<String>,
}

/// A request's routing decision.
#[derive(Serialize, ToSchema)]
pub(super) struct Audit {
    request_id: String,
    created_at: String,
    status: u16,
    /// `model_requested`, `candidates`, `profile`, `compliance`, `eliminated` (each with its layer and reason), `steps` (every attempt and skip), `outcome`.
    decision: Option<Value>,
}

/// A page of routing decisions.
#[derive(Serialize, ToSchema)]
pub(super) struct AuditPage {
    data: Vec<Audit>,
    next_cursor: Option<String>,
}

/// `GET /v1/stats`.
#[derive(Serialize, ToSchema)]
pub(super) struct Stats {
    total_requests: u64,
    failed_requests: u64,
    total_input_tokens: u64,
    total_output_tokens: u64,
    total_tokens: u64,
    total_cost_usd: f64,
    avg_latency_ms: f64,
    /// Records the writer dropped because its queue was full.
    records_dropped: u64,
}

/// Spend of one group.
#[derive(Serialize, ToSchema)]
pub(super) struct SpendRow {
    /// The key, team, model or provider (the field is named after the grouping).
    key_id: Option<String>,
    team_id: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    name: Option<String>,
    spend_usd: f64,
    requests: u64,
}

/// `GET /admin/spend`.
#[derive(Serialize, ToSchema)]
pub(super) struct Spend {
    from: String,
    to: Option<String>,
    by_key: Vec<SpendRow>,
    by_team: Vec<SpendRow>,
    by_model: Vec<SpendRow>,
    by_provider: Vec<SpendRow>,
}

/// Traffic totals of a group.
#[derive(Serialize, ToSchema)]
pub(super) struct Totals {
    requests: u64,
    /// Answers with status 400 or more.
    errors: u64,
    input_tokens: u64,
    output_tokens: u64,
    cost_usd: f64,
    avg_latency_ms: f64,
    avg_ttft_ms: Option<f64>,
}

/// Totals of one group of a breakdown (or one time bucket).
#[derive(Serialize, ToSchema)]
pub(super) struct Group {
    #[serde(flatten)]
    totals: Totals,
    /// The bucket's start (series only).
    bucket: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    key_id: Option<String>,
    team_id: Option<String>,
    project: Option<String>,
    source: Option<String>,
}

/// `GET /v1/analytics`.
#[derive(Serialize, ToSchema)]
pub(super) struct Analytics {
    from: String,
    to: String,
    /// `minute`, `hour`, `day` or `week`.
    bucket: String,
    bucket_secs: u64,
    totals: Totals,
    /// Oldest first; empty buckets left out.
    series: Vec<Group>,
    by_model: Vec<Group>,
    by_provider: Vec<Group>,
    by_key: Vec<Group>,
    by_team: Vec<Group>,
    by_project: Vec<Group>,
    by_source: Vec<Group>,
}

/// What `DELETE /v1/analytics` removed.
#[derive(Serialize, ToSchema)]
pub(super) struct ClearedCounts {
    records: u64,
    quality_signals: u64,
}

/// `DELETE /v1/analytics`.
#[derive(Serialize, ToSchema)]
pub(super) struct Cleared {
    cleared: ClearedCounts,
    /// The cut-off given, if any.
    before: Option<String>,
    /// Always true: the cleared records' spend still counts.
    spend_kept: bool,
}

/// One budget of the calling key (its own, or its team's).
#[derive(Serialize, ToSchema)]
pub(super) struct BudgetUse {
    /// `key` or `team`.
    scope: String,
    id: String,
    max_budget_usd: f64,
    /// `daily`, `weekly`, `monthly` or `total`.
    budget_period: String,
    period_start: String,
    spent_usd: f64,
    remaining_usd: f64,
}

/// `GET /v1/usage`.
#[derive(Serialize, ToSchema)]
pub(super) struct Usage {
    key_id: String,
    name: Option<String>,
    team: Option<String>,
    expires_at: Option<String>,
    from: String,
    to: String,
    bucket: String,
    bucket_secs: u64,
    totals: Totals,
    series: Vec<Group>,
    by_model: Vec<Group>,
    budgets: Vec<BudgetUse>,
    /// The key's own limits (a key from the store; null for others).
    limits: Option<super::types::Limits>,
}

/// Failures of a group: those a caller saw, and those failover hid.
#[derive(Serialize, ToSchema)]
pub(super) struct Failures {
    requests: u64,
    customer_impacting: u64,
    mitigated_by_failover: u64,
    customer_impact_rate: f64,
    model: Option<String>,
    provider: Option<String>,
    source: Option<String>,
}

/// Requests that failed with one error code.
#[derive(Serialize, ToSchema)]
pub(super) struct ErrorCount {
    error: String,
    requests: u64,
}

/// `GET /v1/analytics/errors`.
#[derive(Serialize, ToSchema)]
pub(super) struct ErrorAnalytics {
    from: String,
    to: String,
    totals: Failures,
    by_error: Vec<ErrorCount>,
    by_model: Vec<Failures>,
    by_provider: Vec<Failures>,
    by_source: Vec<Failures>,
}

/// Requests to one model.
#[derive(Serialize, ToSchema)]
pub(super) struct ModelCount {
    model: String,
    requests: u64,
}

/// One requester (`x-source`) or project (`x-project`).
#[derive(Serialize, ToSchema)]
pub(super) struct Requester {
    #[serde(flatten)]
    totals: Totals,
    source: Option<String>,
    project: Option<String>,
    success_rate: f64,
    last_seen: Option<String>,
    models: Vec<ModelCount>,
}

/// `GET /v1/analytics/requesters`, `GET /v1/projects`.
#[derive(Serialize, ToSchema)]
pub(super) struct Requesters {
    data: Vec<Requester>,
}

/// `POST /v1/signals`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSignal {
    /// A catalog model id or `provider/model`.
    #[schema(min_length = 1)]
    model_card_id: String,
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
    task_type: String,
    /// `thumbs`, `score`, `flag`, … (your own names).
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
    signal_type: String,
    #[schema(minimum = -1e9, maximum = 1e9)]
    value: f64,
    /// The `x-request-id` it is about.
    #[schema(max_length = 128)]
    request_id: Option<String>,
}

/// A stored signal.
#[derive(Serialize, ToSchema)]
pub(super) struct Signal {
    id: String,
    created_at: String,
    model: String,
    task_type: String,
    signal_type: String,
    value: f64,
    request_id: Option<String>,
}

/// `POST /v1/signals`.
#[derive(Serialize, ToSchema)]
pub(super) struct SignalRecorded {
    id: String,
    recorded: bool,
}

/// `GET /v1/signals`: pending signals, each handed out once.
#[derive(Serialize, ToSchema)]
pub(super) struct SignalList {
    data: Vec<Signal>,
}

/// Aggregate of one model, task and signal type.
#[derive(Serialize, ToSchema)]
pub(super) struct Aggregate {
    model: String,
    task_type: String,
    signal_type: String,
    count: u64,
    mean: f64,
    min: f64,
    max: f64,
}

/// `GET /v1/quality`.
#[derive(Serialize, ToSchema)]
pub(super) struct Quality {
    from: String,
    to: String,
    data: Vec<Aggregate>,
}

/// A day of one signal type.
#[derive(Serialize, ToSchema)]
pub(super) struct DayMean {
    bucket: String,
    signal_type: String,
    count: u64,
    mean: f64,
}

/// `GET /v1/quality/{model}`.
#[derive(Serialize, ToSchema)]
pub(super) struct ModelQuality {
    model: String,
    series: Vec<DayMean>,
    aggregates: Vec<Aggregate>,
}

/// `POST /v1/alerts` (every field has a default).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertOptions {
    #[schema(exclusive_minimum = 0, maximum = 8760)]
    window_hours: Option<f64>,
    #[schema(exclusive_minimum = 0, maximum = 365)]
    baseline_days: Option<f64>,
    /// The relative drop that raises an alert.
    #[schema(minimum = 0, maximum = 1)]
    threshold: Option<f64>,
    #[schema(minimum = 1)]
    min_samples: Option<u64>,
}

/// A span of time.
#[derive(Serialize, ToSchema)]
pub(super) struct Span {
    from: String,
    to: String,
}

/// A degraded model.
#[derive(Serialize, ToSchema)]
pub(super) struct Alert {
    model: String,
    task_type: String,
    signal_type: String,
    recent_mean: f64,
    baseline_mean: f64,
    drop: f64,
    recent_samples: u64,
    baseline_samples: u64,
}

/// `POST /v1/alerts`.
#[derive(Serialize, ToSchema)]
pub(super) struct Alerts {
    window: Span,
    baseline: Span,
    alerts: Vec<Alert>,
}

/// A routing profile.
#[derive(Serialize, ToSchema)]
pub(super) struct Profile {
    name: String,
    quality_weight: f64,
    cost_weight: f64,
    max_ttft_ms: Option<u64>,
    quality_emphasis: String,
    requires: Vec<String>,
    prefers: Option<String>,
    best_for: String,
    default: bool,
}

/// `GET /v1/routing-profiles`.
#[derive(Serialize, ToSchema)]
pub(super) struct Profiles {
    object: String,
    data: Vec<Profile>,
}

/// `POST /v1/route`: a chat request, plus the routing headers' fields.
#[derive(Serialize, ToSchema)]
pub(super) struct RouteQuery {
    /// A name, alias, pool, `provider/model` or `auto` (the default).
    model: Option<String>,
    messages: Option<Vec<Value>>,
    /// One of `GET /v1/routing-profiles`.
    profile: Option<String>,
    /// `public`, `internal`, `cui`, `itar` or `classified`.
    classification: Option<String>,
    #[schema(minimum = 0)]
    max_cost_usd: Option<f64>,
    /// `tools`, `vision`, `json_mode`, `thinking`, `streaming`.
    capabilities: Option<Vec<String>>,
    tools: Option<Vec<Value>>,
    max_tokens: Option<u64>,
    stream: Option<bool>,
}

/// A model and its provider.
#[derive(Serialize, ToSchema)]
pub(super) struct Pick {
    model: String,
    provider: String,
}

/// A model a layer removed.
#[derive(Serialize, ToSchema)]
pub(super) struct Elimination {
    model: String,
    reason: String,
}

/// One layer of the pipeline.
#[derive(Serialize, ToSchema)]
pub(super) struct Layer {
    /// `classification`, `capability`, `quality`, `cost` or `latency`.
    layer: String,
    eliminated: Vec<Elimination>,
    remaining: Vec<String>,
    /// The quality and cost layers' scores.
    scores: Option<Vec<Value>>,
}

/// Why routing would refuse the request.
#[derive(Serialize, ToSchema)]
pub(super) struct Refusal {
    status: u16,
    code: String,
    message: String,
    context_window_limit: Option<u64>,
}

/// `POST /v1/route`: what a real request would try, layer by layer.
#[derive(Serialize, ToSchema)]
pub(super) struct RouteAnswer {
    model_requested: String,
    profile: Option<String>,
    ranked: bool,
    classification: Option<String>,
    estimated_prompt_tokens: Option<u64>,
    max_cost_usd: Option<f64>,
    /// The order a real request would try.
    chain: Vec<Pick>,
    layers: Vec<Layer>,
    skipped: Vec<Elimination>,
    headers: std::collections::BTreeMap<String, String>,
    /// `auto` with buckets: `{bucket, score}`.
    bucket: Option<Value>,
    refusal: Option<Refusal>,
}

/// `POST /v1/messages/count_tokens`.
#[derive(Serialize, ToSchema)]
pub(super) struct CountTokens {
    #[schema(min_length = 1)]
    model: String,
    messages: Vec<Value>,
    system: Option<Value>,
    tools: Option<Vec<Value>>,
}

/// `POST /v1/messages/count_tokens`.
#[derive(Serialize, ToSchema)]
pub(super) struct TokenCount {
    input_tokens: u64,
}

/// A provider's catalog sync.
#[derive(Serialize, ToSchema)]
pub(super) struct Synced {
    provider: String,
    discovered: u64,
    added: u64,
    retired: u64,
    unchanged: u64,
    error: Option<String>,
    skipped: Option<bool>,
}

/// `POST /v1/catalog/sync`.
#[derive(Serialize, ToSchema)]
pub(super) struct SyncReport {
    object: String,
    data: Vec<Synced>,
}

/// `GET /v1/catalog/sync-status`.
#[derive(Serialize, ToSchema)]
pub(super) struct SyncStatus {
    last_synced: Option<String>,
    model_count: u64,
    enabled_providers: Vec<String>,
    sync_interval_secs: Option<u64>,
}

/// `POST /v1/catalog/{model}/scores`: scores to set (0..1), or `{"rollback": true}`.
#[derive(Serialize, ToSchema)]
pub(super) struct ScoreChange {
    #[schema(minimum = 0, maximum = 1)]
    coding_score: Option<f64>,
    #[schema(minimum = 0, maximum = 1)]
    reasoning_score: Option<f64>,
    #[schema(minimum = 0, maximum = 1)]
    instruction_following: Option<f64>,
    arena_elo: Option<f64>,
    rollback: Option<bool>,
}

/// A change of scores.
#[derive(Serialize, ToSchema)]
pub(super) struct ScoreHistory {
    /// Unix milliseconds.
    at: u64,
    previous: QualityScores,
    updated: QualityScores,
}

/// `POST /v1/catalog/{model}/scores`.
#[derive(Serialize, ToSchema)]
pub(super) struct Scores {
    model: String,
    previous: QualityScores,
    updated: QualityScores,
    history: Vec<ScoreHistory>,
}
