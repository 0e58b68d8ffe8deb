//! The routing engine's endpoints: `GET /v1/routing-profiles` (the nine profiles and their
//! weights), `POST /v1/route` (dry run: the same decision a request would get, layer by layer,
//! no provider call) and the deployments of R12 (`GET /admin/deployments`,
//! `POST /admin/deployments/disable|enable`).

use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiRequest, Reply, json};
use crate::config::Classification;
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::inbound::controls::Controls;
use crate::inbound::endpoint::Endpoint;
use crate::inbound::request::RawRequest;
use crate::inbound::{self, auth};
use crate::routing::pipeline::explain;
use crate::routing::{self, Needs, Profile, Refused, Route};
use crate::runtime::snapshot::Snapshot;

pub(super) fn profiles(snap: &Snapshot) -> Reply {
    let default = routing::profile_of(snap, None);
    let data: Vec<Value> = Profile::ALL
        .iter()
        .map(|p| {
            let w = routing::weights(snap, *p);
            json!({
                "name": p.name(),
                "quality_weight": w.quality_weight,
                "cost_weight": w.cost_weight,
                "max_ttft_ms": w.max_ttft_ms,
                "quality_emphasis": w.emphasis,
                "requires": w.requires,
                "prefers": w.prefers,
                "best_for": p.best_for(),
                "default": *p == default,
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "object": "list", "data": data }))
}

/// `POST /v1/route`: a chat request (its `model` may be `auto`, and defaults to it) with the
/// routing headers; `profile`, `classification`, `capabilities` and `max_cost_usd` in the
/// body stand in for the headers and the request's own needs.
pub(super) async fn route(
    gw: &Gateway,
    snap: &Snapshot,
    req: &ApiRequest<'_>,
) -> Result<Reply, GatewayError> {
    // The admin token simulates for the operator (no key's model list applies); otherwise
    // the caller's own key, as on a real call.
    let caller = if auth::check_admin(snap, &req.head.headers).is_ok() {
        None
    } else {
        auth::authenticate_call(snap, &gw.tenancy, &req.head.headers).await?
    };
    let mut controls = Controls::parse(
        &req.head.headers,
        tokio::time::Instant::now(),
        snap.timeouts.total,
    )?;
    let raw = RawRequest::parse(req.body.clone())?;
    let mut summary = match raw.get("model") {
        Some(_) => raw.summary()?,
        None => crate::inbound::request::RequestSummary {
            model: "auto".into(),
            stream: false,
            include_usage: false,
        },
    };
    if let Some(p) = text_field(&raw, "profile")? {
        controls.profile = Some(Profile::parse(&p).ok_or_else(|| {
            bad(format!(
                "unknown profile `{p}`; use one of: {}",
                Profile::NAMES.join(", ")
            ))
        })?);
    }
    if let Some(c) = text_field(&raw, "classification")? {
        controls.classification = Classification::parse(&c).ok_or_else(|| {
            bad(format!(
                "unknown classification `{c}`; use one of: public, internal, cui, itar, classified"
            ))
        })?;
    }
    if let Some(v) = raw.get("max_cost_usd") {
        let cap = v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|c| c.is_finite() && *c >= 0.0)
            .ok_or_else(|| bad("`max_cost_usd` must be a number >= 0".into()))?;
        controls.max_cost_usd = Some(cap);
    }
    let endpoint = Endpoint::for_path("/v1/chat/completions")
        .ok_or_else(|| GatewayError::new(ErrorKind::Internal, "the chat endpoint is missing"))?;
    let mut needs = inbound::needs_of(endpoint.format, &raw);
    needs.stream = summary.stream;
    if let Some(caps) = raw.get_bytes("capabilities") {
        needs = with_capabilities(needs, caps)?;
    }
    summary.model = summary.model.trim().to_string();
    let today = gw.today();
    // The first member of a weighted pool is drawn per request; the dry run shows the
    // heaviest-first order (draw 0).
    let request = inbound::routing_request(
        endpoint,
        &raw,
        &summary,
        needs,
        &controls,
        caller.as_deref(),
        (&today, 0.0),
    );
    let (chain, route, refusal) =
        match routing::plan(snap, &gw.routes, &request, &|c| gw.unusable(c)) {
            Ok(plan) => (plan.candidates, plan.route, None),
            Err(refused) => {
                let Refused { error, route } = *refused;
                (Vec::new(), route.unwrap_or_default(), Some(error))
            }
        };
    Ok(json(
        StatusCode::OK,
        &report(&summary.model, &chain, &route, refusal.as_ref()),
    ))
}

