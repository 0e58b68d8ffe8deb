//! Warnings: what loads but probably does not do what the file's author meant. A provider
//! that needs a key and has none, an alias or pool member no enabled provider serves, and a
//! section that is accepted but not active in this build. (`$VAR` without braces is found by
//! `interpolate`, before the values are replaced.)
//!
//! Entry points: [`warnings`] on the read configuration, [`inactive`] on the file's table.

use toml::{Table, Value};

use crate::config::model::Config;
use crate::config::path::KeyPath;
use crate::config::served::{Reach, reach, reach_target};

/// Sections and keys that parse and validate but do nothing yet (README, "Not yet active").
const INACTIVE: &[&[&str]] = &[&["update"]];

fn root(key: &str) -> KeyPath {
    KeyPath::root().key(key)
}

/// Every warning about `config` as `(key path, message)`.
pub(crate) fn warnings(config: &Config) -> Vec<(KeyPath, String)> {
    let mut out = Vec::new();
    keys(config, &mut out);
    targets(config, &mut out);
    out
}

/// Enabled providers that need a key and have none (unless a virtual key maps one).
fn keys(config: &Config, out: &mut Vec<(KeyPath, String)>) {
    for (i, p) in config.providers.iter().enumerate() {
        if !p.enabled || !p.provider_type.needs_key() {
            continue;
        }
        if p.api_key.as_ref().is_some_and(|k| !k.is_empty()) {
            continue;
        }
        let mapped = config.key_map.values().any(|entry| {
            entry
                .key_for(&p.id, p.provider_type)
                .is_some_and(|k| !k.is_empty())
        });
        if mapped {
            continue;
        }
        let state = if p.api_key.is_some() {
            "is empty"
        } else {
            "is not set"
        };
        let variable = format!("{}_API_KEY", p.provider_type.as_str().to_uppercase());
        out.push((
            root("providers").index(i).key("api_key"),
            format!(
                "`api_key` {state}: requests to provider `{}` ({}) will fail until it has one \
                 (e.g. `api_key = \"${{{variable}}}\"`) or a virtual key in [key_map] maps one",
                p.id,
                p.provider_type.as_str()
            ),
        ));
    }
}

/// Aliases and pool members that no enabled provider serves.
fn targets(config: &Config, out: &mut Vec<(KeyPath, String)>) {
    let at = root("model_routing").key("aliases");
    for (name, target) in &config.model_routing.aliases {
        // An unknown provider in an alias is an error already (`validate::routing`).
        if let Reach::Unserved(why) = reach(config, target) {
            out.push((
                at.key(name.as_str()),
                format!("alias `{name}` points to `{target}`, which nothing serves: {why}"),
            ));
        }
    }
    for (i, pool) in config.pools.iter().enumerate() {
        for (j, member) in pool.members.iter().enumerate() {
            if member.model.trim().is_empty() {
                continue;
            }
            if let Reach::Unserved(why) | Reach::NoSuchProvider(why) =
                reach_target(config, &member.model)
            {
                out.push((
                    root("pools").index(i).key("members").index(j).key("model"),
                    format!(
                        "member `{}` of pool `{}` is served by no enabled provider: {why}",
                        member.model, pool.name
                    ),
                ));
            }
        }
    }
}

/// The inactive sections and keys that `file` (the file's table) sets. A section that only
/// says `enabled = false` is left alone: off is what it is.
pub(crate) fn inactive(file: &Table) -> Vec<(KeyPath, String)> {
    let mut out = Vec::new();
    for path in INACTIVE {
        let mut value: Option<&Value> = None;
        let mut table = Some(file);
        for key in *path {
            value = table.and_then(|t| t.get(*key));
            table = value.and_then(Value::as_table);
        }
        let Some(value) = value else {
            continue;
        };
        let off = value
            .get("enabled")
            .and_then(Value::as_bool)
            .is_some_and(|on| !on);
        if off {
            continue;
        }
        let key_path = path.iter().fold(KeyPath::root(), |at, key| at.key(*key));
        let what = match path {
            [_] => "this section is",
            _ => "this key is",
        };
        out.push((
            key_path,
            format!("{what} accepted but not active in this build: it has no effect yet"),
        ));
    }
    out
}

#[cfg(test)]
#[path = "warnings_tests.rs"]
mod tests;
