//! The gateway's own endpoints (operational and admin): a route table of path, method and
//! access, and handlers over `http` request and response types. `proxy/` only dispatches here;
//! the admin API, the OpenAPI document and the portal of later issues grow here.
//!
//! Entry point: [`handle`]. May depend on the gateway's shared services, runtime, inbound
//! (auth, body reading) and observability; never on pingora, the attempt loop or the proxy.

mod admin;
mod analytics;
mod assets;
mod audit_log;
pub mod catalog;
mod keys;
mod models;
mod openapi;
mod providers;
mod query;
mod records;
pub mod reload;
mod routing;
mod signals;
mod status;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response, StatusCode};

use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::gateway::Gateway;
use crate::inbound::auth;
use crate::inbound::body::ClientRequest;
use crate::inbound::endpoint::ENDPOINTS;
use crate::runtime::snapshot::Snapshot;

/// Largest body an api endpoint reads.
const MAX_API_BODY: usize = 64 * 1024;

/// Where a route lives.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// One of these paths.
    Exact(&'static [&'static str]),
    /// `prefix{param}suffix`, the segment handed to the handler (`param` names it in `GET /`).
    Around {
        prefix: &'static str,
        param: &'static str,
        suffix: &'static str,
    },
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    /// A virtual key, when keys are configured (checked after the method).
    Key,
    /// `server.admin_token` (checked before anything else).
    Admin,
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Index,
    Health,
    Ready,
    Metrics,
    Models,
    Catalog,
    Providers,
    Backends,
    ResetBackend,
    ListEndpoints,
    ChangeEndpoints,
    CreateKey,
    ListKeys,
    GetKey,
    PatchKey,
    DeleteKey,
    CreateTeam,
    ListTeams,
    GetTeam,
    PatchTeam,
    DeleteTeam,
    AuditLog,
    Spend,
    Analytics,
    AnalyticsErrors,
    ClearAnalytics,
    Usage,
    ShowConfig,
    ReplaceConfig,
    ListRuntimeProviders,
    ReportSignal,
    DrainSignals,
    Quality,
    ModelQuality,
    Alerts,
    AddProvider,
    RemoveProvider,
    Requesters,
    Projects,
    Requests,
    Request,
    Stats,
    Audits,
    Audit,
    Profiles,
    RouteDryRun,
    Model,
    CountTokens,
    CatalogSync,
    SyncStatus,
    Scores,
    Deployments,
    DisableDeployment,
    EnableDeployment,
    OpenApi,
    Docs,
    Asset,
    ValidateConfig,
}

#[derive(Debug, Clone)]
struct Route {
    path: Path,
    /// `GET` routes answer `HEAD` too.
    method: Method,
    access: Access,
    label: &'static str,
    op: Op,
}

const fn route(path: Path, method: Method, access: Access, label: &'static str, op: Op) -> Route {
    Route {
        path,
        method,
        access,
        label,
        op,
    }
}

