//! Request records (O4), the routing audit trail (O3) and spend rollups (L5) over the store:
//! `GET /v1/requests` (filters, newest first, cursor pages), `GET /v1/requests/{id}` (with
//! bodies), `GET /v1/stats`, `GET /v1/audit`, `GET /v1/audit/{request_id}` and
//! `GET /admin/spend`. Records reach the store within the writer's flush interval.

use http::StatusCode;
use serde_json::{Value, json};

use super::query::{self, Query};
use super::{ApiRequest, Reply, json};
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::storage::records::{self, Filter, Record};

fn record_view(r: &Record) -> Value {
    let mut v = json!({
        "id": r.id,
        "created_at": query::time(r.created_at),
        "key_id": r.key_id,
        "team_id": r.team_id,
        "endpoint": r.endpoint,
        "model_requested": r.model_requested,
        "model": r.model,
        "provider": r.provider,
        "status": r.status,
        "error": r.error,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "cached_tokens": r.cached_tokens,
        "cost_usd": if !r.cost_unknown { serde_json::json!(r.cost_usd) } else { serde_json::Value::Null },
        "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms,
        "attempts": r.attempts,
        "source": r.source,
        "project": r.project,
        "failovers": r.failovers,
        "cache_status": r.cache_status,
        "stream": r.stream,
    });
    if let Some(body) = &r.request_body {
        v["request_body"] = serde_json::from_str(body).unwrap_or(Value::String(body.clone()));
    }
    if let Some(body) = &r.response_body {
        v["response_body"] = serde_json::from_str(body).unwrap_or(Value::String(body.clone()));
    }
    v
}

fn filter(q: &Query) -> Result<Filter, GatewayError> {
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(
            s.parse::<i64>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    GatewayError::new(
                        ErrorKind::BadRequest,
                        "`status` must be an HTTP status code (100–599).",
                    )
                    .with_param("status")
                })?,
        ),
    };
    Ok(Filter {
        model: q.get("model").map(str::to_string),
        status,
        key: q.get("key").map(str::to_string),
        from: q.time("from")?,
        to: q.time("to")?,
        before: q.get("cursor").map(query::parse_cursor).transpose()?,
        limit: q.limit()?,
        with_audit: false,
    })
}

async fn page(gw: &Gateway, f: Filter) -> Result<Vec<Record>, GatewayError> {
    gw.tenancy
        .read_records(move |pool| async move { records::list(&pool, &f).await })
        .await
        .map_err(super::keys::store_error)
}

fn next_cursor(rows: &[Record], limit: i64) -> Value {
    match rows.last() {
        Some(last) if rows.len() as i64 == limit => {
            Value::String(query::cursor(last.created_at, &last.id))
        }
        _ => Value::Null,
    }
}

/// The page of records a listing's query asks for (with their audit trails or not), and the
/// cursor of the next.
async fn listing(
    gw: &Gateway,
    req: &ApiRequest<'_>,
    with_audit: bool,
) -> Result<(Vec<Record>, Value), GatewayError> {
    let q = Query::parse(
        req.head.uri.query(),
        &["model", "status", "key", "from", "to", "limit", "cursor"],
    )?;
    let f = Filter {
        with_audit,
        ..filter(&q)?
    };
    let limit = f.limit;
    let rows = page(gw, f).await?;
    let next = next_cursor(&rows, limit);
    Ok((rows, next))
}

/// `GET /v1/requests`.
pub(super) async fn list(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let (rows, next) = listing(gw, req, false).await?;
    let data: Vec<Value> = rows.iter().map(record_view).collect();
    Ok(json(
        StatusCode::OK,
        &json!({ "data": data, "next_cursor": next }),
    ))
}

/// A record id from the path (request ids are short, visible ASCII).
fn id_of<'a>(req: &'a ApiRequest<'_>) -> Result<&'a str, GatewayError> {
    let id = req.segment;
    if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(id)
    } else {
        Err(GatewayError::new(
            ErrorKind::NotFound,
            "No request with that id.",
        ))
    }
}

async fn one(gw: &Gateway, id: &str) -> Result<Record, GatewayError> {
    let wanted = id.to_string();
    gw.tenancy
        .read_records(move |pool| async move { records::get(&pool, &wanted).await })
        .await
        .map_err(super::keys::store_error)?
        .ok_or_else(|| {
            GatewayError::new(
                ErrorKind::NotFound,
                format!("No request `{id}` is recorded (records are written within a second or two of the answer)."),
            )
        })
}

/// `GET /v1/requests/{id}`: the record with its bodies.
pub(super) async fn get(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let r = one(gw, id_of(req)?).await?;
    Ok(json(StatusCode::OK, &record_view(&r)))
}

