//! Quality signals (O6) over HTTP: `POST /v1/signals` (a client reports how a model did:
//! `{"model_card_id", "task_type", "signal_type", "value", "request_id"?}`, with a virtual key
//! when keys are configured), `GET /v1/signals` (the pending ones, drained), `GET /v1/quality`
//! (per model, task and kind: count, mean, min, max), `GET /v1/quality/{model}` (its daily
//! series and aggregates) and `POST /v1/alerts` (models whose recent mean fell below their
//! baseline's). The reading endpoints are admin only.

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::query::{self, Query};
use super::{ApiRequest, Reply, json};
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::storage::signals::{self, Aggregate, Signal};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Most signals one `GET /v1/signals` drains.
const DRAIN_LIMIT: i64 = 1000;
/// Longest `task_type`, `signal_type`, `request_id`.
const MAX_NAME: usize = 64;

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    model_card_id: String,
    task_type: String,
    signal_type: String,
    value: f64,
    #[serde(default)]
    request_id: Option<String>,
}

/// A name a signal is filed under: 1..=64 letters, digits, `_`, `-`, `.`.
fn name(field: &str, v: &str) -> Result<(), GatewayError> {
    let ok = !v.is_empty()
        && v.len() <= MAX_NAME
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "`{field}` must be 1 to {MAX_NAME} letters, digits, `_`, `-` or `.`"
        )))
    }
}

/// `POST /v1/signals`.
pub(super) async fn report(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let de = &mut serde_json::Deserializer::from_slice(&req.body);
    let r: Report = serde_path_to_error::deserialize(de).map_err(|e| {
        bad(format!(
            "the signal is not valid at `{}`: {}",
            e.path(),
            e.inner()
        ))
    })?;
    name("task_type", &r.task_type)?;
    name("signal_type", &r.signal_type)?;
    if let Some(id) = &r.request_id {
        let printable = id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
        if !printable {
            return Err(bad("`request_id` must be at most 128 printable characters"));
        }
    }
    if !r.value.is_finite() || r.value.abs() > 1e9 {
        return Err(bad("`value` must be a number between -1e9 and 1e9"));
    }
    let snap = gw.snapshot.load();
    let known =
        snap.catalog.cards().iter().any(|c| {
            c.id == r.model_card_id || format!("{}/{}", c.provider, c.id) == r.model_card_id
        });
    if !known {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!(
                "`{}` is not a model in the catalog (GET /v1/catalog lists them)",
                r.model_card_id
            ),
        ));
    }
    let signal = Signal {
        id: format!("sig_{}", gw.next_request_id()),
        created_at: crate::storage::now_ms(),
        model: r.model_card_id,
        task_type: r.task_type,
        signal_type: r.signal_type,
        value: r.value,
        request_id: r.request_id,
    };
    let id = signal.id.clone();
    gw.tenancy
        .store
        .run(move |pool| async move { signals::insert(&pool, &signal).await })
        .await
        .map_err(super::keys::store_error)?;
    Ok(json(
        StatusCode::CREATED,
        &json!({ "id": id, "recorded": true }),
    ))
}

fn signal_view(s: &Signal) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    v["created_at"] = query::time(s.created_at);
    v
}

/// `GET /v1/signals`: the pending signals, oldest first; each is returned once.
pub(super) async fn drain(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    Query::parse(req.head.uri.query(), &[])?;
    let drained = gw
        .tenancy
        .store
        .run(|pool| async move { signals::drain(&pool, DRAIN_LIMIT).await })
        .await
        .map_err(super::keys::store_error)?;
    let data: Vec<Value> = drained.iter().map(signal_view).collect();
    Ok(json(StatusCode::OK, &json!({ "data": data })))
}

fn range(q: &Query, default_days: i64) -> Result<(i64, i64), GatewayError> {
    let to = q.time("to")?.unwrap_or(crate::storage::now_ms() + 60_000);
    let from = q.time("from")?.unwrap_or(to - default_days * DAY_MS);
    if from >= to {
        return Err(bad("`from` must be before `to`"));
    }
    Ok((from, to))
}