/// Every endpoint the gateway answers itself, besides the LLM endpoints.
const ROUTES: &[Route] = &[
    route(
        Path::Exact(&["/"]),
        Method::GET,
        Access::Public,
        "index",
        Op::Index,
    ),
    route(
        Path::Exact(&["/openapi.json"]),
        Method::GET,
        Access::Public,
        "docs",
        Op::OpenApi,
    ),
    route(
        Path::Exact(&["/docs"]),
        Method::GET,
        Access::Public,
        "docs",
        Op::Docs,
    ),
    route(
        Path::Around {
            prefix: "/assets/",
            param: "{file}",
            suffix: "",
        },
        Method::GET,
        Access::Public,
        "docs",
        Op::Asset,
    ),
    route(
        Path::Exact(&["/health"]),
        Method::GET,
        Access::Public,
        "health",
        Op::Health,
    ),
    route(
        Path::Exact(&["/ready"]),
        Method::GET,
        Access::Public,
        "ready",
        Op::Ready,
    ),
    route(
        Path::Exact(&["/metrics"]),
        Method::GET,
        Access::Public,
        "metrics",
        Op::Metrics,
    ),
    route(
        Path::Exact(&["/v1/models", "/models"]),
        Method::GET,
        Access::Key,
        "models",
        Op::Models,
    ),
    route(
        Path::Exact(&["/v1/catalog"]),
        Method::GET,
        Access::Key,
        "catalog",
        Op::Catalog,
    ),
    route(
        Path::Exact(&["/admin/providers"]),
        Method::GET,
        Access::Admin,
        "admin",
        Op::Providers,
    ),
    route(
        Path::Exact(&["/admin/backends"]),
        Method::GET,
        Access::Admin,
        "admin",
        Op::Backends,
    ),
    route(
        Path::Around {
            prefix: "/admin/backends/",
            param: "{name}",
            suffix: "/reset",
        },
        Method::POST,
        Access::Admin,
        "admin",
        Op::ResetBackend,
    ),
    route(
        Path::Around {
            prefix: "/admin/providers/",
            param: "{id}",
            suffix: "/endpoints",
        },
        Method::GET,
        Access::Admin,
        "admin",
        Op::ListEndpoints,
    ),
    route(
        Path::Around {
            prefix: "/admin/providers/",
            param: "{id}",
            suffix: "/endpoints",
        },
        Method::POST,
        Access::Admin,
        "admin",
        Op::ChangeEndpoints,
    ),
    route(KEYS, Method::POST, Access::Admin, "admin", Op::CreateKey),
    route(KEYS, Method::GET, Access::Admin, "admin", Op::ListKeys),
    route(KEY, Method::GET, Access::Admin, "admin", Op::GetKey),
    route(KEY, Method::PATCH, Access::Admin, "admin", Op::PatchKey),
    route(KEY, Method::DELETE, Access::Admin, "admin", Op::DeleteKey),
    route(TEAMS, Method::POST, Access::Admin, "admin", Op::CreateTeam),
    route(TEAMS, Method::GET, Access::Admin, "admin", Op::ListTeams),
    route(TEAM, Method::GET, Access::Admin, "admin", Op::GetTeam),
    route(TEAM, Method::PATCH, Access::Admin, "admin", Op::PatchTeam),
    route(TEAM, Method::DELETE, Access::Admin, "admin", Op::DeleteTeam),
    route(
        Path::Exact(&["/admin/audit-log"]),
        Method::GET,
        Access::Admin,
        "admin",
        Op::AuditLog,
    ),
    route(
        Path::Exact(&["/admin/spend"]),
        Method::GET,
        Access::Admin,
        "admin",
        Op::Spend,
    ),
    route(
        Path::Exact(&["/v1/requests"]),
        Method::GET,
        Access::Admin,
        "records",
        Op::Requests,
    ),
    route(
        Path::Around {
            prefix: "/v1/requests/",
            param: "{id}",
            suffix: "",
        },
        Method::GET,
        Access::Admin,
        "records",
        Op::Request,
    ),
    route(
        Path::Exact(&["/v1/stats"]),
        Method::GET,
        Access::Admin,
        "records",
        Op::Stats,
    ),
    route(
        Path::Exact(&["/admin/config"]),
        Method::GET,
        Access::Admin,
        "admin",
        Op::ShowConfig,
    ),
    route(
        Path::Exact(&["/admin/config"]),
        Method::PUT,
        Access::Admin,
        "admin",
        Op::ReplaceConfig,
    ),
    route(
        Path::Exact(&["/admin/config/validate"]),
        Method::POST,
        Access::Admin,
        "admin",
        Op::ValidateConfig,
    ),
    route(
        Path::Exact(&["/v1/providers"]),
        Method::GET,
        Access::Admin,
        "admin",
        Op::ListRuntimeProviders,
    ),
    route(
        Path::Exact(&["/v1/providers"]),
        Method::POST,
        Access::Admin,
        "admin",
        Op::AddProvider,
    ),
    route(
        Path::Around {
            prefix: "/v1/providers/",
            param: "{id}",
            suffix: "",
        },
        Method::DELETE,
        Access::Admin,
        "admin",
        Op::RemoveProvider,
    ),
    route(
        Path::Exact(&["/v1/signals"]),
        Method::POST,
        Access::Key,
        "signals",
        Op::ReportSignal,
    ),
    route(
        Path::Exact(&["/v1/signals"]),
        Method::GET,
        Access::Admin,
        "signals",
        Op::DrainSignals,
    ),
    route(
        Path::Exact(&["/v1/quality"]),
        Method::GET,
        Access::Admin,
        "signals",
        Op::Quality,
    ),
    route(
        Path::Around {
            prefix: "/v1/quality/",
            param: "{model}",
            suffix: "",
        },
        Method::GET,
        Access::Admin,
        "signals",
        Op::ModelQuality,
    ),
    route(
        Path::Exact(&["/v1/alerts"]),
        Method::POST,
        Access::Admin,
        "signals",
        Op::Alerts,
    ),
    route(
        Path::Exact(&["/v1/analytics"]),
        Method::GET,
        Access::Admin,
        "analytics",
        Op::Analytics,
    ),
    route(
        Path::Exact(&["/v1/analytics"]),
        Method::DELETE,
        Access::Admin,
        "analytics",
        Op::ClearAnalytics,
    ),
    route(
        Path::Exact(&["/v1/usage"]),
        Method::GET,
        Access::Key,
        "analytics",
        Op::Usage,
    ),
    route(
        Path::Exact(&["/v1/analytics/errors"]),
        Method::GET,
        Access::Admin,
        "analytics",
        Op::AnalyticsErrors,
    ),
    route(
        Path::Exact(&["/v1/analytics/requesters"]),
        Method::GET,
        Access::Admin,
        "analytics",
        Op::Requesters,
    ),
    route(
        Path::Exact(&["/v1/projects"]),
        Method::GET,
        Access::Admin,
        "analytics",
        Op::Projects,
    ),
    route(
        Path::Exact(&["/v1/audit"]),
        Method::GET,
        Access::Admin,
        "records",
        Op::Audits,
    ),
    route(
        Path::Around {
            prefix: "/v1/audit/",
            param: "{request_id}",
            suffix: "",
        },
        Method::GET,
        Access::Admin,
        "records",
        Op::Audit,
    ),
    route(
        Path::Around {
            prefix: "/v1/models/",
            param: "{id}",
            suffix: "",
        },
        Method::GET,
        Access::Key,
        "models",
        Op::Model,
    ),
    route(
        Path::Exact(&["/v1/messages/count_tokens", "/messages/count_tokens"]),
        Method::POST,
        Access::Key,
        "count_tokens",
        Op::CountTokens,
    ),
    route(
        Path::Exact(&["/v1/catalog/sync"]),
        Method::POST,
        Access::Admin,
        "catalog",
        Op::CatalogSync,
    ),
    route(
        Path::Exact(&["/v1/catalog/sync-status"]),
        Method::GET,
        Access::Key,
        "catalog",
        Op::SyncStatus,
    ),
    route(
        Path::Around {
            prefix: "/v1/catalog/",
            param: "{model}",
            suffix: "/scores",
        },
        Method::POST,
        Access::Admin,
        "catalog",
        Op::Scores,
    ),
    route(
        Path::Exact(&["/v1/routing-profiles"]),
        Method::GET,
        Access::Key,
        "routing",
        Op::Profiles,
    ),
    route(
        Path::Exact(&["/v1/route"]),
        Method::POST,
        Access::Public,
        "routing",
        Op::RouteDryRun,
    ),
    route(
        Path::Exact(&["/admin/deployments"]),
        Method::GET,
        Access::Admin,
        "admin",
        Op::Deployments,
    ),
    route(
        Path::Exact(&["/admin/deployments/disable"]),
        Method::POST,
        Access::Admin,
        "admin",
        Op::DisableDeployment,
    ),
    route(
        Path::Exact(&["/admin/deployments/enable"]),
        Method::POST,
        Access::Admin,
        "admin",
        Op::EnableDeployment,
    ),
];

