//! The analytics queries (O5) over the request records: a time series in fixed buckets,
//! breakdowns by model, provider, key, team, project and source, errors split into those a
//! client saw and those failover hid, the requesters (`x-source`) and the projects. Every value
//! a caller gives is bound, never written into the SQL; the grouped columns are this module's
//! own names. The same SQL runs on SQLite and PostgreSQL.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::StoreError;

/// Which records a query reads: `[from, to)` in Unix milliseconds, and the optional equality
/// filters.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub from: i64,
    pub to: i64,
    /// Requested or served model (`model` or `provider/model`).
    pub model: Option<String>,
    pub provider: Option<String>,
    pub project: Option<String>,
    pub source: Option<String>,
    /// The records of one key (`GET /v1/usage`).
    pub key: Option<String>,
}

/// A column a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Model,
    Provider,
    Key,
    Team,
    Project,
    Source,
}

impl By {
    fn column(self) -> &'static str {
        match self {
            By::Model => "model",
            By::Provider => "provider",
            By::Key => "key_id",
            By::Team => "team_id",
            By::Project => "project",
            By::Source => "source",
        }
    }
}

/// Most groups a breakdown lists (the busiest first).
const MAX_GROUPS: i64 = 100;

/// The totals of a group of records.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub requests: i64,
    /// Records whose status was 400 or more.
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
    pub avg_latency_ms: f64,
    /// Over the records that have one (streams).
    pub avg_ttft_ms: Option<f64>,
}

/// The aggregate columns every totals query selects.
const TOTALS: &str = "COUNT(*) AS requests, \
    CAST(COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT) AS errors, \
    CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens, \
    CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens, \
    COALESCE(SUM(cost_usd), 0.0) AS cost_usd, \
    COALESCE(AVG(CAST(latency_ms AS DOUBLE PRECISION)), 0.0) AS avg_latency_ms, \
    AVG(CAST(ttft_ms AS DOUBLE PRECISION)) AS avg_ttft_ms";

fn totals_of(row: &AnyRow) -> Result<Totals, StoreError> {
    Ok(Totals {
        requests: row.try_get("requests")?,
        errors: row.try_get("errors")?,
        input_tokens: row.try_get("input_tokens")?,
        output_tokens: row.try_get("output_tokens")?,
        cost_usd: row.try_get("cost_usd")?,
        avg_latency_ms: row.try_get("avg_latency_ms")?,
        avg_ttft_ms: row.try_get("avg_ttft_ms")?,
    })
}

/// A query under construction: its SQL and the values to bind, in order.
struct Sql {
    text: String,
    ints: Vec<(usize, i64)>,
    texts: Vec<(usize, String)>,
    n: usize,
}

impl Sql {
    fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            ints: Vec::new(),
            texts: Vec::new(),
            n: 0,
        }
    }

    fn int(&mut self, v: i64) -> String {
        self.n += 1;
        self.ints.push((self.n, v));
        format!("${}", self.n)
    }

    fn text(&mut self, v: &str) -> String {
        self.n += 1;
        self.texts.push((self.n, v.to_string()));
        format!("${}", self.n)
    }

    /// ` WHERE ...` for `scope`.
    fn scope(&mut self, scope: &Scope) {
        let (from, to) = (self.int(scope.from), self.int(scope.to));
        self.text.push_str(&format!(
            " WHERE created_at >= {from} AND created_at < {to}"
        ));
        if let Some(m) = &scope.model {
            let (a, b, c) = (self.text(m), self.text(m), self.text(m));
            self.text.push_str(&format!(
                " AND (model_requested = {a} OR model = {b} OR (provider || '/' || model) = {c})"
            ));
        }
        for (column, value) in [
            ("provider", &scope.provider),
            ("project", &scope.project),
            ("source", &scope.source),
            ("key_id", &scope.key),
        ] {
            if let Some(v) = value {
                let p = self.text(v);
                self.text.push_str(&format!(" AND {column} = {p}"));
            }
        }
    }

    async fn fetch(self, pool: &AnyPool) -> Result<Vec<AnyRow>, StoreError> {
        let mut values: Vec<(usize, Result<i64, String>)> = self
            .ints
            .into_iter()
            .map(|(i, v)| (i, Ok(v)))
            .chain(self.texts.into_iter().map(|(i, v)| (i, Err(v))))
            .collect();
        values.sort_by_key(|(i, _)| *i);
        let mut q = sqlx::query(&self.text);
        for (_, v) in values {
            q = match v {
                Ok(n) => q.bind(n),
                Err(s) => q.bind(s),
            };
        }
        Ok(q.fetch_all(pool).await?)
    }
}

/// One bucket of the time series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The bucket's start, Unix milliseconds.
    pub bucket: i64,
    #[serde(flatten)]
    pub totals: Totals,
}

