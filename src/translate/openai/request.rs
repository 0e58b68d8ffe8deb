//! OpenAI chat request ⇄ IR. Decoding is lenient (unknown fields ignored, both `max_tokens`
//! and `max_completion_tokens` read); encoding writes only what the IR holds.

use serde_json::{Map, Value, json};

use crate::errors::{ErrorKind, GatewayError};
use crate::translate::contract::EncodeOptions;
use crate::translate::ir::{
    ImageSource, Message, Part, Request, ResponseFormat, Role, Tool, ToolChoice,
};

/// Decodes a `/v1/chat/completions` body.
pub fn decode_request(body: &[u8]) -> Result<Request, GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::InvalidJson,
            format!("request body is not valid JSON: {e}"),
        )
    })?;
    let obj = v.as_object().ok_or_else(|| {
        GatewayError::new(ErrorKind::InvalidJson, "request body must be a JSON object")
    })?;
    let model = obj
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("model", "`model` is required and must be a string"))?;
    let raw_messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("messages", "`messages` is required and must be an array"))?;
    let mut req = Request {
        model: model.to_string(),
        ..Request::default()
    };
    for m in raw_messages {
        decode_message(m, &mut req)?;
    }
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        for t in tools {
            let f = t
                .get("function")
                .ok_or_else(|| bad("tools", "each tool needs a `function`"))?;
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("tools", "each tool function needs a `name`"))?;
            req.tools.push(Tool {
                name: name.to_string(),
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                parameters: f
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            });
        }
    }
    req.tool_choice = match obj.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(ToolChoice::Auto),
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            other => return Err(bad("tool_choice", format!("unknown tool_choice `{other}`"))),
        },
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Some(ToolChoice::Tool(name.to_string())),
            None => {
                return Err(bad(
                    "tool_choice",
                    "tool_choice object needs `function.name`",
                ));
            }
        },
    };
    req.parallel_tool_calls = obj.get("parallel_tool_calls").and_then(Value::as_bool);
    req.max_tokens = obj
        .get("max_completion_tokens")
        .or_else(|| obj.get("max_tokens"))
        .and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    req.temperature = obj.get("temperature").and_then(Value::as_f64);
    req.top_p = obj.get("top_p").and_then(Value::as_f64);
    req.stop = match obj.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    req.stream = obj.get("stream").and_then(Value::as_bool).unwrap_or(false);
    req.response_format = match obj.get("response_format") {
        None | Some(Value::Null) => None,
        Some(rf) => match rf.get("type").and_then(Value::as_str) {
            Some("text") => Some(ResponseFormat::Text),
            Some("json_object") => Some(ResponseFormat::JsonObject),
            Some("json_schema") => {
                let js = rf.get("json_schema").cloned().unwrap_or_default();
                Some(ResponseFormat::JsonSchema {
                    name: js
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("response")
                        .to_string(),
                    schema: js.get("schema").cloned().unwrap_or_else(|| json!({})),
                    strict: js.get("strict").and_then(Value::as_bool),
                })
            }
            _ => {
                return Err(bad(
                    "response_format",
                    "response_format.type must be text, json_object or json_schema",
                ));
            }
        },
    };
    req.user = obj.get("user").and_then(Value::as_str).map(str::to_string);
    Ok(req)
}

fn decode_message(m: &Value, req: &mut Request) -> Result<(), GatewayError> {
    let role = m
        .get("role")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("messages", "each message needs a `role`"))?;
    let content = m.get("content");
    match role {
        "system" | "developer" => {
            let text = text_of(content);
            if !text.is_empty() {
                req.system.push(text);
            }
        }
        "user" => req.messages.push(Message {
            role: Role::User,
            parts: content_parts(content)?,
        }),
        "assistant" => {
            let mut parts = match content {
                None | Some(Value::Null) => Vec::new(),
                c => content_parts(c)?,
            };
            if let Some(calls) = m.get("tool_calls") {
                parts.extend(tool_call_parts(calls));
            }
            req.messages.push(Message {
                role: Role::Assistant,
                parts,
            });
        }
        "tool" => {
            let id = m
                .get("tool_call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("messages", "a `tool` message needs `tool_call_id`"))?;
            let result = Part::ToolResult {
                id: id.to_string(),
                content: content_parts(content)?,
                is_error: false,
            };
            req.messages.push(Message {
                role: Role::Tool,
                parts: vec![result],
            });
        }
        other => return Err(bad("messages", format!("unknown message role `{other}`"))),
    }
    Ok(())
}

/// The `Part::ToolCall`s of an OpenAI `tool_calls` array (request history or response).
pub(super) fn tool_call_parts(calls: &Value) -> impl Iterator<Item = Part> + '_ {
    let text = |c: &Value, path: &str| {
        c.pointer(path)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    calls
        .as_array()
        .into_iter()
        .flatten()
        .map(move |c| Part::ToolCall {
            id: text(c, "/id"),
            name: text(c, "/function/name"),
            arguments: text(c, "/function/arguments"),
        })
}

/// The text of a string-or-parts content.
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn content_parts(content: Option<&Value>) -> Result<Vec<Part>, GatewayError> {
    match content {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![Part::Text(s.clone())]),
        Some(Value::Array(items)) => items.iter().map(content_part).collect(),
        Some(_) => Err(bad(
            "messages",
            "message `content` must be a string or an array of parts",
        )),
    }
}

