//! The mock's canonical reply: what it answers, independent of the wire format.
//!
//! Pure: a format module decodes its request into a [`Prompt`], [`build`] turns the prompt and
//! the [`Behaviour`] into a [`Reply`] (text tokens or tool calls, usage, a deterministic id
//! derived from the request body hash), and the format module encodes the reply as JSON or as
//! stream events. Nothing here does I/O or reads a clock.
//!
//! A prompt ending with an assistant message (a prefill, text `P`) is answered, by default,
//! with the continuation a model would give: the full reply `A` built without the prefill,
//! less `P` (or `P` without trailing whitespace) at its front, in `A`'s token boundaries
//! ([`continuation`]); a reply that does not start with it is sent whole.

use super::behaviour::{Behaviour, DEFAULT_TOKENS, Failure, Kind, Prefill};

/// What the mock needs from a request, whatever its format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prompt {
    /// Text of the last user message (its text parts concatenated).
    pub last_user_text: String,
    /// Characters of all prompt text (system, messages, tool results), for usage.
    pub chars: usize,
    /// Names of the tools the request offers, in order.
    pub tools: Vec<String>,
    /// Text of the conversation's last message when it is the assistant's and holds text
    /// only: the prefill the answer continues.
    pub prefill: Option<String>,
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
            prefill: None,
        }
    }
}

/// The prefill of a conversation: the text of its last turn when `is_assistant` says it is the
/// assistant's and `text_only` finds only text in it.
pub(crate) fn trailing_prefill(
    turns: &[serde_json::Value],
    is_assistant: impl Fn(&serde_json::Value) -> bool,
    text_only: impl Fn(&serde_json::Value) -> Option<String>,
) -> Option<String> {
    turns.last().filter(|t| is_assistant(t)).and_then(text_only)
}

