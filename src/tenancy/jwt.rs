//! JSON Web Tokens as client credentials (X5): an RS256 token is checked against the key of
//! its `kid` in the configured JWKS (signature, then `exp`, `nbf`, `iss`, `aud`, with a minute
//! of leeway for clocks); `alg: none` and every other algorithm are refused. An unknown `kid`
//! fetches the JWKS again (keys rotate), at most once every [`REFETCH_GAP`]. The
//! `tenant_claim` names the tenant. Checking is pure ([`check`]); fetching goes through the
//! [`Fetch`] the composition root provides.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::config::JwtConfig;

/// The shortest time between two fetches of the JWKS.
pub const REFETCH_GAP: Duration = Duration::from_secs(2);
/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: i64 = 60;
/// The largest token looked at.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Gets the JWKS document.
#[async_trait::async_trait]
pub trait Fetch: Send + Sync {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String>;
}

/// An RSA public key from the JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

#[derive(Debug, Default)]
struct KeySet {
    keys: HashMap<String, RsaKey>,
    /// Monotonic ms of the fetch.
    fetched_at: Option<tokio::time::Instant>,
}

/// Why a token was refused (said to the client: no key material in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm `{0}` is not accepted (RS256 only)")]
    Algorithm(String),
    #[error("the token's signing key `{0}` is not one of the issuer's keys")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYet,
    #[error("the token has no `exp`")]
    NoExpiry,
    #[error("the token's issuer is not the one this gateway trusts")]
    Issuer,
    #[error("the token's audience does not include this gateway")]
    Audience,
    #[error("the token has no `{0}` claim to name the tenant")]
    NoTenant(String),
    #[error("the issuer's keys could not be fetched")]
    Fetch,
}

/// Whether a bearer credential looks like a JWT (three base64url parts, a JSON header).
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// Parses a JWKS document: its RSA keys by `kid`.
pub fn parse_jwks(doc: &[u8]) -> Result<HashMap<String, RsaKey>, String> {
    #[derive(Deserialize)]
    struct Jwk {
        kty: String,
        kid: Option<String>,
        n: Option<String>,
        e: Option<String>,
        alg: Option<String>,
    }
    #[derive(Deserialize)]
    struct Jwks {
        keys: Vec<Jwk>,
    }
    let set: Jwks = serde_json::from_slice(doc).map_err(|e| format!("not a JWKS: {e}"))?;
    Ok(set
        .keys
        .into_iter()
        .filter(|k| k.kty == "RSA" && k.alg.as_deref().is_none_or(|a| a == "RS256"))
        .filter_map(|k| {
            let n = URL_SAFE_NO_PAD.decode(k.n?).ok()?;
            let e = URL_SAFE_NO_PAD.decode(k.e?).ok()?;
            Some((k.kid.unwrap_or_default(), RsaKey { n, e }))
        })
        .collect())
}

/// The token's `kid` (and that its algorithm is RS256).
fn key_id(token: &str) -> Result<String, JwtError> {
    let header = token.split('.').next().ok_or(JwtError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| JwtError::Malformed)?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    if header.alg != "RS256" {
        return Err(JwtError::Algorithm(header.alg.chars().take(20).collect()));
    }
    Ok(header.kid.unwrap_or_default())
}

/// Checks `token` with `key` at `now` (Unix seconds): its claims when it holds.
pub fn check(token: &str, key: &RsaKey, config: &JwtConfig, now: i64) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    key_id(token)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Malformed)?;
    let signed = &token[..header.len() + 1 + payload.len()];
    ring::signature::RsaPublicKeyComponents {
        n: &key.n,
        e: &key.e,
    }
    .verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        signed.as_bytes(),
        &signature,
    )
    .map_err(|_| JwtError::Signature)?;
    let claims: Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(Value::is_object)
        .ok_or(JwtError::Malformed)?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(JwtError::NoExpiry)?;
    if now > exp + LEEWAY_SECS {
        return Err(JwtError::Expired);
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| now + LEEWAY_SECS < nbf)
    {
        return Err(JwtError::NotYet);
    }
    if let Some(issuer) = &config.issuer
        && claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str())
    {
        return Err(JwtError::Issuer);
    }
    if let Some(audience) = &config.audience {
        let holds = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !holds {
            return Err(JwtError::Audience);
        }
    }
    Ok(claims)
}

