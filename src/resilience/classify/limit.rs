//! The context window a provider's context-length error states, when it states one:
//! "maximum context length is 8192 tokens" (OpenAI and OpenAI-compatible servers), "prompt is
//! too long: 208310 tokens > 200000 maximum" (Anthropic), "the maximum number of tokens allowed
//! (1048576)" (Gemini), "context window of 32768 tokens", "limit of 4096 tokens". Pure.

/// Phrases followed (within a few characters) by the limit, lower case.
const BEFORE: &[&str] = &[
    "maximum context length is",
    "maximum number of tokens allowed",
    "context window of",
    "context length of",
    "context window is",
    "limit of",
];

/// Phrases preceded by the limit (`> 200000 maximum`).
const AFTER: &[&str] = &[" maximum"];

/// The limit in tokens an error body states, if it states one.
pub fn stated_context_limit(body: &[u8]) -> Option<u32> {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    for phrase in BEFORE {
        if let Some(at) = text.find(phrase)
            && let Some(n) = number_after(&text[at + phrase.len()..])
        {
            return Some(n);
        }
    }
    for phrase in AFTER {
        for (at, _) in text.match_indices(phrase) {
            if let Some(n) = number_before(&text[..at]) {
                return Some(n);
            }
        }
    }
    None
}

/// The number that starts within the first few characters of `s` (`" (1048576)"`, `" 8,192"`).
fn number_after(s: &str) -> Option<u32> {
    let start = s
        .char_indices()
        .take(4)
        .find(|(_, c)| c.is_ascii_digit())?
        .0;
    parse(
        s[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ','),
    )
}

/// The number that ends `s` (`"... tokens > 200000"`).
fn number_before(s: &str) -> Option<u32> {
    let digits: Vec<char> = s
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .collect();
    parse(digits.into_iter().rev())
}

/// Digits (commas between them ignored) as a positive number of tokens.
fn parse(chars: impl Iterator<Item = char>) -> Option<u32> {
    let digits: String = chars.filter(char::is_ascii_digit).collect();
    digits.parse::<u32>().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_as_providers_state_them() {
        let cases: [(&str, Option<u32>); 8] = [
            (
                r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 128001 tokens."}}"#,
                Some(128_000),
            ),
            (
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#,
                Some(200_000),
            ),
            (
                r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
                Some(1_048_576),
            ),
            (
                "This model has a context window of 32,768 tokens",
                Some(32_768),
            ),
            (
                "Requested 9000 tokens, over the limit of 4096 tokens",
                Some(4096),
            ),
            (r#"{"error":{"message":"context_length_exceeded"}}"#, None),
            ("maximum context length is unknown", None),
            ("", None),
        ];
        for (body, expected) in cases {
            assert_eq!(stated_context_limit(body.as_bytes()), expected, "{body}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = stated_context_limit(&body);
        }
    }
}
