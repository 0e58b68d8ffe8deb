//! Validation of the names requests may use: `[model_routing]` aliases and deprecations,
//! `[[models]]` cards and `[[pools]]`.

use std::collections::{HashMap, HashSet};

use super::{Checker, is_valid_date, root};
use crate::config::builtin_models;
use crate::config::model::PoolStrategy;
use crate::config::served::no_provider;

impl Checker<'_> {
    pub(super) fn routing(&mut self) {
        let config = self.config;
        let ids = self.provider_ids();
        let pools: HashSet<&str> = config.pools.iter().map(|p| p.name.as_str()).collect();
        let listed: HashSet<&str> = config
            .providers
            .iter()
            .flat_map(|p| match &p.models {
                Some(models) => models.iter().map(String::as_str).collect::<Vec<_>>(),
                // Built-in model ids may contain `/` too (`meta-llama/...` at deep_infra).
                None => builtin_models::cards_for(p.provider_type)
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect(),
            })
            .collect();
        let at = root("model_routing");
        for (name, target) in &config.model_routing.aliases {
            let path = at.key("aliases").key(name.as_str());
            if name.trim().is_empty() {
                self.add(path.clone(), "alias name must not be empty");
            }
            if target.trim().is_empty() {
                self.add(path, format!("alias `{name}` has an empty target"));
                continue;
            }
            if let Some((provider, _)) = target.split_once('/')
                && !ids.contains(provider)
                && !pools.contains(provider)
                && !listed.contains(target.as_str())
            {
                self.add(
                    path,
                    format!(
                        "alias `{name}` points to `{target}`, but {}",
                        no_provider(config, provider)
                    ),
                );
            }
        }
        let routing = &config.model_routing;
        if crate::config::PROFILE_NAMES
            .iter()
            .all(|n| *n != routing.default_profile)
        {
            self.add(
                at.key("default_profile"),
                format!(
                    "unknown profile `{}`; use one of: {}",
                    routing.default_profile,
                    crate::config::PROFILE_NAMES.join(", ")
                ),
            );
        }
        for (name, o) in &routing.profiles {
            let path = at.key("profiles").key(name.as_str());
            if !crate::config::PROFILE_NAMES.contains(&name.as_str()) {
                self.add(
                    path.clone(),
                    format!(
                        "unknown profile `{name}`; use one of: {}",
                        crate::config::PROFILE_NAMES.join(", ")
                    ),
                );
            }
            for (key, w) in [
                ("quality_weight", o.quality_weight),
                ("cost_weight", o.cost_weight),
            ] {
                if let Some(w) = w
                    && !(0.0..=1.0).contains(&w)
                {
                    self.add(path.key(key), format!("must be between 0 and 1 (got {w})"));
                }
            }
        }
        for (key, pool) in [
            ("simple", &routing.buckets.simple),
            ("complex", &routing.buckets.complex),
        ] {
            if let Some(pool) = pool
                && !pools.contains(pool.as_str())
            {
                self.add(
                    at.key("buckets").key(key),
                    format!("`{pool}` is not a pool name (a bucket sends `auto` requests to a [[pools]] entry)"),
                );
            }
        }
        if routing.sync_interval_secs == Some(0) {
            self.add(
                at.key("sync_interval_secs"),
                "must be at least 1 (leave it out to turn periodic sync off)",
            );
        }
        for (i, d) in config.model_routing.deprecations.iter().enumerate() {
            let path = at.key("deprecations").index(i);
            if d.model.trim().is_empty() {
                self.add(path.key("model"), "must not be empty");
            }
            if !is_valid_date(&d.sunset_date) {
                self.add(
                    path.key("sunset_date"),
                    format!(
                        "`{}` is not a valid date (expected YYYY-MM-DD)",
                        d.sunset_date
                    ),
                );
            }
        }
    }

    pub(super) fn models(&mut self) {
        let ids = self.provider_ids();
        for (i, card) in self.config.models.iter().enumerate() {
            let at = root("models").index(i);
            if card.id.trim().is_empty() {
                self.add(at.key("id"), "model id must not be empty");
            }
            if let Some(provider) = &card.provider
                && !ids.contains(provider.as_str())
            {
                self.add(at.key("provider"), no_provider(self.config, provider));
            }
            for (field, price) in [
                ("input_price_per_mtok", card.input_price_per_mtok),
                ("output_price_per_mtok", card.output_price_per_mtok),
            ] {
                if let Some(price) = price
                    && !(price.is_finite() && price >= 0.0)
                {
                    self.add(
                        at.key(field),
                        format!("must be a number >= 0 (got {price})"),
                    );
                }
            }
        }
    }

    pub(super) fn pools(&mut self) {
        let config = self.config;
        let ids = self.provider_ids();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, pool) in config.pools.iter().enumerate() {
            let at = root("pools").index(i);
            let name = pool.name.as_str();
            if name.trim().is_empty() {
                self.add(at.key("name"), "pool name must not be empty");
            } else if let Some(first) = seen.insert(name, i) {
                self.add(
                    at.key("name"),
                    format!("duplicate pool name `{name}` (already used by pools[{first}])"),
                );
            } else if ids.contains(name) {
                self.add(
                    at.key("name"),
                    format!("pool name `{name}` is also a provider id"),
                );
            } else if config.model_routing.aliases.contains_key(name) {
                self.add(
                    at.key("name"),
                    format!("pool name `{name}` is also an alias name"),
                );
            }
            if pool.members.is_empty() {
                self.add(at.key("members"), "a pool needs at least one member");
            }
            for (j, member) in pool.members.iter().enumerate() {
                let path = at.key("members").index(j);
                if member.model.trim().is_empty() {
                    self.add(path.key("model"), "must not be empty");
                }
                if pool.strategy == PoolStrategy::Weighted && member.weight < 1 {
                    self.add(
                        path.key("weight"),
                        "must be at least 1 for strategy weighted",
                    );
                }
            }
        }
    }
}
