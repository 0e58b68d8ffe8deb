//! Which model names a configuration serves, by the rules the router follows at run time
//! (`crate::routing::resolve`): aliases first, then pools, then `provider_id/model` pins to an
//! enabled provider, then bare model ids some enabled provider lists.
//!
//! [`listed_models`] is also what the runtime catalog is built from, so the warnings of
//! `check-config` and the router agree on what a provider serves. Pure.

use super::builtin_models;
use super::model::{Config, ProviderConfig};
use super::suggest::closest;

/// Longest alias chain followed (`a` → `b` → `c`).
pub const MAX_ALIAS_DEPTH: usize = 4;

/// The model ids `provider` serves: its `models` (or the built-in list of its type), then the
/// `[[models]]` cards that name it. May repeat an id.
pub fn listed_models(config: &Config, provider: &ProviderConfig) -> Vec<String> {
    let listed: Vec<String> = match &provider.models {
        Some(models) => models.clone(),
        None => builtin_models::cards_for(provider.provider_type)
            .iter()
            .map(|c| c.id.to_string())
            .collect(),
    };
    let carded = config
        .models
        .iter()
        .filter(|m| m.provider.as_deref() == Some(provider.id.as_str()))
        .map(|m| m.id.clone());
    listed.into_iter().chain(carded).collect()
}

/// "no provider `x` is configured", with the closest configured id when one is close.
pub(crate) fn no_provider(config: &Config, id: &str) -> String {
    let ids: Vec<&str> = config.providers.iter().map(|p| p.id.as_str()).collect();
    match closest(id, &ids) {
        Some(near) => format!("no provider `{id}` is configured; did you mean `{near}`?"),
        None => format!("no provider `{id}` is configured"),
    }
}

/// Whether a request for a name finds a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    Served,
    /// Not served, and why (in words for the file's author).
    Unserved(String),
    /// `x/model` where no provider `x` is configured and no provider lists the whole name.
    NoSuchProvider(String),
}

/// Whether a request naming `name` (an alias, a pool, a pin or a model id) finds a provider.
pub(crate) fn reach(config: &Config, name: &str) -> Reach {
    let mut name = name;
    for _ in 0..MAX_ALIAS_DEPTH {
        match config.model_routing.aliases.get(name) {
            Some(target) => name = target,
            None => break,
        }
    }
    match config.pools.iter().find(|p| p.name == name) {
        Some(pool)
            if pool
                .members
                .iter()
                .any(|m| reach_target(config, &m.model) == Reach::Served) =>
        {
            Reach::Served
        }
        Some(pool) => Reach::Unserved(format!(
            "no member of pool `{}` is served by an enabled provider",
            pool.name
        )),
        None => reach_target(config, name),
    }
}

/// Whether a pool member or a resolved name (a pin or a model id, no alias or pool) finds
/// a provider.
pub(crate) fn reach_target(config: &Config, name: &str) -> Reach {
    // `auto`: the routing engine picks from whatever is enabled.
    if name == "auto" {
        return if config.providers.iter().any(|p| p.enabled) {
            Reach::Served
        } else {
            Reach::Unserved("no provider is enabled".into())
        };
    }
    if let Some((id, model)) = name.split_once('/')
        && let Some(provider) = config.providers.iter().find(|p| p.id == id)
    {
        if !provider.enabled {
            return Reach::Unserved(format!("provider `{id}` is disabled (`enabled = false`)"));
        }
        if model.is_empty() {
            return Reach::Unserved(format!("the model after `{id}/` is empty"));
        }
        return Reach::Served;
    }
    let listing = |enabled: bool| {
        config
            .providers
            .iter()
            .filter(|p| p.enabled == enabled)
            .any(|p| listed_models(config, p).iter().any(|m| m == name))
    };
    if listing(true) {
        return Reach::Served;
    }
    if listing(false) {
        return Reach::Unserved("only disabled providers list it".into());
    }
    match name.split_once('/') {
        Some((id, _)) => Reach::NoSuchProvider(no_provider(config, id)),
        None => Reach::Unserved(
            "no provider lists it (add it to a provider's `models`, or write `provider_id/model`)"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
    }

    const TEXT: &str = r#"
        [[providers]]
        id = "openai"
        provider_type = "openai"
        [[providers]]
        id = "off"
        provider_type = "local"
        endpoint = "http://x"
        models = ["only-here"]
        enabled = false
        [[providers]]
        id = "vllm"
        provider_type = "local"
        endpoint = "http://y"
        models = ["llama"]
        [[models]]
        id = "carded"
        provider = "vllm"
        [model_routing.aliases]
        fast = "smart"
        smart = "openai/anything"
        mix = "pool"
        [[pools]]
        name = "pool"
        members = [{ model = "off/x" }, { model = "llama" }]
        [[pools]]
        name = "dead"
        members = [{ model = "off/x" }]
    "#;

    #[test]
    fn names_reach_providers_as_routing_resolves_them() {
        let c = config(TEXT);
        for served in [
            "fast", "smart", "mix", "pool", "gpt-4o", "llama", "carded", "vllm/zzz",
        ] {
            assert_eq!(reach(&c, served), Reach::Served, "{served}");
        }
        let why = |name: &str| match reach(&c, name) {
            Reach::Unserved(why) | Reach::NoSuchProvider(why) => why,
            Reach::Served => String::new(),
        };
        assert!(why("off/x").contains("disabled"));
        assert!(why("only-here").contains("only disabled providers"));
        assert!(why("dead").contains("no member of pool `dead`"));
        assert!(why("openai/").contains("empty"));
        assert!(why("nothing").contains("no provider lists it"));
        assert_eq!(
            reach(&c, "ghost/model"),
            Reach::NoSuchProvider("no provider `ghost` is configured".into())
        );
        assert_eq!(
            reach_target(&c, "pool"),
            reach_target(&c, "nothing"),
            "members are not pools"
        );
    }

    #[test]
    fn listed_models_are_the_list_or_the_builtin_cards_then_the_config_cards() {
        let c = config(TEXT);
        assert_eq!(listed_models(&c, &c.providers[2]), ["llama", "carded"]);
        assert!(
            listed_models(&c, &c.providers[0])
                .iter()
                .any(|m| m == "gpt-4o")
        );
    }
}