fn audit_view(r: &Record) -> Value {
    let trail = match r.audit.as_deref() {
        Some(a) => {
            let mut trail: Value = serde_json::from_str(a).unwrap_or(Value::Null);
            // Eliminations are kept as codes and numbers; people read them in words.
            if let Some(gone) = trail.get_mut("eliminated") {
                crate::routing::pipeline::explain::expand(gone);
            }
            trail
        }
        None => plain_trail(r),
    };
    json!({
        "request_id": r.id,
        "created_at": query::time(r.created_at),
        "status": r.status,
        "decision": trail,
    })
}

/// The trail of a request served by its first candidate at the first try (kept without one):
/// that candidate, its one attempt and the outcome, from the record; or of a cache hit: no
/// attempt, where the answer came from.
fn plain_trail(r: &Record) -> Value {
    if let Some(cache) = r.cache_status.as_deref().filter(|c| c.ends_with("hit")) {
        return json!({
            "model_requested": r.model_requested,
            "candidates": [],
            "eliminated": [],
            "steps": [],
            "cache": cache,
            "outcome": {
                "status": r.status,
                "provider": r.provider,
                "model": r.model,
                "error": r.error,
                "attempts": 0,
                "failovers": 0,
            },
        });
    }
    let candidate = format!(
        "{}/{}",
        r.provider.as_deref().unwrap_or_default(),
        r.model.as_deref().unwrap_or_default()
    );
    json!({
        "model_requested": r.model_requested,
        "candidates": [candidate],
        "eliminated": [],
        "steps": [{
            "candidate": candidate,
            "action": "attempt",
            "outcome": "ok",
            "status": r.status,
            "latency_ms": r.latency_ms,
        }],
        "outcome": {
            "status": r.status,
            "provider": r.provider,
            "model": r.model,
            "error": r.error,
            "attempts": r.attempts,
            "failovers": r.failovers,
        },
    })
}

/// `GET /v1/audit/{request_id}`.
pub(super) async fn audit(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let r = one(gw, id_of(req)?).await?;
    Ok(json(StatusCode::OK, &audit_view(&r)))
}

/// `GET /v1/audit`: the newest routing decisions (filters as `/v1/requests`).
pub(super) async fn audits(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let (rows, next) = listing(gw, req, true).await?;
    let data: Vec<Value> = rows.iter().map(audit_view).collect();
    Ok(json(
        StatusCode::OK,
        &json!({ "data": data, "next_cursor": next }),
    ))
}

/// The `[from, to)` range of a query (default: everything up to now).
fn range(q: &Query) -> Result<(i64, i64), GatewayError> {
    Ok((
        q.time("from")?.unwrap_or(0),
        q.time("to")?.unwrap_or(i64::MAX),
    ))
}

/// `GET /v1/stats?from=&to=`.
pub(super) async fn stats(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), &["from", "to"])?;
    let (from, to) = range(&q)?;
    let stats = gw
        .tenancy
        .read_records(move |pool| async move { records::stats(&pool, from, to).await })
        .await
        .map_err(super::keys::store_error)?;
    let mut v = serde_json::to_value(&stats).unwrap_or(Value::Null);
    v["records_dropped"] = json!(gw.tenancy.records.dropped());
    Ok(json(StatusCode::OK, &v))
}

/// `GET /admin/spend?from=&to=`: spend by key, team, model and provider.
pub(super) async fn spend(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), &["from", "to"])?;
    let (from, to) = range(&q)?;
    let (keys, teams, models, providers) = gw
        .tenancy
        .read_records(move |pool| async move {
            Ok((
                records::spend_by(&pool, "key_id", from, to).await?,
                records::spend_by(&pool, "team_id", from, to).await?,
                records::spend_by(&pool, "model", from, to).await?,
                records::spend_by(&pool, "provider", from, to).await?,
            ))
        })
        .await
        .map_err(super::keys::store_error)?;
    let ring = gw.tenancy.ring.snapshot();
    let key_name = |id: &str| {
        ring.keys
            .values()
            .find(|t| t.id == id)
            .and_then(|t| t.label.clone())
    };
    let rows = |list: &[(String, f64, i64)], field: &str| -> Vec<Value> {
        list.iter()
            .map(|(name, spend, n)| {
                let mut v = json!({ "spend_usd": spend, "requests": n });
                v[field] = Value::String(name.clone());
                v
            })
            .collect()
    };
    let by_key: Vec<Value> = keys
        .iter()
        .map(|(id, spend, n)| json!({ "key_id": id, "name": key_name(id), "spend_usd": spend, "requests": n }))
        .collect();
    let by_team: Vec<Value> = teams
        .iter()
        .map(|(id, spend, n)| {
            json!({ "team_id": id, "name": ring.teams.get(id).map(|t| t.name.clone()), "spend_usd": spend, "requests": n })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({
            "from": query::time(from),
            "to": if to == i64::MAX { Value::Null } else { query::time(to) },
            "by_key": by_key,
            "by_team": by_team,
            "by_model": rows(&models, "model"),
            "by_provider": rows(&providers, "provider"),
        }),
    ))
}