fn report(
    requested: &str,
    chain: &[routing::Candidate],
    route: &Route,
    refusal: Option<&GatewayError>,
) -> Value {
    let (layers, skipped) = match &route.input {
        Some(input) => (
            explain::layers(input, &route.outcome),
            explain::skipped(input, &route.outcome),
        ),
        None => (json!([]), Vec::new()),
    };
    let headers: serde_json::Map<String, Value> = route
        .headers
        .iter()
        .map(|(k, v)| ((*k).to_string(), json!(v)))
        .collect();
    let mut out = json!({
        "model_requested": requested,
        "profile": route.profile.map(|p| p.name()),
        "ranked": route.ranked,
        "classification": route.ask.map(|a| a.classification.as_str()),
        "estimated_prompt_tokens": route.ask.map(|a| a.prompt_tokens),
        "max_cost_usd": route.ask.and_then(|a| a.max_cost_usd),
        "chain": chain.iter().map(|c| json!({ "model": c.model, "provider": c.provider.id })).collect::<Vec<_>>(),
        "layers": layers,
        "skipped": skipped,
        "headers": headers,
    });
    if let Some((bucket, score)) = route.bucket {
        out["bucket"] = json!({ "bucket": bucket.as_str(), "score": score });
    }
    if let Some(e) = refusal {
        out["refusal"] = json!({
            "status": e.status(),
            "code": e.kind.code(),
            "message": e.message,
            "context_window_limit": e.context_window_limit,
        });
    }
    out
}

fn with_capabilities(mut needs: Needs, caps: &[u8]) -> Result<Needs, GatewayError> {
    let names: Vec<String> = serde_json::from_slice(caps)
        .map_err(|_| bad("`capabilities` must be an array of capability names".into()))?;
    for name in names {
        match name.as_str() {
            "tools" => needs.tools = true,
            "vision" => needs.vision = true,
            "json_mode" => needs.json = true,
            "thinking" => needs.thinking = true,
            "streaming" => needs.stream = true,
            other => {
                return Err(bad(format!(
                    "unknown capability `{other}`; use tools, vision, json_mode, thinking or streaming"
                )));
            }
        }
    }
    Ok(needs)
}

fn text_field(raw: &RawRequest, key: &str) -> Result<Option<String>, GatewayError> {
    match raw.get_bytes(key) {
        None => Ok(None),
        Some(v) => serde_json::from_slice::<String>(v)
            .map(Some)
            .map_err(|_| bad(format!("`{key}` must be a string"))),
    }
}

fn bad(message: String) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message)
}

/// `GET /admin/deployments`: every `provider/model` of the catalog and whether it is enabled.
pub(super) fn deployments(gw: &Gateway, snap: &Snapshot) -> Reply {
    let data: Vec<Value> = snap
        .catalog
        .cards()
        .iter()
        .map(|c| {
            json!({
                "id": format!("{}/{}", c.provider, c.id),
                "provider": c.provider,
                "model": c.id,
                "enabled": !gw.deployments.is_disabled(&c.provider, &c.id),
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "object": "list", "data": data }))
}

/// `POST /admin/deployments/disable|enable` with `{"deployment": "<provider>/<model>"}`.
pub(super) fn set_deployment(
    gw: &Gateway,
    snap: &Snapshot,
    req: &ApiRequest<'_>,
    enabled: bool,
) -> Result<Reply, GatewayError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        deployment: String,
    }
    let body: Body = serde_json::from_slice(&req.body).map_err(|e| {
        bad(format!(
            "expected {{\"deployment\": \"<provider>/<model>\"}}: {e}"
        ))
    })?;
    let found = body
        .deployment
        .split_once('/')
        .and_then(|(provider, model)| {
            snap.catalog
                .lookup(provider, model)
                .map(|_| (provider, model))
        });
    let Some((provider, model)) = found else {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!(
                "no deployment `{}`; GET /admin/deployments lists them",
                body.deployment
            ),
        )
        .with_param("deployment"));
    };
    let changed = gw.deployments.set(provider, model, enabled);
    Ok(json(
        StatusCode::OK,
        &json!({
            "id": body.deployment,
            "provider": provider,
            "model": model,
            "enabled": enabled,
            "changed": changed,
        }),
    ))
}
