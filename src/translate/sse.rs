//! Server-sent-events framing over a byte stream split at arbitrary offsets.
//!
//! [`SseFramer::push`] takes chunks as they arrive and [`SseFramer::next_event`] yields each
//! complete event with its raw bytes (terminating blank line included), so a pass-through can
//! forward events byte-exact. [`event_data`] extracts the joined `data:` payload. Pure.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};

/// Splits a byte stream into SSE events.
#[derive(Debug, Default)]
pub struct SseFramer {
    buf: BytesMut,
    /// Bytes before this offset are known to hold no event terminator.
    scanned: usize,
}

impl SseFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event (raw bytes including its terminating blank line).
    pub fn next_event(&mut self) -> Option<Bytes> {
        let end = find_event_end(&self.buf, self.scanned);
        match end {
            Some(end) => {
                self.scanned = 0;
                Some(self.buf.split_to(end).freeze())
            }
            None => {
                // A terminator is at most 4 bytes; re-scan only the tail next time.
                self.scanned = self.buf.len().saturating_sub(3);
                None
            }
        }
    }

    /// Bytes of an unfinished event held back so far.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Ends the stream: returns the bytes of an unterminated last event, if any.
    pub fn finish(&mut self) -> Option<Bytes> {
        self.scanned = 0;
        if self.buf.is_empty() {
            None
        } else {
            Some(self.buf.split().freeze())
        }
    }
}

/// End offset (exclusive) of the first event in `buf`, scanning from `from`.
///
/// An event ends at a blank line: `\n\n`, `\r\n\r\n`, `\n\r\n` or `\r\r`.
fn find_event_end(buf: &[u8], from: usize) -> Option<usize> {
    // Jump between line-break bytes instead of looking at every byte.
    for i in memchr::memchr2_iter(b'\n', b'\r', buf.get(from..)?).map(|i| i + from) {
        match buf[i] {
            b'\n' => match buf.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            },
            b'\r' if buf.get(i + 1) == Some(&b'\r') => return Some(i + 2),
            _ => {}
        }
    }
    None
}

/// The `data` of an event: its `data:` lines joined with `\n` (one leading space stripped).
/// `None` when the event has no data line (a comment or a bare `event:`).
pub fn event_data(event: &[u8]) -> Option<Cow<'_, [u8]>> {
    // The common case: one `data: ` line and nothing else.
    if let Some(rest) = event.strip_prefix(b"data: ") {
        let body = rest
            .strip_suffix(b"\n\n")
            .or_else(|| rest.strip_suffix(b"\r\n\r\n"));
        if let Some(body) = body
            && memchr::memchr2(b'\n', b'\r', body).is_none()
        {
            return Some(Cow::Borrowed(body));
        }
    }
    let mut found: Option<Cow<'_, [u8]>> = None;
    for line in event.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"data") else {
            continue;
        };
        let value = match rest.first() {
            Some(b':') => rest[1..].strip_prefix(b" ").unwrap_or(&rest[1..]),
            None => rest,
            Some(_) => continue,
        };
        found = Some(match found {
            None => Cow::Borrowed(value),
            Some(prev) => {
                let mut joined = prev.into_owned();
                joined.push(b'\n');
                joined.extend_from_slice(value);
                Cow::Owned(joined)
            }
        });
    }
    found
}

/// The `event:` name of an event, if it has one.
pub fn event_name(event: &[u8]) -> Option<&[u8]> {
    event.split(|b| *b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.strip_prefix(b"event:")
            .map(|v| v.strip_prefix(b" ").unwrap_or(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"data: {\"a\":1}\n\n: comment\n\nevent: message_start\r\ndata: {\"b\":2}\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n\n";

    fn collect(chunks: &[&[u8]]) -> Vec<Bytes> {
        let mut f = SseFramer::new();
        let mut out = Vec::new();
        for c in chunks {
            f.push(c);
            while let Some(e) = f.next_event() {
                out.push(e);
            }
        }
        out
    }

    #[test]
    fn events_and_data() {
        let events = collect(&[STREAM]);
        assert_eq!(events.len(), 5);
        assert_eq!(event_data(&events[0]).as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(event_data(&events[1]), None);
        assert_eq!(event_name(&events[2]), Some(&b"message_start"[..]));
        assert_eq!(event_data(&events[2]).as_deref(), Some(&b"{\"b\":2}"[..]));
        assert_eq!(event_data(&events[3]).as_deref(), Some(&b"x\ny"[..]));
        assert_eq!(event_data(&events[4]).as_deref(), Some(&b"[DONE]"[..]));
        let joined: Vec<u8> = events.iter().flat_map(|e| e.to_vec()).collect();
        assert_eq!(joined, STREAM);
    }

    #[test]
    fn every_split_offset_gives_the_same_events() {
        let whole = collect(&[STREAM]);
        for i in 0..=STREAM.len() {
            for j in i..=STREAM.len() {
                let parts = [&STREAM[..i], &STREAM[i..j], &STREAM[j..]];
                assert_eq!(collect(&parts), whole, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn byte_by_byte() {
        let chunks: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(collect(&chunks), collect(&[STREAM]));
    }

    #[test]
    fn unterminated_tail_is_returned_by_finish() {
        let mut f = SseFramer::new();
        f.push(b"data: 1\n\ndata: 2");
        assert!(f.next_event().is_some());
        assert!(f.next_event().is_none());
        assert_eq!(f.finish().as_deref(), Some(&b"data: 2"[..]));
        assert!(f.finish().is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_preserves_bytes(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512), cut in 0usize..512) {
            let cut = cut.min(data.len());
            let mut f = SseFramer::new();
            let mut out = Vec::new();
            for part in [&data[..cut], &data[cut..]] {
                f.push(part);
                while let Some(e) = f.next_event() {
                    let _ = event_data(&e);
                    out.extend_from_slice(&e);
                }
            }
            if let Some(rest) = f.finish() { out.extend_from_slice(&rest); }
            proptest::prop_assert_eq!(out, data);
        }
    }
}