async fn aggregates(
    gw: &Gateway,
    from: i64,
    to: i64,
    model: Option<String>,
) -> Result<Vec<Aggregate>, GatewayError> {
    gw.tenancy
        .store
        .run(
            move |pool| async move { signals::aggregates(&pool, from, to, model.as_deref()).await },
        )
        .await
        .map_err(super::keys::store_error)
}

/// `GET /v1/quality?from=&to=` (default: the last 30 days).
pub(super) async fn quality(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), &["from", "to"])?;
    let (from, to) = range(&q, 30)?;
    let data = aggregates(gw, from, to, None).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "from": query::time(from), "to": query::time(to), "data": data }),
    ))
}

/// `GET /v1/quality/{model}?from=&to=`: the model's daily means per kind, and its aggregates.
pub(super) async fn model_quality(
    gw: &Gateway,
    req: &ApiRequest<'_>,
) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), &["from", "to"])?;
    let (from, to) = range(&q, 30)?;
    let model = crate::uri::decode(req.segment);
    let m = model.clone();
    let days = gw
        .tenancy
        .store
        .run(move |pool| async move { signals::series(&pool, &m, from, to, DAY_MS).await })
        .await
        .map_err(super::keys::store_error)?;
    let totals = aggregates(gw, from, to, Some(model.clone())).await?;
    let series: Vec<Value> = days
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
            v["bucket"] = query::time(d.bucket);
            v
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({ "model": model, "series": series, "aggregates": totals }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AlertCheck {
    /// The recent window.
    window_hours: f64,
    /// The baseline before it.
    baseline_days: f64,
    /// A drop of the mean by this fraction of the baseline's is an alert.
    threshold: f64,
    /// Signals each side needs before a comparison counts.
    min_samples: i64,
}

impl Default for AlertCheck {
    fn default() -> Self {
        AlertCheck {
            window_hours: 24.0,
            baseline_days: 7.0,
            threshold: 0.2,
            min_samples: 5,
        }
    }
}

/// `POST /v1/alerts`: per model, task and kind, the recent window's mean against the baseline's;
/// a fall by more than `threshold` (of the baseline's magnitude) with `min_samples` on each
/// side is an alert.
pub(super) async fn alerts(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let check: AlertCheck = if req.body.iter().all(u8::is_ascii_whitespace) {
        AlertCheck::default()
    } else {
        let de = &mut serde_json::Deserializer::from_slice(&req.body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            bad(format!(
                "the check is not valid at `{}`: {}",
                e.path(),
                e.inner()
            ))
        })?
    };
    let sane = check.window_hours > 0.0
        && check.window_hours <= 24.0 * 365.0
        && check.baseline_days > 0.0
        && check.baseline_days <= 365.0
        && (0.0..=1.0).contains(&check.threshold)
        && check.min_samples >= 1;
    if !sane {
        return Err(bad(
            "`window_hours` (0..8760], `baseline_days` (0..365], `threshold` [0..1] and `min_samples` >= 1",
        ));
    }
    let now = crate::storage::now_ms();
    let split = now - (check.window_hours * 3_600_000.0) as i64;
    let start = split - (check.baseline_days * DAY_MS as f64) as i64;
    let recent = aggregates(gw, split, now + 1, None).await?;
    let baseline = aggregates(gw, start, split, None).await?;
    let mut alerts = Vec::new();
    for r in &recent {
        let Some(b) = baseline.iter().find(|b| {
            b.model == r.model && b.task_type == r.task_type && b.signal_type == r.signal_type
        }) else {
            continue;
        };
        if r.count < check.min_samples || b.count < check.min_samples {
            continue;
        }
        let drop = b.mean - r.mean;
        if drop > check.threshold * b.mean.abs() && drop > 0.0 {
            alerts.push(json!({
                "model": r.model,
                "task_type": r.task_type,
                "signal_type": r.signal_type,
                "recent_mean": r.mean,
                "baseline_mean": b.mean,
                "drop": drop,
                "recent_samples": r.count,
                "baseline_samples": b.count,
            }));
        }
    }
    Ok(json(
        StatusCode::OK,
        &json!({
            "window": { "from": query::time(split), "to": query::time(now) },
            "baseline": { "from": query::time(start), "to": query::time(split) },
            "alerts": alerts,
        }),
    ))
}
