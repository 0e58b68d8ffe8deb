//! Circuit-breaker state kept across restarts (S3): one row per breaker (`provider/model`)
//! holding its state as JSON (the resilience module's export), written when it changed and
//! read at start.

use sqlx::{AnyPool, Row};

use super::StoreError;

/// Every stored breaker: name and state (JSON).
pub async fn load(pool: &AnyPool) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query("SELECT name, data FROM breaker_states ORDER BY name")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("name")?, row.try_get("data")?)))
        .collect()
}

/// Writes these breakers' state (insert or replace).
pub async fn save(
    pool: &AnyPool,
    changed: &[(String, String)],
    now_ms: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for (name, data) in changed {
        sqlx::query(
            "INSERT INTO breaker_states (name, data, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(data)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
