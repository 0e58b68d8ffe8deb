//! What to do after a failed upstream attempt: retry the same candidate, fail over to the next
//! one, or give up and answer the client.
//!
//! Entry points: [`classify_status`] for an HTTP error answer (the decision may read the error
//! body, in any provider's format or none) and [`classify_transport`] for a failure below HTTP.
//! [`label`] names each [`FailureKind`] for metrics and logs.
//!
//! Pure: no I/O, no clock. The retry policy is passed in because it differs per provider.

mod limit;
mod signals;

pub use limit::stated_context_limit;

use crate::resilience::policy::RetryPolicy;

use signals::{ErrorText, Signal};

/// What the attempt loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try the same candidate again (after a backoff), if attempts remain; else fail over.
    Retry,
    /// Skip to the next candidate now.
    FailOver,
    /// Stop: answer the client with this outcome (a client error).
    GiveUp,
}

/// Why an attempt failed, as far as resilience cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    RateLimited,
    QuotaExhausted,
    Overloaded,
    ServerError,
    Timeout,
    Connect,
    ConnectionReset,
    ContextLength,
    ContentPolicy,
    Auth,
    BadRequest,
    NotFound,
    StreamBroken,
    /// The gateway itself could not open a connection (out of file descriptors or ports):
    /// says nothing about the provider.
    Local,
}

impl FailureKind {
    /// Every kind, for registering metric label values up front.
    pub const ALL: [FailureKind; 14] = [
        FailureKind::RateLimited,
        FailureKind::QuotaExhausted,
        FailureKind::Overloaded,
        FailureKind::ServerError,
        FailureKind::Timeout,
        FailureKind::Connect,
        FailureKind::ConnectionReset,
        FailureKind::ContextLength,
        FailureKind::ContentPolicy,
        FailureKind::Auth,
        FailureKind::BadRequest,
        FailureKind::NotFound,
        FailureKind::StreamBroken,
        FailureKind::Local,
    ];
}

/// The classification of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub kind: FailureKind,
    pub verdict: Verdict,
    /// Whether this failure counts against the circuit breaker.
    pub trips_breaker: bool,
}

impl Classified {
    fn new(kind: FailureKind, verdict: Verdict, trips_breaker: bool) -> Self {
        Self {
            kind,
            verdict,
            trips_breaker,
        }
    }
}

