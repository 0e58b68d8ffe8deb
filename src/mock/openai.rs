//! OpenAI wire format of the mock: chat completions (JSON and SSE), the chunk and usage types
//! shared with legacy completions (`completions`), and OpenAI error bodies. Embeddings and the
//! model list are in `embeddings`.
//!
//! Pure: `decode_*` read what the mock needs from a request body, `encode_*` write a
//! [`Reply`] as the provider would. Field order follows the API reference; `created` is fixed
//! and ids derive from the request body, so output is byte-identical for identical requests.

use serde::Serialize;
use serde_json::Value;

use super::behaviour::Failure;
use super::reply::{
    CREATED, Content, ErrorReply, PREFILL_REFUSED, Prompt, Reply, array_at, is_user, text_of,
    text_only, to_json, trailing_prefill,
};
use super::stream::Event;

/// Reads a chat completions request: last user message, prompt size, tool names, and the
/// prefill (a last message of role `assistant` with text content and no tool calls).
pub(crate) fn decode_chat_request(body: &Value) -> Prompt {
    let tool_name = |t: &Value| {
        let f = t.get("function").unwrap_or(t);
        f.get("name").and_then(Value::as_str).map(str::to_owned)
    };
    let tools = ["tools", "functions"]
        .iter()
        .flat_map(|k| array_at(body, k))
        .filter_map(tool_name)
        .collect();
    let text = |m: &Value| m.get("content").map(text_of).unwrap_or_default();
    let messages = array_at(body, "messages");
    let mut prompt = Prompt::of(messages, text, is_user, "", tools);
    let is_prefill = |m: &Value| {
        let calls = ["tool_calls", "function_call"]
            .iter()
            .any(|k| m.get(*k).is_some_and(|v| !v.is_null()));
        m.get("role").and_then(Value::as_str) == Some("assistant") && !calls
    };
    let content = |m: &Value| m.get("content").and_then(text_only);
    prompt.prefill = trailing_prefill(messages, is_prefill, content);
    prompt
}

/// Whether the request asks for a stream, and for a usage chunk at its end.
pub(crate) fn stream_flags(body: &Value) -> (bool, bool) {
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    (stream, include_usage)
}

#[derive(Serialize)]
pub(crate) struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    pub(crate) fn of(reply: &Reply) -> Usage {
        Usage {
            prompt_tokens: reply.prompt_tokens,
            completion_tokens: reply.completion_tokens,
            total_tokens: reply.total_tokens(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Completion<'a, C> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: Vec<C>,
    pub usage: Usage,
}

#[derive(Serialize)]
struct ChatChoice {
    index: u32,
    message: Message,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCallOut>,
    refusal: Option<()>,
}

#[derive(Serialize)]
struct ToolCallOut {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut,
}

#[derive(Serialize)]
struct FunctionOut {
    name: String,
    arguments: String,
}

#[derive(Serialize)]
pub(crate) struct Chunk<'a, C> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    pub choices: Vec<C>,
    /// Absent without `include_usage`; `null` on every chunk but the usage chunk with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Option<Usage>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolDelta<'a>>,
}

#[derive(Serialize)]
struct ToolDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

fn finish_reason(reply: &Reply) -> &'static str {
    match reply.content {
        Content::Text(_) => "stop",
        Content::Tools(_) => "tool_calls",
    }
}

/// A chat completion (`object: "chat.completion"`).
pub(crate) fn encode_chat_response(reply: &Reply, model: &str) -> String {
    let (content, tool_calls) = match &reply.content {
        Content::Text(tokens) => (Some(tokens.concat()), Vec::new()),
        Content::Tools(calls) => (
            None,
            calls
                .iter()
                .enumerate()
                .map(|(i, c)| ToolCallOut {
                    id: reply.tool_id("call_", i),
                    kind: "function",
                    function: FunctionOut {
                        name: c.name.clone(),
                        arguments: c.arguments.clone(),
                    },
                })
                .collect(),
        ),
    };
    to_json(&Completion {
        id: &format!("chatcmpl-{}", reply.id),
        object: "chat.completion",
        created: CREATED,
        model,
        choices: vec![ChatChoice {
            index: 0,
            message: Message {
                role: "assistant",
                content,
                tool_calls,
                refusal: None,
            },
            logprobs: None,
            finish_reason: finish_reason(reply),
        }],
        usage: Usage::of(reply),
    })
}

