//! The stored record of an LLM request (O4, L4), built from its context once it ends: who
//! asked (key, team), what for, who served it, tokens, cost, timings, attempts, and the
//! routing audit trail (O3); the request body when bodies are kept.

use crate::ctx::RequestCtx;
use crate::storage::records::Record;

/// The record of the request in `ctx`, created at `now_ms`.
pub fn of(ctx: &RequestCtx, now_ms: i64) -> Record {
    let trace = &ctx.trace;
    let usage = trace.usage.unwrap_or_default();
    let policy = ctx.caller.as_ref().and_then(|t| t.policy.as_ref());
    let elapsed = ctx.started.elapsed();
    Record {
        id: ctx.id.clone(),
        created_at: now_ms - elapsed.as_millis() as i64,
        key_id: ctx.caller.as_ref().map(|t| t.id.clone()),
        team_id: policy.and_then(|p| p.team.clone()),
        endpoint: ctx.endpoint.to_string(),
        model_requested: ctx.requested_model().map(str::to_string),
        provider: trace.provider.as_deref().map(str::to_string),
        model: trace.model.as_deref().map(str::to_string),
        status: i64::from(trace.status),
        error: trace.error.map(str::to_string),
        input_tokens: usage.input_tokens as i64,
        output_tokens: usage.output_tokens as i64,
        cached_tokens: usage.cached_input_tokens as i64,
        cost_usd: trace.cost_usd,
        latency_ms: elapsed.as_millis() as i64,
        ttft_ms: trace.ttft.map(|t| t.as_millis() as i64),
        attempts: i64::from(trace.attempts),
        failovers: i64::from(trace.failovers),
        cache_status: None,
        stream: ctx.stream(),
        request_body: ctx
            .call
            .as_ref()
            .map(|c| String::from_utf8_lossy(c.raw.body()).into_owned()),
        response_body: ctx
            .response_body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        audit: Some(audit(ctx).to_string()),
    }
}

/// The routing decision and what each attempt did.
pub fn audit(ctx: &RequestCtx) -> serde_json::Value {
    let candidates: Vec<String> = ctx
        .plan
        .candidates
        .iter()
        .map(|c| format!("{}/{}", c.provider.id, c.model))
        .collect();
    serde_json::json!({
        "model_requested": ctx.requested_model(),
        "candidates": candidates,
        "refused": ctx.plan.refusals,
        "steps": ctx.trace.steps,
        "outcome": {
            "status": ctx.trace.status,
            "provider": ctx.trace.provider.as_deref(),
            "model": ctx.trace.model.as_deref(),
            "error": ctx.trace.error,
            "attempts": ctx.trace.attempts,
            "failovers": ctx.trace.failovers,
        },
    })
}