fn content_part(p: &Value) -> Result<Part, GatewayError> {
    match p.get("type").and_then(Value::as_str) {
        Some("text") => Ok(Part::Text(
            p.get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )),
        Some("image_url") => {
            let url = p
                .pointer("/image_url/url")
                .or_else(|| p.get("image_url"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("messages", "an image_url part needs `image_url.url`"))?;
            Ok(Part::Image(parse_image_url(url)))
        }
        Some(other) => Err(bad(
            "messages",
            format!("content part type `{other}` is not supported"),
        )),
        None => Err(bad("messages", "each content part needs a `type`")),
    }
}

/// A `data:` URL becomes inline base64; anything else stays a URL.
fn parse_image_url(url: &str) -> ImageSource {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((meta, data)) = rest.split_once(',')
        && let Some(media_type) = meta.strip_suffix(";base64")
    {
        return ImageSource::Base64 {
            media_type: media_type.to_string(),
            data: data.to_string(),
        };
    }
    ImageSource::Url(url.to_string())
}

/// Encodes a chat request for an OpenAI-format provider.
pub fn encode_request(req: &Request, opts: &EncodeOptions) -> Vec<u8> {
    let mut messages = Vec::new();
    for s in &req.system {
        messages.push(json!({"role": "system", "content": s}));
    }
    for m in &req.messages {
        encode_message(m, &mut messages);
    }
    let mut o = Map::new();
    o.insert("model".into(), json!(opts.model));
    o.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut f = json!({"name": t.name, "parameters": t.parameters});
                if let Some(d) = &t.description {
                    f["description"] = json!(d);
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        o.insert("tools".into(), Value::Array(tools));
    }
    if let Some(tc) = &req.tool_choice {
        let v = match tc {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        o.insert("tool_choice".into(), v);
    }
    if let Some(p) = req.parallel_tool_calls {
        o.insert("parallel_tool_calls".into(), json!(p));
    }
    if let Some(n) = req.max_tokens {
        o.insert("max_tokens".into(), json!(n));
    }
    if let Some(t) = req.temperature {
        o.insert("temperature".into(), json!(t));
    }
    if let Some(t) = req.top_p {
        o.insert("top_p".into(), json!(t));
    }
    if !req.stop.is_empty() {
        o.insert("stop".into(), json!(req.stop));
    }
    if req.stream {
        o.insert("stream".into(), json!(true));
        if opts.include_usage {
            o.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    if let Some(rf) = &req.response_format {
        let v = match rf {
            ResponseFormat::Text => json!({"type": "text"}),
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                let mut js = json!({"name": name, "schema": schema});
                if let Some(s) = strict {
                    js["strict"] = json!(s);
                }
                json!({"type": "json_schema", "json_schema": js})
            }
        };
        o.insert("response_format".into(), v);
    }
    if let Some(u) = &req.user {
        o.insert("user".into(), json!(u));
    }
    serde_json::to_vec(&Value::Object(o)).unwrap_or_default()
}

fn encode_message(m: &Message, out: &mut Vec<Value>) {
    match m.role {
        Role::User | Role::Tool => {
            // Tool results become `tool` messages, ahead of the rest of the turn.
            let mut rest = Vec::new();
            for p in &m.parts {
                match p {
                    Part::ToolResult {
                        id,
                        content,
                        is_error,
                    } => {
                        let mut text = joined_text(content, "\n");
                        if *is_error && !text.starts_with("Error") {
                            text = format!("Error: {text}");
                        }
                        out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
                    }
                    other => rest.push(other),
                }
            }
            if !rest.is_empty() {
                out.push(json!({"role": "user", "content": encode_content(&rest)}));
            }
        }
        Role::Assistant => {
            let texts: Vec<&Part> = m
                .parts
                .iter()
                .filter(|p| matches!(p, Part::Text(_)))
                .collect();
            let calls: Vec<Value> = m
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::ToolCall { id, name, arguments } => Some(json!({
                        "id": id, "type": "function", "function": {"name": name, "arguments": arguments}
                    })),
                    _ => None,
                })
                .collect();
            let mut msg = json!({"role": "assistant"});
            msg["content"] = if texts.is_empty() {
                Value::Null
            } else {
                json!(joined_text(texts.iter().copied(), ""))
            };
            if !calls.is_empty() {
                msg["tool_calls"] = Value::Array(calls);
            }
            out.push(msg);
        }
    }
}

/// The text parts of `parts`, joined with `separator`.
fn joined_text<'p>(parts: impl IntoIterator<Item = &'p Part>, separator: &str) -> String {
    parts
        .into_iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(separator)
}

/// A single text part is sent as a string, anything else as parts.
fn encode_content(parts: &[&Part]) -> Value {
    if let [Part::Text(t)] = parts {
        return json!(t);
    }
    let items: Vec<Value> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(json!({"type": "text", "text": t})),
            Part::Image(ImageSource::Url(url)) => Some(json!({"type": "image_url", "image_url": {"url": url}})),
            Part::Image(ImageSource::Base64 { media_type, data }) => {
                Some(json!({"type": "image_url", "image_url": {"url": format!("data:{media_type};base64,{data}")}}))
            }
            // Thinking and tool calls never appear in user turns; dropped if they do.
            _ => None,
        })
        .collect();
    Value::Array(items)
}

/// An `invalid_request` error naming the field at fault.
fn bad(param: &'static str, message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message).with_param(param)
}
