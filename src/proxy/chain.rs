//! The failover chain (S1–S6): walks the candidates in order, each with its provider's full
//! retry policy. Every attempt asks the candidate's circuit breaker first; a failure is
//! classified from its status and error body (retry here, fail over, or give up); retries wait
//! a decorrelated-jitter backoff that honours `Retry-After` and fits the deadline. A request
//! whose every candidate has an open circuit gets a fast 503. For the realtime profile the
//! first attempt can be hedged with the next candidate.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pingora::proxy::Session;
use tokio::time::Instant;

use super::App;
use super::attempt::{self, Call, Mode, Needs};
use super::ctx::RequestCtx;
use super::forward::{self, Failure, ReadStop, Served, client_gone};
use super::hedge;
use crate::errors::{ErrorKind, GatewayError};
use crate::resilience::backoff::{Backoff, parse_retry_after};
use crate::resilience::breaker::Admission;
use crate::resilience::classify::{self, Classified, FailureKind, Verdict};
use crate::routing::Candidate;
use crate::state::{Snapshot, Tenant};
use crate::translate::Codec;
use crate::upstream::{UpstreamRequest, UpstreamResponse};

/// Largest provider error body read to decide what to do.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Per-request settings of the walk.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `x-gateway-failover: disabled` → only the first candidate.
    pub failover: bool,
    pub deadline: Instant,
    /// Time-to-first-byte limit from the routing profile (overrides provider settings).
    pub profile_ttft: Option<Duration>,
    /// Hedge the first attempt after this delay (realtime profile with hedging enabled).
    pub hedge_after: Option<Duration>,
    pub idle: Duration,
    pub connect: Duration,
}

/// The last failure seen, answered when the chain is exhausted.
pub(super) enum Last {
    /// A provider's own error answer.
    Http {
        cand: usize,
        status: u16,
        body: Bytes,
        retry_after: Option<String>,
    },
    Gateway(GatewayError),
}

/// What one attempt produced.
pub(super) enum Attempted {
    Served,
    Failed {
        classified: Classified,
        retry_after: Option<Duration>,
        last: Last,
    },
}

