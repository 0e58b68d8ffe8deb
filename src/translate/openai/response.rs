//! OpenAI chat response and error bodies ⇄ IR.

use serde_json::{Value, json};

use crate::errors::{ErrorKind, GatewayError};
use crate::translate::ir::{ErrorInfo, FinishReason, Part, Response, Usage};

/// The wire name of a finish reason.
pub fn finish_reason_str(r: FinishReason) -> &'static str {
    match r {
        FinishReason::Stop | FinishReason::StopSequence => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

pub(super) fn parse_finish(s: &str) -> FinishReason {
    match s {
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

pub(super) fn parse_usage(u: &Value) -> Usage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input_tokens: n(u.get("prompt_tokens")),
        output_tokens: n(u.get("completion_tokens")),
        cached_input_tokens: n(u.pointer("/prompt_tokens_details/cached_tokens")),
        cache_creation_input_tokens: 0,
    }
}

pub(super) fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_input_tokens},
    })
}

/// Decodes a chat completion.
pub fn decode_response(body: &[u8]) -> Result<Response, GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("provider response is not valid JSON: {e}"),
        )
    })?;
    let choice = v.pointer("/choices/0").ok_or_else(|| {
        GatewayError::new(ErrorKind::BadGateway, "provider response has no choices")
    })?;
    let msg = choice.get("message").cloned().unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(r) = msg
        .get("reasoning_content")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        parts.push(Part::Thinking {
            text: r.to_string(),
            signature: None,
        });
    }
    match msg.get("content") {
        Some(Value::String(s)) if !s.is_empty() => parts.push(Part::Text(s.clone())),
        Some(Value::Array(items)) => {
            for i in items {
                if let Some(t) = i.get("text").and_then(Value::as_str) {
                    parts.push(Part::Text(t.to_string()));
                }
            }
        }
        _ => {}
    }
    if let Some(calls) = msg.get("tool_calls") {
        parts.extend(super::request::tool_call_parts(calls));
    }
    let refused = msg
        .get("refusal")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    if let Some(r) = refused {
        parts.push(Part::Text(r.to_string()));
    }
    let finish = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(parse_finish);
    Ok(Response {
        id: v
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        model: v
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        parts,
        finish: if refused.is_some() {
            Some(FinishReason::ContentFilter)
        } else {
            finish
        },
        stop_sequence: None,
        usage: v.get("usage").map(parse_usage).unwrap_or_default(),
        created: v.get("created").and_then(Value::as_u64),
    })
}

/// Encodes a chat completion.
pub fn encode_response(resp: &Response) -> Vec<u8> {
    let text: String = resp.text();
    let calls: Vec<Value> = resp
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall { id, name, arguments } => {
                Some(json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}))
            }
            _ => None,
        })
        .collect();
    let reasoning: String = resp
        .parts
        .iter()
        .filter_map(|p| {
            if let Part::Thinking { text, .. } = p {
                Some(text.as_str())
            } else {
                None
            }
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) }});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    let body = json!({
        "id": resp.id,
        "object": "chat.completion",
        "created": resp.created.unwrap_or(0),
        "model": resp.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": resp.finish.map(finish_reason_str),
        }],
        "usage": usage_json(&resp.usage),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Reads an OpenAI-style error body (or any text).
pub fn decode_error(status: u16, body: &[u8]) -> ErrorInfo {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let err = v.as_ref().and_then(|v| v.get("error"));
    let message = err
        .and_then(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
        })
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(2000).collect());
    let code = err.and_then(|e| {
        e.get("code")
            .and_then(Value::as_str)
            .or_else(|| e.get("type").and_then(Value::as_str))
            .map(str::to_string)
    });
    ErrorInfo {
        status,
        message,
        code,
    }
}

/// The OpenAI error `type` of a status.
pub(super) fn error_type(status: u16) -> &'static str {
    match status {
        400 | 404 | 405 | 409 | 413 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

/// Encodes an error in OpenAI's shape.
pub fn encode_error(err: &ErrorInfo) -> Vec<u8> {
    let body = json!({"error": {"message": err.message, "type": error_type(err.status), "code": err.code, "param": null}});
    serde_json::to_vec(&body).unwrap_or_default()
}
