//! The one contract of what sits between an upstream SSE stream and the client: a [`Relay`]
//! takes upstream chunks and returns the bytes to send. Same-format streams pass through
//! byte-exact ([`super::passthrough`]); cross-format streams go through a
//! [`super::StreamTranslator`]. Every relay keeps the same [`RelayStatus`]: whether real content
//! has started (before that, a failure can still fail over), usage, an upstream error event and
//! malformed events. Pure.
//!
//! Which relay a stream gets is [`super::relay_for`]'s choice (in `pick.rs`). This file may
//! depend on the IR only: the relays depend on it, never the other way round.

use bytes::Bytes;

use super::ir::{ErrorInfo, Usage};

/// What a relay has learned of its stream so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelayStatus {
    /// Usage reported by the upstream (the last report wins).
    pub usage: Option<Usage>,
    /// Whether the answer has begun (text, thinking, a tool call or a finish).
    pub content_seen: bool,
    /// An error event the provider sent inside the stream.
    pub upstream_error: Option<ErrorInfo>,
    /// Malformed upstream events skipped so far.
    pub malformed: u64,
    /// Malformed upstream events skipped before any content arrived (the stream is broken,
    /// not glitching).
    pub malformed_before_content: u64,
}

impl RelayStatus {
    /// Counts one malformed event.
    pub fn count_malformed(&mut self) {
        self.malformed += 1;
        if !self.content_seen {
            self.malformed_before_content += 1;
        }
    }
}

/// How an upstream stream ended at the transport level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Bytes still to send (a missing terminator added, or an in-format error event).
    pub tail: Bytes,
    /// The provider finished its answer.
    pub completed: bool,
}

/// A streaming filter owned by one request.
pub trait Relay: Send {
    /// Takes an upstream chunk; returns what to send now.
    fn push(&mut self, chunk: &[u8]) -> Bytes;
    /// The upstream ended at the transport level: the closing bytes, and whether the provider
    /// had finished (if not, the bytes are an in-format error event).
    fn finish(&mut self) -> Finished;
    /// Ends the stream with an in-format error event.
    fn fail(&mut self, error: &ErrorInfo) -> Bytes;
    /// What the relay has seen so far.
    fn status(&self) -> &RelayStatus;
}

/// The error event for a stream that stopped mid-answer.
pub(super) fn incomplete() -> ErrorInfo {
    ErrorInfo {
        status: 502,
        message: "the provider's stream ended before the response was complete".into(),
        code: Some("upstream_stream_incomplete".into()),
    }
}
