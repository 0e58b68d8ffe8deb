//! A stream translator owned by one request: SSE framing over any chunk split, a provider
//! decoder and a caller encoder, with usage and completion tracked on the way.
//!
//! `push(chunk) -> bytes to send now`; `finish() -> closing bytes` when the upstream ended
//! (a proper end, or an in-format error when the upstream stopped without finishing);
//! `fail(error) -> error event` when the gateway gives up on the stream.
//!
//! The same translator carries on a stream that broke mid-answer ([`StreamTranslator::continuing`]):
//! its [`Splice`] drops what the client already has from the new stream.

use bytes::Bytes;

use crate::compliance::policy::StreamGate;

use super::contract::{StreamDecoder, StreamEncoder};
use super::gated::EventGate;
use super::ir::{ErrorInfo, Event};
use super::relay::{Finished, Relay, RelayStatus, RescuePoint, blocked_error, incomplete};
use super::splice::{Admit, Splice};
use super::sse::SseFramer;

/// Translates one upstream SSE stream into the caller's format.
pub struct StreamTranslator {
    framer: SseFramer,
    decoder: Box<dyn StreamDecoder>,
    encoder: Box<dyn StreamEncoder>,
    events: Vec<Event>,
    /// Usage, content seen, an upstream error event, malformed events.
    pub status: RelayStatus,
    /// Nothing more is read from the upstream (it ended, failed or sent an error).
    done: bool,
    /// The client's stream was ended (its proper end or an error event was written).
    ended: bool,
    /// Whether `finish` found the upstream complete.
    clean: bool,
    /// Set when this stream continues one the client already has (mid-stream rescue).
    splice: Option<Splice>,
    /// The output gate, when `[sanitization] compliance_gate` is on.
    gate: Option<EventGate>,
    /// What the gate released for the event at hand (kept for its capacity).
    gated: Vec<Event>,
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
            ended: false,
            clean: false,
            splice: None,
            gate: None,
            gated: Vec::new(),
        }
    }

    /// Puts the output gate between the decoder and the encoder.
    pub fn gated(mut self, gate: StreamGate) -> Self {
        self.gate = Some(EventGate::new(gate));
        self
    }

    /// A translator that carries on a client stream that broke: `encoder` stands where the
    /// client's stream stopped, `splice` says what of the new stream the client already has.
    /// It keeps a transcript (the client's text so far plus what it adds).
    pub fn continuing(
        decoder: Box<dyn StreamDecoder>,
        encoder: Box<dyn StreamEncoder>,
        splice: Splice,
        client_text: &str,
    ) -> Self {
        let mut t = Self::new(decoder, encoder);
        t.status.keep_transcript();
        if let Some(transcript) = &mut t.status.transcript {
            transcript.push_text(client_text);
        }
        t.splice = Some(splice);
        t
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
            self.decode(&event, &mut out);
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
        let (mut out, completed) = self.end_upstream();
        if !completed {
            self.fail_into(&incomplete(), &mut out);
        }
        Bytes::from(out)
    }

    /// The upstream ended: decodes what is left and, when the provider finished, writes the
    /// format's proper end. Returns the bytes and whether the provider finished; an
    /// unfinished stream is left open for the caller to continue or fail.
    fn end_upstream(&mut self) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        if self.done {
            return (out, self.clean);
        }
        if let Some(tail) = self.framer.finish() {
            self.decode(&tail, &mut out);
            if self.done {
                return (out, false);
            }
        }
        let completed = self.decoder.finish(&mut self.events);
        self.encode_pending(&mut out);
        if self.done {
            return (out, false);
        }
        if completed {
            if let Some(diverged) = self.splice.as_ref().and_then(|s| s.unmatched_at_end()) {
                self.diverge(&diverged, &mut out);
                return (out, false);
            }
            self.clean = true;
            self.ended = true;
            self.encoder.finish(&mut out);
        }
        self.done = true;
        (out, completed)
    }

    /// Writes an in-format error event unless the client's stream has ended.
    fn fail_into(&mut self, error: &ErrorInfo, out: &mut Vec<u8>) {
        if !self.ended {
            self.encoder.fail(error, out);
            self.ended = true;
        }
        self.done = true;
    }

    /// Decodes one complete upstream event and encodes what it means.
    fn decode(&mut self, event: &[u8], out: &mut Vec<u8>) {
        let before = self.decoder.malformed();
        self.decoder.decode_event(event, &mut self.events);
        if self.decoder.malformed() > before {
            self.status.count_malformed();
        }
        self.encode_pending(out);
    }

    /// A regenerated answer differs from the text the client has: the stream ends with an
    /// error event.
    fn diverge(&mut self, error: &ErrorInfo, out: &mut Vec<u8>) {
        self.status.diverged = true;
        self.status.content_seen = true;
        self.status.upstream_error = Some(error.clone());
        self.fail_into(error, out);
    }

    /// Ends the stream with an in-format error event.
    pub fn fail(&mut self, error: &ErrorInfo) -> Bytes {
        let mut out = Vec::new();
        self.fail_into(error, &mut out);
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
        let mut events = std::mem::take(&mut self.events);
        let mut gated = std::mem::take(&mut self.gated);
        for event in events.drain(..) {
            if let Event::Usage(u) = &event {
                // The provider's own report, for accounting (a continuation's encoder is given
                // the usage of the whole answer instead).
                self.status.usage = Some(*u);
            }
            let event = match &mut self.splice {
                None => event,
                Some(splice) => match splice.admit(event) {
                    Admit::Pass(event) => event,
                    Admit::Drop => continue,
                    Admit::Diverged(error) => {
                        self.diverge(&error, out);
                        break;
                    }
                },
            };
            let Some(gate) = &mut self.gate else {
                if self.emit(event, out) {
                    break;
                }
                continue;
            };
            let admitted = gate.admit(event, &mut gated);
            self.status.compliance.extend(gate.gate.take_noted());
            let mut stop = false;
            for event in gated.drain(..) {
                if self.emit(event, out) {
                    stop = true;
                    break;
                }
            }
            gated.clear();
            if let Err(detectors) = admitted {
                self.block(detectors, out);
                stop = true;
            }
            if stop {
                break;
            }
        }
        // Keeps the buffers' capacity for the next chunk.
        events.clear();
        self.events = events;
        self.gated = gated;
    }

    /// Encodes one event; `true` when the stream ended with it (an error event).
    fn emit(&mut self, event: Event, out: &mut Vec<u8>) -> bool {
        match &event {
            Event::Usage(_) => {}
            Event::TextDelta(t) => self.status.saw_text(t),
            Event::ThinkingDelta(t) | Event::ToolCallDelta { arguments: t, .. } => {
                self.status.saw_other(t.len());
            }
            Event::ToolCallStart { name, .. } => self.status.saw_other(name.len()),
            Event::Error(e) => {
                self.status.upstream_error = Some(e.clone());
                self.done = true;
                // Mid-answer, a stream that may be continued leaves its error event to
                // the caller, who either continues the stream or fails it.
                if !(self.status.content_seen && self.continuable()) {
                    self.fail_into(e, out);
                }
                return true;
            }
            Event::Start { .. } | Event::ThinkingSignature(_) | Event::Finish { .. } => {}
        }
        self.encoder.encode_event(&event, out);
        false
    }

    /// The output gate found what may not reach the client: the stream ends with an error
    /// event (the caller answers with an error instead when nothing was sent yet).
    fn block(&mut self, detectors: Vec<&'static str>, out: &mut Vec<u8>) {
        let error = blocked_error(&detectors);
        self.status.blocked = Some(detectors);
        self.fail_into(&error, out);
    }

    /// Whether the stream so far could be continued (a transcript of text only).
    fn continuable(&self) -> bool {
        self.status.transcript.as_ref().is_some_and(|t| !t.stopped)
    }
}

impl Relay for StreamTranslator {
    fn push(&mut self, chunk: &[u8]) -> Bytes {
        StreamTranslator::push(self, chunk)
    }

    fn finish(&mut self) -> Finished {
        let (tail, completed) = self.end_upstream();
        let completed = completed && self.status.upstream_error.is_none();
        Finished {
            tail: Bytes::from(tail),
            completed,
        }
    }

    fn fail(&mut self, error: &ErrorInfo) -> Bytes {
        StreamTranslator::fail(self, error)
    }

    fn status(&self) -> &RelayStatus {
        &self.status
    }

    fn pending(&self) -> usize {
        self.framer.pending()
    }

    fn rescue(&self) -> Option<RescuePoint> {
        if self.ended || self.status.diverged {
            return None;
        }
        let text = self.status.transcript.as_ref()?.text()?;
        // The encoder wrote everything the client has: it knows where the stream stands.
        let resume = self.encoder.resume()?;
        Some(RescuePoint { text, resume })
    }
}
