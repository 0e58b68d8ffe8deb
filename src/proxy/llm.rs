//! The LLM endpoints' flow, stage by stage: inbound → (policy) → routing → attempt → record
//! what routing learns; a failure is answered once, in the caller's format.

use super::Broken;
use super::bridged::Bridged;
use super::cached::{self, Lookup};
use super::idempotent::{self, Claim, Recording};
use super::settle::{Settling, Sticky};
use crate::attempt;
use crate::config::ApiFormat;
use crate::ctx::RequestCtx;
use crate::downstream::{self, Downstream};
use crate::errors::Failure;
use crate::gateway::Gateway;
use crate::inbound::body::ClientRequest;
use crate::inbound::{self, endpoint::Endpoint};
use crate::policy;
use crate::routing;
use crate::runtime::provider::Operation;
use crate::runtime::snapshot::Snapshot;

/// Serves one LLM call; always answers from here (`Ok(true)`), or reports the client gone.
pub async fn serve<C: ClientRequest + Downstream>(
    gw: &Gateway,
    io: &mut C,
    ctx: &mut RequestCtx,
    endpoint: Endpoint,
) -> Result<(), Broken> {
    ctx.endpoint = endpoint.label;
    let result = run(gw, io, ctx, endpoint).await;
    if let Err(failure) = result {
        let gone = matches!(failure, Failure::ClientGone);
        let format = endpoint.error_format();
        downstream::failure(io, &mut ctx.trace, &ctx.id, failure, format)
            .await
            .map_err(|_| Broken)?;
        if gone {
            return Err(Broken);
        }
    }
    Ok(())
}

async fn run<C: ClientRequest + Downstream>(
    gw: &Gateway,
    io: &mut C,
    ctx: &mut RequestCtx,
    endpoint: Endpoint,
) -> Result<(), Failure> {
    let snap = gw.snapshot.load_full();
    // 1 inbound: method, key, content type, controls, body, decoding.
    let count = |n: &crate::compliance::policy::Noted| {
        gw.metrics.compliance(n);
    };
    let accepted = inbound::accept(&snap, &gw.tenancy, io, endpoint, &count).await?;
    ctx.trace.compliance = accepted.compliance;
    ctx.caller = accepted.caller;
    ctx.controls = accepted.controls;
    let call = ctx.call.insert(accepted.call);
    // 2 policy: limits, prompt sanitisation and the cache join the step after routing.
    // 3 routing: aliases, deprecations, `auto`, pools, pins, then the five-layer pipeline.
    #[expect(
        clippy::disallowed_methods,
        reason = "the proxy draws the weighted pools' random number"
    )]
    let draw = rand::random::<f64>();
    let today = if snap.routing.deprecations.is_empty() {
        String::new()
    } else {
        gw.today()
    };
    let request = inbound::routing_request(
        endpoint,
        &call.raw,
        &call.summary,
        call.needs,
        &ctx.controls,
        ctx.caller.as_deref(),
        (&today, draw),
    );
    match routing::plan(&snap, &gw.routes, &request, &|c| gw.unusable(c)) {
        Ok(plan) => ctx.plan = plan,
        Err(refused) => {
            // The audit trail keeps what the pipeline eliminated.
            let refused = *refused;
            if let Some(route) = refused.route {
                ctx.plan.route = route;
            }
            return Err(refused.error.into());
        }
    }
    ctx.trace.route_headers = std::mem::take(&mut ctx.plan.route.headers);
    // Legacy completions to a provider without the endpoint go through chat (A3).
    if endpoint.op == Operation::Completions
        && ctx
            .plan
            .candidates
            .first()
            .is_some_and(|c| c.provider.format != ApiFormat::Openai)
        && let Some(call) = ctx.call.as_mut()
    {
        inbound::bridge_completions(call)?;
    }
    // 2 policy (after routing: it needs the candidates' prices): allowed models, budgets.
    policy::apply(&gw.tenancy, ctx).await?;
    policy::limits::provider_quotas(&gw.limiter, &snap, ctx)?;
    policy::limits::admit(&gw.limiter, &snap, ctx).await?;
    // A repeat of an idempotent call is answered from what was kept (after the policy: a
    // revoked key or a spent budget is refused even a replay).
    let claim = idempotent::claim(gw, io.head(), ctx).await?;
    if let Claim::Replay(answer) = &claim {
        return idempotent::replay(io, ctx, answer).await;
    }
    // The response cache: a kept answer is written now; a miss keeps what is served.
    let keep_as = match cached::look(gw, &snap, &io.head().headers, ctx).await {
        Lookup::Hit(entry, similarity) => {
            let mut io = Settling::new(io, &gw.tenancy, ctx);
            let served = cached::replay(&mut io, ctx, &entry, similarity).await;
            io.restore(ctx);
            return served;
        }
        Lookup::Miss(key) => key,
        Lookup::Off => None,
    };
    // The attempt loop's future is large: boxed, so that a call answered before it (refused,
    // replayed, a cache hit) neither carries nor copies its size.
    Box::pin(dispatch(gw, io, ctx, &snap, claim, keep_as)).await?;
    // 6 what routing learns from a served answer.
    if let (true, Some(provider), Some(model), Some(ttft)) = (
        ctx.trace.served,
        &ctx.trace.provider,
        &ctx.trace.model_label,
        ctx.trace.ttft,
    ) {
        gw.routes.observe(provider, model, ttft);
    }
    Ok(())
}

