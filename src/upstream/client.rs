//! The gateway's own upstream HTTP client (ARCHITECTURE.md decision 1): pingora's pooled
//! [`Connector`] (TLS through rustls with the system roots), peers built from an address
//! resolved by [`DnsCache`], one request written and its response header read.
//!
//! Timeouts other than connect, and client-disconnect watching, are applied by the caller
//! around [`UpstreamClient::send`] and each body read, so each stays independent.

use std::time::Duration;

use bytes::Bytes;
use pingora::connectors::http::Connector;
use pingora::http::RequestHeader;
use pingora::protocols::http::client::HttpSession;
use pingora::upstreams::peer::HttpPeer;

use super::dns::DnsCache;
use crate::providers::Endpoint;

/// How long an idle pooled upstream connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// A request ready to be written upstream.
#[derive(Debug)]
pub struct UpstreamRequest {
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
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(m) => write!(f, "connect failed: {m}"),
            Self::Io(m) => write!(f, "upstream connection failed: {m}"),
        }
    }
}

/// A response whose header has been read; the body is read through `session`.
pub struct UpstreamResponse {
    pub session: HttpSession,
    pub peer: HttpPeer,
    pub status: u16,
}

impl UpstreamResponse {
    /// A response header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.session
            .response_header()?
            .headers
            .get(name)?
            .to_str()
            .ok()
    }
}

/// Pooled client shared by all requests.
pub struct UpstreamClient {
    connector: Connector,
    dns: DnsCache,
}

impl Default for UpstreamClient {
    fn default() -> Self {
        Self::new()
    }
}

impl UpstreamClient {
    pub fn new() -> Self {
        Self {
            connector: Connector::new(None),
            dns: DnsCache::new(),
        }
    }

    /// Connects (or reuses a pooled connection), writes the request and reads the response
    /// header. A pooled connection that turns out dead before any response is replaced by a
    /// fresh one once, since the provider cannot have seen the request.
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        req: &UpstreamRequest,
        connect_timeout: Duration,
    ) -> Result<UpstreamResponse, SendError> {
        let addr = self
            .dns
            .resolve(&endpoint.host, endpoint.port)
            .await
            .map_err(SendError::Connect)?;
        let mut peer = HttpPeer::new(addr, endpoint.tls, endpoint.host.clone());
        peer.options.connection_timeout = Some(connect_timeout);
        peer.options.total_connection_timeout = Some(connect_timeout * 2);
        peer.options.idle_timeout = Some(POOL_IDLE);
        let mut fresh_only = false;
        loop {
            let (mut session, reused) = if fresh_only {
                self.connect_fresh(&peer).await?
            } else {
                self.connector
                    .get_http_session(&peer)
                    .await
                    .map_err(|e| SendError::Connect(e.to_string()))?
            };
            match exchange(&mut session, endpoint, req).await {
                Ok(status) => {
                    return Ok(UpstreamResponse {
                        session,
                        peer,
                        status,
                    });
                }
                Err(e) if reused && !fresh_only => {
                    tracing::debug!(error = %e, "pooled upstream connection was dead; reconnecting");
                    fresh_only = true;
                }
                Err(e) => return Err(SendError::Io(e)),
            }
        }
    }

    async fn connect_fresh(&self, peer: &HttpPeer) -> Result<(HttpSession, bool), SendError> {
        // Loop until the pool has no more idle connections to this peer left to hand out.
        for _ in 0..64 {
            let (session, reused) = self
                .connector
                .get_http_session(peer)
                .await
                .map_err(|e| SendError::Connect(e.to_string()))?;
            if !reused {
                return Ok((session, false));
            }
            drop(session);
        }
        Err(SendError::Connect(
            "could not open a fresh connection".into(),
        ))
    }

    /// Returns a finished response's connection to the pool (or closes it if unfinished).
    pub async fn release(&self, mut resp: UpstreamResponse) {
        if resp.session.response_done() {
            self.connector
                .release_http_session(resp.session, &resp.peer, Some(POOL_IDLE))
                .await;
        }
    }
}

async fn exchange(
    session: &mut HttpSession,
    endpoint: &Endpoint,
    req: &UpstreamRequest,
) -> Result<u16, String> {
    let mut header = RequestHeader::build("POST", req.path.as_bytes(), Some(req.headers.len() + 3))
        .map_err(|e| e.to_string())?;
    let insert = |h: &mut RequestHeader, name: &'static str, value: String| {
        h.insert_header(name, value).map_err(|e| e.to_string())
    };
    insert(&mut header, "host", endpoint.host_header.clone())?;
    insert(&mut header, "content-length", req.body.len().to_string())?;
    for (name, value) in &req.headers {
        insert(&mut header, name, value.clone())?;
    }
    session
        .write_request_header(Box::new(header))
        .await
        .map_err(|e| e.to_string())?;
    session
        .write_request_body(req.body.clone(), true)
        .await
        .map_err(|e| e.to_string())?;
    session
        .finish_request_body()
        .await
        .map_err(|e| e.to_string())?;
    session
        .read_response_header()
        .await
        .map_err(|e| e.to_string())?;
    let status = session
        .response_header()
        .map(|h| h.status.as_u16())
        .ok_or("no response header")?;
    Ok(status)
}
