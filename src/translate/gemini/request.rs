//! Gemini `GenerateContentRequest` bodies ⇄ IR requests: `contents`, `systemInstruction`,
//! `tools` / `toolConfig` and `generationConfig`.
//!
//! Decoding is lenient (unknown fields ignored, both field spellings read); only a missing or
//! empty `contents` is refused. Encoding writes camelCase, omits absent fields, merges
//! consecutive contents of one role (Gemini wants turns to alternate) and strips the JSON
//! Schema keys Gemini rejects from tool and response schemas.

use serde_json::{Map, Value, json};

use super::super::contract::EncodeOptions;
use super::super::ir::{Message, Part, Request, ResponseFormat, Role, Tool, ToolChoice};
use super::parts::{PartReader, PartWriter, field, str_field};
use crate::errors::{ErrorKind, GatewayError};

/// JSON Schema keys Gemini's schema subset refuses.
const REJECTED_SCHEMA_KEYS: [&str; 3] = ["$schema", "additionalProperties", "strict"];
/// Keys whose value maps names to schemas (the names are data, not keywords).
const SCHEMA_MAPS: [&str; 4] = ["properties", "patternProperties", "$defs", "definitions"];
/// Keys whose value is data, never a schema.
const SCHEMA_DATA: [&str; 5] = ["enum", "const", "default", "example", "examples"];

/// Reads a Gemini request body. `model` stays empty (it is in the URL) and so does
/// `stream` (the method, `streamGenerateContent`, says it).
pub fn decode_request(body: &[u8]) -> Result<Request, GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::InvalidJson,
            format!("the request body is not valid JSON: {e}"),
        )
    })?;
    if !v.is_object() {
        return Err(GatewayError::new(
            ErrorKind::BadRequest,
            "the request body must be a JSON object (a Gemini GenerateContentRequest)",
        ));
    }
    let contents = v
        .get("contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty());
    let Some(contents) = contents else {
        return Err(GatewayError::new(
            ErrorKind::BadRequest,
            "`contents` is required: a non-empty array of {\"role\", \"parts\"} objects",
        )
        .with_param("contents"));
    };
    let mut req = Request {
        messages: decode_contents(contents),
        ..Request::default()
    };
    if let Some(system) = field(&v, "systemInstruction", "system_instruction") {
        req.system = system_texts(system);
    }
    if let Some(tools) = v.get("tools").and_then(Value::as_array) {
        req.tools = tools.iter().flat_map(decode_tools).collect();
    }
    req.tool_choice = field(&v, "toolConfig", "tool_config")
        .and_then(|c| field(c, "functionCallingConfig", "function_calling_config"))
        .and_then(decode_tool_choice);
    if let Some(config) = field(&v, "generationConfig", "generation_config") {
        decode_generation_config(config, &mut req);
    }
    Ok(req)
}

fn decode_contents(contents: &[Value]) -> Vec<Message> {
    let mut reader = PartReader::new(None);
    let mut messages = Vec::new();
    for content in contents {
        let is_model = content.get("role").and_then(Value::as_str) == Some("model");
        if is_model {
            reader.begin_model_turn();
        }
        let mut parts = Vec::new();
        for part in content
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            reader.read(part, &mut parts);
        }
        if parts.is_empty() {
            continue;
        }
        let role = if is_model {
            Role::Assistant
        } else if parts.iter().all(|p| matches!(p, Part::ToolResult { .. })) {
            Role::Tool
        } else {
            Role::User
        };
        messages.push(Message { role, parts });
    }
    messages
}

