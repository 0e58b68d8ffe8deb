//! Forwarding a successful (2xx) upstream response to the client, and relaying a provider's
//! error answer. Whole bodies are read first (usage and cost known before the header, so
//! `X-Gateway-Cost-Usd` can be set; translated when formats differ). Streams go through a
//! [`Relay`](crate::translate::Relay) chosen here and are forwarded by [`super::stream`]; a continuation of a broken
//! stream gets the relay that splices it onto the client's ([`super::rescue`]).

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use tokio::time::Instant;

use super::Walk;
use super::outcome::{Outcome, logged};
use super::prepare::Mode;
use crate::compliance::policy::Noted;
use crate::config::ApiFormat;
use crate::ctx::Trace;
use crate::downstream::{self, ClientGone, Downstream, Head};
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::observability::cost::{cost_usd, format_cost};
use crate::resilience::classify::FailureKind;
use crate::routing::Candidate;
use crate::runtime::provider::Operation;
use crate::translate::ir::Usage;
use crate::translate::openai::usage_of_json;
use crate::translate::{Codec, Splice, blocked_error, continuation_relay, relay_for};
use crate::upstream::{Upstream, UpstreamResponse};

/// Why reading a body stopped early.
pub(super) enum ReadStop {
    Deadline,
    /// Nothing arrived for the idle limit.
    Idle,
    Broken(String),
    TooLarge,
    ClientGone,
}

