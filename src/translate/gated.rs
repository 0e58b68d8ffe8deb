//! The output gate between a stream's decoder and its encoder (X2): the text of each channel
//! of the answer — its text, its thinking, each tool call's arguments — goes through a
//! [`StreamGate`], which releases what no match can still change and holds the tail a match
//! could span. A channel's held text is released, as an event of that channel, before any
//! event of another channel, a finish or an error, so the events keep their order. Pure.

use crate::compliance::policy::StreamGate;

use super::ir::Event;

/// Which text a delta adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Text,
    Thinking,
    Tool(u32),
}

impl Channel {
    fn event(self, text: String) -> Event {
        match self {
            Channel::Text => Event::TextDelta(text),
            Channel::Thinking => Event::ThinkingDelta(text),
            Channel::Tool(index) => Event::ToolCallDelta {
                index,
                arguments: text,
            },
        }
    }
}

/// One stream's gate over its events.
#[derive(Debug)]
pub struct EventGate {
    pub gate: StreamGate,
    /// The channel whose text the gate holds now.
    channel: Option<Channel>,
}

impl EventGate {
    pub fn new(gate: StreamGate) -> Self {
        EventGate {
            gate,
            channel: None,
        }
    }

    /// Takes one decoded event; appends the events to send now to `out`. `Err`: the
    /// detectors that block the stream (nothing of the matched text is in `out`).
    pub fn admit(&mut self, event: Event, out: &mut Vec<Event>) -> Result<(), Vec<&'static str>> {
        let (channel, text) = match event {
            Event::TextDelta(t) => (Channel::Text, t),
            Event::ThinkingDelta(t) => (Channel::Thinking, t),
            Event::ToolCallDelta { index, arguments } => (Channel::Tool(index), arguments),
            // Neither adds to nor ends a text.
            Event::Start { .. } | Event::Usage(_) => {
                out.push(event);
                return Ok(());
            }
            Event::ToolCallStart { .. }
            | Event::ThinkingSignature(_)
            | Event::Finish { .. }
            | Event::Error(_) => {
                self.flush(out)?;
                out.push(event);
                return Ok(());
            }
        };
        if self.channel != Some(channel) {
            self.flush(out)?;
            self.channel = Some(channel);
        }
        let now = self.gate.push(&text)?;
        if !now.is_empty() {
            out.push(channel.event(now));
        }
        Ok(())
    }

    /// Releases the held text of the current channel.
    fn flush(&mut self, out: &mut Vec<Event>) -> Result<(), Vec<&'static str>> {
        let Some(channel) = self.channel.take() else {
            return Ok(());
        };
        let rest = self.gate.finish()?;
        if !rest.is_empty() {
            out.push(channel.event(rest));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::policy::{Action, Direction, Policy};
    use crate::compliance::scan::Scanner;
    use crate::translate::ir::FinishReason;

    fn gate() -> EventGate {
        let scanner = Scanner::new(|d| !d.optional).unwrap();
        let n = scanner.detectors().len();
        EventGate::new(Policy::new(scanner, vec![Action::Redact; n], Direction::Output).stream())
    }

    fn run(g: &mut EventGate, events: Vec<Event>) -> Vec<Event> {
        let mut out = Vec::new();
        for e in events {
            g.admit(e, &mut out).unwrap();
        }
        out
    }

    fn text(events: &[Event]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Event::TextDelta(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn channels_are_screened_apart_and_released_in_order() {
        let mut g = gate();
        let out = run(
            &mut g,
            vec![
                Event::TextDelta("Your key: sk-ant-abcdefghij".into()),
                Event::TextDelta("klmnopqrstuvwxyz".into()),
                Event::ToolCallStart {
                    index: 0,
                    id: "c1".into(),
                    name: "send".into(),
                },
                Event::ToolCallDelta {
                    index: 0,
                    arguments: "{\"to\":\"jane@exa".into(),
                },
                Event::ToolCallDelta {
                    index: 0,
                    arguments: "mple.com\"}".into(),
                },
                Event::Finish {
                    reason: FinishReason::ToolCalls,
                    stop_sequence: None,
                },
            ],
        );
        assert_eq!(text(&out), "Your key: [REDACTED:anthropic_key]");
        let tool_at = out
            .iter()
            .position(|e| matches!(e, Event::ToolCallStart { .. }))
            .unwrap();
        let last_text = out
            .iter()
            .rposition(|e| matches!(e, Event::TextDelta(_)))
            .unwrap();
        assert!(last_text < tool_at);
        let args: String = out
            .iter()
            .filter_map(|e| match e {
                Event::ToolCallDelta { arguments, .. } => Some(arguments.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(args, "{\"to\":\"[REDACTED:email]\"}");
        assert!(matches!(out.last(), Some(Event::Finish { .. })));
        assert_eq!(g.gate.take_noted().len(), 2);
    }
}
