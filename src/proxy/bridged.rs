//! A client connection that rewrites the gateway's chat answer for a bridged call (the
//! Responses API, legacy completions through chat): a whole JSON answer is converted once it
//! is complete (its `content-length` fixed), a stream event by event as it is written. Error
//! answers and calls without a bridge pass through untouched.

use bytes::Bytes;

use crate::ctx::Trace;
use crate::downstream::{ClientGone, Downstream, Head, Value};
use crate::translate::bridge::Bridge;
use crate::translate::bridge::stream::BridgeStream;

/// What the adapter is doing with the current answer.
enum State {
    /// Nothing to rewrite (no bridge, or an error answer).
    Pass,
    /// A whole JSON answer: its head, waiting for the body.
    Whole(Head, Vec<u8>),
    /// An event stream being converted.
    Stream(Box<BridgeStream>),
}

/// The adapter over `D`.
pub struct Bridged<'d, D> {
    inner: &'d mut D,
    bridge: Option<(Bridge, &'d serde_json::Value)>,
    state: State,
}

impl<'d, D: Downstream> Bridged<'d, D> {
    pub fn new(inner: &'d mut D, bridge: Option<(Bridge, &'d serde_json::Value)>) -> Self {
        Bridged {
            inner,
            bridge,
            state: State::Pass,
        }
    }
}

impl<D: Downstream> Downstream for Bridged<'_, D> {
    async fn write_head(&mut self, mut head: Head, end: bool) -> Result<(), ClientGone> {
        let Some((bridge, request)) = self.bridge else {
            return self.inner.write_head(head, end).await;
        };
        let ok = (200..300).contains(&head.status);
        let content_type = head.get("content-type").unwrap_or_default();
        if !ok || end {
            self.state = State::Pass;
            return self.inner.write_head(head, end).await;
        }
        if content_type.starts_with("text/event-stream") {
            head.remove("content-length");
            self.state = State::Stream(Box::new(bridge.stream(request.clone())));
            return self.inner.write_head(head, false).await;
        }
        self.state = State::Whole(head, Vec::new());
        Ok(())
    }

    async fn write_body(&mut self, body: Bytes, end: bool) -> Result<(), ClientGone> {
        match &mut self.state {
            State::Pass => self.inner.write_body(body, end).await,
            State::Stream(conv) => {
                let mut out = conv.push(&body);
                if end {
                    out.extend(conv.finish());
                }
                if out.is_empty() && !end {
                    return Ok(());
                }
                self.inner.write_body(Bytes::from(out), end).await
            }
            State::Whole(_, buf) => {
                buf.extend_from_slice(&body);
                if !end {
                    return Ok(());
                }
                let State::Whole(mut head, buf) = std::mem::replace(&mut self.state, State::Pass)
                else {
                    return Ok(());
                };
                let out = match self.bridge {
                    Some((bridge, request)) => bridge.whole(&buf, request).unwrap_or(buf),
                    None => buf,
                };
                head.remove("content-length");
                head.headers
                    .insert(1, ("content-length", Value::Owned(out.len().to_string())));
                self.inner.write_head(head, out.is_empty()).await?;
                if out.is_empty() {
                    return Ok(());
                }
                self.inner.write_body(Bytes::from(out), true).await
            }
        }
    }

    fn ending(&mut self, trace: &Trace, served: bool) {
        self.inner.ending(trace, served);
    }

    async fn gone(&mut self) {
        self.inner.gone().await;
    }
}
