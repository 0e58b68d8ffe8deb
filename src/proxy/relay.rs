//! What sits between an upstream SSE stream and the client: a [`Relay`] takes upstream chunks
//! and returns the bytes to send. Same-format streams pass through byte-exact
//! (`crate::passthrough`); cross-format streams go through a [`StreamTranslator`]. Every relay
//! says whether real content has started (before that, a failure can still fail over), and can
//! end a stream with an error event in the client's format.

use bytes::Bytes;

use crate::config::ApiFormat;
use crate::passthrough::{AnthropicPassthrough, Finished, OpenAiPassthrough};
use crate::translate::ir::ErrorInfo;
use crate::translate::{Codec, StreamTranslator};
use crate::usage::Usage;

/// A streaming filter owned by one request.
pub enum Relay {
    /// OpenAI → OpenAI, byte-exact (optionally hiding the usage chunk the gateway asked for).
    OpenAi(OpenAiPassthrough),
    /// Anthropic → Anthropic, byte-exact (thinking blocks and signatures untouched).
    Anthropic(AnthropicPassthrough),
    /// Any other pair.
    Translate(Box<StreamTranslator>),
}

impl Relay {
    /// Takes an upstream chunk; returns what to send now.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        match self {
            Relay::OpenAi(o) => o.push(chunk),
            Relay::Anthropic(a) => a.push(chunk),
            Relay::Translate(t) => t.push(chunk),
        }
    }

    /// The upstream ended at the transport level: the closing bytes, and whether the provider
    /// had finished (if not, the bytes are an in-format error event).
    pub fn finish(&mut self) -> Finished {
        let (mut done, format) = match self {
            Relay::OpenAi(o) => (o.finish(), ApiFormat::Openai),
            Relay::Anthropic(a) => (a.finish(), ApiFormat::Anthropic),
            Relay::Translate(t) => {
                let tail = t.finish();
                let completed = t.upstream_error.is_none() && t.finished_cleanly();
                return Finished { tail, completed };
            }
        };
        if !done.completed {
            let err = ErrorInfo {
                status: 502,
                message: "the provider's stream ended before the response was complete".into(),
                code: Some("upstream_stream_incomplete".into()),
            };
            done.tail = encode_fail(format, &err);
        }
        done
    }

    /// Ends the stream with an in-format error event.
    pub fn fail(&mut self, error: &ErrorInfo) -> Bytes {
        match self {
            Relay::OpenAi(_) => encode_fail(ApiFormat::Openai, error),
            Relay::Anthropic(_) => encode_fail(ApiFormat::Anthropic, error),
            Relay::Translate(t) => t.fail(error),
        }
    }

    /// Usage seen so far.
    pub fn usage(&self) -> Option<Usage> {
        match self {
            Relay::OpenAi(o) => o.usage,
            Relay::Anthropic(a) => a.usage,
            Relay::Translate(t) => t.usage.map(Usage::from),
        }
    }

    /// Whether the answer has begun (text, thinking, a tool call or a finish).
    pub fn content_seen(&self) -> bool {
        match self {
            Relay::OpenAi(o) => o.content_seen,
            Relay::Anthropic(a) => a.content_seen,
            Relay::Translate(t) => t.content_seen,
        }
    }

    /// An error event the provider sent inside the stream.
    pub fn upstream_error(&self) -> Option<&ErrorInfo> {
        match self {
            Relay::OpenAi(o) => o.upstream_error.as_ref(),
            Relay::Anthropic(a) => a.upstream_error.as_ref(),
            Relay::Translate(t) => t.upstream_error.as_ref(),
        }
    }

    /// Malformed upstream events skipped so far.
    pub fn malformed(&self) -> u64 {
        match self {
            Relay::OpenAi(o) => o.malformed,
            Relay::Anthropic(a) => a.malformed,
            Relay::Translate(t) => t.malformed(),
        }
    }

    /// Malformed upstream events skipped before any content arrived.
    pub fn malformed_before_content(&self) -> u64 {
        match self {
            Relay::OpenAi(o) => o.malformed_before_content,
            Relay::Anthropic(a) => a.malformed_before_content,
            Relay::Translate(t) => t.malformed_before_content,
        }
    }
}

/// The error event of a format, through its encoder.
fn encode_fail(format: ApiFormat, error: &ErrorInfo) -> Bytes {
    let mut out = Vec::new();
    Codec(format).stream_encoder(false).fail(error, &mut out);
    Bytes::from(out)
}
