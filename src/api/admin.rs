//! The admin surface behind `server.admin_token`: providers, circuit breakers (list and
//! reset) and the membership of self-hosted replica pools.

use http::StatusCode;
use serde_json::json;

use super::{ApiRequest, Reply, json};
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::runtime::snapshot::Snapshot;
use crate::upstream::replicas::Replicas;

/// `GET /admin/providers`.
pub(super) fn providers(gw: &Gateway, snap: &Snapshot) -> Reply {
    let usable = gw.usable_providers(snap);
    let list: Vec<_> = snap
        .providers
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "provider_type": p.provider_type.as_str(),
                "api_format": p.format,
                "endpoint": format!("{}://{}{}", if p.endpoint.tls { "https" } else { "http" }, p.endpoint.host_header, p.endpoint.base_path),
                "has_api_key": p.api_key.is_some(),
                "usable": usable.contains(&p.id.as_str()),
                "models": snap.catalog.cards().iter().filter(|c| c.provider == p.id).count(),
                "replicas": gw.replicas.get(&p.id).map(|r| r.status()),
            })
        })
        .collect();
    json(StatusCode::OK, &json!({ "providers": list }))
}

/// `GET /admin/backends`: every circuit breaker's state.
pub(super) fn backends(gw: &Gateway) -> Reply {
    json(
        StatusCode::OK,
        &json!({ "backends": gw.breakers.snapshot() }),
    )
}

/// `POST /admin/backends/{name}/reset`: closes the named breakers (`provider/model`, or every
/// breaker of a provider).
pub(super) fn reset(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let name = crate::uri::decode(req.segment);
    let reset = gw.breakers.reset(&name);
    if reset == 0 {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!(
                "No circuit breaker named `{name}`: use a `provider/model` key or a provider id from GET /admin/backends."
            ),
        ));
    }
    Ok(json(
        StatusCode::OK,
        &json!({ "reset": reset, "name": name }),
    ))
}

fn pool<'g>(gw: &'g Gateway, id: &str) -> Result<&'g Replicas, GatewayError> {
    gw.replicas.get(id).map(|r| r.as_ref()).ok_or_else(|| {
        GatewayError::new(
            ErrorKind::NotFound,
            format!("provider `{id}` has no replica pool (it needs several `endpoints`)"),
        )
    })
}

fn listing(id: &str, replicas: &Replicas) -> Reply {
    json(
        StatusCode::OK,
        &json!({ "provider": id, "endpoints": replicas.status() }),
    )
}

/// `GET /admin/providers/{id}/endpoints`: a replica pool's endpoints and their health.
pub(super) fn endpoints(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    Ok(listing(req.segment, pool(gw, req.segment)?))
}

/// `POST /admin/providers/{id}/endpoints` with `{"add": url}` or `{"remove": url}`: changes a
/// replica pool at runtime.
pub(super) async fn change_endpoints(
    gw: &Gateway,
    req: &ApiRequest<'_>,
) -> Result<Reply, GatewayError> {
    let id = req.segment;
    let replicas = pool(gw, id)?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Change {
        add: Option<String>,
        remove: Option<String>,
    }
    let change: Change = serde_json::from_slice(&req.body).map_err(|e| {
        GatewayError::new(
            ErrorKind::BadRequest,
            format!("expected {{\"add\": url}} or {{\"remove\": url}}: {e}"),
        )
    })?;
    match (change.add, change.remove) {
        (Some(url), None) => replicas
            .add(&url)
            .await
            .map_err(|e| GatewayError::new(ErrorKind::BadRequest, e))?,
        (None, Some(url)) => {
            let removed = replicas
                .remove(&url)
                .await
                .map_err(|e| GatewayError::new(ErrorKind::BadRequest, e))?;
            if !removed {
                return Err(GatewayError::new(
                    ErrorKind::NotFound,
                    format!(
                        "`{}` is not an endpoint of `{id}`",
                        crate::uri::masked(&url)
                    ),
                ));
            }
        }
        _ => {
            return Err(GatewayError::new(
                ErrorKind::BadRequest,
                "send exactly one of `add` and `remove`",
            ));
        }
    }
    Ok(listing(id, replicas))
}
