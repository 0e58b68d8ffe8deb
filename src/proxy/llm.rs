//! LLM endpoints: inbound checks and decoding, routing to candidates, and the attempt loop
//! (ARCHITECTURE.md decision 1) that sends each attempt through the gateway's own upstream
//! client under the total deadline and the TTFT limit, watching for the client leaving.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pingora::proxy::Session;
use pingora::{Error, ErrorType};
use tokio::time::Instant;

use super::App;
use super::ctx::RequestCtx;
use super::respond;
use super::stream::{self, Failure, client_gone};
use crate::config::ApiFormat;
use crate::errors::{ErrorFormat, ErrorKind, GatewayError};
use crate::inbound::auth;
use crate::inbound::body::{self, BodyError};
use crate::inbound::request::{JsonKind, RawRequest, RequestSummary};
use crate::providers::Operation;
use crate::routing::{self, Candidate};
use crate::state::Snapshot;
use crate::upstream::UpstreamRequest;

const USER_AGENT: &str = concat!("llm-gateway/", env!("CARGO_PKG_VERSION"));

/// The LLM operation served at `path`, if any.
pub fn operation_for(path: &str) -> Option<Operation> {
    match path {
        "/v1/chat/completions" | "/chat/completions" => Some(Operation::ChatCompletions),
        "/v1/completions" | "/completions" => Some(Operation::Completions),
        "/v1/embeddings" | "/embeddings" => Some(Operation::Embeddings),
        _ => None,
    }
}

/// Serves one LLM call; always answers from here (`Ok(true)`), or reports the client gone.
pub async fn handle(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    op: Operation,
) -> pingora::Result<bool> {
    ctx.endpoint = op.label();
    if session.req_header().method.as_str() != "POST" {
        let e = GatewayError::new(
            ErrorKind::MethodNotAllowed,
            "This endpoint only answers POST.",
        );
        ctx.error = Some(e.kind.code());
        let body = Bytes::from(e.render(ErrorFormat::OpenAi));
        respond::send(
            session,
            ctx,
            405,
            "application/json",
            body,
            &[("allow", "POST".into())],
        )
        .await?;
        return Ok(true);
    }
    let snap = app.snapshot.load_full();
    match run(app, &snap, session, ctx, op).await {
        Ok(()) => Ok(true),
        Err(Failure::Respond(e)) => {
            respond::error(session, ctx, &e, ErrorFormat::OpenAi).await?;
            Ok(true)
        }
        Err(Failure::ClientGone) => {
            ctx.status = 499;
            ctx.error = Some(ErrorKind::ClientClosed.code());
            Err(
                Error::explain(ErrorType::ConnectionClosed, "client closed the connection")
                    .into_down(),
            )
        }
    }
}

