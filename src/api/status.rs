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

/// `GET /ready`: 200 while some provider can take a request, else 503 with the reasons.
pub(super) fn ready(gw: &Gateway, snap: &Snapshot) -> Reply {
    let usable = gw.usable_providers(snap);
    if usable.is_empty() {
        let configured = snap.usable_providers();
        let unusable: serde_json::Map<String, serde_json::Value> = snap
            .providers
            .iter()
            .map(|p| {
                let why = if configured.contains(&p.id.as_str()) {
                    "no replica of its `endpoints` has passed the health check"
                } else {
                    "it needs an API key and has none"
                };
                (p.id.clone(), why.into())
            })
            .collect();
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({
                "status": "not_ready",
                "reason": "no provider is usable: configure at least one enabled provider with its API key (or a local/mock provider), and for replica `endpoints` at least one that answers its health check",
                "usable_providers": usable,
                "unusable_providers": unusable,
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
    let mut text = gw.metrics.render(
        gw.started.elapsed(),
        &gw.breakers.snapshot(),
        &gw.breakers.transitions(),
        gw.connections.count(),
    );
    let records = &gw.tenancy.records;
    text.push_str(&format!(
        "# HELP gateway_records_written_total Request records written to the store.\n\
         # TYPE gateway_records_written_total counter\n\
         gateway_records_written_total {}\n\
         # HELP gateway_records_dropped_total Request records dropped because the writer's queue was full.\n\
         # TYPE gateway_records_dropped_total counter\n\
         gateway_records_dropped_total {}\n",
        records.written(),
        records.dropped()
    ));
    if let Some(redis) = gw.limiter.redis() {
        text.push_str(&format!(
            "# HELP gateway_redis_up Whether the connection to Redis (shared limits) is up.\n\
             # TYPE gateway_redis_up gauge\n\
             gateway_redis_up {}\n\
             # HELP gateway_redis_errors_total Redis calls that failed (down, slow, refused); limits then follow rate_limit.on_redis_error.\n\
             # TYPE gateway_redis_errors_total counter\n\
             gateway_redis_errors_total {}\n",
            u8::from(redis.is_up()),
            redis.errors()
        ));
    }
    let mut resp = Response::new(Bytes::from(text));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}
