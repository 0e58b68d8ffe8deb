//! The Anthropic error codec: error bodies (`{"type":"error","error":{"type","message"}}`)
//! to and from [`ErrorInfo`], and the `error.type` of an HTTP status, which the stream encoder
//! also uses for its `error` events.
//!
//! May depend on the IR only; never on `mod.rs` or the other files of this folder.

use serde_json::{Value, json};

use crate::translate::ir::ErrorInfo;

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
pub(super) fn error_type(status: u16) -> &'static str {
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
