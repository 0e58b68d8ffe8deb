//! OpenAI chat-completion SSE streams ⇄ IR events.
//!
//! The decoder keeps the tool-call indexes the provider used (OpenAI's `index` is already the
//! ordinal of the call). The encoder puts `role` in the first chunk, gives each tool call its
//! own `index`, sends `finish_reason` in its own chunk, usage in a `choices: []` chunk when the
//! client asked for it, and ends with `[DONE]` only when the stream completed.
//!
//! Speed: the decoder reads the text chunks that make up almost every stream without serde
//! (`stream_fast`, which declines anything it could read differently from serde); serde reads
//! the rest.

use std::borrow::Cow;
use std::io::Write as _;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::response::{error_type, finish_reason_str, parse_finish};
use super::stream_fast::{self, Simple, Skipped, Template, Text};
use super::wire::Chunk;
use crate::translate::contract::Resume;
use crate::translate::ir::{ErrorInfo, Event, FinishReason, Usage};
use crate::translate::sse::event_data;

/// OpenAI SSE → IR.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    /// OpenAI indexes of the tool calls that have started.
    tool_started: Vec<u32>,
    finished: bool,
    done: bool,
    /// Events whose data was not valid JSON (skipped).
    pub malformed: u64,
    /// A text chunk of this stream, kept to read the next ones quickly (`stream_fast`).
    template: Template,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireError<'a> {
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    code: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

impl StreamDecoder {
    /// One event's data (not `[DONE]`): the fast path for the common chunks, serde for the rest.
    pub(super) fn decode_data(&mut self, data: &[u8], out: &mut Vec<Event>) {
        let Ok(chunk) = std::str::from_utf8(data) else {
            return self.decode_serde(data, out);
        };
        // A template is kept only from a chunk decoded whole, which started the stream.
        if self.started
            && let Some((kind, text)) = self.template.text(chunk)
        {
            match kind {
                Text::Content => push_texts(None, Some(text), out),
                Text::Reasoning => push_texts(Some(text), None, out),
            }
            return;
        }
        let mut skipped = Skipped::default();
        match stream_fast::read(chunk, &mut skipped) {
            Some(simple) => {
                self.template.keep(chunk, &simple, &skipped);
                self.decode_simple(simple, out);
            }
            None => self.decode_serde(data, out),
        }
    }

    /// A chunk the fast path read.
    fn decode_simple(&mut self, chunk: Simple<'_>, out: &mut Vec<Event>) {
        self.start(chunk.id.as_deref(), chunk.model.as_deref(), out);
        if let Some(choice) = chunk.choice {
            push_texts(choice.reasoning, choice.content, out);
            self.finish_reason(choice.finish_reason, out);
        }
    }

    /// Any chunk, read with serde (the tests' reference for the fast path).
    pub(super) fn decode_serde(&mut self, data: &[u8], out: &mut Vec<Event>) {
        if self.decode_chunk(data, out).is_err() {
            self.malformed += 1;
        }
    }

