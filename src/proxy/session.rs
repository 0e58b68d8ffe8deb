//! pingora's server session as the pipeline's client connection: [`SessionIo`] implements the
//! inbound stage's [`ClientRequest`] (head and body) and the [`Downstream`] the attempt loop
//! and the responders write to.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue, InvalidHeaderName};
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
        // The header map is filled directly: every name here is lowercase already (no map of
        // the names' case), the gateway's own names are static (pingora's insert would parse
        // and copy each), and the values' bytes are shared, not copied.
        let (mut parts, ()) = http::Response::new(()).into_parts();
        parts.status = http::StatusCode::from_u16(head.status).map_err(|_| ClientGone)?;
        parts.headers.reserve(head.headers.len());
        for (name, value) in head.headers {
            let value =
                HeaderValue::from_maybe_shared(value.into_bytes()).map_err(|_| ClientGone)?;
            parts
                .headers
                .try_insert(header_name(name).map_err(|_| ClientGone)?, value)
                .map_err(|_| ClientGone)?;
        }
        self.0
            .write_response_header(Box::new(ResponseHeader::from(parts)))
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

/// The gateway's own header names, as constants (built at compile time).
macro_rules! own_names {
    ($($name:literal),* $(,)?) => {
        /// The header called `name`: standard and the gateway's own names are constants (no
        /// parsing, no allocation); any other is parsed.
        fn header_name(name: &'static str) -> Result<HeaderName, InvalidHeaderName> {
            Ok(match name {
                "content-type" => header::CONTENT_TYPE,
                "content-length" => header::CONTENT_LENGTH,
                "retry-after" => header::RETRY_AFTER,
                "cache-control" => header::CACHE_CONTROL,
                "transfer-encoding" => header::TRANSFER_ENCODING,
                "allow" => header::ALLOW,
                $($name => const { HeaderName::from_static($name) },)*
                other => HeaderName::from_bytes(other.as_bytes())?,
            })
        }

        #[cfg(test)]
        const OWN: &[&str] = &[$($name),*];
    };
}

own_names!(
    "x-request-id",
    "x-gateway-cache",
    "x-gateway-semantic-similarity",
    "x-gateway-route-score",
    "x-gateway-route-bucket",
    "x-gateway-deprecation",
    "x-gateway-provider",
    "x-gateway-model",
    "x-gateway-cost-usd",
    "x-gateway-limit-kind",
    "x-gateway-circuit",
    "x-gateway-idempotent",
    "x-gateway-retries",
    "x-gateway-failover",
    "x-gateway-stream-rescue",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_the_constants_or_parsed() {
        for name in OWN.iter().copied().chain(["content-type", "x-other"]) {
            assert_eq!(header_name(name).unwrap().as_str(), name);
        }
        assert!(header_name("Bad Name").is_err());
    }
}
