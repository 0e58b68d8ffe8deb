//! Virtual keys and teams through the admin API (L1): create (the secret is shown once, in
//! the answer), list, read, change, delete. Every change is written to the store, recorded in
//! the admin audit log, and rebuilds the key ring at once; other instances see it within the
//! ring's poll interval.

use http::StatusCode;
use rand::RngCore;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{ApiRequest, Reply, json};
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::runtime::snapshot::hex;
use crate::runtime::tenant::Period;
use crate::storage::keys::{self, KeyRow, Limits, TeamRow};
use crate::storage::{StoreError, now_ms};

/// Fields a key takes (`POST` and `PATCH`).
const KEY_FIELDS: &[&str] = &[
    "name",
    "team",
    "models",
    "limits",
    "max_budget_usd",
    "budget_period",
    "max_request_cost_usd",
    "expires_at",
    "metadata",
];
const TEAM_FIELDS: &[&str] = &["name", "max_budget_usd", "budget_period", "metadata"];

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message)
}

pub(super) fn store_error(e: StoreError) -> GatewayError {
    tracing::error!(error = %e, "admin API: database error");
    GatewayError::new(
        ErrorKind::Unavailable,
        "The gateway's database did not answer (nothing was changed). Try again.",
    )
}

/// The body as a JSON object whose every field is one of `known`.
fn object(body: &[u8], known: &[&str]) -> Result<Map<String, Value>, GatewayError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("The body is not valid JSON: {e}")).with_param("body"))?;
    let Value::Object(map) = value else {
        return Err(bad("The body must be a JSON object."));
    };
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(format!(
            "Unknown field `{unknown}`; the fields are: {}.",
            known.join(", ")
        )));
    }
    Ok(map)
}

fn text(map: &Map<String, Value>, field: &'static str) -> Result<Option<String>, GatewayError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 256 => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!(
            "`{field}` must be a non-empty string (at most 256 bytes)."
        ))
        .with_param(field)),
    }
}

fn money(map: &Map<String, Value>, field: &'static str) -> Result<Option<f64>, GatewayError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(bad(format!(
                "`{field}` must be a number of US dollars, 0 or more."
            ))
            .with_param(field)),
        },
    }
}

fn period(map: &Map<String, Value>) -> Result<Option<String>, GatewayError> {
    match text(map, "budget_period")? {
        None => Ok(None),
        Some(p) if Period::parse(&p).is_some() => Ok(Some(p)),
        Some(p) => Err(bad(format!(
            "`budget_period` `{p}` is not one of daily, weekly, monthly, total."
        ))
        .with_param("budget_period")),
    }
}

fn metadata(map: &Map<String, Value>) -> Result<Value, GatewayError> {
    match map.get("metadata") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v @ Value::Object(_)) if v.to_string().len() <= 16 * 1024 => Ok(v.clone()),
        Some(_) => {
            Err(bad("`metadata` must be a JSON object (at most 16 KiB).").with_param("metadata"))
        }
    }
}

fn models(map: &Map<String, Value>) -> Result<Vec<String>, GatewayError> {
    match map.get("models") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| match m {
                Value::String(s) if !s.is_empty() && s.len() <= 256 => Ok(s.clone()),
                _ => Err(
                    bad("`models` must be a list of model names, aliases, pools or globs.")
                        .with_param("models"),
                ),
            })
            .collect(),
        Some(_) => Err(
            bad("`models` must be a list of model names, aliases, pools or globs.")
                .with_param("models"),
        ),
    }
}

fn limits(map: &Map<String, Value>) -> Result<Limits, GatewayError> {
    match map.get("limits") {
        None | Some(Value::Null) => Ok(Limits::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            bad(format!(
                "`limits` takes rpm, tpm, rpd and concurrent (whole numbers): {e}"
            ))
            .with_param("limits")
        }),
    }
}

/// `expires_at`: an RFC 3339 time or Unix seconds.
fn expiry(map: &Map<String, Value>) -> Result<Option<i64>, GatewayError> {
    let wrong = || {
        bad("`expires_at` must be an RFC 3339 time (\"2027-01-31T00:00:00Z\") or Unix seconds.")
            .with_param("expires_at")
    };
    match map.get("expires_at") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|s| *s >= 0)
            .map(|s| Some(s * 1000))
            .ok_or_else(wrong),
        Some(Value::String(s)) => {
            let at = humantime::parse_rfc3339_weak(s).map_err(|_| wrong())?;
            let ms = at
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| wrong())?
                .as_millis();
            Ok(Some(ms as i64))
        }
        Some(_) => Err(wrong()),
    }
}

fn time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
        Value::String(humantime::format_rfc3339_seconds(at).to_string())
    })
}

fn key_view(k: &KeyRow) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "key_hint": format!("{}…", k.hint),
        "team": k.team,
        "models": k.models,
        "limits": k.limits,
        "max_budget_usd": k.max_budget_usd,
        "budget_period": k.budget_period,
        "max_request_cost_usd": k.max_request_cost_usd,
        "expires_at": time(k.expires_at),
        "metadata": k.metadata,
        "created_at": time(Some(k.created_at)),
        "last_used_at": time(k.last_used_at),
        "revoked_at": time(k.revoked_at),
    })
}

