//! Same-format stream pass-through (OpenAI → OpenAI, Anthropic → Anthropic): events are
//! forwarded byte-exact as they complete, while a [`Watch`] of the format learns what the
//! resilience layer needs — whether real content has started (before it, a failure may still
//! fail over), whether the provider finished, usage, upstream error events — and drops
//! malformed events (skipped and counted, never forwarded). Pure.
//!
//! `finish()` closes a stream that finished without its terminator (`[DONE]`, `message_stop`)
//! properly, and reports a stream that stopped mid-answer as incomplete (the caller continues
//! it or fails it). When asked to keep a transcript, the watch also keeps the text the client
//! was sent and where its stream stands, and holds back a provider's error event that arrives
//! mid-answer, so that a broken stream can be continued ([`Relay::rescue`]).

use bytes::{Bytes, BytesMut};
use serde_json::value::RawValue;

use super::anthropic;
use super::codec::Codec;
use super::contract::StreamDecoder as _;
use super::ir::{ErrorInfo, Event, Usage};
use super::openai::Chunk;
use super::relay::{Finished, Relay, RelayStatus, RescuePoint};
use super::sse::{SseFramer, event_data, event_name};
use crate::config::ApiFormat;

/// What a pass-through learns from the events of one format.
pub trait Watch: Send {
    /// The format watched.
    const FORMAT: ApiFormat;
    /// The event that ends a proper stream, added when the provider finished without it.
    const TERMINATOR: &'static [u8];
    /// Reads one complete event into `status`; returns whether to forward it.
    fn observe(&mut self, event: &[u8], status: &mut RelayStatus) -> bool;
    /// Whether the terminator was seen.
    fn terminated(&self) -> bool;
    /// Whether the provider said it finished (a finish or stop reason).
    fn finished(&self) -> bool;
    /// Whether the client asked for usage in the stream (for an encoder that carries it on).
    fn client_usage(&self) -> bool {
        false
    }
}

/// A byte-exact stream pass-through.
#[derive(Debug)]
pub struct Passthrough<W> {
    framer: SseFramer,
    pub watch: W,
    pub status: RelayStatus,
    /// The client's stream has ended (an error event went out or was written).
    ended: bool,
}

impl<W: Watch> Passthrough<W> {
    fn with(watch: W) -> Self {
        Self {
            framer: SseFramer::new(),
            watch,
            status: RelayStatus::default(),
            ended: false,
        }
    }

    /// Keeps the text the client is sent, so that the stream can be continued if it breaks.
    #[must_use]
    pub fn keeping_transcript(mut self) -> Self {
        self.status.keep_transcript();
        self
    }

    /// Takes an upstream chunk; returns the whole events to send now.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        let (watch, status, ended) = (&mut self.watch, &mut self.status, &mut self.ended);
        forward_events(&mut self.framer, chunk, |e| {
            let keep = watch.observe(e, status);
            // A forwarded error event ends the client's stream.
            *ended |= keep && status.upstream_error.is_some();
            keep
        })
    }

    /// The upstream ended. An unterminated last event is a cut: dropped, not forwarded; a
    /// finished stream without its terminator gets it.
    pub fn finish(&mut self) -> Finished {
        let _partial = self.framer.finish();
        let terminated = self.watch.terminated();
        let completed = terminated || self.watch.finished();
        let tail = if completed && !terminated {
            Bytes::from_static(W::TERMINATOR)
        } else {
            Bytes::new()
        };
        Finished { tail, completed }
    }
}

impl<W: Watch> Relay for Passthrough<W> {
    fn push(&mut self, chunk: &[u8]) -> Bytes {
        Passthrough::push(self, chunk)
    }

    fn finish(&mut self) -> Finished {
        let done = Passthrough::finish(self);
        self.ended |= done.completed;
        done
    }

    fn fail(&mut self, error: &ErrorInfo) -> Bytes {
        if std::mem::replace(&mut self.ended, true) {
            return Bytes::new();
        }
        encode_fail(W::FORMAT, error)
    }

    fn status(&self) -> &RelayStatus {
        &self.status
    }

    fn pending(&self) -> usize {
        self.framer.pending()
    }

    fn rescue(&self) -> Option<RescuePoint> {
        if self.ended || self.watch.terminated() {
            return None;
        }
        let transcript = self.status.transcript.as_ref()?;
        let text = transcript.text()?;
        let mut resume = transcript.resume.clone();
        if let Ok(ident) = serde_json::from_slice::<Identity>(&transcript.first_chunk) {
            resume.id = ident.id;
            resume.model = ident.model;
            resume.created = ident.created;
        }
        resume.usage_chunk = self.watch.client_usage();
        Some(RescuePoint { text, resume })
    }
}

