//! OpenAI chat-completion SSE streams ⇄ IR events.
//!
//! The decoder keeps the tool-call indexes the provider used (OpenAI's `index` is already the
//! ordinal of the call). The encoder puts `role` in the first chunk, gives each tool call its
//! own `index`, sends `finish_reason` in its own chunk, usage in a `choices: []` chunk when the
//! client asked for it, and ends with `[DONE]` only when the stream completed.

use serde_json::{Value, json};

use super::response::{error_type, finish_reason_str, now, parse_finish, parse_usage, usage_json};
use crate::sse::event_data;
use crate::translate::ir::{ErrorInfo, Event, FinishReason, Usage};

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
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }
}

impl crate::translate::StreamDecoder for StreamDecoder {
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>) {
        let Some(data) = event_data(event) else {
            return;
        };
        if data.as_ref() == b"[DONE]" {
            self.done = true;
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&data) else {
            self.malformed += 1;
            return;
        };
        if let Some(err) = v.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("provider error")
                .to_string();
            let code = err
                .get("code")
                .and_then(Value::as_str)
                .or_else(|| err.get("type").and_then(Value::as_str));
            out.push(Event::Error(ErrorInfo {
                status: 502,
                message,
                code: code.map(str::to_string),
            }));
            return;
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: v
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                model: v
                    .get("model")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        if let Some(choice) = v.pointer("/choices/0") {
            let delta = choice.get("delta");
            if let Some(r) = delta
                .and_then(|d| d.get("reasoning_content"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                out.push(Event::ThinkingDelta(r.to_string()));
            }
            if let Some(t) = delta
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                out.push(Event::TextDelta(t.to_string()));
            }
            if let Some(calls) = delta
                .and_then(|d| d.get("tool_calls"))
                .and_then(Value::as_array)
            {
                for (pos, c) in calls.iter().enumerate() {
                    let index = c
                        .get("index")
                        .and_then(Value::as_u64)
                        .map_or(pos as u32, |i| i as u32);
                    if !self.tool_started.contains(&index) {
                        self.tool_started.push(index);
                        out.push(Event::ToolCallStart {
                            index,
                            id: c
                                .get("id")
                                .and_then(Value::as_str)
                                .map_or_else(|| format!("call_{index}"), str::to_string),
                            name: c
                                .pointer("/function/name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                        });
                    }
                    if let Some(a) = c
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .filter(|a| !a.is_empty())
                    {
                        out.push(Event::ToolCallDelta {
                            index,
                            arguments: a.to_string(),
                        });
                    }
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finished = true;
                out.push(Event::Finish {
                    reason: parse_finish(reason),
                    stop_sequence: None,
                });
            }
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            out.push(Event::Usage(parse_usage(u)));
        }
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> bool {
        self.done || self.finished
    }

    fn malformed(&self) -> u64 {
        self.malformed
    }
}

/// IR → OpenAI SSE.
#[derive(Debug)]
pub struct StreamEncoder {
    include_usage: bool,
    id: String,
    model: String,
    created: u64,
    started: bool,
    finished: bool,
    usage: Option<Usage>,
}

impl StreamEncoder {
    /// `include_usage`: send the usage chunk (the client asked for it).
    pub fn new(include_usage: bool) -> Self {
        Self {
            include_usage,
            id: String::new(),
            model: String::new(),
            created: now(),
            started: false,
            finished: false,
            usage: None,
        }
    }

    fn chunk(&self, out: &mut Vec<u8>, delta: Value, finish: Option<FinishReason>) {
        let v = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish.map(finish_reason_str)}],
        });
        write_data(out, &v);
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            if self.id.is_empty() {
                self.id = format!("chatcmpl-{:x}", self.created);
            }
            self.chunk(out, json!({"role": "assistant", "content": ""}), None);
        }
    }
}

fn write_data(out: &mut Vec<u8>, v: &Value) {
    out.extend_from_slice(b"data: ");
    // Serialising a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
    out.extend_from_slice(b"\n\n");
}

impl crate::translate::StreamEncoder for StreamEncoder {
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
                self.chunk(out, json!({"content": t}), None);
            }
            Event::ThinkingDelta(t) => {
                self.ensure_started(out);
                self.chunk(out, json!({"reasoning_content": t}), None);
            }
            Event::ThinkingSignature(_) => {}
            Event::ToolCallStart { index, id, name } => {
                self.ensure_started(out);
                let call = json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
                self.chunk(out, json!({"tool_calls": [call]}), None);
            }
            Event::ToolCallDelta { index, arguments } => {
                self.ensure_started(out);
                self.chunk(
                    out,
                    json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}),
                    None,
                );
            }
            Event::Usage(u) => self.usage = Some(*u),
            Event::Finish { reason, .. } => {
                self.ensure_started(out);
                if !self.finished {
                    self.finished = true;
                    self.chunk(out, json!({}), Some(*reason));
                }
            }
            Event::Error(e) => crate::translate::StreamEncoder::fail(self, e, out),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.ensure_started(out);
        if !self.finished {
            self.finished = true;
            self.chunk(out, json!({}), Some(FinishReason::Stop));
        }
        if self.include_usage {
            let usage = self.usage.unwrap_or_default();
            let v = json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage_json(&usage),
            });
            write_data(out, &v);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }

    fn fail(&mut self, error: &ErrorInfo, out: &mut Vec<u8>) {
        let v = json!({"error": {"message": error.message, "type": error_type(error.status), "code": error.code, "param": null}});
        write_data(out, &v);
    }
}