/// The texts of a `systemInstruction` (a `Content`, or a bare string some clients send).
fn system_texts(system: &Value) -> Vec<String> {
    if let Some(text) = system.as_str() {
        return vec![text.to_owned()];
    }
    let parts = system
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    parts
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The function declarations of one `Tool` (search and code-execution tools have no IR form).
fn decode_tools(tool: &Value) -> Vec<Tool> {
    let decls = field(tool, "functionDeclarations", "function_declarations");
    let decls = decls.and_then(Value::as_array).into_iter().flatten();
    decls
        .filter_map(|d| {
            let name = d.get("name").and_then(Value::as_str)?;
            let parameters = d
                .get("parameters")
                .or_else(|| field(d, "parametersJsonSchema", "parameters_json_schema"))
                .filter(|p| !p.is_null())
                .cloned()
                .unwrap_or_else(|| json!({ "type": "object", "properties": {} }));
            Some(Tool {
                name: name.to_owned(),
                description: d
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                parameters,
            })
        })
        .collect()
}

fn decode_tool_choice(config: &Value) -> Option<ToolChoice> {
    let mode = config
        .get("mode")
        .and_then(Value::as_str)?
        .to_ascii_uppercase();
    let allowed = field(config, "allowedFunctionNames", "allowed_function_names");
    let allowed: Vec<&str> = allowed
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    match mode.as_str() {
        "AUTO" | "VALIDATED" => Some(ToolChoice::Auto),
        "NONE" => Some(ToolChoice::None),
        "ANY" => match allowed.as_slice() {
            [one] => Some(ToolChoice::Tool((*one).to_owned())),
            _ => Some(ToolChoice::Required),
        },
        _ => None,
    }
}

fn decode_generation_config(config: &Value, req: &mut Request) {
    let number = |camel, snake| field(config, camel, snake).and_then(Value::as_f64);
    req.max_tokens = field(config, "maxOutputTokens", "max_output_tokens")
        .and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    req.temperature = number("temperature", "temperature");
    req.top_p = number("topP", "top_p");
    if let Some(stop) = field(config, "stopSequences", "stop_sequences").and_then(Value::as_array) {
        req.stop = stop
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    let schema = field(config, "responseSchema", "response_schema")
        .or_else(|| field(config, "responseJsonSchema", "response_json_schema"))
        .filter(|s| !s.is_null());
    let mime = str_field(config, "responseMimeType", "response_mime_type");
    req.response_format = match (mime, schema) {
        (_, Some(schema)) => Some(ResponseFormat::JsonSchema {
            name: "response".to_owned(),
            schema: schema.clone(),
            strict: None,
        }),
        (Some("application/json"), None) => Some(ResponseFormat::JsonObject),
        (Some("text/plain"), None) => Some(ResponseFormat::Text),
        _ => None,
    };
    // A budget of 0 turns thinking off and -1 lets the model decide; neither is a budget.
    req.thinking_budget = field(config, "thinkingConfig", "thinking_config")
        .and_then(|t| field(t, "thinkingBudget", "thinking_budget"))
        .and_then(Value::as_u64)
        .filter(|b| *b > 0)
        .map(|b| u32::try_from(b).unwrap_or(u32::MAX));
}

/// Writes a Gemini request body. `opts` is not needed: the model goes in the URL and Gemini
/// does not require `maxOutputTokens`.
pub fn encode_request(req: &Request, _opts: &EncodeOptions) -> Vec<u8> {
    let mut body = Map::new();
    body.insert(
        "contents".into(),
        Value::Array(encode_contents(&req.messages)),
    );
    if !req.system.is_empty() {
        let parts: Vec<Value> = req.system.iter().map(|t| json!({ "text": t })).collect();
        body.insert("systemInstruction".into(), json!({ "parts": parts }));
    }
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req.tools.iter().map(encode_tool).collect();
        body.insert("tools".into(), json!([{ "functionDeclarations": decls }]));
        if let Some(choice) = &req.tool_choice {
            body.insert(
                "toolConfig".into(),
                json!({ "functionCallingConfig": encode_tool_choice(choice) }),
            );
        }
    }
    let config = encode_generation_config(req);
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

/// One content per turn: tool results go back as `user`, and consecutive contents of one
/// role are merged.
fn encode_contents(messages: &[Message]) -> Vec<Value> {
    let mut writer = PartWriter::default();
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in messages {
        let role = match message.role {
            Role::Assistant => "model",
            Role::User | Role::Tool => "user",
        };
        let mut parts = writer.write(&message.parts);
        if parts.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, earlier)) if *last == role => earlier.append(&mut parts),
            _ => turns.push((role, parts)),
        }
    }
    turns
        .into_iter()
        .map(|(role, parts)| json!({ "role": role, "parts": parts }))
        .collect()
}

fn encode_tool(tool: &Tool) -> Value {
    let mut decl = Map::new();
    decl.insert("name".into(), json!(tool.name));
    if let Some(description) = &tool.description {
        decl.insert("description".into(), json!(description));
    }
    let parameters = strip_schema(&tool.parameters);
    // Gemini refuses an object schema without properties; a tool without arguments has none.
    if !is_empty_object_schema(&parameters) {
        decl.insert("parameters".into(), parameters);
    }
    Value::Object(decl)
}

fn is_empty_object_schema(schema: &Value) -> bool {
    match schema {
        Value::Null => true,
        Value::Object(map) => {
            let is_object = map.get("type").is_none_or(|t| t == "object");
            let no_properties = map
                .get("properties")
                .is_none_or(|p| p.as_object().is_some_and(Map::is_empty));
            is_object && no_properties
        }
        _ => false,
    }
}

fn encode_tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!({ "mode": "AUTO" }),
        ToolChoice::None => json!({ "mode": "NONE" }),
        ToolChoice::Required => json!({ "mode": "ANY" }),
        ToolChoice::Tool(name) => json!({ "mode": "ANY", "allowedFunctionNames": [name] }),
    }
}

fn encode_generation_config(req: &Request) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(max) = req.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        config.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        config.insert("topP".into(), json!(p));
    }
    if !req.stop.is_empty() {
        config.insert("stopSequences".into(), json!(req.stop));
    }
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseSchema".into(), strip_schema(schema));
        }
    }
    if let Some(budget) = req.thinking_budget {
        // A client that asked for thinking wants to see it.
        config.insert(
            "thinkingConfig".into(),
            json!({ "thinkingBudget": budget, "includeThoughts": true }),
        );
    }
    config
}

/// `schema` without the keys Gemini rejects, at any depth. Property names and data values
/// (`enum`, `default`, ...) are left alone, so a property called `strict` survives.
pub(super) fn strip_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !REJECTED_SCHEMA_KEYS.contains(&k.as_str()))
                .map(|(k, v)| {
                    let v = match v {
                        Value::Object(named) if SCHEMA_MAPS.contains(&k.as_str()) => Value::Object(
                            named
                                .iter()
                                .map(|(name, s)| (name.clone(), strip_schema(s)))
                                .collect(),
                        ),
                        _ if SCHEMA_DATA.contains(&k.as_str()) => v.clone(),
                        _ => strip_schema(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_schema).collect()),
        other => other.clone(),
    }
}
