//! Response bodies of the mock: a script of [`Step`]s played out by [`MockBody`].
//!
//! The scripts are built by pure functions ([`stream_steps`] for SSE / streamed events,
//! [`whole_steps`] for a JSON body) from the format's encoded events and the behaviour's faults
//! (delays, `split`, cuts, stalls, stalls that close after a while, `malformed`). [`MockBody`]
//! is the only part that touches tokio (its timers); it also owns the exchange's log guard, so
//! the outcome is recorded exactly once: `Completed` when every byte was handed to hyper, `Cut`
//! when the script cuts the connection, `ClientGone` when hyper drops the body early (peer
//! closed).

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame};

use super::log_entry::MockOutcome;
use super::state::Exchange;

/// One encoded stream event (an SSE event or a JSON-array element) of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Event {
    pub bytes: String,
    /// A content event (a text token, a tool-argument fragment): counted for `after`, `cut=`
    /// and `stall_at=`, preceded by the per-token delay.
    pub token: bool,
}

impl Event {
    pub(crate) fn token(bytes: String) -> Event {
        Event { bytes, token: true }
    }

    pub(crate) fn other(bytes: String) -> Event {
        Event {
            bytes,
            token: false,
        }
    }
}

/// One step of a response body script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send one body frame.
    Data(Bytes),
    /// Let hyper write out what it buffered before going on.
    Flush,
    /// Wait.
    Sleep(Duration),
    /// Abort the connection: hyper sees a body error and closes without a terminator.
    Cut,
    /// Send nothing more, until the client leaves.
    Stall,
}

/// What a stream does besides sending its events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub fault: Fault,
    /// Token events sent before the fault strikes.
    pub after: usize,
    /// Wait before each token event.
    pub delay: Duration,
    /// Wait before the first token event (at least `delay`).
    pub ttft: Duration,
    /// Frame size; `None` sends each event as one frame.
    pub split: Option<usize>,
}

/// The deliberate fault of a response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Fault {
    #[default]
    None,
    /// Abort the connection.
    Cut,
    /// Send nothing more: until the client leaves, or with a duration, until that long has
    /// passed, then abort the connection.
    Stall(Option<Duration>),
    /// Insert these bytes (a broken event) and go on to a proper end.
    Malformed(String),
}

/// Ends a script with a cut or a stall: flush what was sent, then abort, or stall (closing
/// after the stall's duration, if it has one). Other faults end nothing.
fn push_end(steps: &mut VecDeque<Step>, fault: &Fault) {
    steps.push_back(Step::Flush);
    match fault {
        Fault::Stall(None) => steps.push_back(Step::Stall),
        Fault::Stall(Some(close)) => {
            steps.push_back(Step::Sleep(*close));
            steps.push_back(Step::Cut);
        }
        Fault::Cut | Fault::None | Fault::Malformed(_) => steps.push_back(Step::Cut),
    }
}

/// The script of a streamed reply.
pub(crate) fn stream_steps(events: Vec<Event>, shape: &Shape) -> VecDeque<Step> {
    let strike_at = strike_index(&events, shape.after);
    let mut steps = VecDeque::with_capacity(events.len() * 2 + 2);
    let mut first_token = true;
    for (i, event) in events.into_iter().enumerate() {
        if i == strike_at {
            match &shape.fault {
                Fault::None => {}
                Fault::Cut | Fault::Stall(_) => {
                    push_end(&mut steps, &shape.fault);
                    return steps;
                }
                Fault::Malformed(bytes) => push_split(&mut steps, bytes.clone(), shape.split),
            }
        }
        if event.token {
            let wait = if first_token {
                shape.ttft.max(shape.delay)
            } else {
                shape.delay
            };
            first_token = false;
            if !wait.is_zero() {
                steps.push_back(Step::Flush);
                steps.push_back(Step::Sleep(wait));
            }
        }
        push_split(&mut steps, event.bytes, shape.split);
    }
    steps
}

