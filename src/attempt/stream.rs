//! Forwarding a stream through its [`Relay`], with the response header held back until the
//! answer's first content: until then a failure (cut, stall, error event, malformed event) is
//! reported to the walk as retryable, since nothing has reached the client (S5). After it, a
//! break is handed to the walk to continue ([`super::rescue`]) when it can be, else the stream
//! ends with an in-format error event. A continuation writes into the client's open stream the
//! same way, its "first content" being the first text the client did not have.

use std::sync::Arc;

use bytes::BytesMut;
use futures_util::FutureExt;
use tokio::time::Instant;

use super::Walk;
use super::forward::{blocked_failure, gateway_headers, gone, record_usage};
use super::outcome::{Cut, Outcome, logged};
use crate::downstream::{Downstream, Head, Value};
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::resilience::classify::FailureKind;
use crate::routing::Candidate;
use crate::translate::ir::{ErrorInfo, Usage};
use crate::translate::{Relay, incomplete};
use crate::upstream::{Upstream, UpstreamResponse};

/// Bytes of streamed content counted as one token when a provider reports no usage.
const BYTES_PER_TOKEN: u64 = 4;

/// How a stream broke after content reached the client.
struct Break {
    kind: FailureKind,
    /// The access log's error code when the stream ends here.
    code: &'static str,
    /// The error event the client gets when the stream is not continued.
    error: ErrorInfo,
    /// A continuation may pick the answer up (not when the deadline passed).
    continuable: bool,
}

impl Break {
    /// The provider sent an error event mid-answer.
    fn error_event(e: &ErrorInfo) -> Break {
        Break {
            kind: FailureKind::StreamBroken,
            code: "upstream_stream_error",
            error: e.clone(),
            continuable: true,
        }
    }

    /// The provider closed the stream without finishing its answer.
    fn incomplete(cand: &Candidate) -> Break {
        let mut error = incomplete();
        error.message = format!(
            "provider `{}` ended the stream mid-answer",
            cand.provider.id
        );
        Break {
            kind: FailureKind::StreamBroken,
            code: "upstream_stream_incomplete",
            error,
            continuable: true,
        }
    }

    /// The connection broke or went quiet.
    fn transport(
        cand: &Candidate,
        kind: FailureKind,
        detail: &str,
        request_id: &str,
        past_deadline: bool,
        silent: bool,
        idle: std::time::Duration,
    ) -> Break {
        let (code, status, message) = match kind {
            FailureKind::Timeout if past_deadline => (
                "timeout",
                504,
                "the stream did not finish before the deadline (x-gateway-timeout)".to_string(),
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
                logged(
                    request_id,
                    &cand.provider.id,
                    &format!("provider `{}` broke the stream", cand.provider.id),
                    detail,
                ),
            ),
        };
        Break {
            kind,
            code,
            error: ErrorInfo {
                status,
                message,
                code: Some(code.to_string()),
            },
            continuable: !(kind == FailureKind::Timeout && past_deadline),
        }
    }
}

