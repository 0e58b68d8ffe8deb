//! Operational endpoints: `GET /` (what the gateway answers), `/health`, `/ready` and
//! `/metrics` (Prometheus text, with the circuit breakers' state).

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::json;

use super::{Reply, json};
use crate::gateway::Gateway;
use crate::runtime::snapshot::Snapshot;

/// `GET /`: the name, the version and every endpoint (`METHOD path`, from the route tables).
pub(super) fn index(endpoints: &[String]) -> Reply {
    json(
        StatusCode::OK,
        &json!({
            "name": "llm-gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "endpoints": endpoints,
        }),
    )
}

pub(super) fn health(gw: &Gateway, snap: &Snapshot) -> Reply {
    let providers: Vec<&str> = snap.providers.iter().map(|p| p.id.as_str()).collect();
    json(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_secs": gw.started.elapsed().as_secs(),
            "port": gw.port,
            "providers": providers,
        }),
    )
}

pub(super) fn ready(snap: &Snapshot) -> Reply {
    let usable = snap.usable_providers();
    if usable.is_empty() {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({
                "status": "not_ready",
                "reason": "no provider is usable: configure at least one enabled provider with its API key (or a local/mock provider)",
                "usable_providers": usable,
            }),
        )
    } else {
        json(
            StatusCode::OK,
            &json!({ "status": "ready", "usable_providers": usable }),
        )
    }
}

pub(super) fn metrics(gw: &Gateway) -> Reply {
    let text = gw.metrics.render(
        gw.started.elapsed(),
        &gw.breakers.snapshot(),
        &gw.breakers.transitions(),
    );
    let mut resp = Response::new(Bytes::from(text));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}
