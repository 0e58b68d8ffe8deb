//! The analytics endpoints (O5), from the request records: `GET /v1/analytics` (totals, a
//! time series and breakdowns by model, provider, key, team, project and source),
//! `GET /v1/analytics/errors` (what clients saw fail vs what failover hid),
//! `GET /v1/analytics/requesters` (per `x-source`: volume, success rate, model mix) and
//! `GET /v1/projects` (per `x-project`), all admin only, as is `DELETE /v1/analytics` (clears
//! them, spend kept). `GET /v1/usage` shows a key holder its own usage and budgets. Every
//! one takes `from` and `to` (RFC 3339 or Unix seconds; default the last 24 hours) and
//! filters (`model`, `provider`, `project`, `source`; `model` only for `/v1/usage`).

use std::collections::HashMap;

use http::StatusCode;
use serde_json::{Value, json};

use super::query::{self, Query};
use super::{ApiRequest, Reply, json};
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::runtime::tenant::Budget;
use crate::storage::analytics::{self, By, Scope, Totals};
use crate::storage::{Backend, records, signals};
use crate::tenancy::budget::Scope as BudgetScope;

/// The filters every analytics endpoint takes.
const FILTERS: &[&str] = &["from", "to", "model", "provider", "project", "source"];

/// The range when none is given.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Most buckets a series may span.
const MAX_BUCKETS: i64 = 10_000;

/// The named bucket sizes, in milliseconds.
const BUCKETS: &[(&str, i64)] = &[
    ("minute", 60_000),
    ("hour", 3_600_000),
    ("day", DAY_MS),
    ("week", 7 * DAY_MS),
];

fn bad(message: String) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message).with_param("query")
}

/// The records a request asks about.
fn scope_of(q: &Query) -> Result<Scope, GatewayError> {
    let to = match q.time("to")? {
        Some(to) => to,
        // Now, and a minute on: records are stamped when their request started.
        None => crate::storage::now_ms() + 60_000,
    };
    let from = q.time("from")?.unwrap_or(to.saturating_sub(DAY_MS));
    if from >= to {
        return Err(bad("`from` must be before `to`.".into()));
    }
    let text = |name: &str| q.get(name).map(str::to_string);
    Ok(Scope {
        from,
        to,
        model: text("model"),
        provider: text("provider"),
        project: text("project"),
        source: text("source"),
        key: None,
    })
}

/// The bucket `bucket` names, or the one that suits the range (hours up to two days, else
/// days).
fn bucket_of(q: &Query, scope: &Scope) -> Result<(&'static str, i64), GatewayError> {
    let span = scope.to.saturating_sub(scope.from);
    let (name, ms) = match q.get("bucket") {
        Some(b) => *BUCKETS.iter().find(|(name, _)| *name == b).ok_or_else(|| {
            bad(format!(
                "`bucket` must be one of minute, hour, day, week (got `{b}`)."
            ))
        })?,
        None if span <= 2 * DAY_MS => BUCKETS[1],
        None => BUCKETS[2],
    };
    if span / ms > MAX_BUCKETS {
        return Err(bad(format!(
            "`from`..`to` spans more than {MAX_BUCKETS} buckets of a {name}: choose a larger `bucket` or a shorter range."
        )));
    }
    Ok((name, ms))
}

fn totals_view(t: &Totals) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// `rows` as `[{name_field: name, ...totals}]`.
fn groups(name_field: &str, rows: &[(String, Totals)]) -> Value {
    Value::Array(
        rows.iter()
            .map(|(name, t)| {
                let mut v = totals_view(t);
                v[name_field] = json!(name);
                v
            })
            .collect(),
    )
}

fn store_error(e: crate::storage::StoreError) -> GatewayError {
    super::keys::store_error(e)
}

