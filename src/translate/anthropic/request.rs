//! Anthropic Messages requests ⇄ IR [`Request`].
//!
//! Decoding is lenient about what it does not know (unknown fields such as `top_k` or
//! `cache_control` are ignored) and strict about what it reads: a known field of the wrong
//! shape is a `400` naming the field. Encoding produces what Anthropic accepts from any IR
//! request: roles alternate (consecutive messages of one role are merged), tool results lead
//! the user turn that follows the assistant's `tool_use` turn, and `max_tokens` is always set.

use serde_json::{Map, Value, json};

use super::blocks::str_at;
use super::messages::{decode_messages, encode_messages};
use crate::errors::{ErrorKind, GatewayError};
use crate::translate::contract::EncodeOptions;
use crate::translate::ir::{Request, Tool, ToolChoice};

/// Reads a `POST /v1/messages` body.
pub fn decode_request(body: &[u8]) -> Result<Request, GatewayError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::InvalidJson,
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(obj) = &root else {
        return Err(GatewayError::new(
            ErrorKind::BadRequest,
            "the request body must be a JSON object",
        ));
    };
    let model = match field(obj, "model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(Value::String(_)) | None => {
            return Err(bad("model", "model is required: name the model to use"));
        }
        Some(_) => return Err(bad("model", "model must be a string")),
    };
    let (tool_choice, parallel_tool_calls) = decode_tool_choice(field(obj, "tool_choice"))?;
    Ok(Request {
        model,
        system: decode_system(field(obj, "system"))?,
        messages: decode_messages(field(obj, "messages"))?,
        tools: decode_tools(field(obj, "tools"))?,
        tool_choice,
        parallel_tool_calls,
        max_tokens: opt_u32(obj, "max_tokens")?,
        temperature: opt_f64(obj, "temperature")?,
        top_p: opt_f64(obj, "top_p")?,
        stop: decode_stop(field(obj, "stop_sequences"))?,
        stream: match field(obj, "stream") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("stream", "stream must be a boolean")),
        },
        response_format: None,
        user: decode_user(field(obj, "metadata"))?,
        thinking_budget: decode_thinking(field(obj, "thinking"))?,
    })
}

/// Writes the body Anthropic expects for `req`, for the model `opts.model`.
pub fn encode_request(req: &Request, opts: &EncodeOptions) -> Vec<u8> {
    let mut obj = Map::new();
    obj.insert("model".into(), json!(opts.model));
    obj.insert(
        "max_tokens".into(),
        json!(req.max_tokens.unwrap_or(opts.default_max_tokens)),
    );
    match req.system.as_slice() {
        [] => {}
        [one] => {
            obj.insert("system".into(), json!(one));
        }
        parts => {
            let blocks: Vec<Value> = parts
                .iter()
                .map(|text| json!({ "type": "text", "text": text }))
                .collect();
            obj.insert("system".into(), Value::Array(blocks));
        }
    }
    obj.insert("messages".into(), encode_messages(&req.messages));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req.tools.iter().map(encode_tool).collect();
        obj.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = encode_tool_choice(req) {
            obj.insert("tool_choice".into(), choice);
        }
    }
    if let Some(t) = req.temperature {
        obj.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        obj.insert("top_p".into(), json!(p));
    }
    if !req.stop.is_empty() {
        obj.insert("stop_sequences".into(), json!(req.stop));
    }
    if req.stream {
        obj.insert("stream".into(), json!(true));
    }
    if let Some(user) = &req.user {
        obj.insert("metadata".into(), json!({ "user_id": user }));
    }
    if let Some(budget) = req.thinking_budget {
        obj.insert(
            "thinking".into(),
            json!({ "type": "enabled", "budget_tokens": budget }),
        );
    }
    // `response_format` has no Anthropic equivalent and is not encoded: the gateway refuses
    // JSON-mode requests to models without that capability before it gets here.
    serde_json::to_vec(&Value::Object(obj)).unwrap_or_default()
}

fn encode_tool(tool: &Tool) -> Value {
    let mut obj = Map::new();
    obj.insert("name".into(), json!(tool.name));
    if let Some(description) = &tool.description {
        obj.insert("description".into(), json!(description));
    }
    obj.insert("input_schema".into(), tool.parameters.clone());
    Value::Object(obj)
}

/// `tool_choice`, which also carries `disable_parallel_tool_use` (not allowed with `none`).
fn encode_tool_choice(req: &Request) -> Option<Value> {
    let mut choice = match (&req.tool_choice, req.parallel_tool_calls) {
        (None, Some(false)) | (Some(ToolChoice::Auto), _) => json!({ "type": "auto" }),
        (None, _) => return None,
        (Some(ToolChoice::None), _) => return Some(json!({ "type": "none" })),
        (Some(ToolChoice::Required), _) => json!({ "type": "any" }),
        (Some(ToolChoice::Tool(name)), _) => json!({ "type": "tool", "name": name }),
    };
    if let (Some(parallel), Value::Object(obj)) = (req.parallel_tool_calls, &mut choice) {
        obj.insert("disable_parallel_tool_use".into(), json!(!parallel));
    }
    Some(choice)
}