const KEYS: Path = Path::Exact(&["/admin/keys"]);
const KEY: Path = Path::Around {
    prefix: "/admin/keys/",
    param: "{id}",
    suffix: "",
};
const TEAMS: Path = Path::Exact(&["/admin/teams"]);
const TEAM: Path = Path::Around {
    prefix: "/admin/teams/",
    param: "{id}",
    suffix: "",
};

impl Path {
    /// The captured segment (empty for exact paths) when `path` matches.
    fn matches(self, path: &str) -> Option<&str> {
        match self {
            Path::Exact(paths) => paths.contains(&path).then_some(""),
            Path::Around { prefix, suffix, .. } => path
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix)),
        }
    }

    /// The paths as `GET /` shows them.
    fn shown(self) -> Vec<String> {
        match self {
            Path::Exact(paths) => paths.iter().map(|p| p.to_string()).collect(),
            Path::Around {
                prefix,
                param,
                suffix,
            } => vec![format!("{prefix}{param}{suffix}")],
        }
    }
}

/// Every endpoint the gateway answers, as `METHOD path`: the LLM endpoints, then the route
/// table (`GET` routes answer `HEAD` too).
fn endpoint_list() -> Vec<String> {
    let llm = ENDPOINTS
        .iter()
        .flat_map(|r| r.paths.iter().map(|p| format!("POST {p}")));
    let api = ROUTES.iter().flat_map(|r| {
        r.path
            .shown()
            .into_iter()
            .map(move |p| format!("{} {p}", r.method))
    });
    llm.chain(api).collect()
}

