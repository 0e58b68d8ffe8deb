//! Virtual keys and teams as rows: create, list, read, change, delete, and the version counter
//! every change bumps (other instances poll it to reload their key ring). A key's secret is
//! never stored: only its SHA-256 (hex) and a short hint of its start.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::StoreError;

/// Per-key limits (enforced by the limits stage; stored and returned here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpd: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<u64>,
}

/// A stored virtual key (without its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRow {
    pub id: String,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    /// The secret's first characters, to tell keys apart in lists.
    pub hint: String,
    pub name: String,
    pub team: Option<String>,
    pub models: Vec<String>,
    pub limits: Limits,
    pub max_budget_usd: Option<f64>,
    pub budget_period: Option<String>,
    pub max_request_cost_usd: Option<f64>,
    /// Unix milliseconds.
    pub expires_at: Option<i64>,
    pub metadata: serde_json::Value,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Unix ms; a revoked key stays (its records keep a name) but is refused.
    pub revoked_at: Option<i64>,
}

/// A stored team.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRow {
    pub id: String,
    pub name: String,
    pub max_budget_usd: Option<f64>,
    pub budget_period: Option<String>,
    pub metadata: serde_json::Value,
    pub created_at: i64,
}

const KEY_COLUMNS: &str = "id, hash, hint, name, team, models, limits, max_budget_usd, budget_period, max_request_cost_usd, expires_at, metadata, created_at, last_used_at, revoked_at";

fn key_of(row: &AnyRow) -> Result<KeyRow, StoreError> {
    let models: String = row.try_get("models")?;
    let limits: String = row.try_get("limits")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(KeyRow {
        id: row.try_get("id")?,
        hash: row.try_get("hash")?,
        hint: row.try_get("hint")?,
        name: row.try_get("name")?,
        team: row.try_get("team")?,
        models: serde_json::from_str(&models).unwrap_or_default(),
        limits: serde_json::from_str(&limits).unwrap_or_default(),
        max_budget_usd: row.try_get("max_budget_usd")?,
        budget_period: row.try_get("budget_period")?,
        max_request_cost_usd: row.try_get("max_request_cost_usd")?,
        expires_at: row.try_get("expires_at")?,
        metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null),
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn team_of(row: &AnyRow) -> Result<TeamRow, StoreError> {
    let metadata: String = row.try_get("metadata")?;
    Ok(TeamRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        max_budget_usd: row.try_get("max_budget_usd")?,
        budget_period: row.try_get("budget_period")?,
        metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null),
        created_at: row.try_get("created_at")?,
    })
}

pub async fn insert_key(pool: &AnyPool, k: &KeyRow) -> Result<(), StoreError> {
    change(pool, sqlx::query(&format!(
        "INSERT INTO virtual_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&k.id)
    .bind(&k.hash)
    .bind(&k.hint)
    .bind(&k.name)
    .bind(&k.team)
    .bind(json_text(&k.models))
    .bind(json_text(&k.limits))
    .bind(k.max_budget_usd)
    .bind(&k.budget_period)
    .bind(k.max_request_cost_usd)
    .bind(k.expires_at)
    .bind(k.metadata.to_string())
    .bind(k.created_at)
    .bind(k.last_used_at)
    .bind(k.revoked_at))
    .await
    .map(|_| ())
}

/// Replaces every field of the key `k.id` but its hash, hint and creation time.
pub async fn update_key(pool: &AnyPool, k: &KeyRow) -> Result<bool, StoreError> {
    change(pool, sqlx::query(
        "UPDATE virtual_keys SET name = $1, team = $2, models = $3, limits = $4, max_budget_usd = $5, budget_period = $6, max_request_cost_usd = $7, expires_at = $8, metadata = $9 WHERE id = $10",
    )
    .bind(&k.name)
    .bind(&k.team)
    .bind(json_text(&k.models))
    .bind(json_text(&k.limits))
    .bind(k.max_budget_usd)
    .bind(&k.budget_period)
    .bind(k.max_request_cost_usd)
    .bind(k.expires_at)
    .bind(k.metadata.to_string())
    .bind(&k.id))
    .await
}

/// Revokes a key (it stays, refused): `false` when there is no such key or it was revoked.
pub async fn revoke_key(pool: &AnyPool, id: &str, at: i64) -> Result<bool, StoreError> {
    let sql = "UPDATE virtual_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    change(pool, sqlx::query(sql).bind(at).bind(id)).await
}

pub async fn list_keys(pool: &AnyPool) -> Result<Vec<KeyRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM virtual_keys ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(key_of).collect()
}

pub async fn get_key(pool: &AnyPool, id: &str) -> Result<Option<KeyRow>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM virtual_keys WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(key_of).transpose()
}

/// Stamps the keys used since the last stamp (no version bump: usage is not a change).
pub async fn touch_keys(pool: &AnyPool, used: &[(String, i64)]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for (id, at) in used {
        sqlx::query("UPDATE virtual_keys SET last_used_at = $1 WHERE id = $2")
            .bind(*at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

const TEAM_COLUMNS: &str = "id, name, max_budget_usd, budget_period, metadata, created_at";

pub async fn insert_team(pool: &AnyPool, t: &TeamRow) -> Result<(), StoreError> {
    change(
        pool,
        sqlx::query(&format!(
            "INSERT INTO teams ({TEAM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.max_budget_usd)
        .bind(&t.budget_period)
        .bind(t.metadata.to_string())
        .bind(t.created_at),
    )
    .await
    .map(|_| ())
}

pub async fn update_team(pool: &AnyPool, t: &TeamRow) -> Result<bool, StoreError> {
    change(pool, sqlx::query(
        "UPDATE teams SET name = $1, max_budget_usd = $2, budget_period = $3, metadata = $4 WHERE id = $5",
    )
    .bind(&t.name)
    .bind(t.max_budget_usd)
    .bind(&t.budget_period)
    .bind(t.metadata.to_string())
    .bind(&t.id))
    .await
}

/// Deletes a team; its keys stay, without a team.
pub async fn delete_team(pool: &AnyPool, id: &str) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE virtual_keys SET team = NULL WHERE team = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    bump(&mut tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

pub async fn list_teams(pool: &AnyPool) -> Result<Vec<TeamRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {TEAM_COLUMNS} FROM teams ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(team_of).collect()
}

pub async fn get_team(pool: &AnyPool, id: &str) -> Result<Option<TeamRow>, StoreError> {
    let row = sqlx::query(&format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(team_of).transpose()
}

/// The version of keys and teams: every change adds one.
pub async fn version(pool: &AnyPool) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT value FROM gateway_meta WHERE name = 'keys_version'")
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(r) => r.try_get("value")?,
        None => 0,
    })
}

/// Runs one change and bumps the version, in one transaction: whether a row changed.
async fn change<'q>(
    pool: &AnyPool,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = query.execute(&mut *tx).await?;
    bump(&mut tx).await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

async fn bump(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE gateway_meta SET value = value + 1 WHERE name = 'keys_version'")
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        sqlx::query("INSERT INTO gateway_meta (name, value) VALUES ('keys_version', 1)")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
