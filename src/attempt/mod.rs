//! The attempt stage (S1–S6, ARCHITECTURE.md decision 1): walks the planned candidates in
//! order, each with its provider's full retry policy, and forwards the first answer that
//! works. Every attempt asks the candidate's circuit breaker first; a failure is classified
//! from its status and error body (retry here, fail over, or give up); retries wait a
//! decorrelated-jitter backoff that honours `Retry-After` and fits the deadline. A request whose
//! every candidate has an open circuit gets a fast 503. For the realtime profile the first
//! attempt can be hedged with the next candidate ([`hedge`]). Answers are forwarded by
//! [`forward`] (whole bodies, or streams through a relay with the header held back until the
//! first content).
//!
//! Entry point: [`run`]. It drives a [`Downstream`] and an [`Upstream`] and so does not know
//! pingora; it may not depend on the proxy, the api or the inbound stage's code.

mod admit;
mod forward;
mod hedge;
mod once;
mod outcome;
mod prepare;
mod rescue;
mod stream;
#[cfg(test)]
mod tests;

pub use prepare::{DEFAULT_MAX_TOKENS, Mode, prepare};

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::ctx::{RequestCtx, Step, Trace};
use crate::downstream::Downstream;
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::gateway::Gateway;
use crate::inbound::Call;
use crate::inbound::controls::Controls;
use crate::resilience::backoff::Backoff;
use crate::resilience::classify::{self, FailureKind, Verdict};
use crate::routing::{self, Candidate, Profile, WindowNeed};
use crate::runtime::snapshot::{Snapshot, Tenant};
use crate::upstream::Upstream;
use outcome::{Last, Outcome};

/// Per-request settings of the walk.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub deadline: Instant,
    /// Time-to-first-byte limit from the routing profile (overrides provider settings).
    pub profile_ttft: Option<Duration>,
    /// Hedge the first attempt after this delay (realtime profile with hedging enabled).
    pub hedge_after: Option<Duration>,
    pub idle: Duration,
    pub connect: Duration,
    /// A stream that breaks mid-answer may be continued (mid-stream rescue), this many times.
    pub rescue: bool,
    pub max_continuations: u32,
}

impl Settings {
    /// From the configured timeouts and the client's controls.
    pub fn new(snap: &Snapshot, controls: &Controls) -> Settings {
        let realtime = controls.profile == Some(Profile::Realtime);
        Settings {
            deadline: controls.deadline,
            profile_ttft: controls.profile.and_then(Profile::ttft_limit),
            hedge_after: snap.hedge_delay.filter(|_| controls.failover && realtime),
            idle: snap.timeouts.stream_idle,
            connect: snap.timeouts.connect,
            rescue: controls.rescue && snap.max_continuations > 0,
            max_continuations: snap.max_continuations,
        }
    }
}

/// Serves the request in `ctx` (inbound and routing done) from its planned candidates.
pub async fn run<U: Upstream, D: Downstream>(
    gw: &Gateway,
    upstream: &U,
    down: &mut D,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
) -> Result<(), Failure> {
    let RequestCtx {
        id,
        started,
        caller,
        controls,
        call,
        plan,
        trace,
        ..
    } = ctx;
    let call = call
        .as_mut()
        .ok_or_else(|| GatewayError::new(ErrorKind::Internal, "no request to send"))?;
    let mut settings = Settings::new(snap, controls);
    settings.rescue = rescue::eligible(settings.max_continuations, settings.rescue, call);
    let mut walk = Walk {
        gw,
        upstream,
        down,
        snap,
        caller: caller.as_deref(),
        call,
        candidates: &plan.candidates,
        settings,
        request_id: id,
        started: *started,
        trace,
        first_content_by: controls.deadline,
        rescue: None,
        sent_bytes: 0,
    };
    match walk.walk().await {
        // The client's stream is open (a continuation was under way): it ends with an error
        // event, not an error response.
        Err(failure) if walk.rescue.is_some() && !matches!(failure, Failure::ClientGone) => {
            walk.end_rescue(&rescue::describe(&failure)).await
        }
        result => result,
    }
}

/// One request's walk over its candidates: what every step of the loop reads and writes.
pub(crate) struct Walk<'a, U, D> {
    gw: &'a Gateway,
    upstream: &'a U,
    down: &'a mut D,
    snap: &'a Snapshot,
    caller: Option<&'a Tenant>,
    call: &'a mut Call,
    candidates: &'a [Candidate],
    settings: Settings,
    request_id: &'a str,
    started: std::time::Instant,
    trace: &'a mut Trace,
    /// When the current attempt's first content must have arrived (its time-to-first-token
    /// limit; the deadline when it has none).
    first_content_by: Instant,
    /// Set while a stream that broke mid-answer is being continued.
    rescue: Option<Box<rescue::Rescue>>,
    /// Bytes of the current attempt's request body (to estimate its input tokens when the
    /// provider reports none).
    sent_bytes: usize,
}

