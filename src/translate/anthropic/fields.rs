//! The response fields that responses and streams share: the stop reason, usage and message
//! id, each mapped between the IR and Anthropic's wire.
//!
//! Usage: the IR counts `input_tokens` as the whole prompt, while Anthropic's `input_tokens`
//! excludes the tokens read from or written to the prompt cache. [`usage_from_wire`] adds them
//! back and [`usage_to_wire`] takes them out again.
//!
//! May depend on the IR only; never on `mod.rs` or the other files of this folder.

use serde_json::{Map, Value, json};

use crate::translate::ir::{FinishReason, Usage};

/// IR finish reason of an Anthropic `stop_reason`. Unknown reasons count as a normal stop,
/// so a new reason never turns a good answer into an error.
pub(super) fn finish_from_wire(reason: &str) -> FinishReason {
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
pub(super) fn finish_to_wire(reason: FinishReason) -> &'static str {
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
pub(super) fn usage_from_wire(usage: &Map<String, Value>) -> Usage {
    usage_from_counts(
        count(usage, "input_tokens"),
        count(usage, "output_tokens"),
        count(usage, "cache_read_input_tokens"),
        count(usage, "cache_creation_input_tokens"),
    )
}

/// IR usage of Anthropic's four usage counts (`input_tokens`, `output_tokens`,
/// `cache_read_input_tokens`, `cache_creation_input_tokens`).
pub(super) fn usage_from_counts(input: u64, output: u64, cached: u64, creation: u64) -> Usage {
    Usage {
        input_tokens: input.saturating_add(cached).saturating_add(creation),
        output_tokens: output,
        cached_input_tokens: cached,
        cache_creation_input_tokens: creation,
    }
}

/// Anthropic `usage` object of IR usage (cache reads and writes taken out of `input_tokens`).
pub(super) fn usage_to_wire(usage: &Usage) -> Value {
    json!({
        "input_tokens": uncached_input_tokens(usage),
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
    })
}

/// Anthropic's `input_tokens` of IR usage: the prompt less the cache reads and writes.
pub(super) fn uncached_input_tokens(usage: &Usage) -> u64 {
    usage
        .input_tokens
        .saturating_sub(usage.cached_input_tokens)
        .saturating_sub(usage.cache_creation_input_tokens)
}

/// The id of a message as Anthropic clients expect it (`msg_...`).
pub(super) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}