/// Index of the event before which a fault strikes: right after the `after`-th token event,
/// or before the first token event for `after = 0`. With fewer tokens than `after`, after the
/// last token; without any token event, after the first event.
fn strike_index(events: &[Event], after: usize) -> usize {
    let tokens: Vec<usize> = (0..events.len()).filter(|i| events[*i].token).collect();
    match (after, tokens.first(), tokens.last()) {
        (_, None, _) => 1.min(events.len()),
        (0, Some(first), _) => *first,
        (n, _, Some(last)) => tokens.get(n - 1).copied().unwrap_or(*last) + 1,
        (_, Some(first), None) => *first,
    }
}

/// The script of a whole (non-streamed) body: split into frames, or cut / stalled after half.
pub(crate) fn whole_steps(body: Bytes, fault: &Fault, split: Option<usize>) -> VecDeque<Step> {
    let mut steps = VecDeque::new();
    match fault {
        Fault::None | Fault::Malformed(_) => push_split_bytes(&mut steps, body, split),
        Fault::Cut | Fault::Stall(_) => {
            push_split_bytes(&mut steps, body.slice(..body.len() / 2), split);
            push_end(&mut steps, fault);
        }
    }
    steps
}

fn push_split(steps: &mut VecDeque<Step>, bytes: String, split: Option<usize>) {
    push_split_bytes(steps, Bytes::from(bytes), split);
}

fn push_split_bytes(steps: &mut VecDeque<Step>, bytes: Bytes, split: Option<usize>) {
    let Some(size) = split else {
        if !bytes.is_empty() {
            steps.push_back(Step::Data(bytes));
        }
        return;
    };
    let mut rest = bytes;
    while !rest.is_empty() {
        let piece = rest.split_to(size.min(rest.len()));
        steps.push_back(Step::Data(piece));
        if !rest.is_empty() {
            steps.push_back(Step::Flush);
        }
    }
}

/// The error a cut body yields, so hyper aborts the connection mid-response.
#[derive(Debug)]
pub(crate) struct MockCut;

impl fmt::Display for MockCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mock upstream cut the response on purpose")
    }
}

impl std::error::Error for MockCut {}

/// A response body playing a [`Step`] script, recording the exchange's outcome.
pub(crate) struct MockBody {
    steps: VecDeque<Step>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    exchange: Option<Exchange>,
}

impl MockBody {
    /// A body playing `steps`; `exchange` is the log guard (None for unlogged responses).
    pub(crate) fn new(steps: VecDeque<Step>, exchange: Option<Exchange>) -> MockBody {
        MockBody {
            steps,
            sleep: None,
            exchange,
        }
    }

