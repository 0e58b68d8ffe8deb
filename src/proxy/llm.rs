//! LLM endpoints: inbound checks and decoding, routing to candidates, the capability gate,
//! and the attempt loop (ARCHITECTURE.md decision 1) that sends each attempt through the
//! gateway's own upstream client under the total deadline and the TTFT limit, watching for
//! the client leaving.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pingora::proxy::Session;
use pingora::{Error, ErrorType};
use tokio::time::Instant;

use super::App;
use super::attempt::{self, Call, Needs};
use super::ctx::RequestCtx;
use super::forward::{self, Failure, client_gone};
use super::respond;
use crate::config::ApiFormat;
use crate::errors::{ErrorFormat, ErrorKind, GatewayError};
use crate::inbound::auth;
use crate::inbound::body::{self, BodyError};
use crate::inbound::request::{JsonKind, RawRequest};
use crate::providers::Operation;
use crate::routing;
use crate::state::Snapshot;
use crate::translate::Codec;

/// An LLM endpoint: the operation and the wire format the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub op: Operation,
    pub format: ApiFormat,
    pub label: &'static str,
}

/// The LLM endpoint served at `path`, if any.
pub fn endpoint_for(path: &str) -> Option<Endpoint> {
    let (op, format, label) = match path {
        "/v1/chat/completions" | "/chat/completions" => (
            Operation::ChatCompletions,
            ApiFormat::Openai,
            "chat_completions",
        ),
        "/v1/messages" | "/messages" => {
            (Operation::ChatCompletions, ApiFormat::Anthropic, "messages")
        }
        "/v1/completions" | "/completions" => {
            (Operation::Completions, ApiFormat::Openai, "completions")
        }
        "/v1/embeddings" | "/embeddings" => {
            (Operation::Embeddings, ApiFormat::Openai, "embeddings")
        }
        _ => return None,
    };
    Some(Endpoint { op, format, label })
}

fn error_format(format: ApiFormat) -> ErrorFormat {
    match format {
        ApiFormat::Anthropic => ErrorFormat::Anthropic,
        ApiFormat::Openai | ApiFormat::Gemini => ErrorFormat::OpenAi,
    }
}

/// Serves one LLM call; always answers from here (`Ok(true)`), or reports the client gone.
pub async fn handle(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    ep: Endpoint,
) -> pingora::Result<bool> {
    ctx.endpoint = ep.label;
    let format = error_format(ep.format);
    if session.req_header().method.as_str() != "POST" {
        let e = GatewayError::new(
            ErrorKind::MethodNotAllowed,
            "This endpoint only answers POST.",
        );
        ctx.error = Some(e.kind.code());
        let body = Bytes::from(e.render(format));
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
    match run(app, &snap, session, ctx, ep).await {
        Ok(()) => Ok(true),
        Err(Failure::Respond(e)) => {
            respond::error(session, ctx, &e, format).await?;
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
    ep: Endpoint,
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
    match ep.op {
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
    let needs = Needs::of_raw(ep.format, &raw);
    let mut call = Call {
        inbound: ep.format,
        op: ep.op,
        body: &body,
        raw,
        summary,
        ir: None,
    };
    // Decoded into the IR at the first candidate that speaks another format, so a request the
    // IR cannot hold still reaches same-format providers.
    let mut decode_error: Option<GatewayError> = None;

    let failover = !session
        .req_header()
        .headers
        .get("x-gateway-failover")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"disabled"));
    let tried = if failover { candidates.len() } else { 1 };
    let mut last_error = None;
    let mut refusals = Vec::new();
    for (i, cand) in candidates.iter().take(tried).enumerate() {
        let is_last = i + 1 == tried;
        if let Some(why) = needs.problem(cand) {
            refusals.push(why);
            continue;
        }
        ctx.provider = Some(Arc::from(cand.provider.id.as_str()));
        ctx.model = Some(Arc::from(cand.model.as_str()));
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
        if ep.op == Operation::ChatCompletions
            && cand.provider.format != ep.format
            && call.ir.is_none()
        {
            if let Some(e) = &decode_error {
                last_error = Some(e.clone());
                continue;
            }
            match Codec(ep.format).decode_request(&body) {
                Ok(ir) => call.ir = Some(ir),
                Err(e) => {
                    decode_error = Some(e.clone());
                    last_error = Some(e);
                    continue;
                }
            }
        }
        let (req, mode) = match attempt::prepare(&call, cand, key, &ctx.request_id) {
            Ok(prepared) => prepared,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
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
        return forward::forward(app, session, ctx, resp, cand, &call, mode, deadline, idle).await;
    }
    if last_error.is_none() && !refusals.is_empty() {
        return Err(GatewayError::new(
            ErrorKind::BadRequest,
            format!(
                "no candidate can serve this request without dropping part of it: {}",
                refusals.join("; ")
            ),
        )
        .with_param("model")
        .into());
    }
    Err(last_error
        .unwrap_or_else(|| {
            GatewayError::new(ErrorKind::Unavailable, "no provider could take the request")
        })
        .into())
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

fn timeout_error(secs: f64) -> GatewayError {
    GatewayError::new(
        ErrorKind::Timeout,
        format!(
            "the provider did not answer within {secs}s (x-gateway-timeout header or resilience.timeout.default_total_ms)"
        ),
    )
}
