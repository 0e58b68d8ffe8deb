//! What a finding does ([`Action`]) and the two ways text is screened under a policy: a whole
//! JSON body ([`Policy::json`]: a request before it is sent on, an answer before it is
//! written), and the text of a stream as it arrives ([`StreamGate`], over the hold-back
//! filter). A finding is redacted in place, blocks, or is only noted, by its detector's
//! action; what is noted names the detector and the position, never the matched text. Pure.

use std::sync::Arc;

use super::detectors::Kind;
use super::holdback::HoldBack;
use super::scan::Scanner;

/// What a finding does.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Refuse (input: 400; output: an error in the caller's format).
    Block,
    /// Replace the match with `[REDACTED:<detector>]`.
    #[default]
    Redact,
    /// Count and record it; change nothing.
    LogOnly,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Redact => "redact",
            Action::LogOnly => "log_only",
        }
    }
}

/// Which way the screened text was going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A request, before the provider.
    Input,
    /// An answer, before the client.
    Output,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// A finding as a request's trail and the metrics keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noted {
    pub detector: &'static str,
    /// Byte offset: in the body as sent (a whole body), or in the stream's text.
    pub at: usize,
    pub action: Action,
    pub direction: Direction,
    /// The detector finds credentials (not personal data).
    pub credential: bool,
}

/// A screened body: the body to send on (`None`: unchanged) and what was found.
pub type Scanned = (Option<Vec<u8>>, Vec<Noted>);

/// A body or stream that may not go on: the detectors that block it, and everything found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub detectors: Vec<&'static str>,
    pub noted: Vec<Noted>,
}

/// Detectors with their actions, for one direction.
#[derive(Debug)]
pub struct Policy {
    scanner: Arc<Scanner>,
    /// Per scanner detector.
    actions: Arc<[Action]>,
    direction: Direction,
}

impl Policy {
    /// `actions` has one entry per detector of `scanner`.
    pub fn new(scanner: Scanner, actions: Vec<Action>, direction: Direction) -> Policy {
        let mut actions = actions;
        actions.resize(scanner.detectors().len(), Action::default());
        Policy {
            scanner: Arc::new(scanner),
            actions: actions.into(),
            direction,
        }
    }

    fn noted(&self, detector: usize, at: usize, action: Action) -> Noted {
        let det = self.scanner.detector(detector);
        Noted {
            detector: det.id,
            at,
            action,
            direction: self.direction,
            credential: det.kind == Kind::Credential,
        }
    }

    /// Screens a JSON body: the body to send on (`None`: unchanged) and what was found, or
    /// what blocks it. A match is redacted inside its JSON string (the label has no character
    /// JSON escapes, so every other byte stays); a match that reaches a quote or ends inside
    /// an escape cannot be cut out safely and blocks instead.
    pub fn json(&self, body: &[u8]) -> Result<Scanned, Blocked> {
        // A body that is not UTF-8 is not JSON either (a request's decoder refuses it next).
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
            let mut action = self.actions[f.detector];
            if action == Action::Redact && !json_safe(&body[f.start..f.end]) {
                action = Action::Block;
            }
            let n = self.noted(f.detector, f.start, action);
            match action {
                Action::Block => blocked.push(n.detector),
                Action::Redact => redact.push(*f),
                Action::LogOnly => {}
            }
            noted.push(n);
        }
        if !blocked.is_empty() {
            blocked.dedup();
            return Err(Blocked {
                detectors: blocked,
                noted,
            });
        }
        if redact.is_empty() {
            return Ok((None, noted));
        }
        let redacted = self.scanner.redact_from(text, 0, &redact).into_bytes();
        Ok((Some(redacted), noted))
    }

    /// A filter for the text of one stream under this policy.
    pub fn stream(&self) -> StreamGate {
        StreamGate {
            scanner: Arc::clone(&self.scanner),
            actions: Arc::clone(&self.actions),
            direction: self.direction,
            hold: None,
            base: 0,
            emitted: 0,
            reported: 0,
            noted: Vec::new(),
        }
    }
}

/// The text of one stream, screened as it arrives: what may be sent now is released, the
/// tail a match could still span is held. Several texts (an answer's text, then a tool call's
/// arguments) go through one gate one after the other, each ended by [`StreamGate::finish`].
#[derive(Debug)]
pub struct StreamGate {
    scanner: Arc<Scanner>,
    actions: Arc<[Action]>,
    direction: Direction,
    /// The filter of the current text (started by its first piece).
    hold: Option<HoldBack>,
    /// Offset of the current text in everything the gate saw.
    base: usize,
    /// Bytes of the current text taken so far.
    emitted: usize,
    /// Findings of the current filter already noted.
    reported: usize,
    noted: Vec<Noted>,
}

