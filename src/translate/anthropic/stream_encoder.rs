//! IR [`Event`]s → an Anthropic Messages SSE stream (`event: <type>\ndata: <json>\n\n`).
//!
//! The stream always reads as Anthropic's does: `message_start` (then a `ping`) before any
//! block, each block opened by `content_block_start` before its deltas and closed by
//! `content_block_stop`, and `message_delta` + `message_stop` at the end; after an `error`
//! event nothing follows. `message_start` is held back until the first event that is not
//! usage, so the input usage a provider reports with its start (Anthropic, Gemini) is in it.
//!
//! State: the open block, the block index of each tool call (its deltas go to its own block
//! even if another block opened since), and the usage and finish reason for the end.

use serde_json::{Value, json};

use super::{error_value, finish_to_wire, message_id, usage_to_wire};
use crate::translate::StreamEncoder as Encode;
use crate::translate::ir::{ErrorInfo, Event, FinishReason, Usage};

/// What the open content block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// Thinking; `signed` once its signature was sent (more thinking opens a new block).
    Thinking {
        signed: bool,
    },
    Tool,
}

/// Encodes one Anthropic stream.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    /// `(id, model)` of a `Start` whose `message_start` is not written yet.
    pending_start: Option<(String, String)>,
    /// `message_start` was written.
    started: bool,
    /// The stream was finished or failed: nothing more is written.
    closed: bool,
    /// Index of the next content block.
    next_block: u32,
    /// The open block: `(index, kind)`.
    open: Option<(u32, Kind)>,
    /// `(tool ordinal, block index)` of each tool call.
    tools: Vec<(u32, u32)>,
    usage: Option<Usage>,
    finish: Option<(FinishReason, Option<String>)>,
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `message_start` and a `ping` unless written already.
    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let (id, model) = self.pending_start.take().unwrap_or_default();
        let usage = match &self.usage {
            Some(usage) => usage_to_wire(usage),
            None => json!({ "input_tokens": 0, "output_tokens": 0 }),
        };
        let message = json!({
            "id": message_id(&id),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": usage,
        });
        write(
            out,
            "message_start",
            &json!({ "type": "message_start", "message": message }),
        );
        write(out, "ping", &json!({ "type": "ping" }));
    }

    /// Closes the open block, if any.
    fn stop_open(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            write(
                out,
                "content_block_stop",
                &json!({ "type": "content_block_stop", "index": index }),
            );
        }
    }

    /// Opens a new block holding `block` (its `content_block_start` body); returns its index.
    fn start_block(&mut self, kind: Kind, block: Value, out: &mut Vec<u8>) -> u32 {
        self.ensure_started(out);
        self.stop_open(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, kind));
        write(
            out,
            "content_block_start",
            &json!({ "type": "content_block_start", "index": index, "content_block": block }),
        );
        index
    }

    /// The index of the open text block, opening one when another kind is open.
    fn text_block(&mut self, out: &mut Vec<u8>) -> u32 {
        match self.open {
            Some((index, Kind::Text)) => index,
            _ => self.start_block(Kind::Text, json!({ "type": "text", "text": "" }), out),
        }
    }

    /// The index of the open thinking block; thinking after a signature starts a new one.
    fn thinking_block(&mut self, for_signature: bool, out: &mut Vec<u8>) -> u32 {
        match self.open {
            Some((index, Kind::Thinking { signed })) if for_signature || !signed => index,
            _ => self.start_block(
                Kind::Thinking { signed: false },
                json!({ "type": "thinking", "thinking": "", "signature": "" }),
                out,
            ),
        }
    }

    fn tool_start(&mut self, ordinal: u32, id: &str, name: &str, out: &mut Vec<u8>) {
        if self.tools.iter().any(|(o, _)| *o == ordinal) {
            return; // announced already
        }
        let block = json!({ "type": "tool_use", "id": id, "name": name, "input": {} });
        let index = self.start_block(Kind::Tool, block, out);
        self.tools.push((ordinal, index));
    }
}

impl Encode for StreamEncoder {
    fn encode_event(&mut self, event: &Event, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        match event {
            Event::Start { id, model } => {
                if !self.started && self.pending_start.is_none() {
                    self.pending_start = Some((id.clone(), model.clone()));
                }
            }
            Event::Usage(usage) => self.usage = Some(*usage),
            Event::Finish {
                reason,
                stop_sequence,
            } => {
                self.finish = Some((*reason, stop_sequence.clone()));
            }
            Event::Error(error) => self.fail(error, out),
            Event::TextDelta(text) if !text.is_empty() => {
                let index = self.text_block(out);
                write_delta(out, index, json!({ "type": "text_delta", "text": text }));
            }
            Event::ThinkingDelta(text) if !text.is_empty() => {
                let index = self.thinking_block(false, out);
                write_delta(
                    out,
                    index,
                    json!({ "type": "thinking_delta", "thinking": text }),
                );
            }
            Event::ThinkingSignature(signature) if !signature.is_empty() => {
                let index = self.thinking_block(true, out);
                self.open = Some((index, Kind::Thinking { signed: true }));
                let delta = json!({ "type": "signature_delta", "signature": signature });
                write_delta(out, index, delta);
            }
            Event::ToolCallStart { index, id, name } => self.tool_start(*index, id, name, out),
            Event::ToolCallDelta { index, arguments } if !arguments.is_empty() => {
                // A delta for a call never announced has no block to go to; decoders always
                // announce a call first, and an id must not be invented for it.
                if let Some(&(_, block)) = self.tools.iter().find(|(o, _)| o == index) {
                    let delta = json!({ "type": "input_json_delta", "partial_json": arguments });
                    write_delta(out, block, delta);
                }
            }
            // Empty deltas carry nothing.
            Event::TextDelta(_)
            | Event::ThinkingDelta(_)
            | Event::ThinkingSignature(_)
            | Event::ToolCallDelta { .. } => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        self.ensure_started(out);
        self.stop_open(out);
        let (reason, stop_sequence) = self.finish.take().unwrap_or((FinishReason::Stop, None));
        let usage = match &self.usage {
            Some(usage) => usage_to_wire(usage),
            None => json!({ "output_tokens": 0 }),
        };
        let delta = json!({
            "type": "message_delta",
            "delta": { "stop_reason": finish_to_wire(reason), "stop_sequence": stop_sequence },
            "usage": usage,
        });
        write(out, "message_delta", &delta);
        write(out, "message_stop", &json!({ "type": "message_stop" }));
        self.closed = true;
    }

    fn fail(&mut self, error: &ErrorInfo, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        write(out, "error", &error_value(error));
        self.closed = true;
    }
}

/// Appends one SSE event.
fn write(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // Serialising a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

fn write_delta(out: &mut Vec<u8>, index: u32, delta: Value) {
    let data = json!({ "type": "content_block_delta", "index": index, "delta": delta });
    write(out, "content_block_delta", &data);
}