impl Route {
    fn answers(&self, method: &Method) -> bool {
        *method == self.method || (self.method == Method::GET && *method == Method::HEAD)
    }
}

/// A request to an api endpoint.
pub struct ApiRequest<'a> {
    pub head: &'a Parts,
    /// The path segment a route captures (`{name}` in `/admin/backends/{name}/reset`).
    pub segment: &'a str,
    pub body: Bytes,
    /// The key (or JWT tenant) that called a key route; `None` on an open gateway or with
    /// the admin token.
    pub caller: Option<std::sync::Arc<crate::runtime::snapshot::Tenant>>,
}

/// An api answer.
pub type Reply = Response<Bytes>;

/// The endpoint label of `path` (for metrics, before the request is answered).
pub fn label_of(path: &str) -> &'static str {
    match ROUTES.iter().find(|r| r.path.matches(path).is_some()) {
        Some(r) => r.label,
        None if is_admin(path) => "admin",
        None => "not_found",
    }
}

fn is_admin(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// Answers a non-LLM request.
pub async fn handle<C: ClientRequest>(gw: &Gateway, client: &mut C) -> Result<Reply, Failure> {
    let snap = gw.snapshot.load_full();
    let head = client.head();
    let path = head.uri.path();
    let matching: Vec<(&Route, &str)> = ROUTES
        .iter()
        .filter_map(|r| r.path.matches(path).map(|seg| (r, seg)))
        .collect();
    let Some((first, _)) = matching.first() else {
        if is_admin(path) {
            auth::check_admin(&snap, &head.headers)?;
            return Err(GatewayError::new(
                ErrorKind::NotFound,
                format!("No admin endpoint at `{path}`."),
            )
            .into());
        }
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("No endpoint at `{path}`. GET / lists the gateway's endpoints."),
        )
        .into());
    };
    if first.access == Access::Admin {
        auth::check_admin(&snap, &head.headers)?;
    }
    let Some(&(route, segment)) = matching.iter().find(|(r, _)| r.answers(&head.method)) else {
        let allow = allowed(matching.iter().map(|(r, _)| &r.method));
        let message = format!("This endpoint only answers {allow}.");
        return Err(GatewayError::method_not_allowed(message, allow).into());
    };
    // A path whose methods differ in access (`POST /v1/signals` for keys, `GET` for the admin).
    if route.access == Access::Admin && first.access != Access::Admin {
        auth::check_admin(&snap, &head.headers)?;
    }
    // The admin token reads what a key may (the portal's catalog, profiles and models), but
    // a key's own usage is the key's.
    let caller = if route.access == Access::Key
        && (route.op == Op::Usage || auth::check_admin(&snap, &head.headers).is_err())
    {
        auth::authenticate_call(&snap, &gw.tenancy, &head.headers).await?
    } else {
        None
    };
    let segment = segment.to_string();
    let takes_body = matches!(route.method, Method::POST | Method::PATCH | Method::PUT)
        && !matches!(route.op, Op::ResetBackend | Op::CatalogSync);
    let body = if matches!(route.op, Op::ReplaceConfig | Op::ValidateConfig) {
        reload::check_toml_content_type(&client.head().headers)?;
        crate::inbound::body::read_body(client, reload::MAX_CONFIG_BYTES, snap.edge.request_head)
            .await?
    } else if takes_body {
        // `POST /v1/alerts` may come without a body (its options all have defaults).
        let headers = &client.head().headers;
        let declared = headers.contains_key(http::header::TRANSFER_ENCODING)
            || headers
                .get(http::header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0");
        if route.op != Op::Alerts || declared {
            crate::inbound::body::check_json_content_type(headers)?;
        }
        // The dry run reads what an LLM call may send (a prompt too large for every window
        // is its 413 to show).
        let cap = if matches!(route.op, Op::RouteDryRun | Op::CountTokens) {
            snap.max_body_bytes
        } else {
            MAX_API_BODY
        };
        crate::inbound::body::read_body(client, cap, snap.edge.request_head).await?
    } else {
        Bytes::new()
    };
    let req = ApiRequest {
        head: client.head(),
        segment: &segment,
        body,
        caller,
    };
    Ok(answer(gw, &snap, route.op, &req).await?)
}

