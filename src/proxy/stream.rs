//! Forwarding an upstream response to the client: whole JSON bodies (usage and cost read
//! before the header goes out, so `X-Gateway-Cost-Usd` can be set), and SSE streams forwarded
//! event by event as they arrive, byte-exact, with usage observed on the way.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use tokio::time::Instant;

use super::App;
use super::ctx::RequestCtx;
use super::respond;
use crate::errors::{ErrorKind, GatewayError};
use crate::routing::Candidate;
use crate::upstream::UpstreamResponse;
use crate::usage::{OpenAiStreamObserver, Usage, cost_usd, usage_of_json};

/// Largest non-streamed upstream body accepted (large embedding batches fit).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// How an LLM call ended when it did not end normally.
#[derive(Debug)]
pub enum Failure {
    /// Answer the client with this error (nothing was written yet).
    Respond(GatewayError),
    /// The client went away; the upstream is dropped (its connection closed).
    ClientGone,
}

impl From<GatewayError> for Failure {
    fn from(e: GatewayError) -> Self {
        Failure::Respond(e)
    }
}

/// Resolves when the client closes its connection; never otherwise.
pub async fn client_gone(session: &mut Session) {
    loop {
        match session.as_downstream_mut().read_body_or_idle(true).await {
            Err(_) => return,
            Ok(_) => std::future::pending::<()>().await,
        }
    }
}

fn record_usage(ctx: &mut RequestCtx, cand: &Candidate, usage: Option<Usage>) {
    ctx.usage = usage;
    if let (Some(u), Some(card)) = (usage, &cand.card) {
        ctx.cost_usd = cost_usd(&u, card.input_price_per_mtok, card.output_price_per_mtok);
    }
}

fn gateway_headers(ctx: &RequestCtx, cand: &Candidate) -> Vec<(&'static str, String)> {
    vec![
        ("x-gateway-provider", cand.provider.id.clone()),
        ("x-gateway-model", cand.model.clone()),
        (
            "x-gateway-retries",
            ctx.attempts.saturating_sub(1).to_string(),
        ),
    ]
}

/// Sends the upstream response to the client.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the pieces are unrelated"
)]
pub async fn forward(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    resp: UpstreamResponse,
    cand: &Candidate,
    inject_usage: bool,
    deadline: Instant,
    idle: Duration,
) -> Result<(), Failure> {
    let is_sse = resp
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if ctx.stream && is_sse && (200..300).contains(&resp.status) {
        forward_sse(app, session, ctx, resp, cand, inject_usage, deadline, idle).await
    } else {
        forward_whole(app, session, ctx, resp, cand, deadline).await
    }
}

