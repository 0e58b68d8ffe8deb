//! Forwarding a successful (2xx) upstream response to the client, and relaying a provider's
//! error answer. Whole bodies are read first (usage and cost known before the header, so
//! `X-Gateway-Cost-Usd` can be set; translated when formats differ). Streams go through a
//! [`Relay`], with the response header held back until the answer's first content: until then
//! a failure (cut, stall, error event, malformed event) is reported to the walk as retryable,
//! since nothing has reached the client (S5). After it, failures end the stream with an
//! in-format error event.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use tokio::time::Instant;

use super::Walk;
use super::outcome::Outcome;
use super::prepare::Mode;
use crate::config::ApiFormat;
use crate::ctx::Trace;
use crate::downstream::{self, ClientGone, Downstream, Head, Value};
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::observability::cost::{cost_usd, format_cost};
use crate::resilience::classify::FailureKind;
use crate::routing::Candidate;
use crate::runtime::provider::Operation;
use crate::translate::ir::{ErrorInfo, Usage};
use crate::translate::openai::usage_of_json;
use crate::translate::{Codec, Relay, relay_for};
use crate::upstream::{Upstream, UpstreamResponse};

/// Largest non-streamed upstream body accepted (large embedding batches fit).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// Why reading a body stopped early.
pub(super) enum ReadStop {
    Deadline,
    Broken(String),
    TooLarge,
    ClientGone,
}

