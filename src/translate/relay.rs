//! The one contract of what sits between an upstream SSE stream and the client: a [`Relay`]
//! takes upstream chunks and returns the bytes to send. Same-format streams pass through
//! byte-exact ([`super::passthrough`]); cross-format streams go through a
//! [`super::StreamTranslator`]. Every relay keeps the same [`RelayStatus`]: whether real content
//! has started (before that, a failure can still fail over), usage, an upstream error event and
//! malformed events. Pure.
//!
//! Entry point: [`relay_for`].

use bytes::Bytes;

use super::ir::{ErrorInfo, Usage};
use super::passthrough::{AnthropicPassthrough, OpenAiPassthrough};
use super::{Codec, StreamTranslator};
use crate::config::ApiFormat;

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

/// The relay between a provider speaking `upstream` and a client speaking `client`.
/// `inject_usage`: the gateway asked an OpenAI provider for a usage chunk the client did not
/// ask for (it is hidden again); `include_usage`: the client asked for usage; `created`: the
/// time the translated events are stamped with (seconds since the epoch).
pub fn relay_for(
    upstream: ApiFormat,
    client: ApiFormat,
    inject_usage: bool,
    include_usage: bool,
    created: u64,
) -> Box<dyn Relay> {
    match (upstream, client) {
        (ApiFormat::Openai, ApiFormat::Openai) => Box::new(OpenAiPassthrough::new(inject_usage)),
        (ApiFormat::Anthropic, ApiFormat::Anthropic) => Box::new(AnthropicPassthrough::new()),
        (upstream, client) => Box::new(StreamTranslator::new(
            Codec(upstream).stream_decoder(),
            Codec(client).stream_encoder(include_usage, created),
        )),
    }
}

/// The error event of a format, through its encoder.
pub(super) fn encode_fail(format: ApiFormat, error: &ErrorInfo) -> Bytes {
    let mut out = Vec::new();
    Codec(format).stream_encoder(false, 0).fail(error, &mut out);
    Bytes::from(out)
}

/// The error event for a stream that stopped mid-answer.
pub(super) fn incomplete() -> ErrorInfo {
    ErrorInfo {
        status: 502,
        message: "the provider's stream ended before the response was complete".into(),
        code: Some("upstream_stream_incomplete".into()),
    }
}
