//! The mock's canonical reply: what it answers, independent of the wire format.
//!
//! Pure: a format module decodes its request into a [`Prompt`], [`build`] turns the prompt and
//! the [`Behaviour`] into a [`Reply`] (text tokens or tool calls, usage, a deterministic id
//! derived from the request body hash), and the format module encodes the reply as JSON or as
//! stream events. Nothing here does I/O or reads a clock.

use super::behaviour::{Behaviour, DEFAULT_TOKENS, Failure, Kind};

/// What the mock needs from a request, whatever its format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prompt {
    /// Text of the last user message (its text parts concatenated).
    pub last_user_text: String,
    /// Characters of all prompt text (system, messages, tool results), for usage.
    pub chars: usize,
    /// Names of the tools the request offers, in order.
    pub tools: Vec<String>,
}

impl Prompt {
    /// The prompt of a conversation: `turns` read with `text`, the last turn `is_user` says is
    /// the user's, and `system` counted in the size.
    pub(crate) fn of(
        turns: &[serde_json::Value],
        text: impl Fn(&serde_json::Value) -> String,
        is_user: impl Fn(&serde_json::Value) -> bool,
        system: &str,
        tools: Vec<String>,
    ) -> Prompt {
        let last_user_text = turns
            .iter()
            .rev()
            .find(|t| is_user(t))
            .map(&text)
            .unwrap_or_default();
        let chars =
            system.chars().count() + turns.iter().map(|t| text(t).chars().count()).sum::<usize>();
        Prompt {
            last_user_text,
            chars,
            tools,
        }
    }
}

/// The array at `key` of a JSON object (empty when absent or not an array).
pub(crate) fn array_at<'v>(body: &'v serde_json::Value, key: &str) -> &'v [serde_json::Value] {
    body.get(key)
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Whether a message's `role` is `user`.
pub(crate) fn is_user(m: &serde_json::Value) -> bool {
    m.get("role").and_then(serde_json::Value::as_str) == Some("user")
}

/// One tool call of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ToolCall {
    pub name: String,
    /// Arguments as compact JSON text, e.g. `{"location":"Paris"}`.
    pub arguments: String,
    /// `arguments` cut into the fragments a stream sends; concatenated they give `arguments`.
    pub fragments: Vec<String>,
}

/// What the reply carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Content {
    /// Text tokens; concatenated they give the reply text.
    Text(Vec<String>),
    /// Tool calls.
    Tools(Vec<ToolCall>),
}

/// A reply, ready to be encoded in any format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    /// 24 hex digits of the request body's SHA-256; formats prefix it (`chatcmpl-`, `msg_`).
    pub id: String,
    pub content: Content,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// `created` of every OpenAI object: fixed, so identical requests give identical bytes.
pub(crate) const CREATED: u64 = 1_700_000_000;

/// Bytes per argument fragment when a tool call is streamed.
const FRAGMENT_CHARS: usize = 5;

impl Reply {
    /// The reply text (empty for tool calls).
    pub(crate) fn text(&self) -> String {
        match &self.content {
            Content::Text(tokens) => tokens.concat(),
            Content::Tools(_) => String::new(),
        }
    }

    /// Deterministic id of tool call `index`, with the format's prefix (`call_`, `toolu_`).
    pub(crate) fn tool_id(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}{}{index}", self.id)
    }

    /// `prompt_tokens + completion_tokens`.
    pub(crate) fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// Builds the reply for a request that is answered normally (not a `fail-*` or `hang`).
pub(crate) fn build(behaviour: &Behaviour, prompt: &Prompt, body_sha256_hex: &str) -> Reply {
    let first_tool = || {
        prompt
            .tools
            .first()
            .cloned()
            .unwrap_or_else(|| "get_weather".to_owned())
    };
    let content = match behaviour.kind {
        Kind::Tokens => {
            let n = behaviour.n.unwrap_or(DEFAULT_TOKENS);
            let token = |i: usize| {
                if i + 1 == n {
                    format!("tok{i}")
                } else {
                    format!("tok{i} ")
                }
            };
            Content::Text((0..n).map(token).collect())
        }
        Kind::ToolCall => Content::Tools(vec![tool_call(first_tool(), "Paris")]),
        Kind::ParallelToolCalls => Content::Tools(vec![
            tool_call(first_tool(), "Paris"),
            tool_call(first_tool(), "Tokyo"),
        ]),
        Kind::Echo
        | Kind::Fail(_)
        | Kind::FailThenOk { .. }
        | Kind::StreamCut
        | Kind::Stall
        | Kind::Malformed
        | Kind::Hang
        | Kind::HoldClose => {
            let mut words = split_words(&prompt.last_user_text);
            if let Some(n) = behaviour.n {
                words.truncate(n);
            }
            Content::Text(words)
        }
    };
    let completion_tokens = match &content {
        Content::Text(tokens) => tokens.len(),
        Content::Tools(calls) => calls.iter().map(|c| c.fragments.len()).sum(),
    };
    Reply {
        id: body_sha256_hex.chars().take(24).collect(),
        content,
        prompt_tokens: approx_tokens(prompt.chars),
        completion_tokens: u64::try_from(completion_tokens).unwrap_or(u64::MAX),
    }
}

