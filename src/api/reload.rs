//! Hot reload (D3): `PUT /admin/config` (the whole TOML, `Content-Type: application/toml`),
//! SIGHUP (the `--config` file read again) and `GET /admin/config` (the running configuration,
//! secrets masked).
//!
//! A new configuration is loaded and validated like a file at start (a problem is a 400 naming
//! its line and key, and nothing changes), then built into a new snapshot (providers, models,
//! pools, keys, routing, limits, sanitization, timeouts, the admin token) and swapped in at
//! once: a request in flight finishes on the snapshot it started with. What the process built
//! at start around the snapshot is not rebuilt: the listener (`server.host`, `port`,
//! `threads`) stays as running (the answer names what a restart would change), and a reload
//! that changes the database, Redis, JWT, the response cache or replica pools (`endpoints`)
//! is refused whole, naming the key.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::StatusCode;
use serde_json::{Value, json};

use super::{ApiRequest, Reply, json};
use crate::config::{Config, Secret, load_str};
use crate::errors::{ErrorKind, GatewayError};
use crate::gateway::Gateway;
use crate::runtime::snapshot::Snapshot;

/// Largest configuration `PUT /admin/config` reads.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// What a reload changed: the top-level sections that differ; and the listener keys that
/// differ but were kept as running (the command line may set them; a restart applies them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub changed: Vec<String>,
    pub kept: Vec<String>,
}

/// Why a reload was refused (the old configuration stays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// Loads `text` (named `source` in messages), checks that it keeps what only a restart can
/// change, and swaps it in.
pub fn reload(gw: &Gateway, text: &str, source: &str) -> Result<Reloaded, Refused> {
    let config = load_str(text, source).map_err(|e| Refused(e.to_string()))?;
    apply(gw, config, source)
}

/// Swaps in `config` (already loaded and validated; `source` names it in messages) unless it
/// changes what only a restart can.
pub fn apply(gw: &Gateway, config: Config, source: &str) -> Result<Reloaded, Refused> {
    let (rebuilt, done) = prepare(gw, config, source)?;
    gw.snapshot.store(Arc::new(rebuilt));
    Ok(done)
}

/// Checks `text` as a reload would, changing nothing: what it would change.
pub fn validate(gw: &Gateway, text: &str, source: &str) -> Result<Reloaded, Refused> {
    let config = load_str(text, source).map_err(|e| Refused(e.to_string()))?;
    prepare(gw, config, source).map(|(_, done)| done)
}

/// The snapshot `config` would run as, and what it changes; refused when it changes what only
/// a restart can, or does not build.
fn prepare(
    gw: &Gateway,
    mut config: Config,
    source: &str,
) -> Result<(Snapshot, Reloaded), Refused> {
    let current = gw.snapshot.load_full();
    keep_masked_secrets(current.config(), &mut config);
    if let Some(key) = mask_left_in(&config) {
        return Err(Refused(format!(
            "`{key}` is `***`, the mask GET /admin/config shows: give the secret itself (nothing was applied)"
        )));
    }
    let old = current.config();
    let kept = keep_listener(old, &mut config);
    if let Some(key) = fixed_change(old, &config) {
        return Err(Refused(format!(
            "`{key}` differs from the running configuration, and it is fixed at start: restart the gateway to change it (nothing was applied)"
        )));
    }
    let changed = changed_sections(old, &config);
    let overlay = gw.catalog.overlay.lock().clone();
    let rebuilt = current
        .reconfigure(config, &overlay)
        .map_err(|e| Refused(format!("{source}: {e}")))?;
    Ok((rebuilt, Reloaded { changed, kept }))
}

/// Keeps the running listener (`server.host`, `port`, `threads`) in `new`: the names of those
/// that differed.
fn keep_listener(old: &Config, new: &mut Config) -> Vec<String> {
    let (a, b) = (&old.server, &mut new.server);
    let mut kept = Vec::new();
    if a.host != b.host {
        b.host = a.host.clone();
        kept.push("server.host".to_string());
    }
    if a.port != b.port {
        b.port = a.port;
        kept.push("server.port".to_string());
    }
    if a.threads != b.threads {
        b.threads = a.threads;
        kept.push("server.threads".to_string());
    }
    kept
}

