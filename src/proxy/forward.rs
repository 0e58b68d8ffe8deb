//! Forwarding a successful (2xx) upstream response to the client, and relaying a provider's
//! error answer. Whole bodies are read first (usage and cost known before the header, so
//! `X-Gateway-Cost-Usd` can be set; translated when formats differ). Streams go through a
//! [`Relay`], with the response header held back until the answer's first content: until then
//! a failure (cut, stall, error event, malformed event) is reported to the attempt loop as
//! retryable, since nothing has reached the client (S5). After it, failures end the stream
//! with an in-format error event.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use tokio::time::Instant;

use super::App;
use super::attempt::{Call, Mode};
use super::ctx::RequestCtx;
use super::relay::Relay;
use super::respond;
use crate::config::ApiFormat;
use crate::errors::{ErrorKind, GatewayError};
use crate::passthrough::{AnthropicPassthrough, OpenAiPassthrough};
use crate::resilience::classify::FailureKind;
use crate::routing::Candidate;
use crate::translate::ir::ErrorInfo;
use crate::translate::{Codec, StreamTranslator};
use crate::upstream::UpstreamResponse;
use crate::usage::{Usage, cost_usd, usage_of_json};

/// Largest non-streamed upstream body accepted (large embedding batches fit).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// How an LLM call ended when it did not end normally.
#[derive(Debug)]
pub enum Failure {
    /// Answer the client with this error (nothing was written yet).
    Respond(GatewayError),
    /// Every candidate's circuit is open: a fast 503 with `x-gateway-circuit: open`.
    CircuitOpen { retry_after_secs: u64 },
    /// The client went away; the upstream is dropped (its connection closed).
    ClientGone,
}

impl From<GatewayError> for Failure {
    fn from(e: GatewayError) -> Self {
        Failure::Respond(e)
    }
}

