//! A whole answer and a stream of events, each made from the other: [`events_of`] turns an
//! answer into the events a provider would have streamed (a cached answer replayed to a
//! streaming client), [`Assembler`] builds the answer from a stream's events (a streamed
//! answer kept in the cache). Pure.

use super::ir::{Event, FinishReason, Part, Response};

/// The events of `resp`, in the order a stream carries them: start, each part, usage, finish.
pub fn events_of(resp: &Response) -> Vec<Event> {
    let mut events = vec![Event::Start {
        id: resp.id.clone(),
        model: resp.model.clone(),
    }];
    let mut tool = 0;
    for part in &resp.parts {
        match part {
            Part::Text(t) => events.push(Event::TextDelta(t.clone())),
            Part::Thinking { text, signature } => {
                events.push(Event::ThinkingDelta(text.clone()));
                if let Some(s) = signature {
                    events.push(Event::ThinkingSignature(s.clone()));
                }
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                events.push(Event::ToolCallStart {
                    index: tool,
                    id: id.clone(),
                    name: name.clone(),
                });
                events.push(Event::ToolCallDelta {
                    index: tool,
                    arguments: arguments.clone(),
                });
                tool += 1;
            }
            Part::Image(_) | Part::ToolResult { .. } | Part::RedactedThinking { .. } => {}
        }
    }
    events.push(Event::Usage(resp.usage));
    events.push(Event::Finish {
        reason: resp.finish.unwrap_or(FinishReason::Stop),
        stop_sequence: resp.stop_sequence.clone(),
    });
    events
}

/// Builds a whole answer from a stream's events.
#[derive(Debug, Default)]
pub struct Assembler {
    resp: Response,
    /// Where each tool call (by its stream index) sits in `resp.parts`.
    tools: Vec<(u32, usize)>,
    /// The stream reported an error: it is no answer.
    failed: bool,
    finished: bool,
}

impl Assembler {
    pub fn push(&mut self, event: Event) {
        let parts = &mut self.resp.parts;
        match event {
            Event::Start { id, model } => {
                self.resp.id = id;
                self.resp.model = model;
            }
            Event::TextDelta(t) => match parts.last_mut() {
                Some(Part::Text(text)) => text.push_str(&t),
                _ => parts.push(Part::Text(t)),
            },
            Event::ThinkingDelta(t) => match parts.last_mut() {
                Some(Part::Thinking { text, .. }) => text.push_str(&t),
                _ => parts.push(Part::Thinking {
                    text: t,
                    signature: None,
                }),
            },
            Event::ThinkingSignature(s) => {
                if let Some(Part::Thinking { signature, .. }) = parts.last_mut() {
                    *signature = Some(s);
                }
            }
            Event::ToolCallStart { index, id, name } => {
                self.tools.push((index, parts.len()));
                parts.push(Part::ToolCall {
                    id,
                    name,
                    arguments: String::new(),
                });
            }
            Event::ToolCallDelta { index, arguments } => {
                let at = self.tools.iter().rev().find(|(i, _)| *i == index);
                if let Some(Part::ToolCall { arguments: a, .. }) =
                    at.and_then(|(_, at)| parts.get_mut(*at))
                {
                    a.push_str(&arguments);
                }
            }
            Event::Usage(u) => self.resp.usage = u,
            Event::Finish {
                reason,
                stop_sequence,
            } => {
                self.resp.finish = Some(reason);
                self.resp.stop_sequence = stop_sequence;
                self.finished = true;
            }
            Event::Error(_) => self.failed = true,
        }
    }

    /// The answer, when the stream finished without an error.
    pub fn finish(self) -> Option<Response> {
        (self.finished && !self.failed).then_some(self.resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::ir::Usage;

    #[test]
    fn an_answer_survives_the_round_trip() {
        let resp = Response {
            id: "r1".into(),
            model: "m".into(),
            parts: vec![
                Part::Thinking {
                    text: "hmm".into(),
                    signature: Some("sig".into()),
                },
                Part::Text("Paris.".into()),
                Part::ToolCall {
                    id: "c1".into(),
                    name: "weather".into(),
                    arguments: "{\"city\":\"Paris\"}".into(),
                },
            ],
            finish: Some(FinishReason::ToolCalls),
            stop_sequence: None,
            usage: Usage {
                input_tokens: 3,
                output_tokens: 5,
                ..Usage::default()
            },
            created: None,
        };
        let mut a = Assembler::default();
        for e in events_of(&resp) {
            a.push(e);
        }
        assert_eq!(a.finish(), Some(resp));
    }

    #[test]
    fn deltas_join_and_an_error_or_no_finish_is_no_answer() {
        let mut a = Assembler::default();
        for e in [
            Event::TextDelta("Hel".into()),
            Event::TextDelta("lo".into()),
            Event::ToolCallStart {
                index: 0,
                id: "c".into(),
                name: "f".into(),
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "{\"a\":".into(),
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: "1}".into(),
            },
        ] {
            a.push(e);
        }
        let mut done = Assembler::default();
        done.push(Event::TextDelta("x".into()));
        done.push(Event::Error(crate::translate::incomplete()));
        done.push(Event::Finish {
            reason: FinishReason::Stop,
            stop_sequence: None,
        });
        assert!(done.finish().is_none());
        assert_eq!(a.resp.parts[0], Part::Text("Hello".into()));
        assert_eq!(
            a.resp.parts[1],
            Part::ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into()
            }
        );
        assert!(a.finish().is_none());
    }
}