/// The first key, in config terms, that differs between `old` and `new` and is fixed at start.
fn fixed_change(old: &Config, new: &Config) -> Option<String> {
    let differ = |x: Value, y: Value| x != y;
    for (name, differs) in [
        (
            "database",
            differ(value(&old.database), value(&new.database)),
        ),
        ("redis", differ(value(&old.redis), value(&new.redis))),
        ("jwt", differ(value(&old.jwt), value(&new.jwt))),
        ("cache", differ(value(&old.cache), value(&new.cache))),
    ] {
        if differs {
            return Some(name.into());
        }
    }
    // Replica pools are built at start from `endpoints` (more than one).
    let pools = |c: &Config| -> BTreeMap<String, Value> {
        c.providers
            .iter()
            .filter(|p| p.enabled && p.endpoints.len() > 1)
            .map(|p| {
                (
                    p.id.clone(),
                    json!([p.endpoints, p.health_check_interval_ms]),
                )
            })
            .collect()
    };
    let (x, y) = (pools(old), pools(new));
    if x != y {
        let id = x
            .keys()
            .chain(y.keys())
            .find(|id| x.get(*id) != y.get(*id))
            .cloned()
            .unwrap_or_default();
        return Some(format!("providers.{id}.endpoints"));
    }
    None
}

/// A config section as JSON, to compare it whole.
fn value<T: serde::Serialize>(section: &T) -> Value {
    serde_json::to_value(section).unwrap_or(Value::Null)
}