/// The verifier: config, the keys fetched, and how to fetch them.
pub struct Jwt {
    config: JwtConfig,
    keys: ArcSwap<KeySet>,
    fetch: Arc<dyn Fetch>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("jwks_url", &self.config.jwks_url)
            .finish_non_exhaustive()
    }
}

impl Jwt {
    pub fn new(config: JwtConfig, fetch: Arc<dyn Fetch>) -> Jwt {
        Jwt {
            config,
            keys: ArcSwap::from_pointee(KeySet::default()),
            fetch,
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The tenant a valid token names.
    pub async fn tenant(&self, token: &str, now: i64) -> Result<String, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Malformed);
        }
        let kid = key_id(token)?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refresh(false).await?;
                self.key(&kid)
                    .ok_or_else(|| JwtError::UnknownKey(kid.chars().take(64).collect()))?
            }
        };
        let claims = check(token, &key, &self.config, now)?;
        let claim = &self.config.tenant_claim;
        match claims.get(claim) {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(JwtError::NoTenant(claim.clone())),
        }
    }

    /// The key of `kid`, while the keys are fresh.
    fn key(&self, kid: &str) -> Option<RsaKey> {
        let set = self.keys.load();
        let fresh = set
            .fetched_at
            .is_some_and(|at| at.elapsed() < Duration::from_secs(self.config.jwks_cache_secs));
        fresh.then(|| set.keys.get(kid).cloned()).flatten()
    }

    /// Fetches the JWKS again, unless it was fetched within [`REFETCH_GAP`] (`force`: anyway).
    async fn refresh(&self, force: bool) -> Result<(), JwtError> {
        let _one = self.fetching.lock().await;
        let recent = self
            .keys
            .load()
            .fetched_at
            .is_some_and(|at| at.elapsed() < REFETCH_GAP);
        if recent && !force {
            return Ok(());
        }
        let doc = self.fetch.fetch(&self.config.jwks_url).await.map_err(|e| {
            tracing::warn!(url = %self.config.jwks_url, error = %e, "could not fetch the JWKS");
            JwtError::Fetch
        })?;
        let keys = parse_jwks(&doc).map_err(|e| {
            tracing::warn!(url = %self.config.jwks_url, error = %e, "the JWKS does not parse");
            JwtError::Fetch
        })?;
        self.keys.store(Arc::new(KeySet {
            keys,
            fetched_at: Some(tokio::time::Instant::now()),
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn refuses_what_is_not_rs256_before_any_key() {
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none"})),
            b64(&serde_json::json!({"sub": "x"}))
        );
        assert!(looks_like_jwt(&none));
        assert_eq!(key_id(&none), Err(JwtError::Algorithm("none".into())));
        let hs = format!("{}.e30.sig", b64(&serde_json::json!({"alg": "HS256"})));
        assert_eq!(key_id(&hs), Err(JwtError::Algorithm("HS256".into())));
        assert_eq!(key_id("eyJ.x.y"), Err(JwtError::Malformed));
        assert!(!looks_like_jwt("sk-gw-123"));
    }

    #[test]
    fn jwks_keeps_rsa_keys_by_kid() {
        let doc = br#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"},{"kty":"EC","kid":"b","crv":"P-256"},{"kty":"RSA","kid":"c","alg":"RS512","n":"AQAB","e":"AQAB"}]}"#;
        let keys = parse_jwks(doc).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys.contains_key("a"));
        assert!(parse_jwks(b"[]").is_err());
    }
}
