//! Runtime providers (D2): `GET /v1/providers` (never a key), `POST /v1/providers` (one
//! `[[providers]]` table as JSON) and `DELETE /v1/providers/{id}`. A change is the running
//! configuration with that provider added or removed, checked like a file and swapped in as a
//! reload is ([`super::reload::apply`]); it lasts until the next reload or restart, which read
//! the file. A provider with several `endpoints` (a replica pool, built at start) cannot be
//! added at run time.

use http::StatusCode;
use serde_json::json;

use super::reload::{self, Refused};
use super::{ApiRequest, Reply, json};
use crate::config::{Config, ProviderConfig, validate};
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::runtime::snapshot::Snapshot;

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message)
}

/// `GET /v1/providers`.
pub(super) fn list(gw: &Gateway, snap: &Snapshot) -> Reply {
    super::admin::providers(gw, snap)
}

/// Checks `config` as a file would be checked; the first error names its key.
fn check(config: &Config) -> Result<(), GatewayError> {
    match validate(config).into_iter().find(|p| p.is_error()) {
        Some(p) => Err(bad(p.render("the new provider"))),
        None => Ok(()),
    }
}

fn swap(gw: &Gateway, config: Config, what: &str) -> Result<(), GatewayError> {
    reload::apply(gw, config, what)
        .map(|done| tracing::info!(changed = ?done.changed, "{what}"))
        .map_err(|Refused(why)| bad(why))
}

/// `POST /v1/providers`: adds the provider in the body.
pub(super) fn add(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let de = &mut serde_json::Deserializer::from_slice(&req.body);
    let provider: ProviderConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        bad(format!(
            "the provider is not valid at `{at}`: {}",
            e.inner()
        ))
    })?;
    if provider.endpoints.len() > 1 {
        return Err(bad(
            "a provider with several `endpoints` is a replica pool, set up at start: add it to the config file and restart",
        ));
    }
    let mut config = gw.snapshot.load().config().clone();
    if config.providers.iter().any(|p| p.id == provider.id) {
        return Err(GatewayError::new(
            ErrorKind::Conflict,
            format!(
                "a provider `{}` exists already; DELETE it first",
                provider.id
            ),
        ));
    }
    let id = provider.id.clone();
    config.providers.push(provider);
    check(&config)?;
    swap(gw, config, &format!("POST /v1/providers ({id})"))?;
    Ok(json(
        StatusCode::CREATED,
        &json!({ "id": id, "added": true }),
    ))
}

/// `DELETE /v1/providers/{id}`.
pub(super) fn remove(gw: &Gateway, id: &str) -> Result<Reply, GatewayError> {
    let mut config = gw.snapshot.load().config().clone();
    let Some(at) = config.providers.iter().position(|p| p.id == id) else {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("no provider `{id}`"),
        ));
    };
    if config.providers[at].endpoints.len() > 1 {
        return Err(bad(format!(
            "`{id}` is a replica pool, set up at start: remove it from the config file and restart"
        )));
    }
    config.providers.remove(at);
    check(&config)?;
    swap(gw, config, &format!("DELETE /v1/providers/{id}"))?;
    Ok(json(StatusCode::OK, &json!({ "id": id, "deleted": true })))
}
