//! The output gate's stream filter: text arrives in pieces (SSE deltas split anywhere); it
//! emits each piece's text redacted as soon as no match can still change it, and holds back
//! only the tail a match could still span: the scanner's common window (the longest match of
//! a detector without an anchor), or, for a long detector (a JWT, a private-key block, an
//! email), from where its anchor (`eyJ`, `-----BEGIN`, `@`) appears in that detector's reach.
//! For any split of a text into pieces the output equals [`Scanner::redact`] of the whole,
//! and nothing a detector matches is ever emitted. Pure.

use std::sync::Arc;

use super::scan::{Finding, Scanner};

/// Bytes of already-emitted text kept before the pending text, for word boundaries.
const CONTEXT: usize = 8;

/// The longest text a detector's screen matches (its short pattern): a new piece is screened
/// together with this much of the text before it.
const SCREEN_SPAN: usize = 72;

/// One stream's filter.
#[derive(Debug)]
pub struct HoldBack {
    scanner: Arc<Scanner>,
    /// Per detector: its matches are found but left in the text (`log_only`).
    keep: Vec<bool>,
    /// Context (the first `ctx` bytes, already emitted) then pending text.
    buf: String,
    ctx: usize,
    /// Findings so far: detector index and offset in the whole stream's text.
    findings: Vec<(usize, usize)>,
    /// Bytes of the stream's text emitted before `buf`'s pending part.
    offset: usize,
    /// Some detector's screen matches in the pending text: it must be scanned. While none
    /// does, no match is possible and the text only waits out the hold-back.
    screened: bool,
    /// Per detector: where its anchor appears in `buf` (each piece is searched once).
    anchors: Vec<std::collections::VecDeque<usize>>,
}

impl HoldBack {
    /// A filter that redacts every match.
    pub fn new(scanner: Arc<Scanner>) -> Self {
        let n = scanner.detectors().len();
        HoldBack {
            keep: vec![false; n],
            buf: String::new(),
            ctx: 0,
            findings: Vec::new(),
            offset: 0,
            screened: false,
            anchors: vec![Default::default(); n],
            scanner,
        }
    }

    /// Leaves the matches of the detectors `keep` marks in the text (they are still found).
    pub fn keeping(mut self, keep: Vec<bool>) -> Self {
        if keep.len() == self.keep.len() {
            self.keep = keep;
        }
        self
    }

    /// Takes the next piece; returns the redacted text that may be sent now (maybe empty).
    pub fn push(&mut self, piece: &str) -> String {
        let old = self.buf.len();
        self.buf.push_str(piece);
        if !self.screened {
            let from = floor(&self.buf, old.saturating_sub(SCREEN_SPAN).max(self.ctx));
            self.screened = self.scanner.screened(&self.buf, from);
        }
        for (i, det) in self.scanner.detectors().iter().enumerate() {
            let Some((anchor, _)) = det.anchor else {
                continue;
            };
            let from = floor(
                &self.buf,
                old.saturating_sub(anchor.len() - 1).max(self.ctx),
            );
            let seen = &mut self.anchors[i];
            for (q, _) in self.buf[from..].match_indices(anchor) {
                if seen.back().is_none_or(|last| from + q > *last) {
                    seen.push_back(from + q);
                }
            }
        }
        let cut = self.cut();
        if cut <= self.ctx {
            return String::new();
        }
        self.emit(cut)
    }

    /// The end of the stream: everything left, redacted.
    pub fn finish(&mut self) -> String {
        let len = self.buf.len();
        if len <= self.ctx {
            return String::new();
        }
        self.emit(len)
    }

    /// What was found so far: (detector index, offset in the stream's text).
    pub fn findings(&self) -> &[(usize, usize)] {
        &self.findings
    }

    /// Text the filter holds now.
    pub fn held(&self) -> usize {
        self.buf.len() - self.ctx
    }

    /// How far the pending text may be emitted: nothing a match could still extend.
    fn cut(&mut self) -> usize {
        let len = self.buf.len();
        let mut cut = len.saturating_sub(self.scanner.window).max(self.ctx);
        for (i, det) in self.scanner.detectors().iter().enumerate() {
            let Some((_, within)) = det.anchor else {
                continue;
            };
            // An anchor further back than the detector's longest match holds nothing.
            let reach = len.saturating_sub(det.max_len).max(self.ctx);
            let seen = &mut self.anchors[i];
            while seen.front().is_some_and(|q| *q < reach) {
                seen.pop_front();
            }
            if let Some(q) = seen.front() {
                cut = cut.min(q.saturating_sub(within).max(self.ctx));
            }
        }
        let mut cut = floor(&self.buf, cut);
        // A match starting before the cut is final: the cut moves past its end.
        while self.screened
            && let Some(end) = self.scanner.spanning(&self.buf, self.ctx, cut)
        {
            cut = end;
        }
        cut
    }

