//! Request records packed into byte segments: the form the in-memory window keeps them in.
//! A record is one run of bytes in its segment (each field after the other: numbers as
//! eight bytes, text as its length and its bytes), written by the record writer's thread.
//! The window drops its oldest records a whole segment at a time: one free per
//! [`SEGMENT_RECORDS`] records, where keeping the records themselves cost a free of each of
//! their strings, on a thread other than the one that made them (which the allocator pays
//! for dearly once the strings' pages have filled up and been handed back).

use std::collections::VecDeque;

use super::records::Record;

/// Records in one segment.
const SEGMENT_RECORDS: usize = 1024;

/// Packed records, oldest first.
#[derive(Debug, Default)]
pub struct Packed {
    segments: VecDeque<Segment>,
    len: usize,
}

#[derive(Debug)]
struct Segment {
    bytes: Vec<u8>,
    count: usize,
}

impl Packed {
    /// Records held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `record`.
    pub fn push(&mut self, record: &Record) {
        if self
            .segments
            .back()
            .is_none_or(|s| s.count >= SEGMENT_RECORDS)
        {
            self.segments.push_back(Segment {
                bytes: Vec::new(),
                count: 0,
            });
        }
        if let Some(segment) = self.segments.back_mut() {
            pack(&mut segment.bytes, record);
            segment.count += 1;
            self.len += 1;
        }
    }

    /// Drops the oldest segments while the others still hold `keep` records or more: the
    /// newest `keep` stay, with fewer than a segment's worth of older ones.
    pub fn trim(&mut self, keep: usize) {
        while let Some(oldest) = self.segments.front()
            && self.len - oldest.count >= keep
        {
            self.len -= oldest.count;
            self.segments.pop_front();
        }
    }

    /// Every record, oldest first, unpacked; the segments are emptied.
    pub fn take(&mut self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.len);
        for segment in std::mem::take(&mut self.segments) {
            let mut rest = segment.bytes.as_slice();
            for _ in 0..segment.count {
                match unpack(&mut rest) {
                    Some(r) => out.push(r),
                    // Only this module writes the bytes: unreachable, and not a panic.
                    None => break,
                }
            }
        }
        self.len = 0;
        out
    }
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_i64(out, s.len() as i64);
    out.extend_from_slice(s.as_bytes());
}

/// An absent text is length −1.
fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_str(out, s),
        None => put_i64(out, -1),
    }
}

fn pack(out: &mut Vec<u8>, r: &Record) {
    // Every field named: a field added to `Record` does not compile here until it is packed.
    let Record {
        id,
        created_at,
        key_id,
        team_id,
        endpoint,
        model_requested,
        provider,
        model,
        status,
        error,
        input_tokens,
        output_tokens,
        cached_tokens,
        cost_usd,
        cost_unknown,
        latency_ms,
        ttft_ms,
        attempts,
        failovers,
        cache_status,
        stream,
        request_body,
        response_body,
        audit,
        source,
        project,
    } = r;
    put_str(out, id);
    put_str(out, endpoint);
    for s in [
        key_id,
        team_id,
        model_requested,
        provider,
        model,
        error,
        cache_status,
        request_body,
        response_body,
        audit,
        source,
        project,
    ] {
        put_opt(out, s.as_deref());
    }
    let flags =
        i64::from(*cost_unknown) | i64::from(*stream) << 1 | i64::from(ttft_ms.is_some()) << 2;
    for v in [
        *created_at,
        *status,
        *input_tokens,
        *output_tokens,
        *cached_tokens,
        cost_usd.to_bits() as i64,
        *latency_ms,
        ttft_ms.unwrap_or(0),
        *attempts,
        *failovers,
        flags,
    ] {
        put_i64(out, v);
    }
}

fn take_i64(rest: &mut &[u8]) -> Option<i64> {
    let (head, tail) = rest.split_first_chunk::<8>()?;
    *rest = tail;
    Some(i64::from_le_bytes(*head))
}

fn take_opt(rest: &mut &[u8]) -> Option<Option<String>> {
    let len = take_i64(rest)?;
    if len < 0 {
        return Some(None);
    }
    let len = usize::try_from(len).ok()?;
    let text = rest.get(..len)?;
    *rest = &rest[len..];
    Some(Some(String::from_utf8(text.to_vec()).ok()?))
}

