//! Hedged requests (S6): for the realtime profile, when the primary has not produced a
//! response header after `hedge_delay_ms`, the next candidate is raced; the first successful
//! header wins and the loser's request is dropped, which closes its connection.

use std::time::Duration;

use tokio::time::Instant;

use super::Walk;
use super::admit::{self, Prepared};
use super::once::send_failed;
use super::outcome::Outcome;
use crate::downstream::Downstream;
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::resilience::classify::FailureKind;
use crate::upstream::{Upstream, UpstreamResponse};

/// The candidate raced against the primary, prepared and admitted.
pub(super) struct Partner {
    prepared: Prepared,
    probe: bool,
    delay: Duration,
}

impl<U: Upstream, D: Downstream> Walk<'_, U, D> {
    /// The candidate at `next`, when it may take a hedge: keyed, in a format the request is
    /// already in (decoding here is not worth a hedge), and admitted by its breaker.
    pub(super) fn partner(&mut self, next: usize, delay: Duration) -> Option<Partner> {
        let cand = self.candidates.get(next)?;
        let prepared = self.prepare(next, false).ok()?;
        let probe = admit::admit(self.gw, cand).ok()?;
        Some(Partner {
            prepared,
            probe,
            delay,
        })
    }

    /// Races the primary against a hedge started after `partner.delay` without a response
    /// header; the first successful header wins and the other request is dropped (its
    /// connection closed).
    pub(super) async fn race(
        &mut self,
        primary: &Prepared,
        p_probe: bool,
        partner: Partner,
    ) -> Result<Outcome, Failure> {
        let (gw, upstream, candidates) = (self.gw, self.upstream, self.candidates);
        let (p_cand, h_cand) = (
            &candidates[primary.index],
            &candidates[partner.prepared.index],
        );
        let h_probe = partner.probe;
        let (p_endpoint, h_endpoint) = (
            gw.endpoint_of(&p_cand.provider),
            gw.endpoint_of(&h_cand.provider),
        );
        admit::start_attempt(self.trace, p_cand);
        self.sent_bytes = primary.req.body.len();
        let connect = self.settings.connect;
        let p_deadline = admit::header_deadline(self.snap, p_cand, &self.settings);
        self.first_content_by = p_deadline;
        let primary_fut = tokio::time::timeout_at(
            p_deadline,
            upstream.send(&p_endpoint, &primary.req, connect),
        );
        let h_deadline = admit::header_deadline(self.snap, h_cand, &self.settings);
        // Not polled (so not sent) before `hedge_start` fires.
        let hedge_fut = async {
            tokio::time::timeout_at(
                h_deadline,
                upstream.send(&h_endpoint, &partner.prepared.req, connect),
            )
            .await
        };
        tokio::pin!(primary_fut, hedge_fut);
        let mut primary_done = false;
        let mut hedge_done = false;
        let mut hedge_started = false;
        let hedge_start = tokio::time::sleep(partner.delay);
        tokio::pin!(hedge_start);
        let mut primary_result = None;
        loop {
            tokio::select! {
                r = &mut primary_fut, if !primary_done => {
                    primary_done = true;
                    match r {
                        Ok(Ok(resp)) if (200..300).contains(&resp.status()) => {
                            gw.metrics.hedge(if hedge_started { "primary_won" } else { "not_needed" });
                            self.first_content_by = p_deadline;
                            admit::release(gw, h_cand, h_probe && !hedge_done);
                            return self.settle(primary.index, resp, primary.mode, p_probe).await;
                        }
                        other => {
                            primary_result = Some(other);
                            if !hedge_started || hedge_done {
                                break;
                            }
                        }
                    }
                }
                () = &mut hedge_start, if !hedge_started => {
                    hedge_started = true;
                    self.trace.attempts += 1;
                }
                r = &mut hedge_fut, if hedge_started && !hedge_done => {
                    hedge_done = true;
                    if let Ok(Ok(resp)) = r
                        && (200..300).contains(&resp.status()) {
                            gw.metrics.hedge("hedge_won");
                            self.first_content_by = h_deadline;
                            admit::release(gw, p_cand, p_probe);
                            let (index, mode) = (partner.prepared.index, partner.prepared.mode);
                            return self.settle(index, resp, mode, h_probe).await;
                        }
                    admit::release(gw, h_cand, h_probe);
                    if primary_done {
                        break;
                    }
                }
                () = self.down.gone() => {
                    admit::release(gw, p_cand, p_probe);
                    admit::release(gw, h_cand, h_probe && !hedge_done);
                    return Err(Failure::ClientGone);
                }
            }
        }
        if hedge_started {
            gw.metrics.hedge("both_failed");
        } else {
            // The primary failed before the hedge was sent: its admission goes unused.
            admit::release(gw, h_cand, h_probe);
        }
        // Neither produced a successful header: report the primary's outcome to the walk.
        match primary_result {
            Some(Ok(Ok(resp))) => {
                self.settle(primary.index, resp, primary.mode, p_probe)
                    .await
            }
            Some(Ok(Err(e))) => Ok(send_failed(&p_cand.provider.id, &e, self.request_id)),
            Some(Err(_)) if Instant::now() >= self.settings.deadline => {
                Err(admit::deadline_error().into())
            }
            _ => Ok(Outcome::transport(
                FailureKind::Timeout,
                GatewayError::new(
                    ErrorKind::Timeout,
                    format!("provider `{}` sent no response in time", p_cand.provider.id),
                ),
            )),
        }
    }
}
