//! Anthropic Messages SSE events (from a provider) → IR [`Event`]s.
//!
//! State carried across events: the usage fields reported so far (`message_start` has the
//! input side; a `message_delta` may report only `output_tokens`), a map from Anthropic's content
//! block index to the ordinal of each `tool_use` block among the tool calls (the IR's tool
//! index), and whether the stream ended properly. Events that cannot be read are skipped and
//! counted in [`StreamDecoder::malformed`]; event types this decoder does not know are
//! ignored, as Anthropic asks clients to do.

use serde_json::{Map, Value};

use super::{finish_from_wire, usage_from_wire};
use crate::sse::{event_data, event_name};
use crate::translate::StreamDecoder as Decode;
use crate::translate::ir::{ErrorInfo, Event, Usage};

/// Decodes one Anthropic stream.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// Events skipped because they could not be read (bad JSON, missing fields).
    pub malformed: u64,
    /// Anthropic usage fields so far: `message_start`'s, overwritten by each `message_delta`'s.
    usage: Map<String, Value>,
    /// `(content block index, tool ordinal)` of each `tool_use` block, in order.
    tools: Vec<(u64, u32)>,
    /// Ordinal of the next `tool_use` block.
    next_tool: u32,
    /// A `message_delta` with a `stop_reason` was seen.
    finished: bool,
    /// `message_stop` was seen.
    stopped: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one event's JSON; `None` when a required field is missing.
    fn decode(&mut self, kind: &str, v: &Value, out: &mut Vec<Event>) -> Option<()> {
        match kind {
            "message_start" => {
                let message = v.get("message")?;
                out.push(Event::Start {
                    id: string(message, "id").unwrap_or_default().to_owned(),
                    model: string(message, "model").unwrap_or_default().to_owned(),
                });
                if let Some(Value::Object(usage)) = message.get("usage") {
                    self.usage = usage.clone();
                    out.push(Event::Usage(self.ir_usage()));
                }
            }
            "content_block_start" => {
                let index = v.get("index")?.as_u64()?;
                self.block_start(index, v.get("content_block")?, out)?;
            }
            "content_block_delta" => {
                let index = v.get("index")?.as_u64()?;
                self.block_delta(index, v.get("delta")?, out)?;
            }
            "message_delta" => {
                if let Some(Value::Object(usage)) = v.get("usage") {
                    // Cumulative counts; older responses restate only `output_tokens`.
                    for (key, value) in usage.iter().filter(|(_, v)| v.is_u64()) {
                        self.usage.insert(key.clone(), value.clone());
                    }
                    out.push(Event::Usage(self.ir_usage()));
                }
                let delta = v.get("delta")?;
                if let Some(reason) = string(delta, "stop_reason") {
                    self.finished = true;
                    out.push(Event::Finish {
                        reason: finish_from_wire(reason),
                        stop_sequence: string(delta, "stop_sequence").map(str::to_owned),
                    });
                }
            }
            "message_stop" => self.stopped = true,
            "error" => {
                let error = v.get("error");
                let code = error.and_then(|e| string(e, "type"));
                let message = error.and_then(|e| string(e, "message"));
                out.push(Event::Error(ErrorInfo {
                    status: if code == Some("overloaded_error") {
                        529
                    } else {
                        500
                    },
                    message: message
                        .unwrap_or("the provider reported an error mid-stream")
                        .to_owned(),
                    code: code.map(str::to_owned),
                }));
            }
            // `ping`, `content_block_stop` and event types added later carry nothing to map.
            _ => {}
        }
        Some(())
    }

    fn ir_usage(&self) -> Usage {
        usage_from_wire(&self.usage)
    }

    fn block_start(&mut self, index: u64, block: &Value, out: &mut Vec<Event>) -> Option<()> {
        match string(block, "type")? {
            "text" => push_text(out, Event::TextDelta, string(block, "text")),
            "thinking" => {
                push_text(out, Event::ThinkingDelta, string(block, "thinking"));
                push_text(out, Event::ThinkingSignature, string(block, "signature"));
            }
            "tool_use" => {
                let id = string(block, "id")?.to_owned();
                let name = string(block, "name")?.to_owned();
                let ordinal = self.next_tool;
                self.next_tool = ordinal.checked_add(1)?;
                self.tools.retain(|(i, _)| *i != index);
                self.tools.push((index, ordinal));
                out.push(Event::ToolCallStart {
                    index: ordinal,
                    id,
                    name,
                });
                // Anthropic starts with `input: {}` and streams the arguments; a provider that
                // sends them whole in the start still has them passed on.
                match block.get("input") {
                    Some(Value::Object(input)) if !input.is_empty() => {
                        out.push(Event::ToolCallDelta {
                            index: ordinal,
                            arguments: Value::Object(input.clone()).to_string(),
                        });
                    }
                    _ => {}
                }
            }
            // `redacted_thinking` (the IR has no stream event for it), server-tool blocks.
            _ => {}
        }
        Some(())
    }

    fn block_delta(&mut self, index: u64, delta: &Value, out: &mut Vec<Event>) -> Option<()> {
        match string(delta, "type")? {
            "text_delta" => push_text(out, Event::TextDelta, Some(string(delta, "text")?)),
            "thinking_delta" => {
                push_text(out, Event::ThinkingDelta, Some(string(delta, "thinking")?));
            }
            "signature_delta" => {
                push_text(
                    out,
                    Event::ThinkingSignature,
                    Some(string(delta, "signature")?),
                );
            }
            "input_json_delta" => {
                let fragment = string(delta, "partial_json")?;
                let ordinal = self.tools.iter().find(|(i, _)| *i == index)?.1;
                if !fragment.is_empty() {
                    out.push(Event::ToolCallDelta {
                        index: ordinal,
                        arguments: fragment.to_owned(),
                    });
                }
            }
            // `citations_delta` and later delta types.
            _ => {}
        }
        Some(())
    }
}

impl Decode for StreamDecoder {
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>) {
        let Some(data) = event_data(event) else {
            return; // a comment or keep-alive
        };
        let Ok(v) = serde_json::from_slice::<Value>(&data) else {
            self.malformed += 1;
            return;
        };
        // The JSON names its type; the `event:` line is the fallback.
        let name = event_name(event).and_then(|n| std::str::from_utf8(n).ok());
        let Some(kind) = string(&v, "type").or(name.map(str::trim)) else {
            self.malformed += 1;
            return;
        };
        if self.decode(kind, &v, out).is_none() {
            self.malformed += 1;
        }
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> bool {
        self.stopped || self.finished
    }

    fn malformed(&self) -> u64 {
        self.malformed
    }
}

/// A string field.
fn string<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Pushes `make(text)` when there is text.
fn push_text(out: &mut Vec<Event>, make: fn(String) -> Event, text: Option<&str>) {
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        out.push(make(text.to_owned()));
    }
}
