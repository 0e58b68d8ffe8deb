//! The only module that knows `pingora::ProxyHttp`. Each phase delegates to a stage.
//!
//! ```text
//! client ──► pingora listener ──► GatewayProxy::request_filter
//!              ├─ built-in endpoints (/health /ready /metrics /v1/models /v1/catalog /admin/*)
//!              │     → endpoints::handle → answer → Ok(true)
//!              └─ LLM endpoints (/v1/chat/completions /v1/messages /v1/completions /v1/embeddings)
//!                    → llm::handle: inbound (auth, content type, body cap, decode)
//!                                 → routing::resolve (aliases, pools, pins) → candidates
//!                                 → capability gate (attempt::Needs)
//!                                 → attempt loop: attempt::prepare (same format: the client's
//!                                   bytes; else IR → provider format) → upstream::UpstreamClient
//!                                 → forward: whole body (translated if needed) or SSE through
//!                                   a relay (byte-exact pass-through or StreamTranslator)
//!            GatewayProxy::logging → metrics + one JSON access line (ctx read once)
//! ```
//!
//! | phase            | stage                                   |
//! |------------------|-----------------------------------------|
//! | `request_filter` | `endpoints`, `llm` (inbound, routing, `attempt`, upstream, `forward`, `relay`) |
//! | `logging`        | `metrics`, `access_log`                 |
//! | `upstream_peer`  | unused: every route answers in `request_filter` |

mod attempt;
mod chain;
pub mod ctx;
mod endpoints;
mod forward;
mod hedge;
mod llm;
mod relay;
mod respond;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::proxy::{ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType};

use crate::access_log::{AccessLog, AccessRecord};
use crate::metrics::{Metrics, RequestRecord};
use crate::resilience::SystemClock;
use crate::resilience::breaker::BreakerRegistry;
use crate::routing::PoolState;
use crate::state::Snapshot;
use crate::upstream::UpstreamClient;
use crate::upstream::replicas::Replicas;
use ctx::RequestCtx;

/// Shared state of the running gateway.
pub struct App {
    pub snapshot: ArcSwap<Snapshot>,
    pub client: UpstreamClient,
    pub metrics: Metrics,
    /// Circuit breakers per `provider/model`.
    pub breakers: BreakerRegistry,
    /// Pool strategy state (round robin, observed latency).
    pub pools: PoolState,
    /// Self-hosted replica pools by provider id.
    pub replicas: HashMap<String, Arc<Replicas>>,
    pub access_log: AccessLog,
    pub started: Instant,
    pub port: u16,
    /// Request-id prefix, random per process, so ids are unique across restarts.
    id_prefix: String,
    id_counter: AtomicU64,
}

impl App {
    pub fn new(
        snapshot: Snapshot,
        port: u16,
        access_log: AccessLog,
        replicas: HashMap<String, Arc<Replicas>>,
    ) -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(snapshot),
            client: UpstreamClient::new(),
            metrics: Metrics::new(),
            breakers: BreakerRegistry::new(Arc::new(SystemClock)),
            pools: PoolState::default(),
            replicas,
            access_log,
            started: Instant::now(),
            port,
            id_prefix: format!("{:08x}", rand::random::<u32>()),
            id_counter: AtomicU64::new(0),
        }
    }

    /// Where an attempt to `provider` goes: a healthy replica when it has several endpoints.
    pub fn endpoint_of(&self, provider: &crate::providers::Provider) -> crate::providers::Endpoint {
        self.replicas
            .get(&provider.id)
            .and_then(|r| r.pick())
            .unwrap_or_else(|| provider.endpoint.clone())
    }

    fn next_request_id(&self) -> String {
        let n = self.id_counter.fetch_add(1, Ordering::Relaxed);
        format!("req_{}{n:012x}", self.id_prefix)
    }
}

/// The `ProxyHttp` implementation.
pub struct GatewayProxy {
    pub app: Arc<App>,
}

/// Milliseconds with microsecond precision, for the access log.
fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// An empty label for requests that reached no provider.
fn empty_label() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from("")).clone()
}

#[async_trait]
impl ProxyHttp for GatewayProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new(String::new())
    }

    /// Runs first for every request. Returns `Ok(true)`: the response was written here.
    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        ctx.request_id = session
            .req_header()
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map_or_else(|| self.app.next_request_id(), str::to_string);
        self.app.metrics.request_started();
        match llm::endpoint_for(session.req_header().uri.path()) {
            Some(ep) => llm::handle(&self.app, session, ctx, ep).await,
            None => {
                let path = session.req_header().uri.path().to_string();
                endpoints::handle(&self.app, session, ctx, &path).await
            }
        }
    }

    /// Never called: every route answers from `request_filter`.
    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
    ) -> pingora::Result<Box<HttpPeer>> {
        Err(Error::explain(
            ErrorType::InternalError,
            "no pass-through routes are configured",
        ))
    }

    /// Runs once per request at the end, after success or failure.
    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        self.app.metrics.request_finished();
        if ctx.status == 0 {
            // The request failed before anything was written: the client left or the
            // connection broke.
            ctx.status = if e.is_some() { 499 } else { 200 };
        }
        let empty = empty_label();
        let provider = ctx.provider.clone().unwrap_or_else(|| empty.clone());
        let model = ctx.model.clone().unwrap_or(empty);
        let usage = ctx.usage.unwrap_or_default();
        self.app.metrics.record(&RequestRecord {
            endpoint: ctx.endpoint,
            provider: &provider,
            model: &model,
            status: ctx.status,
            duration: ctx.started.elapsed(),
            ttft: ctx.ttft,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: ctx.cost_usd,
        });
        let req = session.req_header();
        self.app.access_log.write(&AccessRecord {
            request_id: &ctx.request_id,
            method: req.method.as_str(),
            path: req.uri.path(),
            endpoint: ctx.endpoint,
            status: ctx.status,
            latency_ms: millis(ctx.started.elapsed()),
            ttft_ms: ctx.ttft.map(millis),
            model: ctx.requested_model.as_deref(),
            provider: ctx.provider.as_deref(),
            upstream_model: ctx.model.as_deref(),
            tenant: ctx.tenant.as_deref(),
            stream: ctx.stream,
            attempts: ctx.attempts,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: ctx.cost_usd,
            error: ctx.error,
        });
    }

    /// Client disconnects are expected; they are counted as 499, not logged as errors.
    fn suppress_error_log(&self, _session: &Session, ctx: &RequestCtx, _error: &Error) -> bool {
        ctx.status == 499
    }
}
