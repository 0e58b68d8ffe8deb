//! The Anthropic Messages codec (`POST /v1/messages`): requests, responses, errors and SSE
//! streams to and from the canonical IR ([`super::ir`]). Pure: no I/O; depends only on the IR,
//! [`crate::sse`] and [`crate::errors`].
//!
//! Entry points, the verbs every codec has: [`decode_request`], [`encode_request`],
//! [`decode_response`], [`encode_response`], [`decode_error`], [`encode_error`], and the
//! stateful [`StreamDecoder`] / [`StreamEncoder`] pair.
//!
//! Files: `blocks` (content blocks shared by requests and responses), `messages` (the
//! conversation and its merging rules), `request`, `response`, `stream_decoder` (with
//! `stream_fast`, its fast path for the common events), `stream_encoder`; this file holds the
//! error codec and the stop-reason and usage mappings the others share. Tests: `tests`
//! (request decoding, shared helpers), `encode_tests`, `response_tests`, `stream_tests`,
//! `split_tests` (every byte offset, proptests), `stream_fast_tests` (the fast path against
//! the serde reader); fixtures in `tests/fixtures/anthropic/`.
//!
//! Usage: the IR counts `input_tokens` as the whole prompt, while Anthropic's `input_tokens`
//! excludes the tokens read from or written to the prompt cache. [`usage_from_wire`] adds them
//! back and [`usage_to_wire`] takes them out again.

mod blocks;
mod messages;
mod request;
mod response;
mod stream_decoder;
mod stream_encoder;
mod stream_fast;

#[cfg(test)]
mod encode_tests;
#[cfg(test)]
mod response_tests;
#[cfg(test)]
mod split_tests;
#[cfg(test)]
mod stream_fast_tests;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream_decoder::StreamDecoder;
pub use stream_encoder::StreamEncoder;

use serde_json::{Map, Value, json};

use super::ir::{ErrorInfo, FinishReason, Usage};

/// Reads an Anthropic error body (`{"type":"error","error":{"type","message"}}`). Any other
/// body becomes the message as raw text, so nothing the provider said is lost.
pub fn decode_error(status: u16, body: &[u8]) -> ErrorInfo {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str);
    match message {
        Some(message) => ErrorInfo {
            status,
            message: message.to_owned(),
            code: error
                .and_then(|e| e.get("type"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        None => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            ErrorInfo {
                status,
                message: if text.is_empty() {
                    format!("the provider answered HTTP {status} with an empty body")
                } else {
                    text
                },
                code: None,
            }
        }
    }
}

/// Renders an error as Anthropic does; the `error.type` follows from the status.
pub fn encode_error(err: &ErrorInfo) -> Vec<u8> {
    serde_json::to_vec(&error_value(err)).unwrap_or_default()
}

/// The body of an error (also the `data` of a stream `error` event).
fn error_value(err: &ErrorInfo) -> Value {
    json!({
        "type": "error",
        "error": { "type": error_type(err.status), "message": err.message },
    })
}

/// Anthropic's `error.type` for an HTTP status.
fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        // 500, 504 (timeouts) and everything else.
        _ => "api_error",
    }
}

/// IR finish reason of an Anthropic `stop_reason`. Unknown reasons count as a normal stop,
/// so a new reason never turns a good answer into an error.
fn finish_from_wire(reason: &str) -> FinishReason {
    match reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "stop_sequence" => FinishReason::StopSequence,
        "refusal" => FinishReason::ContentFilter,
        // `end_turn`, `pause_turn` (a server tool paused the turn) and anything newer.
        _ => FinishReason::Stop,
    }
}

/// Anthropic `stop_reason` of an IR finish reason.
fn finish_to_wire(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::StopSequence => "stop_sequence",
        FinishReason::ContentFilter => "refusal",
    }
}

/// An unsigned count, `0` when absent or not a count.
fn count(v: &Map<String, Value>, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// IR usage of an Anthropic `usage` object (input made whole again, see the module doc).
fn usage_from_wire(usage: &Map<String, Value>) -> Usage {
    usage_from_counts(
        count(usage, "input_tokens"),
        count(usage, "output_tokens"),
        count(usage, "cache_read_input_tokens"),
        count(usage, "cache_creation_input_tokens"),
    )
}

/// IR usage of Anthropic's four usage counts (`input_tokens`, `output_tokens`,
/// `cache_read_input_tokens`, `cache_creation_input_tokens`).
fn usage_from_counts(input: u64, output: u64, cached: u64, creation: u64) -> Usage {
    Usage {
        input_tokens: input.saturating_add(cached).saturating_add(creation),
        output_tokens: output,
        cached_input_tokens: cached,
        cache_creation_input_tokens: creation,
    }
}

/// Anthropic `usage` object of IR usage (cache reads and writes taken out of `input_tokens`).
fn usage_to_wire(usage: &Usage) -> Value {
    json!({
        "input_tokens": uncached_input_tokens(usage),
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
    })
}

/// Anthropic's `input_tokens` of IR usage: the prompt less the cache reads and writes.
fn uncached_input_tokens(usage: &Usage) -> u64 {
    usage
        .input_tokens
        .saturating_sub(usage.cached_input_tokens)
        .saturating_sub(usage.cache_creation_input_tokens)
}

/// The id of a message as Anthropic clients expect it (`msg_...`).
fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}
