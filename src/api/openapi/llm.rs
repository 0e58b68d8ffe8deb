//! The LLM endpoints in the document: OpenAI's and Anthropic's request and answer shapes, as
//! far as the gateway reads or writes them (every other field is passed to the provider as the
//! caller sent it, so the schemas allow more).

use serde_json::Value;
use utoipa::ToSchema;

use super::ops::{Answer, Body, Spec};
use super::registry::reg;

/// The spec of the LLM endpoint labelled `label` (`ENDPOINTS`).
pub(super) fn describe(label: &str) -> Spec {
    let (id, summary, about, body, answer): (_, _, _, Body, Answer) = match label {
        "chat_completions" => (
            "chat_completions",
            "Chat Completions (OpenAI format)",
            "Served by the provider and model routing picks for `model` (a name, an alias, a pool, `provider/model`, or `auto`), translated to and from the provider's format, streamed as server-sent events with `stream: true`. Routing headers: `x-routing-profile`, `x-data-classification`, `x-gateway-max-cost-usd`; `Idempotency-Key` replays a stored answer; `Cache-Control: no-cache` skips the cache.",
            Body::Json(reg::<ChatRequest>, true),
            Answer::JsonOrStream(
                reg::<ChatCompletion>,
                "`data: {chat.completion.chunk}` events, then `data: [DONE]`.",
            ),
        ),
        "messages" => (
            "messages",
            "Messages (Anthropic format)",
            "Anthropic's Messages API in front of every provider; errors come in Anthropic's shape. Keys may come as `x-api-key`.",
            Body::Json(reg::<MessagesRequest>, true),
            Answer::JsonOrStream(
                reg::<Message>,
                "Anthropic's events: `message_start`, `content_block_*`, `message_delta`, `message_stop`.",
            ),
        ),
        "completions" => (
            "completions",
            "Completions (legacy OpenAI format)",
            "",
            Body::Json(reg::<CompletionRequest>, true),
            Answer::JsonOrStream(
                reg::<ProviderAnswer>,
                "`data: {text_completion}` events, then `data: [DONE]`.",
            ),
        ),
        "embeddings" => (
            "embeddings",
            "Embeddings",
            "",
            Body::Json(reg::<EmbeddingsRequest>, true),
            Answer::Json(200, reg::<ProviderAnswer>),
        ),
        "moderations" => (
            "moderations",
            "Moderations",
            "Passed to the OpenAI-format provider serving `model`.",
            Body::Json(reg::<ProviderRequest>, true),
            Answer::Json(200, reg::<ProviderAnswer>),
        ),
        "images_generations" => (
            "images_generations",
            "Image generations",
            "Passed to the OpenAI-format provider serving `model`.",
            Body::Json(reg::<ProviderRequest>, true),
            Answer::Json(200, reg::<ProviderAnswer>),
        ),
        _ => (
            "responses",
            "Responses (OpenAI format)",
            "OpenAI's Responses API; bridged to Chat Completions or Messages for providers without it.",
            Body::Json(reg::<ResponsesRequest>, true),
            Answer::JsonOrStream(
                reg::<ProviderAnswer>,
                "Responses API events (`response.created`, `response.output_text.delta`, …, `response.completed`).",
            ),
        ),
    };
    Spec {
        id,
        summary,
        about,
        tag: "LLM",
        param: "",
        query: &[],
        body,
        answer,
        answered: "The provider's answer in the caller's format (with `x-request-id`).",
        errors: &[
            (
                400,
                "Malformed JSON, an unknown field value, or a request no provider can take.",
            ),
            (402, "The key's or team's budget is spent (`kind: budget`)."),
            (404, "No provider serves `model`."),
            (
                413,
                "The body, or the prompt for every context window, is too large.",
            ),
            (
                429,
                "A rate limit (`X-Gateway-Limit-Kind`) or provider quota.",
            ),
            (502, "Every provider in the chain failed."),
        ],
    }
}

/// A chat message.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ChatMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    #[schema(example = "user")]
    role: String,
    /// A string, or an array of content parts (`text`, `image_url`, …).
    content: Option<Value>,
    name: Option<String>,
    /// The assistant's tool calls.
    tool_calls: Option<Vec<Value>>,
    /// The call a `tool` message answers.
    tool_call_id: Option<String>,
}

/// `POST /v1/chat/completions`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ChatRequest {
    /// A model name, alias, pool, `provider/model`, or `auto`.
    #[schema(example = "gpt-4o-mini")]
    model: String,
    messages: Vec<ChatMessage>,
    stream: Option<bool>,
    /// `{"include_usage": true}` adds a usage chunk at the end of a stream.
    stream_options: Option<Value>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    /// A string or up to four strings.
    stop: Option<Value>,
    /// Function tools: `{"type": "function", "function": {name, description, parameters}}`.
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
    /// `{"type": "json_object"}` or `{"type": "json_schema", ...}`.
    response_format: Option<Value>,
    user: Option<String>,
}

/// A chat completion choice.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ChatChoice {
    index: u32,
    message: ChatMessage,
    /// `stop`, `length`, `tool_calls` or `content_filter`.
    finish_reason: Option<String>,
}

/// Token counts.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ChatUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// A chat completion (`stream: false`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ChatCompletion {
    id: String,
    #[schema(example = "chat.completion")]
    object: String,
    created: u64,
    model: String,
    choices: Vec<ChatChoice>,
    usage: Option<ChatUsage>,
}

/// `POST /v1/messages`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct MessagesRequest {
    #[schema(example = "claude-3-5-haiku-latest")]
    model: String,
    #[schema(example = 256)]
    max_tokens: u32,
    /// `{"role": "user"|"assistant", "content": string or blocks}`.
    messages: Vec<Value>,
    /// A string or text blocks.
    system: Option<Value>,
    stream: Option<bool>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop_sequences: Option<Vec<String>>,
    /// `{"name", "description", "input_schema"}`.
    tools: Option<Vec<Value>>,
    tool_choice: Option<Value>,
}

/// A message (`stream: false`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct Message {
    id: String,
    #[schema(example = "message")]
    r#type: String,
    #[schema(example = "assistant")]
    role: String,
    /// `text` and `tool_use` blocks.
    content: Vec<Value>,
    model: String,
    stop_reason: Option<String>,
    /// `{"input_tokens", "output_tokens"}`.
    usage: Value,
}

/// `POST /v1/completions`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct CompletionRequest {
    model: String,
    /// A string or strings.
    prompt: Value,
    stream: Option<bool>,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
}

/// `POST /v1/embeddings`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct EmbeddingsRequest {
    model: String,
    /// A string or strings (or token arrays).
    input: Value,
    encoding_format: Option<String>,
    dimensions: Option<u32>,
}

/// `POST /v1/responses`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ResponsesRequest {
    model: String,
    /// A string or input items.
    input: Value,
    instructions: Option<String>,
    stream: Option<bool>,
    max_output_tokens: Option<u32>,
    tools: Option<Vec<Value>>,
}

/// A request passed to the provider as sent (`model` picks the provider).
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ProviderRequest {
    model: String,
}

/// The provider's answer in OpenAI's format for this operation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct ProviderAnswer {
    id: Option<String>,
    object: Option<String>,
    model: Option<String>,
}
