//! OpenAI's wire shapes the gateway reads: the stream chunk ([`Chunk`], read by the stream
//! decoder and the same-format pass-through alike) and the `usage` object (responses and
//! chunks), read into the IR's one [`Usage`] type. Pure.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::translate::ir::Usage;

/// One `chat.completion.chunk` (or legacy `text_completion`) event's data, read shallowly:
/// the fields whose type a reader cares about stay raw JSON. The pass-through only asks whether
/// content is present; the stream decoder reads them strictly (and its fast path, in
/// `stream_fast.rs`, knows these same keys: a known key given twice is refused by both). The
/// stream's `id` and `model` are not here: only the decoder reads them, from the first chunk
/// (`stream.rs`), so the pass-through does not pay for them on every chunk.
#[derive(Deserialize)]
pub(crate) struct Chunk<'a> {
    #[serde(default, borrow)]
    pub choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default, borrow)]
    pub error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct Choice<'a> {
    #[serde(default, borrow)]
    pub delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    pub finish_reason: Option<&'a RawValue>,
    /// Legacy completions stream text here.
    #[serde(default, borrow)]
    pub text: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(crate) struct Delta<'a> {
    #[serde(default, borrow)]
    pub content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub tool_calls: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub reasoning_content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub refusal: Option<&'a RawValue>,
}

/// OpenAI's `usage` object.
#[derive(Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
pub(crate) struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cached_input_tokens: u
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_creation_input_tokens: 0,
        }
    }
}

#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// `usage` of an OpenAI-format JSON response body, if it has one.
pub fn usage_of_json(body: &[u8]) -> Option<Usage> {
    serde_json::from_slice::<WithUsage>(body)
        .ok()?
        .usage
        .map(Usage::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_usage() {
        let u = usage_of_json(br#"{"id":"x","usage":{"prompt_tokens":1000000,"completion_tokens":500000,"prompt_tokens_details":{"cached_tokens":3}}}"#).unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cached_input_tokens),
            (1_000_000, 500_000, 3)
        );
        assert_eq!(usage_of_json(b"not json"), None);
    }
}
