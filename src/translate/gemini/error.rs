//! Google API errors (`{"error": {"code", "message", "status"}}`) ⇄ IR errors.
//!
//! Google sometimes wraps the object in a one-element JSON array, and proxies in front of it
//! answer with plain text; both are read. The `status` string (`RESOURCE_EXHAUSTED`, ...)
//! becomes the IR `code`; encoding derives it from the HTTP status.

use serde_json::{Value, json};

use super::super::ir::ErrorInfo;

/// Reads a Gemini error body (any shape; falls back to the raw text).
pub fn decode_error(status: u16, body: &[u8]) -> ErrorInfo {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| match v {
        Value::Array(items) => items.first().and_then(|first| first.get("error")),
        other => other.get("error"),
    });
    match error {
        Some(error) => error_info(error, status),
        None => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            let message = if text.is_empty() {
                format!("the provider answered HTTP {status} with an empty body")
            } else {
                text
            };
            ErrorInfo {
                status,
                message,
                code: None,
            }
        }
    }
}

/// The IR form of an `error` object (or a bare string), with `status` as its HTTP status.
pub(super) fn error_info(error: &Value, status: u16) -> ErrorInfo {
    if let Some(message) = error.as_str() {
        return ErrorInfo {
            status,
            message: message.to_owned(),
            code: None,
        };
    }
    let message = match error.get("message").and_then(Value::as_str) {
        Some(m) => m.to_owned(),
        None => error.to_string(),
    };
    let code = error
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    ErrorInfo {
        status,
        message,
        code,
    }
}

/// The HTTP status an in-stream `error` object names (`code`), or `fallback`.
pub(super) fn error_status(error: &Value, fallback: u16) -> u16 {
    error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..=599).contains(c))
        .unwrap_or(fallback)
}

/// Writes a Gemini error body.
pub fn encode_error(err: &ErrorInfo) -> Vec<u8> {
    serde_json::to_vec(&error_body(err)).unwrap_or_default()
}

/// `{"error": {"code", "message", "status"}}`.
pub(super) fn error_body(err: &ErrorInfo) -> Value {
    json!({ "error": { "code": err.status, "message": err.message, "status": status_name(err.status) } })
}

/// The Google RPC status name Google's APIs answer an HTTP status with.
fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        // 405, 413, 415, ...: the request was wrong.
        402..=498 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}