fn team_view(t: &TeamRow) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "max_budget_usd": t.max_budget_usd,
        "budget_period": t.budget_period,
        "metadata": t.metadata,
        "created_at": time(Some(t.created_at)),
    })
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex(&buf)
}

/// An id from the path: what the gateway hands out (`key_…`, `team_…`), nothing else.
fn id_of<'a>(req: &'a ApiRequest<'_>, what: &str) -> Result<&'a str, GatewayError> {
    let id = req.segment;
    let fine = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if fine {
        Ok(id)
    } else {
        Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("No {what} with that id."),
        ))
    }
}

async fn team_exists(gw: &Gateway, team: &Option<String>) -> Result<(), GatewayError> {
    let Some(id) = team.clone() else {
        return Ok(());
    };
    let found = gw
        .tenancy
        .store
        .run(move |pool| async move { keys::get_team(&pool, &id).await })
        .await
        .map_err(store_error)?;
    match found {
        Some(_) => Ok(()),
        None => Err(bad(format!(
            "No team `{}`: create it with POST /admin/teams first.",
            team.as_deref().unwrap_or_default()
        ))
        .with_param("team")),
    }
}

/// After a change: the ring rebuilt now, and the change in the audit log.
async fn changed(gw: &Gateway, req: &ApiRequest<'_>, action: &str, target: &str, detail: Value) {
    if let Err(e) = gw.tenancy.reload().await {
        tracing::warn!(error = %e, "could not reload the key ring after a change");
    }
    super::audit_log::record(gw, req, action, target, detail).await;
}

/// `POST /admin/keys`.
pub(super) async fn create_key(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let map = object(&req.body, KEY_FIELDS)?;
    let name = text(&map, "name")?.ok_or_else(|| bad("`name` is required.").with_param("name"))?;
    let secret = format!("sk-gw-{}", random_hex(24));
    let row = KeyRow {
        id: format!("key_{}", random_hex(8)),
        hash: hex(&Sha256::digest(secret.as_bytes())),
        hint: secret.chars().take(10).collect(),
        name,
        team: text(&map, "team")?,
        models: models(&map)?,
        limits: limits(&map)?,
        max_budget_usd: money(&map, "max_budget_usd")?,
        budget_period: period(&map)?,
        max_request_cost_usd: money(&map, "max_request_cost_usd")?,
        expires_at: expiry(&map)?,
        metadata: metadata(&map)?,
        created_at: now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    team_exists(gw, &row.team).await?;
    let stored = row.clone();
    gw.tenancy
        .store
        .run(move |pool| async move { keys::insert_key(&pool, &stored).await })
        .await
        .map_err(store_error)?;
    let mut view = key_view(&row);
    changed(gw, req, "key.create", &row.id, view.clone()).await;
    view["key"] = Value::String(secret);
    Ok(json(StatusCode::CREATED, &view))
}

/// `GET /admin/keys`.
pub(super) async fn list_keys(gw: &Gateway) -> Result<Reply, GatewayError> {
    let rows = gw
        .tenancy
        .store
        .run(|pool| async move { keys::list_keys(&pool).await })
        .await
        .map_err(store_error)?;
    let data: Vec<Value> = rows
        .iter()
        .filter(|k| k.revoked_at.is_none())
        .map(key_view)
        .collect();
    Ok(json(StatusCode::OK, &json!({ "data": data })))
}

async fn find_key(gw: &Gateway, id: &str) -> Result<KeyRow, GatewayError> {
    let wanted = id.to_string();
    gw.tenancy
        .store
        .run(move |pool| async move { keys::get_key(&pool, &wanted).await })
        .await
        .map_err(store_error)?
        .ok_or_else(|| GatewayError::new(ErrorKind::NotFound, format!("No key with id `{id}`.")))
}

/// `GET /admin/keys/{id}`.
pub(super) async fn get_key(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let row = find_key(gw, id_of(req, "key")?).await?;
    Ok(json(StatusCode::OK, &key_view(&row)))
}

/// `PATCH /admin/keys/{id}`: the fields sent replace the stored ones (`null` clears one).
pub(super) async fn patch_key(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let mut row = find_key(gw, id_of(req, "key")?).await?;
    if row.revoked_at.is_some() {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("Key `{}` was revoked: make a new one.", row.id),
        ));
    }
    let map = object(&req.body, KEY_FIELDS)?;
    if map.contains_key("name") {
        row.name = text(&map, "name")?
            .ok_or_else(|| bad("`name` cannot be removed.").with_param("name"))?;
    }
    if map.contains_key("team") {
        row.team = text(&map, "team")?;
        team_exists(gw, &row.team).await?;
    }
    if map.contains_key("models") {
        row.models = models(&map)?;
    }
    if map.contains_key("limits") {
        row.limits = limits(&map)?;
    }
    if map.contains_key("max_budget_usd") {
        row.max_budget_usd = money(&map, "max_budget_usd")?;
    }
    if map.contains_key("budget_period") {
        row.budget_period = period(&map)?;
    }
    if map.contains_key("max_request_cost_usd") {
        row.max_request_cost_usd = money(&map, "max_request_cost_usd")?;
    }
    if map.contains_key("expires_at") {
        row.expires_at = expiry(&map)?;
    }
    if map.contains_key("metadata") {
        row.metadata = metadata(&map)?;
    }
    let stored = row.clone();
    gw.tenancy
        .store
        .run(move |pool| async move { keys::update_key(&pool, &stored).await })
        .await
        .map_err(store_error)?;
    let view = key_view(&row);
    changed(gw, req, "key.update", &row.id, Value::Object(map)).await;
    Ok(json(StatusCode::OK, &view))
}