/// Walks the chain until a candidate serves the request.
#[expect(
    clippy::too_many_arguments,
    reason = "the request's pieces, passed once"
)]
pub async fn walk(
    app: &App,
    snap: &Snapshot,
    session: &mut Session,
    ctx: &mut RequestCtx,
    call: &mut Call<'_>,
    candidates: &[Candidate],
    tenant: Option<&Tenant>,
    needs: Needs,
    settings: Settings,
) -> Result<(), Failure> {
    let tried = if settings.failover {
        candidates.len()
    } else {
        candidates.len().min(1)
    };
    let mut last: Option<Last> = None;
    let mut refusals = Vec::new();
    let mut circuit_wait: Option<Duration> = None;
    let mut admitted_any = false;
    let mut previous: Option<usize> = None;
    // After a context-length failure only candidates with a larger window are worth trying.
    let mut min_context: Option<u32> = None;
    let mut hedge_after = settings.hedge_after;
    let mut stop = false;
    let mut i = 0;
    while i < tried {
        let cand = &candidates[i];
        i += 1;
        if let Some(why) = needs.problem(cand) {
            refusals.push(why);
            continue;
        }
        if let (Some(min), Some(card)) = (min_context, &cand.card) {
            if card.context_window <= min {
                continue;
            }
        }
        let key = snap.upstream_key(&cand.provider, tenant);
        if cand.provider.needs_key() && key.is_none() {
            last = Some(Last::Gateway(GatewayError::new(
                ErrorKind::Unavailable,
                format!(
                    "provider `{}` has no API key: set `api_key` in its [[providers]] entry or map one to your key in [key_map]",
                    cand.provider.id
                ),
            )));
            continue;
        }
        if let Err(e) = ensure_ir(call, cand) {
            last = Some(Last::Gateway(e));
            continue;
        }
        let (req, mode) = match attempt::prepare(call, cand, key, &ctx.request_id) {
            Ok(p) => p,
            Err(e) => {
                last = Some(Last::Gateway(e));
                continue;
            }
        };
        let policy = &cand.provider.retry;
        let breaker_key = format!("{}/{}", cand.provider.id, cand.model);
        let mut backoff = Backoff::new(policy);
        for attempt_no in 0..policy.max_attempts.max(1) {
            let probe = match app.breakers.admit(&breaker_key, &cand.provider.breaker) {
                Admission::Allowed => false,
                Admission::Probe => true,
                Admission::Rejected { retry_after } => {
                    circuit_wait = Some(circuit_wait.map_or(retry_after, |w| w.min(retry_after)));
                    app.metrics.attempt(&label(cand), "circuit_open");
                    break;
                }
            };
            admitted_any = true;
            if attempt_no == 0 {
                if let Some(p) = previous.filter(|p| *p != i - 1) {
                    app.metrics
                        .failover(&candidates[p].provider.id, &cand.provider.id);
                }
            }
            // The realtime profile races the first attempt against the next candidate.
            let hedge = match hedge_after.take() {
                Some(delay) => hedge::partner(
                    app,
                    snap,
                    call,
                    candidates,
                    i,
                    tenant,
                    needs,
                    &ctx.request_id,
                    delay,
                ),
                None => None,
            };
            let outcome = match hedge {
                // Hedging is rare and its state (two attempts in flight) large: boxed, so
                // that it is not part of every request's future.
                Some(partner) => {
                    Box::pin(hedge::race(
                        app,
                        snap,
                        session,
                        ctx,
                        call,
                        (i - 1, cand, &req, mode, probe),
                        partner,
                        settings,
                        candidates,
                    ))
                    .await?
                }
                None => {
                    try_once(
                        app,
                        snap,
                        session,
                        ctx,
                        call,
                        i - 1,
                        cand,
                        &req,
                        mode,
                        probe,
                        settings,
                    )
                    .await?
                }
            };
            let (classified, retry_after, failure) = match outcome {
                Attempted::Served => return Ok(()),
                Attempted::Failed {
                    classified,
                    retry_after,
                    last,
                } => (classified, retry_after, last),
            };
            app.metrics
                .attempt(&label(cand), classify::label(classified.kind));
            let message = match &failure {
                Last::Http { status, .. } => format!("HTTP {status}"),
                Last::Gateway(e) => e.message.clone(),
            };
            if classified.trips_breaker {
                app.breakers
                    .record_failure(&breaker_key, &cand.provider.breaker, probe, &message);
            } else if probe {
                // The backend answered (a client-side error): it is alive.
                app.breakers
                    .record_success(&breaker_key, &cand.provider.breaker, true);
            }
            last = Some(failure);
            if classified.kind == FailureKind::ContextLength {
                min_context = cand.card.as_ref().map(|c| c.context_window).or(Some(0));
            }
            match classified.verdict {
                Verdict::GiveUp => {
                    stop = true;
                    break;
                }
                Verdict::FailOver => break,
                Verdict::Retry if attempt_no + 1 < policy.max_attempts => {
                    let delay = backoff.next_delay(policy, retry_after, &mut rand::thread_rng());
                    if Instant::now() + delay >= settings.deadline {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = client_gone(session) => return Err(Failure::ClientGone),
                    }
                }
                Verdict::Retry => break,
            }
        }
        previous = Some(i - 1);
        if stop {
            break;
        }
    }
    if !admitted_any {
        if let Some(wait) = circuit_wait {
            return Err(Failure::CircuitOpen {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
    }
    match last {
        Some(Last::Http {
            cand,
            status,
            body,
            retry_after,
        }) => {
            forward::relay_error(
                session,
                ctx,
                &candidates[cand],
                call,
                status,
                body,
                retry_after,
            )
            .await
        }
        Some(Last::Gateway(e)) => Err(e.into()),
        None if !refusals.is_empty() => Err(GatewayError::new(
            ErrorKind::BadRequest,
            format!(
                "no candidate can serve this request without dropping part of it: {}",
                refusals.join("; ")
            ),
        )
        .with_param("model")
        .into()),
        None => Err(GatewayError::new(
            ErrorKind::Unavailable,
            "no provider could take the request",
        )
        .into()),
    }
}

fn label(cand: &Candidate) -> Arc<str> {
    Arc::from(cand.provider.id.as_str())
}

/// Decodes the client's request into the IR when this candidate speaks another format.
fn ensure_ir(call: &mut Call<'_>, cand: &Candidate) -> Result<(), GatewayError> {
    let needs_ir = call.op == crate::providers::Operation::ChatCompletions
        && cand.provider.format != call.inbound;
    if needs_ir && call.ir.is_none() {
        call.ir = Some(Codec(call.inbound).decode_request(call.body)?);
    }
    Ok(())
}

/// Sends one attempt and forwards its answer, or reports why it failed.
#[expect(clippy::too_many_arguments, reason = "one attempt's pieces")]
async fn try_once(
    app: &App,
    snap: &Snapshot,
    session: &mut Session,
    ctx: &mut RequestCtx,
    call: &Call<'_>,
    index: usize,
    cand: &Candidate,
    req: &UpstreamRequest,
    mode: Mode,
    probe: bool,
    settings: Settings,
) -> Result<Attempted, Failure> {
    start_attempt(ctx, cand);
    let header_deadline = header_deadline(snap, cand, settings);
    let endpoint = app.endpoint_of(&cand.provider);
    let sent = tokio::select! {
        r = tokio::time::timeout_at(header_deadline, app.client.send(&endpoint, req, settings.connect)) => r,
        () = client_gone(session) => {
            release(app, cand, probe);
            return Err(Failure::ClientGone);
        }
    };
    let resp = match sent {
        Err(_) if Instant::now() >= settings.deadline => {
            release(app, cand, probe);
            return Err(deadline_error(settings).into());
        }
        Err(_) => {
            let e = GatewayError::new(
                ErrorKind::Timeout,
                format!(
                    "provider `{}` sent no response within its time-to-first-token limit",
                    cand.provider.id
                ),
            );
            return Ok(failed(FailureKind::Timeout, Last::Gateway(e)));
        }
        Ok(Err(e)) => {
            let kind = match e {
                crate::upstream::SendError::Connect(_) => FailureKind::Connect,
                crate::upstream::SendError::Io(_) => FailureKind::ConnectionReset,
            };
            let e = GatewayError::new(
                ErrorKind::BadGateway,
                format!("provider `{}`: {e}", cand.provider.id),
            );
            return Ok(failed(kind, Last::Gateway(e)));
        }
        Ok(Ok(resp)) => resp,
    };
    settle(
        app, session, ctx, call, index, cand, resp, mode, probe, settings,
    )
    .await
}

/// Handles a response whose header arrived.
#[expect(clippy::too_many_arguments, reason = "one attempt's pieces")]
pub(super) async fn settle(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    call: &Call<'_>,
    index: usize,
    cand: &Candidate,
    mut resp: UpstreamResponse,
    mode: Mode,
    probe: bool,
    settings: Settings,
) -> Result<Attempted, Failure> {
    ctx.provider = Some(Arc::from(cand.provider.id.as_str()));
    ctx.model = Some(Arc::from(cand.model.as_str()));
    if (200..300).contains(&resp.status) {
        ctx.ttft = Some(ctx.started.elapsed());
        let started = std::time::Instant::now();
        return match forward::forward(
            app,
            session,
            ctx,
            resp,
            cand,
            call,
            mode,
            settings.deadline,
            settings.idle,
        )
        .await
        {
            Ok(Served::Done) => {
                app.breakers.record_success(
                    &format!("{}/{}", cand.provider.id, cand.model),
                    &cand.provider.breaker,
                    probe,
                );
                app.pools.latency.observe(
                    &cand.provider.id,
                    &cand.model,
                    ctx.ttft.unwrap_or_else(|| started.elapsed()),
                );
                Ok(Attempted::Served)
            }
            Ok(Served::Retryable { kind, message }) => Ok(failed(
                kind,
                Last::Gateway(GatewayError::new(ErrorKind::BadGateway, message)),
            )),
            Err(e) => {
                release(app, cand, probe);
                Err(e)
            }
        };
    }
    let status = resp.status;
    let retry_after_header = resp.header("retry-after").map(str::to_string);
    let body = match forward::read_all(session, &mut resp, settings.deadline, MAX_ERROR_BODY).await
    {
        Ok(b) => b,
        Err(ReadStop::ClientGone) => {
            release(app, cand, probe);
            return Err(Failure::ClientGone);
        }
        Err(_) => Bytes::new(),
    };
    app.client.release(resp).await;
    let classified = classify::classify_status(status, &body, &cand.provider.retry);
    let retry_after = retry_after_header
        .as_deref()
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
    Ok(Attempted::Failed {
        classified,
        retry_after,
        last: Last::Http {
            cand: index,
            status,
            body,
            retry_after: retry_after_header,
        },
    })
}

pub(super) fn failed(kind: FailureKind, last: Last) -> Attempted {
    Attempted::Failed {
        classified: classify::classify_transport(kind),
        retry_after: None,
        last,
    }
}

pub(super) fn start_attempt(ctx: &mut RequestCtx, cand: &Candidate) {
    ctx.attempts += 1;
    ctx.provider = Some(Arc::from(cand.provider.id.as_str()));
    ctx.model = Some(Arc::from(cand.model.as_str()));
}

/// Frees a half-open probe slot that ended without a verdict.
pub(super) fn release(app: &App, cand: &Candidate, probe: bool) {
    if probe {
        app.breakers
            .release_probe(&format!("{}/{}", cand.provider.id, cand.model));
    }
}

pub(super) fn header_deadline(snap: &Snapshot, cand: &Candidate, settings: Settings) -> Instant {
    let ttft = settings
        .profile_ttft
        .or(cand.provider.ttft_ms.map(Duration::from_millis))
        .or(snap.timeouts.ttft_ms.map(Duration::from_millis));
    ttft.map_or(settings.deadline, |t| {
        settings.deadline.min(Instant::now() + t)
    })
}

pub(super) fn deadline_error(_settings: Settings) -> GatewayError {
    GatewayError::new(
        ErrorKind::Timeout,
        "the provider did not answer before the deadline (x-gateway-timeout header or resilience.timeout.default_total_ms)",
    )
}
