//! The policy stage: what the caller may do with this request, decided after routing (it
//! needs the candidates' prices) and before anything is sent. A key from the store may be
//! limited to some models (names, aliases, pools, globs): the request's model, or the
//! candidates that serve it, must be allowed. Then the request's worst-case cost is reserved
//! against the key's and its team's budgets (settled by the proxy once the request ends).
//! Then the rate limits ([`limits::admit`]). Prompt sanitisation and the cache join here in
//! later issues.
//!
//! May depend on tenancy, limits, routing and inbound types, ctx and errors; not on pingora.

pub mod limits;

use crate::ctx::RequestCtx;
use crate::errors::{ErrorKind, GatewayError};
use crate::inbound::Call;
use crate::routing::Plan;
use crate::tenancy::Tenancy;

/// Applies the caller's policy to `ctx` (inbound and routing done).
pub async fn apply(tenancy: &Tenancy, ctx: &mut RequestCtx) -> Result<(), GatewayError> {
    let Some(tenant) = ctx.caller.clone() else {
        return Ok(());
    };
    let Some(call) = ctx.call.as_ref() else {
        return Ok(());
    };
    if let Some(policy) = &tenant.policy {
        allowed_models(policy, &call.summary.model, &mut ctx.plan)?;
    }
    if !tenancy.budgets_of(&tenant).is_empty() {
        priced_only(&mut ctx.plan)?;
    }
    let plan = &ctx.plan;
    let reservation = tenancy
        .reserve(&tenant, || worst_case_cost(call, plan))
        .await?;
    ctx.reservation = Some(reservation);
    Ok(())
}

/// A key with a budget keeps only candidates whose price is known (a model only catalog
/// sync knows costs an unknown amount); a 402 when none is left.
fn priced_only(plan: &mut Plan) -> Result<(), GatewayError> {
    let unpriced =
        |c: &crate::routing::Candidate| c.card.as_deref().is_some_and(|c| !c.price_known);
    let Some(first) = plan.candidates.iter().find(|c| unpriced(c)).cloned() else {
        return Ok(());
    };
    plan.candidates.retain(|c| !unpriced(c));
    if plan.candidates.is_empty() {
        return Err(GatewayError::new(
            ErrorKind::BudgetExceeded,
            format!(
                "the price of `{}/{}` is unknown (found by catalog sync, not priced in the \
                 catalog), so a key with a budget cannot use it; a [[models]] card can price it",
                first.provider.id, first.model
            ),
        )
        .with_limit("budget"));
    }
    Ok(())
}

/// Keeps the candidates the key may use; a 403 when none is left.
fn allowed_models(
    policy: &crate::runtime::tenant::Policy,
    requested: &str,
    plan: &mut Plan,
) -> Result<(), GatewayError> {
    if policy.allows(requested) {
        return Ok(());
    }
    plan.candidates.retain(|c| {
        policy.allows(&c.model) || policy.allows(&format!("{}/{}", c.provider.id, c.model))
    });
    if plan.candidates.is_empty() {
        return Err(GatewayError::new(
            ErrorKind::Forbidden,
            format!(
                "This API key may not use model `{requested}`; it may use: {}.",
                policy.models.join(", ")
            ),
        )
        .with_param("model"));
    }
    Ok(())
}

/// The answer's token cap the request sets itself, in any format's field.
pub fn asked_output(call: &Call) -> Option<u64> {
    crate::inbound::asked_output(&call.raw)
}

/// The most the request can cost on any of its candidates: every byte of the body counted as
/// an input token (no tokenizer makes more tokens than bytes), and the output at the
/// request's own cap, else the model's largest answer.
pub fn worst_case_cost(call: &Call, plan: &Plan) -> f64 {
    let input = call.raw.body().len() as f64;
    let asked = asked_output(call);
    plan.candidates
        .iter()
        .filter_map(|c| c.card.as_deref())
        .map(|card| {
            let output = asked.unwrap_or(u64::from(card.max_output_tokens)) as f64;
            (input * card.input_price_per_mtok + output * card.output_price_per_mtok) / 1e6
        })
        .fold(0.0, f64::max)
}