fn tool_call(name: String, location: &str) -> ToolCall {
    let arguments = serde_json::json!({ "location": location }).to_string();
    let chars: Vec<char> = arguments.chars().collect();
    let fragments = chars
        .chunks(FRAGMENT_CHARS)
        .map(|c| c.iter().collect())
        .collect();
    ToolCall {
        name,
        arguments,
        fragments,
    }
}

/// Prompt tokens for `chars` characters: `ceil(chars / 4)`, at least 1.
pub(crate) fn approx_tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4).max(1)).unwrap_or(u64::MAX)
}

/// Splits text into words, each keeping the whitespace that follows it (leading whitespace
/// stays with the first word), so concatenating the pieces gives back the text exactly.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut prev_ws = false;
    let mut seen_word = false;
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if !ws && prev_ws && seen_word {
            words.push(text[start..i].to_owned());
            start = i;
        }
        seen_word |= !ws;
        prev_ws = ws;
    }
    if start < text.len() {
        words.push(text[start..].to_owned());
    }
    words
}

/// Collects the text of a JSON value that is either a string or an array of parts carrying
/// `text` (OpenAI content parts, Anthropic blocks, Gemini parts).
pub(crate) fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(serde_json::Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// Serialises a wire struct (derived `Serialize` with string keys: cannot fail).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// An error answer, rendered by each format in its own error body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ErrorReply {
    /// A `fail-*` behaviour.
    Failure(Failure),
    /// The body is not what the endpoint takes (e.g. not JSON); says what was wrong.
    BadRequest(String),
    /// No such endpoint; names the method and path.
    NotFound(String),
    /// The endpoint exists but not for this method.
    MethodNotAllowed(String),
    /// The request body is over the mock's limit.
    TooLarge,
}

impl ErrorReply {
    /// HTTP status of the answer.
    pub(crate) fn status(&self) -> u16 {
        match self {
            ErrorReply::Failure(f) => f.status(),
            ErrorReply::BadRequest(_) => 400,
            ErrorReply::NotFound(_) => 404,
            ErrorReply::MethodNotAllowed(_) => 405,
            ErrorReply::TooLarge => 413,
        }
    }

    /// `Retry-After` seconds to send, if any.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            ErrorReply::Failure(Failure::RateLimited { retry_after_secs }) => {
                Some(*retry_after_secs)
            }
            ErrorReply::Failure(
                Failure::Internal | Failure::Unavailable | Failure::ContextLength,
            )
            | ErrorReply::BadRequest(_)
            | ErrorReply::NotFound(_)
            | ErrorReply::MethodNotAllowed(_)
            | ErrorReply::TooLarge => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_whitespace() {
        for text in [
            "",
            "one",
            "Hello, world!",
            "  lead and trail  ",
            "a\n\nb\tc",
            "é ü",
        ] {
            let words = split_words(text);
            assert_eq!(words.concat(), text);
        }
        assert_eq!(split_words("a b  c "), vec!["a ", "b  ", "c "]);
        assert_eq!(split_words("  x y"), vec!["  x ", "y"]);
        assert!(split_words("").is_empty());
    }

    #[test]
    fn usage_is_a_quarter_of_the_characters_at_least_one() {
        assert_eq!(approx_tokens(0), 1);
        assert_eq!(approx_tokens(4), 1);
        assert_eq!(approx_tokens(5), 2);
    }

    #[test]
    fn replies_by_behaviour() {
        let prompt = Prompt {
            last_user_text: "say it back".into(),
            chars: 30,
            tools: vec!["lookup".into()],
        };
        let hash = "ab".repeat(32);
        let echo = build(&Behaviour::parse("echo"), &prompt, &hash);
        assert_eq!(echo.text(), "say it back");
        assert_eq!((echo.prompt_tokens, echo.completion_tokens), (8, 3));
        assert_eq!(echo.id.len(), 24);
        let capped = build(&Behaviour::parse("echo;n=2"), &prompt, &hash);
        assert_eq!(capped.text(), "say it ");
        let tokens = build(&Behaviour::parse("tokens;n=3"), &prompt, &hash);
        assert_eq!(tokens.text(), "tok0 tok1 tok2");
        assert_eq!(tokens.completion_tokens, 3);
        let tools = build(&Behaviour::parse("parallel-tool-calls"), &prompt, &hash);
        let Content::Tools(calls) = &tools.content else {
            unreachable!("parallel-tool-calls gives tool calls")
        };
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "lookup");
        assert_eq!(calls[1].arguments, r#"{"location":"Tokyo"}"#);
        assert_eq!(calls[0].fragments.concat(), calls[0].arguments);
        let default_tool = build(&Behaviour::parse("tool-call"), &Prompt::default(), &hash);
        let Content::Tools(calls) = &default_tool.content else {
            unreachable!("tool-call gives tool calls")
        };
        assert_eq!(calls[0].name, "get_weather");
    }

    #[test]
    fn text_of_json() {
        let parts =
            serde_json::json!([{"type": "text", "text": "a"}, {"type": "image"}, {"text": "b"}]);
        assert_eq!(text_of(&parts), "ab");
        assert_eq!(text_of(&serde_json::json!("plain")), "plain");
    }
}