fn take_str(rest: &mut &[u8]) -> Option<String> {
    take_opt(rest)?
}

fn unpack(rest: &mut &[u8]) -> Option<Record> {
    let id = take_str(rest)?;
    let endpoint = take_str(rest)?;
    let mut texts = [(); 12].map(|()| None);
    for t in &mut texts {
        *t = take_opt(rest)?;
    }
    let [
        key_id,
        team_id,
        model_requested,
        provider,
        model,
        error,
        cache_status,
        request_body,
        response_body,
        audit,
        source,
        project,
    ] = texts;
    let mut n = [0i64; 11];
    for v in &mut n {
        *v = take_i64(rest)?;
    }
    let [
        created_at,
        status,
        input_tokens,
        output_tokens,
        cached_tokens,
        cost_bits,
        latency_ms,
        ttft,
        attempts,
        failovers,
        flags,
    ] = n;
    Some(Record {
        id,
        created_at,
        key_id,
        team_id,
        endpoint,
        model_requested,
        provider,
        model,
        status,
        error,
        input_tokens,
        output_tokens,
        cached_tokens,
        cost_usd: f64::from_bits(cost_bits as u64),
        cost_unknown: flags & 1 != 0,
        latency_ms,
        ttft_ms: (flags & 4 != 0).then_some(ttft),
        attempts,
        failovers,
        cache_status,
        stream: flags & 2 != 0,
        request_body,
        response_body,
        audit,
        source,
        project,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(i: i64) -> Record {
        let s = |name: &str| Some(format!("{name}-{i}-é"));
        Record {
            id: format!("req_{i}"),
            created_at: i,
            key_id: s("key"),
            team_id: s("team"),
            endpoint: "chat_completions".into(),
            model_requested: s("asked"),
            provider: s("provider"),
            model: s("model"),
            status: 200 + i,
            error: s("error"),
            input_tokens: 1 + i,
            output_tokens: 2 + i,
            cached_tokens: 3 + i,
            cost_usd: 0.125 * i as f64,
            cost_unknown: i % 2 == 0,
            latency_ms: 4 + i,
            ttft_ms: Some(0),
            attempts: 5 + i,
            failovers: 6 + i,
            cache_status: s("hit"),
            stream: i % 3 == 0,
            request_body: Some(String::new()),
            response_body: s("{}"),
            audit: s("[]"),
            source: s("src"),
            project: s("proj"),
        }
    }

    #[test]
    fn records_come_back_as_they_went_in() {
        let mut packed = Packed::default();
        let records: Vec<Record> = (0..5)
            .map(full)
            .chain([
                Record::default(),
                Record {
                    id: "req_x".into(),
                    cost_usd: f64::NAN,
                    created_at: i64::MIN,
                    ..Record::default()
                },
            ])
            .collect();
        for r in &records {
            packed.push(r);
        }
        assert_eq!(packed.len(), 7);
        let back = packed.take();
        assert!(packed.is_empty());
        assert_eq!(back.len(), 7);
        for (a, b) in records.iter().zip(&back) {
            // (NaN is not equal to itself: compared by its bits.)
            assert_eq!(a.cost_usd.to_bits(), b.cost_usd.to_bits());
            let (mut a, mut b) = (a.clone(), b.clone());
            a.cost_usd = 0.0;
            b.cost_usd = 0.0;
            assert_eq!(a, b);
        }
    }

    #[test]
    fn trimming_drops_whole_segments_and_keeps_the_newest() {
        let mut packed = Packed::default();
        let n = 3 * SEGMENT_RECORDS as i64 + 10;
        for i in 0..n {
            packed.push(&Record {
                created_at: i,
                ..Record::default()
            });
        }
        let keep = SEGMENT_RECORDS + 5;
        packed.trim(keep);
        // The newest `keep` (1,029) are in the last two segments (one full, one of 10);
        // the two before them go.
        assert!(packed.len() >= keep && packed.len() < keep + SEGMENT_RECORDS);
        let back = packed.take();
        assert_eq!(back.last().map(|r| r.created_at), Some(n - 1));
        assert_eq!(back.len(), SEGMENT_RECORDS + 10);
        let in_order = back
            .windows(2)
            .all(|w| w[1].created_at == w[0].created_at + 1);
        assert!(in_order);
    }
}