async fn answer(
    gw: &Gateway,
    snap: &Snapshot,
    op: Op,
    req: &ApiRequest<'_>,
) -> Result<Reply, GatewayError> {
    match op {
        Op::Index if assets::wants_html(&req.head.headers) => Ok(assets::portal()),
        Op::Index => Ok(status::index(&endpoint_list())),
        Op::OpenApi => Ok(openapi::document()),
        Op::Docs => Ok(assets::docs()),
        Op::Asset => assets::serve(req.segment),
        Op::ValidateConfig => reload::check(gw, req),
        Op::Health => Ok(status::health(gw, snap)),
        Op::Ready => Ok(status::ready(gw, snap)),
        Op::Metrics => Ok(status::metrics(gw)),
        Op::Models => Ok(models::models(snap)),
        Op::Catalog => Ok(models::catalog(snap)),
        Op::Providers => Ok(admin::providers(gw, snap)),
        Op::Backends => Ok(admin::backends(gw)),
        Op::ResetBackend => {
            let reply = admin::reset(gw, req)?;
            let name = crate::uri::decode(req.segment);
            audit_log::record(gw, req, "circuit.reset", &name, serde_json::json!({})).await;
            Ok(reply)
        }
        Op::ListEndpoints => admin::endpoints(gw, req),
        Op::ChangeEndpoints => {
            let reply = admin::change_endpoints(gw, req).await?;
            let detail = serde_json::from_slice(&req.body).unwrap_or_default();
            audit_log::record(gw, req, "replicas.change", req.segment, detail).await;
            Ok(reply)
        }
        Op::CreateKey => keys::create_key(gw, req).await,
        Op::ListKeys => keys::list_keys(gw).await,
        Op::GetKey => keys::get_key(gw, req).await,
        Op::PatchKey => keys::patch_key(gw, req).await,
        Op::DeleteKey => keys::delete_key(gw, req).await,
        Op::CreateTeam => keys::create_team(gw, req).await,
        Op::ListTeams => keys::list_teams(gw).await,
        Op::GetTeam => keys::get_team(gw, req).await,
        Op::PatchTeam => keys::patch_team(gw, req).await,
        Op::DeleteTeam => keys::delete_team(gw, req).await,
        Op::AuditLog => audit_log::list(gw, req).await,
        Op::Spend => records::spend(gw, req).await,
        Op::Requests => records::list(gw, req).await,
        Op::Request => records::get(gw, req).await,
        Op::Stats => records::stats(gw, req).await,
        Op::Analytics => analytics::usage(gw, req).await,
        Op::ShowConfig => Ok(reload::show(gw)),
        Op::ReportSignal => signals::report(gw, req).await,
        Op::DrainSignals => signals::drain(gw, req).await,
        Op::Quality => signals::quality(gw, req).await,
        Op::ModelQuality => signals::model_quality(gw, req).await,
        Op::Alerts => signals::alerts(gw, req).await,
        Op::ListRuntimeProviders => Ok(providers::list(gw, snap)),
        Op::AddProvider => {
            let reply = providers::add(gw, req)?;
            let detail = serde_json::from_slice::<serde_json::Value>(&req.body)
                .map(|mut v| {
                    // The provider's key is never logged.
                    if let Some(o) = v.as_object_mut() {
                        o.remove("api_key");
                    }
                    v
                })
                .unwrap_or_default();
            audit_log::record(gw, req, "provider.add", "", detail).await;
            Ok(reply)
        }
        Op::RemoveProvider => {
            let id = crate::uri::decode(req.segment);
            let reply = providers::remove(gw, &id)?;
            audit_log::record(gw, req, "provider.remove", &id, serde_json::Value::Null).await;
            Ok(reply)
        }
        Op::ReplaceConfig => {
            let reply = reload::replace(gw, req)?;
            audit_log::record(gw, req, "config.replace", "", serde_json::Value::Null).await;
            Ok(reply)
        }
        Op::AnalyticsErrors => analytics::errors(gw, req).await,
        Op::ClearAnalytics => {
            let reply = analytics::clear(gw, req).await?;
            let detail = serde_json::json!({ "query": req.head.uri.query() });
            audit_log::record(gw, req, "analytics.clear", "", detail).await;
            Ok(reply)
        }
        Op::Usage => analytics::own_usage(gw, req).await,
        Op::Requesters => analytics::requesters(gw, req).await,
        Op::Projects => analytics::projects(gw, req).await,
        Op::Audits => records::audits(gw, req).await,
        Op::Audit => records::audit(gw, req).await,
        Op::Model => models::model(snap, &crate::uri::decode(req.segment)),
        Op::CountTokens => models::count_tokens(snap, &req.body),
        Op::CatalogSync => {
            let reply = catalog::sync_now(gw).await?;
            audit_log::record(gw, req, "catalog.sync", "", serde_json::json!({})).await;
            Ok(reply)
        }
        Op::SyncStatus => Ok(catalog::sync_status(gw, snap)),
        Op::Scores => {
            let reply = catalog::scores(gw, req)?;
            let detail = serde_json::from_slice(&req.body).unwrap_or_default();
            audit_log::record(gw, req, "catalog.scores", req.segment, detail).await;
            Ok(reply)
        }
        Op::Profiles => Ok(routing::profiles(snap)),
        Op::RouteDryRun => routing::route(gw, snap, req).await,
        Op::Deployments => Ok(routing::deployments(gw, snap)),
        Op::DisableDeployment => {
            let reply = routing::set_deployment(gw, snap, req, false)?;
            let detail = serde_json::from_slice(&req.body).unwrap_or_default();
            audit_log::record(gw, req, "deployment.disable", "", detail).await;
            Ok(reply)
        }
        Op::EnableDeployment => {
            let reply = routing::set_deployment(gw, snap, req, true)?;
            let detail = serde_json::from_slice(&req.body).unwrap_or_default();
            audit_log::record(gw, req, "deployment.enable", "", detail).await;
            Ok(reply)
        }
    }
}

