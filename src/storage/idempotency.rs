//! Kept answers of idempotent requests (S9), so that a restart keeps them: written when kept,
//! read at start (the last 24 hours), purged when older.

use sqlx::{AnyPool, Row};

use super::StoreError;

/// One kept answer as stored (headers as JSON, fingerprint as hex).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    pub tenant: String,
    pub key: String,
    pub created_at: i64,
    pub fingerprint: String,
    pub status: i64,
    pub headers: String,
    pub body: String,
}

pub async fn save(pool: &AnyPool, a: &StoredAnswer) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO idempotency (tenant, idem_key, created_at, fingerprint, status, headers, body) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, idem_key) DO UPDATE SET created_at = excluded.created_at, fingerprint = excluded.fingerprint, status = excluded.status, headers = excluded.headers, body = excluded.body",
    )
    .bind(&a.tenant)
    .bind(&a.key)
    .bind(a.created_at)
    .bind(&a.fingerprint)
    .bind(a.status)
    .bind(&a.headers)
    .bind(&a.body)
    .execute(pool)
    .await?;
    Ok(())
}

/// Answers kept since `since` (Unix ms); older ones are deleted.
pub async fn load(pool: &AnyPool, since: i64) -> Result<Vec<StoredAnswer>, StoreError> {
    sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(since)
        .execute(pool)
        .await?;
    let rows = sqlx::query(
        "SELECT tenant, idem_key, created_at, fingerprint, status, headers, body FROM idempotency",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAnswer {
                tenant: r.try_get("tenant")?,
                key: r.try_get("idem_key")?,
                created_at: r.try_get("created_at")?,
                fingerprint: r.try_get("fingerprint")?,
                status: r.try_get("status")?,
                headers: r.try_get("headers")?,
                body: r.try_get("body")?,
            })
        })
        .collect()
}
