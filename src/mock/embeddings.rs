//! OpenAI embeddings and model list of the mock.
//!
//! Pure. Each input (a string, or a token array) maps to an 8-dimensional unit vector derived
//! from its SHA-256, so equal inputs embed equally across runs; `encoding_format: "base64"`
//! gives the little-endian `f32` bytes in base64, as OpenAI does. The model `words` embeds
//! meaning instead, crudely: a 64-dimensional bag of the input's content words (lowercased,
//! common function words left out), so paraphrases that share their content words embed
//! alike and other questions do not.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::reply::{CREATED, approx_tokens, to_json};

/// Dimensions of every mock embedding.
pub(crate) const DIMENSIONS: usize = 8;

/// The inputs of an embeddings request, each as the text that is hashed.
pub(crate) fn decode_request(body: &Value) -> Vec<String> {
    match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![Value::Array(items.clone()).to_string()]
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

/// The deterministic unit vector of one input.
pub(crate) fn vector(input: &str) -> [f32; DIMENSIONS] {
    let digest = Sha256::digest(input.as_bytes());
    let mut v = [0f32; DIMENSIONS];
    for (x, b) in v.iter_mut().zip(digest.chunks_exact(4)) {
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        // Map to [-1, 1]; the precision lost going to f32 does not matter here.
        *x = (f64::from(n) / f64::from(u32::MAX) * 2.0 - 1.0) as f32;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Dimensions of a `words` embedding.
const WORD_DIMENSIONS: usize = 64;

/// Words that carry no content (left out of a `words` embedding).
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "what", "whats", "which", "who", "of", "to", "me",
    "tell", "please", "in", "on", "for", "and", "or", "do", "does", "you", "know", "can", "could",
    "i", "it", "its", "s", "my", "your", "would", "like",
];

/// The bag-of-words unit vector of one input: each content word adds 1 to the dimension its
/// SHA-256 picks.
pub(crate) fn word_vector(input: &str) -> Vec<f32> {
    let mut v = vec![0f32; WORD_DIMENSIONS];
    for word in input
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !FUNCTION_WORDS.contains(&w.as_str()))
    {
        let digest = Sha256::digest(word.as_bytes());
        v[usize::from(digest[0]) % WORD_DIMENSIONS] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[derive(Serialize)]
struct List<'a, T> {
    object: &'static str,
    data: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

/// Embeddings usage: OpenAI reports no completion tokens here.
#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Embedding {
    object: &'static str,
    index: usize,
    embedding: EmbeddingData,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EmbeddingData {
    Floats(Vec<f32>),
    Base64(String),
}

/// An embeddings response for `inputs`.
pub(crate) fn encode_response(inputs: &[String], model: &str, body: &Value) -> String {
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let words = model
                .rsplit('/')
                .next()
                .is_some_and(|m| m.starts_with("words"));
            let v = if words {
                word_vector(input)
            } else {
                vector(input).to_vec()
            };
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                EmbeddingData::Base64(base64_encode(&bytes))
            } else {
                EmbeddingData::Floats(v)
            };
            Embedding {
                object: "embedding",
                index,
                embedding,
            }
        })
        .collect();
    let prompt_tokens = approx_tokens(inputs.iter().map(|i| i.chars().count()).sum());
    to_json(&List {
        object: "list",
        data,
        model: Some(model),
        usage: Some(Usage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        }),
    })
}

#[derive(Serialize)]
struct ModelOut {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

/// Base behaviour names, listed by `GET /v1/models`.
const MODELS: [&str; 15] = [
    "echo",
    "tokens",
    "tool-call",
    "parallel-tool-calls",
    "fail-500",
    "fail-503",
    "fail-400-context",
    "fail-429",
    "fail-once",
    "slow",
    "slow-first-token",
    "stream-cut",
    "stall",
    "malformed",
    "hang",
];

/// `GET /v1/models`: the behaviour names, as OpenAI model objects.
pub(crate) fn encode_models() -> String {
    let data = MODELS
        .iter()
        .map(|id| ModelOut {
            id,
            object: "model",
            created: CREATED,
            owned_by: "mock",
        })
        .collect();
    to_json(&List::<ModelOut> {
        object: "list",
        data,
        model: None,
        usage: None,
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_deterministic_unit_vectors() {
        let a = vector("hello");
        assert_eq!(a, vector("hello"));
        assert_ne!(a, vector("hellp"));
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }

    #[test]
    fn word_vectors_match_paraphrases_and_not_other_questions() {
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let q = word_vector("What is the capital of France?");
        let same = word_vector("Tell me the capital of france, please");
        let other = word_vector("What is the capital of Spain?");
        assert!((cos(&q, &same) - 1.0).abs() < 1e-5);
        assert!(cos(&q, &other) < 0.9);
        assert_eq!(q.len(), WORD_DIMENSIONS);
    }

    #[test]
    fn inputs_of_every_shape() {
        let one = decode_request(&serde_json::json!({"input": "x"}));
        assert_eq!(one, ["x"]);
        let many = decode_request(&serde_json::json!({"input": ["a", "b"]}));
        assert_eq!(many, ["a", "b"]);
        let tokens = decode_request(&serde_json::json!({"input": [1, 2]}));
        assert_eq!(tokens, ["[1,2]"]);
        let batches = decode_request(&serde_json::json!({"input": [[1], [2]]}));
        assert_eq!(batches, ["[1]", "[2]"]);
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(raw.as_bytes()), enc);
        }
    }
}