async fn forward_whole(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    mut resp: UpstreamResponse,
    cand: &Candidate,
    deadline: Instant,
) -> Result<(), Failure> {
    let mut buf = BytesMut::new();
    loop {
        let read = tokio::select! {
            r = tokio::time::timeout_at(deadline, resp.session.read_response_body()) => r,
            () = client_gone(session) => return Err(Failure::ClientGone),
        };
        match read {
            Err(_) => return Err(GatewayError::new(
                ErrorKind::Timeout,
                "the provider's response did not finish before the deadline (x-gateway-timeout)",
            )
            .into()),
            Ok(Err(e)) => {
                return Err(GatewayError::new(
                    ErrorKind::BadGateway,
                    format!(
                        "provider `{}` broke the connection mid-response: {e}",
                        cand.provider.id
                    ),
                )
                .into());
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(GatewayError::new(
                        ErrorKind::BadGateway,
                        "the provider's response is too large",
                    )
                    .into());
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    let status = resp.status;
    let content_type = resp
        .header("content-type")
        .unwrap_or("application/json")
        .to_string();
    let retry_after = resp.header("retry-after").map(str::to_string);
    app.client.release(resp).await;
    let mut extra = gateway_headers(ctx, cand);
    if (200..300).contains(&status) {
        record_usage(ctx, cand, usage_of_json(&buf));
        extra.push(("x-gateway-cost-usd", format_cost(ctx.cost_usd)));
    } else {
        ctx.error = Some("upstream_error");
    }
    if let Some(v) = retry_after {
        extra.push(("retry-after", v));
    }
    respond::send(session, ctx, status, &content_type, buf.freeze(), &extra)
        .await
        .map_err(|_| Failure::ClientGone)
}

#[expect(clippy::too_many_arguments, reason = "called once, from `forward`")]
async fn forward_sse(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    mut resp: UpstreamResponse,
    cand: &Candidate,
    inject_usage: bool,
    deadline: Instant,
    idle: Duration,
) -> Result<(), Failure> {
    let write_err = |_| Failure::ClientGone;
    let mut h = ResponseHeader::build(resp.status, Some(8)).map_err(write_err)?;
    let mut headers = vec![
        ("content-type", "text/event-stream".to_string()),
        ("cache-control", "no-cache".to_string()),
        ("transfer-encoding", "chunked".to_string()),
        ("x-request-id", ctx.request_id.clone()),
    ];
    headers.extend(gateway_headers(ctx, cand));
    for (name, value) in headers {
        h.insert_header(name, value).map_err(write_err)?;
    }
    ctx.status = resp.status;
    session
        .write_response_header(Box::new(h), false)
        .await
        .map_err(write_err)?;
    let mut observer = OpenAiStreamObserver::new(inject_usage);
    let mut first_chunk = true;
    let completed = loop {
        let wait_until = deadline.min(Instant::now() + idle);
        let read = tokio::select! {
            r = tokio::time::timeout_at(wait_until, resp.session.read_response_body()) => r,
            () = client_gone(session) => return Err(Failure::ClientGone),
        };
        match read {
            Ok(Ok(Some(chunk))) => {
                if first_chunk {
                    ctx.ttft = Some(ctx.started.elapsed());
                    first_chunk = false;
                }
                let out = observer.push(&chunk);
                if !out.is_empty() {
                    session
                        .write_response_body(Some(out), false)
                        .await
                        .map_err(write_err)?;
                }
            }
            Ok(Ok(None)) => {
                let tail = observer.finish();
                session
                    .write_response_body(Some(tail), true)
                    .await
                    .map_err(write_err)?;
                break true;
            }
            Ok(Err(e)) => {
                let msg = format!("provider `{}` broke the stream: {e}", cand.provider.id);
                end_with_error(session, ctx, "upstream_stream_error", &msg).await?;
                break false;
            }
            Err(_) => {
                let (code, msg) = if Instant::now() >= deadline {
                    (
                        "timeout",
                        "the stream did not finish before the deadline (x-gateway-timeout)"
                            .to_string(),
                    )
                } else {
                    (
                        "stream_idle_timeout",
                        format!(
                            "provider `{}` sent nothing for {} ms",
                            cand.provider.id,
                            idle.as_millis()
                        ),
                    )
                };
                end_with_error(session, ctx, code, &msg).await?;
                break false;
            }
        }
    };
    record_usage(ctx, cand, observer.usage);
    if completed {
        app.client.release(resp).await;
    }
    Ok(())
}

/// Ends a stream whose header was already sent with an OpenAI-format error event, so the
/// client sees a failure instead of a stream that merely stops.
async fn end_with_error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    code: &'static str,
    message: &str,
) -> Result<(), Failure> {
    ctx.error = Some(code);
    let event = serde_json::json!({ "error": { "message": message, "type": "api_error", "code": code, "param": null } });
    let bytes = Bytes::from(format!("data: {event}\n\n"));
    session
        .write_response_body(Some(bytes), true)
        .await
        .map_err(|_| Failure::ClientGone)
}

/// USD with up to 10 decimals, trailing zeros trimmed (`0.000099`, `0`).
fn format_cost(cost: f64) -> String {
    let s = format!("{cost:.10}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cost_format() {
        assert_eq!(super::format_cost(0.0), "0");
        assert_eq!(super::format_cost(0.000099), "0.000099");
        assert_eq!(super::format_cost(1.5), "1.5");
    }
}