    /// Reads a chunk ([`Chunk`], the one OpenAI chunk shape, shared with the pass-through)
    /// strictly: a field of the wrong type makes the whole chunk malformed, and nothing is
    /// pushed.
    fn decode_chunk(&mut self, data: &[u8], out: &mut Vec<Event>) -> Result<(), Malformed> {
        let chunk = serde_json::from_slice::<Chunk<'_>>(data).map_err(|_| Malformed)?;
        if let Some(raw) = chunk.error {
            out.push(Event::Error(stream_error(raw)));
            return Ok(());
        }
        let ids = if self.started {
            None
        } else {
            Some(serde_json::from_slice::<Ids<'_>>(data).map_err(|_| Malformed)?)
        };
        let choices = match chunk.choices {
            Some(choices) => choices,
            // `choices` absent reads as none; `null` is not a list.
            None if null_choices(data) => return Err(Malformed),
            None => Vec::new(),
        };
        let mut first = None;
        if let Some(choice) = choices.into_iter().next() {
            let delta = match choice.delta {
                None => None,
                Some(d) => Some((
                    text(d.reasoning_content)?,
                    text(d.content)?,
                    match d.tool_calls {
                        None => Vec::new(),
                        Some(raw) => serde_json::from_str::<Vec<ToolCallDelta<'_>>>(raw.get())
                            .map_err(|_| Malformed)?,
                    },
                )),
            };
            first = Some((delta, text(choice.finish_reason)?));
        }
        if let Some(ids) = ids {
            self.start(ids.id.as_deref(), ids.model.as_deref(), out);
        }
        if let Some((delta, finish_reason)) = first {
            if let Some((reasoning, content, tool_calls)) = delta {
                push_texts(reasoning, content, out);
                self.tool_calls(tool_calls, out);
            }
            self.finish_reason(finish_reason, out);
        }
        if let Some(u) = chunk.usage {
            out.push(Event::Usage(Usage::from(u)));
        }
        Ok(())
    }

    /// A delta's tool calls: a start the first time an index is seen, then argument pieces.
    fn tool_calls(&mut self, calls: Vec<ToolCallDelta<'_>>, out: &mut Vec<Event>) {
        for (pos, call) in calls.into_iter().enumerate() {
            let index = call.index.unwrap_or(pos as u32);
            let (name, arguments) = match call.function {
                Some(f) => (f.name, f.arguments),
                None => (None, None),
            };
            if !self.tool_started.contains(&index) {
                self.tool_started.push(index);
                out.push(Event::ToolCallStart {
                    index,
                    id: call
                        .id
                        .map_or_else(|| format!("call_{index}"), Cow::into_owned),
                    name: name.map(Cow::into_owned).unwrap_or_default(),
                });
            }
            if let Some(a) = arguments.filter(|a| !a.is_empty()) {
                out.push(Event::ToolCallDelta {
                    index,
                    arguments: a.into_owned(),
                });
            }
        }
    }

    /// The first chunk read starts the IR stream.
    fn start(&mut self, id: Option<&str>, model: Option<&str>, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: id.unwrap_or_default().to_string(),
                model: model.unwrap_or_default().to_string(),
            });
        }
    }

    fn finish_reason(&mut self, reason: Option<Cow<'_, str>>, out: &mut Vec<Event>) {
        if let Some(reason) = reason {
            self.finished = true;
            out.push(Event::Finish {
                reason: parse_finish(&reason),
                stop_sequence: None,
            });
        }
    }
}

/// The stream's id and model, read from the chunk that starts it.
#[derive(Deserialize)]
struct Ids<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
}

/// A chunk that cannot be read as OpenAI's (skipped and counted).
struct Malformed;

/// A raw field that must be a string or `null`.
fn text(raw: Option<&RawValue>) -> Result<Option<Cow<'_, str>>, Malformed> {
    match raw {
        None => Ok(None),
        Some(raw) => serde_json::from_str::<Option<Cow<'_, str>>>(raw.get()).map_err(|_| Malformed),
    }
}

/// Whether the chunk's `choices` is `null` (serde reads that as absent).
fn null_choices(data: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Choices<'a> {
        #[serde(default, borrow)]
        choices: Option<&'a RawValue>,
    }
    serde_json::from_slice::<Choices<'_>>(data)
        .ok()
        .and_then(|c| c.choices)
        .is_some_and(|raw| raw.get() == "null")
}

/// The error event of a chunk's `error` object.
fn stream_error(raw: &RawValue) -> ErrorInfo {
    let err: Option<WireError<'_>> = serde_json::from_str(raw.get()).ok();
    let message = err
        .as_ref()
        .and_then(|e| e.message.as_deref())
        .unwrap_or("provider error")
        .to_string();
    let code = err.as_ref().and_then(|e| {
        e.code
            .and_then(|c| serde_json::from_str::<String>(c.get()).ok())
            .or_else(|| e.kind.as_deref().map(str::to_string))
    });
    ErrorInfo {
        status: 502,
        message,
        code,
    }
}

