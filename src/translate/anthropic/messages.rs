//! The conversation: Anthropic `messages` ⇄ IR [`Message`]s.
//!
//! Anthropic requires roles to alternate and a `user` turn that answers a `tool_use` turn to
//! start with the `tool_result` blocks. The IR may hold a `Role::Tool` message per result
//! (OpenAI's shape) and consecutive messages of one role, so encoding merges them.

use serde_json::{Value, json};

use super::blocks::{Side, decode_content, encode_part, str_at};
use crate::errors::{ErrorKind, GatewayError};
use crate::translate::ir::{Message, Part, Role};

/// `messages`: required, at least one, each `user` or `assistant`.
pub(super) fn decode_messages(messages: Option<&Value>) -> Result<Vec<Message>, GatewayError> {
    let items = match messages {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) | None => {
            return Err(bad("messages is required: send at least one message"));
        }
        Some(_) => return Err(bad("messages must be an array of messages")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("messages[{i}]");
        let role = match str_at(item, "role", &path).map_err(bad)? {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(bad(format!(
                    "{path}.role `{other}` is not valid: use `user` or `assistant` (the system prompt goes in the top-level `system`)"
                )));
            }
        };
        let Some(content) = item.get("content") else {
            return Err(bad(format!("{path}.content is required")));
        };
        let parts =
            decode_content(content, &format!("{path}.content"), Side::Request).map_err(bad)?;
        out.push(Message { role, parts });
    }
    Ok(out)
}

/// One Anthropic turn being built: tool results first, then the other blocks.
struct Turn {
    role: &'static str,
    results: Vec<Value>,
    others: Vec<Value>,
}

/// Messages with alternating roles. `Role::Tool` messages and the user messages next to them
/// become one `user` turn whose content starts with every `tool_result`, as Anthropic
/// requires right after a `tool_use` turn. Messages left empty (nothing Anthropic accepts)
/// are dropped before merging, so they cannot break the alternation.
pub(super) fn encode_messages(messages: &[Message]) -> Value {
    let mut turns: Vec<Turn> = Vec::with_capacity(messages.len());
    for message in messages {
        let role = match message.role {
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let mut results = Vec::new();
        let mut others = Vec::new();
        for part in &message.parts {
            let Some(block) = encode_part(part, Side::Request) else {
                continue;
            };
            match part {
                Part::ToolResult { .. } if role == "user" => results.push(block),
                _ => others.push(block),
            }
        }
        if results.is_empty() && others.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.role == role => {
                last.results.append(&mut results);
                last.others.append(&mut others);
            }
            _ => turns.push(Turn {
                role,
                results,
                others,
            }),
        }
    }
    let encoded: Vec<Value> = turns
        .into_iter()
        .map(|turn| {
            let mut blocks = turn.results;
            blocks.extend(turn.others);
            let content = match blocks.as_slice() {
                [one] if one["type"] == "text" => one["text"].clone(),
                _ => Value::Array(blocks),
            };
            json!({ "role": turn.role, "content": content })
        })
        .collect();
    Value::Array(encoded)
}

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message).with_param("messages")
}
