//! Who is calling: virtual keys (`[key_map.*]` in the config, and keys made through the admin
//! API, from the in-memory key ring) for `/v1/*`, and the admin token for `/admin/*`. Keys are
//! held and compared as SHA-256 digests; the admin token comparison is constant-time. No I/O:
//! takes the request's headers, returns the tenant or an error.

use std::sync::Arc;

use http::HeaderMap;

use crate::errors::{ErrorKind, GatewayError};
use crate::runtime::snapshot::{Snapshot, Tenant, digest_eq, key_hash};
use crate::storage::now_ms;
use crate::tenancy::Tenancy;
use crate::tenancy::jwt::looks_like_jwt;

/// The key a client presented: `Authorization: Bearer <key>` or `x-api-key: <key>`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v);
        if !token.is_empty() {
            return Some(token.trim());
        }
    }
    headers
        .get(const { http::HeaderName::from_static("x-api-key") })
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// The tenant of a `/v1/*` call; `None` while no virtual key exists (in the config or the
/// store): the gateway is open.
pub fn authenticate(
    snap: &Snapshot,
    tenancy: &Tenancy,
    headers: &HeaderMap,
) -> Result<Option<Arc<Tenant>>, GatewayError> {
    if !snap.keys_required() && !tenancy.ring.has_keys() && tenancy.jwt.is_none() {
        return Ok(None);
    }
    let Some(key) = presented_key(headers) else {
        return Err(GatewayError::new(
            ErrorKind::Unauthorized,
            "Missing API key: send your gateway key as `Authorization: Bearer <key>` or `x-api-key: <key>`.",
        ));
    };
    let hash = key_hash(key);
    if let Some(t) = snap.tenants.get(&hash) {
        return Ok(Some(t.clone()));
    }
    match tenancy.key(&hash, now_ms()) {
        Some(found) => found.map(Some),
        None => Err(GatewayError::new(
            ErrorKind::Unauthorized,
            "Invalid API key: it is not a key of this gateway (or it was revoked).",
        )),
    }
}

/// The tenant of a `/v1/*` call presenting a virtual key or (with `[jwt]`) a JSON Web Token.
pub async fn authenticate_call(
    snap: &Snapshot,
    tenancy: &Tenancy,
    headers: &HeaderMap,
) -> Result<Option<Arc<Tenant>>, GatewayError> {
    if let (Some(jwt), Some(token)) = (&tenancy.jwt, presented_key(headers))
        && looks_like_jwt(token)
    {
        let now = now_ms() / 1000;
        let name = jwt.tenant(token, now).await.map_err(|e| {
            GatewayError::new(ErrorKind::Unauthorized, format!("Invalid token: {e}."))
        })?;
        return Ok(Some(Arc::new(Tenant {
            id: format!("jwt:{name}"),
            label: Some(name),
            keys: std::collections::HashMap::new(),
            policy: None,
        })));
    }
    authenticate(snap, tenancy, headers)
}

/// Checks the admin token for `/admin/*`.
pub fn check_admin(snap: &Snapshot, headers: &HeaderMap) -> Result<(), GatewayError> {
    let Some(expected) = &snap.admin_token_hash else {
        return Err(GatewayError::new(
            ErrorKind::Forbidden,
            "Admin endpoints are disabled. Set `admin_token` in the `[server]` section of the config to enable them, then send it as `Authorization: Bearer <token>`.",
        ));
    };
    let presented = presented_key(headers).map(key_hash);
    match presented {
        Some(h) if digest_eq(&h, expected) => Ok(()),
        _ => Err(GatewayError::new(
            ErrorKind::Unauthorized,
            "Admin endpoints need `Authorization: Bearer <server.admin_token>`.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn req(headers: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    fn snap(text: &str) -> Snapshot {
        Snapshot::build(toml::from_str(text).unwrap(), &HashMap::new()).unwrap()
    }

    fn open() -> std::sync::Arc<Tenancy> {
        Tenancy::open(&crate::config::DatabaseConfig::default(), None).unwrap()
    }

    #[test]
    fn keys() {
        let t = open();
        let authenticate = |s: &Snapshot, h: &HeaderMap| authenticate(s, &t, h);
        let s = snap("[key_map.vk-1]\nlabel = 'a'");
        assert_eq!(authenticate(&s, &req(&[])).unwrap_err().status(), 401);
        assert_eq!(
            authenticate(&s, &req(&[("authorization", "Bearer nope")]))
                .unwrap_err()
                .status(),
            401
        );
        assert!(
            authenticate(&s, &req(&[("authorization", "Bearer vk-1")]))
                .unwrap()
                .is_some()
        );
        assert!(
            authenticate(&s, &req(&[("x-api-key", "vk-1")]))
                .unwrap()
                .is_some()
        );
        let open = snap("");
        assert!(authenticate(&open, &req(&[])).unwrap().is_none());
    }

    #[test]
    fn admin() {
        assert_eq!(check_admin(&snap(""), &req(&[])).unwrap_err().status(), 403);
        let s = snap("[server]\nadmin_token = 'admin-token-0123456789'");
        assert_eq!(check_admin(&s, &req(&[])).unwrap_err().status(), 401);
        assert_eq!(
            check_admin(&s, &req(&[("authorization", "Bearer wrong")]))
                .unwrap_err()
                .status(),
            401
        );
        assert!(
            check_admin(
                &s,
                &req(&[("authorization", "Bearer admin-token-0123456789")])
            )
            .is_ok()
        );
    }
}
