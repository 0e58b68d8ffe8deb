//! Observability: Prometheus [`metrics`], the JSON [`access_log`], and what a request
//! [`cost`]. [`finish`] builds both records of a request from its context, once, at the end.
//!
//! May depend on `ctx` and the IR's usage type; never on the stages' code paths or pingora.

pub mod access_log;
pub mod cost;
pub mod metrics;
pub mod process;
pub mod record;
pub mod redact;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::ctx::RequestCtx;
use access_log::{AccessLog, AccessRecord};
use metrics::{Metrics, RequestRecord};

/// Milliseconds with microsecond precision, for the access log.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// An empty label for requests that reached no provider.
fn empty_label() -> Arc<str> {
    static EMPTY: OnceLock<Arc<str>> = OnceLock::new();
    EMPTY.get_or_init(|| Arc::from("")).clone()
}

/// Records a finished request: its metrics and its access line.
pub fn finish(
    metrics: &Metrics,
    access_log: &AccessLog,
    ctx: &RequestCtx,
    method: &str,
    path: &str,
) {
    let trace = &ctx.trace;
    let empty = empty_label();
    let provider = trace.provider.clone().unwrap_or_else(|| empty.clone());
    let model = trace.model_label.clone().unwrap_or(empty);
    let usage = trace.usage.unwrap_or_default();
    let elapsed = ctx.started.elapsed();
    // (A cached answer was served by no candidate: not a fallback.)
    if trace.served && !matches!(trace.cache, Some("hit" | "semantic-hit")) {
        // Served by a fallback: attributed to the model asked for and to the one that served.
        let first = ctx.plan.candidates.first();
        let fallback =
            first.is_some_and(|c| c.provider.id.as_str() != &*provider || c.label() != &*model);
        if let (true, Some(requested)) = (fallback, ctx.requested_model()) {
            metrics.fallback(requested, &provider, &model);
        }
    }
    metrics.record(&RequestRecord {
        endpoint: ctx.endpoint,
        provider: &provider,
        model: &model,
        status: trace.status,
        duration: elapsed,
        ttft: trace.ttft,
        prompt_tokens: usage.input_tokens,
        completion_tokens: usage.output_tokens,
        cost_usd: trace.cost_usd,
    });
    access_log.write(&AccessRecord {
        request_id: &ctx.id,
        method,
        path,
        endpoint: ctx.endpoint,
        status: trace.status,
        latency_ms: millis(elapsed),
        ttft_ms: trace.ttft.map(millis),
        model: ctx.requested_model(),
        provider: trace.provider.as_deref(),
        upstream_model: trace.model.as_deref(),
        tenant: ctx.caller.as_ref().map(|t| t.id.as_str()),
        stream: ctx.stream(),
        attempts: trace.attempts,
        prompt_tokens: usage.input_tokens,
        completion_tokens: usage.output_tokens,
        usage_estimated: trace.usage_estimated,
        cost_usd: trace.cost_usd,
        continuations: trace.continuations,
        error: trace.error,
    });
}
