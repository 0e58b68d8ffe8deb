//! A stream translator owned by one request: SSE framing over any chunk split, a provider
//! decoder and a caller encoder, with usage and completion tracked on the way.
//!
//! `push(chunk) -> bytes to send now`; `finish() -> closing bytes` when the upstream ended
//! (a proper end, or an in-format error when the upstream stopped without finishing);
//! `fail(error) -> error event` when the gateway gives up on the stream.

use bytes::Bytes;

use super::contract::{StreamDecoder, StreamEncoder};
use super::ir::{ErrorInfo, Event};
use super::relay::{Finished, Relay, RelayStatus, incomplete};
use super::sse::SseFramer;

/// Translates one upstream SSE stream into the caller's format.
pub struct StreamTranslator {
    framer: SseFramer,
    decoder: Box<dyn StreamDecoder>,
    encoder: Box<dyn StreamEncoder>,
    events: Vec<Event>,
    /// Usage, content seen, an upstream error event, malformed events.
    pub status: RelayStatus,
    done: bool,
    /// Whether `finish` found the upstream complete.
    clean: bool,
}

impl StreamTranslator {
    pub fn new(decoder: Box<dyn StreamDecoder>, encoder: Box<dyn StreamEncoder>) -> Self {
        Self {
            framer: SseFramer::new(),
            decoder,
            encoder,
            events: Vec::new(),
            status: RelayStatus::default(),
            done: false,
            clean: false,
        }
    }

    /// Takes an upstream chunk; returns the translated bytes to send now.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        if self.done {
            return Bytes::new();
        }
        self.framer.push(chunk);
        // Translated events are about as long as the upstream's; growing the buffer from
        // empty would reallocate several times per chunk.
        let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 2 + 256);
        while let Some(event) = self.framer.next_event() {
            let before = self.decoder.malformed();
            self.decoder.decode_event(&event, &mut self.events);
            if self.decoder.malformed() > before {
                self.status.count_malformed();
            }
            self.encode_pending(&mut out);
            if self.done {
                break;
            }
        }
        Bytes::from(out)
    }

    /// The upstream ended. Returns the closing bytes: the format's proper end when the
    /// upstream finished, else an in-format error (a stream cut mid-answer is never
    /// presented as complete).
    pub fn finish(&mut self) -> Bytes {
        if self.done {
            return Bytes::new();
        }
        let mut out = Vec::new();
        if let Some(tail) = self.framer.finish() {
            let before = self.decoder.malformed();
            self.decoder.decode_event(&tail, &mut self.events);
            if self.decoder.malformed() > before {
                self.status.count_malformed();
            }
            self.encode_pending(&mut out);
            if self.done {
                return Bytes::from(out);
            }
        }
        let completed = self.decoder.finish(&mut self.events);
        self.encode_pending(&mut out);
        if self.done {
            return Bytes::from(out);
        }
        if completed {
            self.clean = true;
            self.encoder.finish(&mut out);
        } else {
            self.encoder.fail(&incomplete(), &mut out);
        }
        self.done = true;
        Bytes::from(out)
    }

    /// Ends the stream with an in-format error event.
    pub fn fail(&mut self, error: &ErrorInfo) -> Bytes {
        if self.done {
            return Bytes::new();
        }
        let mut out = Vec::new();
        self.encoder.fail(error, &mut out);
        self.done = true;
        Bytes::from(out)
    }

    /// Whether the upstream finished its answer (set by `finish`).
    pub fn finished_cleanly(&self) -> bool {
        self.clean
    }

    /// Whether the stream was closed (finished or failed).
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn encode_pending(&mut self, out: &mut Vec<u8>) {
        for event in self.events.drain(..) {
            match &event {
                Event::Usage(u) => self.status.usage = Some(*u),
                Event::TextDelta(_)
                | Event::ThinkingDelta(_)
                | Event::ToolCallStart { .. }
                | Event::ToolCallDelta { .. } => self.status.content_seen = true,
                Event::Error(e) => {
                    self.status.upstream_error = Some(e.clone());
                    self.encoder.fail(e, out);
                    self.done = true;
                    return;
                }
                Event::Start { .. } | Event::ThinkingSignature(_) | Event::Finish { .. } => {}
            }
            self.encoder.encode_event(&event, out);
        }
    }
}

impl Relay for StreamTranslator {
    fn push(&mut self, chunk: &[u8]) -> Bytes {
        StreamTranslator::push(self, chunk)
    }

    fn finish(&mut self) -> Finished {
        let tail = StreamTranslator::finish(self);
        let completed = self.status.upstream_error.is_none() && self.clean;
        Finished { tail, completed }
    }

    fn fail(&mut self, error: &ErrorInfo) -> Bytes {
        StreamTranslator::fail(self, error)
    }

    fn status(&self) -> &RelayStatus {
        &self.status
    }
}
