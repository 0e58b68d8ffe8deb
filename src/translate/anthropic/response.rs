//! Anthropic Messages responses (non-streamed) ⇄ IR [`Response`].
//!
//! A response body comes from the provider, so a body that cannot be read is a `502`
//! ([`ErrorKind::BadGateway`]), not the caller's fault. Content blocks the IR cannot carry
//! (server-tool blocks, ...) are skipped.

use serde_json::{Value, json};

use super::blocks::{Side, decode_blocks, encode_part};
use super::fields::{finish_from_wire, finish_to_wire, message_id, usage_from_wire, usage_to_wire};
use crate::errors::{ErrorKind, GatewayError};
use crate::translate::ir::{FinishReason, Response};

/// Reads a Messages response body.
pub fn decode_response(body: &[u8]) -> Result<Response, GatewayError> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|e| bad_gateway(format!("the provider's response is not valid JSON: {e}")))?;
    if !root.is_object() {
        return Err(bad_gateway(
            "the provider's response is not a JSON object".into(),
        ));
    }
    if root.get("type").and_then(Value::as_str) == Some("error") {
        let message = root
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(bad_gateway(format!(
            "the provider answered with an error: {message}"
        )));
    }
    let parts = match root.get("content") {
        Some(Value::Array(blocks)) => decode_blocks(blocks, "content", Side::Response)
            .map_err(|e| bad_gateway(format!("the provider's response is malformed: {e}")))?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            return Err(bad_gateway(
                "the provider's response is malformed: content must be an array".into(),
            ));
        }
    };
    Ok(Response {
        id: text(&root, "id"),
        model: text(&root, "model"),
        parts,
        finish: root
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(finish_from_wire),
        stop_sequence: root
            .get("stop_sequence")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage: root
            .get("usage")
            .and_then(Value::as_object)
            .map(usage_from_wire)
            .unwrap_or_default(),
        created: None,
    })
}

/// Writes a Messages response body. A response without a finish reason ended normally
/// (`end_turn`): Anthropic never sends a null `stop_reason` outside a stream.
pub fn encode_response(resp: &Response) -> Vec<u8> {
    let content: Vec<Value> = resp
        .parts
        .iter()
        .filter_map(|p| encode_part(p, Side::Response))
        .collect();
    let body = json!({
        "id": message_id(&resp.id),
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": content,
        "stop_reason": finish_to_wire(resp.finish.unwrap_or(FinishReason::Stop)),
        "stop_sequence": resp.stop_sequence,
        "usage": usage_to_wire(&resp.usage),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn bad_gateway(message: String) -> GatewayError {
    GatewayError::new(ErrorKind::BadGateway, message)
}

/// A string field, empty when absent.
fn text(root: &Value, key: &str) -> String {
    root.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