/// `GET /v1/analytics?from=&to=&bucket=&model=&provider=&project=&source=`.
pub(super) async fn usage(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let mut known = FILTERS.to_vec();
    known.push("bucket");
    let q = Query::parse(req.head.uri.query(), &known)?;
    let scope = scope_of(&q)?;
    let (bucket, bucket_ms) = bucket_of(&q, &scope)?;
    let s = scope.clone();
    let (totals, series, breakdowns) = gw
        .tenancy
        .read_records(move |pool| async move {
            let totals = analytics::totals(&pool, &s).await?;
            let series = analytics::series(&pool, &s, bucket_ms).await?;
            let mut breakdowns = Vec::new();
            for by in [
                By::Model,
                By::Provider,
                By::Key,
                By::Team,
                By::Project,
                By::Source,
            ] {
                breakdowns.push(analytics::breakdown(&pool, &s, by).await?);
            }
            Ok((totals, series, breakdowns))
        })
        .await
        .map_err(store_error)?;
    let series: Vec<Value> = series
        .iter()
        .map(|p| {
            let mut v = totals_view(&p.totals);
            v["bucket"] = query::time(p.bucket);
            v
        })
        .collect();
    let names = [
        "model", "provider", "key_id", "team_id", "project", "source",
    ];
    let keys = [
        "by_model",
        "by_provider",
        "by_key",
        "by_team",
        "by_project",
        "by_source",
    ];
    let mut v = json!({
        "from": query::time(scope.from),
        "to": query::time(scope.to),
        "bucket": bucket,
        "bucket_secs": bucket_ms / 1000,
        "totals": totals_view(&totals),
        "series": series,
    });
    for ((key, name), rows) in keys.iter().zip(names).zip(&breakdowns) {
        v[*key] = groups(name, rows);
    }
    Ok(json(StatusCode::OK, &v))
}

/// `GET /v1/analytics/errors?from=&to=&model=&provider=&project=&source=`: failures a client
/// saw (an error answer) and failures failover hid (a good answer after a failover), in all and
/// by model, provider and source, and the error kinds clients saw.
pub(super) async fn errors(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), FILTERS)?;
    let scope = scope_of(&q)?;
    let s = scope.clone();
    let (all, by, kinds) = gw
        .tenancy
        .read_records(move |pool| async move {
            let all = analytics::failures(&pool, &s, None).await?;
            let mut by = Vec::new();
            for b in [By::Model, By::Provider, By::Source] {
                by.push(analytics::failures(&pool, &s, Some(b)).await?);
            }
            let kinds = analytics::error_kinds(&pool, &s).await?;
            Ok((all, by, kinds))
        })
        .await
        .map_err(store_error)?;
    let view = |f: &analytics::Failures| {
        let rate = if f.requests > 0 {
            f.customer_impacting as f64 / f.requests as f64
        } else {
            0.0
        };
        let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
        v["customer_impact_rate"] = json!(rate);
        v
    };
    let totals = all
        .first()
        .map(|(_, f)| view(f))
        .unwrap_or_else(|| view(&analytics::Failures::default()));
    let mut v = json!({
        "from": query::time(scope.from),
        "to": query::time(scope.to),
        "totals": totals,
        "by_error": kinds
            .iter()
            .map(|(error, n)| json!({ "error": error, "requests": n }))
            .collect::<Vec<_>>(),
    });
    for ((key, name), rows) in ["by_model", "by_provider", "by_source"]
        .iter()
        .zip(["model", "provider", "source"])
        .zip(&by)
    {
        v[*key] = Value::Array(
            rows.iter()
                .map(|(n, f)| {
                    let mut v = view(f);
                    v[name] = json!(n);
                    v
                })
                .collect(),
        );
    }
    Ok(json(StatusCode::OK, &v))
}