impl<U: Upstream, D: Downstream> Walk<'_, U, D> {
    /// Walks the chain until a candidate serves the request.
    async fn walk(&mut self) -> Result<(), Failure> {
        let candidates = self.candidates;
        let mut last: Option<Last> = None;
        let mut circuit_wait: Option<Duration> = None;
        let mut admitted_any = false;
        let mut previous: Option<usize> = None;
        // After a context-length failure only candidates with a window that may fit are tried.
        let mut window_need: Option<WindowNeed> = None;
        let mut hedge_after = self.settings.hedge_after;
        let mut stop = false;
        for (index, cand) in candidates.iter().enumerate() {
            if !routing::fits_window(cand, window_need) {
                self.skipped(
                    index,
                    "its context window is too small for the prompt".into(),
                );
                continue;
            }
            let prepared = match self.prepare(index, true) {
                Ok(p) => p,
                Err(e) => {
                    self.skipped(index, e.message.clone().into());
                    last = Some(Last::Gateway(e));
                    continue;
                }
            };
            let policy = &cand.provider.retry;
            let mut backoff = Backoff::new(policy);
            let mut attempt_no = 0;
            while attempt_no < policy.max_attempts.max(1) {
                let probe = match admit::admit(self.gw, cand) {
                    Ok(probe) => probe,
                    Err(retry_after) => {
                        circuit_wait =
                            Some(circuit_wait.map_or(retry_after, |w| w.min(retry_after)));
                        self.gw.metrics.attempt(&label(cand), "circuit_open");
                        self.skipped(index, "circuit open".into());
                        break;
                    }
                };
                admitted_any = true;
                // Every attempt sent counts against its provider's quota.
                if let Some(q) = &self.snap.provider_quota {
                    self.gw.limiter.provider_sent(q, &cand.provider.id, 1, 0);
                }
                if attempt_no == 0
                    && let Some(p) = previous.filter(|p| *p != index)
                {
                    self.gw
                        .metrics
                        .failover(&candidates[p].provider.id, &cand.provider.id);
                    self.trace.failovers += 1;
                }
                // A continuation's request carries the answer so far: made for each attempt.
                let continuation = if self.rescue.is_some() {
                    match self.prepare_continuation(index) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            admit::release(self.gw, cand, probe);
                            last = Some(Last::Gateway(e));
                            break;
                        }
                    }
                } else {
                    None
                };
                let attempt = continuation.as_ref().unwrap_or(&prepared);
                // The realtime profile races the first attempt against the next candidate.
                let partner = hedge_after
                    .take()
                    .and_then(|delay| self.partner(index + 1, delay));
                let began = Instant::now();
                let outcome = match partner {
                    // Hedging is rare and its state (two attempts in flight) large: boxed, so
                    // that it is not part of every request's future.
                    Some(partner) => Box::pin(self.race(attempt, probe, partner)).await?,
                    None => self.try_once(attempt, probe).await?,
                };
                attempt_no += 1;
                let failed = match outcome {
                    Outcome::Served => {
                        // Every outcome is counted, `ok` included (a hedge's winner may be the
                        // partner: the trace names who served).
                        let served = self.trace.provider.clone().unwrap_or_else(|| label(cand));
                        self.gw.metrics.attempt(&served, "ok");
                        self.attempted(index, "ok".into(), Some(200), began);
                        return Ok(());
                    }
                    Outcome::Cut(cut) => {
                        // The client has part of the answer: the stream is continued, by the
                        // same candidate while its retries last, then by the next.
                        let classified = classify::classify_transport(cut.kind);
                        admit::report(self.gw, cand, probe, &classified, &cut.message);
                        self.attempted(
                            index,
                            format!("stream broke: {}", cut.message).into(),
                            None,
                            began,
                        );
                        last = Some(Last::Gateway(GatewayError::new(
                            ErrorKind::BadGateway,
                            cut.message.clone(),
                        )));
                        self.begin_continuation(*cut, label(cand));
                        continue;
                    }
                    Outcome::Failed(failed) => failed,
                };
                if let Last::Http { status, .. } = &failed.last
                    && self.prefill_refused(index, *status)
                {
                    // Asked again at once, without the prefill (not counted as a retry).
                    self.gw.metrics.attempt(&label(cand), "prefill_refused");
                    admit::release(self.gw, cand, probe);
                    attempt_no -= 1;
                    last = Some(failed.last);
                    continue;
                }
                let mut classified = failed.classified;
                // A silent provider (nothing within its time-to-first-token limit) is not
                // asked again unless its policy says so: the next candidate is.
                if classified.kind == FailureKind::Timeout
                    && matches!(failed.last, Last::Gateway(_))
                {
                    if !policy.retry_on_timeout {
                        classified.verdict = Verdict::FailOver;
                    }
                    // A limit the client chose (its routing profile's, shorter than the
                    // provider's own) says nothing about the provider's health.
                    if admit::client_chose_ttft(self.snap, cand, &self.settings) {
                        classified.trips_breaker = false;
                    }
                }
                // "No such model" about a name the catalog does not list says nothing about
                // the provider: such names share one breaker per provider.
                if classified.kind == FailureKind::NotFound && cand.card.is_none() {
                    classified.trips_breaker = false;
                }
                admit::report(self.gw, cand, probe, &classified, &failed.last.describe());
                let status = match &failed.last {
                    Last::Http { status, .. } => Some(*status),
                    Last::Gateway(_) => None,
                };
                self.attempted(
                    index,
                    classify::label(classified.kind).into(),
                    status,
                    began,
                );
                if classified.kind == FailureKind::ContextLength {
                    window_need = Some(window_need_after(&failed.last, cand));
                }
                last = Some(failed.last);
                match classified.verdict {
                    Verdict::GiveUp => {
                        stop = true;
                        break;
                    }
                    Verdict::FailOver => break,
                    Verdict::Retry if attempt_no < policy.max_attempts => {
                        let delay =
                            backoff.next_delay(policy, failed.retry_after, &mut rand::thread_rng());
                        if Instant::now() + delay >= self.settings.deadline {
                            break;
                        }
                        if let Some(step) = self.trace.steps.last_mut() {
                            step.retry_delay_ms = Some(delay.as_millis() as u64);
                        }
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = self.down.gone() => return Err(Failure::ClientGone),
                        }
                    }
                    Verdict::Retry => break,
                }
            }
            previous = Some(index);
            if stop {
                break;
            }
        }
        if self.rescue.is_some() {
            // The client's stream is open: it ends with an error event.
            let why = match &last {
                Some(Last::Http { status, .. }) => {
                    format!("the last provider answered HTTP {status}")
                }
                Some(Last::Gateway(e)) => e.message.clone(),
                None => "no provider could take the request".into(),
            };
            return self.end_rescue(&why).await;
        }
        if !admitted_any && let Some(wait) = circuit_wait {
            return Err(Failure::CircuitOpen {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        match last {
            Some(Last::Http {
                cand,
                status,
                body,
                retry_after,
            }) => {
                self.relay_error(&candidates[cand], status, body, retry_after)
                    .await
            }
            Some(Last::Gateway(e)) => Err(e.into()),
            None => Err(GatewayError::new(
                ErrorKind::Unavailable,
                "no provider could take the request",
            )
            .into()),
        }
    }
}

impl<U, D> Walk<'_, U, D> {
    /// The audit trail: the candidate at `candidate` (in the plan) was not tried, and why.
    fn skipped(&mut self, candidate: usize, why: Cow<'static, str>) {
        self.trace.steps.push(Step {
            candidate,
            action: "skipped",
            outcome: why,
            status: None,
            latency_ms: None,
            retry_delay_ms: None,
        });
    }

    /// The audit trail: an attempt on the candidate at `candidate` that began at `began` ended so.
    fn attempted(
        &mut self,
        candidate: usize,
        outcome: Cow<'static, str>,
        status: Option<u16>,
        began: Instant,
    ) {
        self.trace.steps.push(Step {
            candidate,
            action: "attempt",
            outcome,
            status,
            latency_ms: Some(began.elapsed().as_millis() as u64),
            retry_delay_ms: None,
        });
    }
}

/// What a context-length failure of `cand` says about the window the request needs: the
/// limit the provider stated, else the failed model's card (else any window).
fn window_need_after(last: &Last, cand: &Candidate) -> WindowNeed {
    let stated = match last {
        Last::Http { body, .. } => classify::stated_context_limit(body),
        Last::Gateway(_) => None,
    };
    match (stated, &cand.card) {
        (Some(limit), _) => WindowNeed::LargerThan(limit),
        (None, Some(card)) => WindowNeed::AtLeast(card.context_window),
        (None, None) => WindowNeed::AtLeast(0),
    }
}

/// A candidate's metric label.
fn label(cand: &Candidate) -> Arc<str> {
    Arc::from(cand.provider.id.as_str())
}
