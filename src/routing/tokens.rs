//! Approximate prompt token counts before a call (R10, R11). Two estimates:
//!
//! - [`rough`]: four bytes a token, free; ranks models by cost.
//! - [`counted`]: OpenAI's o200k_base tokenizer (GPT-4o, GPT-4.1, GPT-5, o-series) over the
//!   request body. Exact for the text of OpenAI-family models, plus the JSON framing (a few
//!   tokens a message, about what OpenAI adds per message anyway). Other families tokenize
//!   differently; [`family_factor`] scales the count (Claude's tokenizer yields about 1.2×
//!   o200k's count on English text, Llama's and Mistral's about 1.1×, Gemini's about the
//!   same): expect an error of up to ±20 % for them.
//!
//! Bodies over [`COUNTED_BYTES`] are counted on their first part and scaled by length, so a
//! huge body costs a bounded time. Pure (the tokenizer's tables load on first use).

use std::sync::LazyLock;

use tiktoken_rs::CoreBPE;

use crate::config::ProviderType;

/// The longest prefix of a body the tokenizer reads.
pub const COUNTED_BYTES: usize = 256 * 1024;

static O200K: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::o200k_base().ok());

/// Four bytes a token (at least 1).
pub fn rough(body: &[u8]) -> u64 {
    (body.len() as u64).div_ceil(4).max(1)
}

/// The o200k_base token count of `body` (a prefix of a huge body, scaled by length); the
/// rough count if the tokenizer could not load or the body is not UTF-8.
pub fn counted(body: &[u8]) -> u64 {
    let Some(bpe) = O200K.as_ref() else {
        return rough(body);
    };
    let cut = floor_char_boundary(body, COUNTED_BYTES);
    let Ok(text) = std::str::from_utf8(&body[..cut]) else {
        return rough(body);
    };
    let n = bpe.encode_ordinary(text).len() as u64;
    if cut == body.len() || cut == 0 {
        n.max(1)
    } else {
        (n as f64 * body.len() as f64 / cut as f64).ceil() as u64
    }
}

/// How many tokens a model of `t` makes of what o200k_base counts as one.
pub fn family_factor(t: ProviderType) -> f64 {
    match t {
        ProviderType::Openai | ProviderType::AzureOpenai | ProviderType::Mock => 1.0,
        ProviderType::Anthropic | ProviderType::Bedrock => 1.2,
        ProviderType::Google => 1.0,
        ProviderType::Groq
        | ProviderType::DeepInfra
        | ProviderType::Mistral
        | ProviderType::Meta
        | ProviderType::Local => 1.1,
    }
}

fn floor_char_boundary(body: &[u8], max: usize) -> usize {
    if body.len() <= max {
        return body.len();
    }
    let mut i = max;
    // UTF-8 continuation bytes are 0b10xx_xxxx.
    while i > 0 && body[i] & 0xC0 == 0x80 {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_like_the_tokenizer_and_bounds_huge_bodies() {
        assert_eq!(counted(b"hello world"), 2);
        let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"Say hi"}]}"#;
        let n = counted(body);
        assert!(n > 10 && n < rough(body) * 2, "{n}");
        let huge = "word ".repeat(200_000);
        let n = counted(huge.as_bytes());
        assert!((180_000..=220_000).contains(&n), "{n}");
        // A cut inside a multi-byte character steps back to its start.
        let mut s = "a".repeat(COUNTED_BYTES - 1);
        s.push('é');
        s.push_str("tail");
        assert!(counted(s.as_bytes()) > 0);
        assert_eq!(counted(&[0xff, 0xfe]), 1);
    }
}
