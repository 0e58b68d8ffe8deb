//! The gateway's own upstream HTTP client (ARCHITECTURE.md decision 1): pingora's pooled
//! [`TransportConnector`] (TLS through rustls with the system roots), peers built from an
//! address resolved by [`DnsCache`], one request written and its response header read through
//! pingora's HTTP/1 client session.
//!
//! The request (header and body) is serialised here and written with a single flush: pingora's
//! `write_request_header` flushes on its own, which would cost a second syscall, and a second
//! segment and wake-up at the provider, on every request.
//!
//! Timeouts other than connect, and client-disconnect watching, are applied by the caller
//! around [`Upstream::send`] and each body read, so each stays independent.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use pingora::connectors::TransportConnector;
use pingora::protocols::Stream;
use pingora::protocols::http::client::HttpSession;
use pingora::protocols::http::v1::client::HttpSession as Http1Session;
use pingora::upstreams::peer::{HttpPeer, Peer};
use tokio::io::AsyncWriteExt;

use super::contract::{SendError, Upstream, UpstreamRequest, UpstreamResponse};
use super::dns::DnsCache;
use crate::runtime::provider::Endpoint;

/// How long an idle pooled upstream connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// A response whose header has been read; the body is read through pingora's session.
pub struct PingoraResponse {
    session: HttpSession,
    peer: HttpPeer,
    status: u16,
}

impl PingoraResponse {
    fn new(session: Http1Session, peer: HttpPeer, status: u16) -> Self {
        Self {
            session: HttpSession::H1(session),
            peer,
            status,
        }
    }
}

impl UpstreamResponse for PingoraResponse {
    fn status(&self) -> u16 {
        self.status
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.session
            .response_header()?
            .headers
            .get(name)?
            .to_str()
            .ok()
    }

    async fn read_body(&mut self) -> Result<Option<Bytes>, String> {
        self.session
            .read_response_body()
            .await
            .map_err(|e| e.to_string())
    }
}

/// Pooled client shared by all requests.
pub struct UpstreamClient {
    connector: TransportConnector,
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
            connector: TransportConnector::new(None),
            dns: DnsCache::new(),
        }
    }

    /// Connects (or reuses a pooled connection), writes the request and reads the response
    /// header. A pooled connection proven dead before the provider could act on the request
    /// (the write failed, or it ended at once after it) is replaced by a fresh one, uncounted;
    /// any other failure is the caller's attempt to count.
    async fn send_request(
        &self,
        endpoint: &Endpoint,
        req: &UpstreamRequest,
        connect_timeout: Duration,
    ) -> Result<PingoraResponse, SendError> {
        let addr = self
            .dns
            .resolve(&endpoint.host, endpoint.port)
            .await
            .map_err(SendError::Connect)?;
        let mut peer = HttpPeer::new(addr, endpoint.tls, endpoint.host.clone());
        peer.options.connection_timeout = Some(connect_timeout);
        peer.options.total_connection_timeout = Some(connect_timeout * 2);
        peer.options.idle_timeout = Some(POOL_IDLE);
        let wire = request_wire(endpoint, req).map_err(SendError::Io)?;
        if let Some(stream) = self.connector.reused_stream(&peer).await {
            match exchange(stream, &peer, &wire).await {
                Ok((session, status)) => return Ok(PingoraResponse::new(session, peer, status)),
                // Proven dead before the provider could act on the request: resend on a fresh
                // connection, not counted as an attempt.
                // (What the connection said stays out of the log: it may echo the request.)
                Err(e) if e.proves_dead() => {
                    tracing::debug!("pooled upstream connection was dead; reconnecting");
                }
                // The provider may have read and acted on it: an attempt like any other.
                Err(e) => return Err(SendError::Io(e.message)),
            }
        }
        // Connecting (TCP and TLS handshakes) is the rare path: boxed, so that its large state
        // is not part of every request's future.
        let stream = Box::pin(self.connector.new_stream(&peer))
            .await
            .map_err(|e| {
                if is_local(&e) {
                    SendError::Local(e.to_string())
                } else {
                    SendError::Connect(e.to_string())
                }
            })?;
        let (session, status) = exchange(stream, &peer, &wire)
            .await
            .map_err(|e| SendError::Io(e.message))?;
        Ok(PingoraResponse::new(session, peer, status))
    }

    /// Returns a finished response's connection to the pool (or closes it if unfinished).
    async fn release_response(&self, resp: PingoraResponse) {
        let HttpSession::H1(mut session) = resp.session else {
            return;
        };
        if !session.is_body_done() {
            return;
        }
        session.respect_keepalive();
        if let Some(stream) = session.reuse().await {
            self.connector
                .release_stream(stream, resp.peer.reuse_hash(), Some(POOL_IDLE));
        }
    }
}

impl Upstream for UpstreamClient {
    type Response = PingoraResponse;

    fn send(
        &self,
        endpoint: &Endpoint,
        req: &UpstreamRequest,
        connect_timeout: Duration,
    ) -> impl Future<Output = Result<PingoraResponse, SendError>> + Send {
        self.send_request(endpoint, req, connect_timeout)
    }

    fn release(&self, resp: PingoraResponse) -> impl Future<Output = ()> + Send {
        self.release_response(resp)
    }
}