/// The text of a content value made of text only: a string, or a non-empty array of parts
/// that each carry a string `text` and, if typed, are of type `text`. `None` otherwise (tool
/// calls, images, thinking blocks, absent content).
pub(crate) fn text_only(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(parts) if !parts.is_empty() => parts
            .iter()
            .map(|p| {
                let typed = p.get("type").and_then(serde_json::Value::as_str);
                match (typed, p.get("text").and_then(serde_json::Value::as_str)) {
                    (None | Some("text"), Some(text)) => Some(text),
                    _ => None,
                }
            })
            .collect(),
        _ => None,
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

/// Builds the reply for a request that is answered normally (not a `fail-*` or `hang`);
/// `hit` is the request's ordinal for its model string (used by `vary=1`).
pub(crate) fn build(
    behaviour: &Behaviour,
    prompt: &Prompt,
    body_sha256_hex: &str,
    hit: u64,
) -> Reply {
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
            let tag = if behaviour.vary {
                format!("h{hit}")
            } else {
                String::new()
            };
            let token = |i: usize| {
                if i + 1 == n {
                    format!("{tag}tok{i}")
                } else {
                    format!("{tag}tok{i} ")
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
            if behaviour.vary {
                let first = words.first().map(String::as_str).unwrap_or_default();
                let tagged = format!("h{hit} {first}");
                match words.first_mut() {
                    Some(word) => *word = tagged,
                    None => words.push(tagged),
                }
            }
            Content::Text(words)
        }
    };
    let content = match (content, &prompt.prefill, behaviour.prefill) {
        (Content::Text(tokens), Some(prefill), Prefill::Continue) => {
            Content::Text(continuation(tokens, prefill))
        }
        (content, _, _) => content,
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
    let fragments = fragments(&arguments);
    ToolCall {
        name,
        arguments,
        fragments,
    }
}

/// Cuts tool-call arguments into stream fragments of [`FRAGMENT_CHARS`] characters, but into
/// at least two when there are two characters or more, so a stream can always be cut in the
/// middle of a call's arguments (`cut=1`).
fn fragments(arguments: &str) -> Vec<String> {
    let chars: Vec<char> = arguments.chars().collect();
    let size = FRAGMENT_CHARS.min(chars.len().div_ceil(2)).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// The tokens a model sends to continue `prefill` when its full answer is `tokens`: the
/// answer less `prefill` at its front (or, failing that, less `prefill` without trailing
/// whitespace, which a gateway strips as Anthropic requires), keeping the answer's token
/// boundaries, so the first token may be the tail of one. An answer that starts with neither
/// is returned whole: the model went its own way.
pub(crate) fn continuation(tokens: Vec<String>, prefill: &str) -> Vec<String> {
    let answer = tokens.concat();
    let skip = [prefill, prefill.trim_end()]
        .into_iter()
        .find(|p| answer.starts_with(p))
        .map_or(0, str::len);
    let mut left = skip;
    tokens
        .into_iter()
        .filter_map(|token| {
            if left == 0 {
                Some(token)
            } else if left >= token.len() {
                left -= token.len();
                None
            } else {
                // `skip` ends on a character boundary of the answer, so within this token too.
                let tail = token.get(left..).unwrap_or_default().to_owned();
                left = 0;
                Some(tail)
            }
        })
        .collect()
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
    /// The conversation ends with an assistant message and the model takes no prefill
    /// (`prefill=refuse`).
    PrefillRefused,
}

/// The message of [`ErrorReply::PrefillRefused`], in every format.
pub(crate) const PREFILL_REFUSED: &str = "This model does not support assistant message \
     prefill. The conversation must end with a user message.";

impl ErrorReply {
    /// HTTP status of the answer.
    pub(crate) fn status(&self) -> u16 {
        match self {
            ErrorReply::Failure(f) => f.status(),
            ErrorReply::BadRequest(_) | ErrorReply::PrefillRefused => 400,
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
            | ErrorReply::PrefillRefused
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
            prefill: None,
        };
        let hash = "ab".repeat(32);
        let echo = build(&Behaviour::parse("echo"), &prompt, &hash, 1);
        assert_eq!(echo.text(), "say it back");
        assert_eq!((echo.prompt_tokens, echo.completion_tokens), (8, 3));
        assert_eq!(echo.id.len(), 24);
        let capped = build(&Behaviour::parse("echo;n=2"), &prompt, &hash, 1);
        assert_eq!(capped.text(), "say it ");
        let tokens = build(&Behaviour::parse("tokens;n=3"), &prompt, &hash, 1);
        assert_eq!(tokens.text(), "tok0 tok1 tok2");
        assert_eq!(tokens.completion_tokens, 3);
        let tools = build(&Behaviour::parse("parallel-tool-calls"), &prompt, &hash, 1);
        let Content::Tools(calls) = &tools.content else {
            unreachable!("parallel-tool-calls gives tool calls")
        };
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "lookup");
        assert_eq!(calls[1].arguments, r#"{"location":"Tokyo"}"#);
        assert_eq!(calls[0].fragments.concat(), calls[0].arguments);
        let default_tool = build(&Behaviour::parse("tool-call"), &Prompt::default(), &hash, 1);
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

    fn toks(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn continuation_keeps_the_answer_token_boundaries() {
        let answer = toks(&["tok0 ", "tok1 ", "tok2"]);
        let cont = |p: &str| continuation(answer.clone(), p);
        assert_eq!(
            cont(""),
            answer,
            "an empty prefill continues from the start"
        );
        assert_eq!(
            cont("tok0 "),
            toks(&["tok1 ", "tok2"]),
            "on a token boundary"
        );
        assert_eq!(cont("tok0 to"), toks(&["k1 ", "tok2"]), "mid-token");
        assert_eq!(cont("t"), toks(&["ok0 ", "tok1 ", "tok2"]));
        assert_eq!(
            cont("tok0 tok1 tok2"),
            Vec::<String>::new(),
            "all delivered"
        );
        // A gateway strips the trailing whitespace of a prefill; the model sends it back.
        assert_eq!(cont("tok0 tok1"), toks(&[" ", "tok2"]));
        assert_eq!(
            cont("tok0 tok1 \n"),
            toks(&[" ", "tok2"]),
            "whitespace the answer lacks"
        );
        assert_eq!(cont("other"), answer, "a different start: sent whole");
        assert_eq!(cont("tok0 tok1 tok2 and more"), answer);
        let multibyte = toks(&["é ", "ü"]);
        assert_eq!(continuation(multibyte, "é"), toks(&[" ", "ü"]));
    }

    #[test]
    fn trailing_assistant_text_is_the_prefill() {
        let is_assistant = |m: &serde_json::Value| m["role"] == "assistant";
        let content = |m: &serde_json::Value| m.get("content").and_then(text_only);
        let turns = serde_json::json!([
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
        ]);
        let turns = turns.as_array().map(Vec::as_slice).unwrap_or_default();
        assert_eq!(
            trailing_prefill(turns, is_assistant, content),
            Some("ab".into())
        );
        assert_eq!(trailing_prefill(&turns[..1], is_assistant, content), None);
        for not_text in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!([{"type": "tool_use", "id": "t", "name": "f", "input": {}}]),
            serde_json::json!([{"type": "text", "text": "a"}, {"type": "image"}]),
            serde_json::json!([{"type": "thinking", "thinking": "hmm", "text": "x"}]),
        ] {
            assert_eq!(text_only(&not_text), None, "{not_text}");
        }
        assert_eq!(
            text_only(&serde_json::json!([{"text": "g"}])),
            Some("g".into())
        );
    }

    #[test]
    fn prefill_modes_shape_the_reply() {
        let hash = "cd".repeat(32);
        let prompt = Prompt {
            last_user_text: "one two three".into(),
            chars: 20,
            tools: Vec::new(),
            prefill: Some("one tw".into()),
        };
        let go = build(&Behaviour::parse("echo"), &prompt, &hash, 1);
        assert_eq!(go.content, Content::Text(toks(&["o ", "three"])));
        assert_eq!((go.prompt_tokens, go.completion_tokens), (5, 2));
        let ignore = build(&Behaviour::parse("echo;prefill=ignore"), &prompt, &hash, 1);
        assert_eq!(ignore.text(), "one two three");
        assert_eq!(ignore.completion_tokens, 3);
        let tokens = Prompt {
            prefill: Some("tok0 tok1 ".into()),
            ..prompt.clone()
        };
        let rest = build(&Behaviour::parse("tokens;n=4"), &tokens, &hash, 1);
        assert_eq!(rest.content, Content::Text(toks(&["tok2 ", "tok3"])));
        // Tool calls do not start with a text prefill: sent whole.
        let tools = build(&Behaviour::parse("tool-call"), &tokens, &hash, 1);
        assert!(matches!(tools.content, Content::Tools(ref c) if c.len() == 1));
    }

    #[test]
    fn vary_tags_the_first_token_with_the_hit() {
        let hash = "ef".repeat(32);
        let prompt = Prompt {
            last_user_text: "say it".into(),
            chars: 6,
            tools: Vec::new(),
            prefill: None,
        };
        let t2 = build(&Behaviour::parse("tokens;n=2;vary=1"), &prompt, &hash, 2);
        assert_eq!(t2.content, Content::Text(toks(&["h2tok0 ", "h2tok1"])));
        let e3 = build(&Behaviour::parse("echo;vary=1"), &prompt, &hash, 3);
        assert_eq!(e3.content, Content::Text(toks(&["h3 say ", "it"])));
        let e4 = build(&Behaviour::parse("echo;vary=1"), &prompt, &hash, 4);
        assert_ne!(e3.content, e4.content);
        let empty = build(
            &Behaviour::parse("echo;vary=1"),
            &Prompt::default(),
            &hash,
            1,
        );
        assert_eq!(empty.text(), "h1 ");
        // A prefill delivered by hit 1 is not the start of hit 2's answer: sent whole.
        let again = Prompt {
            prefill: Some("h1tok0 h1to".into()),
            ..prompt
        };
        let t = build(&Behaviour::parse("tokens;n=2;vary=1"), &again, &hash, 2);
        assert_eq!(t.text(), "h2tok0 h2tok1");
        let t = build(&Behaviour::parse("tokens;n=2;vary=1"), &again, &hash, 1);
        assert_eq!(t.content, Content::Text(toks(&["k1"])));
    }

    #[test]
    fn tool_arguments_always_have_a_middle() {
        assert_eq!(fragments(r#"{"location":"Paris"}"#).len(), 4);
        assert_eq!(fragments("{}"), toks(&["{", "}"]));
        assert_eq!(fragments("{\"a\"}"), toks(&["{\"a", "\"}"]));
        assert_eq!(fragments("x"), toks(&["x"]));
        assert!(fragments("").is_empty());
    }
}
