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
}
