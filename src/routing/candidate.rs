//! A candidate: one place a request may be sent (provider, the model id it knows, the catalog
//! card). Data only; depends on the runtime types.

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
