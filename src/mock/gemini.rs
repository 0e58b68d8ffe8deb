//! Gemini `generateContent` / `streamGenerateContent` wire format of the mock.
//!
//! Pure. A reply is `candidates[0].content.parts[]` (text or `functionCall`) with
//! `finishReason` and `usageMetadata`. Streamed with `alt=sse`, each chunk is one SSE `data:`
//! event ending in `\r\n\r\n` (as Google's servers send it), `usageMetadata` is cumulative and
//! the last chunk carries `finishReason`; without `alt=sse` the same chunks form a JSON array
//! written element by element.

use serde::Serialize;
use serde_json::Value;

use super::behaviour::Failure;
use super::reply::{
    Content, ErrorReply, PREFILL_REFUSED, Prompt, Reply, array_at, text_of, text_only, to_json,
    trailing_prefill,
};
use super::stream::Event;

/// Reads a request: last user content, prompt size (system instruction included), tools, and
/// the prefill (a last content of role `model` with only text parts).
pub(crate) fn decode_request(body: &Value) -> Prompt {
    let text = |c: &Value| c.get("parts").map(text_of).unwrap_or_default();
    let system = ["systemInstruction", "system_instruction"]
        .iter()
        .find_map(|k| body.get(*k))
        .map(text)
        .unwrap_or_default();
    let tools = array_at(body, "tools")
        .iter()
        .filter_map(|t| {
            t.get("functionDeclarations")
                .or_else(|| t.get("function_declarations"))
        })
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|f| f.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    // A turn without a role is the user's.
    let is_user = |c: &Value| matches!(c.get("role").and_then(Value::as_str), Some("user") | None);
    let contents = array_at(body, "contents");
    let mut prompt = Prompt::of(contents, text, is_user, &system, tools);
    let is_model = |c: &Value| c.get("role").and_then(Value::as_str) == Some("model");
    let parts = |c: &Value| c.get("parts").and_then(text_only);
    prompt.prefill = trailing_prefill(contents, is_model, parts);
    prompt
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    candidates: Vec<Candidate<'a>>,
    usage_metadata: UsageMetadata,
    model_version: &'a str,
    response_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    content: ContentOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'static str>,
    index: u32,
}

#[derive(Serialize)]
struct ContentOut<'a> {
    parts: Vec<Part<'a>>,
    role: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Part<'a> {
    #[serde(rename = "text")]
    Text(&'a str),
    FunctionCall {
        name: &'a str,
        args: Value,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: u64,
    candidates_token_count: u64,
    total_token_count: u64,
}

impl UsageMetadata {
    fn new(prompt: u64, candidates: u64) -> UsageMetadata {
        UsageMetadata {
            prompt_token_count: prompt,
            candidates_token_count: candidates,
            total_token_count: prompt + candidates,
        }
    }
}

/// The parts of a whole reply: its text, or one `functionCall` per tool call.
fn parts<'a>(reply: &'a Reply, text: &'a str) -> Vec<Part<'a>> {
    match &reply.content {
        Content::Text(_) => vec![Part::Text(text)],
        Content::Tools(calls) => calls
            .iter()
            .map(|c| Part::FunctionCall {
                name: &c.name,
                args: serde_json::from_str(&c.arguments).unwrap_or(Value::Null),
            })
            .collect(),
    }
}

fn response<'a>(
    reply: &'a Reply,
    model: &'a str,
    parts: Vec<Part<'a>>,
    finish: bool,
    candidates_tokens: u64,
) -> Response<'a> {
    Response {
        candidates: vec![Candidate {
            content: ContentOut {
                parts,
                role: "model",
            },
            finish_reason: finish.then_some("STOP"),
            index: 0,
        }],
        usage_metadata: UsageMetadata::new(reply.prompt_tokens, candidates_tokens),
        model_version: model,
        response_id: &reply.id,
    }
}

/// A `generateContent` response.
pub(crate) fn encode_response(reply: &Reply, model: &str) -> String {
    let text = reply.text();
    let parts = parts(reply, &text);
    to_json(&response(
        reply,
        model,
        parts,
        true,
        reply.completion_tokens,
    ))
}

/// The chunks of a `streamGenerateContent` response: SSE events with `sse`, else the pieces of
/// one JSON array.
pub(crate) fn encode_stream(reply: &Reply, model: &str, sse: bool) -> Vec<Event> {
    let mut chunks: Vec<String> = Vec::new();
    match &reply.content {
        Content::Text(tokens) if !tokens.is_empty() => {
            for (i, token) in tokens.iter().enumerate() {
                let last = i + 1 == tokens.len();
                let sent = u64::try_from(i + 1).unwrap_or(u64::MAX);
                let chunk = response(reply, model, vec![Part::Text(token)], last, sent);
                chunks.push(to_json(&chunk));
            }
        }
        Content::Text(_) | Content::Tools(_) => {
            let parts = parts(reply, "");
            let chunk = response(reply, model, parts, true, reply.completion_tokens);
            chunks.push(to_json(&chunk));
        }
    }
    let mut events: Vec<Event> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            Event::token(match (sse, i) {
                (true, _) => format!("data: {chunk}\r\n\r\n"),
                (false, 0) => format!("[{chunk}"),
                (false, _) => format!(",\r\n{chunk}"),
            })
        })
        .collect();
    if !sse {
        events.push(Event::other("]".to_owned()));
    }
    events
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: u16,
    message: &'a str,
    status: &'a str,
}

/// A Gemini error body `{"error":{"code","message","status"}}`.
pub(crate) fn encode_error(error: &ErrorReply) -> String {
    let (message, status): (&str, &str) = match error {
        ErrorReply::Failure(Failure::Internal) => (
            "An internal error has occurred. Please retry or report in \
             https://developers.generativeai.google/guide/troubleshooting",
            "INTERNAL",
        ),
        ErrorReply::Failure(Failure::Unavailable) => (
            "The model is overloaded. Please try again later.",
            "UNAVAILABLE",
        ),
        ErrorReply::Failure(Failure::ContextLength) => (
            "The input token count (1048577) exceeds the maximum number of tokens allowed \
             (1048576).",
            "INVALID_ARGUMENT",
        ),
        ErrorReply::Failure(Failure::RateLimited { .. }) => (
            "Resource has been exhausted (e.g. check quota).",
            "RESOURCE_EXHAUSTED",
        ),
        ErrorReply::BadRequest(message) => (message, "INVALID_ARGUMENT"),
        ErrorReply::NotFound(message) => (message, "NOT_FOUND"),
        ErrorReply::MethodNotAllowed(message) => (message, "UNIMPLEMENTED"),
        ErrorReply::TooLarge => (
            "Request payload size exceeds the limit.",
            "INVALID_ARGUMENT",
        ),
        ErrorReply::PrefillRefused => (PREFILL_REFUSED, "INVALID_ARGUMENT"),
    };
    to_json(&ErrorBody {
        error: ErrorDetail {
            code: error.status(),
            message,
            status,
        },
    })
}
