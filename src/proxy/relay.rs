//! What sits between an upstream SSE stream and the client: a [`Relay`] takes upstream chunks
//! and returns the bytes to send. Same-format streams pass through byte-exact while usage is
//! read on the way; cross-format streams go through a [`StreamTranslator`]. Every relay can end
//! a stream with an error event in the client's format.

use bytes::Bytes;

use crate::config::ApiFormat;
use crate::sse::{SseFramer, event_name};
use crate::translate::ir::{ErrorInfo, Event};
use crate::translate::{Codec, StreamDecoder, StreamTranslator};
use crate::usage::{OpenAiStreamObserver, Usage};

/// A streaming filter owned by one request.
pub enum Relay {
    /// OpenAI → OpenAI, byte-exact (optionally hiding the usage chunk the gateway asked for).
    OpenAi(OpenAiStreamObserver),
    /// Anthropic → Anthropic, byte-exact (thinking blocks and signatures untouched).
    Anthropic(AnthropicPassthrough),
    /// Any other pair.
    Translate(Box<StreamTranslator>),
}

impl Relay {
    /// Takes an upstream chunk; returns what to send now.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        match self {
            Relay::OpenAi(o) => o.push(chunk),
            Relay::Anthropic(a) => a.push(chunk),
            Relay::Translate(t) => t.push(chunk),
        }
    }

    /// The upstream ended cleanly at the transport level; returns the closing bytes.
    pub fn finish(&mut self) -> Bytes {
        match self {
            Relay::OpenAi(o) => o.finish(),
            Relay::Anthropic(a) => a.finish(),
            Relay::Translate(t) => t.finish(),
        }
    }

    /// Ends the stream with an in-format error event.
    pub fn fail(&mut self, error: &ErrorInfo) -> Bytes {
        match self {
            Relay::OpenAi(_) => encode_fail(ApiFormat::Openai, error),
            Relay::Anthropic(_) => encode_fail(ApiFormat::Anthropic, error),
            Relay::Translate(t) => t.fail(error),
        }
    }

    /// Usage seen so far.
    pub fn usage(&self) -> Option<Usage> {
        match self {
            Relay::OpenAi(o) => o.usage,
            Relay::Anthropic(a) => a.usage.map(Usage::from),
            Relay::Translate(t) => t.usage.map(Usage::from),
        }
    }
}

/// The error event of a format, through its encoder.
fn encode_fail(format: ApiFormat, error: &ErrorInfo) -> Bytes {
    let mut out = Vec::new();
    Codec(format).stream_encoder(false).fail(error, &mut out);
    Bytes::from(out)
}

/// Forwards an Anthropic stream unchanged, decoding only the events that carry usage.
pub struct AnthropicPassthrough {
    framer: SseFramer,
    decoder: Box<dyn StreamDecoder>,
    events: Vec<Event>,
    pub usage: Option<crate::translate::ir::Usage>,
}

impl Default for AnthropicPassthrough {
    fn default() -> Self {
        Self::new()
    }
}

impl AnthropicPassthrough {
    pub fn new() -> Self {
        Self {
            framer: SseFramer::new(),
            decoder: Codec(ApiFormat::Anthropic).stream_decoder(),
            events: Vec::new(),
            usage: None,
        }
    }

    fn observe(&mut self, event: &[u8]) {
        let interesting = matches!(
            event_name(event),
            Some(b"message_start" | b"message_delta" | b"message_stop")
        );
        if interesting {
            self.decoder.decode_event(event, &mut self.events);
            for e in self.events.drain(..) {
                if let Event::Usage(u) = e {
                    self.usage = Some(u);
                }
            }
        }
    }

    fn push(&mut self, chunk: &[u8]) -> Bytes {
        self.framer.push(chunk);
        let mut out = Vec::new();
        while let Some(event) = self.framer.next_event() {
            self.observe(&event);
            out.extend_from_slice(&event);
        }
        Bytes::from(out)
    }

    fn finish(&mut self) -> Bytes {
        match self.framer.finish() {
            Some(tail) => {
                self.observe(&tail);
                tail
            }
            None => Bytes::new(),
        }
    }
}

impl From<crate::translate::ir::Usage> for Usage {
    fn from(u: crate::translate::ir::Usage) -> Self {
        Usage {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            cached_tokens: u.cached_input_tokens,
        }
    }
}