/// `by` values with their totals, last record and model mix, as `[{field: name, ...}]`.
async fn per(gw: &Gateway, scope: Scope, by: By, field: &str) -> Result<Value, GatewayError> {
    let (rows, last, mix) = gw
        .tenancy
        .read_records(move |pool| async move {
            Ok((
                analytics::breakdown(&pool, &scope, by).await?,
                analytics::last_seen(&pool, &scope, by).await?,
                analytics::models_per(&pool, &scope, by).await?,
            ))
        })
        .await
        .map_err(store_error)?;
    let last: HashMap<String, i64> = last.into_iter().collect();
    let mut models: HashMap<String, Vec<Value>> = HashMap::new();
    for (name, model, n) in mix {
        models
            .entry(name)
            .or_default()
            .push(json!({ "model": model, "requests": n }));
    }
    Ok(Value::Array(
        rows.iter()
            .map(|(name, t)| {
                let mut v = totals_view(t);
                v[field] = json!(name);
                v["success_rate"] = json!(if t.requests > 0 {
                    (t.requests - t.errors) as f64 / t.requests as f64
                } else {
                    0.0
                });
                v["last_seen"] = last.get(name).map_or(Value::Null, |ms| query::time(*ms));
                v["models"] = Value::Array(models.remove(name).unwrap_or_default());
                v
            })
            .collect(),
    ))
}

/// `GET /v1/analytics/requesters`: per requester (`x-source`).
pub(super) async fn requesters(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), FILTERS)?;
    let data = per(gw, scope_of(&q)?, By::Source, "source").await?;
    Ok(json(StatusCode::OK, &json!({ "data": data })))
}

/// `GET /v1/projects`: per project (`x-project`).
pub(super) async fn projects(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), FILTERS)?;
    let data = per(gw, scope_of(&q)?, By::Project, "project").await?;
    Ok(json(StatusCode::OK, &json!({ "data": data })))
}

/// `DELETE /v1/analytics?before=`: clears the analytics data, the request records (with
/// their audit trails) and the quality signals, older than `before` (default: all). The spend
/// of the cleared records stays in the ledger, so budgets and `GET /admin/spend` still count
/// it. Records queued before the call are written first and cleared with the rest.
pub(super) async fn clear(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let q = Query::parse(req.head.uri.query(), &["before"])?;
    let before = q.time("before")?;
    let cutoff = before.unwrap_or(i64::MAX);
    let postgres = gw.tenancy.backend() == Backend::Postgres;
    let (records, signals) = gw
        .tenancy
        .read_records(move |pool| async move {
            let records = records::purge(&pool, postgres, cutoff).await?;
            let signals = signals::clear(&pool, cutoff).await?;
            Ok((records, signals))
        })
        .await
        .map_err(store_error)?;
    Ok(json(
        StatusCode::OK,
        &json!({
            "cleared": { "records": records, "quality_signals": signals },
            "before": before.map_or(Value::Null, query::time),
            "spend_kept": true,
        }),
    ))
}

/// What a budget has left, as `GET /v1/usage` shows it.
fn budget_view(scope: &BudgetScope, budget: &Budget, start: i64, spent: f64) -> Value {
    let (kind, id) = match scope {
        BudgetScope::Key(id) => ("key", id),
        BudgetScope::Team(id) => ("team", id),
    };
    json!({
        "scope": kind,
        "id": id,
        "max_budget_usd": budget.max_usd,
        "budget_period": budget.period.as_str(),
        "period_start": query::time(start),
        "spent_usd": spent,
        "remaining_usd": (budget.max_usd - spent).max(0.0),
    })
}

