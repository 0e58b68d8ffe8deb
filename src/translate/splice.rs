//! What of a continuation stream the client already has (mid-stream rescue, S5). When a stream
//! broke after text reached the client, the next attempt either continues the answer from
//! that text (given as a trailing assistant message, "prefill") or regenerates it from the
//! start. A [`Splice`] filters the new stream's IR events before they are encoded into the
//! client's stream, so that the client sees one answer:
//!
//! - the new stream's start is dropped (the client has one);
//! - prefill: the whitespace the prefill had to leave out (providers refuse a prefill that
//!   ends in whitespace) is dropped where the continuation repeats it;
//! - regenerate: the text the client has is dropped where the new answer repeats it exactly;
//!   an answer that differs anywhere in that prefix (other text, a tool call, thinking, an
//!   earlier end) has *diverged*, and the stream ends with an error event rather than
//!   duplicated or mismatched text;
//! - usage is the whole answer's: the attempts before plus the new stream's.
//!
//! Pure; used by [`super::StreamTranslator::continuing`].

use super::ir::{ErrorInfo, Event, Usage};

/// What to do with one event of the new stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Admit {
    /// Encode this (possibly shortened) event.
    Pass(Event),
    /// The client has it already.
    Drop,
    /// The regenerated answer differs from the text the client has.
    Diverged(ErrorInfo),
}

/// The filter of one continuation stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Splice {
    /// Text at the start of the new stream that the client has already.
    skip: String,
    /// The new stream must repeat `skip` exactly (regenerate), or may not (prefill).
    exact: bool,
    /// Usage of the attempts before this one.
    prior: Usage,
}

impl Splice {
    /// A continuation from a prefill: `left_out` is the whitespace the prefill did not carry.
    pub fn prefill(left_out: &str, prior: Usage) -> Splice {
        Splice {
            skip: left_out.to_string(),
            exact: false,
            prior,
        }
    }

    /// A regenerated answer: it must begin with `client_text`, which is dropped.
    pub fn regenerate(client_text: &str, prior: Usage) -> Splice {
        Splice {
            skip: client_text.to_string(),
            exact: true,
            prior,
        }
    }

    /// Filters one event of the new stream.
    pub fn admit(&mut self, event: Event) -> Admit {
        match event {
            Event::Start { .. } => Admit::Drop,
            Event::Usage(u) => Admit::Pass(Event::Usage(self.prior.plus(u))),
            Event::TextDelta(text) => self.text(text),
            Event::Error(_) => Admit::Pass(event),
            Event::ThinkingDelta(_)
            | Event::ThinkingSignature(_)
            | Event::ToolCallStart { .. }
            | Event::ToolCallDelta { .. }
            | Event::Finish { .. } => {
                if self.exact && !self.skip.is_empty() {
                    return Admit::Diverged(diverged());
                }
                self.skip.clear();
                Admit::Pass(event)
            }
        }
    }

    /// The new stream finished: a regenerated answer shorter than the text the client has
    /// has diverged.
    pub fn unmatched_at_end(&self) -> Option<ErrorInfo> {
        (self.exact && !self.skip.is_empty()).then(diverged)
    }

    fn text(&mut self, text: String) -> Admit {
        if self.skip.is_empty() {
            return Admit::Pass(Event::TextDelta(text));
        }
        if let Some(rest) = text.strip_prefix(self.skip.as_str()) {
            let rest = rest.to_string();
            self.skip.clear();
            return if rest.is_empty() {
                Admit::Drop
            } else {
                Admit::Pass(Event::TextDelta(rest))
            };
        }
        if self.skip.starts_with(text.as_str()) {
            self.skip.drain(..text.len());
            return Admit::Drop;
        }
        if self.exact {
            return Admit::Diverged(diverged());
        }
        // The continuation did not repeat the left-out whitespace: nothing to drop.
        self.skip.clear();
        Admit::Pass(Event::TextDelta(text))
    }
}

/// The error event of a regenerated answer that differs from what the client has.
fn diverged() -> ErrorInfo {
    ErrorInfo {
        status: 502,
        message: "the stream broke and the answer could not be continued: the provider's new \
                  answer differs from the text already sent"
            .into(),
        code: Some("stream_rescue_diverged".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::ir::FinishReason;

    fn texts(splice: &mut Splice, parts: &[&str]) -> Result<String, ErrorInfo> {
        let mut out = String::new();
        for p in parts {
            match splice.admit(Event::TextDelta((*p).to_string())) {
                Admit::Pass(Event::TextDelta(t)) => out.push_str(&t),
                Admit::Pass(other) => panic!("unexpected {other:?}"),
                Admit::Drop => {}
                Admit::Diverged(e) => return Err(e),
            }
        }
        Ok(out)
    }

    #[test]
    fn regenerate_drops_the_prefix_at_any_split() {
        let answer = "Hello, wörld! How are you?";
        for cut in 0..=answer.len() {
            if !answer.is_char_boundary(cut) {
                continue;
            }
            let (have, rest) = answer.split_at(cut);
            for step in 1..=4 {
                let chars: Vec<char> = answer.chars().collect();
                let parts: Vec<String> = chars.chunks(step).map(|c| c.iter().collect()).collect();
                let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                let mut s = Splice::regenerate(have, Usage::default());
                assert_eq!(
                    texts(&mut s, &parts).unwrap(),
                    rest,
                    "cut {cut} step {step}"
                );
                assert_eq!(s.unmatched_at_end(), None);
            }
        }
    }

    #[test]
    fn regenerate_detects_a_different_answer() {
        let mut s = Splice::regenerate("Hello there", Usage::default());
        let e = texts(&mut s, &["Hello", " world"]).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("stream_rescue_diverged"));
        let mut s = Splice::regenerate("Hello there", Usage::default());
        assert!(matches!(
            s.admit(Event::ToolCallStart {
                index: 0,
                id: "c".into(),
                name: "f".into()
            }),
            Admit::Diverged(_)
        ));
        let mut s = Splice::regenerate("Hello there", Usage::default());
        assert_eq!(texts(&mut s, &["Hello"]).unwrap(), "");
        assert!(s.unmatched_at_end().is_some());
        let finish = Event::Finish {
            reason: FinishReason::Stop,
            stop_sequence: None,
        };
        assert!(matches!(s.admit(finish), Admit::Diverged(_)));
    }

    #[test]
    fn prefill_drops_repeated_whitespace_only_when_repeated() {
        let mut s = Splice::prefill(" ", Usage::default());
        assert_eq!(texts(&mut s, &[" world", "!"]).unwrap(), "world!");
        let mut s = Splice::prefill("\n\n", Usage::default());
        assert_eq!(texts(&mut s, &["\n", "\nNext"]).unwrap(), "Next");
        let mut s = Splice::prefill(" ", Usage::default());
        assert_eq!(texts(&mut s, &["world"]).unwrap(), "world");
    }

    #[test]
    fn start_is_dropped_and_usage_summed() {
        let prior = Usage {
            input_tokens: 10,
            output_tokens: 3,
            ..Usage::default()
        };
        let mut s = Splice::prefill("", prior);
        let start = Event::Start {
            id: "x".into(),
            model: "m".into(),
        };
        assert_eq!(s.admit(start), Admit::Drop);
        let u = Usage {
            input_tokens: 12,
            output_tokens: 5,
            ..Usage::default()
        };
        assert_eq!(
            s.admit(Event::Usage(u)),
            Admit::Pass(Event::Usage(Usage {
                input_tokens: 22,
                output_tokens: 8,
                ..Usage::default()
            }))
        );
    }
}
