//! One attempt: send the prepared request under the time-to-first-token limit while watching
//! the client, then settle what came back: a 2xx is forwarded ([`super::forward`]); an error
//! answer is read (bounded) and classified, so the walk can retry, fail over or give up.

use bytes::Bytes;
use tokio::time::Instant;

use super::Walk;
use super::admit::{self, Prepared};
use super::forward::{ReadStop, read_all};
use super::outcome::{Failed, Last, Outcome, logged};
use super::prepare::Mode;
use crate::downstream::Downstream;
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::resilience::backoff::parse_retry_after;
use crate::resilience::classify::{self, FailureKind};
use crate::upstream::{SendError, Upstream, UpstreamResponse};

/// Largest provider error body read to decide what to do.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// What a send that produced no response header means for the walk.
pub(super) fn send_failed(provider: &str, e: &SendError, request_id: &str) -> Outcome {
    let (kind, what) = match e {
        SendError::Connect(_) => (
            FailureKind::Connect,
            format!("provider `{provider}` could not be reached"),
        ),
        SendError::Io(_) => (
            FailureKind::ConnectionReset,
            format!("the connection to provider `{provider}` failed before its answer"),
        ),
        SendError::Local(_) => (
            FailureKind::Local,
            format!(
                "the gateway could not open a connection to provider `{provider}` (out of local resources)"
            ),
        ),
    };
    let message = logged(request_id, provider, &what, &e.to_string());
    Outcome::transport(kind, GatewayError::new(ErrorKind::BadGateway, message))
}

impl<U: Upstream, D: Downstream> Walk<'_, U, D> {
    /// Sends one attempt and forwards its answer, or reports why it failed.
    pub(super) async fn try_once(&mut self, p: &Prepared, probe: bool) -> Result<Outcome, Failure> {
        let (gw, upstream, candidates) = (self.gw, self.upstream, self.candidates);
        let cand = &candidates[p.index];
        admit::start_attempt(self.trace, cand);
        self.sent_bytes = p.req.body.len();
        let header_deadline = admit::header_deadline(self.snap, cand, &self.settings);
        self.first_content_by = header_deadline;
        let endpoint = gw.endpoint_of(&cand.provider);
        let sent = tokio::select! {
            r = tokio::time::timeout_at(header_deadline, upstream.send(&endpoint, &p.req, self.settings.connect)) => r,
            () = self.down.gone() => {
                admit::release(gw, cand, probe);
                return Err(Failure::ClientGone);
            }
        };
        match sent {
            Err(_) if Instant::now() >= self.settings.deadline => {
                admit::release(gw, cand, probe);
                Err(admit::deadline_error().into())
            }
            Err(_) => Ok(Outcome::transport(
                FailureKind::Timeout,
                GatewayError::new(
                    ErrorKind::Timeout,
                    format!(
                        "provider `{}` sent no response within its time-to-first-token limit",
                        cand.provider.id
                    ),
                ),
            )),
            Ok(Err(e)) => Ok(send_failed(&cand.provider.id, &e, self.request_id)),
            Ok(Ok(resp)) => self.settle(p.index, resp, p.mode, probe).await,
        }
    }

    /// Handles a response whose header arrived.
    pub(super) async fn settle(
        &mut self,
        index: usize,
        mut resp: U::Response,
        mode: Mode,
        probe: bool,
    ) -> Result<Outcome, Failure> {
        let (gw, candidates) = (self.gw, self.candidates);
        let cand = &candidates[index];
        admit::served_by(self.trace, cand);
        let status = resp.status();
        if !(200..=599).contains(&status) {
            // Not a status a client can be given (an interim or out-of-range code).
            self.upstream.release(resp).await;
            let message = format!(
                "provider `{}` answered with HTTP status {status}, which is not valid",
                cand.provider.id
            );
            return Ok(Outcome::broken(FailureKind::ServerError, message));
        }
        if (200..300).contains(&status) {
            if self.rescue.is_none() {
                self.trace.ttft = Some(self.started.elapsed());
            }
            return match self.forward(resp, cand, mode).await {
                Ok(Outcome::Served) => {
                    gw.breakers
                        .record_success(&cand.breaker_key(), &cand.provider.breaker, probe);
                    self.trace.served = true;
                    Ok(Outcome::Served)
                }
                Ok(failed) => Ok(failed),
                Err(e) => {
                    admit::release(gw, cand, probe);
                    Err(e)
                }
            };
        }
        let retry_after_header = resp.header("retry-after").map(str::to_string);
        let body = match read_all(
            self.down,
            &mut resp,
            self.settings.deadline,
            self.snap.timeouts.upstream_idle,
            MAX_ERROR_BODY,
        )
        .await
        {
            Ok(b) => b,
            Err(ReadStop::ClientGone) => {
                admit::release(gw, cand, probe);
                return Err(Failure::ClientGone);
            }
            Err(_) => Bytes::new(),
        };
        self.upstream.release(resp).await;
        let classified = classify::classify_status(status, &body, &cand.provider.retry);
        #[expect(
            clippy::disallowed_methods,
            reason = "an HTTP-date Retry-After is read against the wall clock"
        )]
        let now = std::time::SystemTime::now();
        let retry_after = retry_after_header
            .as_deref()
            .and_then(|v| parse_retry_after(v, now));
        Ok(Outcome::Failed(Failed {
            classified,
            retry_after,
            last: Last::Http {
                cand: index,
                status,
                body,
                retry_after: retry_after_header,
            },
        }))
    }
}