/// `DELETE /admin/keys/{id}`: the key is revoked, refused from the next request on (it stays
/// in the store, so its records keep a name; `GET /admin/keys/{id}` shows `revoked_at`).
pub(super) async fn delete_key(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let id = id_of(req, "key")?.to_string();
    let wanted = id.clone();
    let at = now_ms();
    let revoked = gw
        .tenancy
        .store
        .run(move |pool| async move { keys::revoke_key(&pool, &wanted, at).await })
        .await
        .map_err(store_error)?;
    if !revoked {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("No key with id `{id}` (or it was revoked already)."),
        ));
    }
    changed(gw, req, "key.revoke", &id, json!({})).await;
    Ok(json(StatusCode::OK, &json!({ "id": id, "revoked": true })))
}

/// `POST /admin/teams`.
pub(super) async fn create_team(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let map = object(&req.body, TEAM_FIELDS)?;
    let row = TeamRow {
        id: format!("team_{}", random_hex(6)),
        name: text(&map, "name")?.ok_or_else(|| bad("`name` is required.").with_param("name"))?,
        max_budget_usd: money(&map, "max_budget_usd")?,
        budget_period: period(&map)?,
        metadata: metadata(&map)?,
        created_at: now_ms(),
    };
    let stored = row.clone();
    gw.tenancy
        .store
        .run(move |pool| async move { keys::insert_team(&pool, &stored).await })
        .await
        .map_err(store_error)?;
    let view = team_view(&row);
    changed(gw, req, "team.create", &row.id, view.clone()).await;
    Ok(json(StatusCode::CREATED, &view))
}

/// `GET /admin/teams`.
pub(super) async fn list_teams(gw: &Gateway) -> Result<Reply, GatewayError> {
    let rows = gw
        .tenancy
        .store
        .run(|pool| async move { keys::list_teams(&pool).await })
        .await
        .map_err(store_error)?;
    let data: Vec<Value> = rows.iter().map(team_view).collect();
    Ok(json(StatusCode::OK, &json!({ "data": data })))
}

async fn find_team(gw: &Gateway, id: &str) -> Result<TeamRow, GatewayError> {
    let wanted = id.to_string();
    gw.tenancy
        .store
        .run(move |pool| async move { keys::get_team(&pool, &wanted).await })
        .await
        .map_err(store_error)?
        .ok_or_else(|| GatewayError::new(ErrorKind::NotFound, format!("No team with id `{id}`.")))
}

/// `GET /admin/teams/{id}`.
pub(super) async fn get_team(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let row = find_team(gw, id_of(req, "team")?).await?;
    Ok(json(StatusCode::OK, &team_view(&row)))
}

/// `PATCH /admin/teams/{id}`.
pub(super) async fn patch_team(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let mut row = find_team(gw, id_of(req, "team")?).await?;
    let map = object(&req.body, TEAM_FIELDS)?;
    if map.contains_key("name") {
        row.name = text(&map, "name")?
            .ok_or_else(|| bad("`name` cannot be removed.").with_param("name"))?;
    }
    if map.contains_key("max_budget_usd") {
        row.max_budget_usd = money(&map, "max_budget_usd")?;
    }
    if map.contains_key("budget_period") {
        row.budget_period = period(&map)?;
    }
    if map.contains_key("metadata") {
        row.metadata = metadata(&map)?;
    }
    let stored = row.clone();
    gw.tenancy
        .store
        .run(move |pool| async move { keys::update_team(&pool, &stored).await })
        .await
        .map_err(store_error)?;
    changed(gw, req, "team.update", &row.id, Value::Object(map)).await;
    Ok(json(StatusCode::OK, &team_view(&row)))
}

/// `DELETE /admin/teams/{id}`: its keys stay, without a team.
pub(super) async fn delete_team(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let id = id_of(req, "team")?.to_string();
    let wanted = id.clone();
    let deleted = gw
        .tenancy
        .store
        .run(move |pool| async move { keys::delete_team(&pool, &wanted).await })
        .await
        .map_err(store_error)?;
    if !deleted {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("No team with id `{id}`."),
        ));
    }
    changed(gw, req, "team.delete", &id, json!({})).await;
    Ok(json(StatusCode::OK, &json!({ "id": id, "deleted": true })))
}
