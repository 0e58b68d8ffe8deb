//! Request records (O4, L4) and the admin audit log: the record's row, its `INSERT` through
//! the store's pool (the [`super::writer`] calls it), and the queries behind `/v1/requests`,
//! `/v1/stats`, `/admin/spend` and the budgets loaded at start.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::StoreError;

/// One request as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Record {
    pub id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub key_id: Option<String>,
    pub team_id: Option<String>,
    pub endpoint: String,
    pub model_requested: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub status: i64,
    pub error: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost_usd: f64,
    /// The model's price is unknown: `cost_usd` is not its cost (reads null).
    #[serde(skip)]
    pub cost_unknown: bool,
    pub latency_ms: i64,
    pub ttft_ms: Option<i64>,
    pub attempts: i64,
    pub failovers: i64,
    pub cache_status: Option<String>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// The routing decision and attempts (JSON), for `/v1/audit`.
    #[serde(skip)]
    pub audit: Option<String>,
    /// The requester the client named (`x-source`).
    pub source: Option<String>,
    /// The project the client named (`x-project`).
    pub project: Option<String>,
}

/// Rows in one INSERT (within every backend's limit on bound parameters).
const ROWS_PER_STATEMENT: usize = 40;

pub(super) const COLUMNS: &str = "id, created_at, key_id, team_id, endpoint, model_requested, provider, model, status, error, input_tokens, output_tokens, cached_tokens, cost_usd, latency_ms, ttft_ms, attempts, failovers, cache_status, stream, request_body, response_body, audit, cost_known, source, project";
pub(super) const PER_ROW: usize = 26;

