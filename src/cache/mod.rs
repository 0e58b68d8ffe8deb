//! The response cache (C1, C3): whole answers kept by [`key`] (scope, endpoint, canonical
//! request), on this instance in a least-recently-used map of at most `max_entries`, each
//! living `ttl_secs`; with `[redis]`, also in Redis (the same TTL, answers up to
//! `max_entry_bytes`), so every instance serves what one of them kept. An answer is kept in
//! the client's format as a whole JSON body; a streaming client gets it replayed as a stream.
//! With `[cache.semantic]`, a request that means the same as a kept one is answered too
//! ([`semantic`]).
//!
//! May depend on config and the Redis client only; the proxy uses it.

pub mod canonical;
pub mod key;
pub mod semantic;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lru::LruCache;

use crate::config::{CacheConfig, CacheScope};
use crate::redis::Redis;
use crate::redis::resp::{self, Reply};

/// A kept answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The answer's JSON body, in the format of the endpoint it was asked on.
    pub body: Bytes,
    /// Who served it first.
    pub provider: Arc<str>,
    pub model: Arc<str>,
    /// The provider's name then the model's, as header values share them (a hit copies
    /// neither).
    names: Bytes,
    /// The answer as a stream, rendered at the first streamed replay (without and with the
    /// usage chunk an OpenAI client may ask for).
    pub streams: [std::sync::OnceLock<Bytes>; 2],
}

impl Entry {
    pub fn new(body: Bytes, provider: String, model: String) -> Entry {
        let names = Bytes::from([provider.as_str(), model.as_str()].concat());
        Entry {
            body,
            provider: Arc::from(provider),
            model: Arc::from(model),
            names,
            streams: Default::default(),
        }
    }

    /// The provider's name, as a header value (UTF-8).
    pub fn provider_value(&self) -> Bytes {
        self.names.slice(..self.provider.len())
    }

    /// The model's name, as a header value (UTF-8).
    pub fn model_value(&self) -> Bytes {
        self.names.slice(self.provider.len()..)
    }
}

impl Entry {
    /// The entry as Redis keeps it: two length-prefixed names, then the body.
    fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(8 + self.provider.len() + self.model.len() + self.body.len());
        for name in [&self.provider, &self.model] {
            out.extend_from_slice(&(name.len() as u32).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        out.extend_from_slice(&self.body);
        out
    }

    fn decode(bytes: &[u8]) -> Option<Entry> {
        let mut rest = bytes;
        let mut names = Vec::with_capacity(2);
        for _ in 0..2 {
            let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let name = std::str::from_utf8(rest.get(4..4 + len)?).ok()?;
            names.push(name.to_string());
            rest = &rest[4 + len..];
        }
        let model = names.pop()?;
        let provider = names.pop()?;
        Some(Entry::new(Bytes::copy_from_slice(rest), provider, model))
    }
}

/// What the cache settings say, compiled.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub scope: CacheScope,
    pub temperature_threshold: f64,
    pub ttl: Duration,
    pub max_entry_bytes: usize,
}

/// The semantic cache of an instance.
#[derive(Debug)]
pub struct Semantic {
    pub provider: String,
    pub model: String,
    pub index: semantic::SemanticIndex,
}

/// An entry on this instance and when it expires.
type Live = (Instant, std::sync::Arc<Entry>);

/// The local map: entries by key, least recently used first out. The hasher is seeded per
/// map (a client chooses the keys).
type Local = LruCache<key::Key, Live, foldhash::fast::RandomState>;

/// Request bodies seen, byte for byte (with scope and endpoint), and the key their canonical
/// form makes: a client repeating a request usually repeats its bytes, and this lookup costs
/// a fraction of writing the canonical form.
type Aliases = LruCache<key::Key, key::Key, foldhash::fast::RandomState>;

/// The exact-match cache of one instance (and the Redis one beside it).
#[derive(Debug)]
pub struct ResponseCache {
    pub settings: Settings,
    /// `[cache.semantic]`: the embeddings model (provider id, model) and the vectors.
    pub semantic: Option<Semantic>,
    local: Mutex<Local>,
    aliases: Mutex<Aliases>,
}

impl ResponseCache {
    /// The cache `[cache]` describes, when it is enabled.
    pub fn from_config(c: &CacheConfig) -> Option<ResponseCache> {
        if !c.enabled {
            return None;
        }
        let cap = std::num::NonZeroUsize::new(c.max_entries)?;
        let ttl = Duration::from_secs(c.ttl_secs);
        let semantic = c
            .semantic
            .embedding_model
            .as_deref()
            .and_then(|m| m.split_once('/'))
            .filter(|_| c.semantic.enabled)
            .map(|(provider, model)| Semantic {
                provider: provider.to_string(),
                model: model.to_string(),
                index: semantic::SemanticIndex::new(
                    c.semantic.similarity_threshold,
                    c.semantic.max_entries,
                    ttl,
                ),
            });
        Some(ResponseCache {
            semantic,
            settings: Settings {
                scope: c.scope,
                temperature_threshold: c.temperature_threshold,
                ttl,
                max_entry_bytes: c.max_entry_bytes,
            },
            local: Mutex::new(LruCache::with_hasher(cap, Default::default())),
            aliases: Mutex::new(LruCache::with_hasher(cap, Default::default())),
        })
    }

    /// The live entry of `key` on this instance.
    pub fn get_local(&self, key: &key::Key) -> Option<std::sync::Arc<Entry>> {
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        match local.get(key) {
            Some((expires, entry)) if *expires > Instant::now() => Some(entry.clone()),
            Some(_) => {
                local.pop(key);
                None
            }
            None => None,
        }
    }