/// The top-level sections whose contents differ.
fn changed_sections(old: &Config, new: &Config) -> Vec<String> {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Where `new` holds the mask `***` for the admin token or a provider's key that runs now
/// (the configuration as GET /admin/config showed it), the running secret stays.
fn keep_masked_secrets(old: &Config, new: &mut Config) {
    let masked = |s: &Option<Secret>| s.as_ref().is_some_and(|s| s.expose() == "***");
    if masked(&new.server.admin_token) {
        new.server.admin_token.clone_from(&old.server.admin_token);
    }
    for p in new.providers.iter_mut().filter(|p| masked(&p.api_key)) {
        if let Some(running) = old.providers.iter().find(|o| o.id == p.id) {
            p.api_key.clone_from(&running.api_key);
        }
    }
}

/// The first secret of `config` that is still the mask of [`masked`] (applying it would
/// replace a real secret with `***`).
fn mask_left_in(config: &Config) -> Option<String> {
    let is_mask = |s: &Option<Secret>| s.as_ref().is_some_and(|s| s.expose() == "***");
    if is_mask(&config.server.admin_token) {
        return Some("server.admin_token".into());
    }
    if let Some(p) = config.providers.iter().find(|p| is_mask(&p.api_key)) {
        return Some(format!("providers.{}.api_key", p.id));
    }
    // A `[key_map]` entry is named by its virtual key: never echoed.
    config.key_map.values().find_map(|e| {
        let keys = [
            &e.openai_key,
            &e.anthropic_key,
            &e.google_key,
            &e.azure_openai_key,
            &e.groq_key,
            &e.deep_infra_key,
            &e.mistral_key,
            &e.meta_key,
        ];
        (keys.into_iter().any(is_mask) || e.provider_keys.values().any(|v| v.expose() == "***"))
            .then(|| "a [key_map] entry's provider key".to_string())
    })
}

/// `config` with every secret replaced: provider and mapped keys, the admin token, the
/// virtual keys of `[key_map]` (renamed `key_1`, `key_2`, ...), and credentials in URLs.
pub fn masked(config: &Config) -> Config {
    let mut c = config.clone();
    let hide = |s: &mut Option<Secret>| {
        if s.is_some() {
            *s = Some(Secret::new("***"));
        }
    };
    hide(&mut c.server.admin_token);
    for p in &mut c.providers {
        hide(&mut p.api_key);
        if let Some(e) = &mut p.endpoint {
            *e = crate::uri::masked(e).into_owned();
        }
        for e in &mut p.endpoints {
            *e = crate::uri::masked(e).into_owned();
        }
    }
    c.key_map = std::mem::take(&mut c.key_map)
        .into_values()
        .enumerate()
        .map(|(i, mut entry)| {
            for k in [
                &mut entry.openai_key,
                &mut entry.anthropic_key,
                &mut entry.google_key,
                &mut entry.azure_openai_key,
                &mut entry.groq_key,
                &mut entry.deep_infra_key,
                &mut entry.mistral_key,
                &mut entry.meta_key,
            ] {
                hide(k);
            }
            for v in entry.provider_keys.values_mut() {
                *v = Secret::new("***");
            }
            (format!("key_{}", i + 1), entry)
        })
        .collect();
    if let Some(url) = &mut c.database.url {
        *url = crate::storage::shown(url);
    }
    if let Some(r) = &mut c.redis {
        r.url = crate::storage::shown(&r.url);
    }
    c
}

/// `GET /admin/config`: the running configuration, secrets masked, as TOML and as JSON.
pub(super) fn show(gw: &Gateway) -> Reply {
    let snap = gw.snapshot.load();
    let shown = masked(snap.config());
    let toml = toml::to_string(&shown).unwrap_or_default();
    json(
        StatusCode::OK,
        &json!({
            "toml": toml,
            "config": serde_json::to_value(&shown).unwrap_or(Value::Null),
        }),
    )
}

/// `PUT /admin/config`: swaps in the configuration in the body.
pub(super) fn replace(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let text = std::str::from_utf8(&req.body).map_err(|_| {
        GatewayError::new(ErrorKind::BadRequest, "the configuration is not UTF-8 text")
    })?;
    match reload(gw, text, "PUT /admin/config") {
        Ok(done) => {
            tracing::info!(changed = ?done.changed, "configuration reloaded (PUT /admin/config)");
            Ok(json(
                StatusCode::OK,
                &json!({ "reloaded": true, "changed": done.changed, "restart_needed": done.kept }),
            ))
        }
        Err(Refused(message)) => Err(GatewayError::new(ErrorKind::BadRequest, message)),
    }
}

/// `POST /admin/config/validate`: checks the configuration in the body as `PUT` would,
/// applying nothing.
pub(super) fn check(gw: &Gateway, req: &ApiRequest<'_>) -> Result<Reply, GatewayError> {
    let text = std::str::from_utf8(&req.body).map_err(|_| {
        GatewayError::new(ErrorKind::BadRequest, "the configuration is not UTF-8 text")
    })?;
    match validate(gw, text, "POST /admin/config/validate") {
        Ok(done) => Ok(json(
            StatusCode::OK,
            &json!({ "valid": true, "changed": done.changed, "restart_needed": done.kept }),
        )),
        Err(Refused(message)) => Err(GatewayError::new(ErrorKind::BadRequest, message)),
    }
}

/// The `Content-Type` a configuration is sent with.
pub(super) fn check_toml_content_type(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    let mime = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match mime.as_deref() {
        Some("application/toml") => Ok(()),
        other => Err(GatewayError::new(
            ErrorKind::UnsupportedMediaType,
            format!(
                "Content-Type must be application/toml (got {}). With curl: -H 'Content-Type: application/toml' --data-binary @gateway.toml",
                other.map_or_else(|| "none".to_string(), |m| format!("`{m}`"))
            ),
        )),
    }
}

/// Re-reads `path` on every SIGHUP for as long as the gateway lives.
pub async fn reload_on_sighup(gw: std::sync::Weak<Gateway>, path: std::path::PathBuf) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("SIGHUP cannot be watched: reload through PUT /admin/config");
        return;
    };
    while hangups.recv().await.is_some() {
        let Some(gw) = gw.upgrade() else {
            return;
        };
        let source = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Err(e) => {
                tracing::error!(path = %source, error = %e, "SIGHUP: the configuration could not be read; the running one stays")
            }
            Ok(text) => match reload(&gw, &text, &source) {
                Ok(done) => {
                    tracing::info!(changed = ?done.changed, "configuration reloaded (SIGHUP)")
                }
                Err(Refused(why)) => {
                    tracing::error!(reason = %why, "SIGHUP: the configuration was refused; the running one stays")
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        load_str(text, "test").unwrap()
    }

    #[test]
    fn fixed_keys_are_named() {
        let base = config("[server]\nport = 8080\n");
        assert_eq!(fixed_change(&base, &base.clone()), None);
        let mut port = config("[server]\nport = 8081\n");
        assert_eq!(fixed_change(&base, &port), None);
        assert_eq!(keep_listener(&base, &mut port), ["server.port"]);
        assert_eq!(port.server.port, 8080);
        let db = config("[server]\nport = 8080\n[database]\nstore_bodies = false\n");
        assert_eq!(fixed_change(&base, &db).as_deref(), Some("database"));
        let timeout = config("[server]\nport = 8080\nkeepalive_timeout_secs = 5\n");
        assert_eq!(fixed_change(&base, &timeout), None);
        assert_eq!(changed_sections(&base, &timeout), ["server"]);
    }

    #[test]
    fn secrets_are_masked() {
        let c = config(
            "[server]\nadmin_token = \"admin-secret-0123456789\"\n[[providers]]\nid = \"p\"\nprovider_type = \"openai\"\nendpoint = \"http://user:pw@h/v1\"\napi_key = \"sk-provider-secret\"\nmodels = [\"m\"]\n[key_map.\"sk-virtual-secret\"]\nopenai_key = \"sk-mapped-secret\"\n",
        );
        let text = toml::to_string(&masked(&c)).unwrap();
        for secret in [
            "admin-secret",
            "sk-provider-secret",
            "sk-virtual-secret",
            "sk-mapped-secret",
            "user:pw",
        ] {
            assert!(!text.contains(secret), "{secret} shown:\n{text}");
        }
        assert!(text.contains("key_1"), "{text}");
    }
}