/// Reads a whole upstream body (up to `limit`) before `deadline`, watching the client.
pub(super) async fn read_all<R: UpstreamResponse, D: Downstream>(
    down: &mut D,
    resp: &mut R,
    deadline: Instant,
    limit: usize,
) -> Result<Bytes, ReadStop> {
    let mut buf = BytesMut::new();
    loop {
        let read = match resp.read_body().now_or_never() {
            Some(r) => Ok(r),
            None => tokio::select! {
                r = tokio::time::timeout_at(deadline, resp.read_body()) => r,
                () = down.gone() => return Err(ReadStop::ClientGone),
            },
        };
        match read {
            Err(_) => return Err(ReadStop::Deadline),
            Ok(Err(e)) => return Err(ReadStop::Broken(e)),
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

/// Records usage and its cost at the candidate's card prices.
fn record_usage(trace: &mut Trace, cand: &Candidate, usage: Option<Usage>) {
    trace.usage = usage;
    if let (Some(u), Some(card)) = (usage, &cand.card) {
        trace.cost_usd = cost_usd(&u, card.input_price_per_mtok, card.output_price_per_mtok);
    }
}

/// `x-gateway-provider`, `x-gateway-model` and `x-gateway-retries`.
fn gateway_headers(head: &mut Head, trace: &Trace, cand: &Candidate) {
    head.push("x-gateway-provider", cand.provider.id.clone());
    head.push("x-gateway-model", cand.model.clone());
    head.push(
        "x-gateway-retries",
        trace.attempts.saturating_sub(1).to_string(),
    );
}

fn gone(_: ClientGone) -> Failure {
    Failure::ClientGone
}

impl<U: Upstream, D: Downstream> Walk<'_, U, D> {
    /// Sends a successful upstream response to the client.
    pub(super) async fn forward(
        &mut self,
        resp: U::Response,
        cand: &Candidate,
        mode: Mode,
    ) -> Result<Outcome, Failure> {
        let is_sse = resp
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream"));
        if self.call.summary.stream && is_sse {
            let inject_usage = mode == Mode::Passthrough { inject_usage: true };
            let relay = relay_for(
                cand.provider.format,
                self.call.endpoint.format,
                inject_usage,
                self.call.summary.include_usage,
                unix_now(),
            );
            self.forward_sse(resp, cand, relay).await
        } else {
            self.forward_whole(resp, cand, mode).await
        }
    }

    async fn forward_whole(
        &mut self,
        mut resp: U::Response,
        cand: &Candidate,
        mode: Mode,
    ) -> Result<Outcome, Failure> {
        let deadline = self.settings.deadline;
        let body = match read_all(self.down, &mut resp, deadline, MAX_RESPONSE_BYTES).await {
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
                return Ok(Outcome::broken(FailureKind::ConnectionReset, message));
            }
        };
        let upstream_type = resp
            .header("content-type")
            .unwrap_or("application/json")
            .to_string();
        self.upstream.release(resp).await;
        let inbound = self.call.endpoint.format;
        let (body, content_type, usage) = match mode {
            Mode::Passthrough { .. } => {
                let usage = match inbound {
                    ApiFormat::Openai => usage_of_json(&body),
                    _ => Codec(inbound).decode_response(&body).ok().map(|r| r.usage),
                };
                (body, upstream_type, usage)
            }
            Mode::Translate => match Codec(cand.provider.format).decode_response(&body) {
                Ok(mut decoded) => {
                    if decoded.created.is_none() {
                        decoded.created = Some(unix_now());
                    }
                    let out = Codec(inbound).encode_response(&decoded);
                    (
                        Bytes::from(out),
                        "application/json".to_string(),
                        Some(decoded.usage),
                    )
                }
                Err(e) => {
                    let message = format!(
                        "provider `{}` sent a response the gateway cannot read: {}",
                        cand.provider.id, e.message
                    );
                    return Ok(Outcome::broken(FailureKind::StreamBroken, message));
                }
            },
        };
        record_usage(self.trace, cand, usage);
        let mut head = Head::new(200, content_type, self.request_id);
        gateway_headers(&mut head, self.trace, cand);
        head.push("x-gateway-cost-usd", format_cost(self.trace.cost_usd));
        downstream::send(self.down, self.trace, head, body)
            .await
            .map_err(gone)?;
        Ok(Outcome::Served)
    }

    /// Sends a provider's error answer (status, body, `Retry-After`) in the caller's format.
    pub(super) async fn relay_error(
        &mut self,
        cand: &Candidate,
        status: u16,
        body: Bytes,
        retry_after: Option<String>,
    ) -> Result<(), Failure> {
        let inbound = self.call.endpoint.format;
        let body = if cand.provider.format == inbound
            || self.call.endpoint.op != Operation::ChatCompletions
        {
            body
        } else {
            let info = Codec(cand.provider.format).decode_error(status, &body);
            Bytes::from(Codec(inbound).encode_error(&info))
        };
        self.trace.error = Some("upstream_error");
        let mut head = Head::new(status, "application/json", self.request_id);
        gateway_headers(&mut head, self.trace, cand);
        if let Some(v) = retry_after {
            head.push("retry-after", v);
        }
        downstream::send(self.down, self.trace, head, body)
            .await
            .map_err(gone)
    }

    async fn forward_sse(
        &mut self,
        mut resp: U::Response,
        cand: &Candidate,
        mut relay: Box<dyn Relay>,
    ) -> Result<Outcome, Failure> {
        let (deadline, idle) = (self.settings.deadline, self.settings.idle);
        let mut header = Some(self.sse_head(cand, resp.status()));
        // Output held back until the answer's first content (or its clean end).
        let mut held = BytesMut::new();
        let mut first_chunk = true;
        loop {
            // Data already buffered needs no timer and no client watch (which costs a read).
            let read = match resp.read_body().now_or_never() {
                Some(r) => Ok(r),
                None => {
                    let mut wait_until = deadline.min(Instant::now() + idle);
                    if header.is_some() {
                        // No content yet: the time-to-first-token limit still runs.
                        wait_until = wait_until.min(self.first_content_by);
                    }
                    tokio::select! {
                        r = tokio::time::timeout_at(wait_until, resp.read_body()) => r,
                        () = self.down.gone() => return Err(Failure::ClientGone),
                    }
                }
            };
            let mut out = BytesMut::new();
            let end = match read {
                Ok(Ok(Some(chunk))) => {
                    if first_chunk {
                        self.trace.ttft = Some(self.started.elapsed());
                        first_chunk = false;
                    }
                    // Everything that has arrived goes out in one write: pingora yields one
                    // HTTP chunk per read, and a write per SSE event would be a syscall per
                    // token.
                    out.extend_from_slice(&relay.push(&chunk));
                    loop {
                        match resp.read_body().now_or_never() {
                            Some(Ok(Some(more))) => out.extend_from_slice(&relay.push(&more)),
                            Some(Ok(None)) => break Some(Ok(())),
                            Some(Err(e)) => break Some(Err((FailureKind::StreamBroken, e))),
                            None => break None,
                        }
                    }
                }
                Ok(Ok(None)) => Some(Ok(())),
                Ok(Err(e)) => Some(Err((FailureKind::StreamBroken, e))),
                Err(_) => Some(Err((FailureKind::Timeout, String::new()))),
            };
            // Until the answer's first content the attempt may still fail over; from then on
            // the client gets what arrived plus an error event. Content, not the batching of
            // reads, decides, so the outcome does not depend on timing.
            let may_fail_over = header.is_some() && !relay.status().content_seen;
            if may_fail_over {
                if let Some(e) = &relay.status().upstream_error {
                    let message = format!(
                        "provider `{}` sent an error event: {}",
                        cand.provider.id, e.message
                    );
                    return Ok(Outcome::broken(FailureKind::StreamBroken, message));
                }
                if relay.status().malformed_before_content > 0 {
                    let message = format!(
                        "provider `{}` sent a malformed event before any content",
                        cand.provider.id
                    );
                    return Ok(Outcome::broken(FailureKind::StreamBroken, message));
                }
            }
            match end {
                None => {
                    if header.is_some() {
                        held.extend_from_slice(&out);
                        if relay.status().content_seen {
                            self.commit(&mut header, &mut held, false).await?;
                        }
                    } else if !out.is_empty() {
                        self.down
                            .write_body(out.freeze(), false)
                            .await
                            .map_err(gone)?;
                    }
                    if relay.status().upstream_error.is_some() {
                        // The error event has been forwarded (or encoded); the stream is over.
                        self.down
                            .write_body(Bytes::new(), true)
                            .await
                            .map_err(gone)?;
                        self.trace.error = Some("upstream_stream_error");
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
                        return Ok(Outcome::broken(FailureKind::StreamBroken, message));
                    }
                    if relay.status().upstream_error.is_some() {
                        // The provider's error event already went out (or was encoded).
                        finished.tail = Bytes::new();
                    }
                    out.extend_from_slice(&finished.tail);
                    if !finished.completed {
                        self.trace.error = Some("upstream_stream_incomplete");
                    }
                    held.extend_from_slice(&out);
                    self.commit(&mut header, &mut held, true).await?;
                    if finished.completed {
                        self.end_stream(cand, relay.as_ref());
                        self.upstream.release(resp).await;
                        return Ok(Outcome::Served);
                    }
                    break;
                }
                Some(Err((kind, detail))) => {
                    let past_deadline = Instant::now() >= deadline;
                    let silent = may_fail_over && Instant::now() >= self.first_content_by;
                    let (code, status, message) = match kind {
                        FailureKind::Timeout if past_deadline => (
                            "timeout",
                            504,
                            "the stream did not finish before the deadline (x-gateway-timeout)"
                                .to_string(),
                        ),
                        FailureKind::Timeout if silent => (
                            "timeout",
                            504,
                            format!(
                                "provider `{}` sent no content within its time-to-first-token limit",
                                cand.provider.id
                            ),
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
                    if may_fail_over && !(kind == FailureKind::Timeout && past_deadline) {
                        return Ok(Outcome::broken(kind, message));
                    }
                    held.extend_from_slice(&out);
                    self.trace.error = Some(code);
                    held.extend_from_slice(&relay.fail(&ErrorInfo {
                        status,
                        message,
                        code: Some(code.to_string()),
                    }));
                    self.commit(&mut header, &mut held, true).await?;
                    break;
                }
            }
        }
        self.end_stream(cand, relay.as_ref());
        Ok(Outcome::Served)
    }

    /// Usage, cost and malformed-event count of a stream that reached the client.
    fn end_stream(&mut self, cand: &Candidate, relay: &dyn Relay) {
        record_usage(self.trace, cand, relay.status().usage);
        self.gw.metrics.malformed_events(
            &Arc::from(cand.provider.id.as_str()),
            relay.status().malformed,
        );
    }

    /// Writes the held header (first time only) and the held bytes.
    ///
    /// A stream that is already complete when its header goes out (a short answer that
    /// arrived in one read) is sent with a `content-length` instead of chunked: pingora flushes
    /// a chunked header on its own and writes the last chunk separately, so the whole response
    /// then costs one write instead of three. The bytes are the same SSE events either way.
    async fn commit(
        &mut self,
        header: &mut Option<Head>,
        held: &mut BytesMut,
        end: bool,
    ) -> Result<(), Failure> {
        if let Some(mut h) = header.take() {
            if end {
                h.remove("transfer-encoding");
                h.push("content-length", held.len().to_string());
            }
            self.trace.status = h.status;
            self.down.write_head(h, false).await.map_err(gone)?;
        }
        let bytes = held.split().freeze();
        if !bytes.is_empty() || end {
            self.down.write_body(bytes, end).await.map_err(gone)?;
        }
        Ok(())
    }

    /// The head of a streamed answer.
    fn sse_head(&self, cand: &Candidate, status: u16) -> Head {
        let mut h = Head::new(status, "text/event-stream", self.request_id);
        h.push("cache-control", "no-cache");
        h.push("transfer-encoding", Value::Borrowed("chunked"));
        gateway_headers(&mut h, self.trace, cand);
        h
    }
}

/// Seconds since the epoch, for responses whose provider gave no `created`.
fn unix_now() -> u64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "the response's `created` is wall-clock time"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