/// The HTTP/1.1 request as it goes on the wire: request line, `host`, `content-length`, the
/// attempt's headers, a blank line, then the body. Refuses anything that could break the
/// framing (a control character or space in the path, CR/LF/NUL in a header value).
fn request_wire(endpoint: &Endpoint, req: &UpstreamRequest) -> Result<Vec<u8>, String> {
    if req.path.is_empty() || !req.path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("invalid upstream path {:?}", req.path));
    }
    let fields = std::iter::once(("host", endpoint.host_header.as_str()))
        .chain(req.headers.iter().map(|(n, v)| (*n, v.as_str())));
    let mut wire = Vec::with_capacity(256 + req.body.len());
    if !matches!(req.method, "POST" | "GET") {
        return Err(format!("unsupported upstream method {}", req.method));
    }
    wire.extend_from_slice(req.method.as_bytes());
    wire.push(b' ');
    wire.extend_from_slice(req.path.as_bytes());
    wire.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in fields {
        if !value_is_safe(value) {
            return Err(format!("invalid value for upstream header `{name}`"));
        }
        wire.extend_from_slice(name.as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"content-length: ");
    wire.extend_from_slice(req.body.len().to_string().as_bytes());
    wire.extend_from_slice(b"\r\n\r\n");
    wire.extend_from_slice(&req.body);
    Ok(wire)
}

/// A header value that cannot end the field early: visible ASCII, spaces and tabs, or UTF-8
/// beyond ASCII (as `http::HeaderValue` accepts), never CR, LF, NUL or another control byte.
fn value_is_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Why an exchange failed, and whether the provider can have acted on the request.
struct Broken {
    message: String,
    /// The write failed, or the connection ended right after it.
    early: bool,
}

impl Broken {
    /// Whether a pooled connection was dead before the provider could act on the request:
    /// the write failed, or the read failed within [`DEAD_ON_ARRIVAL`] of it (a connection the
    /// provider had closed while it sat in the pool ends at once; one the provider read from
    /// and held does not).
    fn proves_dead(&self) -> bool {
        self.early
    }
}

/// How soon after the write a failed read proves the connection was already dead.
const DEAD_ON_ARRIVAL: Duration = Duration::from_millis(100);

/// Writes the request in one flush and reads the response header.
async fn exchange(
    mut stream: Stream,
    peer: &HttpPeer,
    wire: &[u8],
) -> Result<(Http1Session, u16), Broken> {
    let write_failed = |e: std::io::Error| Broken {
        message: e.to_string(),
        early: true,
    };
    stream.write_all(wire).await.map_err(write_failed)?;
    stream.flush().await.map_err(write_failed)?;
    let written = std::time::Instant::now();
    let mut session = Http1Session::new_with_options(stream, peer);
    if let Err(e) = session.read_response().await {
        return Err(Broken {
            message: e.to_string(),
            early: written.elapsed() < DEAD_ON_ARRIVAL,
        });
    }
    let status = session
        .resp_header()
        .map(|h| h.status.as_u16())
        .ok_or_else(|| Broken {
            message: "no response header".into(),
            early: false,
        })?;
    Ok((session, status))
}

/// Whether a connect error is the gateway's own (out of file descriptors, local ports or
/// buffers) rather than the provider's: such an error must not count against the provider.
fn is_local(e: &pingora::Error) -> bool {
    e.root_cause()
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::raw_os_error)
        .is_some_and(|code| LOCAL_ERRNOS.contains(&code))
}

/// `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`, `EADDRNOTAVAIL` (Linux numbers).
const LOCAL_ERRNOS: [i32; 5] = [24, 23, 105, 12, 99];

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::parse("http://api.example.com:8080/v1").expect("endpoint")
    }

    #[test]
    fn running_out_of_descriptors_is_the_gateways_own_error() {
        let emfile = pingora::Error::because(
            pingora::ErrorType::SocketError,
            "connect",
            std::io::Error::from_raw_os_error(24),
        );
        assert!(is_local(&emfile));
        let refused = pingora::Error::because(
            pingora::ErrorType::ConnectRefused,
            "connect",
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        );
        assert!(!is_local(&refused));
        assert!(!is_local(&pingora::Error::new(
            pingora::ErrorType::ConnectTimedout
        )));
    }

    #[test]
    fn wire_has_request_line_host_length_headers_and_body() {
        let req = UpstreamRequest {
            method: "POST",
            path: "/v1/chat/completions".into(),
            headers: vec![("authorization", "Bearer sk-1".into())],
            body: Bytes::from_static(b"{}"),
        };
        let wire = request_wire(&endpoint(), &req).expect("wire");
        assert_eq!(
            String::from_utf8(wire).expect("utf8"),
            "POST /v1/chat/completions HTTP/1.1\r\nhost: api.example.com:8080\r\n\
             authorization: Bearer sk-1\r\ncontent-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn wire_refuses_what_would_break_the_framing() {
        let mut req = UpstreamRequest {
            method: "POST",
            path: "/v1/x y".into(),
            headers: vec![],
            body: Bytes::new(),
        };
        assert!(request_wire(&endpoint(), &req).is_err());
        req.path = "/v1/x".into();
        for bad in ["a\r\nx-injected: 1", "a\nb", "a\0b", "a\x7fb"] {
            req.headers = vec![("x-api-key", bad.into())];
            assert!(request_wire(&endpoint(), &req).is_err(), "{bad:?}");
        }
        req.headers = vec![("x-api-key", "k\tv é".into())];
        assert!(request_wire(&endpoint(), &req).is_ok());
    }
}
