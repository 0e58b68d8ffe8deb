//! LLM endpoints: inbound checks and decoding, routing to candidates, the capability gate,
//! and the attempt loop (ARCHITECTURE.md decision 1) that sends each attempt through the
//! gateway's own upstream client under the total deadline and the TTFT limit, watching for
//! the client leaving.

use std::time::Duration;

use bytes::Bytes;
use pingora::proxy::Session;
use pingora::{Error, ErrorType};
use tokio::time::Instant;

use super::App;
use super::attempt::{Call, Needs};
use super::chain;
use super::ctx::RequestCtx;
use super::forward::Failure;
use super::respond;
use crate::config::ApiFormat;
use crate::errors::{ErrorFormat, ErrorKind, GatewayError};
use crate::inbound::auth;
use crate::inbound::body::{self, BodyError};
use crate::inbound::request::{JsonKind, RawRequest};
use crate::providers::Operation;
use crate::routing::{self, Profile};
use crate::state::Snapshot;

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
        Err(Failure::CircuitOpen { retry_after_secs }) => {
            let e = GatewayError::new(
                ErrorKind::Unavailable,
                format!("every provider for this model has an open circuit (recent failures); retry in {retry_after_secs}s"),
            )
            .with_retry_after(retry_after_secs);
            ctx.error = Some("circuit_open");
            let body = Bytes::from(e.render(format));
            let extra = [
                ("x-gateway-circuit", "open".to_string()),
                ("retry-after", retry_after_secs.to_string()),
            ];
            respond::send(session, ctx, 503, "application/json", body, &extra).await?;
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
    let candidates = routing::resolve_ordered(snap, &summary.model, &app.pools)?;
    let needs = Needs::of_raw(ep.format, &raw);
    let mut call = Call {
        inbound: ep.format,
        op: ep.op,
        body: &body,
        raw,
        summary,
        ir: None,
    };
    let headers = &session.req_header().headers;
    let failover = !headers
        .get("x-gateway-failover")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"disabled"));
    let profile = match headers.get("x-routing-profile") {
        None => None,
        Some(v) => Some(v.to_str().ok().and_then(Profile::parse).ok_or_else(|| {
            GatewayError::new(
                ErrorKind::BadRequest,
                format!(
                    "unknown x-routing-profile; use one of: {}",
                    Profile::NAMES.join(", ")
                ),
            )
        })?),
    };
    let hedge = &snap.config.resilience.hedge;
    let settings = chain::Settings {
        failover,
        deadline,
        profile_ttft: profile.and_then(Profile::ttft_limit),
        hedge_after: (hedge.enabled && failover && profile == Some(Profile::Realtime))
            .then(|| Duration::from_millis(hedge.hedge_delay_ms)),
        idle: Duration::from_millis(snap.timeouts.stream_idle_ms),
        connect: Duration::from_millis(snap.timeouts.connect_ms),
    };
    chain::walk(
        app,
        snap,
        session,
        ctx,
        &mut call,
        &candidates,
        tenant.as_deref(),
        needs,
        settings,
    )
    .await
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

fn deadline_of(session: &Session, snap: &Snapshot) -> Result<Instant, GatewayError> {
    let secs = header_timeout(session)?.unwrap_or(snap.timeouts.default_total_ms as f64 / 1000.0);
    Ok(Instant::now() + Duration::from_secs_f64(secs))
}