    /// The key a request body with exactly these bytes (`raw`: scope, endpoint, body) made,
    /// when it was cacheable.
    pub fn alias(&self, raw: &key::Key) -> Option<key::Key> {
        let mut aliases = self.aliases.lock().unwrap_or_else(PoisonError::into_inner);
        aliases.get(raw).cloned()
    }

    /// Remembers that the body `raw` is the cacheable request `key` (both within
    /// `max_entry_bytes`, at most `max_entries` of them).
    pub fn put_alias(&self, raw: key::Key, key: key::Key) {
        if raw.len() > self.settings.max_entry_bytes || key.len() > self.settings.max_entry_bytes {
            return;
        }
        let mut aliases = self.aliases.lock().unwrap_or_else(PoisonError::into_inner);
        aliases.put(raw, key);
    }

    /// Keeps `entry` on this instance (until its TTL passes or it is the least recently
    /// used of a full cache).
    pub fn put_local(&self, key: key::Key, entry: std::sync::Arc<Entry>) {
        if entry.body.len() > self.settings.max_entry_bytes
            || key.len() > self.settings.max_entry_bytes
        {
            return;
        }
        let expires = Instant::now() + self.settings.ttl;
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        local.put(key, (expires, entry));
    }

    /// The entry of `key` in Redis (`None` when absent, unreadable or Redis cannot answer:
    /// the request is then served by a provider).
    pub async fn get_shared(&self, redis: &Redis, key: &key::Key) -> Option<Entry> {
        let name = shared_name(redis, &key.shared());
        let mut cmd = Vec::with_capacity(name.len() + 32);
        resp::encode(&mut cmd, &[b"GET".as_slice(), name.as_bytes()]);
        match redis.call(cmd).await {
            Ok(Reply::Bulk(Some(bytes))) => Entry::decode(&bytes),
            _ => None,
        }
    }

    /// Writes `entry` to Redis with the cache's TTL, without waiting for the answer.
    pub fn put_shared(&self, redis: &Redis, key: &key::Key, entry: &Entry) {
        if entry.body.len() > self.settings.max_entry_bytes
            || key.len() > self.settings.max_entry_bytes
        {
            return;
        }
        let name = shared_name(redis, &key.shared());
        let value = entry.encode();
        let ttl = self.settings.ttl.as_millis().to_string();
        let mut cmd = Vec::with_capacity(value.len() + name.len() + 48);
        resp::encode(
            &mut cmd,
            &[
                b"SET".as_slice(),
                name.as_bytes(),
                &value,
                b"PX",
                ttl.as_bytes(),
            ],
        );
        redis.send(cmd);
    }
}

/// The Redis key of a cache entry.
fn shared_name(redis: &Redis, key: &[u8; 32]) -> String {
    format!("{}cache:{}", redis.prefix, key::hex(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max: usize, ttl: u64) -> ResponseCache {
        let c: CacheConfig = toml::from_str(&format!(
            "enabled = true\nmax_entries = {max}\nttl_secs = {ttl}\nmax_entry_bytes = 64\n"
        ))
        .unwrap();
        ResponseCache::from_config(&c).unwrap()
    }

    fn entry(body: &str) -> std::sync::Arc<Entry> {
        std::sync::Arc::new(Entry::new(
            Bytes::from(body.to_string()),
            "p".into(),
            "m;x=1".into(),
        ))
    }

    #[test]
    fn least_recently_used_goes_first_and_large_answers_are_not_kept() {
        let c = cache(2, 60);
        let k = |n: &str| key::Key::new("s", "chat", n);
        c.put_local(k("1"), entry("a"));
        c.put_local(k("2"), entry("b"));
        assert!(c.get_local(&k("1")).is_some());
        c.put_local(k("3"), entry("c"));
        assert!(c.get_local(&k("2")).is_none());
        assert_eq!(c.get_local(&k("1")).unwrap().body, "a");
        c.put_local(k("4"), entry(&"x".repeat(65)));
        assert!(c.get_local(&k("4")).is_none());
        c.put_local(k(&"y".repeat(65)), entry("small"));
        assert!(c.get_local(&k(&"y".repeat(65))).is_none());
        let off: CacheConfig = toml::from_str("enabled = false").unwrap();
        assert!(ResponseCache::from_config(&off).is_none());
    }

    #[test]
    fn a_body_seen_before_names_its_key_within_the_bounds() {
        let c = cache(2, 60);
        let raw = |n: &str| key::Key::new("s", "chat", n);
        let canon = key::Key::new("s", "chat", "{\"a\":1}");
        c.put_alias(raw("{ \"a\": 1 }"), canon.clone());
        assert_eq!(c.alias(&raw("{ \"a\": 1 }")), Some(canon.clone()));
        assert_eq!(c.alias(&raw("{\"a\": 1}")), None);
        assert_eq!(c.alias(&key::Key::new("t", "chat", "{ \"a\": 1 }")), None);
        // A body longer than an entry may be is not remembered; the oldest goes first.
        c.put_alias(raw(&"z".repeat(65)), canon.clone());
        assert_eq!(c.alias(&raw(&"z".repeat(65))), None);
        c.put_alias(raw("2"), canon.clone());
        c.put_alias(raw("3"), canon.clone());
        assert_eq!(c.alias(&raw("{ \"a\": 1 }")), None);
        assert_eq!(c.alias(&raw("3")), Some(canon));
    }

    #[test]
    fn an_entry_survives_its_encoding() {
        let e = entry("{\"id\":1}");
        assert_eq!(Entry::decode(&e.encode()).as_ref(), Some(&*e));
        assert!(Entry::decode(b"\0\0\0\x09ab").is_none());
    }
}
