//! The canonical intermediate representation (T1): every inbound wire format decodes into
//! these types and every provider format encodes from them. Pure data, no I/O.
//!
//! Tool calls are identified by the id the model gave them and ordered by `index`, the
//! ordinal of the call among the tool calls of one response (0, 1, ...), whatever index space
//! a wire format uses for its own blocks.

use serde_json::{Map, Value};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
    /// A message that carries tool results only (OpenAI `role: "tool"`).
    Tool,
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    Url(String),
    Base64 { media_type: String, data: String },
}

/// One piece of message content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Image(ImageSource),
    /// A call the assistant made; `arguments` is JSON text exactly as the model produced it.
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// The result of a call, sent back by the user side.
    ToolResult {
        id: String,
        content: Vec<Part>,
        is_error: bool,
    },
    /// Extended thinking with its signature (kept byte-exact).
    Thinking {
        text: String,
        signature: Option<String>,
    },
    /// Thinking the provider redacted; opaque data.
    RedactedThinking {
        data: String,
    },
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Value,
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    Auto,
    None,
    /// Must call some tool.
    Required,
    /// Must call this tool.
    Tool(String),
}

/// Requested output format.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
    },
}

/// A chat request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    pub model: String,
    /// System prompt parts (text), in order.
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// Whether parallel tool calls are allowed (`None` = provider default).
    pub parallel_tool_calls: Option<bool>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub stop: Vec<String>,
    pub stream: bool,
    pub response_format: Option<ResponseFormat>,
    /// End-user id (`user` / `metadata.user_id`).
    pub user: Option<String>,
    /// Extended thinking budget, when the client asked for thinking.
    pub thinking_budget: Option<u32>,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    StopSequence,
}

/// Token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache (Anthropic).
    pub cache_creation_input_tokens: u64,
}

impl Usage {
    /// The counts of two attempts together.
    #[must_use]
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens + other.input_tokens,
            output_tokens: self.output_tokens + other.output_tokens,
            cached_input_tokens: self.cached_input_tokens + other.cached_input_tokens,
            cache_creation_input_tokens: self.cache_creation_input_tokens
                + other.cache_creation_input_tokens,
        }
    }
}

/// A whole (non-streamed) response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    pub id: String,
    pub model: String,
    pub parts: Vec<Part>,
    pub finish: Option<FinishReason>,
    /// The stop sequence that ended generation, when known.
    pub stop_sequence: Option<String>,
    pub usage: Usage,
    /// Seconds since the epoch, when the provider said.
    pub created: Option<u64>,
}

/// A provider-independent error.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorInfo {
    /// HTTP status the error maps to.
    pub status: u16,
    pub message: String,
    /// The provider's error type/code (`rate_limit_error`, `context_length_exceeded`, ...).
    pub code: Option<String>,
}

/// One event of a streamed response, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The response begins.
    Start { id: String, model: String },
    /// Text appended to the answer.
    TextDelta(String),
    /// Thinking appended.
    ThinkingDelta(String),
    /// The signature of the thinking so far.
    ThinkingSignature(String),
    /// A tool call begins.
    ToolCallStart {
        index: u32,
        id: String,
        name: String,
    },
    /// A fragment of a tool call's JSON arguments.
    ToolCallDelta { index: u32, arguments: String },
    /// Usage so far (the last one wins).
    Usage(Usage),
    /// Generation finished.
    Finish {
        reason: FinishReason,
        stop_sequence: Option<String>,
    },
    /// The provider reported an error mid-stream.
    Error(ErrorInfo),
}

/// Extra fields the decoder did not map, kept for same-format pass-through decisions.
pub type Extra = Map<String, Value>;

impl Response {
    /// The text of the answer (text parts joined).
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Request {
    /// Whether any message carries an image.
    pub fn has_images(&self) -> bool {
        self.messages.iter().any(|m| {
            m.parts.iter().any(|p| match p {
                Part::Image(_) => true,
                Part::ToolResult { content, .. } => {
                    content.iter().any(|c| matches!(c, Part::Image(_)))
                }
                _ => false,
            })
        })
    }

    /// Whether the request needs JSON mode.
    pub fn wants_json(&self) -> bool {
        matches!(
            self.response_format,
            Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
        )
    }
}
