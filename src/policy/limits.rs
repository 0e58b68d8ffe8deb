//! The rate limits' admission, in the policy stage: which limits apply to the caller (its
//! own, its override, the defaults; its team's override), the tokens a request reserves
//! (its body's estimated input and its largest answer), and the 429 of a refusal, with
//! `Retry-After` and the limit's kind, in the caller's format.

use std::sync::Arc;

use crate::ctx::RequestCtx;
use crate::errors::{ErrorKind, GatewayError};
use crate::inbound::Call;
use crate::limits::{Denied, Kind, Limiter};
use crate::routing::Plan;
use crate::runtime::snapshot::Snapshot;

/// An answer's length when neither the request nor the model card says (tokens).
const DEFAULT_OUTPUT_TOKENS: u64 = 4_096;

/// Admits the request in `ctx` against its caller's limits (a gateway without limits, or a
/// caller without a key, is not limited).
pub async fn admit(
    limiter: &Arc<Limiter>,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
) -> Result<(), GatewayError> {
    let (Some(settings), Some(caller), Some(call)) = (
        snap.rate_limits.as_deref(),
        ctx.caller.as_ref(),
        ctx.call.as_ref(),
    ) else {
        return Ok(());
    };
    let policy = caller.policy.as_deref();
    let key = settings.for_key(
        &caller.id,
        caller.label.as_deref(),
        policy.map(|p| p.limits),
    );
    let team = policy
        .and_then(|p| p.team.as_deref())
        .and_then(|t| settings.for_team(t));
    let tokens = if key.tpm.is_some() || team.is_some_and(|t| t.tpm.is_some()) {
        estimated_tokens(call, &ctx.plan)
    } else {
        0
    };
    match limiter
        .admit(caller, key, team, tokens, settings.fail_open)
        .await
    {
        Ok(admission) => {
            ctx.trace.quota = Some(admission.quota);
            ctx.admission = Some(admission);
            Ok(())
        }
        Err(Denied::Unavailable(e)) => Err(GatewayError::new(
            ErrorKind::Unavailable,
            format!(
                "The rate limits cannot be checked ({e}) and are set to fail closed; retry shortly."
            ),
        )
        .with_retry_after(1)),
        Err(Denied::Limit(refusal)) => {
            let secs = refusal.retry_after_ms.div_ceil(1_000).max(1);
            let whose = if refusal.scope == 0 { "key" } else { "team" };
            let what = match refusal.kind {
                Kind::Rpm => format!("its {} requests per minute", refusal.limit),
                Kind::Rpd => format!("its {} requests per day", refusal.limit),
                Kind::Tpm if tokens > refusal.limit => format!(
                    "its {} tokens per minute (this request may use {tokens})",
                    refusal.limit
                ),
                Kind::Tpm => format!("its {} tokens per minute", refusal.limit),
                Kind::Concurrent => format!("its {} concurrent requests", refusal.limit),
            };
            Err(GatewayError::new(
                ErrorKind::RateLimited,
                format!("This API {whose} has used {what}; retry in {secs}s."),
            )
            .with_retry_after(secs)
            .with_limit(refusal.kind.as_str()))
        }
    }
}

/// Orders the candidates by their providers' quotas: one at the threshold goes last, one at
/// its limit is dropped; a 429 (kind `provider_quota`) when none is left.
pub fn provider_quotas(
    limiter: &Limiter,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
) -> Result<(), GatewayError> {
    let Some(settings) = snap.provider_quota.as_deref() else {
        return Ok(());
    };
    limiter
        .order_by_quota(settings, &mut ctx.plan.candidates, |c| &c.provider.id)
        .map_err(|wait_ms| {
            let secs = wait_ms.div_ceil(1_000).max(1);
            GatewayError::new(
                ErrorKind::RateLimited,
                format!(
                    "Every provider that serves this model has used its quota for now; retry in {secs}s."
                ),
            )
            .with_retry_after(secs)
            .with_limit("provider_quota")
        })
}

/// Tokens a request may use: its body at four bytes a token, and its answer at the
/// request's own cap, else the first candidate's largest answer.
fn estimated_tokens(call: &Call, plan: &Plan) -> u64 {
    let input = (call.raw.body().len() as u64).div_ceil(4);
    let output = super::asked_output(call).unwrap_or_else(|| {
        plan.candidates
            .first()
            .and_then(|c| c.card.as_deref())
            .map_or(DEFAULT_OUTPUT_TOKENS, |card| {
                u64::from(card.max_output_tokens)
            })
    });
    input + output
}