/// `GET /v1/usage?from=&to=&bucket=&model=`: the calling key's own usage (totals, a series,
/// by model) and its budgets' spend in their current period, from the records. For a key
/// holder: no other key's data, and the admin token is not a key.
pub(super) async fn own_usage(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let Some(caller) = req.caller.clone() else {
        return Err(GatewayError::new(
            ErrorKind::Unauthorized,
            "`GET /v1/usage` reports the usage of the key that calls it: send a virtual key as `Authorization: Bearer <key>`.",
        ));
    };
    let q = Query::parse(req.head.uri.query(), &["from", "to", "bucket", "model"])?;
    let mut scope = scope_of(&q)?;
    scope.key = Some(caller.id.clone());
    let (bucket, bucket_ms) = bucket_of(&q, &scope)?;
    let now = crate::storage::now_ms();
    let budgets: Vec<(BudgetScope, Budget, i64)> = gw
        .tenancy
        .budgets_of(&caller)
        .into_iter()
        .map(|(scope, budget)| (scope, budget, budget.period.start(now)))
        .collect();
    let asks: Vec<(&'static str, String, i64)> = budgets
        .iter()
        .map(|(scope, _, start)| match scope {
            BudgetScope::Key(id) => ("key_id", id.clone(), *start),
            BudgetScope::Team(id) => ("team_id", id.clone(), *start),
        })
        .collect();
    let s = scope.clone();
    let (totals, series, by_model, spent) = gw
        .tenancy
        .read_records(move |pool| async move {
            let totals = analytics::totals(&pool, &s).await?;
            let series = analytics::series(&pool, &s, bucket_ms).await?;
            let by_model = analytics::breakdown(&pool, &s, By::Model).await?;
            let mut spent = Vec::with_capacity(asks.len());
            for (column, id, start) in asks {
                let rows = records::spend_by(&pool, column, start, i64::MAX).await?;
                spent.push(
                    rows.into_iter()
                        .find(|(name, _, _)| *name == id)
                        .map_or(0.0, |(_, spend, _)| spend),
                );
            }
            Ok((totals, series, by_model, spent))
        })
        .await
        .map_err(store_error)?;
    let policy = caller.policy.as_deref();
    let limits = policy.map_or(Value::Null, |p| {
        json!({
            "rpm": p.limits.rpm,
            "tpm": p.limits.tpm,
            "rpd": p.limits.rpd,
            "concurrent": p.limits.concurrent,
        })
    });
    let series: Vec<Value> = series
        .iter()
        .map(|p| {
            let mut v = totals_view(&p.totals);
            v["bucket"] = query::time(p.bucket);
            v
        })
        .collect();
    let v = json!({
        "key_id": caller.id,
        "name": caller.label,
        "team": policy.and_then(|p| p.team.clone()),
        "expires_at": policy.and_then(|p| p.expires_at).map_or(Value::Null, query::time),
        "from": query::time(scope.from),
        "to": query::time(scope.to),
        "bucket": bucket,
        "bucket_secs": bucket_ms / 1000,
        "totals": totals_view(&totals),
        "series": series,
        "by_model": groups("model", &by_model),
        "budgets": budgets
            .iter()
            .zip(spent)
            .map(|((scope, budget, start), spent)| budget_view(scope, budget, *start, spent))
            .collect::<Vec<_>>(),
        "limits": limits,
    });
    Ok(json(StatusCode::OK, &v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        let mut known = FILTERS.to_vec();
        known.push("bucket");
        Query::parse(Some(s), &known).unwrap()
    }

    #[test]
    fn buckets_follow_the_range_unless_named() {
        let day = scope_of(&q("from=0&to=86400")).unwrap();
        assert_eq!(bucket_of(&q(""), &day).unwrap(), ("hour", 3_600_000));
        let month = scope_of(&q("from=0&to=2592000")).unwrap();
        assert_eq!(bucket_of(&q(""), &month).unwrap().0, "day");
        assert_eq!(bucket_of(&q("bucket=minute"), &day).unwrap().0, "minute");
        assert!(bucket_of(&q("bucket=fortnight"), &day).is_err());
        // A year of minutes is too many buckets.
        let year = scope_of(&q("from=0&to=31536000")).unwrap();
        assert!(bucket_of(&q("bucket=minute"), &year).is_err());
        assert!(scope_of(&q("from=10&to=10")).is_err());
        let none = scope_of(&q("")).unwrap();
        assert_eq!(none.to - none.from, DAY_MS);
    }
}
