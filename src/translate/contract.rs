//! What every wire format implements: the [`EncodeOptions`] an encoder is given, and the
//! [`StreamDecoder`] / [`StreamEncoder`] traits of its SSE streams. The format folders
//! (`openai/`, `anthropic/`, `gemini/`) and the stream relays build on these.
//!
//! [`Resume`] is where a client's stream stands, so that an encoder can carry on a stream
//! another component began (mid-stream rescue of a same-format pass-through).
//!
//! May depend on the IR ([`super::ir`]) only: never on a format, a relay or `mod.rs`.

use super::ir::{ErrorInfo, Event};

/// What an encoder needs besides the IR request.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    /// The model id the provider knows.
    pub model: String,
    /// `max_tokens` to send when the request has none and the format requires it.
    pub default_max_tokens: u32,
    /// Ask for usage in streams (OpenAI `stream_options.include_usage`).
    pub include_usage: bool,
}

/// Decodes events of one SSE stream of a wire format into IR events. `&mut self`: ids, block
/// indexes and tool-call bookkeeping carry across events.
pub trait StreamDecoder: Send {
    /// One complete SSE event (raw bytes, terminator included); pushes what it means.
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>);
    /// The upstream stream ended; pushes any events still owed (e.g. a finish the format
    /// implies by closing). Returns whether the stream ended properly (a `[DONE]`,
    /// `message_stop` or a final chunk with a finish reason was seen).
    fn finish(&mut self, out: &mut Vec<Event>) -> bool;
    /// Events skipped because they could not be parsed.
    fn malformed(&self) -> u64 {
        0
    }
}

/// Encodes IR events as one wire format's SSE stream.
pub trait StreamEncoder: Send {
    /// Appends the bytes of `event` to `out`.
    fn encode_event(&mut self, event: &Event, out: &mut Vec<u8>);
    /// The stream completed normally: appends whatever closes it (`[DONE]`, `message_stop`,
    /// a last chunk with finish reason and usage) that was not sent yet.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// The stream failed: appends an in-format error event. Nothing may follow it.
    fn fail(&mut self, error: &ErrorInfo, out: &mut Vec<u8>);
    /// Where the stream written so far stands, for an encoder that carries it on (`None`: the
    /// format's streams are not carried on).
    fn resume(&self) -> Option<Resume> {
        None
    }
}

/// Where a client's stream stands after the events it was sent: enough for an encoder to carry
/// the stream on as if it had written them (the stream's identity and open content block).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// The stream's id and model, as the client saw them.
    pub id: String,
    pub model: String,
    /// OpenAI: the chunks' `created`.
    pub created: u64,
    /// Anthropic: content blocks started so far.
    pub blocks: u32,
    /// Anthropic: the last started block (a text block) is still open.
    pub text_open: bool,
    /// OpenAI: the client asked for the usage chunk.
    pub usage_chunk: bool,
}
