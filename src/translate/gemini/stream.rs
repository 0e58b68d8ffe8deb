//! Gemini `alt=sse` streams ⇄ IR events. Each event is `data: <GenerateContentResponse
//! chunk>`; there is no `[DONE]`, so a stream ended properly iff a chunk carried a
//! `finishReason`.
//!
//! Gemini sends every function call whole, in one part: the decoder turns it into a
//! `ToolCallStart` and one `ToolCallDelta` with all the arguments; the encoder buffers a
//! call's argument fragments and writes the call once it is complete. The encoder holds the
//! finish reason and usage back for one last chunk written by `finish`, so usage reported
//! after the finish still reaches the client.

use serde_json::{Map, Value, json};

use super::super::contract::{StreamDecoder as Decode, StreamEncoder as Encode};
use super::super::ir::{ErrorInfo, Event, FinishReason, Part, Usage};
use super::error::{error_body, error_info, error_status};
use super::parts::{PartReader, call_args, field, signature_part, str_field};
use super::response::{decode_finish, decode_usage, encode_finish, encode_usage, prompt_blocked};
use super::response_id::fallback_id;
use crate::translate::sse::event_data;

/// Decodes a Gemini `alt=sse` stream.
pub struct StreamDecoder {
    started: bool,
    reader: PartReader,
    /// Calls seen so far: the IR index of the next one.
    calls: u32,
    finished: bool,
    last_usage: Option<Usage>,
    /// Events skipped because their data was not a JSON object (or array of objects).
    pub malformed: u64,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self {
            started: false,
            reader: PartReader::new(None),
            calls: 0,
            finished: false,
            last_usage: None,
            malformed: 0,
        }
    }

    fn chunk(&mut self, chunk: &Value, out: &mut Vec<Event>) {
        if let Some(error) = chunk.get("error") {
            out.push(Event::Error(error_info(error, error_status(error, 502))));
            return;
        }
        if !self.started {
            self.started = true;
            let id = str_field(chunk, "responseId", "response_id").filter(|id| !id.is_empty());
            // Call ids carry the response id, so the ids of two turns never collide.
            self.reader = PartReader::new(id);
            let model = str_field(chunk, "modelVersion", "model_version").unwrap_or_default();
            out.push(Event::Start {
                id: id.map_or_else(fallback_id, str::to_owned),
                model: model.to_owned(),
            });
        }
        // Usage first: an encoder that writes its header at the first content (Anthropic's
        // `message_start`) then already knows the prompt's tokens.
        if let Some(meta) = field(chunk, "usageMetadata", "usage_metadata") {
            let usage = decode_usage(meta);
            if self.last_usage != Some(usage) {
                self.last_usage = Some(usage);
                out.push(Event::Usage(usage));
            }
        }
        let candidate = chunk
            .get("candidates")
            .and_then(Value::as_array)
            .and_then(|c| c.first());
        let content_parts = candidate
            .and_then(|c| c.get("content"))
            .and_then(|c| c.get("parts"));
        let mut parts = Vec::new();
        for part in content_parts
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.reader.read(part, &mut parts);
        }
        for part in parts {
            self.events(part, out);
        }
        let reason = match candidate {
            Some(c) => str_field(c, "finishReason", "finish_reason")
                .and_then(|r| decode_finish(r, self.calls > 0)),
            None if prompt_blocked(chunk) => Some(FinishReason::ContentFilter),
            None => None,
        };
        if let Some(reason) = reason
            && !self.finished
        {
            self.finished = true;
            out.push(Event::Finish {
                reason,
                stop_sequence: None,
            });
        }
    }

    fn events(&mut self, part: Part, out: &mut Vec<Event>) {
        match part {
            Part::Text(text) => out.push(Event::TextDelta(text)),
            Part::Thinking { text, signature } => {
                if !text.is_empty() {
                    out.push(Event::ThinkingDelta(text));
                }
                if let Some(signature) = signature {
                    out.push(Event::ThinkingSignature(signature));
                }
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                let index = self.calls;
                self.calls += 1;
                out.push(Event::ToolCallStart { index, id, name });
                out.push(Event::ToolCallDelta { index, arguments });
            }
            // Streamed images and results have no IR event.
            Part::Image(_) | Part::ToolResult { .. } | Part::RedactedThinking { .. } => {}
        }
    }
}

impl Decode for StreamDecoder {
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>) {
        let Some(data) = event_data(event) else {
            return;
        };
        let data = data.trim_ascii();
        if data.is_empty() || data == b"[DONE]" {
            return;
        }
        match serde_json::from_slice::<Value>(data) {
            Ok(chunk @ Value::Object(_)) => self.chunk(&chunk, out),
            // Google's non-SSE framing: an array of chunks.
            Ok(Value::Array(chunks)) => {
                for chunk in &chunks {
                    if chunk.is_object() {
                        self.chunk(chunk, out);
                    } else {
                        self.malformed += 1;
                    }
                }
            }
            Ok(_) | Err(_) => self.malformed += 1,
        }
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> bool {
        self.finished
    }

    fn malformed(&self) -> u64 {
        self.malformed
    }
}