/// Reads a whole upstream body (up to `limit`) before `deadline`, with at most `idle`
/// between two reads, watching the client.
pub(super) async fn read_all<R: UpstreamResponse, D: Downstream>(
    down: &mut D,
    resp: &mut R,
    deadline: Instant,
    idle: std::time::Duration,
    limit: usize,
) -> Result<Bytes, ReadStop> {
    let mut buf = BytesMut::new();
    loop {
        let read = match resp.read_body().now_or_never() {
            Some(r) => Ok(r),
            None => tokio::select! {
                r = tokio::time::timeout_at(deadline.min(Instant::now() + idle), resp.read_body()) => r,
                () = down.gone() => return Err(ReadStop::ClientGone),
            },
        };
        match read {
            Err(_) if Instant::now() >= deadline => return Err(ReadStop::Deadline),
            Err(_) => return Err(ReadStop::Idle),
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

/// Adds an attempt's usage and its cost at the candidate's card prices to the request's (a
/// continued stream has several attempts that streamed to the client).
pub(super) fn record_usage(trace: &mut Trace, cand: &Candidate, usage: Option<Usage>) {
    if let Some(card) = &cand.card {
        trace.cost_unknown |= !card.price_known;
    }
    let Some(u) = usage else {
        return;
    };
    trace.usage = Some(trace.usage.map_or(u, |before| before.plus(u)));
    if let Some(card) = &cand.card {
        trace.cost_usd += cost_usd(&u, card.input_price_per_mtok, card.output_price_per_mtok);
    }
}

/// `x-gateway-provider`, `x-gateway-model`, `x-gateway-retries`, and the `x-ratelimit-*`
/// headers when the caller's rate limits apply.
pub(super) fn gateway_headers(head: &mut Head, trace: &Trace, cand: &Candidate) {
    head.push("x-gateway-provider", cand.provider.id.clone());
    head.push("x-gateway-model", cand.model.clone());
    let retries = trace.attempts.saturating_sub(1);
    // Nearly always none: no allocation for it.
    match retries {
        0 => head.push("x-gateway-retries", "0"),
        n => head.push("x-gateway-retries", n.to_string()),
    }
    if let Some(quota) = &trace.quota {
        head.push_joined(|text, end| crate::limits::headers(quota, text, end));
    }
    for (name, value) in &trace.route_headers {
        head.push(name, value.clone());
    }
}

pub(super) fn gone(_: ClientGone) -> Failure {
    Failure::ClientGone
}

/// The answer to a request whose answer the output gate blocked, before anything was sent.
pub(super) fn blocked_failure(detectors: &[&str]) -> Failure {
    GatewayError::new(ErrorKind::Forbidden, blocked_error(detectors).message)
        .with_limit("compliance")
        .into()
}

impl<U: Upstream, D: Downstream> Walk<'_, U, D> {
    /// Counts and keeps what the output gate found.
    pub(super) fn noted(&mut self, noted: Vec<Noted>) {
        for n in &noted {
            self.gw.metrics.compliance(n);
        }
        self.trace.compliance.extend(noted);
    }

    /// A whole answer through the output gate (when it is on): redacted, or the failure that
    /// answers the client instead.
    fn gate_body(&mut self, body: Bytes) -> Result<Bytes, Failure> {
        let Some(gate) = &self.snap.sanitization.output else {
            return Ok(body);
        };
        match gate.json(&body) {
            Ok((redacted, noted)) => {
                self.noted(noted);
                Ok(redacted.map_or(body, Bytes::from))
            }
            Err(blocked) => {
                self.noted(blocked.noted);
                self.trace.error = Some("compliance_blocked");
                Err(blocked_failure(&blocked.detectors))
            }
        }
    }

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
        if let Some(rescue) = self.rescue.as_deref_mut() {
            // A continuation: its stream is spliced onto the client's open stream.
            let splice = rescue
                .splice
                .take()
                .unwrap_or_else(|| Splice::regenerate(&rescue.point.text, rescue.usage));
            let client = self.call.endpoint.format;
            let gate = self.snap.sanitization.output.as_ref().map(|p| p.stream());
            let relay =
                continuation_relay(cand.provider.format, client, &rescue.point, splice, gate);
            return match relay {
                Some(relay) if is_sse => self.forward_sse(resp, cand, relay).await,
                _ => Ok(Outcome::broken(
                    FailureKind::StreamBroken,
                    format!(
                        "provider `{}` did not answer the continuation with a stream",
                        cand.provider.id
                    ),
                )),
            };
        }
        if self.call.summary.stream && is_sse {
            let inject_usage = mode == Mode::Passthrough { inject_usage: true };
            let relay = relay_for(
                cand.provider.format,
                self.call.endpoint.format,
                inject_usage,
                self.call.summary.include_usage,
                unix_now(),
                self.settings.rescue,
                self.snap.sanitization.output.as_ref().map(|p| p.stream()),
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
        let (idle, limit) = (
            self.snap.timeouts.upstream_idle,
            self.snap.max_upstream_body_bytes,
        );
        let body = match read_all(self.down, &mut resp, deadline, idle, limit).await {
            Ok(b) => b,
            Err(ReadStop::ClientGone) => return Err(Failure::ClientGone),
            Err(ReadStop::Deadline) => return Err(GatewayError::new(
                ErrorKind::Timeout,
                "the provider's response did not finish before the deadline (x-gateway-timeout)",
            )
            .into()),
            Err(ReadStop::Idle) => {
                let message = format!(
                    "provider `{}` sent nothing for {} ms mid-response (resilience.timeout.upstream_idle_ms)",
                    cand.provider.id,
                    idle.as_millis()
                );
                return Ok(Outcome::broken(FailureKind::Timeout, message));
            }
            Err(ReadStop::TooLarge) => {
                return Err(GatewayError::new(
                    ErrorKind::BadGateway,
                    "the provider's response is larger than server.max_upstream_body_bytes",
                )
                .into());
            }
            Err(ReadStop::Broken(e)) => {
                let what = format!(
                    "provider `{}` broke the connection mid-response",
                    cand.provider.id
                );
                let message = logged(self.request_id, &cand.provider.id, &what, &e);
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
                    let what = format!(
                        "provider `{}` sent a response the gateway cannot read",
                        cand.provider.id
                    );
                    let message = logged(self.request_id, &cand.provider.id, &what, &e.message);
                    return Ok(Outcome::broken(FailureKind::StreamBroken, message));
                }
            },
        };
        record_usage(self.trace, cand, usage);
        // The output gate screens the answer as the client would get it (the provider's
        // work is paid for whatever it decides).
        let body = self.gate_body(body)?;
        let mut head = Head::new(200, content_type, self.request_id);
        gateway_headers(&mut head, self.trace, cand);
        if !self.trace.cost_unknown {
            head.push("x-gateway-cost-usd", format_cost(self.trace.cost_usd));
        }
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
        // A provider's error message may quote the request: it passes the gate too.
        let body = self.gate_body(body)?;
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
}

/// Seconds since the epoch, for responses whose provider gave no `created`.
pub(super) fn unix_now() -> u64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "the response's `created` is wall-clock time"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
