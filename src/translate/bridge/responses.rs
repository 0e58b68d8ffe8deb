//! The OpenAI Responses API ⇄ Chat Completions. Requests: `input` (a string or message,
//! function-call and function-call-output items), `instructions`, function `tools`,
//! `tool_choice`, `text.format`, `reasoning.effort`, `max_output_tokens`, sampling fields.
//! Answers: one `message` item with `output_text`, one `function_call` item per tool call,
//! usage as `input_tokens`/`output_tokens`. The gateway keeps no response state, so
//! `previous_response_id` and the hosted tools (web search, file search, ...) are refused
//! with a 400 naming the field.

use serde_json::{Map, Value, json};

use crate::errors::{ErrorKind, GatewayError};

/// The chat request of a Responses request.
pub fn to_chat(req: &Value) -> Result<Value, GatewayError> {
    let obj = req
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object", "input"))?;
    if obj
        .get("previous_response_id")
        .is_some_and(|v| !v.is_null())
    {
        return Err(bad(
            "`previous_response_id` needs stored responses, which the gateway does not keep; send the whole conversation in `input`",
            "previous_response_id",
        ));
    }
    let mut messages = Vec::new();
    if let Some(instructions) = obj.get("instructions").and_then(Value::as_str) {
        messages.push(json!({ "role": "system", "content": instructions }));
    }
    match obj.get("input") {
        Some(Value::String(text)) => messages.push(json!({ "role": "user", "content": text })),
        Some(Value::Array(items)) => {
            for item in items {
                push_item(&mut messages, item)?;
            }
        }
        _ => {
            return Err(bad(
                "`input` must be a string or an array of items",
                "input",
            ));
        }
    }
    let mut chat = Map::new();
    chat.insert(
        "model".into(),
        obj.get("model").cloned().unwrap_or(Value::Null),
    );
    chat.insert("messages".into(), Value::Array(messages));
    for key in [
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "user",
        "stream",
    ] {
        if let Some(v) = obj.get(key).filter(|v| !v.is_null()) {
            chat.insert(key.into(), v.clone());
        }
    }
    if obj.get("stream") == Some(&Value::Bool(true)) {
        chat.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    if let Some(n) = obj.get("max_output_tokens").filter(|v| !v.is_null()) {
        chat.insert("max_tokens".into(), n.clone());
    }
    if let Some(effort) = obj
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .filter(|v| !v.is_null())
    {
        chat.insert("reasoning_effort".into(), effort.clone());
    }
    if let Some(tools) = obj
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
    {
        let mut out = Vec::new();
        for tool in tools {
            if tool["type"] != "function" {
                return Err(bad(
                    &format!(
                        "the hosted tool `{}` is not available through the gateway; use function tools",
                        tool["type"].as_str().unwrap_or("?")
                    ),
                    "tools",
                ));
            }
            let mut function = json!({ "name": tool["name"], "parameters": tool.get("parameters").cloned().unwrap_or(json!({ "type": "object" })) });
            for key in ["description", "strict"] {
                if let Some(v) = tool.get(key).filter(|v| !v.is_null()) {
                    function[key] = v.clone();
                }
            }
            out.push(json!({ "type": "function", "function": function }));
        }
        chat.insert("tools".into(), Value::Array(out));
    }
    match obj.get("tool_choice") {
        Some(Value::String(s)) => {
            chat.insert("tool_choice".into(), json!(s));
        }
        Some(Value::Object(c)) if c.get("type") == Some(&json!("function")) => {
            chat.insert(
                "tool_choice".into(),
                json!({ "type": "function", "function": { "name": c.get("name") } }),
            );
        }
        _ => {}
    }
    if let Some(format) = obj.get("text").and_then(|t| t.get("format")) {
        match format["type"].as_str() {
            Some("json_object") => {
                chat.insert("response_format".into(), json!({ "type": "json_object" }));
            }
            Some("json_schema") => {
                let mut schema = json!({ "name": format["name"], "schema": format["schema"] });
                if let Some(strict) = format.get("strict").filter(|v| !v.is_null()) {
                    schema["strict"] = strict.clone();
                }
                chat.insert(
                    "response_format".into(),
                    json!({ "type": "json_schema", "json_schema": schema }),
                );
            }
            _ => {}
        }
    }
    Ok(Value::Object(chat))
}

/// Appends one input item as chat messages.
fn push_item(messages: &mut Vec<Value>, item: &Value) -> Result<(), GatewayError> {
    let kind = item["type"].as_str().unwrap_or("message");
    match kind {
        "message" => {
            let role = match item["role"].as_str() {
                Some("developer") => "system",
                Some(r @ ("user" | "assistant" | "system")) => r,
                _ => {
                    return Err(bad(
                        "an input message needs a role: user, assistant, system or developer",
                        "input",
                    ));
                }
            };
            let content = match &item["content"] {
                Value::String(s) => json!(s),
                Value::Array(parts) => {
                    let mut out = Vec::new();
                    for part in parts {
                        out.push(match part["type"].as_str() {
                            Some("input_text" | "output_text" | "text") => {
                                json!({ "type": "text", "text": part["text"] })
                            }
                            Some("input_image") => {
                                let url = part.get("image_url").cloned().unwrap_or(Value::Null);
                                if !url.is_string() {
                                    return Err(bad("an `input_image` needs an `image_url` (file ids are not available)", "input"));
                                }
                                let mut image = json!({ "url": url });
                                if let Some(d) = part.get("detail").filter(|v| !v.is_null()) {
                                    image["detail"] = d.clone();
                                }
                                json!({ "type": "image_url", "image_url": image })
                            }
                            other => {
                                return Err(bad(
                                    &format!("the content part `{}` is not available through the gateway", other.unwrap_or("?")),
                                    "input",
                                ));
                            }
                        });
                    }
                    if role == "assistant" {
                        // Chat assistant messages carry text, not parts.
                        let text: String = out.iter().filter_map(|p| p["text"].as_str()).collect();
                        json!(text)
                    } else {
                        Value::Array(out)
                    }
                }
                _ => return Err(bad("an input message needs `content`", "input")),
            };
            messages.push(json!({ "role": role, "content": content }));
        }
        "function_call" => {
            let call = json!({
                "id": item["call_id"],
                "type": "function",
                "function": { "name": item["name"], "arguments": item["arguments"].as_str().unwrap_or("{}") },
            });
            // Consecutive calls belong to one assistant turn.
            match messages.last_mut() {
                Some(last) if last["role"] == "assistant" && last.get("tool_calls").is_some() => {
                    if let Some(calls) = last["tool_calls"].as_array_mut() {
                        calls.push(call);
                    }
                }
                _ => messages
                    .push(json!({ "role": "assistant", "content": null, "tool_calls": [call] })),
            }
        }
        "function_call_output" => {
            let output = match &item["output"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            messages.push(
                json!({ "role": "tool", "tool_call_id": item["call_id"], "content": output }),
            );
        }
        // Reasoning items of an earlier answer are the provider's own; chat has no slot.
        "reasoning" => {}
        other => {
            return Err(bad(
                &format!("the input item `{other}` is not available through the gateway"),
                "input",
            ));
        }
    }
    Ok(())
}

/// The response id of a chat id.
pub fn response_id(chat_id: Option<&str>) -> String {
    let id = chat_id.unwrap_or("gateway");
    format!("resp_{}", id.strip_prefix("chatcmpl-").unwrap_or(id))
}

/// The usage of a chat answer, as the Responses API reports it.
pub fn usage(chat_usage: &Value) -> Value {
    if chat_usage.is_null() {
        return Value::Null;
    }
    let input = chat_usage["prompt_tokens"].as_u64().unwrap_or(0);
    let output = chat_usage["completion_tokens"].as_u64().unwrap_or(0);
    json!({
        "input_tokens": input,
        "input_tokens_details": { "cached_tokens": chat_usage["prompt_tokens_details"]["cached_tokens"].as_u64().unwrap_or(0) },
        "output_tokens": output,
        "output_tokens_details": { "reasoning_tokens": chat_usage["completion_tokens_details"]["reasoning_tokens"].as_u64().unwrap_or(0) },
        "total_tokens": input + output,
    })
}

/// A response object around `output` (`status`: `in_progress`, `completed`, `incomplete`
/// (the answer hit `max_output_tokens`), `failed`).
pub fn envelope(
    id: &str,
    created: &Value,
    model: &Value,
    request: &Value,
    status: &str,
    (output, usage): (Vec<Value>, Value),
) -> Value {
    let incomplete = status == "incomplete";
    json!({
        "id": id,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": null,
        "incomplete_details": if incomplete { json!({ "reason": "max_output_tokens" }) } else { Value::Null },
        "instructions": request.get("instructions").cloned().unwrap_or(Value::Null),
        "max_output_tokens": request.get("max_output_tokens").cloned().unwrap_or(Value::Null),
        "model": model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls").cloned().unwrap_or(json!(true)),
        "previous_response_id": null,
        "reasoning": { "effort": request["reasoning"]["effort"], "summary": null },
        "store": false,
        "temperature": request.get("temperature").cloned().unwrap_or(json!(1.0)),
        "text": request.get("text").cloned().unwrap_or(json!({ "format": { "type": "text" } })),
        "tool_choice": request.get("tool_choice").cloned().unwrap_or(json!("auto")),
        "tools": request.get("tools").cloned().unwrap_or(json!([])),
        "top_p": request.get("top_p").cloned().unwrap_or(json!(1.0)),
        "truncation": "disabled",
        "usage": usage,
        "user": request.get("user").cloned().unwrap_or(Value::Null),
        "metadata": request.get("metadata").cloned().unwrap_or(json!({})),
    })
}

/// A finished message item.
pub fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "type": "message",
        "id": id,
        "status": status,
        "role": "assistant",
        "content": [{ "type": "output_text", "text": text, "annotations": [] }],
    })
}

