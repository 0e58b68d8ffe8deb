//! Legacy text completions ⇄ Chat Completions: the prompt becomes one user message, the
//! answer's message its `text`. What chat cannot express (`suffix`, `echo`, `logprobs`,
//! `best_of`, several prompts, token-id prompts) is refused with a 400 naming the field.

use serde_json::{Map, Value, json};

use crate::errors::{ErrorKind, GatewayError};

/// Fields copied to the chat request as they are.
const COPIED: &[&str] = &[
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "user",
    "stream",
    "stream_options",
    "logit_bias",
];

/// The chat request of a completions request.
pub fn to_chat(req: &Value) -> Result<Value, GatewayError> {
    let obj = req
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object", None))?;
    for (field, refuse) in [
        ("suffix", Value::is_null as fn(&Value) -> bool),
        ("echo", |v: &Value| v.as_bool() != Some(true)),
        ("logprobs", Value::is_null),
        ("best_of", |v: &Value| v.as_u64().is_none_or(|n| n <= 1)),
    ] {
        if let Some(v) = obj.get(field)
            && !refuse(v)
        {
            return Err(bad(
                &format!(
                    "`{field}` cannot be bridged to a chat model; send it to a provider with a completions endpoint"
                ),
                Some(field_name(field)),
            ));
        }
    }
    let prompt = match obj.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
            items[0].as_str().unwrap_or_default().to_string()
        }
        _ => {
            return Err(bad(
                "`prompt` must be one string to be bridged to a chat model",
                Some("prompt"),
            ));
        }
    };
    let mut chat = Map::new();
    for key in COPIED {
        if let Some(v) = obj.get(*key) {
            chat.insert((*key).to_string(), v.clone());
        }
    }
    chat.insert(
        "messages".into(),
        json!([{ "role": "user", "content": prompt }]),
    );
    Ok(Value::Object(chat))
}

/// The completions answer of a chat completion.
pub fn from_chat(chat: &Value) -> Value {
    let choices: Vec<Value> = chat["choices"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|choice| {
                    json!({
                        "text": choice["message"]["content"].as_str().unwrap_or_default(),
                        "index": choice["index"].as_u64().unwrap_or(0),
                        "logprobs": null,
                        "finish_reason": choice["finish_reason"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = json!({
        "id": completion_id(chat["id"].as_str()),
        "object": "text_completion",
        "created": chat["created"],
        "model": chat["model"],
        "choices": choices,
    });
    if let Some(usage) = chat.get("usage").filter(|u| !u.is_null()) {
        out["usage"] = usage.clone();
    }
    out
}

/// One chunk of a completions stream from a chat chunk (`None`: nothing to say).
pub fn chunk_from_chat(chunk: &Value) -> Option<Value> {
    let choices: Vec<Value> = chunk["choices"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter(|choice| {
                    choice["delta"]["content"].is_string() || !choice["finish_reason"].is_null()
                })
                .map(|choice| {
                    json!({
                        "text": choice["delta"]["content"].as_str().unwrap_or_default(),
                        "index": choice["index"].as_u64().unwrap_or(0),
                        "logprobs": null,
                        "finish_reason": choice["finish_reason"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let usage = chunk.get("usage").filter(|u| !u.is_null());
    if choices.is_empty() && usage.is_none() {
        return None;
    }
    let mut out = json!({
        "id": completion_id(chunk["id"].as_str()),
        "object": "text_completion",
        "created": chunk["created"],
        "model": chunk["model"],
        "choices": choices,
    });
    if let Some(usage) = usage {
        out["usage"] = usage.clone();
    }
    Some(out)
}

fn completion_id(chat_id: Option<&str>) -> String {
    let id = chat_id.unwrap_or("gateway");
    format!("cmpl-{}", id.strip_prefix("chatcmpl-").unwrap_or(id))
}

fn field_name(field: &str) -> &'static str {
    match field {
        "suffix" => "suffix",
        "echo" => "echo",
        "logprobs" => "logprobs",
        _ => "best_of",
    }
}

fn bad(message: &str, param: Option<&'static str>) -> GatewayError {
    let e = GatewayError::new(ErrorKind::BadRequest, message);
    match param {
        Some(p) => e.with_param(p),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_becomes_a_user_message_and_back() {
        let chat =
            to_chat(&json!({ "model": "m", "prompt": "Say hi", "max_tokens": 5, "stream": true }))
                .unwrap();
        assert_eq!(
            chat["messages"],
            json!([{ "role": "user", "content": "Say hi" }])
        );
        assert_eq!(
            (chat["max_tokens"].as_u64(), chat["stream"].as_bool()),
            (Some(5), Some(true))
        );
        let answer = from_chat(&json!({
            "id": "chatcmpl-1", "created": 7, "model": "m",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": "hi" }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3 }
        }));
        assert_eq!(answer["object"], "text_completion");
        assert_eq!(answer["id"], "cmpl-1");
        assert_eq!(answer["choices"][0]["text"], "hi");
        assert_eq!(answer["usage"]["total_tokens"], 3);
    }

    #[test]
    fn what_chat_cannot_say_is_refused() {
        for body in [
            json!({ "model": "m", "prompt": "x", "suffix": "y" }),
            json!({ "model": "m", "prompt": "x", "echo": true }),
            json!({ "model": "m", "prompt": "x", "logprobs": 2 }),
            json!({ "model": "m", "prompt": ["a", "b"] }),
            json!({ "model": "m", "prompt": [1, 2, 3] }),
        ] {
            assert_eq!(to_chat(&body).unwrap_err().status(), 400, "{body}");
        }
        assert!(
            to_chat(&json!({ "model": "m", "prompt": ["one"], "echo": false, "best_of": 1 }))
                .is_ok()
        );
    }
}