/// A delta's reasoning, then its text, each when not empty.
fn push_texts(
    reasoning: Option<Cow<'_, str>>,
    content: Option<Cow<'_, str>>,
    out: &mut Vec<Event>,
) {
    if let Some(r) = reasoning.filter(|s| !s.is_empty()) {
        out.push(Event::ThinkingDelta(r.into_owned()));
    }
    if let Some(t) = content.filter(|s| !s.is_empty()) {
        out.push(Event::TextDelta(t.into_owned()));
    }
}

impl crate::translate::contract::StreamDecoder for StreamDecoder {
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>) {
        let Some(data) = event_data(event) else {
            return;
        };
        if data.as_ref() == b"[DONE]" {
            self.done = true;
            return;
        }
        self.decode_data(&data, out);
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> bool {
        self.done || self.finished
    }

    fn malformed(&self) -> u64 {
        self.malformed
    }
}

/// IR → OpenAI SSE. Chunks are written straight into the output (keys in the order serde_json
/// gives a map: sorted), with the constant tail of every chunk prepared once.
#[derive(Debug)]
pub struct StreamEncoder {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    started: bool,
    finished: bool,
    usage: Option<Usage>,
    /// `,"created":N,"id":"…","model":"…","object":"chat.completion.chunk"}`
    tail: Vec<u8>,
}

impl StreamEncoder {
    /// `include_usage`: send the usage chunk (the client asked for it); `created`: the
    /// chunks' `created` (seconds since the epoch, the caller's clock).
    pub fn new(include_usage: bool, created: u64) -> Self {
        Self {
            include_usage,
            id: String::new(),
            model: String::new(),
            created,
            started: false,
            finished: false,
            usage: None,
            tail: Vec::new(),
        }
    }

    /// An encoder that carries on a stream whose first chunks the client already has (its
    /// `id`, `model` and `created` in `resume`): no role chunk is sent again.
    pub fn resumed(resume: &Resume) -> Self {
        let mut encoder = Self::new(resume.usage_chunk, resume.created);
        encoder.id.clone_from(&resume.id);
        encoder.model.clone_from(&resume.model);
        encoder.ensure_started(&mut Vec::new());
        encoder
    }

