//! Token usage read from OpenAI-format response bodies, and its cost. Pure.
//! (Streams: `crate::passthrough` and `crate::translate::StreamTranslator` read usage.)

use serde::Deserialize;

/// Token counts of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
}

/// OpenAI's `usage` object as it appears on the wire (responses and stream chunks).
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

impl WireUsage {
    /// Input tokens served from the provider's prompt cache.
    pub fn cached(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0)
    }
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_tokens: u.cached(),
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

/// Cost in USD of `usage` at the given prices (USD per million tokens).
pub fn cost_usd(usage: &Usage, input_per_mtok: f64, output_per_mtok: f64) -> f64 {
    (usage.prompt_tokens as f64 * input_per_mtok + usage.completion_tokens as f64 * output_per_mtok)
        / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_usage_and_cost() {
        let u = usage_of_json(br#"{"id":"x","usage":{"prompt_tokens":1000000,"completion_tokens":500000,"prompt_tokens_details":{"cached_tokens":3}}}"#).unwrap();
        assert_eq!(u.cached_tokens, 3);
        assert!((cost_usd(&u, 2.5, 10.0) - 7.5).abs() < 1e-9);
        assert_eq!(usage_of_json(b"not json"), None);
    }
}
