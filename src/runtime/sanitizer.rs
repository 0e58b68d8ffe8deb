//! Input sanitization (X1): a request body is scanned before anything reads it, so every text
//! a provider could see — messages, system prompts, tool results, Anthropic content blocks,
//! legacy prompts, fields the gateway does not know — in every format and on the
//! same-format pass-through alike. A finding is redacted in place inside its JSON string (the
//! label has no character JSON escapes, so every other byte stays as sent), blocks the
//! request, or is only counted, by its detector's action. Findings name the detector and the
//! position, never the matched text. Built from `[sanitization]` with the snapshot; pure.

use crate::config::{ComplianceAction, SanitizationConfig};

use crate::compliance::detectors::{Detector, Kind};
use crate::compliance::scan::Scanner;

/// A finding as the request's trail and metrics keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noted {
    pub detector: &'static str,
    /// Byte offset in the body as sent.
    pub at: usize,
    pub action: ComplianceAction,
}

/// A scanned body: the body to send on (`None`: unchanged) and what was found.
pub type Scanned = (Option<Vec<u8>>, Vec<Noted>);

/// The input side of `[sanitization]`.
#[derive(Debug)]
pub struct Sanitizer {
    scanner: Scanner,
    /// Per scanner detector.
    actions: Vec<ComplianceAction>,
}

impl Sanitizer {
    /// The sanitizer of `[sanitization]`, when it is enabled and selects any detector.
    pub fn from_config(c: &SanitizationConfig) -> Result<Option<Sanitizer>, String> {
        if !c.enabled {
            return Ok(None);
        }
        let wanted = |d: &Detector| match d.kind {
            Kind::Credential => c.scan_credentials,
            Kind::Pii if d.optional => c.ip_addresses,
            Kind::Pii => c.redact_pii,
        } || c.detectors.contains_key(d.id);
        let scanner = Scanner::new(wanted)?;
        if scanner.detectors().is_empty() {
            return Ok(None);
        }
        let actions = scanner
            .detectors()
            .iter()
            .map(|d| {
                c.detectors
                    .get(d.id)
                    .copied()
                    .unwrap_or(c.compliance_action)
            })
            .collect();
        Ok(Some(Sanitizer { scanner, actions }))
    }

    /// The body to send on (`None`: unchanged) and what was found; `Err` with the detectors
    /// that block it (and everything found).
    pub fn input(&self, body: &[u8]) -> Result<Scanned, (Vec<&'static str>, Vec<Noted>)> {
        // A body that is not UTF-8 is not JSON either: the decoder refuses it next.
        let Ok(text) = std::str::from_utf8(body) else {
            return Ok((None, Vec::new()));
        };
        let found = self.scanner.find(text, 0);
        if found.is_empty() {
            return Ok((None, Vec::new()));
        }
        let mut noted = Vec::with_capacity(found.len());
        let mut blocked = Vec::new();
        let mut redact = Vec::new();
        for f in &found {
            let det = self.scanner.detector(f.detector);
            let mut action = self.actions[f.detector];
            // A match that reaches a quote or ends inside an escape cannot be cut out of its
            // JSON string safely: it blocks instead.
            if action == ComplianceAction::Redact && !json_safe(&body[f.start..f.end]) {
                action = ComplianceAction::Block;
            }
            noted.push(Noted {
                detector: det.id,
                at: f.start,
                action,
            });
            match action {
                ComplianceAction::Block => blocked.push(det.id),
                ComplianceAction::Redact => redact.push(*f),
                ComplianceAction::LogOnly => {}
            }
        }
        if !blocked.is_empty() {
            blocked.dedup();
            return Err((blocked, noted));
        }
        if redact.is_empty() {
            return Ok((None, noted));
        }
        Ok((
            Some(self.scanner.redact_from(text, 0, &redact).into_bytes()),
            noted,
        ))
    }
}

/// Whether `span` lies inside one JSON string: no quote, no control character, not ending in
/// an unfinished escape.
fn json_safe(span: &[u8]) -> bool {
    if span.iter().any(|b| *b == b'"' || *b < 0x20) {
        return false;
    }
    let trailing = span.iter().rev().take_while(|b| **b == b'\\').count();
    trailing % 2 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sanitizer(extra: &str) -> Sanitizer {
        let c: SanitizationConfig =
            toml::from_str(&format!("enabled = true\nredact_pii = true\n{extra}")).unwrap();
        Sanitizer::from_config(&c).unwrap().unwrap()
    }

    #[test]
    fn redacts_inside_json_strings_and_keeps_every_other_byte() {
        let s = sanitizer("");
        let body = br#"{"model":"m","messages":[{"role":"user","content":"mail jane@example.com, key sk-ant-abcdefghijklmnopqrstuvwxyz"}],"x_unknown":  {"keep": [1, 2]}}"#;
        let (out, noted) = s.input(body).unwrap();
        let out = String::from_utf8(out.unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"m","messages":[{"role":"user","content":"mail [REDACTED:email], key [REDACTED:anthropic_key]"}],"x_unknown":  {"keep": [1, 2]}}"#
        );
        assert_eq!(noted.len(), 2);
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        assert_eq!(s.input(br#"{"clean":"text"}"#).unwrap(), (None, Vec::new()));
    }

    #[test]
    fn actions_per_detector() {
        let s = sanitizer("[detectors]\nemail = \"block\"\nphone = \"log_only\"\n");
        let (blocked, noted) = s.input(br#"{"a":"jane@example.com"}"#).unwrap_err();
        assert_eq!(blocked, vec!["email"]);
        assert_eq!(noted[0].action, ComplianceAction::Block);
        let (out, noted) = s.input(br#"{"a":"call 555-123-4567"}"#).unwrap();
        assert!(out.is_none());
        assert_eq!(noted[0].action, ComplianceAction::LogOnly);
        // PII off: only credentials.
        let c: SanitizationConfig = toml::from_str("enabled = true").unwrap();
        let creds = Sanitizer::from_config(&c).unwrap().unwrap();
        assert!(
            creds
                .input(br#"{"a":"jane@example.com"}"#)
                .unwrap()
                .1
                .is_empty()
        );
        let off: SanitizationConfig = toml::from_str("enabled = false").unwrap();
        assert!(Sanitizer::from_config(&off).unwrap().is_none());
    }

    #[test]
    fn an_unsafe_span_blocks() {
        assert!(json_safe(b"abc\\\\"));
        assert!(!json_safe(b"abc\\"));
        assert!(!json_safe(b"a\"b"));
    }
}
