//! Catalog sync and scores (R8): `POST /v1/catalog/sync` reads every enabled provider's model
//! list and adds or retires what it serves (never for a provider whose config lists its
//! `models`); `GET /v1/catalog/sync-status`; `POST /v1/catalog/{model}/scores` sets a model's
//! quality scores (or, with `{"rollback": true}`, restores the previous ones) and answers
//! with the change and its history. Each change rebuilds the snapshot from the config and the
//! catalog's overlay. [`sync`] also serves the periodic sync (`sync_interval_secs`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiRequest, Reply, json, query};
use crate::config::QualityScores;
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::{Gateway, wall_ms};
use crate::runtime::catalog::state::ScoreChange;
use crate::runtime::provider::Provider;
use crate::runtime::snapshot::Snapshot;
use crate::upstream::{Upstream, UpstreamRequest, UpstreamResponse};

/// The longest a provider's model list may take, and its largest size.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;
/// Most models kept per provider, and the longest id.
const MAX_MODELS: usize = 5000;
const MAX_ID: usize = 256;

/// `POST /v1/catalog/sync`.
pub(super) async fn sync_now(gw: &Gateway) -> Result<Reply, GatewayError> {
    let data = sync(gw).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "object": "list", "data": data }),
    ))
}

/// Syncs every enabled provider; per provider `{provider, discovered, added, retired,
/// unchanged, error}` (and `skipped` for providers that list their models).
pub async fn sync(gw: &Gateway) -> Result<Vec<Value>, GatewayError> {
    let snap = gw.snapshot.load_full();
    let mut found = Vec::new();
    for p in &snap.providers {
        if p.lists_models {
            found.push((
                p.clone(),
                Err("skipped: the config lists its models".to_string()),
            ));
            continue;
        }
        found.push((p.clone(), list_models(gw, &snap, p).await));
    }
    let mut overlay = gw.catalog.overlay.lock();
    let mut report = Vec::new();
    for (p, result) in found {
        let current: BTreeSet<String> = snap
            .catalog
            .cards()
            .iter()
            .filter(|c| c.provider == p.id && c.source != "config")
            .map(|c| c.id.clone())
            .collect();
        match result {
            Ok(ids) => {
                let discovered: BTreeSet<String> = ids.into_iter().collect();
                let added = discovered.difference(&current).count();
                let retired = current.difference(&discovered).count();
                let unchanged = discovered.intersection(&current).count();
                report.push(json!({
                    "provider": p.id,
                    "discovered": discovered.len(),
                    "added": added,
                    "retired": retired,
                    "unchanged": unchanged,
                    "error": null,
                }));
                overlay
                    .synced
                    .insert(p.id.clone(), discovered.into_iter().collect());
            }
            Err(error) => report.push(json!({
                "provider": p.id,
                "discovered": 0,
                "added": 0,
                "retired": 0,
                "unchanged": current.len(),
                "error": if error.starts_with("skipped") { Value::Null } else { json!(error) },
                "skipped": error.starts_with("skipped"),
            })),
        }
    }
    let rebuilt = snap.rebuild(&overlay).map_err(|e| {
        GatewayError::new(ErrorKind::Internal, format!("rebuilding the catalog: {e}"))
    })?;
    gw.snapshot.store(Arc::new(rebuilt));
    *gw.catalog.last_synced.lock() = Some(wall_ms());
    Ok(report)
}

/// The ids in a provider's model list. Errors name the status or the shape, never the
/// provider's bytes.
async fn list_models(gw: &Gateway, snap: &Snapshot, p: &Provider) -> Result<Vec<String>, String> {
    let path = p.models_path().ok_or_else(|| {
        format!(
            "a {} provider has no model list to read",
            p.provider_type.as_str()
        )
    })?;
    let mut headers = vec![("accept", "application/json".to_string())];
    for (name, value) in p.format_headers() {
        headers.push((name, (*value).to_string()));
    }
    match snap.upstream_key(p, None) {
        Some(key) => headers.push(p.auth_header(key)),
        None if p.needs_key() => return Err("no API key to read its model list".into()),
        None => {}
    }
    let req = UpstreamRequest {
        method: "GET",
        path,
        headers,
        body: Bytes::new(),
    };
    let fetch = async {
        let mut resp = gw
            .client
            .send(&p.endpoint, &req, LIST_TIMEOUT)
            .await
            .map_err(|e| match e {
                crate::upstream::SendError::Connect(_) => "could not connect to it".to_string(),
                _ => "the connection to it failed".to_string(),
            })?;
        if resp.status() != 200 {
            return Err(format!("its model list answered HTTP {}", resp.status()));
        }
        let mut doc = Vec::new();
        while let Some(chunk) = resp
            .read_body()
            .await
            .map_err(|_| "the model list was cut".to_string())?
        {
            doc.extend_from_slice(&chunk);
            if doc.len() > MAX_LIST_BYTES {
                return Err("its model list is larger than 4 MiB".into());
            }
        }
        Ok(doc)
    };
    let doc = tokio::time::timeout(LIST_TIMEOUT, fetch)
        .await
        .map_err(|_| "its model list took longer than 10 s".to_string())??;
    parse_ids(&doc).ok_or_else(|| "its answer is not a model list".to_string())
}