/// How forwarding an attempt's 2xx response ended.
#[derive(Debug)]
pub enum Served {
    /// The client has its answer (possibly ended by an error event after content began).
    Done,
    /// Nothing reached the client and the attempt failed: the loop may retry or fail over.
    Retryable { kind: FailureKind, message: String },
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

/// Why reading a body stopped early.
pub enum ReadStop {
    Deadline,
    Broken(String),
    TooLarge,
    ClientGone,
}

/// Reads a whole upstream body (up to `limit`) before `deadline`, watching the client.
pub async fn read_all(
    session: &mut Session,
    resp: &mut UpstreamResponse,
    deadline: Instant,
    limit: usize,
) -> Result<Bytes, ReadStop> {
    let mut buf = BytesMut::new();
    loop {
        let read = match resp.session.read_response_body().now_or_never() {
            Some(r) => Ok(r),
            None => tokio::select! {
                r = tokio::time::timeout_at(deadline, resp.session.read_response_body()) => r,
                () = client_gone(session) => return Err(ReadStop::ClientGone),
            },
        };
        match read {
            Err(_) => return Err(ReadStop::Deadline),
            Ok(Err(e)) => return Err(ReadStop::Broken(e.to_string())),
            Ok(Ok(None)) => return Ok(buf.freeze()),
            Ok(Ok(Some(chunk))) => {
                if buf.len() + chunk.len() > limit {
                    return Err(ReadStop::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
}

/// Sends a successful upstream response to the client.
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
    call: &Call<'_>,
    mode: Mode,
    deadline: Instant,
    idle: Duration,
) -> Result<Served, Failure> {
    let is_sse = resp
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if ctx.stream && is_sse {
        let relay = match (mode, call.inbound) {
            (Mode::Passthrough { inject_usage }, ApiFormat::Openai) => {
                Relay::OpenAi(OpenAiPassthrough::new(inject_usage))
            }
            (Mode::Passthrough { .. }, _) => Relay::Anthropic(AnthropicPassthrough::new()),
            (Mode::Translate, inbound) => Relay::Translate(Box::new(StreamTranslator::new(
                Codec(cand.provider.format).stream_decoder(),
                Codec(inbound).stream_encoder(call.summary.include_usage),
            ))),
        };
        forward_sse(app, session, ctx, resp, cand, relay, deadline, idle).await
    } else {
        forward_whole(app, session, ctx, resp, cand, call, mode, deadline).await
    }
}

#[expect(clippy::too_many_arguments, reason = "called once, from `forward`")]
async fn forward_whole(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    mut resp: UpstreamResponse,
    cand: &Candidate,
    call: &Call<'_>,
    mode: Mode,
    deadline: Instant,
) -> Result<Served, Failure> {
    let body =
        match read_all(session, &mut resp, deadline, MAX_RESPONSE_BYTES).await {
            Ok(b) => b,
            Err(ReadStop::ClientGone) => return Err(Failure::ClientGone),
            Err(ReadStop::Deadline) => return Err(GatewayError::new(
                ErrorKind::Timeout,
                "the provider's response did not finish before the deadline (x-gateway-timeout)",
            )
            .into()),
            Err(ReadStop::TooLarge) => {
                return Err(GatewayError::new(
                    ErrorKind::BadGateway,
                    "the provider's response is too large",
                )
                .into());
            }
            Err(ReadStop::Broken(e)) => {
                let message = format!(
                    "provider `{}` broke the connection mid-response: {e}",
                    cand.provider.id
                );
                return Ok(Served::Retryable {
                    kind: FailureKind::ConnectionReset,
                    message,
                });
            }
        };
    let upstream_type = resp
        .header("content-type")
        .unwrap_or("application/json")
        .to_string();
    app.client.release(resp).await;
    let (body, content_type, usage) = match mode {
        Mode::Passthrough { .. } => {
            let usage = match call.inbound {
                ApiFormat::Openai => usage_of_json(&body),
                _ => Codec(call.inbound)
                    .decode_response(&body)
                    .ok()
                    .map(|r| Usage::from(r.usage)),
            };
            (body, upstream_type, usage)
        }
        Mode::Translate => match Codec(cand.provider.format).decode_response(&body) {
            Ok(decoded) => {
                let out = Codec(call.inbound).encode_response(&decoded);
                (
                    Bytes::from(out),
                    "application/json".to_string(),
                    Some(Usage::from(decoded.usage)),
                )
            }
            Err(e) => {
                let message = format!(
                    "provider `{}` sent a response the gateway cannot read: {}",
                    cand.provider.id, e.message
                );
                return Ok(Served::Retryable {
                    kind: FailureKind::StreamBroken,
                    message,
                });
            }
        },
    };
    record_usage(ctx, cand, usage);
    let mut extra = gateway_headers(ctx, cand);
    extra.push(("x-gateway-cost-usd", format_cost(ctx.cost_usd)));
    respond::send(session, ctx, 200, &content_type, body, &extra)
        .await
        .map_err(|_| Failure::ClientGone)?;
    Ok(Served::Done)
}

/// Sends a provider's error answer (status, body, `Retry-After`) in the caller's format.
pub async fn relay_error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    cand: &Candidate,
    call: &Call<'_>,
    status: u16,
    body: Bytes,
    retry_after: Option<String>,
) -> Result<(), Failure> {
    let body = if cand.provider.format == call.inbound
        || call.op != crate::providers::Operation::ChatCompletions
    {
        body
    } else {
        let info = Codec(cand.provider.format).decode_error(status, &body);
        Bytes::from(Codec(call.inbound).encode_error(&info))
    };
    ctx.error = Some("upstream_error");
    let mut extra = gateway_headers(ctx, cand);
    if let Some(v) = retry_after {
        extra.push(("retry-after", v));
    }
    respond::send(session, ctx, status, "application/json", body, &extra)
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
    mut relay: Relay,
    deadline: Instant,
    idle: Duration,
) -> Result<Served, Failure> {
    let write_err = |_| Failure::ClientGone;
    let mut header = Some(sse_header(ctx, cand, resp.status).map_err(write_err)?);
    // Output held back until the answer's first content (or its clean end).
    let mut held = BytesMut::new();
    let mut first_chunk = true;
    loop {
        // Data already buffered needs no timer and no client watch (which costs a read).
        let read = match resp.session.read_response_body().now_or_never() {
            Some(r) => Ok(r),
            None => {
                let wait_until = deadline.min(Instant::now() + idle);
                tokio::select! {
                    r = tokio::time::timeout_at(wait_until, resp.session.read_response_body()) => r,
                    () = client_gone(session) => return Err(Failure::ClientGone),
                }
            }
        };
        let mut out = BytesMut::new();
        let end = match read {
            Ok(Ok(Some(chunk))) => {
                if first_chunk {
                    ctx.ttft = Some(ctx.started.elapsed());
                    first_chunk = false;
                }
                // Everything that has arrived goes out in one write: pingora yields one HTTP
                // chunk per read, and a write per SSE event would be a syscall per token.
                out.extend_from_slice(&relay.push(&chunk));
                loop {
                    match resp.session.read_response_body().now_or_never() {
                        Some(Ok(Some(more))) => out.extend_from_slice(&relay.push(&more)),
                        Some(Ok(None)) => break Some(Ok(())),
                        Some(Err(e)) => {
                            break Some(Err((FailureKind::StreamBroken, e.to_string())));
                        }
                        None => break None,
                    }
                }
            }
            Ok(Ok(None)) => Some(Ok(())),
            Ok(Err(e)) => Some(Err((FailureKind::StreamBroken, e.to_string()))),
            Err(_) => Some(Err((FailureKind::Timeout, String::new()))),
        };
        // Until the answer's first content the attempt may still fail over; from then on the
        // client gets what arrived plus an error event. Content, not the batching of reads,
        // decides, so the outcome does not depend on timing.
        let may_fail_over = header.is_some() && !relay.content_seen();
        if may_fail_over {
            if let Some(e) = relay.upstream_error() {
                let message = format!(
                    "provider `{}` sent an error event: {}",
                    cand.provider.id, e.message
                );
                return Ok(Served::Retryable {
                    kind: FailureKind::StreamBroken,
                    message,
                });
            }
            if relay.malformed_before_content() > 0 {
                let message = format!(
                    "provider `{}` sent a malformed event before any content",
                    cand.provider.id
                );
                return Ok(Served::Retryable {
                    kind: FailureKind::StreamBroken,
                    message,
                });
            }
        }
        match end {
            None => {
                if header.is_some() {
                    held.extend_from_slice(&out);
                    if relay.content_seen() {
                        commit(session, ctx, &mut header, &mut held, false).await?;
                    }
                } else if !out.is_empty() {
                    session
                        .write_response_body(Some(out.freeze()), false)
                        .await
                        .map_err(write_err)?;
                }
                if relay.upstream_error().is_some() {
                    // The error event has been forwarded (or encoded); the stream is over.
                    session
                        .write_response_body(None, true)
                        .await
                        .map_err(write_err)?;
                    ctx.error = Some("upstream_stream_error");
                    break;
                }
            }
            Some(Ok(())) => {
                let mut finished = relay.finish();
                if may_fail_over && !finished.completed {
                    let message = format!(
                        "provider `{}` ended the stream before any content",
                        cand.provider.id
                    );
                    return Ok(Served::Retryable {
                        kind: FailureKind::StreamBroken,
                        message,
                    });
                }
                if relay.upstream_error().is_some() {
                    // The provider's error event already went out (or was encoded).
                    finished.tail = bytes::Bytes::new();
                }
                out.extend_from_slice(&finished.tail);
                if !finished.completed {
                    ctx.error = Some("upstream_stream_incomplete");
                }
                held.extend_from_slice(&out);
                commit(session, ctx, &mut header, &mut held, true).await?;
                if finished.completed {
                    record_usage(ctx, cand, relay.usage());
                    app.metrics
                        .malformed_events(&Arc::from(cand.provider.id.as_str()), relay.malformed());
                    app.client.release(resp).await;
                    return Ok(Served::Done);
                }
                break;
            }
            Some(Err((kind, detail))) => {
                let (code, status, message) = match kind {
                    FailureKind::Timeout if Instant::now() >= deadline => (
                        "timeout",
                        504,
                        "the stream did not finish before the deadline (x-gateway-timeout)"
                            .to_string(),
                    ),
                    FailureKind::Timeout => (
                        "stream_idle_timeout",
                        504,
                        format!(
                            "provider `{}` sent nothing for {} ms",
                            cand.provider.id,
                            idle.as_millis()
                        ),
                    ),
                    _ => (
                        "upstream_stream_error",
                        502,
                        format!("provider `{}` broke the stream: {detail}", cand.provider.id),
                    ),
                };
                if may_fail_over && !(kind == FailureKind::Timeout && Instant::now() >= deadline) {
                    return Ok(Served::Retryable { kind, message });
                }
                held.extend_from_slice(&out);
                ctx.error = Some(code);
                held.extend_from_slice(&relay.fail(&ErrorInfo {
                    status,
                    message,
                    code: Some(code.to_string()),
                }));
                commit(session, ctx, &mut header, &mut held, true).await?;
                break;
            }
        }
    }
    record_usage(ctx, cand, relay.usage());
    app.metrics
        .malformed_events(&Arc::from(cand.provider.id.as_str()), relay.malformed());
    Ok(Served::Done)
}

/// Writes the held header (first time only) and the held bytes.
///
/// A stream that is already complete when its header goes out (a short answer that arrived in
/// one read) is sent with a `content-length` instead of chunked: pingora flushes a chunked
/// header on its own and writes the last chunk separately, so the whole response then costs one
/// write instead of three. The bytes are the same SSE events either way.
async fn commit(
    session: &mut Session,
    ctx: &mut RequestCtx,
    header: &mut Option<ResponseHeader>,
    held: &mut BytesMut,
    end: bool,
) -> Result<(), Failure> {
    if let Some(mut h) = header.take() {
        if end {
            h.remove_header("transfer-encoding");
            h.insert_header("content-length", held.len())
                .map_err(|_| Failure::ClientGone)?;
        }
        ctx.status = h.status.as_u16();
        session
            .write_response_header(Box::new(h), false)
            .await
            .map_err(|_| Failure::ClientGone)?;
    }
    let bytes = held.split().freeze();
    if !bytes.is_empty() || end {
        session
            .write_response_body(Some(bytes), end)
            .await
            .map_err(|_| Failure::ClientGone)?;
    }
    Ok(())
}

fn sse_header(ctx: &RequestCtx, cand: &Candidate, status: u16) -> pingora::Result<ResponseHeader> {
    let mut h = ResponseHeader::build(status, Some(8))?;
    h.insert_header("content-type", "text/event-stream")?;
    h.insert_header("cache-control", "no-cache")?;
    h.insert_header("transfer-encoding", "chunked")?;
    h.insert_header("x-request-id", ctx.request_id.as_str())?;
    for (name, value) in gateway_headers(ctx, cand) {
        h.insert_header(name, value)?;
    }
    Ok(h)
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