    fn emit(&mut self, cut: usize) -> String {
        let found: Vec<Finding> = if self.screened {
            self.scanner.find(&self.buf[..cut], self.ctx)
        } else {
            Vec::new()
        };
        for f in &found {
            self.findings
                .push((f.detector, self.offset + f.start - self.ctx));
        }
        let redacted: Vec<Finding> = found
            .iter()
            .filter(|f| !self.keep[f.detector])
            .copied()
            .collect();
        let out = self
            .scanner
            .redact_from(&self.buf[..cut], self.ctx, &redacted);
        self.offset += cut - self.ctx;
        let keep_from = floor(&self.buf, cut.saturating_sub(CONTEXT));
        self.buf.drain(..keep_from);
        self.ctx = cut - keep_from;
        for seen in &mut self.anchors {
            while seen.front().is_some_and(|q| *q < cut) {
                seen.pop_front();
            }
            seen.iter_mut().for_each(|q| *q -= keep_from);
        }
        if self.screened {
            self.screened = self.scanner.screened(&self.buf, self.ctx);
        }
        out
    }
}

/// The largest char boundary of `s` at or before `i`.
fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TEXT: &str = "Sure! Email jane.doe@example.com or call (555) 123-4567. The key is \
        sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 and the token \
        eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U; \
        card 4111 1111 1111 1111 (not 4111 1111 1111 1112). \
        -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY----- done. \
        Ünïcödé text stays intact, password: hunter22 too.";

    fn run(scanner: &Arc<Scanner>, pieces: &[&str]) -> (String, Vec<String>) {
        let mut f = HoldBack::new(Arc::clone(scanner));
        let mut emitted = Vec::new();
        for p in pieces {
            emitted.push(f.push(p));
        }
        emitted.push(f.finish());
        (emitted.concat(), emitted)
    }

    fn split_at_all(text: &str, cuts: &[usize]) -> Vec<String> {
        let mut bounds: Vec<usize> = cuts
            .iter()
            .map(|c| floor(text, c % (text.len() + 1)))
            .collect();
        bounds.push(0);
        bounds.push(text.len());
        bounds.sort_unstable();
        bounds.dedup();
        bounds
            .windows(2)
            .map(|w| text[w[0]..w[1]].to_string())
            .collect()
    }

    #[test]
    fn whole_and_single_bytes_agree_with_the_whole_text() {
        let s = Arc::new(Scanner::new(|_| true).unwrap());
        let (expected, findings) = s.redact(TEXT);
        assert_eq!(findings.len(), 7, "{expected}");
        assert_eq!(run(&s, &[TEXT]).0, expected);
        let chars: Vec<String> = TEXT.chars().map(String::from).collect();
        let pieces: Vec<&str> = chars.iter().map(String::as_str).collect();
        let (out, emitted) = run(&s, &pieces);
        assert_eq!(out, expected);
        // Text flows: the first text is out once the email's reach (253 bytes after its `@`)
        // has passed, long before the end.
        let first = emitted.iter().position(|e| !e.is_empty()).unwrap();
        assert!(first <= TEXT.find('@').unwrap() + 253 + 1, "{first}");
    }

    proptest! {
        // Each case rescans a stream of a few hundred pieces (slow in a debug build).
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_split_redacts_like_the_whole_and_leaks_nothing(cuts in proptest::collection::vec(0usize..2000, 0..40)) {
            let s = Arc::new(Scanner::new(|_| true).unwrap());
            let (expected, _) = s.redact(TEXT);
            let pieces = split_at_all(TEXT, &cuts);
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let (out, emitted) = run(&s, &refs);
            prop_assert_eq!(&out, &expected);
            for secret in ["jane.doe@example.com", "sk-ant-api03", "eyJzdWIi", "4111 1111 1111 1111", "MIIEvQ", "hunter22"] {
                prop_assert!(!emitted.iter().any(|e| e.contains(secret)));
            }
        }
    }
}
