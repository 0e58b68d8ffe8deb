//! What one attempt produced. A failed attempt carries its retry/failover decision (the
//! classification of its status, error body or transport failure) and the answer the client
//! gets if nothing better comes, as pingora carries `RetryType` on its error.

use std::time::Duration;

use bytes::Bytes;

use crate::errors::{ErrorKind, GatewayError};
use crate::observability::redact;
use crate::resilience::classify::{self, Classified, FailureKind};
use crate::translate::RescuePoint;
use crate::translate::ir::Usage;

/// A client-facing message for an upstream failure whose details (what the provider or the
/// connection said, which may carry anything, the request's own headers included) go to the
/// log only, secrets masked.
pub(super) fn logged(request_id: &str, provider: &str, what: &str, detail: &str) -> String {
    tracing::warn!(
        target: "llm_gateway::upstream",
        request_id,
        provider,
        detail = %redact::secrets(detail),
        "{what}"
    );
    format!("{what} (details in the gateway log under request id {request_id})")
}

/// The last failure seen, answered when the chain is exhausted.
#[derive(Debug)]
pub(super) enum Last {
    /// A provider's own error answer (`cand`: the candidate's index).
    Http {
        cand: usize,
        status: u16,
        body: Bytes,
        retry_after: Option<String>,
    },
    /// An error of the gateway's own.
    Gateway(GatewayError),
}

impl Last {
    /// A short description for the circuit breaker's log of failures.
    pub(super) fn describe(&self) -> String {
        match self {
            Last::Http { status, .. } => format!("HTTP {status}"),
            Last::Gateway(e) => e.message.clone(),
        }
    }
}

/// A failed attempt: what to do next, and what to answer if nothing better comes.
#[derive(Debug)]
pub(super) struct Failed {
    pub classified: Classified,
    /// The provider's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    pub last: Last,
}

/// A stream that broke after text reached the client and may be continued (mid-stream
/// rescue): the client's stream is open, its header and text sent.
#[derive(Debug)]
pub(super) struct Cut {
    pub kind: FailureKind,
    /// What broke, for the log and the error event if nothing continues the stream.
    pub message: String,
    /// The text the client has and where its stream stands.
    pub point: RescuePoint,
    /// The broken attempt's usage (reported by the provider, else estimated).
    pub usage: Usage,
}

/// What one attempt produced.
#[derive(Debug)]
pub(super) enum Outcome {
    /// The client has its answer (possibly ended by an error event after content began).
    Served,
    /// Nothing (new) reached the client and the attempt failed.
    Failed(Failed),
    /// The stream broke mid-answer and can be continued by another attempt.
    Cut(Box<Cut>),
}

impl Outcome {
    /// A transport-level failure (connect, reset, timeout, broken stream) with the gateway's
    /// own error as the answer.
    pub(super) fn transport(kind: FailureKind, error: GatewayError) -> Outcome {
        Outcome::Failed(Failed {
            classified: classify::classify_transport(kind),
            retry_after: None,
            last: Last::Gateway(error),
        })
    }

    /// A stream or body that broke before anything reached the client.
    pub(super) fn broken(kind: FailureKind, message: String) -> Outcome {
        Outcome::transport(kind, GatewayError::new(ErrorKind::BadGateway, message))
    }
}