/// The error event of a format, through its encoder.
fn encode_fail(format: ApiFormat, error: &ErrorInfo) -> Bytes {
    let mut out = Vec::new();
    Codec(format).stream_encoder(false, 0).fail(error, &mut out);
    Bytes::from(out)
}

/// Appends `event` to `out`, avoiding a copy when it is the only event.
fn append(out: &mut Option<BytesMut>, single: &mut Option<Bytes>, event: Bytes) {
    match (out.as_mut(), single.take()) {
        (None, None) => *single = Some(event),
        (None, Some(prev)) => {
            let mut buf = BytesMut::with_capacity(prev.len() + event.len());
            buf.extend_from_slice(&prev);
            buf.extend_from_slice(&event);
            *out = Some(buf);
        }
        (Some(buf), _) => buf.extend_from_slice(&event),
    }
}

fn collect(out: Option<BytesMut>, single: Option<Bytes>) -> Bytes {
    match out {
        Some(buf) => buf.freeze(),
        None => single.unwrap_or_default(),
    }
}

/// Pushes `chunk` through `framer` and returns the complete events `keep` lets through.
fn forward_events(
    framer: &mut SseFramer,
    chunk: &[u8],
    mut keep: impl FnMut(&[u8]) -> bool,
) -> Bytes {
    framer.push(chunk);
    let (mut out, mut single) = (None, None);
    while let Some(event) = framer.next_event() {
        if keep(&event) {
            append(&mut out, &mut single, event);
        }
    }
    collect(out, single)
}

/// A raw JSON value that carries something (not `null`, not `""`, not `[]`).
fn present(v: Option<&RawValue>) -> bool {
    v.is_some_and(|v| !matches!(v.get(), "null" | "\"\"" | "[]"))
}

/// OpenAI chat/completions stream pass-through.
pub type OpenAiPassthrough = Passthrough<OpenAiWatch>;

impl OpenAiPassthrough {
    /// `drop_usage_chunk`: hide the `choices: []` usage chunk (the gateway asked for it, not
    /// the client).
    pub fn new(drop_usage_chunk: bool) -> Self {
        Passthrough::with(OpenAiWatch {
            drop_usage_chunk,
            saw_done: false,
            finished: false,
        })
    }
}

/// What an OpenAI stream's events say.
#[derive(Debug)]
pub struct OpenAiWatch {
    drop_usage_chunk: bool,
    pub saw_done: bool,
    pub finished: bool,
}

impl Watch for OpenAiWatch {
    const FORMAT: ApiFormat = ApiFormat::Openai;
    const TERMINATOR: &'static [u8] = b"data: [DONE]\n\n";

    fn observe(&mut self, event: &[u8], status: &mut RelayStatus) -> bool {
        let Some(data) = event_data(event) else {
            return true;
        };
        if data.as_ref() == b"[DONE]" {
            self.saw_done = true;
            return true;
        }
        let Ok(chunk) = serde_json::from_slice::<Chunk<'_>>(&data) else {
            status.count_malformed();
            return false;
        };
        if let Some(t) = status.transcript.as_deref_mut() {
            // The stream's identity is read from its first chunk only if it is ever needed.
            if t.first_chunk.is_empty() {
                t.first_chunk.extend_from_slice(&data);
            }
        }
        if let Some(err) = chunk.error {
            let v: serde_json::Value = serde_json::from_str(err.get()).unwrap_or_default();
            let message = v
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("provider error")
                .to_string();
            let code = v
                .get("code")
                .or_else(|| v.get("type"))
                .and_then(|c| c.as_str())
                .map(str::to_string);
            status.upstream_error = Some(ErrorInfo {
                status: 502,
                message,
                code,
            });
            return !status.withholds_errors();
        }
        let choices = chunk.choices.unwrap_or_default();
        for c in &choices {
            if let Some(d) = &c.delta {
                if let Some(content) = d.content.filter(|v| present(Some(v))) {
                    status.saw_text_literal(content.get().as_bytes());
                }
                for other in [d.tool_calls, d.reasoning_content, d.refusal] {
                    if let Some(v) = other.filter(|v| present(Some(v))) {
                        status.saw_other(v.get().len());
                    }
                }
            }
            if let Some(text) = c.text.filter(|v| present(Some(v))) {
                status.saw_other(text.get().len());
            }
            if present(c.finish_reason) {
                self.finished = true;
                status.content_seen = true;
            }
        }
        if let Some(u) = chunk.usage {
            status.usage = Some(Usage::from(u));
            if choices.is_empty() && self.drop_usage_chunk {
                return false;
            }
        }
        true
    }

    fn terminated(&self) -> bool {
        self.saw_done
    }

    fn finished(&self) -> bool {
        self.finished
    }

    fn client_usage(&self) -> bool {
        !self.drop_usage_chunk
    }
}

