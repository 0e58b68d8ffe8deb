//! What makes two requests the same for the response cache: the scope (whose entries), the
//! endpoint, and the request in its canonical form ([`super::canonical`]), kept whole as the
//! key and hashed where instances must agree on a name. Pure.

use sha2::{Digest, Sha256};

pub use super::canonical::{Canonical, canonical};

/// A request's identity in the cache: scope, endpoint and canonical request, kept whole so
/// that a hit is checked against it (the map's hash is fast, not collision-proof), and hashed
/// with SHA-256 only where instances must agree on a name (Redis).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    pub fn new(scope: &str, endpoint: &str, canonical: &str) -> Key {
        let mut text = String::with_capacity(scope.len() + endpoint.len() + canonical.len() + 2);
        for (i, part) in [scope, endpoint, canonical].into_iter().enumerate() {
            if i > 0 {
                text.push('\0');
            }
            text.push_str(part);
        }
        Key(text)
    }

    /// Bytes the key holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name every instance gives this key.
    pub fn shared(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

/// The SHA-256 of scope, endpoint and a text (the semantic cache's context).
pub fn key(scope: &str, endpoint: &str, canonical: &str) -> [u8; 32] {
    Key::new(scope, endpoint, canonical).shared()
}

/// A key as Redis names it.
pub fn hex(key: &[u8; 32]) -> String {
    use std::fmt::Write;
    key.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_whitespace_and_delivery_do_not_matter() {
        let a = canonical(br#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}],"stream":true}"#).unwrap();
        let b = canonical(br#"{ "messages": [ {"content":"hi", "role":"user"} ], "temperature": 0.0, "model": "m", "stream_options": {"include_usage": true} }"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.temperature, 0.0);
        assert_eq!(key("k1", "chat", &a.text), key("k1", "chat", &b.text));
        assert_eq!(
            Key::new("k1", "chat", &a.text),
            Key::new("k1", "chat", &b.text)
        );
        assert_ne!(
            Key::new("k1", "chat", &a.text),
            Key::new("k1\0chat", "", &a.text)
        );
        // Scope, endpoint and content do.
        assert_ne!(key("k1", "chat", &a.text), key("k2", "chat", &a.text));
        assert_ne!(key("k1", "chat", &a.text), key("k1", "messages", &a.text));
        let c = canonical(
            br#"{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi!"}]}"#,
        )
        .unwrap();
        assert_ne!(a.text, c.text);
        assert_eq!(canonical(br#"{"model":"m"}"#).unwrap().temperature, 1.0);
        assert!(canonical(b"[1]").is_none());
        assert_eq!(hex(&[0xab; 32]).len(), 64);
    }
}
