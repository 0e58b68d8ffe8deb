//! The one typed per-request context (`ProxyHttp::CTX`): everything a request learns on its
//! way through the stages, read at the end by the logging phase for metrics and the access log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::usage::Usage;

/// Per-request state.
#[derive(Debug)]
pub struct RequestCtx {
    pub request_id: String,
    pub started: Instant,
    /// Endpoint label (`chat_completions`, `health`, ...).
    pub endpoint: &'static str,
    /// The `model` the client asked for.
    pub requested_model: Option<String>,
    /// Provider and model that served (or last tried) the request.
    pub provider: Option<Arc<str>>,
    pub model: Option<Arc<str>>,
    pub tenant: Option<String>,
    pub stream: bool,
    /// Status sent to the client (499 when it went away).
    pub status: u16,
    /// Error code when the request failed.
    pub error: Option<&'static str>,
    pub ttft: Option<Duration>,
    pub usage: Option<Usage>,
    pub cost_usd: f64,
    /// Upstream attempts made.
    pub attempts: u32,
}

impl RequestCtx {
    pub fn new(request_id: String) -> Self {
        Self {
            request_id,
            started: Instant::now(),
            endpoint: "other",
            requested_model: None,
            provider: None,
            model: None,
            tenant: None,
            stream: false,
            status: 0,
            error: None,
            ttft: None,
            usage: None,
            cost_usd: 0.0,
            attempts: 0,
        }
    }
}
