//! What a caller may ask for: `GET /v1/models` (OpenAI's list format: bare ids,
//! `provider/model` pins, aliases and pools) and `GET /v1/catalog` (the model cards).

use std::collections::HashSet;

use http::StatusCode;
use serde_json::json;

use super::{Reply, json};
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
    json(StatusCode::OK, &json!({ "object": "list", "data": data }))
}

pub(super) fn catalog(snap: &Snapshot) -> Reply {
    json(
        StatusCode::OK,
        &json!({ "object": "list", "data": snap.catalog.cards() }),
    )
}
