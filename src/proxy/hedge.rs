//! Hedged requests (S6): for the realtime profile, when the primary has not produced a
//! response header after `hedge_delay_ms`, the next candidate is raced; the first successful
//! header wins and the loser's request is dropped, which closes its connection.

use std::time::Duration;

use pingora::proxy::Session;
use tokio::time::Instant;

use super::App;
use super::attempt::{self, Call, Mode, Needs};
use super::chain::{
    Attempted, Last, Settings, deadline_error, failed, header_deadline, release, settle,
    start_attempt,
};
use super::ctx::RequestCtx;
use super::forward::{Failure, client_gone};
use crate::config::Secret;
use crate::errors::{ErrorKind, GatewayError};
use crate::resilience::breaker::Admission;
use crate::resilience::classify::FailureKind;
use crate::routing::Candidate;
use crate::state::{Snapshot, Tenant};
use crate::upstream::UpstreamRequest;

/// The candidate raced against the primary, prepared.
pub(super) struct Partner {
    index: usize,
    req: UpstreamRequest,
    mode: Mode,
    probe: bool,
    delay: Duration,
}

/// The next candidate that may take a hedge: capable, keyed, same inbound decoding needs met,
/// and admitted by its breaker.
#[expect(clippy::too_many_arguments, reason = "the chain's pieces")]
pub(super) fn partner(
    app: &App,
    snap: &Snapshot,
    call: &Call<'_>,
    candidates: &[Candidate],
    next: usize,
    tenant: Option<&Tenant>,
    needs: Needs,
    request_id: &str,
    delay: Duration,
) -> Option<Partner> {
    let cand = candidates.get(next)?;
    if needs.problem(cand).is_some() {
        return None;
    }
    let key: Option<&Secret> = snap.upstream_key(&cand.provider, tenant);
    if cand.provider.needs_key() && key.is_none() {
        return None;
    }
    if cand.provider.format != call.inbound
        && call.ir.is_none()
        && call.op == crate::providers::Operation::ChatCompletions
    {
        // Decoding here would need `&mut Call`; hedging same-format or pre-decoded pairs only.
        return None;
    }
    let (req, mode) = attempt::prepare(call, cand, key, request_id).ok()?;
    let probe = match app.breakers.admit(
        &format!("{}/{}", cand.provider.id, cand.model),
        &cand.provider.breaker,
    ) {
        Admission::Allowed => false,
        Admission::Probe => true,
        Admission::Rejected { .. } => return None,
    };
    Some(Partner {
        index: next,
        req,
        mode,
        probe,
        delay,
    })
}

/// Races the primary against a hedge started after `partner.delay` without a response
/// header; the first successful header wins and the other request is dropped (its
/// connection closed).
#[expect(clippy::too_many_arguments, reason = "one attempt's pieces")]
pub(super) async fn race(
    app: &App,
    snap: &Snapshot,
    session: &mut Session,
    ctx: &mut RequestCtx,
    call: &Call<'_>,
    primary: (usize, &Candidate, &UpstreamRequest, Mode, bool),
    partner: Partner,
    settings: Settings,
    candidates: &[Candidate],
) -> Result<Attempted, Failure> {
    let (p_index, p_cand, p_req, p_mode, p_probe) = primary;
    let h_cand = &candidates[partner.index];
    let (p_endpoint, h_endpoint) = (
        app.endpoint_of(&p_cand.provider),
        app.endpoint_of(&h_cand.provider),
    );
    start_attempt(ctx, p_cand);
    let primary_fut = tokio::time::timeout_at(
        header_deadline(snap, p_cand, settings),
        app.client.send(&p_endpoint, p_req, settings.connect),
    );
    // Not polled (so not sent) before `hedge_start` fires.
    let hedge_fut = async {
        tokio::time::timeout_at(
            header_deadline(snap, h_cand, settings),
            app.client.send(&h_endpoint, &partner.req, settings.connect),
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
                    Ok(Ok(resp)) if (200..300).contains(&resp.status) => {
                        app.metrics.hedge(if hedge_started { "primary_won" } else { "not_needed" });
                        release(app, h_cand, partner.probe && !hedge_done);
                        return settle(app, session, ctx, call, p_index, p_cand, resp, p_mode, p_probe, settings).await;
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
                ctx.attempts += 1;
            }
            r = &mut hedge_fut, if hedge_started && !hedge_done => {
                hedge_done = true;
                if let Ok(Ok(resp)) = r {
                    if (200..300).contains(&resp.status) {
                        app.metrics.hedge("hedge_won");
                        release(app, p_cand, p_probe);
                        return settle(app, session, ctx, call, partner.index, h_cand, resp, partner.mode, partner.probe, settings).await;
                    }
                }
                release(app, h_cand, partner.probe);
                if primary_done {
                    break;
                }
            }
            () = client_gone(session) => {
                release(app, p_cand, p_probe);
                release(app, h_cand, partner.probe && !hedge_done);
                return Err(Failure::ClientGone);
            }
        }
    }
    if hedge_started {
        app.metrics.hedge("both_failed");
    } else {
        // The primary failed before the hedge was sent: its admission goes unused.
        release(app, h_cand, partner.probe);
    }
    // Neither produced a successful header: report the primary's outcome to the loop.
    let outcome = match primary_result {
        Some(Ok(Ok(resp))) => {
            settle(
                app, session, ctx, call, p_index, p_cand, resp, p_mode, p_probe, settings,
            )
            .await?
        }
        Some(Ok(Err(e))) => {
            let kind = match e {
                crate::upstream::SendError::Connect(_) => FailureKind::Connect,
                crate::upstream::SendError::Io(_) => FailureKind::ConnectionReset,
            };
            failed(
                kind,
                Last::Gateway(GatewayError::new(
                    ErrorKind::BadGateway,
                    format!("provider `{}`: {e}", p_cand.provider.id),
                )),
            )
        }
        Some(Err(_)) if Instant::now() >= settings.deadline => {
            return Err(deadline_error(settings).into());
        }
        _ => failed(
            FailureKind::Timeout,
            Last::Gateway(GatewayError::new(
                ErrorKind::Timeout,
                format!("provider `{}` sent no response in time", p_cand.provider.id),
            )),
        ),
    };
    Ok(outcome)
}
