//! Format translation (T1–T7): the canonical IR ([`ir`]) and one codec per wire format
//! ([`openai`], [`anthropic`], [`gemini`]), each with the same verbs: `decode_request`,
//! `encode_request`, `decode_response`, `encode_response`, `decode_error`, `encode_error`, and a
//! stream decoder/encoder pair. [`StreamTranslator`] drives a decoder and an encoder over a
//! byte stream split anywhere. `scan` is the strict JSON reader of the stream decoders' fast
//! paths. Pure: no I/O, no `.await`.
//!
//! Entry points: [`Codec`] (by [`ApiFormat`]) and [`StreamTranslator`].

pub mod anthropic;
pub mod gemini;
pub mod ir;
pub mod openai;
pub mod passthrough;
pub mod relay;
mod scan;
pub mod sse;
mod translator;

#[cfg(test)]
mod scan_tests;
#[cfg(test)]
mod test_json;

pub use relay::{Finished, Relay, RelayStatus, relay_for};
pub use translator::StreamTranslator;

use crate::config::ApiFormat;
use crate::errors::GatewayError;
use ir::{ErrorInfo, Event, Request, Response};

/// What an encoder needs besides the IR request.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    /// The model id the provider knows.
    pub model: String,
    /// `max_tokens` to send when the request has none and the format requires it.
    pub default_max_tokens: u32,
    /// Ask for usage in streams (OpenAI `stream_options.include_usage`).
    pub include_usage: bool,
}

/// Decodes events of one SSE stream of a wire format into IR events. `&mut self`: ids, block
/// indexes and tool-call bookkeeping carry across events.
pub trait StreamDecoder: Send {
    /// One complete SSE event (raw bytes, terminator included); pushes what it means.
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>);
    /// The upstream stream ended; pushes any events still owed (e.g. a finish the format
    /// implies by closing). Returns whether the stream ended properly (a `[DONE]`,
    /// `message_stop` or a final chunk with a finish reason was seen).
    fn finish(&mut self, out: &mut Vec<Event>) -> bool;
    /// Events skipped because they could not be parsed.
    fn malformed(&self) -> u64 {
        0
    }
}

/// Encodes IR events as one wire format's SSE stream.
pub trait StreamEncoder: Send {
    /// Appends the bytes of `event` to `out`.
    fn encode_event(&mut self, event: &Event, out: &mut Vec<u8>);
    /// The stream completed normally: appends whatever closes it (`[DONE]`, `message_stop`,
    /// a last chunk with finish reason and usage) that was not sent yet.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// The stream failed: appends an in-format error event. Nothing may follow it.
    fn fail(&mut self, error: &ErrorInfo, out: &mut Vec<u8>);
}

/// The functions of one wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec(pub ApiFormat);

impl Codec {
    pub fn decode_request(self, body: &[u8]) -> Result<Request, GatewayError> {
        match self.0 {
            ApiFormat::Openai => openai::decode_request(body),
            ApiFormat::Anthropic => anthropic::decode_request(body),
            ApiFormat::Gemini => gemini::decode_request(body),
        }
    }

    pub fn encode_request(self, req: &Request, opts: &EncodeOptions) -> Vec<u8> {
        match self.0 {
            ApiFormat::Openai => openai::encode_request(req, opts),
            ApiFormat::Anthropic => anthropic::encode_request(req, opts),
            ApiFormat::Gemini => gemini::encode_request(req, opts),
        }
    }

    pub fn decode_response(self, body: &[u8]) -> Result<Response, GatewayError> {
        match self.0 {
            ApiFormat::Openai => openai::decode_response(body),
            ApiFormat::Anthropic => anthropic::decode_response(body),
            ApiFormat::Gemini => gemini::decode_response(body),
        }
    }

    pub fn encode_response(self, resp: &Response) -> Vec<u8> {
        match self.0 {
            ApiFormat::Openai => openai::encode_response(resp),
            ApiFormat::Anthropic => anthropic::encode_response(resp),
            ApiFormat::Gemini => gemini::encode_response(resp),
        }
    }

    /// Reads a provider's error body (any shape; falls back to the raw text).
    pub fn decode_error(self, status: u16, body: &[u8]) -> ErrorInfo {
        match self.0 {
            ApiFormat::Openai => openai::decode_error(status, body),
            ApiFormat::Anthropic => anthropic::decode_error(status, body),
            ApiFormat::Gemini => gemini::decode_error(status, body),
        }
    }

    pub fn encode_error(self, err: &ErrorInfo) -> Vec<u8> {
        match self.0 {
            ApiFormat::Openai => openai::encode_error(err),
            ApiFormat::Anthropic => anthropic::encode_error(err),
            ApiFormat::Gemini => gemini::encode_error(err),
        }
    }

    pub fn stream_decoder(self) -> Box<dyn StreamDecoder> {
        match self.0 {
            ApiFormat::Openai => Box::new(openai::StreamDecoder::new()),
            ApiFormat::Anthropic => Box::new(anthropic::StreamDecoder::new()),
            ApiFormat::Gemini => Box::new(gemini::StreamDecoder::new()),
        }
    }

    /// `include_usage`: whether the client asked for usage in the stream (OpenAI only);
    /// `created`: seconds since the epoch, for formats that stamp their events (OpenAI).
    pub fn stream_encoder(self, include_usage: bool, created: u64) -> Box<dyn StreamEncoder> {
        match self.0 {
            ApiFormat::Openai => Box::new(openai::StreamEncoder::new(include_usage, created)),
            ApiFormat::Anthropic => Box::new(anthropic::StreamEncoder::new()),
            ApiFormat::Gemini => Box::new(gemini::StreamEncoder::new()),
        }
    }
}
