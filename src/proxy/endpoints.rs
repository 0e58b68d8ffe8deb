//! Built-in endpoints answered by the gateway itself: `/health`, `/ready`, `/metrics`,
//! `/v1/models`, `/v1/catalog` and the admin surface behind `server.admin_token`.

use bytes::Bytes;
use pingora::proxy::Session;
use serde_json::json;

use super::App;
use super::ctx::RequestCtx;
use super::respond;
use crate::errors::{ErrorFormat, ErrorKind, GatewayError};
use crate::inbound::auth;

/// A built-in endpoint's answer: status, content type, body.
type Answer = (u16, &'static str, Vec<u8>);

/// The endpoint label and what to answer.
type Routed = (&'static str, Result<Answer, GatewayError>);

/// Answers a non-LLM path.
pub async fn handle(
    app: &App,
    session: &mut Session,
    ctx: &mut RequestCtx,
    path: &str,
) -> pingora::Result<bool> {
    let is_get = matches!(session.req_header().method.as_str(), "GET" | "HEAD");
    let snap = app.snapshot.load();
    if let Some(id) = path
        .strip_prefix("/admin/providers/")
        .and_then(|r| r.strip_suffix("/endpoints"))
    {
        ctx.endpoint = "admin";
        let answer = match auth::check_admin(&snap, session.req_header()) {
            Ok(()) => membership(app, session, id, is_get).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(body) => {
                respond::send(
                    session,
                    ctx,
                    200,
                    "application/json",
                    Bytes::from(body),
                    &[],
                )
                .await?
            }
            Err(e) => respond::error(session, ctx, &e, ErrorFormat::OpenAi).await?,
        }
        return Ok(true);
    }
    let (endpoint, result): Routed = match path {
        "/health" => (
            "health",
            get_only(is_get).map(|()| (200, "application/json", health(app))),
        ),
        "/ready" => ("ready", get_only(is_get).map(|()| ready(app))),
        "/metrics" => (
            "metrics",
            get_only(is_get).map(|()| {
                let text = app.metrics.render(
                    app.started.elapsed(),
                    &app.breakers.snapshot(),
                    &app.breakers.transitions(),
                );
                (200, "text/plain; version=0.0.4", text.into_bytes())
            }),
        ),
        "/v1/models" | "/models" => (
            "models",
            get_only(is_get)
                .and_then(|()| auth::authenticate(&snap, session.req_header()))
                .map(|_| (200, "application/json", models(app))),
        ),
        "/v1/catalog" => (
            "catalog",
            get_only(is_get)
                .and_then(|()| auth::authenticate(&snap, session.req_header()))
                .map(|_| (200, "application/json", catalog(app))),
        ),
        "/" => (
            "index",
            get_only(is_get).map(|()| (200, "application/json", index())),
        ),
        p if p == "/admin" || p.starts_with("/admin/") => (
            "admin",
            auth::check_admin(&snap, session.req_header()).and_then(|()| admin(app, p, is_get)),
        ),
        _ => (
            "not_found",
            Err(GatewayError::new(
                ErrorKind::NotFound,
                format!("No endpoint at `{path}`. GET / lists the gateway's endpoints."),
            )),
        ),
    };
    ctx.endpoint = endpoint;
    match result {
        Ok((status, content_type, body)) => {
            respond::send(session, ctx, status, content_type, Bytes::from(body), &[]).await?;
        }
        Err(e) if e.kind == ErrorKind::MethodNotAllowed => {
            ctx.error = Some(e.kind.code());
            let body = Bytes::from(e.render(ErrorFormat::OpenAi));
            respond::send(
                session,
                ctx,
                e.status(),
                "application/json",
                body,
                &[("allow", "GET".into())],
            )
            .await?;
        }
        Err(e) => respond::error(session, ctx, &e, ErrorFormat::OpenAi).await?,
    }
    Ok(true)
}

/// `POST /admin/providers/{id}/endpoints` with `{"add": url}` or `{"remove": url}`: changes a
/// replica pool at runtime; `GET` lists it.
async fn membership(
    app: &App,
    session: &mut Session,
    id: &str,
    is_get: bool,
) -> Result<Vec<u8>, GatewayError> {
    let replicas = app.replicas.get(id).ok_or_else(|| {
        GatewayError::new(
            ErrorKind::NotFound,
            format!("provider `{id}` has no replica pool (it needs several `endpoints`)"),
        )
    })?;
    if !is_get {
        crate::inbound::body::check_json_content_type(session)?;
        let body = crate::inbound::body::read_body(session, 64 * 1024)
            .await
            .map_err(|e| match e {
                crate::inbound::body::BodyError::Reject(e) => e,
                crate::inbound::body::BodyError::ClientGone => {
                    GatewayError::new(ErrorKind::ClientClosed, "client left")
                }
            })?;
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Change {
            add: Option<String>,
            remove: Option<String>,
        }
        let change: Change = serde_json::from_slice(&body).map_err(|e| {
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
                if !replicas
                    .remove(&url)
                    .await
                    .map_err(|e| GatewayError::new(ErrorKind::BadRequest, e))?
                {
                    return Err(GatewayError::new(
                        ErrorKind::NotFound,
                        format!("`{url}` is not an endpoint of `{id}`"),
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
    }
    Ok(to_vec(
        &json!({ "provider": id, "endpoints": replicas.status() }),
    ))
}

/// Decodes `%XX` escapes in a path segment (`provider%2Fmodel`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn get_only(is_get: bool) -> Result<(), GatewayError> {
    if is_get {
        Ok(())
    } else {
        Err(GatewayError::new(
            ErrorKind::MethodNotAllowed,
            "This endpoint only answers GET.",
        ))
    }
}

fn to_vec(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn health(app: &App) -> Vec<u8> {
    let snap = app.snapshot.load();
    let providers: Vec<&str> = snap.providers.iter().map(|p| p.id.as_str()).collect();
    to_vec(&json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": app.started.elapsed().as_secs(),
        "port": app.port,
        "providers": providers,
    }))
}

fn ready(app: &App) -> Answer {
    let snap = app.snapshot.load();
    let usable = snap.usable_providers();
    if usable.is_empty() {
        let body = json!({
            "status": "not_ready",
            "reason": "no provider is usable: configure at least one enabled provider with its API key (or a local/mock provider)",
            "usable_providers": usable,
        });
        (503, "application/json", to_vec(&body))
    } else {
        (
            200,
            "application/json",
            to_vec(&json!({ "status": "ready", "usable_providers": usable })),
        )
    }
}

/// OpenAI's list format: bare ids, `provider/model` pins, aliases and pools.
fn models(app: &App) -> Vec<u8> {
    let snap = app.snapshot.load();
    let created = 1_700_000_000u64;
    let mut seen = std::collections::HashSet::new();
    let mut data = Vec::new();
    let mut push = |id: String, owned_by: &str| {
        if seen.insert(id.clone()) {
            data.push(
                json!({ "id": id, "object": "model", "created": created, "owned_by": owned_by }),
            );
        }
    };
    for card in snap.catalog.cards() {
        push(card.id.clone(), &card.provider);
    }
    for card in snap.catalog.cards() {
        push(format!("{}/{}", card.provider, card.id), &card.provider);
    }
    for alias in snap.aliases.keys() {
        push(alias.clone(), "alias");
    }
    for pool in snap.pools.keys() {
        push(pool.clone(), "pool");
    }
    to_vec(&json!({ "object": "list", "data": data }))
}

fn catalog(app: &App) -> Vec<u8> {
    let snap = app.snapshot.load();
    to_vec(&json!({ "object": "list", "data": snap.catalog.cards() }))
}

fn index() -> Vec<u8> {
    to_vec(&json!({
        "name": "llm-gateway",
        "version": env!("CARGO_PKG_VERSION"),
        "endpoints": [
            "POST /v1/chat/completions", "POST /v1/completions", "POST /v1/embeddings",
            "GET /v1/models", "GET /v1/catalog", "GET /health", "GET /ready", "GET /metrics",
            "GET /admin/providers", "GET /admin/backends", "POST /admin/backends/{name}/reset"
        ],
    }))
}

fn admin(app: &App, path: &str, is_get: bool) -> Result<Answer, GatewayError> {
    if let Some(name) = path
        .strip_prefix("/admin/backends/")
        .and_then(|rest| rest.strip_suffix("/reset"))
    {
        if is_get {
            return Err(GatewayError::new(
                ErrorKind::MethodNotAllowed,
                "Reset with POST.",
            ));
        }
        let name = percent_decode(name);
        let reset = app.breakers.reset(&name);
        if reset == 0 {
            return Err(GatewayError::new(
                ErrorKind::NotFound,
                format!(
                    "No circuit breaker named `{name}`: use a `provider/model` key or a provider id from GET /admin/backends."
                ),
            ));
        }
        return Ok((
            200,
            "application/json",
            to_vec(&json!({ "reset": reset, "name": name })),
        ));
    }
    match path {
        "/admin/backends" => {
            get_only(is_get)?;
            Ok((
                200,
                "application/json",
                to_vec(&json!({ "backends": app.breakers.snapshot() })),
            ))
        }
        "/admin/providers" => {
            get_only(is_get)?;
            let snap = app.snapshot.load();
            let usable = snap.usable_providers();
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
                        "replicas": app.replicas.get(&p.id).map(|r| r.status()),
                    })
                })
                .collect();
            Ok((
                200,
                "application/json",
                to_vec(&json!({ "providers": list })),
            ))
        }
        _ => Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("No admin endpoint at `{path}`."),
        )),
    }
}
