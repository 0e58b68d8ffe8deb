//! The contract between the attempt loop and whatever sends requests to providers: an
//! [`Upstream`] sends an [`UpstreamRequest`] and gives an [`UpstreamResponse`] whose body is
//! read piece by piece. Knows nothing of pingora (its implementation is `client`).

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use crate::runtime::provider::Endpoint;

/// A request ready to be written upstream.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// `POST` for every provider call; `GET` for documents the gateway reads (a JWKS).
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

/// Why an attempt failed before a response header arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// DNS or TCP/TLS connect failure: nothing reached the provider.
    Connect(String),
    /// The connection broke while writing or waiting for the header.
    Io(String),
    /// The gateway could not open a connection for lack of its own resources (file
    /// descriptors, local ports, buffers): nothing was tried.
    Local(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(m) => write!(f, "connect failed: {m}"),
            Self::Io(m) => write!(f, "upstream connection failed: {m}"),
            Self::Local(m) => write!(f, "no local resources for a connection: {m}"),
        }
    }
}

/// Sends requests to providers.
pub trait Upstream: Send + Sync {
    type Response: UpstreamResponse;

    /// Connects (or reuses a connection), writes the request and reads the response header.
    /// Dropping the future cancels the attempt and closes its connection.
    fn send(
        &self,
        endpoint: &Endpoint,
        req: &UpstreamRequest,
        connect_timeout: Duration,
    ) -> impl Future<Output = Result<Self::Response, SendError>> + Send;

    /// Returns a finished response's connection for reuse (or closes it if unfinished).
    fn release(&self, resp: Self::Response) -> impl Future<Output = ()> + Send;
}

/// A response whose header has been read.
pub trait UpstreamResponse: Send {
    fn status(&self) -> u16;
    /// A response header value.
    fn header(&self, name: &str) -> Option<&str>;
    /// The next piece of the body; `Ok(None)` at its end. Dropping the future is safe (the
    /// read is abandoned, as `select!` does).
    fn read_body(&mut self) -> impl Future<Output = Result<Option<Bytes>, String>> + Send;
}
