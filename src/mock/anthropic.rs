//! Anthropic Messages wire format of the mock: JSON replies, the SSE event sequence and error
//! bodies.
//!
//! Pure. A stream goes `message_start`, `content_block_start`, `ping`, `content_block_delta`
//! (`text_delta` / `input_json_delta`), `content_block_stop` (per block), `message_delta`
//! (`stop_reason`, `usage.output_tokens`), `message_stop`, each as `event: <type>` plus
//! `data: <json>`, like the API reference.

use serde::Serialize;
use serde_json::Value;

use super::behaviour::Failure;
use super::reply::{
    Content, ErrorReply, PREFILL_REFUSED, Prompt, Reply, array_at, is_user, text_of, text_only,
    to_json, trailing_prefill,
};
use super::stream::Event;

/// Reads a Messages request: last user message, prompt size (system included), tool names,
/// and the prefill (a last message of role `assistant` with only text content).
pub(crate) fn decode_request(body: &Value) -> Prompt {
    let system = body.get("system").map(text_of).unwrap_or_default();
    let tools = array_at(body, "tools")
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let text = |m: &Value| m.get("content").map(text_of).unwrap_or_default();
    let messages = array_at(body, "messages");
    let mut prompt = Prompt::of(messages, text, is_user, &system, tools);
    let is_assistant = |m: &Value| m.get("role").and_then(Value::as_str) == Some("assistant");
    let content = |m: &Value| m.get("content").and_then(text_only);
    prompt.prefill = trailing_prefill(messages, is_assistant, content);
    prompt
}

/// Whether the request asks for a stream.
pub(crate) fn is_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool) == Some(true)
}

#[derive(Serialize)]
struct Message<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<Block<'a>>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<()>,
    usage: Usage,
}

#[derive(Serialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: String,
        name: &'a str,
        input: Value,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent<'a> {
    MessageStart {
        message: Message<'a>,
    },
    ContentBlockStart {
        index: usize,
        content_block: Block<'a>,
    },
    Ping,
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta<'a>,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: MessageDelta,
        usage: OutputUsage,
    },
    MessageStop,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta<'a> {
    TextDelta { text: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Serialize)]
struct MessageDelta {
    stop_reason: &'static str,
    stop_sequence: Option<()>,
}

#[derive(Serialize)]
struct OutputUsage {
    output_tokens: u64,
}

fn stop_reason(reply: &Reply) -> &'static str {
    match reply.content {
        Content::Text(_) => "end_turn",
        Content::Tools(_) => "tool_use",
    }
}

fn tool_input(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or(Value::Null)
}

/// A Messages response (`type: "message"`).
pub(crate) fn encode_response(reply: &Reply, model: &str) -> String {
    let text = reply.text();
    let content = match &reply.content {
        Content::Text(_) => vec![Block::Text { text: &text }],
        Content::Tools(calls) => calls
            .iter()
            .enumerate()
            .map(|(i, c)| Block::ToolUse {
                id: reply.tool_id("toolu_", i),
                name: &c.name,
                input: tool_input(&c.arguments),
            })
            .collect(),
    };
    to_json(&Message {
        id: &format!("msg_{}", reply.id),
        kind: "message",
        role: "assistant",
        model,
        content,
        stop_reason: Some(stop_reason(reply)),
        stop_sequence: None,
        usage: Usage {
            input_tokens: reply.prompt_tokens,
            output_tokens: reply.completion_tokens,
        },
    })
}

fn event(e: &StreamEvent<'_>) -> String {
    let name = match e {
        StreamEvent::MessageStart { .. } => "message_start",
        StreamEvent::ContentBlockStart { .. } => "content_block_start",
        StreamEvent::Ping => "ping",
        StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
        StreamEvent::ContentBlockStop { .. } => "content_block_stop",
        StreamEvent::MessageDelta { .. } => "message_delta",
        StreamEvent::MessageStop => "message_stop",
    };
    format!("event: {name}\ndata: {}\n\n", to_json(e))
}

/// The SSE events of a streamed Messages response.
pub(crate) fn encode_stream(reply: &Reply, model: &str) -> Vec<Event> {
    let id = format!("msg_{}", reply.id);
    let mut events = vec![Event::other(event(&StreamEvent::MessageStart {
        message: Message {
            id: &id,
            kind: "message",
            role: "assistant",
            model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: Usage {
                input_tokens: reply.prompt_tokens,
                output_tokens: 1,
            },
        },
    }))];
    let mut block = |index: usize, start: Block<'_>, deltas: Vec<BlockDelta<'_>>| {
        let content_block = start;
        events.push(Event::other(event(&StreamEvent::ContentBlockStart {
            index,
            content_block,
        })));
        if index == 0 {
            events.push(Event::other(event(&StreamEvent::Ping)));
        }
        for delta in deltas {
            let e = StreamEvent::ContentBlockDelta { index, delta };
            events.push(Event::token(event(&e)));
        }
        events.push(Event::other(event(&StreamEvent::ContentBlockStop {
            index,
        })));
    };
    match &reply.content {
        Content::Text(tokens) => block(
            0,
            Block::Text { text: "" },
            tokens
                .iter()
                .map(|t| BlockDelta::TextDelta { text: t })
                .collect(),
        ),
        Content::Tools(calls) => {
            for (index, call) in calls.iter().enumerate() {
                let start = Block::ToolUse {
                    id: reply.tool_id("toolu_", index),
                    name: &call.name,
                    input: Value::Object(serde_json::Map::new()),
                };
                let deltas = call
                    .fragments
                    .iter()
                    .map(|f| BlockDelta::InputJsonDelta { partial_json: f })
                    .collect();
                block(index, start, deltas);
            }
        }
    }
    events.push(Event::other(event(&StreamEvent::MessageDelta {
        delta: MessageDelta {
            stop_reason: stop_reason(reply),
            stop_sequence: None,
        },
        usage: OutputUsage {
            output_tokens: reply.completion_tokens,
        },
    })));
    events.push(Event::other(event(&StreamEvent::MessageStop)));
    events
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

/// An Anthropic error body `{"type":"error","error":{"type","message"}}`.
pub(crate) fn encode_error(error: &ErrorReply) -> String {
    let body = |kind: &str, message: &str| {
        to_json(&ErrorBody {
            kind: "error",
            error: ErrorDetail { kind, message },
        })
    };
    match error {
        ErrorReply::Failure(Failure::Internal) => body("api_error", "Internal server error"),
        ErrorReply::Failure(Failure::Unavailable) => body("overloaded_error", "Overloaded"),
        ErrorReply::Failure(Failure::ContextLength) => body(
            "invalid_request_error",
            "prompt is too long: 200001 tokens > 200000 maximum",
        ),
        ErrorReply::Failure(Failure::RateLimited { .. }) => body(
            "rate_limit_error",
            "Number of requests has exceeded your rate limit. Please try again later.",
        ),
        ErrorReply::BadRequest(message) | ErrorReply::MethodNotAllowed(message) => {
            body("invalid_request_error", message)
        }
        ErrorReply::NotFound(message) => body("not_found_error", message),
        ErrorReply::TooLarge => body("request_too_large", "Request exceeds the maximum size"),
        ErrorReply::PrefillRefused => body("invalid_request_error", PREFILL_REFUSED),
    }
}
