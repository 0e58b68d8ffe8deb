//! The one contract of what sits between an upstream SSE stream and the client: a [`Relay`]
//! takes upstream chunks and returns the bytes to send. Same-format streams pass through
//! byte-exact ([`super::passthrough`]); cross-format streams go through a
//! [`super::StreamTranslator`]. Every relay keeps the same [`RelayStatus`]: whether real content
//! has started (before that, a failure can still fail over), usage, an upstream error event and
//! malformed events. Pure.
//!
//! A relay can also keep a [`Transcript`] of the text the client was sent, so that a stream cut
//! mid-answer can be continued: [`Relay::rescue`] hands over that text and where the client's
//! stream stands, for the relay that carries it on ([`super::continuation_relay`]).
//!
//! Which relay a stream gets is [`super::relay_for`]'s choice (in `pick.rs`). This file may
//! depend on the IR, the stream contract and the compliance findings only: the relays depend
//! on it, never the other way round.

use bytes::Bytes;

use super::contract::Resume;
use super::ir::{ErrorInfo, Usage};
use crate::compliance::policy::Noted;

/// Longest text a transcript keeps; a longer answer is not continued (its prefill alone would
/// be a large request).
const MAX_TRANSCRIPT_BYTES: usize = 1024 * 1024;

/// A transcript's first allocation: a short answer's text fits, a long one grows from there
/// in a few steps rather than many.
const FIRST_CAPACITY: usize = 512;

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
    /// Bytes of content (text, thinking, tool-call arguments) sent so far, to estimate the
    /// output tokens of a stream that ended without usage.
    pub content_bytes: u64,
    /// The text sent so far, when the relay was asked to keep it.
    pub transcript: Option<Box<Transcript>>,
    /// A regenerated answer did not begin with the text the client already had: the stream
    /// was ended with an error event (mid-stream rescue).
    pub diverged: bool,
    /// What the output gate found so far (taken by the caller).
    pub compliance: Vec<Noted>,
    /// The output gate blocked the stream: the detectors that did.
    pub blocked: Option<Vec<&'static str>>,
}

impl RelayStatus {
    /// Counts one malformed event.
    pub fn count_malformed(&mut self) {
        self.malformed += 1;
        if !self.content_seen {
            self.malformed_before_content += 1;
        }
    }

    /// Text sent to the client.
    pub fn saw_text(&mut self, text: &str) {
        self.content_seen = true;
        self.content_bytes += text.len() as u64;
        if let Some(t) = &mut self.transcript {
            t.push_text(text);
        }
    }

    /// Text sent to the client as the JSON string literal a provider wrote (decoded only if
    /// the transcript is ever read).
    pub fn saw_text_literal(&mut self, literal: &[u8]) {
        self.content_seen = true;
        self.content_bytes += literal.len().saturating_sub(2) as u64;
        if let Some(t) = &mut self.transcript {
            t.push_literal(literal);
        }
    }

    /// Whether an error event from the provider should be held back rather than forwarded:
    /// the answer began and may still be continued (the caller continues it or fails it).
    pub fn withholds_errors(&self) -> bool {
        self.content_seen && self.transcript.as_ref().is_some_and(|t| !t.stopped)
    }

    /// Content other than text sent to the client (`bytes` long): the answer can no longer be
    /// continued.
    pub fn saw_other(&mut self, bytes: usize) {
        self.content_seen = true;
        self.content_bytes += bytes as u64;
        if let Some(t) = &mut self.transcript {
            t.stop();
        }
    }

    /// Starts keeping a transcript.
    pub fn keep_transcript(&mut self) {
        self.transcript = Some(Box::default());
    }
}

/// The text of an answer the client was sent, kept so that a stream cut mid-answer can be
/// continued, and where the client's stream stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    text: String,
    /// JSON string literals (`"…"`) as an OpenAI provider sent them: the pass-through copies
    /// them instead of decoding every delta; [`Transcript::text`] decodes them once.
    raw: Vec<u8>,
    /// Content other than text began (a tool call, thinking, a refusal, a second choice), or
    /// the text grew too long: the answer cannot be continued.
    pub stopped: bool,
    pub resume: Resume,
    /// OpenAI pass-through: the data of the stream's first chunk, whose `id`, `model` and
    /// `created` a continuation repeats (read only then).
    pub first_chunk: Vec<u8>,
}

impl Transcript {
    /// Appends text.
    pub fn push_text(&mut self, text: &str) {
        if !self.stopped {
            if self.text.capacity() == 0 {
                self.text.reserve(FIRST_CAPACITY);
            }
            self.text.push_str(text);
            self.check_size();
        }
    }

    /// Appends one JSON string literal, decoded only when the text is asked for.
    pub fn push_literal(&mut self, literal: &[u8]) {
        if !self.stopped {
            if self.raw.capacity() == 0 {
                self.raw.reserve(FIRST_CAPACITY);
            }
            self.raw.extend_from_slice(literal);
            self.check_size();
        }
    }

    /// The answer can no longer be continued.
    pub fn stop(&mut self) {
        self.stopped = true;
        self.text = String::new();
        self.raw = Vec::new();
    }

    fn check_size(&mut self) {
        if self.text.len() + self.raw.len() > MAX_TRANSCRIPT_BYTES {
            self.stop();
        }
    }

    /// The text sent so far; `None` when the answer cannot be continued.
    pub fn text(&self) -> Option<String> {
        if self.stopped {
            return None;
        }
        let mut text = self.text.clone();
        let stream = serde_json::Deserializer::from_slice(&self.raw).into_iter::<String>();
        for literal in stream {
            text.push_str(&literal.ok()?);
        }
        Some(text)
    }
}

/// What a cut stream leaves for its continuation: the text the client has, and where the
/// client's stream stands (for an encoder that carries it on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescuePoint {
    pub text: String,
    pub resume: Resume,
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
    /// Bytes held waiting for the end of an event.
    fn pending(&self) -> usize;
    /// The stream broke mid-answer: the text the client has and where its stream stands, when
    /// the relay kept a transcript, the answer so far is text only and the client's stream
    /// has not been ended.
    fn rescue(&self) -> Option<RescuePoint>;
}

/// The error for an answer the output gate blocked (`detectors`: the ones that did).
pub fn blocked_error(detectors: &[&str]) -> ErrorInfo {
    ErrorInfo {
        status: 403,
        message: format!(
            "the answer contains data the gateway's compliance policy does not let through ({}); \
             it was not delivered",
            detectors.join(", ")
        ),
        code: Some("compliance_blocked".into()),
    }
}

/// The error event for a stream that stopped mid-answer.
pub fn incomplete() -> ErrorInfo {
    ErrorInfo {
        status: 502,
        message: "the provider's stream ended before the response was complete".into(),
        code: Some("upstream_stream_incomplete".into()),
    }
}