/// The records of `scope` in buckets of `bucket_ms`, oldest first (empty buckets left out).
pub async fn series(
    pool: &AnyPool,
    scope: &Scope,
    bucket_ms: i64,
) -> Result<Vec<Point>, StoreError> {
    let mut sql = Sql::new("");
    let (a, b) = (sql.int(bucket_ms.max(1)), sql.int(bucket_ms.max(1)));
    sql.text = format!("SELECT (created_at / {a}) * {b} AS bucket, {TOTALS} FROM request_records");
    sql.scope(scope);
    sql.text.push_str(" GROUP BY 1 ORDER BY 1");
    sql.fetch(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Point {
                bucket: r.try_get("bucket")?,
                totals: totals_of(r)?,
            })
        })
        .collect()
}

/// The totals of every record of `scope`.
pub async fn totals(pool: &AnyPool, scope: &Scope) -> Result<Totals, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {TOTALS} FROM request_records"));
    sql.scope(scope);
    match sql.fetch(pool).await?.first() {
        Some(r) => totals_of(r),
        None => Ok(Totals::default()),
    }
}

/// The records of `scope` grouped by `by` (records without that value left out), the
/// busiest first.
pub async fn breakdown(
    pool: &AnyPool,
    scope: &Scope,
    by: By,
) -> Result<Vec<(String, Totals)>, StoreError> {
    let column = by.column();
    let mut sql = Sql::new(&format!(
        "SELECT {column} AS name, {TOTALS} FROM request_records"
    ));
    sql.scope(scope);
    let limit = sql.int(MAX_GROUPS);
    sql.text.push_str(&format!(
        " AND {column} IS NOT NULL GROUP BY {column} ORDER BY requests DESC, name LIMIT {limit}"
    ));
    sql.fetch(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, totals_of(r)?)))
        .collect()
}

/// Failures by what a client saw: `failed` answered with an error; `mitigated` answered well
/// after at least one failover.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Failures {
    pub requests: i64,
    pub customer_impacting: i64,
    pub mitigated_by_failover: i64,
}

/// The failure counts of `scope` as a whole and grouped by `by` (only groups with one), and
/// the error kinds clients saw.
pub async fn failures(
    pool: &AnyPool,
    scope: &Scope,
    by: Option<By>,
) -> Result<Vec<(Option<String>, Failures)>, StoreError> {
    let counts = "COUNT(*) AS requests, \
        CAST(COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
        CAST(COALESCE(SUM(CASE WHEN status < 400 AND failovers > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS mitigated";
    let (select, group) = match by {
        Some(by) => (
            format!("SELECT {c} AS name, {counts}", c = by.column()),
            format!(
                " AND {c} IS NOT NULL GROUP BY {c} ORDER BY {c}",
                c = by.column()
            ),
        ),
        None => (format!("SELECT {counts}"), String::new()),
    };
    let mut sql = Sql::new(&format!("{select} FROM request_records"));
    sql.scope(scope);
    sql.text.push_str(&group);
    let rows = sql.fetch(pool).await?;
    let mut out = Vec::new();
    for r in &rows {
        let f = Failures {
            requests: r.try_get("requests")?,
            customer_impacting: r.try_get("failed")?,
            mitigated_by_failover: r.try_get("mitigated")?,
        };
        let name = match by {
            Some(_) => Some(r.try_get::<String, _>("name")?),
            None => None,
        };
        if by.is_none() || f.customer_impacting + f.mitigated_by_failover > 0 {
            out.push((name, f));
        }
    }
    Ok(out)
}

/// The error kinds of the failed records of `scope`, the commonest first.
pub async fn error_kinds(pool: &AnyPool, scope: &Scope) -> Result<Vec<(String, i64)>, StoreError> {
    let mut sql = Sql::new(
        "SELECT COALESCE(error, 'unknown') AS name, COUNT(*) AS requests FROM request_records",
    );
    sql.scope(scope);
    sql.text.push_str(
        " AND status >= 400 GROUP BY COALESCE(error, 'unknown') ORDER BY requests DESC, name",
    );
    sql.fetch(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("requests")?)))
        .collect()
}

/// Requests of `scope` per (`by` value, model), for the requesters' model mix.
pub async fn models_per(
    pool: &AnyPool,
    scope: &Scope,
    by: By,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    let column = by.column();
    let mut sql = Sql::new(&format!(
        "SELECT {column} AS name, COALESCE(model, model_requested, '') AS model, COUNT(*) AS requests FROM request_records"
    ));
    sql.scope(scope);
    sql.text.push_str(&format!(
        " AND {column} IS NOT NULL GROUP BY {column}, COALESCE(model, model_requested, '') ORDER BY {column}, requests DESC"
    ));
    sql.fetch(pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("name")?,
                r.try_get("model")?,
                r.try_get("requests")?,
            ))
        })
        .collect()
}

/// The newest record's time per `by` value in `scope`.
pub async fn last_seen(
    pool: &AnyPool,
    scope: &Scope,
    by: By,
) -> Result<Vec<(String, i64)>, StoreError> {
    let column = by.column();
    let mut sql = Sql::new(&format!(
        "SELECT {column} AS name, MAX(created_at) AS last FROM request_records"
    ));
    sql.scope(scope);
    sql.text
        .push_str(&format!(" AND {column} IS NOT NULL GROUP BY {column}"));
    sql.fetch(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("last")?)))
        .collect()
}