/// A call whose arguments are still arriving.
struct PendingCall {
    index: u32,
    name: String,
    arguments: String,
}

/// Encodes IR events as a Gemini `alt=sse` stream.
pub struct StreamEncoder {
    id: Option<String>,
    model: Option<String>,
    calls: Vec<PendingCall>,
    /// A thought signature waiting for the part it belongs on.
    signature: Option<String>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    /// Finished or failed: nothing more may be written.
    closed: bool,
}

impl Default for StreamEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self {
            id: None,
            model: None,
            calls: Vec::new(),
            signature: None,
            finish: None,
            usage: None,
            closed: false,
        }
    }

    /// Writes one chunk with `part`. A waiting signature goes on it unless it is a thought
    /// (a signature belongs after the thought it signs).
    fn part(&mut self, mut part: Value, out: &mut Vec<u8>) {
        let is_thought = part.get("thought").is_some();
        if let Some(sig) = self.signature.take() {
            if is_thought {
                self.chunk(vec![signature_part(&sig)], None, out);
            } else if let Value::Object(map) = &mut part {
                map.insert("thoughtSignature".into(), json!(sig));
            }
        }
        self.chunk(vec![part], None, out);
    }

    /// Writes the calls whose arguments are complete.
    fn flush_calls(&mut self, out: &mut Vec<u8>) {
        for call in std::mem::take(&mut self.calls) {
            let part = json!({ "functionCall": { "name": call.name, "args": call_args(&call.arguments) } });
            self.part(part, out);
        }
    }

    fn chunk(&self, parts: Vec<Value>, last: Option<(&str, Option<Usage>)>, out: &mut Vec<u8>) {
        let mut candidate = Map::new();
        candidate.insert("content".into(), json!({ "role": "model", "parts": parts }));
        let mut chunk = Map::new();
        if let Some((reason, usage)) = last {
            candidate.insert("finishReason".into(), json!(reason));
            if let Some(usage) = usage {
                chunk.insert("usageMetadata".into(), encode_usage(&usage));
            }
        }
        candidate.insert("index".into(), json!(0));
        chunk.insert("candidates".into(), json!([candidate]));
        if let Some(model) = &self.model {
            chunk.insert("modelVersion".into(), json!(model));
        }
        if let Some(id) = &self.id {
            chunk.insert("responseId".into(), json!(id));
        }
        write_event(&Value::Object(chunk), out);
    }
}

fn write_event(data: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(&serde_json::to_vec(data).unwrap_or_default());
    out.extend_from_slice(b"\n\n");
}

impl Encode for StreamEncoder {
    fn encode_event(&mut self, event: &Event, out: &mut Vec<u8>) {
        match event {
            // Nothing follows the end or an error.
            _ if self.closed => {}
            Event::Start { id, model } => {
                self.id = Some(id.clone()).filter(|s| !s.is_empty());
                self.model = Some(model.clone()).filter(|s| !s.is_empty());
            }
            Event::TextDelta(text) | Event::ThinkingDelta(text) if text.is_empty() => {}
            Event::TextDelta(text) => {
                self.flush_calls(out);
                self.part(json!({ "text": text }), out);
            }
            Event::ThinkingDelta(text) => {
                self.flush_calls(out);
                self.part(json!({ "text": text, "thought": true }), out);
            }
            Event::ThinkingSignature(sig) if sig.is_empty() => {}
            Event::ThinkingSignature(sig) => {
                if let Some(earlier) = self.signature.replace(sig.clone()) {
                    self.chunk(vec![signature_part(&earlier)], None, out);
                }
            }
            Event::ToolCallStart { index, name, .. } => {
                // Calls stream one after another: a new one completes the one before.
                self.flush_calls(out);
                self.calls.push(PendingCall {
                    index: *index,
                    name: name.clone(),
                    arguments: String::new(),
                });
            }
            Event::ToolCallDelta { index, arguments } => {
                // A fragment for a call already written cannot be sent any more; it is dropped.
                if let Some(call) = self.calls.iter_mut().find(|c| c.index == *index) {
                    call.arguments.push_str(arguments);
                }
            }
            Event::Usage(usage) => self.usage = Some(*usage),
            Event::Finish { reason, .. } => {
                self.flush_calls(out);
                self.finish = Some(*reason);
            }
            Event::Error(error) => self.fail(error, out),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        self.flush_calls(out);
        let parts: Vec<Value> = self
            .signature
            .take()
            .iter()
            .map(|s| signature_part(s))
            .collect();
        let reason = encode_finish(self.finish.unwrap_or(FinishReason::Stop));
        self.chunk(parts, Some((reason, self.usage)), out);
        self.closed = true;
    }

    fn fail(&mut self, error: &ErrorInfo, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        write_event(&error_body(error), out);
        self.closed = true;
    }
}