/// The SSE events of a streamed chat completion, `data: [DONE]` included.
pub(crate) fn encode_chat_stream(reply: &Reply, model: &str, include_usage: bool) -> Vec<Event> {
    let id = format!("chatcmpl-{}", reply.id);
    let chunk = |delta: Delta<'_>, finish: Option<&'static str>| {
        sse(&Chunk {
            id: &id,
            object: "chat.completion.chunk",
            created: CREATED,
            model,
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
            }],
            usage: include_usage.then_some(None),
        })
    };
    let mut events = Vec::new();
    match &reply.content {
        Content::Text(tokens) => {
            events.push(Event::other(chunk(
                Delta {
                    role: Some("assistant"),
                    content: Some(Some("")),
                    ..Delta::default()
                },
                None,
            )));
            for token in tokens {
                let delta = Delta {
                    content: Some(Some(token)),
                    ..Delta::default()
                };
                events.push(Event::token(chunk(delta, None)));
            }
        }
        Content::Tools(calls) => {
            for (index, call) in calls.iter().enumerate() {
                let first = index == 0;
                let head = ToolDelta {
                    index,
                    id: Some(reply.tool_id("call_", index)),
                    kind: Some("function"),
                    function: FunctionDelta {
                        name: Some(&call.name),
                        arguments: "",
                    },
                };
                let delta = Delta {
                    role: first.then_some("assistant"),
                    content: first.then_some(None),
                    tool_calls: vec![head],
                };
                events.push(Event::other(chunk(delta, None)));
                for fragment in &call.fragments {
                    let tool_calls = vec![ToolDelta {
                        index,
                        id: None,
                        kind: None,
                        function: FunctionDelta {
                            name: None,
                            arguments: fragment,
                        },
                    }];
                    let delta = Delta {
                        tool_calls,
                        ..Delta::default()
                    };
                    events.push(Event::token(chunk(delta, None)));
                }
            }
        }
    }
    events.push(Event::other(chunk(
        Delta::default(),
        Some(finish_reason(reply)),
    )));
    finish_stream(
        &mut events,
        &id,
        "chat.completion.chunk",
        model,
        reply,
        include_usage,
    );
    events
}

/// Ends a stream: the usage chunk (with `include_usage`), then `data: [DONE]`.
pub(crate) fn finish_stream(
    events: &mut Vec<Event>,
    id: &str,
    object: &'static str,
    model: &str,
    reply: &Reply,
    include_usage: bool,
) {
    if include_usage {
        events.push(Event::other(sse(&Chunk::<ChunkChoice<'_>> {
            id,
            object,
            created: CREATED,
            model,
            choices: Vec::new(),
            usage: Some(Some(Usage::of(reply))),
        })));
    }
    events.push(Event::other("data: [DONE]\n\n".to_owned()));
}

/// One SSE `data:` event.
pub(crate) fn sse<T: Serialize>(value: &T) -> String {
    format!("data: {}\n\n", to_json(value))
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// An OpenAI error body `{"error":{"message","type","param","code"}}`.
pub(crate) fn encode_error(error: &ErrorReply) -> String {
    let detail = |message: &str, kind: &str, param: Option<&str>, code: Option<&str>| {
        to_json(&ErrorBody {
            error: ErrorDetail {
                message,
                kind,
                param,
                code,
            },
        })
    };
    match error {
        ErrorReply::Failure(Failure::Internal) => detail(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
        ErrorReply::Failure(Failure::Unavailable) => detail(
            "The server is overloaded or not ready yet.",
            "server_error",
            None,
            None,
        ),
        ErrorReply::Failure(Failure::ContextLength) => detail(
            "This model's maximum context length is 128000 tokens. However, your messages \
             resulted in 128001 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            Some("messages"),
            Some("context_length_exceeded"),
        ),
        ErrorReply::Failure(Failure::RateLimited { retry_after_secs }) => detail(
            &format!("Rate limit reached for requests. Please try again in {retry_after_secs}s."),
            "requests",
            None,
            Some("rate_limit_exceeded"),
        ),
        ErrorReply::BadRequest(message) => detail(message, "invalid_request_error", None, None),
        ErrorReply::NotFound(message) | ErrorReply::MethodNotAllowed(message) => {
            detail(message, "invalid_request_error", None, Some("unknown_url"))
        }
        ErrorReply::TooLarge => detail(
            "The request body is too large for the mock upstream.",
            "invalid_request_error",
            None,
            None,
        ),
        ErrorReply::PrefillRefused => detail(
            PREFILL_REFUSED,
            "invalid_request_error",
            Some("messages"),
            None,
        ),
    }
}
