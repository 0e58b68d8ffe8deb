//! Finds and redacts what the detectors match: one pass of a `RegexSet` of the detectors'
//! short screens over the text says which detectors can match at all (the common answer,
//! none, costs that pass only); each of those then finds its matches with its full pattern,
//! validators drop false ones, and overlaps go to the earlier match (ties to the more specific
//! detector). Patterns run over bytes with ASCII classes (no Unicode tables: the fast DFA
//! path). [`Scanner::redact`] replaces each finding with its
//! label. Findings carry the detector and the position, never the matched text. Pure.

use regex::bytes::{Regex, RegexSet};

use super::detectors::{ALL, Detector};

/// One finding: which detector, where (byte offsets in the scanned text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// Index into the scanner's detectors.
    pub detector: usize,
    pub start: usize,
    pub end: usize,
}

/// A compiled set of detectors.
#[derive(Debug)]
pub struct Scanner {
    detectors: Vec<&'static Detector>,
    set: RegexSet,
    each: Vec<Regex>,
    labels: Vec<String>,
    /// The longest match of a detector without an anchor (the stream filter's common window).
    pub window: usize,
}

impl Scanner {
    /// The detectors whose ids `wanted` accepts (the optional ones only when it names them).
    pub fn new(wanted: impl Fn(&Detector) -> bool) -> Result<Scanner, String> {
        let detectors: Vec<&'static Detector> = ALL.iter().filter(|d| wanted(d)).collect();
        let screens: Vec<String> = detectors
            .iter()
            .map(|d| format!("(?-u){}", d.screen))
            .collect();
        let set = RegexSet::new(&screens).map_err(|e| e.to_string())?;
        let each = detectors
            .iter()
            .map(|d| Regex::new(&format!("(?-u){}", d.pattern)).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let labels = detectors
            .iter()
            .map(|d| format!("[REDACTED:{}]", d.id))
            .collect();
        let window = detectors
            .iter()
            .filter(|d| d.anchor.is_none())
            .map(|d| d.max_len)
            .max()
            .unwrap_or(0);
        Ok(Scanner {
            detectors,
            set,
            each,
            labels,
            window,
        })
    }

    /// Whether some detector's screen matches in `text[from..]` (no finding is possible
    /// where none does).
    pub fn screened(&self, text: &str, from: usize) -> bool {
        self.set.is_match(&text.as_bytes()[from..])
    }

    pub fn detector(&self, i: usize) -> &'static Detector {
        self.detectors[i]
    }

    pub fn detectors(&self) -> &[&'static Detector] {
        &self.detectors
    }

    /// Every finding in `text[from..]` (text before `from` is context for word boundaries),
    /// without overlaps, in order.
    pub fn find(&self, text: &str, from: usize) -> Vec<Finding> {
        let hits = self.set.matches(&text.as_bytes()[from..]);
        if !hits.matched_any() {
            return Vec::new();
        }
        let mut found = Vec::new();
        for i in hits.iter() {
            let det = self.detectors[i];
            for (start, end) in matches_from(&self.each[i], text, from) {
                if det.validate.is_none_or(|ok| ok(&text[start..end])) {
                    found.push(Finding {
                        detector: i,
                        start,
                        end,
                    });
                }
            }
        }
        resolve(found)
    }

    /// For the stream filter: the furthest end of any raw match (validated or not) in
    /// `text[from..]` that starts before `cut` and ends after it.
    pub fn spanning(&self, text: &str, from: usize, cut: usize) -> Option<usize> {
        let hits = self.set.matches(&text.as_bytes()[from..]);
        let mut end = None;
        for i in hits.iter() {
            for (start, stop) in matches_from(&self.each[i], text, from) {
                if start < cut && stop > cut {
                    end = Some(end.map_or(stop, |e: usize| e.max(stop)));
                }
            }
        }
        end
    }

