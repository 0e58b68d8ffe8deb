//! OpenAI legacy completions (`/v1/completions`, `object: "text_completion"`) of the mock,
//! JSON and SSE.
//!
//! Pure; shares the completion, chunk and usage types of `openai`.

use serde::Serialize;
use serde_json::Value;

use super::openai::{Chunk, Completion, Usage, finish_stream, sse};
use super::reply::{CREATED, Content, Prompt, Reply, text_of, to_json};
use super::stream::Event;

/// Reads a legacy completions request: the prompt (string or array of strings).
pub(crate) fn decode_request(body: &Value) -> Prompt {
    let prompt = body.get("prompt").map(text_or_strings).unwrap_or_default();
    Prompt {
        chars: prompt.chars().count(),
        last_user_text: prompt,
        tools: Vec::new(),
        prefill: None,
    }
}

fn text_or_strings(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        other => text_of(other),
    }
}

#[derive(Serialize)]
struct TextChoice<'a> {
    text: &'a str,
    index: u32,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

/// A legacy text completion (`object: "text_completion"`).
pub(crate) fn encode_response(reply: &Reply, model: &str) -> String {
    let text = reply.text();
    to_json(&Completion {
        id: &format!("cmpl-{}", reply.id),
        object: "text_completion",
        created: CREATED,
        model,
        choices: vec![TextChoice {
            text: &text,
            index: 0,
            logprobs: None,
            finish_reason: Some("stop"),
        }],
        usage: Usage::of(reply),
    })
}

/// The SSE events of a streamed legacy completion, `data: [DONE]` included.
pub(crate) fn encode_stream(reply: &Reply, model: &str, include_usage: bool) -> Vec<Event> {
    let id = format!("cmpl-{}", reply.id);
    let chunk = |text: &str, finish: Option<&'static str>| {
        sse(&Chunk {
            id: &id,
            object: "text_completion",
            created: CREATED,
            model,
            choices: vec![TextChoice {
                text,
                index: 0,
                logprobs: None,
                finish_reason: finish,
            }],
            usage: include_usage.then_some(None),
        })
    };
    let mut events = Vec::new();
    if let Content::Text(tokens) = &reply.content {
        events.extend(tokens.iter().map(|t| Event::token(chunk(t, None))));
    }
    events.push(Event::other(chunk("", Some("stop"))));
    finish_stream(
        &mut events,
        &id,
        "text_completion",
        model,
        reply,
        include_usage,
    );
    events
}