/// Classifies an upstream HTTP error answer from its status and body.
///
/// The body may be an OpenAI, Anthropic or Gemini error object, an SSE error event, HTML from a
/// proxy, or nothing; it is searched case-insensitively for known signals (quota exhausted,
/// overloaded, context too long, content policy), and the status decides when none is found.
///
/// - 429: quota/billing exhausted → `QuotaExhausted`, fail over (the same key will not work
///   again soon); otherwise `RateLimited`, retried when 429 is in `retryable_statuses`.
/// - 529, or a 5xx saying "overloaded" → `Overloaded`; retried when the status is retryable
///   (529 counts as retryable when 503 is).
/// - other 5xx → `ServerError`; 408 → `Timeout`; both retried when the status is retryable.
/// - 400/413/422 saying the context is too long (and every 413) → `ContextLength`: fail over,
///   since a candidate with a bigger context may serve it; never retried, never trips.
/// - 400 saying the quota or credit ran out, and every 402 → `QuotaExhausted`, fail over.
/// - 400 citing a content policy → `ContentPolicy`: give up, no breaker.
/// - 401/403 → `Auth`, 404 → `NotFound`: fail over (another provider has another key, or
///   still serves the model), and trip the breaker (this backend is broken for us).
/// - any other 4xx → `BadRequest`: give up, no breaker — unless the operator listed the status
///   in `retryable_statuses`, which is honoured with a retry.
///
/// Every failure that is the backend's fault (rate limits, quota, 5xx, timeouts, auth, 404)
/// trips the breaker; failures caused by the request itself do not.
pub fn classify_status(status: u16, body: &[u8], policy: &RetryPolicy) -> Classified {
    let text = ErrorText::new(body);
    let retry_or_fail_over = |retryable: bool| {
        if retryable {
            Verdict::Retry
        } else {
            Verdict::FailOver
        }
    };
    let listed = policy.retryable_statuses.contains(&status);
    match status {
        429 if text.says(Signal::QuotaExhausted) => {
            Classified::new(FailureKind::QuotaExhausted, Verdict::FailOver, true)
        }
        429 => Classified::new(FailureKind::RateLimited, retry_or_fail_over(listed), true),
        529 => {
            let retryable = listed || policy.retryable_statuses.contains(&503);
            Classified::new(FailureKind::Overloaded, retry_or_fail_over(retryable), true)
        }
        500..=599 if text.says(Signal::Overloaded) => {
            Classified::new(FailureKind::Overloaded, retry_or_fail_over(listed), true)
        }
        500..=599 => Classified::new(FailureKind::ServerError, retry_or_fail_over(listed), true),
        408 => Classified::new(FailureKind::Timeout, retry_or_fail_over(listed), true),
        413 => Classified::new(FailureKind::ContextLength, Verdict::FailOver, false),
        400 | 422 if text.says(Signal::ContextLength) => {
            Classified::new(FailureKind::ContextLength, Verdict::FailOver, false)
        }
        402 => Classified::new(FailureKind::QuotaExhausted, Verdict::FailOver, true),
        400 if text.says(Signal::QuotaExhausted) => {
            Classified::new(FailureKind::QuotaExhausted, Verdict::FailOver, true)
        }
        400 if text.says(Signal::ContentPolicy) => {
            Classified::new(FailureKind::ContentPolicy, Verdict::GiveUp, false)
        }
        401 | 403 => Classified::new(FailureKind::Auth, Verdict::FailOver, true),
        404 => Classified::new(FailureKind::NotFound, Verdict::FailOver, true),
        400..=499 if listed => Classified::new(FailureKind::BadRequest, Verdict::Retry, false),
        400..=499 => Classified::new(FailureKind::BadRequest, Verdict::GiveUp, false),
        // Not an error status at all (1xx-3xx, or out of range): the backend misbehaved.
        _ => Classified::new(FailureKind::ServerError, retry_or_fail_over(listed), true),
    }
}

/// Classifies a failure below HTTP (connect error, reset, timeout, broken stream).
///
/// The transport kinds (`Connect`, `ConnectionReset`, `Timeout`, `StreamBroken`) are retried
/// and trip the breaker. Whether a retry is still possible (nothing sent to the client yet, for
/// `StreamBroken`) is the attempt loop's call. Any other kind gets the verdict it has when no
/// policy says otherwise, so a misuse still yields a sensible answer.
pub fn classify_transport(kind: FailureKind) -> Classified {
    let (verdict, trips_breaker) = match kind {
        FailureKind::Connect
        | FailureKind::ConnectionReset
        | FailureKind::Timeout
        | FailureKind::StreamBroken
        | FailureKind::RateLimited
        | FailureKind::Overloaded
        | FailureKind::ServerError => (Verdict::Retry, true),
        FailureKind::QuotaExhausted | FailureKind::Auth | FailureKind::NotFound => {
            (Verdict::FailOver, true)
        }
        FailureKind::ContextLength | FailureKind::Local => (Verdict::FailOver, false),
        FailureKind::ContentPolicy | FailureKind::BadRequest => (Verdict::GiveUp, false),
    };
    Classified::new(kind, verdict, trips_breaker)
}

/// The metric/log label of a failure kind (snake_case, stable).
pub fn label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::RateLimited => "rate_limited",
        FailureKind::QuotaExhausted => "quota_exhausted",
        FailureKind::Overloaded => "overloaded",
        FailureKind::ServerError => "server_error",
        FailureKind::Timeout => "timeout",
        FailureKind::Connect => "connect",
        FailureKind::ConnectionReset => "connection_reset",
        FailureKind::ContextLength => "context_length",
        FailureKind::ContentPolicy => "content_policy",
        FailureKind::Auth => "auth",
        FailureKind::BadRequest => "bad_request",
        FailureKind::NotFound => "not_found",
        FailureKind::StreamBroken => "stream_broken",
        FailureKind::Local => "local_error",
    }
}

/// The metric/log label of a verdict (snake_case, stable).
pub fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Retry => "retry",
        Verdict::FailOver => "fail_over",
        Verdict::GiveUp => "give_up",
    }
}

#[cfg(test)]
mod tests;
