//! Forwarding an upstream response to the client: whole bodies (usage and cost read before
//! the header goes out, so `X-Gateway-Cost-Usd` can be set; translated when the formats
//! differ), and SSE streams relayed chunk by chunk as they arrive through a [`Relay`].

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use tokio::time::Instant;

use super::App;
use super::attempt::{Call, Mode};
use super::ctx::RequestCtx;
use super::relay::{AnthropicPassthrough, Relay};
use super::respond;
use crate::config::ApiFormat;
use crate::errors::{ErrorKind, GatewayError};
use crate::routing::Candidate;
use crate::translate::ir::ErrorInfo;
use crate::translate::{Codec, StreamTranslator};
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
    call: &Call<'_>,
    mode: Mode,
    deadline: Instant,
    idle: Duration,
) -> Result<(), Failure> {
    let is_sse = resp
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if ctx.stream && is_sse && (200..300).contains(&resp.status) {
        let relay = match (mode, call.inbound) {
            (Mode::Passthrough { inject_usage }, ApiFormat::Openai) => {
                Relay::OpenAi(OpenAiStreamObserver::new(inject_usage))
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
) -> Result<(), Failure> {
    let mut buf = BytesMut::new();
    loop {
        let read = match resp.session.read_response_body().now_or_never() {
            Some(r) => Ok(r),
            None => tokio::select! {
                r = tokio::time::timeout_at(deadline, resp.session.read_response_body()) => r,
                () = client_gone(session) => return Err(Failure::ClientGone),
            },
        };
        match read {
            Err(_) => {
                return Err(GatewayError::new(ErrorKind::Timeout, "the provider's response did not finish before the deadline (x-gateway-timeout)").into());
            }
            Ok(Err(e)) => {
                let msg = format!(
                    "provider `{}` broke the connection mid-response: {e}",
                    cand.provider.id
                );
                return Err(GatewayError::new(ErrorKind::BadGateway, msg).into());
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
    let ok = (200..300).contains(&status);
    let upstream_type = resp
        .header("content-type")
        .unwrap_or("application/json")
        .to_string();
    let retry_after = resp.header("retry-after").map(str::to_string);
    app.client.release(resp).await;
    let body = buf.freeze();
    let (body, content_type, usage) = match (mode, ok) {
        (Mode::Passthrough { .. }, true) => {
            let usage = match call.inbound {
                ApiFormat::Openai => usage_of_json(&body),
                _ => Codec(call.inbound)
                    .decode_response(&body)
                    .ok()
                    .map(|r| Usage::from(r.usage)),
            };
            (body, upstream_type, usage)
        }
        (Mode::Passthrough { .. }, false) => (body, upstream_type, None),
        (Mode::Translate, true) => {
            let decoded = Codec(cand.provider.format)
                .decode_response(&body)
                .map_err(|e| {
                    GatewayError::new(
                        ErrorKind::BadGateway,
                        format!(
                            "provider `{}` sent a response the gateway cannot read: {}",
                            cand.provider.id, e.message
                        ),
                    )
                })?;
            let out = Codec(call.inbound).encode_response(&decoded);
            (
                Bytes::from(out),
                "application/json".to_string(),
                Some(Usage::from(decoded.usage)),
            )
        }
        (Mode::Translate, false) => {
            let info = Codec(cand.provider.format).decode_error(status, &body);
            (
                Bytes::from(Codec(call.inbound).encode_error(&info)),
                "application/json".to_string(),
                None,
            )
        }
    };
    let mut extra = gateway_headers(ctx, cand);
    if ok {
        record_usage(ctx, cand, usage);
        extra.push(("x-gateway-cost-usd", format_cost(ctx.cost_usd)));
    } else {
        ctx.error = Some("upstream_error");
    }
    if let Some(v) = retry_after {
        extra.push(("retry-after", v));
    }
    respond::send(session, ctx, status, &content_type, body, &extra)
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
    let mut first_chunk = true;
    let completed = loop {
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
        let end = match read {
            Ok(Ok(Some(chunk))) => {
                if first_chunk {
                    ctx.ttft = Some(ctx.started.elapsed());
                    first_chunk = false;
                }
                // One write for everything that has arrived: pingora yields one HTTP chunk
                // per read, and a write per SSE event would be a syscall per token.
                let mut out = BytesMut::from(relay.push(&chunk).as_ref());
                let end = loop {
                    match resp.session.read_response_body().now_or_never() {
                        Some(Ok(Some(more))) => out.extend_from_slice(&relay.push(&more)),
                        Some(Ok(None)) => break Some(Ok(None)),
                        Some(Err(e)) => break Some(Err(e)),
                        None => break None,
                    }
                };
                if !out.is_empty() {
                    session
                        .write_response_body(Some(out.freeze()), false)
                        .await
                        .map_err(write_err)?;
                }
                match end {
                    None => continue,
                    Some(r) => Ok(r),
                }
            }
            other => other,
        };
        let failure = match end {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => {
                let tail = relay.finish();
                session
                    .write_response_body(Some(tail), true)
                    .await
                    .map_err(write_err)?;
                break true;
            }
            Ok(Err(e)) => (
                "upstream_stream_error",
                502,
                format!("provider `{}` broke the stream: {e}", cand.provider.id),
            ),
            Err(_) if Instant::now() >= deadline => (
                "timeout",
                504,
                "the stream did not finish before the deadline (x-gateway-timeout)".to_string(),
            ),
            Err(_) => (
                "stream_idle_timeout",
                504,
                format!(
                    "provider `{}` sent nothing for {} ms",
                    cand.provider.id,
                    idle.as_millis()
                ),
            ),
        };
        let (code, status, message) = failure;
        ctx.error = Some(code);
        let event = relay.fail(&ErrorInfo {
            status,
            message,
            code: Some(code.to_string()),
        });
        session
            .write_response_body(Some(event), true)
            .await
            .map_err(write_err)?;
        break false;
    };
    record_usage(ctx, cand, relay.usage());
    if completed {
        app.client.release(resp).await;
    }
    Ok(())
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
