//! Token usage read from OpenAI-format responses and streams, and its cost.
//!
//! [`usage_of_json`] reads `usage` from a whole response body; [`OpenAiStreamObserver`] forwards
//! an OpenAI SSE stream event by event (byte-exact), reading usage and `[DONE]` on the way and
//! optionally dropping the usage-only chunk the gateway asked for on the client's behalf. Pure.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

use crate::sse::{SseFramer, event_data};

/// Token counts of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_tokens: u
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        }
    }
}

#[derive(Deserialize)]
struct WithUsage {
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    choices: Option<Vec<serde::de::IgnoredAny>>,
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

/// Forwards an OpenAI chat/completions SSE stream while observing it.
#[derive(Debug)]
pub struct OpenAiStreamObserver {
    framer: SseFramer,
    /// Drop the `choices: []` usage chunk (the client did not ask for usage; the gateway did).
    drop_usage_chunk: bool,
    pub usage: Option<Usage>,
    pub saw_done: bool,
    pub events: u64,
    /// Events whose data was not valid JSON (forwarded anyway).
    pub malformed: u64,
}

impl OpenAiStreamObserver {
    pub fn new(drop_usage_chunk: bool) -> Self {
        Self {
            framer: SseFramer::new(),
            drop_usage_chunk,
            usage: None,
            saw_done: false,
            events: 0,
            malformed: 0,
        }
    }

    /// Takes an upstream chunk; returns the bytes to send to the client now (whole events).
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        self.framer.push(chunk);
        let mut out: Option<BytesMut> = None;
        let mut single: Option<Bytes> = None;
        while let Some(event) = self.framer.next_event() {
            if !self.observe(&event) {
                continue;
            }
            // Avoid a copy in the common case of one event per chunk.
            match (&mut out, single.take()) {
                (None, None) => single = Some(event),
                (None, Some(prev)) => {
                    let mut buf = BytesMut::with_capacity(prev.len() + event.len());
                    buf.extend_from_slice(&prev);
                    buf.extend_from_slice(&event);
                    out = Some(buf);
                }
                (Some(buf), _) => buf.extend_from_slice(&event),
            }
        }
        match out {
            Some(buf) => buf.freeze(),
            None => single.unwrap_or_default(),
        }
    }

    /// The end of the upstream stream: any unterminated tail, forwarded as it was.
    pub fn finish(&mut self) -> Bytes {
        match self.framer.finish() {
            Some(tail) => {
                self.observe(&tail);
                tail
            }
            None => Bytes::new(),
        }
    }

    /// Reads one event; returns whether to forward it.
    fn observe(&mut self, event: &[u8]) -> bool {
        let Some(data) = event_data(event) else {
            return true;
        };
        self.events += 1;
        let data = data.as_ref();
        if data == b"[DONE]" {
            self.saw_done = true;
            return true;
        }
        if !has_usage_object(data) {
            return true;
        }
        match serde_json::from_slice::<WithUsage>(data) {
            Ok(parsed) => {
                let usage_only = parsed.choices.as_ref().is_some_and(Vec::is_empty);
                if let Some(u) = parsed.usage {
                    self.usage = Some(u.into());
                    if usage_only && self.drop_usage_chunk {
                        return false;
                    }
                }
                true
            }
            Err(_) => {
                self.malformed += 1;
                true
            }
        }
    }
}

/// Whether `data` has a `"usage"` key holding an object (not `null`), without parsing it:
/// with `include_usage` every chunk carries `"usage":null`, and only the last one matters.
fn has_usage_object(data: &[u8]) -> bool {
    let finder = memchr::memmem::Finder::new(b"\"usage\"");
    finder.find_iter(data).any(|at| {
        let rest = &data[at + 7..];
        let mut it = rest.iter().skip_while(|b| b.is_ascii_whitespace());
        it.next() == Some(&b':') && it.find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n",
        "data: [DONE]\n\n",
    );

    fn run(obs: &mut OpenAiStreamObserver, parts: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(&obs.push(p));
        }
        out.extend_from_slice(&obs.finish());
        out
    }

    #[test]
    fn passthrough_is_byte_exact_at_every_split() {
        let s = STREAM.as_bytes();
        for i in 0..=s.len() {
            let mut obs = OpenAiStreamObserver::new(false);
            assert_eq!(run(&mut obs, &[&s[..i], &s[i..]]), s, "split at {i}");
            assert!(obs.saw_done);
            assert_eq!(
                obs.usage,
                Some(Usage {
                    prompt_tokens: 5,
                    completion_tokens: 1,
                    cached_tokens: 0
                })
            );
        }
    }

    #[test]
    fn injected_usage_chunk_is_dropped() {
        let mut obs = OpenAiStreamObserver::new(true);
        let out = String::from_utf8(run(&mut obs, &[STREAM.as_bytes()])).unwrap();
        assert!(!out.contains("usage"));
        assert!(out.ends_with("data: [DONE]\n\n"));
        assert_eq!(obs.usage.map(|u| u.prompt_tokens), Some(5));
    }

    #[test]
    fn usage_object_detection() {
        assert!(has_usage_object(br#"{"usage": {"a":1}}"#));
        assert!(has_usage_object(br#"{"choices":[],"usage" :{"a":1}}"#));
        assert!(!has_usage_object(br#"{"usage":null}"#));
        assert!(!has_usage_object(br#"{"content":"usage"}"#));
        assert!(!has_usage_object(br#"{"usage""#));
    }

    #[test]
    fn json_usage_and_cost() {
        let u = usage_of_json(br#"{"id":"x","usage":{"prompt_tokens":1000000,"completion_tokens":500000,"prompt_tokens_details":{"cached_tokens":3}}}"#).unwrap();
        assert_eq!(u.cached_tokens, 3);
        assert!((cost_usd(&u, 2.5, 10.0) - 7.5).abs() < 1e-9);
        assert_eq!(usage_of_json(b"not json"), None);
    }
}
