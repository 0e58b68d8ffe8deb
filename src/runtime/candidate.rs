//! A candidate: one place a request may be sent (provider, the model id it knows, the catalog
//! card). Data only. Routing re-exports it as `routing::Candidate`.

use std::sync::Arc;

use crate::runtime::catalog::ModelCard;
use crate::runtime::provider::Provider;

/// One place a request may be sent.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub provider: Arc<Provider>,
    /// The model id the provider knows.
    pub model: String,
    /// The catalog card; `None` for a pinned model the catalog does not list.
    pub card: Option<Arc<ModelCard>>,
}

/// The name metrics, circuit breakers and latency state use for models the catalog does not
/// list: a client may pin any name (`provider/<anything>`), and each must not become a
/// permanent series or state of its own.
pub const UNLISTED: &str = "other";

impl Candidate {
    /// The model's name in metrics and per-model state: its catalog id, else [`UNLISTED`].
    pub fn label(&self) -> &str {
        self.card.as_deref().map_or(UNLISTED, |c| c.id.as_str())
    }

    /// The key of the candidate's circuit breaker: `provider/label`.
    pub fn breaker_key(&self) -> String {
        let (provider, label) = (self.provider.id.as_str(), self.label());
        let mut key = String::with_capacity(provider.len() + 1 + label.len());
        key.push_str(provider);
        key.push('/');
        key.push_str(label);
        key
    }

    /// Calls `f` with [`Candidate::breaker_key`], written on the stack when it is short (a
    /// lookup on every request's candidates need not allocate).
    pub fn with_breaker_key<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        with_joined(&self.provider.id, self.label(), f)
    }
}

/// Calls `f` with `a/b`, on the stack when it fits in 128 bytes.
fn with_joined<R>(a: &str, b: &str, f: impl FnOnce(&str) -> R) -> R {
    let len = a.len() + 1 + b.len();
    let mut buf = [0u8; 128];
    if let Some(out) = buf.get_mut(..len) {
        let (head, tail) = out.split_at_mut(a.len());
        head.copy_from_slice(a.as_bytes());
        if let Some((slash, rest)) = tail.split_first_mut() {
            *slash = b'/';
            rest.copy_from_slice(b.as_bytes());
        }
        if let Ok(joined) = std::str::from_utf8(out) {
            return f(joined);
        }
    }
    f(&format!("{a}/{b}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joined_key_is_the_same_on_the_stack_or_not() {
        assert_eq!(
            with_joined("openai", "gpt-4o", str::to_string),
            "openai/gpt-4o"
        );
        assert_eq!(with_joined("", "", str::to_string), "/");
        let long = "é".repeat(70);
        assert_eq!(with_joined("p", &long, str::to_string), format!("p/{long}"));
        let edge = "m".repeat(126);
        assert_eq!(with_joined("p", &edge, str::len), 128);
    }
}