/// 4 the attempt loop, with translation (5) and the response written as it goes; what is
/// kept of the answer (idempotency, the cache, the record's body) is kept here.
async fn dispatch<C: ClientRequest + Downstream>(
    gw: &Gateway,
    io: &mut C,
    ctx: &mut RequestCtx,
    snap: &Snapshot,
    claim: Claim,
    keep_as: Option<cached::Keep>,
) -> Result<(), Failure> {
    // A whole (not streamed) answer is kept for the request's record when bodies are kept.
    let keep_body = gw.tenancy.store_bodies && !ctx.stream();
    // What the call holds is settled just before its answer's last write.
    let conversation = ctx.controls.conversation.take();
    let sticky = conversation.as_deref().map(|conversation| Sticky {
        stats: &gw.routes,
        conversation,
        ttl: std::time::Duration::from_secs(snap.routing.sticky_ttl_secs),
    });
    // A bridged call's chat answer is rewritten into the client's API as it is written.
    let bridged = ctx.call.as_mut().and_then(|c| c.bridged.take());
    let bridge = bridged.as_ref().map(|(b, request)| (*b, &**request));
    let mut io = Settling::new(io, &gw.tenancy, ctx).sticking(sticky);
    if matches!(claim, Claim::None) && !keep_body && keep_as.is_none() {
        let mut down = Bridged::new(&mut io, bridge);
        let served = attempt::run(gw, &gw.client, &mut down, snap, ctx).await;
        io.restore(ctx);
        served?;
    } else {
        let headers = !matches!(claim, Claim::None) || keep_as.is_some();
        let mut keeper = keep_as.and_then(|k| cached::Keeper::new(gw, ctx, k));
        let hook = keeper
            .as_mut()
            .map(|k| k as &mut (dyn idempotent::BeforeLast + Send));
        let mut recording = Recording::new(&mut io, headers).before_last(hook);
        let mut down = Bridged::new(&mut recording, bridge);
        let served = attempt::run(gw, &gw.client, &mut down, snap, ctx).await;
        let recorded = served.is_ok().then(|| recording.into_recorded()).flatten();
        io.restore(ctx);
        if keep_body && let Some(r) = &recorded {
            ctx.response_body = Some(r.body());
        }
        if let (Some(keeper), Some(r)) = (keeper.as_mut(), &recorded) {
            keeper.after(ctx, r);
        }
        idempotent::finish(gw, claim, recorded);
        served?;
    }
    Ok(())
}
