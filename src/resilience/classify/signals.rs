//! Recognising what an upstream error body says, whatever its shape.
//!
//! Providers disagree on the error format (OpenAI `{"error":{"message","type","code"}}`,
//! Anthropic `{"type":"error","error":{"type","message"}}`, Gemini
//! `{"error":{"code","message","status"}}`), and proxies in between answer with HTML or plain
//! text. So no shape is assumed: a JSON body contributes its string *values* (keys are left out,
//! so a field named `safetyRatings` is no content-policy signal), anything else its raw text, and
//! the result is searched case-insensitively for the phrases below.

use serde_json::Value;

/// How much of a body is looked at; error bodies are small, and this bounds the cost of a
/// misbehaving upstream sending megabytes.
const MAX_SCAN_BYTES: usize = 64 * 1024;

/// A fact an error body may state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    /// The account's quota, credit or billing is exhausted (not a per-minute limit).
    QuotaExhausted,
    /// The provider is overloaded.
    Overloaded,
    /// The prompt does not fit the model's context window.
    ContextLength,
    /// The request (or its answer) was refused by a content policy.
    ContentPolicy,
}

impl Signal {
    /// Lower-case phrases that state this signal.
    fn phrases(self) -> &'static [&'static str] {
        match self {
            Signal::QuotaExhausted => &[
                "insufficient_quota",
                "exceeded your current quota",
                "billing",
                "credit balance is too low",
                "insufficient credits",
                "insufficient_credits",
            ],
            Signal::Overloaded => &["overloaded"],
            Signal::ContextLength => &[
                "context_length_exceeded",
                "maximum context length",
                "prompt is too long",
                "exceeds the maximum number of tokens",
                "input token count",
                "too many tokens",
                "context window",
                "context length",
                "input is too long",
            ],
            Signal::ContentPolicy => &[
                "content_policy_violation",
                "content management policy",
                "content filtering policy",
                "content_filter",
                "responsibleaipolicyviolation",
                "usage policy",
                "usage policies",
                "safety",
                "flagged",
            ],
        }
    }
}

/// The searchable, lower-cased text of an error body.
pub(super) struct ErrorText {
    lower: String,
}

impl ErrorText {
    pub(super) fn new(body: &[u8]) -> Self {
        let body = &body[..body.len().min(MAX_SCAN_BYTES)];
        let text = match serde_json::from_slice::<Value>(body) {
            Ok(value) => {
                let mut out = String::new();
                collect_strings(&value, &mut out);
                out
            }
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        };
        Self {
            lower: text.to_lowercase(),
        }
    }

    /// Whether the body states `signal`.
    pub(super) fn says(&self, signal: Signal) -> bool {
        signal.phrases().iter().any(|p| self.lower.contains(p))
    }
}

/// Appends every string value of `value`, one per line.
fn collect_strings(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_are_searched_but_not_keys() {
        let t = ErrorText::new(br#"{"safetyRatings":[],"error":{"message":"Bad field"}}"#);
        assert!(!t.says(Signal::ContentPolicy));
        let t = ErrorText::new(br#"{"error":{"message":"Blocked for SAFETY"}}"#);
        assert!(t.says(Signal::ContentPolicy));
    }

    #[test]
    fn non_json_falls_back_to_raw_text() {
        let t = ErrorText::new(b"<html>Upstream OVERLOADED</html>");
        assert!(t.says(Signal::Overloaded));
        let t = ErrorText::new(b"event: error\ndata: {\"type\":\"overloaded_error\"\n");
        assert!(t.says(Signal::Overloaded));
        let t = ErrorText::new(&[0xff, 0xfe, b'x']);
        assert!(!t.says(Signal::Overloaded));
    }

    #[test]
    fn only_the_head_of_a_huge_body_is_scanned() {
        let mut body = vec![b' '; MAX_SCAN_BYTES];
        body.extend_from_slice(b"overloaded");
        assert!(!ErrorText::new(&body).says(Signal::Overloaded));
    }
}
