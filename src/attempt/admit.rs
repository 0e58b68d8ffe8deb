//! Candidate admission, written once for the plain walk and for hedging: the candidate has a
//! key, the request can be put in its format ([`Walk::prepare`]), and its circuit breaker lets
//! the attempt through ([`admit`]); plus the bookkeeping around an admitted attempt.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::prepare::{self, Mode, ensure_ir};
use super::{Settings, Walk};
use crate::ctx::Trace;
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::resilience::breaker::Admission;
use crate::resilience::classify::{self, Classified};
use crate::routing::Candidate;
use crate::runtime::snapshot::Snapshot;
use crate::upstream::{Upstream, UpstreamRequest};

/// A candidate's upstream request, ready to send (again, on a retry).
#[derive(Debug)]
pub(super) struct Prepared {
    /// The candidate's index in the plan.
    pub index: usize,
    pub req: UpstreamRequest,
    pub mode: Mode,
}

impl<U: Upstream, D> Walk<'_, U, D> {
    /// Builds candidate `index`'s request: it needs a key when its provider does, and the IR
    /// when it speaks another format (decoded here when `decode`, else the candidate is
    /// refused).
    pub(super) fn prepare(&mut self, index: usize, decode: bool) -> Result<Prepared, GatewayError> {
        self.prepare_with(index, decode, None)
    }

    /// [`Walk::prepare`], with the answer so far as a trailing assistant message (`prefill`).
    pub(super) fn prepare_with(
        &mut self,
        index: usize,
        decode: bool,
        prefill: Option<&str>,
    ) -> Result<Prepared, GatewayError> {
        let cand = &self.candidates[index];
        let key = self.snap.upstream_key(&cand.provider, self.caller);
        if cand.provider.needs_key() && key.is_none() {
            return Err(GatewayError::new(
                ErrorKind::Unavailable,
                format!(
                    "provider `{}` has no API key: set `api_key` in its [[providers]] entry or map one to your key in [key_map]",
                    cand.provider.id
                ),
            ));
        }
        if decode {
            ensure_ir(self.call, cand)?;
        }
        let (req, mode) = prepare::prepare(self.call, cand, key, self.request_id, prefill)?;
        Ok(Prepared { index, req, mode })
    }
}

/// Asks `cand`'s circuit breaker: `Ok(probe)` (a half-open probe slot when `probe`), or how
/// long the circuit stays open.
pub(super) fn admit(gw: &Gateway, cand: &Candidate) -> Result<bool, Duration> {
    match gw
        .breakers
        .admit(&cand.breaker_key(), &cand.provider.breaker)
    {
        Admission::Allowed => Ok(false),
        Admission::Probe => Ok(true),
        Admission::Rejected { retry_after } => Err(retry_after),
    }
}

/// Counts a failed attempt and tells `cand`'s circuit breaker: a provider failure counts
/// against it; a client-side error shows the backend alive (a probe closes the circuit).
pub(super) fn report(
    gw: &Gateway,
    cand: &Candidate,
    probe: bool,
    classified: &Classified,
    description: &str,
) {
    gw.metrics.attempt(
        &Arc::from(cand.provider.id.as_str()),
        classify::label(classified.kind),
    );
    if classified.trips_breaker {
        gw.breakers.record_failure(
            &cand.breaker_key(),
            &cand.provider.breaker,
            probe,
            description,
        );
    } else if probe {
        gw.breakers
            .record_success(&cand.breaker_key(), &cand.provider.breaker, true);
    }
}

/// Frees a half-open probe slot that ended without a verdict.
pub(super) fn release(gw: &Gateway, cand: &Candidate, probe: bool) {
    if probe {
        gw.breakers.release_probe(&cand.breaker_key());
    }
}

/// Counts an attempt and names who it went to.
pub(super) fn start_attempt(trace: &mut Trace, cand: &Candidate) {
    trace.attempts += 1;
    served_by(trace, cand);
}

/// Names the provider and model that answered (or were last tried).
pub(super) fn served_by(trace: &mut Trace, cand: &Candidate) {
    trace.provider = Some(Arc::from(cand.provider.id.as_str()));
    trace.model = Some(Arc::from(cand.model.as_str()));
    trace.model_label = Some(Arc::from(cand.label()));
}

/// When `cand`'s response header must have arrived: its time-to-first-token limit (from the
/// routing profile, the provider or the config), within the deadline.
pub(super) fn header_deadline(snap: &Snapshot, cand: &Candidate, settings: &Settings) -> Instant {
    let ttft = settings
        .profile_ttft
        .or(cand.provider.ttft_ms.map(Duration::from_millis))
        .or(snap.timeouts.ttft);
    ttft.map_or(settings.deadline, |t| {
        settings.deadline.min(Instant::now() + t)
    })
}

/// Whether `cand`'s time-to-first-token limit is the client's choice (its routing profile's,
/// shorter than the provider's or config's own limit) rather than the operator's.
pub(super) fn client_chose_ttft(snap: &Snapshot, cand: &Candidate, settings: &Settings) -> bool {
    let own = cand
        .provider
        .ttft_ms
        .map(Duration::from_millis)
        .or(snap.timeouts.ttft);
    settings
        .profile_ttft
        .is_some_and(|chosen| own.is_none_or(|own| chosen < own))
}

/// The request's total deadline passed.
pub(super) fn deadline_error() -> GatewayError {
    GatewayError::new(
        ErrorKind::Timeout,
        "the provider did not answer before the deadline (x-gateway-timeout header or resilience.timeout.default_total_ms)",
    )
}
