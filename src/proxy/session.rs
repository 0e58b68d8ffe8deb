//! pingora's server session as the pipeline's client connection: [`SessionIo`] implements the
//! inbound stage's [`ClientRequest`] (head and body) and the [`Downstream`] the attempt loop
//! and the responders write to.

use bytes::Bytes;
use http::request::Parts;
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;

use crate::downstream::{ClientGone, Downstream, Head};
use crate::inbound::body::ClientRequest;

/// A request's connection, borrowed while the request is served.
pub struct SessionIo<'s>(pub &'s mut ServerSession);

impl ClientRequest for SessionIo<'_> {
    fn head(&self) -> &Parts {
        self.0.req_header()
    }

    async fn read_chunk(&mut self) -> Result<Option<Bytes>, ()> {
        self.0.read_request_body().await.map_err(|_| ())
    }

    fn close_after_response(&mut self) {
        self.0.set_keepalive(None);
    }

    async fn send_continue(&mut self) -> Result<(), ()> {
        self.0.write_continue_response().await.map_err(|_| ())
    }
}

impl Downstream for SessionIo<'_> {
    async fn write_head(&mut self, head: Head, end: bool) -> Result<(), ClientGone> {
        // Without a map of the names' case: every name here is lowercase already, and keeping
        // their case costs a second map insert per header.
        let mut h = ResponseHeader::build_no_case(head.status, Some(head.headers.len()))
            .map_err(|_| ClientGone)?;
        for (name, value) in head.headers {
            // The value's bytes are shared with pingora, not copied.
            let bytes = match value {
                std::borrow::Cow::Borrowed(s) => Bytes::from_static(s.as_bytes()),
                std::borrow::Cow::Owned(s) => Bytes::from(s),
            };
            let value = http::HeaderValue::from_maybe_shared(bytes).map_err(|_| ClientGone)?;
            h.insert_header(name, value).map_err(|_| ClientGone)?;
        }
        self.0
            .write_response_header(Box::new(h))
            .await
            .map_err(|_| ClientGone)?;
        if end {
            self.0
                .write_response_body(Bytes::new(), true)
                .await
                .map_err(|_| ClientGone)?;
        }
        Ok(())
    }

    async fn write_body(&mut self, body: Bytes, end: bool) -> Result<(), ClientGone> {
        self.0
            .write_response_body(body, end)
            .await
            .map_err(|_| ClientGone)
    }

    async fn gone(&mut self) {
        loop {
            match self.0.read_body_or_idle(true).await {
                Err(_) => return,
                Ok(_) => std::future::pending::<()>().await,
            }
        }
    }
}