/// The identity fields of an OpenAI chunk, read from a stream's first chunk when it is
/// continued.
#[derive(serde::Deserialize)]
struct Identity {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    created: u64,
}

/// The block a `content_block_start` opens, read when a transcript is kept.
#[derive(serde::Deserialize)]
struct BlockStart<'a> {
    #[serde(borrow)]
    content_block: BlockType<'a>,
}

#[derive(serde::Deserialize)]
struct BlockType<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
}

/// Anthropic Messages stream pass-through (thinking blocks and signatures untouched).
pub type AnthropicPassthrough = Passthrough<AnthropicWatch>;

impl AnthropicPassthrough {
    pub fn new() -> Self {
        Passthrough::with(AnthropicWatch {
            decoder: anthropic::StreamDecoder::new(),
            events: Vec::new(),
            saw_stop: false,
            finished: false,
        })
    }
}

impl Default for AnthropicPassthrough {
    fn default() -> Self {
        Self::new()
    }
}

/// What an Anthropic stream's events say, read by its stream decoder.
pub struct AnthropicWatch {
    decoder: anthropic::StreamDecoder,
    events: Vec<Event>,
    pub saw_stop: bool,
    pub finished: bool,
}

impl std::fmt::Debug for AnthropicWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicWatch")
            .field("saw_stop", &self.saw_stop)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Watch for AnthropicWatch {
    const FORMAT: ApiFormat = ApiFormat::Anthropic;
    const TERMINATOR: &'static [u8] = b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    fn observe(&mut self, event: &[u8], status: &mut RelayStatus) -> bool {
        let name = event_name(event);
        if name == Some(b"message_stop") {
            self.saw_stop = true;
        }
        if let Some(t) = status.transcript.as_deref_mut() {
            match name {
                Some(b"content_block_start") => {
                    t.resume.blocks += 1;
                    let text = event_data(event)
                        .and_then(|d| {
                            serde_json::from_slice::<BlockStart<'_>>(&d)
                                .ok()
                                .map(|b| b.content_block.kind == "text")
                        })
                        .unwrap_or(false);
                    t.resume.text_open = text;
                    if !text {
                        t.stop();
                    }
                }
                Some(b"content_block_stop") => t.resume.text_open = false,
                _ => {}
            }
        }
        let before = self.decoder.malformed;
        self.decoder.decode_event(event, &mut self.events);
        if self.decoder.malformed > before {
            status.count_malformed();
            return false;
        }
        let mut keep = true;
        for e in self.events.drain(..) {
            match e {
                Event::Usage(u) => status.usage = Some(u),
                Event::TextDelta(t) => status.saw_text(&t),
                Event::ThinkingDelta(t) | Event::ToolCallDelta { arguments: t, .. } => {
                    status.saw_other(t.len());
                }
                Event::ToolCallStart { name, .. } => status.saw_other(name.len()),
                Event::Finish { .. } => {
                    self.finished = true;
                    status.content_seen = true;
                }
                Event::Error(info) => {
                    status.upstream_error = Some(info);
                    keep = !status.withholds_errors();
                }
                Event::Start { id, model } => {
                    if let Some(t) = status.transcript.as_deref_mut() {
                        t.resume.id = id;
                        t.resume.model = model;
                    }
                }
                Event::ThinkingSignature(_) => {}
            }
        }
        keep
    }

    fn terminated(&self) -> bool {
        self.saw_stop
    }

    fn finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI: &str = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}\n\n",
        "data: [DONE]\n\n",
    );

    fn run(p: &mut OpenAiPassthrough, parts: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        for part in parts {
            out.extend_from_slice(&p.push(part));
        }
        let f = p.finish();
        out.extend_from_slice(&f.tail);
        (out, f.completed)
    }

    #[test]
    fn byte_exact_at_every_split() {
        let s = OPENAI.as_bytes();
        for i in 0..=s.len() {
            let mut p = OpenAiPassthrough::new(false);
            let (out, completed) = run(&mut p, &[&s[..i], &s[i..]]);
            assert_eq!(out, s, "split {i}");
            assert!(completed && p.watch.saw_done && p.status.content_seen);
            assert_eq!(p.status.usage.map(|u| u.input_tokens), Some(5));
        }
    }

    #[test]
    fn role_chunk_is_not_content() {
        let mut p = OpenAiPassthrough::new(false);
        let first = OPENAI.split("\n\n").next().unwrap().to_string() + "\n\n";
        p.push(first.as_bytes());
        assert!(!p.status.content_seen);
    }

    #[test]
    fn injected_usage_chunk_is_hidden() {
        let mut p = OpenAiPassthrough::new(true);
        let (out, _) = run(&mut p, &[OPENAI.as_bytes()]);
        assert!(!String::from_utf8(out).unwrap().contains("\"usage\""));
        assert_eq!(p.status.usage.map(|u| u.output_tokens), Some(1));
    }

    #[test]
    fn malformed_events_are_skipped_and_counted() {
        let mut p = OpenAiPassthrough::new(false);
        let bad = "data: {\"id\": broken\n\n";
        let (out, completed) = run(&mut p, &[bad.as_bytes(), OPENAI.as_bytes()]);
        assert_eq!(out, OPENAI.as_bytes());
        assert_eq!(p.status.malformed, 1);
        assert!(completed);
    }

    #[test]
    fn finished_without_done_is_closed_and_cut_is_incomplete() {
        let without_done = OPENAI.replace("data: [DONE]\n\n", "");
        let mut p = OpenAiPassthrough::new(false);
        let (out, completed) = run(&mut p, &[without_done.as_bytes()]);
        assert!(completed);
        assert!(out.ends_with(b"data: [DONE]\n\n"));
        let cut = &OPENAI[..OPENAI.find("finish_reason\":\"stop").unwrap()];
        let mut p = OpenAiPassthrough::new(false);
        let (out, completed) = run(&mut p, &[cut.as_bytes()]);
        assert!(!completed);
        assert!(!String::from_utf8(out).unwrap().contains("[DONE]"));
    }

    #[test]
    fn error_events_are_noticed() {
        let mut p = OpenAiPassthrough::new(false);
        p.push(b"data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n");
        assert_eq!(
            p.status.upstream_error.as_ref().map(|e| e.message.as_str()),
            Some("overloaded")
        );
    }

    #[test]
    fn with_a_transcript_a_mid_answer_error_is_held_for_the_caller() {
        let err = "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n";
        let text = OPENAI
            .split("\n\n")
            .take(2)
            .collect::<Vec<_>>()
            .join("\n\n")
            + "\n\n";
        // Without a transcript the provider's event goes out as it came.
        let mut p = OpenAiPassthrough::new(false);
        p.push(text.as_bytes());
        assert_eq!(p.push(err.as_bytes()), err.as_bytes());
        assert!(
            p.fail(&incomplete_error()).is_empty(),
            "the stream already ended"
        );
        // With one it is held back: the stream may be continued instead.
        let mut p = OpenAiPassthrough::new(false).keeping_transcript();
        p.push(text.as_bytes());
        assert!(p.push(err.as_bytes()).is_empty());
        let point = Relay::rescue(&p).unwrap();
        assert_eq!(point.text, "Hi");
        assert_eq!(point.resume.id, "c");
        let failed = p.fail(p.status.upstream_error.clone().as_ref().unwrap());
        assert!(String::from_utf8_lossy(&failed).contains("overloaded"));
        assert!(
            Relay::rescue(&p).is_none(),
            "an ended stream is not continued"
        );
    }

    #[test]
    fn the_transcript_decodes_escaped_text_once() {
        let mut p = OpenAiPassthrough::new(false).keeping_transcript();
        let chunk = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\n\\\"b\\u00e9\"}}]}\n\n";
        p.push(chunk.as_bytes());
        p.push(chunk.as_bytes());
        assert_eq!(Relay::rescue(&p).unwrap().text, "a\n\"bé".repeat(2));
        let tool = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0}]}}]}\n\n";
        p.push(tool.as_bytes());
        assert!(
            Relay::rescue(&p).is_none(),
            "a tool call cannot be continued"
        );
    }

    fn incomplete_error() -> ErrorInfo {
        crate::translate::relay::incomplete()
    }

    #[test]
    fn anthropic_passthrough() {
        let s = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n",
        );
        let mut p = AnthropicPassthrough::new();
        let mut out = p.push(s.as_bytes()).to_vec();
        assert!(p.status.content_seen);
        let f = p.finish();
        out.extend_from_slice(&f.tail);
        assert!(f.completed);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
        );
        assert_eq!(
            p.status.usage.map(|u| (u.input_tokens, u.output_tokens)),
            Some((7, 3))
        );
    }
}