/// Model ids from an OpenAI or Anthropic list (`data[].id`) or a Gemini one
/// (`models[].name`, `models/` stripped).
fn parse_ids(doc: &[u8]) -> Option<Vec<String>> {
    let v: Value = serde_json::from_slice(doc).ok()?;
    let ids: Vec<String> = if let Some(data) = v.get("data").and_then(Value::as_array) {
        data.iter()
            .filter_map(|m| m.get("id")?.as_str())
            .map(str::to_string)
            .collect()
    } else {
        v.get("models")?
            .as_array()?
            .iter()
            .filter_map(|m| m.get("name")?.as_str())
            .map(|n| n.strip_prefix("models/").unwrap_or(n).to_string())
            .collect()
    };
    Some(
        ids.into_iter()
            .filter(|id| !id.is_empty() && id.len() <= MAX_ID && !id.chars().any(char::is_control))
            .take(MAX_MODELS)
            .collect(),
    )
}

/// Syncs the catalog every `[model_routing] sync_interval_secs` while the gateway lives.
pub async fn keep_synced(gateway: std::sync::Weak<Gateway>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: the catalog starts from the config, then syncs.
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(gw) = gateway.upgrade() else {
            return;
        };
        match sync(&gw).await {
            Ok(report) => {
                let failed = report.iter().filter(|r| !r["error"].is_null()).count();
                tracing::info!(providers = report.len(), failed, "catalog synced");
            }
            Err(e) => tracing::warn!(error = %e.message, "catalog sync failed"),
        }
    }
}

/// `GET /v1/catalog/sync-status`.
pub(super) fn sync_status(gw: &Gateway, snap: &Snapshot) -> Reply {
    let last = *gw.catalog.last_synced.lock();
    json(
        StatusCode::OK,
        &json!({
            "last_synced": last.map(query::time),
            "model_count": snap.catalog.cards().len(),
            "enabled_providers": snap.providers.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            "sync_interval_secs": snap.routing.sync_interval_secs,
        }),
    )
}

/// `POST /v1/catalog/{model}/scores`: `{"coding_score", "reasoning_score",
/// "instruction_following", "arena_elo"}` (any of them), or `{"rollback": true}`.
pub(super) fn scores(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let model = crate::uri::decode(req.segment);
    let snap = gw.snapshot.load_full();
    let cards: Vec<_> = snap
        .catalog
        .cards()
        .iter()
        .filter(|c| c.id == model || format!("{}/{}", c.provider, c.id) == model)
        .cloned()
        .collect();
    let Some(first) = cards.first() else {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("no model `{model}` in the catalog; GET /v1/catalog lists them"),
        ));
    };
    let id = first.id.clone();
    let body: Value =
        serde_json::from_slice(&req.body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let fields = body
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object".into()))?;
    let previous = first.quality.clone();
    let updated = if body.get("rollback") == Some(&Value::Bool(true)) {
        let change = gw
            .catalog
            .undo(&id)
            .ok_or_else(|| bad(format!("`{id}` has no score change to roll back")))?;
        change.previous
    } else {
        let mut q = previous.clone();
        for (key, value) in fields {
            let slot = match key.as_str() {
                "coding_score" | "coding" => &mut q.coding,
                "reasoning_score" | "reasoning" => &mut q.reasoning,
                "instruction_following" => &mut q.instruction_following,
                "arena_elo" => &mut q.arena_elo,
                // Accepted for compatibility; the pipeline does not weigh them.
                "document_score" | "classification_score" => continue,
                other => return Err(bad(format!("unknown score `{other}`"))),
            };
            let v = value
                .as_f64()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("`{key}` must be a number")))?;
            if key != "arena_elo" && !(0.0..=1.0).contains(&v) {
                return Err(bad(format!("`{key}` must be between 0 and 1")));
            }
            *slot = Some(v);
        }
        q
    };
    apply_scores(gw, &snap, &id, &updated)?;
    let history = if body.get("rollback") == Some(&Value::Bool(true)) {
        gw.catalog
            .history
            .lock()
            .get(&id)
            .cloned()
            .unwrap_or_default()
    } else {
        gw.catalog.remember(
            &id,
            ScoreChange {
                at: wall_ms(),
                previous: previous.clone(),
                updated: updated.clone(),
            },
        )
    };
    Ok(json(
        StatusCode::OK,
        &json!({
            "model": id,
            "previous": previous,
            "updated": updated,
            "history": history,
        }),
    ))
}

fn apply_scores(
    gw: &Gateway,
    snap: &Snapshot,
    id: &str,
    scores: &QualityScores,
) -> Result<(), GatewayError> {
    let mut overlay = gw.catalog.overlay.lock();
    overlay.scores.insert(id.to_string(), scores.clone());
    let rebuilt = snap.rebuild(&overlay).map_err(|e| {
        GatewayError::new(ErrorKind::Internal, format!("rebuilding the catalog: {e}"))
    })?;
    gw.snapshot.store(Arc::new(rebuilt));
    Ok(())
}

fn bad(message: String) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lists_of_every_format() {
        let openai = br#"{"object":"list","data":[{"id":"gpt-4o"},{"id":"o3"}]}"#;
        assert_eq!(parse_ids(openai).unwrap(), vec!["gpt-4o", "o3"]);
        let gemini = br#"{"models":[{"name":"models/gemini-2.5-pro"}]}"#;
        assert_eq!(parse_ids(gemini).unwrap(), vec!["gemini-2.5-pro"]);
        assert!(parse_ids(b"<html>").is_none());
        let hostile = format!(
            r#"{{"data":[{{"id":"{}"}},{{"id":"a\u0000b"}},{{"id":""}}]}}"#,
            "x".repeat(300)
        );
        assert!(parse_ids(hostile.as_bytes()).unwrap().is_empty());
    }
}