impl StreamGate {
    /// Takes the next piece of the current text; returns what may be sent now (maybe empty),
    /// or the detectors that block the stream (nothing of the matched text is returned).
    pub fn push(&mut self, piece: &str) -> Result<String, Vec<&'static str>> {
        self.emitted += piece.len();
        let hold = self.hold.get_or_insert_with(|| {
            let keep = self.actions.iter().map(|a| *a == Action::LogOnly).collect();
            HoldBack::new(Arc::clone(&self.scanner)).keeping(keep)
        });
        let out = hold.push(piece);
        self.check().map(|()| out)
    }

    /// Ends the current text: returns the rest of it, or what blocks it. The next piece
    /// starts a new text.
    pub fn finish(&mut self) -> Result<String, Vec<&'static str>> {
        let Some(hold) = &mut self.hold else {
            return Ok(String::new());
        };
        let out = hold.finish();
        let checked = self.check();
        self.hold = None;
        self.base += self.emitted;
        self.emitted = 0;
        self.reported = 0;
        checked.map(|()| out)
    }

    /// Notes the findings the filter made since the last check; the detectors that block.
    fn check(&mut self) -> Result<(), Vec<&'static str>> {
        let Some(hold) = &self.hold else {
            return Ok(());
        };
        let mut blocked = Vec::new();
        for &(detector, at) in &hold.findings()[self.reported..] {
            let action = self.actions[detector];
            let det = self.scanner.detector(detector);
            if action == Action::Block && !blocked.contains(&det.id) {
                blocked.push(det.id);
            }
            self.noted.push(Noted {
                detector: det.id,
                at: self.base + at,
                action,
                direction: self.direction,
                credential: det.kind == Kind::Credential,
            });
        }
        self.reported = hold.findings().len();
        if blocked.is_empty() {
            Ok(())
        } else {
            Err(blocked)
        }
    }

    /// The findings noted since the last call.
    pub fn take_noted(&mut self) -> Vec<Noted> {
        std::mem::take(&mut self.noted)
    }

    /// Bytes of text held back now.
    pub fn held(&self) -> usize {
        self.hold.as_ref().map_or(0, HoldBack::held)
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

    fn policy(actions: &[(&str, Action)]) -> Policy {
        let scanner = Scanner::new(|d| !d.optional).unwrap();
        let acts = scanner
            .detectors()
            .iter()
            .map(|d| {
                actions
                    .iter()
                    .find(|(id, _)| *id == d.id)
                    .map_or(Action::Redact, |(_, a)| *a)
            })
            .collect();
        Policy::new(scanner, acts, Direction::Output)
    }

    #[test]
    fn json_redacts_inside_strings_and_keeps_every_other_byte() {
        let p = policy(&[]);
        let body = br#"{"model":"m","messages":[{"role":"user","content":"mail jane@example.com, key sk-ant-abcdefghijklmnopqrstuvwxyz"}],"x_unknown":  {"keep": [1, 2]}}"#;
        let (out, noted) = p.json(body).unwrap();
        let out = String::from_utf8(out.unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"m","messages":[{"role":"user","content":"mail [REDACTED:email], key [REDACTED:anthropic_key]"}],"x_unknown":  {"keep": [1, 2]}}"#
        );
        assert_eq!(noted.len(), 2);
        assert!(noted[1].credential && !noted[0].credential);
        assert_eq!(noted[0].direction, Direction::Output);
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        assert_eq!(p.json(br#"{"clean":"text"}"#).unwrap(), (None, Vec::new()));
    }

    #[test]
    fn json_actions_per_detector() {
        let p = policy(&[("email", Action::Block), ("phone", Action::LogOnly)]);
        let blocked = p.json(br#"{"a":"jane@example.com"}"#).unwrap_err();
        assert_eq!(blocked.detectors, vec!["email"]);
        assert_eq!(blocked.noted[0].action, Action::Block);
        let (out, noted) = p.json(br#"{"a":"call 555-123-4567"}"#).unwrap();
        assert!(out.is_none());
        assert_eq!(noted[0].action, Action::LogOnly);
    }

    #[test]
    fn an_unsafe_span_blocks() {
        assert!(json_safe(b"abc\\\\"));
        assert!(!json_safe(b"abc\\"));
        assert!(!json_safe(b"a\"b"));
    }

    fn run(gate: &mut StreamGate, pieces: &[&str]) -> Result<String, Vec<&'static str>> {
        let mut out = String::new();
        for p in pieces {
            out.push_str(&gate.push(p)?);
        }
        out.push_str(&gate.finish()?);
        Ok(out)
    }

    #[test]
    fn a_stream_is_redacted_blocked_or_only_noted_by_action() {
        let pieces = [
            "key: sk-ant-abcdefghij",
            "klmnopqrstuvwxyz and ",
            "mail jane@exa",
            "mple.com.",
        ];
        let mut gate = policy(&[]).stream();
        let out = run(&mut gate, &pieces).unwrap();
        assert_eq!(
            out,
            "key: [REDACTED:anthropic_key] and mail [REDACTED:email]."
        );
        let noted = gate.take_noted();
        assert_eq!(noted.len(), 2);
        assert_eq!((noted[0].detector, noted[0].at), ("anthropic_key", 5));
        assert!(gate.take_noted().is_empty());

        let mut gate = policy(&[("email", Action::LogOnly)]).stream();
        let out = run(&mut gate, &pieces).unwrap();
        assert_eq!(
            out,
            "key: [REDACTED:anthropic_key] and mail jane@example.com."
        );

        let mut gate = policy(&[("anthropic_key", Action::Block)]).stream();
        let mut sent = String::new();
        let mut blocked = None;
        for p in pieces {
            match gate.push(p) {
                Ok(s) => sent.push_str(&s),
                Err(b) => {
                    blocked = Some(b);
                    break;
                }
            }
        }
        let blocked = match blocked {
            Some(b) => b,
            None => gate.finish().unwrap_err(),
        };
        assert_eq!(blocked, vec!["anthropic_key"]);
        assert!(!sent.contains("sk-ant"), "{sent}");
    }

    #[test]
    fn texts_after_one_another_keep_their_offsets() {
        let mut gate = policy(&[]).stream();
        assert_eq!(run(&mut gate, &["hello "]).unwrap(), "hello ");
        assert_eq!(
            run(&mut gate, &["{\"to\":\"jane@example.com\"}"]).unwrap(),
            "{\"to\":\"[REDACTED:email]\"}"
        );
        let noted = gate.take_noted();
        assert_eq!(noted[0].at, 6 + 7);
        assert_eq!(gate.held(), 0);
    }
}
