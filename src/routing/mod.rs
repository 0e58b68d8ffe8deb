//! Model addressing: turns the `model` of a request into an ordered list of candidates
//! (provider + upstream model id + card). Aliases resolve first, then pool names, then
//! `provider_id/model` pins, then bare model ids served by any provider. Pure.
//!
//! Entry points: [`resolve_ordered`] (pools ordered by their strategy, [`pool`]) and
//! [`resolve`] (pools in configured order).

pub mod pool;
mod profile;

pub use profile::Profile;

use std::sync::Arc;

use crate::catalog::ModelCard;
use crate::config::ProviderType;
use crate::errors::{ErrorKind, GatewayError};
use crate::providers::Provider;
use crate::state::Snapshot;

/// One place a request may be sent.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub provider: Arc<Provider>,
    /// The model id the provider knows.
    pub model: String,
    /// The catalog card; `None` for a pinned model the catalog does not list.
    pub card: Option<Arc<ModelCard>>,
}

/// Longest alias chain followed (`a` → `b` → `c`).
const MAX_ALIAS_DEPTH: usize = 4;

/// Per-process state of pool strategies: the round-robin counter and observed latencies.
#[derive(Debug, Default)]
pub struct PoolState {
    pub latency: pool::LatencyStats,
    counter: std::sync::atomic::AtomicUsize,
}

/// The candidates for `requested`, pools in their configured order.
pub fn resolve(snap: &Snapshot, requested: &str) -> Result<Vec<Candidate>, GatewayError> {
    resolve_with(snap, requested, None)
}

/// The candidates for `requested`, in the order they should be tried; pools are ordered by
/// their strategy.
pub fn resolve_ordered(
    snap: &Snapshot,
    requested: &str,
    state: &PoolState,
) -> Result<Vec<Candidate>, GatewayError> {
    resolve_with(snap, requested, Some(state))
}

fn resolve_with(
    snap: &Snapshot,
    requested: &str,
    state: Option<&PoolState>,
) -> Result<Vec<Candidate>, GatewayError> {
    let mut name = requested;
    for _ in 0..MAX_ALIAS_DEPTH {
        match snap.aliases.get(name) {
            Some(target) => name = target,
            None => break,
        }
    }
    if let Some(pool) = snap.pools.get(name) {
        let mut members = Vec::new();
        for member in &pool.members {
            // A member that does not resolve (provider disabled) is skipped, not fatal.
            if let Ok(found) = resolve_target(snap, &member.model) {
                members.extend(found.into_iter().map(|c| (c, member.weight)));
            }
        }
        if members.is_empty() {
            return Err(not_found(
                requested,
                "none of the pool's members is served by an enabled provider",
            ));
        }
        let mut out = match state {
            Some(state) => {
                let counter = state
                    .counter
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                pool::order(
                    pool.strategy,
                    members,
                    &state.latency,
                    counter,
                    rand::random::<f64>(),
                )
            }
            None => members.into_iter().map(|(c, _)| c).collect(),
        };
        if !pool.fallback {
            out.truncate(1);
        }
        return Ok(out);
    }
    resolve_target(snap, name).map_err(|why| not_found(requested, why))
}

fn resolve_target(snap: &Snapshot, name: &str) -> Result<Vec<Candidate>, &'static str> {
    if let Some((provider_id, model)) = name.split_once('/') {
        if let Some(provider) = snap.provider(provider_id) {
            if model.is_empty() {
                return Err("the model part after `provider/` is empty");
            }
            let card = snap.catalog.lookup(provider_id, model).or_else(|| {
                // The mock's models take options after `;` (`tokens;n=3`): price the base model.
                let base = model
                    .split(';')
                    .next()
                    .filter(|_| provider.provider_type == ProviderType::Mock)?;
                snap.catalog.lookup(provider_id, base)
            });
            let card = card.cloned();
            return Ok(vec![Candidate {
                provider: provider.clone(),
                model: model.to_string(),
                card,
            }]);
        }
        // Not a provider prefix: model ids may contain `/` (`meta-llama/Llama-3.3-70B-Instruct`).
    }
    let found: Vec<Candidate> = snap
        .catalog
        .providers_of(name)
        .filter_map(|card| {
            let provider = snap.provider(&card.provider)?;
            Some(Candidate {
                provider: provider.clone(),
                model: card.id.clone(),
                card: Some(card.clone()),
            })
        })
        .collect();
    if found.is_empty() {
        Err("no configured provider serves it")
    } else {
        Ok(found)
    }
}

fn not_found(requested: &str, why: &str) -> GatewayError {
    GatewayError::new(
        ErrorKind::ModelNotFound,
        format!(
            "The model `{requested}` does not exist or is not available: {why}. \
             GET /v1/models lists the models, aliases and pools you can use; \
             `provider_id/model` sends a model to one provider."
        ),
    )
    .with_param("model")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn snap() -> Snapshot {
        let text = r#"
            [model_routing.aliases]
            fast = "groq/llama-3.1-8b-instant"
            smart = "best"
            best = "gpt-4o"
            [[providers]]
            id = "openai"
            provider_type = "openai"
            api_key = "k"
            [[providers]]
            id = "groq"
            provider_type = "groq"
            api_key = "k"
            [[providers]]
            id = "azure"
            provider_type = "azure_openai"
            endpoint = "https://x.openai.azure.com"
            [[pools]]
            name = "chat"
            members = [{ model = "azure/gpt-4o" }, { model = "openai/gpt-4o-mini" }]
        "#;
        Snapshot::build(toml::from_str(text).unwrap(), &HashMap::new()).unwrap()
    }

    fn names(c: &[Candidate]) -> Vec<String> {
        c.iter()
            .map(|c| format!("{}/{}", c.provider.id, c.model))
            .collect()
    }

    #[test]
    fn bare_model_goes_to_every_serving_provider() {
        assert_eq!(
            names(&resolve(&snap(), "gpt-4o").unwrap()),
            vec!["openai/gpt-4o", "azure/gpt-4o"]
        );
    }

    #[test]
    fn pin_alias_chain_and_pool() {
        let s = snap();
        assert_eq!(
            names(&resolve(&s, "azure/gpt-4o").unwrap()),
            vec!["azure/gpt-4o"]
        );
        assert_eq!(
            names(&resolve(&s, "fast").unwrap()),
            vec!["groq/llama-3.1-8b-instant"]
        );
        assert_eq!(
            names(&resolve(&s, "smart").unwrap()),
            vec!["openai/gpt-4o", "azure/gpt-4o"]
        );
        assert_eq!(
            names(&resolve(&s, "chat").unwrap()),
            vec!["azure/gpt-4o", "openai/gpt-4o-mini"]
        );
        // A pinned model the catalog does not list still goes to that provider, without a card.
        let pinned = resolve(&s, "openai/gpt-5-preview").unwrap();
        assert!(pinned[0].card.is_none());
    }

    #[test]
    fn unknown_model_is_404_with_a_hint() {
        let e = resolve(&snap(), "nope").unwrap_err();
        assert_eq!(e.kind, ErrorKind::ModelNotFound);
        assert!(e.message.contains("GET /v1/models"));
        assert!(resolve(&snap(), "openai/").is_err());
        assert!(resolve(&snap(), "unknown-provider/x").is_err());
    }
}
