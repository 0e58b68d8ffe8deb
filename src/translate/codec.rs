//! [`Codec`]: the verbs of a wire format picked by [`ApiFormat`] (decode and encode requests,
//! responses, errors, and make stream decoders and encoders), dispatching to the format
//! folders. Pure.
//!
//! May depend on the IR, [`super::contract`] and the format folders; never on the relays
//! (`relay`, `passthrough`, `translator`, `pick`) or `mod.rs`.

use super::contract::{EncodeOptions, Resume, StreamDecoder, StreamEncoder};
use super::ir::{ErrorInfo, Request, Response};
use super::{anthropic, gemini, openai};
use crate::config::ApiFormat;
use crate::errors::GatewayError;

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

    /// An encoder that carries on a client stream standing at `resume` (`None`: the format's
    /// streams cannot be carried on; no client speaks Gemini to the gateway).
    pub fn resumed_encoder(self, resume: &Resume) -> Option<Box<dyn StreamEncoder>> {
        match self.0 {
            ApiFormat::Openai => Some(Box::new(openai::StreamEncoder::resumed(resume))),
            ApiFormat::Anthropic => Some(Box::new(anthropic::StreamEncoder::resumed(resume))),
            ApiFormat::Gemini => None,
        }
    }
}