    /// A chunk with one choice: `delta_json` is the delta object, already serialised.
    fn chunk(&self, out: &mut Vec<u8>, delta_json: &[u8], finish: Option<FinishReason>) {
        out.extend_from_slice(b"data: {\"choices\":[{\"delta\":");
        out.extend_from_slice(delta_json);
        out.extend_from_slice(b",\"finish_reason\":");
        match finish {
            Some(r) => {
                out.push(b'"');
                out.extend_from_slice(finish_reason_str(r).as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"index\":0,\"logprobs\":null}]");
        out.extend_from_slice(&self.tail);
        out.extend_from_slice(b"\n\n");
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            if self.id.is_empty() {
                self.id = format!("chatcmpl-{:x}", self.created);
            }
            let mut tail = Vec::with_capacity(96 + self.id.len() + self.model.len());
            let _ = write!(tail, ",\"created\":{},\"id\":", self.created);
            push_str(&mut tail, &self.id);
            tail.extend_from_slice(b",\"model\":");
            push_str(&mut tail, &self.model);
            tail.extend_from_slice(b",\"object\":\"chat.completion.chunk\"}");
            self.tail = tail;
            self.chunk(out, b"{\"content\":\"\",\"role\":\"assistant\"}", None);
        }
    }

    /// A delta with one string field.
    fn text_chunk(&self, out: &mut Vec<u8>, key: &[u8], text: &str) {
        let mut delta = Vec::with_capacity(text.len() + 24);
        delta.push(b'{');
        delta.extend_from_slice(key);
        push_str(&mut delta, text);
        delta.push(b'}');
        self.chunk(out, &delta, None);
    }
}

/// Appends `s` as a JSON string.
fn push_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

impl crate::translate::contract::StreamEncoder for StreamEncoder {
    fn encode_event(&mut self, event: &Event, out: &mut Vec<u8>) {
        match event {
            Event::Start { id, model } => {
                if !self.started {
                    self.id = id.clone();
                    self.model = model.clone();
                }
                self.ensure_started(out);
            }
            Event::TextDelta(t) => {
                self.ensure_started(out);
                self.text_chunk(out, b"\"content\":", t);
            }
            Event::ThinkingDelta(t) => {
                self.ensure_started(out);
                self.text_chunk(out, b"\"reasoning_content\":", t);
            }
            Event::ThinkingSignature(_) => {}
            Event::ToolCallStart { index, id, name } => {
                self.ensure_started(out);
                let mut delta = Vec::with_capacity(96 + id.len() + name.len());
                delta.extend_from_slice(
                    b"{\"tool_calls\":[{\"function\":{\"arguments\":\"\",\"name\":",
                );
                push_str(&mut delta, name);
                delta.extend_from_slice(b"},\"id\":");
                push_str(&mut delta, id);
                let _ = write!(delta, ",\"index\":{index},\"type\":\"function\"}}]}}");
                self.chunk(out, &delta, None);
            }
            Event::ToolCallDelta { index, arguments } => {
                self.ensure_started(out);
                let mut delta = Vec::with_capacity(64 + arguments.len());
                delta.extend_from_slice(b"{\"tool_calls\":[{\"function\":{\"arguments\":");
                push_str(&mut delta, arguments);
                let _ = write!(delta, "}},\"index\":{index}}}]}}");
                self.chunk(out, &delta, None);
            }
            Event::Usage(u) => self.usage = Some(*u),
            Event::Finish { reason, .. } => {
                self.ensure_started(out);
                if !self.finished {
                    self.finished = true;
                    self.chunk(out, b"{}", Some(*reason));
                }
            }
            Event::Error(e) => crate::translate::contract::StreamEncoder::fail(self, e, out),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.ensure_started(out);
        if !self.finished {
            self.finished = true;
            self.chunk(out, b"{}", Some(FinishReason::Stop));
        }
        if self.include_usage {
            let u = self.usage.unwrap_or_default();
            out.extend_from_slice(b"data: {\"choices\":[]");
            // The tail ends with `}`; usage goes before it.
            let tail = &self.tail[..self.tail.len().saturating_sub(1)];
            out.extend_from_slice(tail);
            let _ = write!(
                out,
                ",\"usage\":{{\"completion_tokens\":{},\"prompt_tokens\":{},\"prompt_tokens_details\":{{\"cached_tokens\":{}}},\"total_tokens\":{}}}}}\n\n",
                u.output_tokens,
                u.input_tokens,
                u.cached_input_tokens,
                u.input_tokens + u.output_tokens
            );
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }

    fn fail(&mut self, error: &ErrorInfo, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: {\"error\":{\"code\":");
        match &error.code {
            Some(c) => push_str(out, c),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"message\":");
        push_str(out, &error.message);
        out.extend_from_slice(b",\"param\":null,\"type\":");
        push_str(out, error_type(error.status));
        out.extend_from_slice(b"}}\n\n");
    }

    fn resume(&self) -> Option<Resume> {
        Some(Resume {
            id: self.id.clone(),
            model: self.model.clone(),
            created: self.created,
            usage_chunk: self.include_usage,
            ..Resume::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{StreamDecoder as _, StreamEncoder as _};

    fn encode(events: &[Event], include_usage: bool) -> String {
        let mut enc = StreamEncoder::new(include_usage, 1_732_000_000);
        let mut out = Vec::new();
        for e in events {
            enc.encode_event(e, &mut out);
        }
        enc.finish(&mut out);
        String::from_utf8(out)
            .unwrap()
            .replace(&format!("\"created\":{}", enc.created), "\"created\":0")
    }

    #[test]
    fn encoder_writes_valid_chunks_in_order() {
        let events = [
            Event::Start {
                id: "chatcmpl-1".into(),
                model: "m\"x".into(),
            },
            Event::TextDelta("Hi \"there\"\n".into()),
            Event::ToolCallStart {
                index: 0,
                id: "call_a".into(),
                name: "get_weather".into(),
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "{\"location\":".into(),
            },
            Event::ToolCallStart {
                index: 1,
                id: "call_b".into(),
                name: "get_time".into(),
            },
            Event::ToolCallDelta {
                index: 1,
                arguments: "{}".into(),
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "\"Paris\"}".into(),
            },
            Event::Finish {
                reason: FinishReason::ToolCalls,
                stop_sequence: None,
            },
            Event::Usage(Usage {
                input_tokens: 5,
                output_tokens: 7,
                cached_input_tokens: 2,
                cache_creation_input_tokens: 0,
            }),
        ];
        let text = encode(&events, true);
        let chunks: Vec<serde_json::Value> = text
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[0]["model"], "m\"x");
        assert_eq!(
            chunks[1]["choices"][0]["delta"]["content"],
            "Hi \"there\"\n"
        );
        assert_eq!(
            chunks[2]["choices"][0]["delta"]["tool_calls"][0]["id"],
            "call_a"
        );
        assert_eq!(
            chunks[4]["choices"][0]["delta"]["tool_calls"][0]["index"],
            1
        );
        assert_eq!(
            chunks[6]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "\"Paris\"}"
        );
        assert_eq!(chunks[7]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(chunks[8]["usage"]["total_tokens"], 12);
        assert_eq!(chunks[8]["choices"], serde_json::json!([]));
        assert!(text.ends_with("data: [DONE]\n\n"));
        // Every chunk's JSON equals what a generic serialiser would write (sorted keys).
        for c in &chunks {
            let line = serde_json::to_string(c).unwrap();
            assert!(text.contains(&line), "{line}");
        }
    }

    #[test]
    fn decoder_reads_what_the_encoder_writes() {
        let events = vec![
            Event::Start {
                id: "chatcmpl-1".into(),
                model: "m".into(),
            },
            Event::TextDelta("a\u{e9}\"b".into()),
            Event::ToolCallStart {
                index: 0,
                id: "call_a".into(),
                name: "f".into(),
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "{\"x\":1}".into(),
            },
            Event::Finish {
                reason: FinishReason::ToolCalls,
                stop_sequence: None,
            },
            Event::Usage(Usage {
                input_tokens: 1,
                output_tokens: 2,
                cached_input_tokens: 0,
                cache_creation_input_tokens: 0,
            }),
        ];
        let text = encode(&events, true);
        let mut dec = StreamDecoder::new();
        let mut got = Vec::new();
        for e in text.split_inclusive("\n\n") {
            dec.decode_event(e.as_bytes(), &mut got);
        }
        assert!(dec.finish(&mut got));
        assert_eq!(got, events);
    }

    #[test]
    fn errors_are_written_and_read() {
        let mut enc = StreamEncoder::new(false, 1_732_000_000);
        let mut out = Vec::new();
        enc.fail(
            &ErrorInfo {
                status: 429,
                message: "slow \"down\"".into(),
                code: Some("rate_limited".into()),
            },
            &mut out,
        );
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(text.trim().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(v["error"]["type"], "rate_limit_error");
        let mut dec = StreamDecoder::new();
        let mut got = Vec::new();
        dec.decode_event(text.as_bytes(), &mut got);
        assert!(
            matches!(&got[0], Event::Error(e) if e.message == "slow \"down\"" && e.code.as_deref() == Some("rate_limited"))
        );
    }
}
