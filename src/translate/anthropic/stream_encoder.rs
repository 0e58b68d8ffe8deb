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
//!
//! Speed: each event is written straight into the output, its fixed parts as byte literals
//! and only the strings and numbers in between formatted. The keys of every object are in
//! sorted order, as this encoder has always written them (from a `serde_json::Value`).

use super::error::error_type;
use super::fields::{finish_to_wire, message_id, uncached_input_tokens};
use crate::translate::contract::{Resume, StreamEncoder as Encode};
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

/// The `content_block` of a `content_block_start`.
enum Block<'a> {
    Text,
    Thinking,
    Tool { id: &'a str, name: &'a str },
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

    /// An encoder that carries on a stream whose `message_start` and first blocks the client
    /// already has: new blocks are numbered after `resume.blocks`, and text goes on in the open
    /// text block when there is one.
    pub fn resumed(resume: &Resume) -> Self {
        let open = resume
            .text_open
            .then(|| (resume.blocks.saturating_sub(1), Kind::Text));
        Self {
            started: true,
            next_block: resume.blocks,
            open,
            ..Self::default()
        }
    }

    /// Writes `message_start` and a `ping` unless written already.
    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let (id, model) = self.pending_start.take().unwrap_or_default();
        out.extend_from_slice(b"event: message_start\ndata: {\"message\":{\"content\":[],\"id\":");
        push_str(out, &message_id(&id));
        out.extend_from_slice(b",\"model\":");
        push_str(out, &model);
        out.extend_from_slice(
            b",\"role\":\"assistant\",\"stop_reason\":null,\"stop_sequence\":null,\
              \"type\":\"message\",\"usage\":",
        );
        match &self.usage {
            Some(usage) => push_usage(out, usage),
            None => out.extend_from_slice(b"{\"input_tokens\":0,\"output_tokens\":0}"),
        }
        out.extend_from_slice(
            b"},\"type\":\"message_start\"}\n\n\
              event: ping\ndata: {\"type\":\"ping\"}\n\n",
        );
    }

    /// Closes the open block, if any.
    fn stop_open(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            out.extend_from_slice(b"event: content_block_stop\ndata: {\"index\":");
            crate::decimal::push(out, index.into());
            out.extend_from_slice(b",\"type\":\"content_block_stop\"}\n\n");
        }
    }

    /// Opens a new block holding `block`; returns its index.
    fn start_block(&mut self, kind: Kind, block: Block<'_>, out: &mut Vec<u8>) -> u32 {
        self.ensure_started(out);
        self.stop_open(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, kind));
        out.extend_from_slice(b"event: content_block_start\ndata: {\"content_block\":");
        match block {
            Block::Text => out.extend_from_slice(b"{\"text\":\"\",\"type\":\"text\"}"),
            Block::Thinking => out
                .extend_from_slice(b"{\"signature\":\"\",\"thinking\":\"\",\"type\":\"thinking\"}"),
            Block::Tool { id, name } => {
                out.extend_from_slice(b"{\"id\":");
                push_str(out, id);
                out.extend_from_slice(b",\"input\":{},\"name\":");
                push_str(out, name);
                out.extend_from_slice(b",\"type\":\"tool_use\"}");
            }
        }
        out.extend_from_slice(b",\"index\":");
        crate::decimal::push(out, index.into());
        out.extend_from_slice(b",\"type\":\"content_block_start\"}\n\n");
        index
    }

    /// The index of the open text block, opening one when another kind is open.
    fn text_block(&mut self, out: &mut Vec<u8>) -> u32 {
        match self.open {
            Some((index, Kind::Text)) => index,
            _ => self.start_block(Kind::Text, Block::Text, out),
        }
    }

    /// The index of the open thinking block; thinking after a signature starts a new one.
    fn thinking_block(&mut self, for_signature: bool, out: &mut Vec<u8>) -> u32 {
        match self.open {
            Some((index, Kind::Thinking { signed })) if for_signature || !signed => index,
            _ => self.start_block(Kind::Thinking { signed: false }, Block::Thinking, out),
        }
    }

    fn tool_start(&mut self, ordinal: u32, id: &str, name: &str, out: &mut Vec<u8>) {
        if self.tools.iter().any(|(o, _)| *o == ordinal) {
            return; // announced already
        }
        let index = self.start_block(Kind::Tool, Block::Tool { id, name }, out);
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
                write_delta(
                    out,
                    index,
                    b"{\"text\":",
                    text,
                    b",\"type\":\"text_delta\"}",
                );
            }
            Event::ThinkingDelta(text) if !text.is_empty() => {
                let index = self.thinking_block(false, out);
                let end = b",\"type\":\"thinking_delta\"}";
                write_delta(out, index, b"{\"thinking\":", text, end);
            }
            Event::ThinkingSignature(signature) if !signature.is_empty() => {
                let index = self.thinking_block(true, out);
                self.open = Some((index, Kind::Thinking { signed: true }));
                let end = b",\"type\":\"signature_delta\"}";
                write_delta(out, index, b"{\"signature\":", signature, end);
            }
            Event::ToolCallStart { index, id, name } => self.tool_start(*index, id, name, out),
            Event::ToolCallDelta { index, arguments } if !arguments.is_empty() => {
                // A delta for a call never announced has no block to go to; decoders always
                // announce a call first, and an id must not be invented for it.
                if let Some(&(_, block)) = self.tools.iter().find(|(o, _)| o == index) {
                    let end = b",\"type\":\"input_json_delta\"}";
                    write_delta(out, block, b"{\"partial_json\":", arguments, end);
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
        out.extend_from_slice(b"event: message_delta\ndata: {\"delta\":{\"stop_reason\":\"");
        out.extend_from_slice(finish_to_wire(reason).as_bytes());
        out.extend_from_slice(b"\",\"stop_sequence\":");
        match &stop_sequence {
            Some(sequence) => push_str(out, sequence),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"},\"type\":\"message_delta\",\"usage\":");
        match &self.usage {
            Some(usage) => push_usage(out, usage),
            None => out.extend_from_slice(b"{\"output_tokens\":0}"),
        }
        out.extend_from_slice(
            b"}\n\n\
              event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        self.closed = true;
    }

    fn fail(&mut self, error: &ErrorInfo, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        // The body `encode_error` writes.
        out.extend_from_slice(b"event: error\ndata: {\"error\":{\"message\":");
        push_str(out, &error.message);
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(error_type(error.status).as_bytes());
        out.extend_from_slice(b"\"},\"type\":\"error\"}\n\n");
        self.closed = true;
    }

    fn resume(&self) -> Option<Resume> {
        Some(Resume {
            blocks: self.next_block,
            text_open: matches!(self.open, Some((_, Kind::Text))),
            ..Resume::default()
        })
    }
}

/// Appends a `content_block_delta` whose `delta` is `start`, `text` as a JSON string, `end`.
fn write_delta(out: &mut Vec<u8>, index: u32, start: &[u8], text: &str, end: &[u8]) {
    out.extend_from_slice(b"event: content_block_delta\ndata: {\"delta\":");
    out.extend_from_slice(start);
    push_str(out, text);
    out.extend_from_slice(end);
    out.extend_from_slice(b",\"index\":");
    crate::decimal::push(out, index.into());
    out.extend_from_slice(b",\"type\":\"content_block_delta\"}\n\n");
}

/// Appends the `usage` object of `usage` (as [`super::fields::usage_to_wire`] makes it).
fn push_usage(out: &mut Vec<u8>, usage: &Usage) {
    out.extend_from_slice(b"{\"cache_creation_input_tokens\":");
    crate::decimal::push(out, usage.cache_creation_input_tokens);
    out.extend_from_slice(b",\"cache_read_input_tokens\":");
    crate::decimal::push(out, usage.cached_input_tokens);
    out.extend_from_slice(b",\"input_tokens\":");
    crate::decimal::push(out, uncached_input_tokens(usage));
    out.extend_from_slice(b",\"output_tokens\":");
    crate::decimal::push(out, usage.output_tokens);
    out.push(b'}');
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it.
fn push_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
