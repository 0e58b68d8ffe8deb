//! Semantic validation of a deserialized [`Config`]: everything the types alone cannot say
//! (unique ids, URLs, cross references between sections, value ranges). All problems are
//! collected, each with the key path it concerns. Providers are checked in `providers`,
//! aliases, deprecations, model cards and pools in `routing`; the rest here. What loads but
//! is probably not meant (a provider without its key, a name nobody serves, an inactive
//! section) is a warning, found in `warnings`.

use std::collections::HashSet;

use super::model::*;
use super::path::KeyPath;
use super::problem::Problem;
use super::served::no_provider;

mod providers;
mod routing;
mod warnings;

pub(crate) use warnings::{inactive, warnings};

/// Every semantic problem of `config`, without line numbers (use `load_*` for those).
pub fn validate(config: &Config) -> Vec<Problem> {
    check(config)
        .into_iter()
        .map(|(path, message)| Problem::new(path.to_string(), None, message))
        .collect()
}

/// Every semantic problem of `config` as `(key path, message)`.
pub(crate) fn check(config: &Config) -> Vec<(KeyPath, String)> {
    let mut c = Checker {
        config,
        out: Vec::new(),
    };
    c.server();
    c.database();
    c.resilience();
    c.cache_and_quota();
    c.providers();
    c.routing();
    c.models();
    c.pools();
    c.key_map();
    c.redis();
    c.jwt();
    for id in c.config.sanitization.detectors.keys() {
        if !crate::compliance::detectors::ALL.iter().any(|d| d.id == id) {
            let ids: Vec<&str> = crate::compliance::detectors::ALL
                .iter()
                .map(|d| d.id)
                .collect();
            c.out.push((
                root("sanitization").key("detectors").key(id),
                format!("unknown detector `{id}`; detectors: {}", ids.join(", ")),
            ));
        }
    }
    if let Some(why) = super::builtin_models::load_error() {
        c.out.push((
            KeyPath::root(),
            format!("the built-in model catalog embedded in this binary cannot be read: {why}"),
        ));
    }
    c.out
}

pub(super) struct Checker<'a> {
    config: &'a Config,
    out: Vec<(KeyPath, String)>,
}

