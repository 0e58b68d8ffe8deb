//! The one typed per-request context: everything a request learns
//! on its way through the stages. Inbound fills the caller, controls and [`Call`]; routing the
//! [`Plan`]; the attempt stage the [`Trace`]; the logging phase reads it once to build the
//! metrics record and the access line (`observability::record`).
//!
//! Holds data only: it may depend on the types of inbound, routing, runtime and the IR, never
//! on the stages' code paths or on pingora.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::inbound::Call;
use crate::inbound::controls::Controls;
use crate::routing::Plan;
use crate::runtime::snapshot::Tenant;
use crate::tenancy::budget::Reservation;
use crate::translate::ir::Usage;

/// Per-request state.
#[derive(Debug)]
pub struct RequestCtx {
    pub id: String,
    pub started: Instant,
    /// Endpoint label (`chat_completions`, `health`, ...).
    pub endpoint: &'static str,
    /// The virtual key's tenant, when keys are configured.
    pub caller: Option<Arc<Tenant>>,
    /// `x-gateway-*` controls.
    pub controls: Controls,
    /// The LLM call, once inbound accepted it.
    pub call: Option<Call>,
    /// The candidates routing chose.
    pub plan: Plan,
    /// What happened.
    pub trace: Trace,
    /// Money held against the caller's budgets until the request ends.
    pub reservation: Option<Reservation>,
    /// The request's hold on its rate limits until it ends.
    pub admission: Option<crate::limits::Admission>,
    /// The whole answer's body, for the record (`[database] store_bodies`, not streams).
    pub response_body: Option<bytes::Bytes>,
}

/// What happened to a request: attempts, who served it, usage, how it ended.
#[derive(Debug, Default)]
pub struct Trace {
    /// What the caller's rate limits said at admission (the `x-ratelimit-*` headers).
    pub quota: Option<crate::limits::Quota>,
    /// Upstream attempts made (a hedge counts).
    pub attempts: u32,
    /// Provider and model that served (or last tried) the request.
    pub provider: Option<Arc<str>>,
    pub model: Option<Arc<str>>,
    /// The model's name in metrics and per-model state (bounded: catalog ids and `other`).
    pub model_label: Option<Arc<str>>,
    /// Whether an upstream answer reached the client.
    pub served: bool,
    pub ttft: Option<Duration>,
    pub usage: Option<Usage>,
    pub cost_usd: f64,
    /// Status sent to the client (0: nothing sent yet; 499 when the client went away).
    pub status: u16,
    /// Error code when the request failed.
    pub error: Option<&'static str>,
    /// Times the walk moved on to another candidate.
    pub failovers: u32,
    /// Each candidate's fate, in order: skipped and why, or attempted and how it ended.
    pub steps: Vec<Step>,
    /// Times a stream that broke mid-answer was continued by another attempt.
    pub continuations: u32,
    /// Part of the usage was estimated from the bytes sent (a stream ended early without a
    /// usage report).
    pub usage_estimated: bool,
    /// What the compliance filters found (detector, position, action, direction).
    pub compliance: Vec<crate::compliance::policy::Noted>,
    /// The serving model's price is unknown: no cost header, no cost in the record.
    pub cost_unknown: bool,
    /// What the response cache did (`hit`, `semantic-hit`, `miss`), when it looked.
    pub cache: Option<&'static str>,
    /// Headers routing adds to the answer (deprecation, smart-router bucket).
    pub route_headers: Vec<(&'static str, String)>,
}

/// One step of the walk over the candidates, for the audit trail.
#[derive(Debug, Clone)]
pub struct Step {
    /// The candidate's place in the plan.
    pub candidate: usize,
    /// `skipped` or `attempt`.
    pub action: &'static str,
    /// Why it was skipped, or how the attempt ended (`ok`, an error class).
    pub outcome: std::borrow::Cow<'static, str>,
    pub status: Option<u16>,
    pub latency_ms: Option<u64>,
    /// The wait before the next attempt, when one followed.
    pub retry_delay_ms: Option<u64>,
}

impl RequestCtx {
    pub fn new(id: String) -> Self {
        let now = tokio::time::Instant::now();
        Self {
            id,
            started: Instant::now(),
            endpoint: "other",
            caller: None,
            controls: Controls::defaults(now, Duration::ZERO),
            call: None,
            plan: Plan::default(),
            trace: Trace::default(),
            reservation: None,
            admission: None,
            response_body: None,
        }
    }

    /// The `model` the client asked for.
    pub fn requested_model(&self) -> Option<&str> {
        self.call.as_ref().map(|c| c.summary.model.as_str())
    }

    /// Whether the client asked for a stream.
    pub fn stream(&self) -> bool {
        self.call.as_ref().is_some_and(|c| c.summary.stream)
    }
}