async fn run(
    app: &App,
    snap: &Snapshot,
    session: &mut Session,
    ctx: &mut RequestCtx,
    op: Operation,
) -> Result<(), Failure> {
    let tenant = auth::authenticate(snap, session.req_header())?;
    ctx.tenant = tenant.as_ref().map(|t| t.id.clone());
    body::check_json_content_type(session)?;
    let deadline = deadline_of(session, snap)?;
    let body = body::read_body(session, snap.max_body_bytes)
        .await
        .map_err(|e| match e {
            BodyError::Reject(e) => Failure::Respond(e),
            BodyError::ClientGone => Failure::ClientGone,
        })?;
    let raw = RawRequest::parse(&body)?;
    let summary = raw.summary()?;
    match op {
        Operation::ChatCompletions => raw.require("messages", JsonKind::Array)?,
        Operation::Completions => raw.require("prompt", JsonKind::StringOrArray)?,
        Operation::Embeddings => {
            raw.require("input", JsonKind::StringOrArray)?;
            if summary.stream {
                return Err(GatewayError::new(
                    ErrorKind::BadRequest,
                    "embeddings cannot be streamed",
                )
                .with_param("stream")
                .into());
            }
        }
    }
    ctx.requested_model = Some(summary.model.clone());
    ctx.stream = summary.stream;
    let candidates = routing::resolve(snap, &summary.model)?;
    let failover = !session
        .req_header()
        .headers
        .get("x-gateway-failover")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"disabled"));
    let tried = if failover { candidates.len() } else { 1 };
    let inject_usage = summary.stream && !summary.include_usage;
    let mut last_error = None;
    for (i, cand) in candidates.iter().take(tried).enumerate() {
        let is_last = i + 1 == tried;
        ctx.provider = Some(Arc::from(cand.provider.id.as_str()));
        ctx.model = Some(Arc::from(cand.model.as_str()));
        if cand.provider.format != ApiFormat::Openai {
            last_error = Some(GatewayError::new(
                ErrorKind::BadGateway,
                format!(
                    "provider `{}` speaks the {:?} wire format, which this build cannot translate to yet; pin an OpenAI-format provider with `provider/model`",
                    cand.provider.id, cand.provider.format
                ),
            ));
            continue;
        }
        let key = snap.upstream_key(&cand.provider, tenant.as_deref());
        if cand.provider.needs_key() && key.is_none() {
            last_error = Some(GatewayError::new(
                ErrorKind::Unavailable,
                format!(
                    "provider `{}` has no API key: set `api_key` in its [[providers]] entry or map one to your key in [key_map]",
                    cand.provider.id
                ),
            ));
            continue;
        }
        let mut headers = vec![
            ("content-type", "application/json".to_string()),
            (
                "accept",
                if summary.stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }
                .to_string(),
            ),
            ("user-agent", USER_AGENT.to_string()),
            ("x-request-id", ctx.request_id.clone()),
        ];
        if let Some(key) = key {
            let (name, value) = cand.provider.auth_header(key);
            headers.push((name, value));
        }
        let req = UpstreamRequest {
            path: cand.provider.openai_path(op, &cand.model),
            headers,
            body: upstream_body(&body, &raw, &summary, cand, inject_usage),
        };
        ctx.attempts += 1;
        let ttft_limit = cand
            .provider
            .ttft_ms
            .or(snap.timeouts.ttft_ms)
            .map(Duration::from_millis);
        let header_deadline = ttft_limit.map_or(deadline, |t| deadline.min(Instant::now() + t));
        let connect = Duration::from_millis(snap.timeouts.connect_ms);
        let label = ctx.provider.clone().unwrap_or_else(|| Arc::from(""));
        let sent = tokio::select! {
            r = tokio::time::timeout_at(header_deadline, app.client.send(&cand.provider.endpoint, &req, connect)) => r,
            () = client_gone(session) => return Err(Failure::ClientGone),
        };
        let resp = match sent {
            Err(_) if Instant::now() >= deadline => {
                app.metrics.attempt(&label, "timeout");
                return Err(timeout_error(deadline_secs(session, snap)).into());
            }
            Err(_) => {
                app.metrics.attempt(&label, "ttft_timeout");
                last_error = Some(GatewayError::new(
                    ErrorKind::Timeout,
                    format!(
                        "provider `{}` sent no response within its time-to-first-token limit",
                        cand.provider.id
                    ),
                ));
                continue;
            }
            Ok(Err(e)) => {
                app.metrics.attempt(&label, "connect_error");
                last_error = Some(GatewayError::new(
                    ErrorKind::BadGateway,
                    format!("provider `{}`: {e}", cand.provider.id),
                ));
                continue;
            }
            Ok(Ok(resp)) => resp,
        };
        let failed = resp.status >= 500 || resp.status == 429;
        app.metrics
            .attempt(&label, if failed { "http_error" } else { "ok" });
        if failed && !is_last {
            last_error = Some(GatewayError::new(
                ErrorKind::BadGateway,
                format!("provider `{}` answered {}", cand.provider.id, resp.status),
            ));
            continue;
        }
        ctx.ttft = Some(ctx.started.elapsed());
        let idle = Duration::from_millis(snap.timeouts.stream_idle_ms);
        return stream::forward(app, session, ctx, resp, cand, inject_usage, deadline, idle).await;
    }
    Err(last_error
        .unwrap_or_else(|| {
            GatewayError::new(ErrorKind::Unavailable, "no provider could take the request")
        })
        .into())
}

/// The body sent upstream: the client's bytes when nothing must change, else the same object
/// with `model` (and, for streams, `stream_options.include_usage`) replaced.
fn upstream_body(
    body: &Bytes,
    raw: &RawRequest<'_>,
    summary: &RequestSummary,
    cand: &Candidate,
    inject_usage: bool,
) -> Bytes {
    let model_json = (cand.model != summary.model)
        .then(|| serde_json::Value::from(cand.model.as_str()).to_string());
    let options_json = inject_usage.then(|| {
        let mut options = raw
            .get("stream_options")
            .and_then(|r| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(r.get()).ok()
            })
            .unwrap_or_default();
        options.insert("include_usage".into(), serde_json::Value::Bool(true));
        serde_json::Value::Object(options).to_string()
    });
    if model_json.is_none() && options_json.is_none() {
        return body.clone();
    }
    let mut replace = Vec::with_capacity(2);
    if let Some(m) = &model_json {
        replace.push(("model", Some(m.as_str())));
    }
    if let Some(o) = &options_json {
        replace.push(("stream_options", Some(o.as_str())));
    }
    Bytes::from(raw.encode_with(&replace))
}

/// The `x-gateway-timeout` header in seconds, if valid.
fn header_timeout(session: &Session) -> Result<Option<f64>, GatewayError> {
    let Some(v) = session.req_header().headers.get("x-gateway-timeout") else {
        return Ok(None);
    };
    let secs = v
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0);
    match secs {
        Some(s) => Ok(Some(s.min(86_400.0))),
        None => Err(GatewayError::new(
            ErrorKind::BadRequest,
            "x-gateway-timeout must be a positive number of seconds",
        )),
    }
}

fn deadline_secs(session: &Session, snap: &Snapshot) -> f64 {
    header_timeout(session)
        .ok()
        .flatten()
        .unwrap_or(snap.timeouts.default_total_ms as f64 / 1000.0)
}

fn deadline_of(session: &Session, snap: &Snapshot) -> Result<Instant, GatewayError> {
    let secs = header_timeout(session)?.unwrap_or(snap.timeouts.default_total_ms as f64 / 1000.0);
    Ok(Instant::now() + Duration::from_secs_f64(secs))
}

pub(super) fn timeout_error(secs: f64) -> GatewayError {
    GatewayError::new(
        ErrorKind::Timeout,
        format!(
            "the provider did not answer within {secs}s (x-gateway-timeout header or resilience.timeout.default_total_ms)"
        ),
    )
}