/// A function-call item.
pub fn call_item(call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({
        "type": "function_call",
        "id": format!("fc_{call_id}"),
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    })
}

/// The Responses answer of a whole chat completion.
pub fn from_chat(chat: &Value, request: &Value) -> Value {
    let id = response_id(chat["id"].as_str());
    let choice = &chat["choices"][0];
    let message = &choice["message"];
    let mut output = Vec::new();
    if let Some(text) = message["content"].as_str().filter(|t| !t.is_empty()) {
        output.push(message_item(
            &format!("msg_{}", &id[5..]),
            text,
            "completed",
        ));
    }
    if let Some(calls) = message["tool_calls"].as_array() {
        for call in calls {
            output.push(call_item(
                call["id"].as_str().unwrap_or_default(),
                call["function"]["name"].as_str().unwrap_or_default(),
                call["function"]["arguments"].as_str().unwrap_or("{}"),
                "completed",
            ));
        }
    }
    let incomplete = choice["finish_reason"] == "length";
    envelope(
        &id,
        &chat["created"],
        &chat["model"],
        request,
        if incomplete {
            "incomplete"
        } else {
            "completed"
        },
        (output, usage(&chat["usage"])),
    )
}

fn bad(message: &str, param: &'static str) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message).with_param(param)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_items_become_chat_messages() {
        let chat = to_chat(&json!({
            "model": "m",
            "instructions": "Be brief.",
            "input": [
                { "role": "user", "content": [{ "type": "input_text", "text": "Weather?" }, { "type": "input_image", "image_url": "https://x/y.png" }] },
                { "type": "function_call", "call_id": "c1", "name": "get", "arguments": "{\"q\":1}" },
                { "type": "function_call", "call_id": "c2", "name": "get", "arguments": "{}" },
                { "type": "function_call_output", "call_id": "c1", "output": "sunny" },
                { "role": "developer", "content": "Use metric." }
            ],
            "tools": [{ "type": "function", "name": "get", "parameters": { "type": "object" } }],
            "tool_choice": { "type": "function", "name": "get" },
            "text": { "format": { "type": "json_schema", "name": "w", "schema": { "type": "object" }, "strict": true } },
            "max_output_tokens": 50,
            "stream": true
        }))
        .unwrap();
        let m = chat["messages"].as_array().unwrap();
        assert_eq!(m[0], json!({ "role": "system", "content": "Be brief." }));
        assert_eq!(m[1]["content"][1]["image_url"]["url"], "https://x/y.png");
        assert_eq!(m[2]["tool_calls"].as_array().unwrap().len(), 2);
        assert_eq!(
            m[3],
            json!({ "role": "tool", "tool_call_id": "c1", "content": "sunny" })
        );
        assert_eq!(m[4]["role"], "system");
        assert_eq!(chat["tools"][0]["function"]["name"], "get");
        assert_eq!(chat["tool_choice"]["function"]["name"], "get");
        assert_eq!(chat["response_format"]["json_schema"]["strict"], true);
        assert_eq!(chat["max_tokens"], 50);
        assert_eq!(chat["stream_options"]["include_usage"], true);
    }

    #[test]
    fn stateful_and_hosted_features_are_refused() {
        for body in [
            json!({ "model": "m", "input": "x", "previous_response_id": "resp_1" }),
            json!({ "model": "m", "input": "x", "tools": [{ "type": "web_search" }] }),
            json!({ "model": "m", "input": [{ "type": "item_reference", "id": "x" }] }),
            json!({ "model": "m" }),
        ] {
            assert_eq!(to_chat(&body).unwrap_err().status(), 400, "{body}");
        }
    }

    #[test]
    fn a_chat_answer_becomes_a_response() {
        let r = from_chat(
            &json!({
                "id": "chatcmpl-9", "created": 5, "model": "m",
                "choices": [{ "index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": "Let me check.",
                    "tool_calls": [{ "id": "c1", "type": "function", "function": { "name": "get", "arguments": "{}" } }]
                } }],
                "usage": { "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7 }
            }),
            &json!({ "model": "m", "input": "x" }),
        );
        assert_eq!(r["id"], "resp_9");
        assert_eq!(r["status"], "completed");
        assert_eq!(r["output"][0]["content"][0]["text"], "Let me check.");
        assert_eq!(r["output"][1]["call_id"], "c1");
        assert_eq!(r["usage"]["total_tokens"], 7);
    }
}