pub(super) fn root(key: &str) -> KeyPath {
    KeyPath::root().key(key)
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD`.
pub(super) fn is_valid_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    if !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>())
    else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

impl<'a> Checker<'a> {
    pub(super) fn add(&mut self, path: KeyPath, message: impl Into<String>) {
        self.out.push((path, message.into()));
    }

    pub(super) fn provider_ids(&self) -> HashSet<&'a str> {
        let config: &'a Config = self.config;
        config.providers.iter().map(|p| p.id.as_str()).collect()
    }

    pub(super) fn url(&mut self, path: KeyPath, value: &str) {
        match url::Url::parse(value) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some_and(|h| !h.is_empty()) => {}
            Ok(_) => self.add(
                path,
                format!("`{value}` must be an absolute http:// or https:// URL"),
            ),
            Err(e) => self.add(path, format!("`{value}` is not a valid absolute URL ({e})")),
        }
    }

    fn server(&mut self) {
        let s = &self.config.server;
        let at = root("server");
        if s.host.trim().is_empty() {
            self.add(at.key("host"), "must not be empty");
        }
        if s.max_body_bytes < 1024 {
            self.add(
                at.key("max_body_bytes"),
                format!("must be at least 1024 (got {})", s.max_body_bytes),
            );
        }
        if s.threads == Some(0) {
            self.add(at.key("threads"), "must be at least 1");
        }
        // A zero here would close every connection or end every stream at once.
        for (key, value) in [
            ("keepalive_timeout_secs", s.keepalive_timeout_secs),
            ("request_head_timeout_secs", s.request_head_timeout_secs),
            ("client_write_timeout_secs", s.client_write_timeout_secs),
        ] {
            if value == 0 {
                self.add(at.key(key), "must be at least 1 (seconds)");
            }
        }
        for (key, value) in [
            ("max_sse_line_bytes", s.max_sse_line_bytes),
            ("max_upstream_body_bytes", s.max_upstream_body_bytes),
        ] {
            if value < 1024 {
                self.add(at.key(key), format!("must be at least 1024 (got {value})"));
            }
        }
        if let Some(token) = &s.admin_token
            && token.expose().chars().count() < 16
        {
            self.add(at.key("admin_token"), "must be at least 16 characters long");
        }
    }

    fn database(&mut self) {
        let db = &self.config.database;
        if let Some(url) = &db.url
            && !["postgres://", "postgresql://", "sqlite:"]
                .iter()
                .any(|p| url.starts_with(p))
        {
            self.add(
                root("database").key("url"),
                "must start with `postgres://`, `postgresql://` or `sqlite:`",
            );
        }
        if db.max_connections == 0 {
            self.add(
                root("database").key("max_connections"),
                "must be at least 1",
            );
        }
        if db.retention_days == Some(0) {
            self.add(
                root("database").key("retention_days"),
                "must be at least 1 (0 would purge every record as soon as it is written); leave it out to keep records",
            );
        }
    }

    fn jwt(&mut self) {
        let Some(jwt) = &self.config.jwt else {
            return;
        };
        self.url(root("jwt").key("jwks_url"), &jwt.jwks_url);
        if jwt.jwks_cache_secs == 0 {
            self.add(
                root("jwt").key("jwks_cache_secs"),
                "must be at least 1 (fetched keys are used for this long)",
            );
        }
        if jwt.tenant_claim.trim().is_empty() {
            self.add(
                root("jwt").key("tenant_claim"),
                "must name a claim (`sub` by default)",
            );
        }
    }

    /// Checks a retry policy; `set(field)` says whether the file sets that field at `at`.
    pub(super) fn retry(&mut self, at: &KeyPath, p: &RetryPolicy, set: &dyn Fn(&str) -> bool) {
        if set("max_attempts") && p.max_attempts < 1 {
            self.add(at.key("max_attempts"), "must be at least 1");
        }
        if (set("base_delay_ms") || set("max_delay_ms")) && p.base_delay_ms > p.max_delay_ms {
            let field = if set("base_delay_ms") {
                "base_delay_ms"
            } else {
                "max_delay_ms"
            };
            self.add(
                at.key(field),
                format!(
                    "base_delay_ms ({}) must not exceed max_delay_ms ({})",
                    p.base_delay_ms, p.max_delay_ms
                ),
            );
        }
        if set("retryable_statuses") {
            for (i, status) in p.retryable_statuses.iter().enumerate() {
                if !(100..=599).contains(status) {
                    self.add(
                        at.key("retryable_statuses").index(i),
                        format!("{status} is not an HTTP status (100..=599)"),
                    );
                }
            }
        }
    }

    pub(super) fn breaker(
        &mut self,
        at: &KeyPath,
        threshold: Option<u32>,
        half_open: Option<u32>,
        initial_open: Option<u64>,
    ) {
        if threshold == Some(0) {
            self.add(at.key("failure_threshold"), "must be at least 1");
        }
        if initial_open == Some(0) {
            self.add(at.key("initial_open_secs"), "must be at least 1");
        }
        if half_open == Some(0) {
            self.add(at.key("half_open_max_concurrent"), "must be at least 1");
        }
    }

    fn resilience(&mut self) {
        let r = &self.config.resilience;
        let at = root("resilience");
        self.retry(
            &at.key("default_retry_policy"),
            &r.default_retry_policy,
            &|_| true,
        );
        let b = &r.default_circuit_breaker;
        self.breaker(
            &at.key("default_circuit_breaker"),
            Some(b.failure_threshold),
            Some(b.half_open_max_concurrent),
            Some(b.initial_open_secs),
        );
        let t = &r.timeout;
        for (key, value) in [
            ("stream_idle_ms", t.stream_idle_ms),
            ("upstream_idle_ms", t.upstream_idle_ms),
        ] {
            if value == 0 {
                self.add(
                    at.key("timeout").key(key),
                    "must be at least 1 (milliseconds)",
                );
            }
        }
    }

    fn cache_and_quota(&mut self) {
        let t = self.config.cache.temperature_threshold;
        if !(0.0..=2.0).contains(&t) {
            self.add(
                root("cache").key("temperature_threshold"),
                format!("must be between 0 and 2 (got {t})"),
            );
        }
        let c = &self.config.cache;
        if c.enabled && c.max_entries == 0 {
            self.add(
                root("cache").key("max_entries"),
                "must be at least 1 when the cache is enabled".to_string(),
            );
        }
        if c.enabled && c.ttl_secs == 0 {
            self.add(
                root("cache").key("ttl_secs"),
                "must be at least 1 when the cache is enabled".to_string(),
            );
        }
        let s = &self.config.cache.semantic;
        if !(s.similarity_threshold > 0.0 && s.similarity_threshold <= 1.0) {
            self.add(
                root("cache").key("semantic").key("similarity_threshold"),
                format!(
                    "must be greater than 0 and at most 1 (got {})",
                    s.similarity_threshold
                ),
            );
        }
        if s.enabled {
            let ids = self.provider_ids();
            let path = root("cache").key("semantic").key("embedding_model");
            match s.embedding_model.as_deref().and_then(|m| m.split_once('/')) {
                None => self.add(
                    path,
                    "must name an embeddings model as \"provider/model\" when the semantic cache is enabled"
                        .to_string(),
                ),
                Some((p, _)) if !ids.contains(p) => {
                    let message = no_provider(self.config, p);
                    self.add(path, message);
                }
                Some(_) => {}
            }
        }
        let q = &self.config.provider_quota;
        if !(q.deprioritize_threshold > 0.0 && q.deprioritize_threshold <= 1.0) {
            self.add(
                root("provider_quota").key("deprioritize_threshold"),
                format!(
                    "must be greater than 0 and at most 1 (got {})",
                    q.deprioritize_threshold
                ),
            );
        }
        let ids = self.provider_ids();
        let unknown: Vec<&String> = q
            .provider_limits
            .keys()
            .filter(|k| !ids.contains(k.as_str()))
            .collect();
        for id in unknown {
            let path = root("provider_quota")
                .key("provider_limits")
                .key(id.as_str());
            let message = no_provider(self.config, id);
            self.add(path, message);
        }
    }

    fn key_map(&mut self) {
        let ids = self.provider_ids();
        for (key, entry) in &self.config.key_map {
            let at = root("key_map").key(key.as_str());
            if key.trim().is_empty() {
                self.add(at.clone(), "virtual key must not be empty");
            }
            for id in entry.provider_keys.keys() {
                if !ids.contains(id.as_str()) {
                    self.add(
                        at.key("provider_keys").key(id.as_str()),
                        no_provider(self.config, id),
                    );
                }
            }
        }
    }

    fn redis(&mut self) {
        if let Some(redis) = &self.config.redis
            && !(redis.url.starts_with("redis://") || redis.url.starts_with("rediss://"))
        {
            self.add(
                root("redis").key("url"),
                "must start with `redis://` or `rediss://`",
            );
        }
    }
}

#[cfg(test)]
mod tests;