/// The `Allow` header of a path answered by routes with these methods.
fn allowed<'m>(methods: impl Iterator<Item = &'m Method>) -> &'static str {
    let (mut get, mut post, mut patch, mut delete) = (false, false, false, false);
    for m in methods {
        match *m {
            Method::GET => get = true,
            Method::POST => post = true,
            Method::PATCH => patch = true,
            Method::DELETE => delete = true,
            _ => {}
        }
    }
    match (get, post, patch, delete) {
        (true, true, false, false) => "GET, POST",
        (true, false, true, true) => "GET, PATCH, DELETE",
        (false, true, false, false) => "POST",
        (false, false, false, true) => "DELETE",
        _ => "GET",
    }
}

/// A JSON answer.
fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_and_labels() {
        assert_eq!(label_of("/health"), "health");
        assert_eq!(label_of("/models"), "models");
        assert_eq!(label_of("/admin/backends/a%2Fb/reset"), "admin");
        assert_eq!(label_of("/admin/nothing"), "admin");
        assert_eq!(label_of("/nope"), "not_found");
        let around = ROUTES
            .iter()
            .find(|r| r.op == Op::ListEndpoints)
            .unwrap()
            .path;
        assert_eq!(
            around.matches("/admin/providers/vllm/endpoints"),
            Some("vllm")
        );
        let get = ROUTES.iter().find(|r| r.op == Op::Health).unwrap();
        assert!(get.answers(&Method::HEAD) && !get.answers(&Method::POST));
    }

    #[test]
    fn the_index_lists_every_route_of_both_tables() {
        let list = endpoint_list();
        for r in ENDPOINTS {
            for p in r.paths {
                assert!(list.contains(&format!("POST {p}")), "{p}");
            }
        }
        for r in ROUTES {
            for p in r.path.shown() {
                assert!(list.contains(&format!("{} {p}", r.method)), "{p}");
            }
        }
        assert!(list.contains(&"POST /admin/backends/{name}/reset".to_string()));
        assert!(list.contains(&"GET /admin/providers/{id}/endpoints".to_string()));
        assert!(list.contains(&"POST /admin/providers/{id}/endpoints".to_string()));
        let unique: std::collections::HashSet<_> = list.iter().collect();
        assert_eq!(unique.len(), list.len(), "no duplicates");
    }
}
