//! Anthropic content blocks ⇄ IR [`Part`]s, shared by requests and responses: `text`, `image`
//! (`base64` or `url` source), `tool_use`, `tool_result`, `thinking` and `redacted_thinking`.
//!
//! Decoders return the error message (naming the block by its path) and let the caller pick
//! the error kind: a bad request block is the client's fault, a bad response block the
//! provider's.

use serde_json::{Map, Value, json};

use crate::translate::ir::{ImageSource, Part};

/// Which side of the exchange blocks belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// A request: block types the IR cannot carry (`document`, `search_result`, ...) are
    /// rejected, since dropping them silently would change the question.
    Request,
    /// A response: such blocks (server-tool results, ...) are skipped so the answer arrives.
    Response,
}

/// `content` of a message: a string (one text part) or an array of blocks.
pub(super) fn decode_content(content: &Value, path: &str, side: Side) -> Result<Vec<Part>, String> {
    match content {
        Value::String(text) => Ok(vec![Part::Text(text.clone())]),
        Value::Array(blocks) => decode_blocks(blocks, path, side),
        _ => Err(format!(
            "{path} must be a string or an array of content blocks"
        )),
    }
}

/// An array of blocks, in order, unknown ones handled as `side` says.
pub(super) fn decode_blocks(blocks: &[Value], path: &str, side: Side) -> Result<Vec<Part>, String> {
    let mut parts = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        if let Some(part) = decode_block(block, &format!("{path}[{i}]"), side)? {
            parts.push(part);
        }
    }
    Ok(parts)
}

/// One block; `None` for a block a response may carry but the IR cannot.
fn decode_block(block: &Value, path: &str, side: Side) -> Result<Option<Part>, String> {
    let kind = str_at(block, "type", path)?;
    let part = match kind {
        "text" => Part::Text(str_at(block, "text", path)?.to_owned()),
        "image" => match decode_source(block.get("source"), path)? {
            Some(source) => Part::Image(source),
            None => return skip_or_reject(side, &format!("{path}.source.type"), "base64, url"),
        },
        "tool_use" => Part::ToolCall {
            id: str_at(block, "id", path)?.to_owned(),
            name: str_at(block, "name", path)?.to_owned(),
            arguments: match block.get("input") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(input) => input.to_string(),
            },
        },
        "tool_result" => Part::ToolResult {
            id: str_at(block, "tool_use_id", path)?.to_owned(),
            content: decode_result_content(block.get("content"), path, side)?,
            is_error: match block.get("is_error") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(format!("{path}.is_error must be a boolean")),
            },
        },
        "thinking" => Part::Thinking {
            text: str_at(block, "thinking", path)?.to_owned(),
            signature: opt_str_at(block, "signature", path)?,
        },
        "redacted_thinking" => Part::RedactedThinking {
            data: str_at(block, "data", path)?.to_owned(),
        },
        _ => {
            return skip_or_reject(
                side,
                &format!("{path}.type `{kind}`"),
                "text, image, tool_use, tool_result, thinking, redacted_thinking",
            );
        }
    };
    Ok(Some(part))
}

/// The `content` of a `tool_result`: absent, a string, or text and image blocks.
fn decode_result_content(
    content: Option<&Value>,
    path: &str,
    side: Side,
) -> Result<Vec<Part>, String> {
    let path = format!("{path}.content");
    let parts = match content {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => return Ok(Vec::new()),
        Some(content) => decode_content(content, &path, side)?,
    };
    for part in &parts {
        if !matches!(part, Part::Text(_) | Part::Image(_)) {
            return Err(format!("{path} may only hold text and image blocks"));
        }
    }
    Ok(parts)
}

