//! The admin audit log: every change made through the admin API (keys, teams, replica pools,
//! circuit resets) with when, who (the admin token's id, never the token) and what changed;
//! `GET /admin/audit-log` lists them, newest first.

use http::StatusCode;
use rand::RngCore;
use serde_json::{Value, json};

use super::{ApiRequest, Reply, json};
use crate::errors::GatewayError;
use crate::gateway::Gateway;
use crate::inbound::auth::presented_key;
use crate::runtime::snapshot::{hex, key_hash};
use crate::storage::now_ms;
use crate::storage::records::{self, AdminAction};

/// Who made an admin request: `admin:` and the first 12 hex digits of its token's SHA-256.
fn actor(req: &ApiRequest<'_>) -> String {
    match presented_key(&req.head.headers) {
        Some(token) => format!("admin:{}", hex(&key_hash(token)[..6])),
        None => "admin".into(),
    }
}

/// Records one admin action; a failure to record is logged (the change itself is made).
pub(super) async fn record(
    gw: &Gateway,
    req: &ApiRequest<'_>,
    action: &str,
    target: &str,
    detail: Value,
) {
    let mut id = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut id);
    let now = now_ms();
    let entry = AdminAction {
        // Sortable by time, unique within a millisecond.
        id: format!("adm_{now:013}_{}", hex(&id)),
        created_at: now,
        actor: actor(req),
        action: action.to_string(),
        target: target.to_string(),
        detail,
    };
    tracing::info!(action, target, actor = %entry.actor, "admin change");
    let result = gw
        .tenancy
        .store
        .run(move |pool| async move { records::insert_action(&pool, &entry).await })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, action, target, "the admin audit log could not record a change");
    }
}

/// `GET /admin/audit-log?limit=`.
pub(super) async fn list(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let query = super::query::Query::parse(req.head.uri.query(), &["limit"])?;
    let limit = query.limit()?;
    let rows = gw
        .tenancy
        .store
        .run(move |pool| async move { records::list_actions(&pool, limit).await })
        .await
        .map_err(super::keys::store_error)?;
    let data: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "created_at": super::query::time(a.created_at),
                "actor": a.actor,
                "action": a.action,
                "target": a.target,
                "detail": a.detail,
            })
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "data": data })))
}
