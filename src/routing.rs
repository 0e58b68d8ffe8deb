//! Model addressing: turns the `model` of a request into an ordered list of candidates
//! (provider + upstream model id + card). Aliases resolve first, then pool names, then
//! `provider_id/model` pins, then bare model ids served by any provider. Pure.
//!
//! Entry point: [`resolve`].

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

/// The candidates for `requested`, in the order they should be tried.
pub fn resolve(snap: &Snapshot, requested: &str) -> Result<Vec<Candidate>, GatewayError> {
    let mut name = requested;
    for _ in 0..MAX_ALIAS_DEPTH {
        match snap.aliases.get(name) {
            Some(target) => name = target,
            None => break,
        }
    }
    if let Some(pool) = snap.pools.get(name) {
        let mut out = Vec::new();
        for member in &pool.members {
            // A member that does not resolve (provider disabled) is skipped, not fatal.
            if let Ok(found) = resolve_target(snap, &member.model) {
                out.extend(found);
            }
            if !pool.fallback && !out.is_empty() {
                break;
            }
        }
        if out.is_empty() {
            return Err(not_found(
                requested,
                "none of the pool's members is served by an enabled provider",
            ));
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