/// An image `source`; `None` for a source type the IR cannot carry (`file`, ...).
fn decode_source(source: Option<&Value>, path: &str) -> Result<Option<ImageSource>, String> {
    let path = format!("{path}.source");
    let Some(source) = source else {
        return Err(format!("{path} is required"));
    };
    Ok(match str_at(source, "type", &path)? {
        "base64" => Some(ImageSource::Base64 {
            media_type: str_at(source, "media_type", &path)?.to_owned(),
            data: str_at(source, "data", &path)?.to_owned(),
        }),
        "url" => Some(ImageSource::Url(str_at(source, "url", &path)?.to_owned())),
        _ => None,
    })
}

fn skip_or_reject(side: Side, what: &str, supported: &str) -> Result<Option<Part>, String> {
    match side {
        Side::Response => Ok(None),
        Side::Request => Err(format!(
            "{what} is not supported by this gateway (supported: {supported})"
        )),
    }
}

/// A required string field of an object.
pub(super) fn str_at<'a>(obj: &'a Value, key: &str, path: &str) -> Result<&'a str, String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{path}.{key} must be a string")),
        None if obj.is_object() => Err(format!("{path}.{key} is required")),
        None => Err(format!("{path} must be an object")),
    }
}

/// An optional string field (`null` = absent).
fn opt_str_at(obj: &Value, key: &str, path: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{path}.{key} must be a string")),
    }
}

/// The block of a part; `None` for a part Anthropic would refuse in a request (an empty text,
/// thinking without a signature: Anthropic verifies the signature of thinking sent back, so
/// thinking produced by another provider cannot be replayed to it).
pub(super) fn encode_part(part: &Part, side: Side) -> Option<Value> {
    Some(match part {
        Part::Text(text) if text.is_empty() && side == Side::Request => return None,
        Part::Text(text) => json!({ "type": "text", "text": text }),
        Part::Image(source) => encode_image(source),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            json!({ "type": "tool_use", "id": id, "name": name, "input": tool_input(arguments) })
        }
        Part::ToolResult {
            id,
            content,
            is_error,
        } => {
            let mut block = Map::new();
            block.insert("type".into(), json!("tool_result"));
            block.insert("tool_use_id".into(), json!(id));
            if let Some(content) = encode_result_content(content) {
                block.insert("content".into(), content);
            }
            if *is_error {
                block.insert("is_error".into(), json!(true));
            }
            Value::Object(block)
        }
        Part::Thinking { text, signature } => match (signature.as_deref(), side) {
            (Some(sig), _) if !sig.is_empty() => {
                json!({ "type": "thinking", "thinking": text, "signature": sig })
            }
            (_, Side::Request) => return None,
            (sig, Side::Response) => {
                json!({ "type": "thinking", "thinking": text, "signature": sig.unwrap_or("") })
            }
        },
        Part::RedactedThinking { data } => json!({ "type": "redacted_thinking", "data": data }),
    })
}

fn encode_image(source: &ImageSource) -> Value {
    match source {
        ImageSource::Url(url) => {
            json!({ "type": "image", "source": { "type": "url", "url": url } })
        }
        ImageSource::Base64 { media_type, data } => json!({
            "type": "image",
            "source": { "type": "base64", "media_type": media_type, "data": data },
        }),
    }
}

/// `content` of a `tool_result`: a string for one text, blocks otherwise, `None` when empty.
/// Only text and images may appear there; other parts are left out.
fn encode_result_content(content: &[Part]) -> Option<Value> {
    let blocks: Vec<Value> = content
        .iter()
        .filter(|p| matches!(p, Part::Text(_) | Part::Image(_)))
        .filter_map(|p| encode_part(p, Side::Request))
        .collect();
    match (content, blocks.len()) {
        (_, 0) => None,
        ([Part::Text(text)], 1) => Some(json!(text)),
        _ => Some(Value::Array(blocks)),
    }
}

/// `input` of a `tool_use` from the IR's JSON text. Anthropic requires an object: arguments
/// that are empty, not valid JSON (a model cut off mid-call) or not an object are sent as
/// `{}`. Wrapping the text under an invented key would hand the tool an argument its schema
/// does not have, so the call goes out empty instead and the tool reports what is missing.
pub(super) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => json!({}),
    }
}