    /// `text` with every finding of `text[from..]` replaced by its label, from `from` on.
    pub fn redact_from(&self, text: &str, from: usize, findings: &[Finding]) -> String {
        let mut out = String::with_capacity(text.len() - from);
        let mut at = from;
        for f in findings {
            out.push_str(&text[at..f.start]);
            out.push_str(&self.labels[f.detector]);
            at = f.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// `text` with every finding replaced by its label.
    pub fn redact(&self, text: &str) -> (String, Vec<Finding>) {
        let findings = self.find(text, 0);
        if findings.is_empty() {
            return (text.to_string(), findings);
        }
        (self.redact_from(text, 0, &findings), findings)
    }
}

/// The matches of `re` in `text` from `from` on (the text before it is context for `\b`), as
/// byte ranges widened to character boundaries (an ASCII class may stop inside a character).
fn matches_from<'t>(
    re: &'t Regex,
    text: &'t str,
    from: usize,
) -> impl Iterator<Item = (usize, usize)> + 't {
    let mut at = from;
    std::iter::from_fn(move || {
        if at > text.len() {
            return None;
        }
        let m = re.find_at(text.as_bytes(), at)?;
        let (mut start, mut end) = (m.start(), m.end());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        at = if end > m.start() { end } else { end + 1 };
        Some((start.max(from), end))
    })
}

/// Sorted by start (ties: the earlier detector), without overlaps (the earlier kept).
fn resolve(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by_key(|f| (f.start, f.detector));
    let mut out: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        if out.last().is_none_or(|last| f.start >= last.end) {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Scanner {
        Scanner::new(|_| true).unwrap()
    }

    fn ids(s: &Scanner, text: &str) -> Vec<&'static str> {
        s.find(text, 0)
            .iter()
            .map(|f| s.detector(f.detector).id)
            .collect()
    }

    #[test]
    fn credentials_are_found() {
        let s = all();
        for (text, id) in [
            (
                "key sk-proj-abcdefghijklmnopqrstuvwx1234 here",
                "openai_key",
            ),
            (
                "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
                "anthropic_key",
            ),
            ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "google_api_key"),
            ("id AKIAIOSFODNN7EXAMPLE ok", "aws_access_key"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_key",
            ),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token"),
            ("glpat-abcdefghijklmnopqrst", "gitlab_token"),
            ("xoxb-1234567890-abcdefghij", "slack_token"),
            ("sk_live_abcdefghijklmnop1234", "stripe_key"),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt",
            ),
            (
                "postgres://admin:hunter2@db.example.com:5432/app",
                "connection_string",
            ),
            ("password = correct-horse", "secret_assignment"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
                "private_key",
            ),
        ] {
            assert_eq!(ids(&s, text), vec![id], "{text}");
        }
    }

    #[test]
    fn personal_data_is_found_and_near_misses_are_not() {
        let s = all();
        for (text, id) in [
            ("mail jane.doe@example.co.uk now", "email"),
            ("ssn 123-45-6789.", "us_ssn"),
            ("card 4111 1111 1111 1111 exp", "payment_card"),
            ("IBAN GB82 WEST 1234 5698 7654 32", "iban"),
            ("call (555) 123-4567 today", "phone"),
            ("host 192.168.10.1 up", "ip_address"),
        ] {
            assert_eq!(ids(&s, text), vec![id], "{text}");
        }
        for miss in [
            "card 4111 1111 1111 1112 fails Luhn",
            "ssn 666-45-6789 is never issued",
            "IBAN GB82 WEST 1234 5698 7654 33 bad checksum",
            "version 1.2.3 and 10.20 are not addresses",
            "sk-short is not a key",
            "an @ sign alone",
        ] {
            assert!(ids(&s, miss).is_empty(), "{miss}: {:?}", ids(&s, miss));
        }
    }

    #[test]
    fn redaction_replaces_only_the_match() {
        let s = Scanner::new(|d| !d.optional).unwrap();
        let (out, found) = s.redact(
            "write to jane@example.com or call 555-123-4567, key sk-ant-abcdefghijklmnopqrstuvwxyz",
        );
        assert_eq!(
            out,
            "write to [REDACTED:email] or call [REDACTED:phone], key [REDACTED:anthropic_key]"
        );
        assert_eq!(found.len(), 3);
        let (same, none) = s.redact("nothing to see, 1.2.3.4 is off by default");
        assert!(none.is_empty());
        assert_eq!(same, "nothing to see, 1.2.3.4 is off by default");
    }
}