impl<U: Upstream, D: Downstream> Walk<'_, U, D> {
    pub(super) async fn forward_sse(
        &mut self,
        mut resp: U::Response,
        cand: &Candidate,
        mut relay: Box<dyn Relay>,
    ) -> Result<Outcome, Failure> {
        let (deadline, idle) = (self.settings.deadline, self.settings.idle);
        // A continuation writes into the client's open stream: its header went out long ago.
        let continuing = self.rescue.is_some();
        let mut header = (!continuing).then(|| self.sse_head(cand, resp.status()));
        // Output held back until the answer's first content (or its clean end).
        let mut held = BytesMut::new();
        let mut first_chunk = !continuing;
        // Set when the gateway shuts down past its grace period.
        let mut closing = self.gw.closing();
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
                    let read = tokio::select! {
                        r = tokio::time::timeout_at(wait_until, resp.read_body()) => Some(r),
                        () = self.down.gone() => return Err(Failure::ClientGone),
                        _ = closing.wait_for(|closing| *closing) => None,
                    };
                    match read {
                        Some(r) => r,
                        None => {
                            return self.shut_down(&mut header, &mut held, relay.as_mut()).await;
                        }
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
            // What a provider makes the gateway hold is bounded: an event without its end, or
            // a prefix without content, past the limit ends the attempt.
            let max = self.snap.max_sse_line_bytes;
            let end = if end.is_none()
                && (relay.pending() > max || (header.is_some() && held.len() + out.len() > max))
            {
                Some(Err((
                    FailureKind::StreamBroken,
                    format!(
                        "an event or a content-free prefix grew past {max} bytes (server.max_sse_line_bytes)"
                    ),
                )))
            } else {
                end
            };
            if relay.status().blocked.is_some() {
                return self.blocked(cand, header, held, out, relay.as_mut()).await;
            }
            // Until the answer's (or the continuation's) first content the attempt may still
            // fail over: nothing of it has reached the client. From then on the client gets
            // what arrived, and a break is continued or ends with an error event. Content, not
            // the batching of reads, decides, so the outcome does not depend on timing.
            let may_fail_over = !relay.status().content_seen;
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
            let broke = match end {
                None => relay
                    .status()
                    .upstream_error
                    .as_ref()
                    .map(Break::error_event),
                Some(Ok(())) => {
                    let finished = relay.finish();
                    if relay.status().blocked.is_some() {
                        out.extend_from_slice(&finished.tail);
                        return self.blocked(cand, header, held, out, relay.as_mut()).await;
                    }
                    // (A regenerated answer found shorter than the client's text at its end
                    // has diverged: that counts as content, the client gets the error event.)
                    if !relay.status().content_seen && !finished.completed {
                        let message = format!(
                            "provider `{}` ended the stream before any content",
                            cand.provider.id
                        );
                        return Ok(Outcome::broken(FailureKind::StreamBroken, message));
                    }
                    out.extend_from_slice(&finished.tail);
                    match &relay.status().upstream_error {
                        Some(e) => Some(Break::error_event(e)),
                        None if finished.completed => {
                            held.extend_from_slice(&out);
                            self.end_stream(cand, relay.as_ref(), true);
                            self.down.ending(self.trace, true);
                            self.commit(&mut header, &mut held, true).await?;
                            self.upstream.release(resp).await;
                            return Ok(Outcome::Served);
                        }
                        None => Some(Break::incomplete(cand)),
                    }
                }
                Some(Err((kind, detail))) => {
                    let past_deadline = Instant::now() >= deadline;
                    let silent = may_fail_over && Instant::now() >= self.first_content_by;
                    let b = Break::transport(
                        cand,
                        kind,
                        &detail,
                        self.request_id,
                        past_deadline,
                        silent,
                        idle,
                    );
                    if may_fail_over && !(kind == FailureKind::Timeout && past_deadline) {
                        return Ok(Outcome::broken(kind, b.error.message));
                    }
                    Some(b)
                }
            };
            let Some(broke) = broke else {
                // More to come.
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
                continue;
            };
            held.extend_from_slice(&out);
            let usage = self.end_stream(cand, relay.as_ref(), false);
            if broke.continuable
                && self.may_continue()
                && let Some(point) = relay.rescue().filter(|p| !p.text.is_empty())
            {
                // The client keeps what arrived; the next attempt continues the stream.
                self.commit(&mut header, &mut held, false).await?;
                return Ok(Outcome::Cut(Box::new(Cut {
                    kind: broke.kind,
                    message: broke.error.message,
                    point,
                    usage,
                })));
            }
            held.extend_from_slice(&relay.fail(&broke.error));
            self.trace.error = Some(if relay.status().diverged {
                "stream_rescue_diverged"
            } else {
                broke.code
            });
            self.down.ending(self.trace, true);
            self.commit(&mut header, &mut held, true).await?;
            return Ok(Outcome::Served);
        }
    }

    /// The output gate blocked the answer: nothing sent yet, the client gets an error in its
    /// format; else the stream ends with the error event the relay wrote.
    async fn blocked(
        &mut self,
        cand: &Candidate,
        mut header: Option<Head>,
        mut held: BytesMut,
        out: BytesMut,
        relay: &mut dyn Relay,
    ) -> Result<Outcome, Failure> {
        self.end_stream(cand, relay, false);
        self.trace.error = Some("compliance_blocked");
        if header.is_some() {
            let detectors = relay.status().blocked.as_deref().unwrap_or_default();
            return Err(blocked_failure(detectors));
        }
        held.extend_from_slice(&out);
        self.down.ending(self.trace, true);
        self.commit(&mut header, &mut held, true).await?;
        Ok(Outcome::Served)
    }

    /// The gateway is shutting down past its grace period: a stream that has begun ends with an
    /// error event now; one that has not is answered 503.
    async fn shut_down(
        &mut self,
        header: &mut Option<Head>,
        held: &mut BytesMut,
        relay: &mut dyn Relay,
    ) -> Result<Outcome, Failure> {
        let error = ErrorInfo {
            status: 503,
            message: "the gateway is shutting down; the stream ended before it was complete".into(),
            code: Some("shutting_down".into()),
        };
        self.trace.error = Some("shutting_down");
        if !relay.status().content_seen {
            return Err(GatewayError::new(ErrorKind::Unavailable, error.message).into());
        }
        held.extend_from_slice(&relay.fail(&error));
        self.commit(header, held, true).await?;
        Ok(Outcome::Served)
    }

    /// Usage, cost and malformed-event count of a stream that reached the client; returns the
    /// usage recorded. A stream that ended early without a usage report is counted from what
    /// was sent (about four bytes a token) and the request's size.
    fn end_stream(&mut self, cand: &Candidate, relay: &dyn Relay, complete: bool) -> Usage {
        let status = relay.status();
        if !status.compliance.is_empty() {
            self.noted(status.compliance.clone());
        }
        let mut usage = status.usage.unwrap_or_default();
        if !complete && usage.output_tokens == 0 && status.content_bytes > 0 {
            usage.output_tokens = status.content_bytes.div_ceil(BYTES_PER_TOKEN);
            if usage.input_tokens == 0 {
                usage.input_tokens = (self.sent_bytes as u64).div_ceil(BYTES_PER_TOKEN);
            }
            self.trace.usage_estimated = true;
        }
        let reported = status.usage.is_some() || usage != Usage::default();
        record_usage(self.trace, cand, reported.then_some(usage));
        self.gw
            .metrics
            .malformed_events(&Arc::from(cand.provider.id.as_str()), status.malformed);
        usage
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
        h.push("transfer-encoding", Value::Static("chunked"));
        gateway_headers(&mut h, self.trace, cand);
        h
    }
}
