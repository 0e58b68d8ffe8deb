//! OpenAI's wire shapes the gateway reads: the stream chunk ([`Chunk`], read by the stream
//! decoder and the same-format pass-through alike) and the `usage` object (responses and
//! chunks), read into the IR's one [`Usage`] type; a whole response's `usage` through the
//! scanner, serde reading what it declines. Pure.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::translate::ir::Usage;
use crate::translate::scan::{self, Invalid, Scanner};

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

/// `usage` of an OpenAI-format JSON response body, if it has one. Read with the scanner
/// (the rest of the body skipped, not deserialized); serde reads what it declines, so both
/// give the same answer.
pub fn usage_of_json(body: &[u8]) -> Option<Usage> {
    if let Ok(text) = std::str::from_utf8(body)
        && let Ok(usage) = scan_usage(text)
    {
        return usage;
    }
    serde_json::from_slice::<WithUsage>(body)
        .ok()?
        .usage
        .map(Usage::from)
}

/// The top-level `usage` of a response object; a repeated key is left to serde (which
/// refuses it).
fn scan_usage(text: &str) -> scan::Result<Option<Usage>> {
    let mut s = Scanner::new(text);
    let mut members = s.object()?;
    let mut usage = None;
    let mut seen = false;
    while let Some(key) = s.key(&mut members)? {
        if key != "usage" {
            s.skip()?;
            continue;
        }
        if std::mem::replace(&mut seen, true) {
            return Err(Invalid);
        }
        if !s.null() {
            usage = Some(scan_usage_object(&mut s)?);
        }
    }
    s.end()?;
    Ok(usage)
}

/// OpenAI's `usage` object: the token counts, any other member skipped.
fn scan_usage_object(s: &mut Scanner<'_>) -> scan::Result<Usage> {
    let mut usage = Usage::default();
    let mut seen = [false; 3];
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        let slot = match &*key {
            "prompt_tokens" => 0,
            "completion_tokens" => 1,
            "prompt_tokens_details" => 2,
            _ => {
                s.skip()?;
                continue;
            }
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(Invalid);
        }
        match slot {
            0 => usage.input_tokens = s.unsigned()?,
            1 => usage.output_tokens = s.unsigned()?,
            _ if s.null() => {}
            _ => usage.cached_input_tokens = scan_cached(s)?,
        }
    }
    Ok(usage)
}

/// `prompt_tokens_details.cached_tokens` (0 when absent or null).
fn scan_cached(s: &mut Scanner<'_>) -> scan::Result<u64> {
    let mut cached = None;
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        if key != "cached_tokens" {
            s.skip()?;
            continue;
        }
        if cached.is_some() {
            return Err(Invalid);
        }
        cached = Some(if s.null() { 0 } else { s.unsigned()? });
    }
    Ok(cached.unwrap_or(0))
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

    #[test]
    fn the_scanner_reads_usage_as_serde_does() {
        let serde = |b: &str| {
            serde_json::from_slice::<WithUsage>(b.as_bytes())
                .ok()
                .and_then(|w| w.usage)
                .map(Usage::from)
        };
        let cases = [
            r#"{"id":"x","choices":[{"message":{"content":"\"usage\":{}"}}],"usage":{"prompt_tokens":7,"completion_tokens":6,"total_tokens":13},"system_fingerprint":"fp"}"#,
            r#"{"usage":{"prompt_tokens":1,"prompt_tokens_details":{"cached_tokens":null,"audio_tokens":0}}}"#,
            r#"{"usage":{"prompt_tokens_details":null,"completion_tokens":2}}"#,
            r#"{"usage":{"prompt_tokens_details":{"cached_tokens":5}}}"#,
            r#"{"usage":null}"#,
            r#"{"a":{"usage":{"prompt_tokens":9}}}"#,
            r#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
            r#"{"usage":{"prompt_tokens":1,"prompt_tokens":2}}"#,
            r#"{"usage":{"prompt_tokens":1.0}}"#,
            r#"{"usage":{"prompt_tokens":null}}"#,
            r#"{"usage":{"prompt_tokens":-1}}"#,
            r#"{"usage":{"prompt_tokens":1}} x"#,
            r#"{"usage":{"prompt_tokens":1},}"#,
            r#"[{"prompt_tokens":1}]"#,
            r#"  {"usage" : { "completion_tokens" : 3 } }  "#,
            r#"{"usage":{"completion_tokens":18446744073709551616}}"#,
            "",
        ];
        for case in cases {
            assert_eq!(usage_of_json(case.as_bytes()), serde(case), "{case}");
        }
    }
}
