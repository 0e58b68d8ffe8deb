//! The stored record of an LLM request (O4, L4), built from its context once it ends: who
//! asked (key, team), what for, who served it, tokens, cost, timings, attempts, and the
//! routing audit trail (O3); the request body when bodies are kept; the requester and project
//! the client named (`x-source`, `x-project`) for the analytics.

use crate::ctx::RequestCtx;
use crate::storage::records::Record;

/// Longest `x-source` or `x-project` kept (a longer one is cut at a character boundary).
const MAX_LABEL: usize = 128;

/// An `x-source` or `x-project` value as recorded: printable text, trimmed, at most
/// [`MAX_LABEL`] bytes; none when empty or not text.
pub fn label(value: Option<&http::HeaderValue>) -> Option<String> {
    let v = value?.to_str().ok()?.trim();
    if v.is_empty() || v.chars().any(char::is_control) {
        return None;
    }
    let mut end = v.len().min(MAX_LABEL);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    Some(v[..end].to_string())
}

/// The record of the request in `ctx` (whose head carried `headers`), created at `now_ms`.
pub fn of(ctx: &mut RequestCtx, now_ms: i64, headers: &http::HeaderMap) -> Record {
    // The request's last use of its id.
    let id = std::mem::take(&mut ctx.id);
    let trace = &ctx.trace;
    let usage = trace.usage.unwrap_or_default();
    let policy = ctx.caller.as_ref().and_then(|t| t.policy.as_ref());
    let elapsed = ctx.started.elapsed();
    let (source, project) = labels(headers);
    Record {
        id,
        created_at: now_ms - elapsed.as_millis() as i64,
        key_id: ctx.caller.as_ref().map(|t| t.id.clone()),
        team_id: policy.and_then(|p| p.team.clone()),
        endpoint: ctx.endpoint.to_owned(),
        model_requested: ctx.requested_model().map(str::to_string),
        provider: trace.provider.as_deref().map(str::to_string),
        model: trace.model.as_deref().map(str::to_string),
        status: i64::from(trace.status),
        error: trace.error.map(str::to_string),
        input_tokens: usage.input_tokens as i64,
        output_tokens: usage.output_tokens as i64,
        cached_tokens: usage.cached_input_tokens as i64,
        cost_usd: trace.cost_usd,
        cost_unknown: trace.cost_unknown,
        latency_ms: elapsed.as_millis() as i64,
        ttft_ms: trace.ttft.map(|t| t.as_millis() as i64),
        attempts: i64::from(trace.attempts),
        failovers: i64::from(trace.failovers),
        cache_status: trace.cache.map(str::to_string),
        stream: ctx.stream(),
        request_body: ctx.call.as_ref().map(|c| text(c.raw.body())),
        response_body: ctx.response_body.as_deref().map(text),
        // The usual request, served by its first candidate at the first try, has no trail
        // beyond its record (the API derives it): only the others carry one.
        audit: (!plain(ctx)).then(|| audit(ctx)),
        source: label(source),
        project: label(project),
    }
}

/// The first `x-source` and `x-project` values of `headers`, found in one pass (cheaper than
/// two lookups, each hashing its name).
fn labels(headers: &http::HeaderMap) -> (Option<&http::HeaderValue>, Option<&http::HeaderValue>) {
    let (mut source, mut project) = (None, None);
    for (name, value) in headers {
        match name.as_str() {
            "x-source" => {
                source.get_or_insert(value);
            }
            "x-project" => {
                project.get_or_insert(value);
            }
            _ => {}
        }
    }
    (source, project)
}

/// A body as text: checked at full speed, replaced character by character only when it is not
/// UTF-8.
fn text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

/// Whether the request was served by its first candidate on the first attempt (or from the
/// response cache), nothing skipped or refused: its record says all its trail would.
fn plain(ctx: &RequestCtx) -> bool {
    let t = &ctx.trace;
    let first = ctx.plan.candidates.first();
    // A cache hit: no attempt, its record says where the answer came from.
    let hit = t.steps.is_empty() && matches!(t.cache, Some("hit" | "semantic-hit"));
    if hit {
        return t.served && t.compliance.is_empty() && !ctx.plan.route.eliminated_any();
    }
    t.served
        && t.steps.len() == 1
        && t.steps[0].action == "attempt"
        && t.failovers == 0
        && t.continuations == 0
        && !ctx.plan.route.eliminated_any()
        && t.compliance.is_empty()
        && first.is_some_and(|c| t.provider.as_deref() == Some(c.provider.id.as_str()))
}

/// The routing decision and what each attempt did (serialized straight from the context).
#[derive(serde::Serialize)]
struct Audit<'a> {
    model_requested: Option<&'a str>,
    candidates: Vec<Pinned<'a>>,
    /// The routing profile, and every model the pipeline eliminated or skipped, with why.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'static str>,
    /// What the compliance filters found: detector, byte offset, action, direction (never
    /// the text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    compliance: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eliminated: Option<crate::routing::pipeline::explain::Trail<'a>>,
    steps: Vec<StepView<'a>>,
    outcome: Outcome<'a>,
}

/// A compliance finding as the trail shows it.
#[derive(serde::Serialize)]
struct Finding {
    detector: &'static str,
    at: usize,
    action: crate::config::ComplianceAction,
    direction: crate::compliance::policy::Direction,
}

/// One step as the trail shows it.
#[derive(serde::Serialize)]
struct StepView<'a> {
    candidate: Option<Pinned<'a>>,
    action: &'static str,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_delay_ms: Option<u64>,
}

/// `provider/model`, written without building the string first.
struct Pinned<'a>(&'a str, &'a str);

impl serde::Serialize for Pinned<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}/{}", self.0, self.1))
    }
}

#[derive(serde::Serialize)]
struct Outcome<'a> {
    status: u16,
    provider: Option<&'a str>,
    model: Option<&'a str>,
    error: Option<&'a str>,
    attempts: u32,
    failovers: u32,
}

/// The audit trail of the request in `ctx`, as JSON.
pub fn audit(ctx: &RequestCtx) -> String {
    let trace = &ctx.trace;
    let audit = Audit {
        model_requested: ctx.requested_model(),
        candidates: ctx
            .plan
            .candidates
            .iter()
            .map(|c| Pinned(&c.provider.id, &c.model))
            .collect(),
        profile: ctx.plan.route.profile.map(|p| p.name()),
        compliance: trace
            .compliance
            .iter()
            .map(|n| Finding {
                detector: n.detector,
                at: n.at,
                action: n.action,
                direction: n.direction,
            })
            .collect(),
        eliminated: ctx.plan.route.input.as_deref().map(|cands| {
            crate::routing::pipeline::explain::Trail {
                cands,
                out: &ctx.plan.route.outcome.out,
            }
        }),
        steps: trace
            .steps
            .iter()
            .map(|step| {
                let c = ctx.plan.candidates.get(step.candidate);
                StepView {
                    candidate: c.map(|c| Pinned(&c.provider.id, &c.model)),
                    action: step.action,
                    outcome: &step.outcome,
                    status: step.status,
                    latency_ms: step.latency_ms,
                    retry_delay_ms: step.retry_delay_ms,
                }
            })
            .collect(),
        outcome: Outcome {
            status: trace.status,
            provider: trace.provider.as_deref(),
            model: trace.model.as_deref(),
            error: trace.error,
            attempts: trace.attempts,
            failovers: trace.failovers,
        },
    };
    serde_json::to_string(&audit).unwrap_or_default()
}
