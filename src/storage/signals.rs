//! Quality signals (O6): what clients report about a model's answers (a rating, a thumbs up,
//! a task's success), kept with the model, task and kind; read back as per-model aggregates,
//! a model's daily series, the pending ones (drained once read), and degradation alerts that
//! compare a recent window with the baseline before it. Same SQL on SQLite and PostgreSQL.

use serde::Serialize;
use sqlx::{AnyPool, Row};

use super::StoreError;

/// One reported signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    pub id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub model: String,
    pub task_type: String,
    pub signal_type: String,
    pub value: f64,
    pub request_id: Option<String>,
}

pub async fn insert(pool: &AnyPool, s: &Signal) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO quality_signals (id, created_at, model, task_type, signal_type, value, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.id.as_str())
    .bind(s.created_at)
    .bind(s.model.as_str())
    .bind(s.task_type.as_str())
    .bind(s.signal_type.as_str())
    .bind(s.value)
    .bind(s.request_id.as_deref())
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the signals older than `before` (cleared analytics); returns how many went.
pub async fn clear(pool: &AnyPool, before: i64) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM quality_signals WHERE created_at < $1")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// The signals not read yet (oldest first, at most `limit`), marked read.
pub async fn drain(pool: &AnyPool, limit: i64) -> Result<Vec<Signal>, StoreError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "SELECT id, created_at, model, task_type, signal_type, value, request_id FROM quality_signals WHERE drained = 0 ORDER BY created_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(Signal {
            id: r.try_get("id")?,
            created_at: r.try_get("created_at")?,
            model: r.try_get("model")?,
            task_type: r.try_get("task_type")?,
            signal_type: r.try_get("signal_type")?,
            value: r.try_get("value")?,
            request_id: r.try_get("request_id")?,
        });
    }
    for s in &out {
        sqlx::query("UPDATE quality_signals SET drained = 1 WHERE id = $1")
            .bind(s.id.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// The signals of one group: how many, their mean, lowest and highest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    pub model: String,
    pub task_type: String,
    pub signal_type: String,
    pub count: i64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Signals in `[from, to)` by model, task and kind (of `model` only, when given).
pub async fn aggregates(
    pool: &AnyPool,
    from: i64,
    to: i64,
    model: Option<&str>,
) -> Result<Vec<Aggregate>, StoreError> {
    let mut sql = String::from(
        "SELECT model, task_type, signal_type, COUNT(*) AS n, AVG(value) AS mean, MIN(value) AS lo, MAX(value) AS hi FROM quality_signals WHERE created_at >= $1 AND created_at < $2",
    );
    if model.is_some() {
        sql.push_str(" AND model = $3");
    }
    sql.push_str(" GROUP BY model, task_type, signal_type ORDER BY model, task_type, signal_type");
    let mut q = sqlx::query(&sql).bind(from).bind(to);
    if let Some(m) = model {
        q = q.bind(m);
    }
    q.fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Aggregate {
                model: r.try_get("model")?,
                task_type: r.try_get("task_type")?,
                signal_type: r.try_get("signal_type")?,
                count: r.try_get("n")?,
                mean: r.try_get("mean")?,
                min: r.try_get("lo")?,
                max: r.try_get("hi")?,
            })
        })
        .collect()
}

/// One day of one kind of signal about a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// The bucket's start, Unix milliseconds.
    pub bucket: i64,
    pub signal_type: String,
    pub count: i64,
    pub mean: f64,
}

/// `model`'s signals in `[from, to)` in buckets of `bucket_ms`, oldest first.
pub async fn series(
    pool: &AnyPool,
    model: &str,
    from: i64,
    to: i64,
    bucket_ms: i64,
) -> Result<Vec<Day>, StoreError> {
    sqlx::query(
        "SELECT (created_at / $1) * $2 AS bucket, signal_type, COUNT(*) AS n, AVG(value) AS mean FROM quality_signals WHERE model = $3 AND created_at >= $4 AND created_at < $5 GROUP BY 1, signal_type ORDER BY 1, signal_type",
    )
    .bind(bucket_ms.max(1))
    .bind(bucket_ms.max(1))
    .bind(model)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Day {
            bucket: r.try_get("bucket")?,
            signal_type: r.try_get("signal_type")?,
            count: r.try_get("n")?,
            mean: r.try_get("mean")?,
        })
    })
    .collect()
}
