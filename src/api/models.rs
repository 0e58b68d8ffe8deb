//! What a caller may ask for: `GET /v1/models` (OpenAI's list format: bare ids,
//! `provider/model` pins, aliases and pools), `GET /v1/models/{id}`, `GET /v1/catalog` (the
//! model cards) and `POST /v1/messages/count_tokens` (a local token count).

use std::collections::HashSet;

use http::StatusCode;
use serde_json::json;

use super::{Reply, json};
use crate::errors::{ErrorKind, GatewayError};
use crate::inbound::request::{JsonKind, RawRequest};
use crate::routing::tokens;
use crate::runtime::snapshot::Snapshot;

/// The `created` of every listed model (the list is the gateway's, not a provider's).
const CREATED: u64 = 1_700_000_000;

pub(super) fn models(snap: &Snapshot) -> Reply {
    let mut seen = HashSet::new();
    let mut data = Vec::new();
    let mut push = |id: String, owned_by: &str| {
        if seen.insert(id.clone()) {
            data.push(
                json!({ "id": id, "object": "model", "created": CREATED, "owned_by": owned_by }),
            );
        }
    };
    for card in snap.catalog.cards() {
        push(card.id.clone(), &card.provider);
    }
    for card in snap.catalog.cards() {
        push(format!("{}/{}", card.provider, card.id), &card.provider);
    }
    for alias in snap.aliases.keys() {
        push(alias.clone(), "alias");
    }
    for pool in snap.pools.keys() {
        push(pool.clone(), "pool");
    }
    push("auto".to_string(), "router");
    json(StatusCode::OK, &json!({ "object": "list", "data": data }))
}

pub(super) fn catalog(snap: &Snapshot) -> Reply {
    json(
        StatusCode::OK,
        &json!({ "object": "list", "data": snap.catalog.cards() }),
    )
}

/// `GET /v1/models/{id}`: a bare model id, a `provider/model` pin, an alias or a pool, in
/// OpenAI's model format; 404 (`model_not_found`) otherwise.
pub(super) fn model(snap: &Snapshot, id: &str) -> Result<Reply, GatewayError> {
    let owned_by = if id == "auto" {
        Some("router".to_string())
    } else if snap.aliases.contains_key(id) {
        Some("alias".to_string())
    } else if snap.pools.contains_key(id) {
        Some("pool".to_string())
    } else if let Some(card) = snap.catalog.providers_of(id).next() {
        Some(card.provider.clone())
    } else {
        id.split_once('/')
            .and_then(|(p, m)| snap.catalog.lookup(p, m))
            .map(|card| card.provider.clone())
    };
    match owned_by {
        Some(owned_by) => Ok(json(
            StatusCode::OK,
            &json!({ "id": id, "object": "model", "created": CREATED, "owned_by": owned_by }),
        )),
        None => Err(GatewayError::new(
            ErrorKind::ModelNotFound,
            format!(
                "The model `{id}` does not exist or is not available; GET /v1/models lists them."
            ),
        )
        .with_param("model")),
    }
}

/// `POST /v1/messages/count_tokens`: `{"input_tokens"}` for an Anthropic Messages request
/// (`system`, `messages`, `tools`), counted with o200k_base and scaled for the family of the
/// provider serving `model` (Claude's tokenizer: about 1.2× o200k's count; see
/// `routing::tokens`). Nothing is sent upstream.
pub(super) fn count_tokens(snap: &Snapshot, body: &[u8]) -> Result<Reply, GatewayError> {
    let raw = RawRequest::parse(bytes::Bytes::copy_from_slice(body))?;
    let summary = raw.summary()?;
    raw.require("messages", JsonKind::Array)?;
    let mut text = Vec::with_capacity(body.len());
    for field in ["system", "messages", "tools"] {
        if let Some(v) = raw.get_bytes(field) {
            text.extend_from_slice(v);
            text.push(b'\n');
        }
    }
    let family = crate::routing::resolve(snap, &summary.model)
        .ok()
        .and_then(|c| c.first().map(|c| c.provider.provider_type))
        .unwrap_or(crate::config::ProviderType::Anthropic);
    let counted = tokens::counted(&text) as f64 * tokens::family_factor(family);
    Ok(json(
        StatusCode::OK,
        &json!({ "input_tokens": counted.ceil() as u64 }),
    ))
}
