//! The routing stage: turns the `model` of a request into the ordered candidates the attempt
//! loop walks (provider + upstream model id + card). Aliases resolve first, then pool names,
//! then `provider_id/model` pins, then bare model ids served by any provider ([`resolve`]);
//! [`plan`] then applies `x-gateway-failover` and the capability gate ([`Needs`]). Pool
//! strategies ([`pool`]) read the statistics of [`stats`]; the context-window filter used after
//! a context-length failure is [`fits_window`]. Pure: the pool counter and random draw come
//! from [`RouteStats`] and the caller.
//!
//! Entry points: [`plan`], [`resolve_ordered`] and [`resolve`] (pools in configured order).
//! May depend on `runtime`, `config` and `errors`; never on the inbound, attempt or proxy stages.

mod candidate;
mod needs;
pub mod pool;
mod profile;
mod stats;

pub use candidate::Candidate;
pub use needs::Needs;
pub use profile::Profile;
pub use stats::RouteStats;

use crate::config::served::MAX_ALIAS_DEPTH;
use crate::errors::{ErrorKind, GatewayError};
use crate::runtime::snapshot::Snapshot;

/// The candidates a request will walk, and why others were left out.
#[derive(Debug, Default)]
pub struct Plan {
    pub candidates: Vec<Candidate>,
    /// Why candidates were refused by the capability gate (the answer when none is left).
    pub refusals: Vec<String>,
}

/// The candidates for `requested`, ordered, cut to the first with `failover` off, without
/// those that lack a capability the request `needs`. `draw` is a uniform random number in
/// `[0, 1)` for weighted pools.
pub fn plan(
    snap: &Snapshot,
    stats: &RouteStats,
    requested: &str,
    needs: Needs,
    failover: bool,
    draw: f64,
) -> Result<Plan, GatewayError> {
    let mut candidates = resolve_with(snap, requested, Some((stats, draw)))?;
    if !failover {
        candidates.truncate(1);
    }
    let mut refusals = Vec::new();
    candidates.retain(|cand| match needs.problem(cand) {
        Some(why) => {
            refusals.push(why);
            false
        }
        None => true,
    });
    Ok(Plan {
        candidates,
        refusals,
    })
}

/// What a context-length failure taught about the window a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowNeed {
    /// The provider stated its limit: only a larger window may fit.
    LargerThan(u32),
    /// It did not: a window at least as large as the failed model's card may still fit.
    AtLeast(u32),
}

/// Whether `cand` is worth trying after a context-length failure (a candidate without a card
/// is tried).
pub fn fits_window(cand: &Candidate, need: Option<WindowNeed>) -> bool {
    match (need, &cand.card) {
        (Some(WindowNeed::LargerThan(n)), Some(card)) => card.context_window > n,
        (Some(WindowNeed::AtLeast(n)), Some(card)) => card.context_window >= n,
        _ => true,
    }
}

/// The candidates for `requested`, pools in their configured order.
pub fn resolve(snap: &Snapshot, requested: &str) -> Result<Vec<Candidate>, GatewayError> {
    resolve_with(snap, requested, None)
}

/// The candidates for `requested`, in the order they should be tried; pools are ordered by
/// their strategy (`draw`: a uniform random number in `[0, 1)` for weighted pools).
pub fn resolve_ordered(
    snap: &Snapshot,
    requested: &str,
    stats: &RouteStats,
    draw: f64,
) -> Result<Vec<Candidate>, GatewayError> {
    resolve_with(snap, requested, Some((stats, draw)))
}

fn resolve_with(
    snap: &Snapshot,
    requested: &str,
    ordering: Option<(&RouteStats, f64)>,
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
        for (model, weight) in &pool.members {
            // A member that does not resolve (provider disabled) is skipped, not fatal.
            if let Ok(found) = resolve_target(snap, model) {
                members.extend(found.into_iter().map(|c| (c, *weight)));
            }
        }
        if members.is_empty() {
            return Err(not_found(
                requested,
                "none of the pool's members is served by an enabled provider",
            ));
        }
        let mut out = match ordering {
            Some((stats, draw)) => {
                pool::order(pool.strategy, members, &stats.latency, stats.next(), draw)
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
    if let Some((provider_id, model)) = name.split_once('/')
        && let Some(provider) = snap.provider(provider_id)
    {
        if model.is_empty() {
            return Err("the model part after `provider/` is empty");
        }
        let card = snap
            .catalog
            .lookup(provider_id, model)
            .or_else(|| {
                snap.catalog
                    .lookup(provider_id, provider.card_model(model)?)
            })
            .cloned();
        return Ok(vec![Candidate {
            provider: provider.clone(),
            model: model.to_string(),
            card,
        }]);
    }
    // Not a provider prefix: model ids may contain `/` (`meta-llama/Llama-3.3-70B-Instruct`).
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
