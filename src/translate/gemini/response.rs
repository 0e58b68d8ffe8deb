//! Gemini `GenerateContentResponse` bodies ⇄ IR responses, and the finish-reason and usage
//! mappings the stream codec shares.
//!
//! Only the first candidate is read (the gateway never asks for more). A prompt blocked
//! before generation (`promptFeedback.blockReason`, no candidates) reads as an empty
//! response finished by the content filter.

use serde_json::{Map, Value, json};

use super::super::ir::{FinishReason, Part, Response, Usage};
use super::parts::{PartReader, PartWriter, field, str_field};
use super::response_id::fallback_id;
use crate::errors::{ErrorKind, GatewayError};

/// Reads a Gemini response body.
pub fn decode_response(body: &[u8]) -> Result<Response, GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("the provider's response is not valid JSON: {e}"),
        )
    })?;
    if !v.is_object() {
        return Err(GatewayError::new(
            ErrorKind::BadGateway,
            "the provider's response is not a JSON object",
        ));
    }
    if let Some(error) = v.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(GatewayError::new(
            ErrorKind::BadGateway,
            format!("the provider answered with an error: {message}"),
        ));
    }
    let response_id = str_field(&v, "responseId", "response_id").filter(|id| !id.is_empty());
    let mut reader = PartReader::new(response_id);
    let candidate = v
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let mut parts = Vec::new();
    let mut finish = None;
    if let Some(candidate) = candidate {
        let content_parts = candidate.get("content").and_then(|c| c.get("parts"));
        for part in content_parts
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            reader.read(part, &mut parts);
        }
        let has_calls = parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
        finish = str_field(candidate, "finishReason", "finish_reason")
            .and_then(|r| decode_finish(r, has_calls));
    } else if prompt_blocked(&v) {
        finish = Some(FinishReason::ContentFilter);
    }
    Ok(Response {
        id: response_id.map_or_else(fallback_id, str::to_owned),
        model: str_field(&v, "modelVersion", "model_version")
            .unwrap_or_default()
            .to_owned(),
        parts,
        finish,
        stop_sequence: None,
        usage: field(&v, "usageMetadata", "usage_metadata")
            .map(decode_usage)
            .unwrap_or_default(),
        created: str_field(&v, "createTime", "create_time").and_then(decode_time),
    })
}

/// Whether the prompt itself was blocked (`promptFeedback.blockReason`).
pub(super) fn prompt_blocked(chunk: &Value) -> bool {
    field(chunk, "promptFeedback", "prompt_feedback")
        .and_then(|f| str_field(f, "blockReason", "block_reason"))
        .is_some()
}

/// Vertex's `createTime` (RFC 3339) as seconds since the epoch.
fn decode_time(time: &str) -> Option<u64> {
    let at = humantime::parse_rfc3339_weak(time).ok()?;
    at.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// Writes a Gemini response body.
pub fn encode_response(resp: &Response) -> Vec<u8> {
    let parts = PartWriter::default().write(&resp.parts);
    let mut candidate = Map::new();
    candidate.insert("content".into(), json!({ "role": "model", "parts": parts }));
    if let Some(reason) = resp.finish {
        candidate.insert("finishReason".into(), json!(encode_finish(reason)));
    }
    candidate.insert("index".into(), json!(0));
    let mut body = Map::new();
    body.insert("candidates".into(), json!([candidate]));
    body.insert("usageMetadata".into(), encode_usage(&resp.usage));
    if !resp.model.is_empty() {
        body.insert("modelVersion".into(), json!(resp.model));
    }
    if !resp.id.is_empty() {
        body.insert("responseId".into(), json!(resp.id));
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// The IR reason for a Gemini `finishReason`; `STOP` means a tool-call stop when the answer
/// holds calls. `None` for `FINISH_REASON_UNSPECIFIED`.
pub(super) fn decode_finish(reason: &str, has_calls: bool) -> Option<FinishReason> {
    match reason {
        "FINISH_REASON_UNSPECIFIED" => None,
        "MAX_TOKENS" => Some(FinishReason::Length),
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            Some(FinishReason::ContentFilter)
        }
        _ if has_calls => Some(FinishReason::ToolCalls),
        // STOP, and the reasons the IR has no word for (OTHER, LANGUAGE,
        // MALFORMED_FUNCTION_CALL, ...): generation ended.
        _ => Some(FinishReason::Stop),
    }
}

/// The Gemini `finishReason` for an IR reason (Gemini stops for calls and stop sequences
/// with a plain `STOP`).
pub(super) fn encode_finish(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop | FinishReason::StopSequence | FinishReason::ToolCalls => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
    }
}

/// `usageMetadata` as IR usage: thinking tokens count as output.
pub(super) fn decode_usage(meta: &Value) -> Usage {
    let count = |camel, snake| {
        field(meta, camel, snake)
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Usage {
        input_tokens: count("promptTokenCount", "prompt_token_count"),
        output_tokens: count("candidatesTokenCount", "candidates_token_count")
            .saturating_add(count("thoughtsTokenCount", "thoughts_token_count")),
        cached_input_tokens: count("cachedContentTokenCount", "cached_content_token_count"),
        cache_creation_input_tokens: 0,
    }
}

/// IR usage as `usageMetadata` (thinking tokens cannot be told apart from output here).
pub(super) fn encode_usage(usage: &Usage) -> Value {
    let mut meta = Map::new();
    meta.insert("promptTokenCount".into(), json!(usage.input_tokens));
    meta.insert("candidatesTokenCount".into(), json!(usage.output_tokens));
    meta.insert(
        "totalTokenCount".into(),
        json!(usage.input_tokens.saturating_add(usage.output_tokens)),
    );
    if usage.cached_input_tokens > 0 {
        meta.insert(
            "cachedContentTokenCount".into(),
            json!(usage.cached_input_tokens),
        );
    }
    Value::Object(meta)
}