    fn finish(&mut self, outcome: MockOutcome) {
        if let Some(exchange) = self.exchange.take() {
            exchange.finish(outcome);
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = MockCut;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, MockCut>>> {
        let this = self.get_mut();
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.sleep = None;
            }
            match this.steps.pop_front() {
                None => {
                    this.finish(MockOutcome::Completed);
                    return Poll::Ready(None);
                }
                Some(Step::Data(bytes)) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
                Some(Step::Flush) => {
                    // Returning Pending once makes hyper flush its write buffer; wake at once.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Some(Step::Sleep(wait)) => this.sleep = Some(Box::pin(tokio::time::sleep(wait))),
                Some(Step::Cut) => {
                    this.finish(MockOutcome::Cut);
                    return Poll::Ready(Some(Err(MockCut)));
                }
                Some(Step::Stall) => {
                    // No waker is kept: hyper drops the body when the peer closes.
                    this.steps.push_front(Step::Stall);
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for MockBody {
    fn drop(&mut self) {
        // hyper drops a Content-Length body as soon as the last byte is written, without
        // polling it to the end; what is left decides whether the client got everything.
        let unsent = self
            .steps
            .iter()
            .any(|s| matches!(s, Step::Data(_) | Step::Cut | Step::Stall));
        self.finish(if unsent {
            MockOutcome::ClientGone
        } else {
            MockOutcome::Completed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<Event> {
        let mut events = vec![Event::other("head\n\n".into())];
        events.extend((0..4).map(|i| Event::token(format!("t{i}\n\n"))));
        events.push(Event::other("end\n\n".into()));
        events
    }

    fn data(steps: &VecDeque<Step>) -> String {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Data(b) => Some(String::from_utf8_lossy(b).into_owned()),
                Step::Flush | Step::Sleep(_) | Step::Cut | Step::Stall => None,
            })
            .collect()
    }

    #[test]
    fn plain_stream_sends_every_event_once() {
        let steps = stream_steps(events(), &Shape::default());
        assert_eq!(steps.len(), 6);
        assert_eq!(data(&steps), "head\n\nt0\n\nt1\n\nt2\n\nt3\n\nend\n\n");
    }

    #[test]
    fn split_keeps_the_bytes() {
        let shape = Shape {
            split: Some(3),
            ..Shape::default()
        };
        let steps = stream_steps(events(), &shape);
        assert_eq!(data(&steps), "head\n\nt0\n\nt1\n\nt2\n\nt3\n\nend\n\n");
        assert!(steps.iter().all(|s| match s {
            Step::Data(b) => b.len() <= 3,
            Step::Flush | Step::Sleep(_) | Step::Cut | Step::Stall => true,
        }));
    }

    #[test]
    fn faults_strike_after_n_tokens() {
        let cut = Shape {
            fault: Fault::Cut,
            after: 2,
            ..Shape::default()
        };
        let steps = stream_steps(events(), &cut);
        assert_eq!(data(&steps), "head\n\nt0\n\nt1\n\n");
        assert_eq!(steps.back(), Some(&Step::Cut));
        let stall_late = Shape {
            fault: Fault::Stall(None),
            after: 99,
            ..Shape::default()
        };
        let steps = stream_steps(events(), &stall_late);
        assert_eq!(data(&steps), "head\n\nt0\n\nt1\n\nt2\n\nt3\n\n");
        assert_eq!(steps.back(), Some(&Step::Stall));
        let malformed = Shape {
            fault: Fault::Malformed("bad\n\n".into()),
            after: 0,
            ..Shape::default()
        };
        let steps = stream_steps(events(), &malformed);
        assert_eq!(
            data(&steps),
            "head\n\nbad\n\nt0\n\nt1\n\nt2\n\nt3\n\nend\n\n"
        );
    }

    #[test]
    fn delays_precede_tokens_and_the_first_waits_ttft() {
        let shape = Shape {
            delay: Duration::from_millis(5),
            ttft: Duration::from_millis(50),
            ..Shape::default()
        };
        let sleeps: Vec<Duration> = stream_steps(events(), &shape)
            .into_iter()
            .filter_map(|s| match s {
                Step::Sleep(d) => Some(d),
                Step::Data(_) | Step::Flush | Step::Cut | Step::Stall => None,
            })
            .collect();
        assert_eq!(sleeps[0], Duration::from_millis(50));
        assert_eq!(sleeps[1..], [Duration::from_millis(5); 3]);
    }

    #[test]
    fn whole_bodies_cut_at_half() {
        let body = Bytes::from_static(b"0123456789");
        let steps = whole_steps(body.clone(), &Fault::Cut, None);
        assert_eq!(data(&steps), "01234");
        assert_eq!(steps.back(), Some(&Step::Cut));
        let steps = whole_steps(body, &Fault::None, Some(4));
        assert_eq!(data(&steps), "0123456789");
        assert_eq!(steps.len(), 5);
    }

    #[test]
    fn a_stall_with_a_close_sleeps_then_cuts() {
        let close = Duration::from_millis(30);
        let shape = Shape {
            fault: Fault::Stall(Some(close)),
            after: 1,
            ..Shape::default()
        };
        let steps = stream_steps(events(), &shape);
        assert_eq!(data(&steps), "head\n\nt0\n\n");
        let tail: Vec<&Step> = steps.iter().rev().take(3).collect();
        assert_eq!(tail, [&Step::Cut, &Step::Sleep(close), &Step::Flush]);
        let steps = whole_steps(
            Bytes::from_static(b"0123"),
            &Fault::Stall(Some(close)),
            None,
        );
        assert_eq!(data(&steps), "01");
        assert_eq!(steps.back(), Some(&Step::Cut));
        let steps = whole_steps(Bytes::from_static(b"0123"), &Fault::Stall(None), None);
        assert_eq!(steps.back(), Some(&Step::Stall));
    }
}