/// `INSERT` of `rows` records: `$1, $2, ...` placeholders for PostgreSQL, `?` for SQLite (whose
/// named parameters are looked up one by one, a cost that grows with their square).
fn insert_sql(rows: usize, numbered: bool) -> String {
    let mut sql = format!("INSERT INTO request_records ({COLUMNS}) VALUES ");
    for i in 0..rows {
        sql.push_str(if i == 0 { "(" } else { ", (" });
        for c in 0..PER_ROW {
            if c > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push_str(&format!("${}", i * PER_ROW + c + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

pub(super) async fn insert(
    pool: &AnyPool,
    batch: &[Record],
    numbered: bool,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // Two statements only (so both stay prepared): full chunks, then single rows.
    let full = insert_sql(ROWS_PER_STATEMENT, numbered);
    let one = insert_sql(1, numbered);
    let whole = batch.len() / ROWS_PER_STATEMENT * ROWS_PER_STATEMENT;
    let chunks = batch[..whole]
        .chunks(ROWS_PER_STATEMENT)
        .chain(batch[whole..].chunks(1));
    for chunk in chunks {
        let sql = if chunk.len() == ROWS_PER_STATEMENT {
            &full
        } else {
            &one
        };
        let mut q = sqlx::query(sql);
        for r in chunk {
            q = q
                .bind(r.id.as_str())
                .bind(r.created_at)
                .bind(r.key_id.as_deref())
                .bind(r.team_id.as_deref())
                .bind(r.endpoint.as_str())
                .bind(r.model_requested.as_deref())
                .bind(r.provider.as_deref())
                .bind(r.model.as_deref())
                .bind(r.status)
                .bind(r.error.as_deref())
                .bind(r.input_tokens)
                .bind(r.output_tokens)
                .bind(r.cached_tokens)
                .bind(r.cost_usd)
                .bind(r.latency_ms)
                .bind(r.ttft_ms)
                .bind(r.attempts)
                .bind(r.failovers)
                .bind(r.cache_status.as_deref())
                .bind(i64::from(r.stream))
                .bind(r.request_body.as_deref())
                .bind(r.response_body.as_deref())
                .bind(r.audit.as_deref())
                .bind(i64::from(!r.cost_unknown))
                .bind(r.source.as_deref())
                .bind(r.project.as_deref());
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn record_of(row: &AnyRow, bodies: bool) -> Result<Record, StoreError> {
    let stream: i64 = row.try_get("stream")?;
    Ok(Record {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        key_id: row.try_get("key_id")?,
        team_id: row.try_get("team_id")?,
        endpoint: row.try_get("endpoint")?,
        model_requested: row.try_get("model_requested")?,
        provider: row.try_get("provider")?,
        model: row.try_get("model")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
        input_tokens: row.try_get("input_tokens")?,
        output_tokens: row.try_get("output_tokens")?,
        cached_tokens: row.try_get("cached_tokens")?,
        cost_usd: row.try_get("cost_usd")?,
        cost_unknown: row.try_get::<i64, _>("cost_known")? == 0,
        latency_ms: row.try_get("latency_ms")?,
        ttft_ms: row.try_get("ttft_ms")?,
        attempts: row.try_get("attempts")?,
        failovers: row.try_get("failovers")?,
        cache_status: row.try_get("cache_status")?,
        stream: stream != 0,
        request_body: if bodies {
            row.try_get("request_body")?
        } else {
            None
        },
        response_body: if bodies {
            row.try_get("response_body")?
        } else {
            None
        },
        audit: if bodies { row.try_get("audit")? } else { None },
        source: row.try_get("source")?,
        project: row.try_get("project")?,
    })
}

/// What `/v1/requests` filters on.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub model: Option<String>,
    pub status: Option<i64>,
    pub key: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Records older than this `(created_at, id)` (the previous page's last).
    pub before: Option<(i64, String)>,
    pub limit: i64,
    /// Whether each record carries its audit trail.
    pub with_audit: bool,
}

/// Records matching `f`, newest first.
pub async fn list(pool: &AnyPool, f: &Filter) -> Result<Vec<Record>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM request_records WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if f.model.is_some() {
        sql.push_str(&format!(
            " AND (model_requested = {a} OR model = {b} OR (provider || '/' || model) = {c})",
            a = next(),
            b = next(),
            c = next()
        ));
    }
    if f.status.is_some() {
        sql.push_str(&format!(" AND status = {}", next()));
    }
    if f.key.is_some() {
        sql.push_str(&format!(" AND key_id = {}", next()));
    }
    if f.from.is_some() {
        sql.push_str(&format!(" AND created_at >= {}", next()));
    }
    if f.to.is_some() {
        sql.push_str(&format!(" AND created_at < {}", next()));
    }
    if f.before.is_some() {
        let (a, b, c) = (next(), next(), next());
        sql.push_str(&format!(
            " AND (created_at < {a} OR (created_at = {b} AND id < {c}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT {}",
        next()
    ));
    let mut q = sqlx::query(&sql);
    if let Some(m) = &f.model {
        q = q.bind(m.clone()).bind(m.clone()).bind(m.clone());
    }
    if let Some(s) = f.status {
        q = q.bind(s);
    }
    if let Some(k) = &f.key {
        q = q.bind(k.clone());
    }
    if let Some(from) = f.from {
        q = q.bind(from);
    }
    if let Some(to) = f.to {
        q = q.bind(to);
    }
    if let Some((at, id)) = &f.before {
        q = q.bind(*at).bind(*at).bind(id.clone());
    }
    q = q.bind(f.limit);
    let rows = q.fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            let mut record = record_of(r, false)?;
            if f.with_audit {
                record.audit = r.try_get("audit")?;
            }
            Ok(record)
        })
        .collect()
}

/// One record with its bodies and audit trail.
pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<Record>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM request_records WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(|r| record_of(r, true)).transpose()
}

/// Totals over all records in `[from, to)`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub total_requests: i64,
    pub failed_requests: i64,
    pub total_input_tokens: i64,
    pub total_output_tokens: i64,
    pub total_tokens: i64,
    pub total_cost_usd: f64,
    pub avg_latency_ms: f64,
}

pub async fn stats(pool: &AnyPool, from: i64, to: i64) -> Result<Stats, StoreError> {
    let row = sqlx::query(
        // PostgreSQL sums BIGINTs into NUMERIC: cast back to BIGINT for one decoding everywhere.
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input, CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output, COALESCE(SUM(cost_usd), 0.0) AS cost, COALESCE(AVG(CAST(latency_ms AS DOUBLE PRECISION)), 0.0) AS latency FROM request_records WHERE created_at >= $1 AND created_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;
    let input: i64 = row.try_get("input")?;
    let output: i64 = row.try_get("output")?;
    Ok(Stats {
        total_requests: row.try_get("n")?,
        failed_requests: row.try_get("failed")?,
        total_input_tokens: input,
        total_output_tokens: output,
        total_tokens: input + output,
        total_cost_usd: row.try_get("cost")?,
        avg_latency_ms: row.try_get("latency")?,
    })
}

/// Spend in `[from, to)` grouped by `column` (`key_id`, `team_id`, `model`, `provider`): the
/// records, and the spend of records rolled up into the ledger (counted by their day: a
/// ledger day is in the range when it starts in it, so a range from midnight, as every budget
/// period is, counts exactly).
pub async fn spend_by(
    pool: &AnyPool,
    column: &'static str,
    from: i64,
    to: i64,
) -> Result<Vec<(String, f64, i64)>, StoreError> {
    // PostgreSQL sums BIGINTs into NUMERIC: cast back to BIGINT for one decoding everywhere.
    let sql = format!(
        "SELECT name, COALESCE(SUM(spend), 0.0) AS spend, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM (\
         SELECT {column} AS name, cost_usd AS spend, CAST(1 AS BIGINT) AS n FROM request_records WHERE created_at >= $1 AND created_at < $2 AND {column} IS NOT NULL \
         UNION ALL \
         SELECT {column} AS name, spend_usd AS spend, requests AS n FROM spend_ledger WHERE day >= $3 AND day < $4 AND {column} IS NOT NULL\
         ) AS s GROUP BY name ORDER BY spend DESC, name"
    );
    let rows = sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("spend")?, r.try_get("n")?)))
        .collect()
}

/// The ledger's row for each day, key, team, model and provider of the records it is given.
const LEDGER_INSERT: &str =
    "INSERT INTO spend_ledger (day, key_id, team_id, model, provider, spend_usd, requests)";
const LEDGER_SELECT: &str = "SELECT (created_at / 86400000) * 86400000, key_id, team_id, model, provider, COALESCE(SUM(cost_usd), 0.0), COUNT(*)";
const LEDGER_GROUP: &str =
    "GROUP BY (created_at / 86400000) * 86400000, key_id, team_id, model, provider";

/// Deletes the records older than `before` (retention, cleared analytics), their spend kept
/// in the ledger so that budgets and `GET /admin/spend` still count it. Atomic: a record is
/// either still a record or in the ledger, never both or neither (PostgreSQL: one statement;
/// SQLite: one transaction, which holds the database's only write lock from its first
/// statement). Returns how many records went.
pub async fn purge(pool: &AnyPool, postgres: bool, before: i64) -> Result<u64, StoreError> {
    if postgres {
        let sql = format!(
            "WITH gone AS (DELETE FROM request_records WHERE created_at < $1 RETURNING created_at, key_id, team_id, model, provider, cost_usd), \
             kept AS ({LEDGER_INSERT} {LEDGER_SELECT} FROM gone {LEDGER_GROUP} RETURNING requests) \
             SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS n FROM kept"
        );
        let row = sqlx::query(&sql).bind(before).fetch_one(pool).await?;
        let n: i64 = row.try_get("n")?;
        return Ok(n.max(0) as u64);
    }
    let mut tx = pool.begin().await?;
    sqlx::query(&format!(
        "{LEDGER_INSERT} {LEDGER_SELECT} FROM request_records WHERE created_at < $1 {LEDGER_GROUP}"
    ))
    .bind(before)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("DELETE FROM request_records WHERE created_at < $1")
        .bind(before)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// One admin action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminAction {
    pub id: String,
    pub created_at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

pub async fn insert_action(pool: &AnyPool, a: &AdminAction) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO admin_audit (id, created_at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&a.id)
    .bind(a.created_at)
    .bind(&a.actor)
    .bind(&a.action)
    .bind(&a.target)
    .bind(a.detail.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// Admin actions, newest first.
pub async fn list_actions(pool: &AnyPool, limit: i64) -> Result<Vec<AdminAction>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, created_at, actor, action, target, detail FROM admin_audit ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(AdminAction {
                id: r.try_get("id")?,
                created_at: r.try_get("created_at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                target: r.try_get("target")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Store;

    fn record(id: &str, at: i64, cost: f64) -> Record {
        Record {
            id: id.into(),
            created_at: at,
            key_id: Some("key_a".into()),
            endpoint: "chat_completions".into(),
            model: Some("echo".into()),
            provider: Some("m".into()),
            status: 200,
            cost_usd: cost,
            ..Record::default()
        }
    }

    /// 41 records (a full 40-row statement and a single row), queried, rolled up and purged.
    #[test]
    fn written_in_batches_then_queried_and_purged_with_spend_kept() {
        let store = Store::open(None, 1).unwrap();
        let batch: Vec<Record> = (0..41)
            .map(|i| record(&format!("req_{i:03}"), 1_000 + i, 0.5))
            .collect();
        store.block_on(async {
            let pool = store.pool();
            insert(&pool, &batch, false).await.unwrap();
            // A record written twice (a retried batch) is kept once.
            insert(&pool, &batch[..1], false).await.unwrap();
            let page = list(
                &pool,
                &Filter {
                    limit: 5,
                    ..Filter::default()
                },
            )
            .await
            .unwrap();
            assert_eq!(page[0].id, "req_040");
            let spend = spend_by(&pool, "key_id", 0, i64::MAX).await.unwrap();
            assert_eq!(spend, vec![("key_a".to_string(), 20.5, 41)]);
            assert_eq!(stats(&pool, 0, i64::MAX).await.unwrap().total_requests, 41);
            // Retention: older than 1,020 goes, its spend stays in the ledger.
            assert_eq!(purge(&pool, false, 1_020).await.unwrap(), 20);
            assert_eq!(stats(&pool, 0, i64::MAX).await.unwrap().total_requests, 21);
            let spend = spend_by(&pool, "key_id", 0, i64::MAX).await.unwrap();
            assert_eq!(spend, vec![("key_a".to_string(), 20.5, 41)]);
            assert_eq!(purge(&pool, false, i64::MAX).await.unwrap(), 21);
            let spend = spend_by(&pool, "key_id", 0, i64::MAX).await.unwrap();
            assert_eq!(spend, vec![("key_a".to_string(), 20.5, 41)]);
            // A ledger day before the range is not in it.
            assert!(
                spend_by(&pool, "key_id", 1, i64::MAX)
                    .await
                    .unwrap()
                    .is_empty()
            );
        });
    }
}
