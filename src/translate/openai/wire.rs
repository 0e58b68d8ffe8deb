//! OpenAI's wire shapes the gateway reads: the stream chunk ([`Chunk`], read by the stream
//! decoder and the same-format pass-through alike) and the `usage` object (responses and
//! chunks), read into the IR's one [`Usage`] type; a whole response's `usage` found from its
//! end with the scanner, serde reading what that does not find. Pure.

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

/// `usage` of an OpenAI-format JSON response body, if it has one. A provider writes it at
/// the end, so it is looked for from the end: the last `"usage"` key whose value is followed
/// only by the object's other members and its closing brace is the top-level one (the text
/// before it is not read, so of a body that is not JSON, or that names `usage` twice, the last
/// is taken). Failing that, serde reads the whole body.
pub fn usage_of_json(body: &[u8]) -> Option<Usage> {
    let key = memchr::memmem::rfind(body, b"\"usage\"")?;
    // A response is one object (serde would also read a struct from an array).
    let text = std::str::from_utf8(body).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    if let Some(usage) = usage_from_the_end(text, key) {
        return usage;
    }
    serde_json::from_slice::<WithUsage>(body)
        .ok()?
        .usage
        .map(Usage::from)
}

/// `"usage"` keys tried from the end before the whole body is read.
const TRIED_FROM_THE_END: usize = 4;

/// The top-level `usage` found from the end (`last`: the offset of the last `"usage"`), or
/// `None` when it is not found that way.
fn usage_from_the_end(text: &str, last: usize) -> Option<Option<Usage>> {
    let bytes = text.as_bytes();
    let finder = memchr::memmem::FinderRev::new(b"\"usage\"");
    let mut end = last + 7;
    for _ in 0..TRIED_FROM_THE_END {
        let at = finder.rfind(bytes.get(..end)?)?;
        end = at + 6;
        // A quote after an odd number of backslashes is inside a string.
        let escapes = bytes[..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if escapes % 2 == 1 {
            continue;
        }
        if let Ok(usage) = usage_member(text.get(at..)?) {
            return Some(usage);
        }
    }
    None
}

/// Reads `"usage": value` and then the rest of the object it is a member of, which must end
/// the text: the member belongs to the outermost object.
fn usage_member(text: &str) -> scan::Result<Option<Usage>> {
    let mut s = Scanner::new(text);
    s.string()?;
    s.colon()?;
    let usage = if s.null() {
        None
    } else {
        Some(scan_usage_object(&mut s)?)
    };
    let mut rest = scan::Members::after_one();
    while s.key(&mut rest)?.is_some() {
        s.skip()?;
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
    fn usage_is_read_as_serde_reads_it() {
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
            r#"{"usage":{"prompt_tokens":1,"prompt_tokens":2}}"#,
            r#"{"usage":{"prompt_tokens":1.0}}"#,
            r#"{"usage":{"prompt_tokens":null}}"#,
            r#"{"usage":{"prompt_tokens":-1}}"#,
            r#"{"usage":{"prompt_tokens":1}} x"#,
            r#"{"usage":{"prompt_tokens":1},}"#,
            r#"  {"usage" : { "completion_tokens" : 3 } }  "#,
            r#"{"usage":{"completion_tokens":18446744073709551616}}"#,
            "",
        ];
        for case in cases {
            assert_eq!(usage_of_json(case.as_bytes()), serde(case), "{case}");
        }
    }

    #[test]
    fn usage_is_found_from_the_end_at_the_top_level_only() {
        let tokens = |n: u64| {
            Some(Usage {
                input_tokens: n,
                ..Usage::default()
            })
        };
        for (case, want) in [
            // A nested `usage` after the top-level one, and one inside a string.
            (
                r#"{"usage":{"prompt_tokens":1},"choices":[{"x":{"usage":{"prompt_tokens":2}}}],"note":"\"usage\":{\"prompt_tokens\":3}"}"#,
                tokens(1),
            ),
            // Only nested ones: none at the top.
            (
                r#"{"a":{"usage":{"prompt_tokens":2}},"b":[{"usage":null}]}"#,
                None,
            ),
            // A key that ends in `usage` (an escaped quote before it).
            (
                r#"{"usage":{"prompt_tokens":4},"x\"usage":{"prompt_tokens":5}}"#,
                tokens(4),
            ),
            // The last of two (serde refuses the body; the answer is still read).
            (
                r#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
                tokens(2),
            ),
            (r#"{"id":"x","usage":null}"#, None),
            (r#"[{"usage":{"prompt_tokens":1}}]"#, None),
            // serde would read a struct from an array; a response is an object.
            (r#"[{"prompt_tokens":1}]"#, None),
            (r#"{"usage":{"prompt_tokens":1}"#, None),
        ] {
            assert_eq!(usage_of_json(case.as_bytes()), want, "{case}");
        }
        // More nested `usage` keys after the top-level one than are tried from the end.
        let mut body = String::from(r#"{"usage":{"prompt_tokens":6},"n":["#);
        for i in 0..TRIED_FROM_THE_END + 2 {
            body.push_str(&format!(
                r#"{}{{"usage":{{"prompt_tokens":{i}}}}}"#,
                if i > 0 { "," } else { "" }
            ));
        }
        body.push_str("]}");
        assert_eq!(usage_of_json(body.as_bytes()), tokens(6));
    }

    proptest::proptest! {
        /// Any bytes are read without a panic; of a body serde reads as an object, the
        /// answer is serde's.
        #[test]
        fn usage_is_serdes_whenever_serde_reads_the_body(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "\"usage\"", "\"prompt_tokens\"", "\"prompt_tokens_details\"",
                    "\"cached_tokens\"", "{", "}", "[", "]", ":", ",", "\"a\"", "1", "null",
                    "\\\"", " ", "\"", "\"x\\\"usage\"",
                ]),
                0..48,
            )
        ) {
            let body = parts.concat();
            let got = usage_of_json(body.as_bytes());
            if body.trim_start().starts_with('{')
                && let Ok(w) = serde_json::from_slice::<WithUsage>(body.as_bytes())
            {
                proptest::prop_assert_eq!(got, w.usage.map(Usage::from), "{}", body);
            }
        }
    }

    /// JSON whose keys are often the ones `usage` is read from.
    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<u32>().prop_map(Value::from),
            (-5i64..5).prop_map(Value::from),
            Just(Value::from(1.5)),
            "[a-z\"\\\\ ]{0,6}|\"usage\":|usage".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            let keys = "usage|prompt_tokens|completion_tokens|prompt_tokens_details|cached_tokens|[a-z\"]{0,3}";
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(keys, inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Of any JSON object (keys unique), the answer is serde's.
        #[test]
        fn usage_of_any_object_is_serdes(
            fields in proptest::collection::btree_map(
                "usage|choices|[a-z]{0,3}",
                json(),
                0..5,
            )
        ) {
            let body = serde_json::to_string(&serde_json::Value::Object(fields.into_iter().collect())).unwrap();
            let serde = serde_json::from_slice::<WithUsage>(body.as_bytes())
                .ok()
                .and_then(|w| w.usage)
                .map(Usage::from);
            proptest::prop_assert_eq!(usage_of_json(body.as_bytes()), serde, "{}", body);
        }
    }
}