fn bad(param: &'static str, message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message).with_param(param)
}

/// A top-level field; `null` counts as absent.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn opt_u32(obj: &Map<String, Value>, key: &'static str) -> Result<Option<u32>, GatewayError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(bad(
                key,
                format!("{key} must be a whole number from 0 to {}", u32::MAX),
            )),
        },
    }
}

fn opt_f64(obj: &Map<String, Value>, key: &'static str) -> Result<Option<f64>, GatewayError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| bad(key, format!("{key} must be a number"))),
    }
}

fn decode_system(system: Option<&Value>) -> Result<Vec<String>, GatewayError> {
    let blocks = match system {
        None => return Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => return Ok(Vec::new()),
        Some(Value::String(text)) => return Ok(vec![text.clone()]),
        Some(Value::Array(blocks)) => blocks,
        Some(_) => {
            return Err(bad(
                "system",
                "system must be a string or an array of text blocks",
            ));
        }
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        let path = format!("system[{i}]");
        match str_at(block, "type", &path).map_err(|e| bad("system", e))? {
            "text" => parts.push(
                str_at(block, "text", &path)
                    .map_err(|e| bad("system", e))?
                    .to_owned(),
            ),
            other => {
                return Err(bad(
                    "system",
                    format!("{path}.type `{other}` is not supported: system blocks must be text"),
                ));
            }
        }
    }
    Ok(parts)
}

fn decode_tools(tools: Option<&Value>) -> Result<Vec<Tool>, GatewayError> {
    let items = match tools {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad("tools", "tools must be an array of tools")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("tools[{i}]");
        if let Some(kind) = item
            .get("type")
            .and_then(Value::as_str)
            .filter(|k| *k != "custom")
        {
            return Err(bad(
                "tools",
                format!(
                    "{path}.type `{kind}` is not supported by this gateway: only custom tools with an input_schema"
                ),
            ));
        }
        let name = str_at(item, "name", &path)
            .map_err(|e| bad("tools", e))?
            .to_owned();
        let description = match item.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => return Err(bad("tools", format!("{path}.description must be a string"))),
        };
        let parameters = match item.get("input_schema") {
            Some(schema @ Value::Object(_)) => schema.clone(),
            Some(_) => {
                return Err(bad(
                    "tools",
                    format!("{path}.input_schema must be a JSON Schema object"),
                ));
            }
            None => return Err(bad("tools", format!("{path}.input_schema is required"))),
        };
        out.push(Tool {
            name,
            description,
            parameters,
        });
    }
    Ok(out)
}

/// `tool_choice` and its `disable_parallel_tool_use` (`true` → parallel calls off).
fn decode_tool_choice(
    choice: Option<&Value>,
) -> Result<(Option<ToolChoice>, Option<bool>), GatewayError> {
    let Some(choice) = choice else {
        return Ok((None, None));
    };
    let err = |e: String| bad("tool_choice", e);
    let tool_choice = match str_at(choice, "type", "tool_choice").map_err(err)? {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => ToolChoice::Tool(
            str_at(choice, "name", "tool_choice")
                .map_err(err)?
                .to_owned(),
        ),
        other => {
            return Err(err(format!(
                "tool_choice.type `{other}` is not valid: use auto, any, tool or none"
            )));
        }
    };
    let parallel = match choice.get("disable_parallel_tool_use") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(disable)) => Some(!disable),
        Some(_) => {
            return Err(err(
                "tool_choice.disable_parallel_tool_use must be a boolean".into(),
            ));
        }
    };
    Ok((Some(tool_choice), parallel))
}

fn decode_stop(stop: Option<&Value>) -> Result<Vec<String>, GatewayError> {
    let err = || {
        bad(
            "stop_sequences",
            "stop_sequences must be an array of strings",
        )
    };
    match stop {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned).ok_or_else(err))
            .collect(),
        Some(_) => Err(err()),
    }
}

/// `metadata.user_id`; other metadata keys are ignored.
fn decode_user(metadata: Option<&Value>) -> Result<Option<String>, GatewayError> {
    match metadata {
        None => Ok(None),
        Some(Value::Object(meta)) => match meta.get("user_id") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(user)) => Ok(Some(user.clone())),
            Some(_) => Err(bad("metadata", "metadata.user_id must be a string")),
        },
        Some(_) => Err(bad("metadata", "metadata must be an object")),
    }
}

/// `thinking: {type: "enabled", budget_tokens}`; `disabled` and types the IR cannot express
/// (the model deciding for itself) leave the budget unset.
fn decode_thinking(thinking: Option<&Value>) -> Result<Option<u32>, GatewayError> {
    let Some(thinking) = thinking else {
        return Ok(None);
    };
    if str_at(thinking, "type", "thinking").map_err(|e| bad("thinking", e))? != "enabled" {
        return Ok(None);
    }
    match thinking
        .get("budget_tokens")
        .and_then(Value::as_u64)
        .map(u32::try_from)
    {
        Some(Ok(budget)) => Ok(Some(budget)),
        _ => Err(bad(
            "thinking",
            "thinking.budget_tokens must be a whole number when thinking.type is `enabled`",
        )),
    }
}
