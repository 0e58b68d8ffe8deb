//! Requests whose head arrives whole, answered without pingora's HTTP session. Most LLM calls
//! are a JSON POST whose head the first read of a connection holds entirely, usually with its
//! body (a client that writes the head and the body apart has the rest read from the socket by
//! [`Lean`] as the inbound stage asks for it, under its deadline and size cap); for those,
//! building pingora's session (its request header with a map of the names' case, a
//! body reader, the response header inserted into and serialised from a header map) cost
//! more than everything else of a cached answer. [`parse`] takes such a request straight off
//! the bytes read and [`Lean`] writes the answer straight to the connection; anything else
//! (HTTP/1.0, a chunked or `Expect`ing body, an upgrade, a head still on its way, a path that
//! is not an LLM endpoint) goes through pingora as before.
//!
//! The parse is strict: one `Content-Length` of digits, no `Transfer-Encoding`, a
//! `Connection` of `keep-alive` or `close` only; header names and values as httparse and the
//! `http` crate accept them. The answer is framed as pingora frames it: by the head's
//! `Content-Length`, else its `Transfer-Encoding: chunked`, else by closing the connection;
//! `date` and `connection` are added.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::downstream::{ClientGone, Downstream, Head};
use crate::inbound::body::ClientRequest;
use crate::inbound::endpoint::Endpoint;

/// Headers a lean request may have (more: pingora reads it).
const MAX_HEADERS: usize = 32;

/// Bytes of the client's next request kept while an answer is written (a client that
/// pipelines more than this waits for the answer before it is read further).
const MAX_AHEAD: usize = 16 * 1024;

/// The most of a body read from the connection at once.
const BODY_READ: usize = 16 * 1024;

/// An answer's head and body up to this size leave in one write.
const ONE_WRITE: usize = 16 * 1024;

/// A request whose head (and some or all of its body) came in the connection's first bytes.
#[derive(Debug)]
pub struct Request {
    pub head: Parts,
    pub endpoint: Endpoint,
    /// The body's bytes read so far.
    pub body: Bytes,
    /// The body's bytes still to read from the connection.
    pub missing: usize,
    /// The client asked for the connection to close after the answer.
    pub close: bool,
    /// Bytes past this request: the start of the client's next one.
    pub rest: BytesMut,
}

/// Where the parts of a request lie in the bytes read.
struct Layout {
    path: (usize, usize),
    headers: [((usize, usize), (usize, usize)); MAX_HEADERS],
    count: usize,
    head_len: usize,
    body_len: usize,
    close: bool,
}

/// `bytes` as a lean request when they hold its whole head (see the module's doc), or back as
/// they came for pingora to read.
pub fn parse(bytes: BytesMut) -> Result<Request, BytesMut> {
    let Some((layout, endpoint)) = layout(&bytes) else {
        return Err(bytes);
    };
    let all = bytes.freeze();
    match build(&all, &layout, endpoint) {
        Some(request) => Ok(request),
        // (A path or a header value the `http` crate refuses: rare, and pingora answers it.)
        None => Err(BytesMut::from(&all[..])),
    }
}

fn layout(bytes: &[u8]) -> Option<(Layout, Endpoint)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return None,
    };
    if req.version != Some(1) || req.method != Some("POST") {
        return None;
    }
    let path = req.path?;
    let endpoint = Endpoint::for_path(path.split_once('?').map_or(path, |(p, _)| p))?;
    // (httparse hands back slices of `bytes`; an empty one may point anywhere.)
    let at = |s: &[u8]| -> Option<(usize, usize)> {
        if s.is_empty() {
            return Some((0, 0));
        }
        let start = (s.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize)?;
        (start + s.len() <= bytes.len()).then_some((start, start + s.len()))
    };
    let mut layout = Layout {
        path: at(path.as_bytes())?,
        headers: [((0, 0), (0, 0)); MAX_HEADERS],
        count: req.headers.len(),
        head_len,
        body_len: 0,
        close: false,
    };
    let (mut length, mut host) = (None, false);
    for (i, h) in req.headers.iter().enumerate() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let digits = h.value.iter().all(u8::is_ascii_digit);
            if length.is_some() || h.value.is_empty() || h.value.len() > 12 || !digits {
                return None;
            }
            length = Some(std::str::from_utf8(h.value).ok()?.parse::<usize>().ok()?);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"upgrade")
        {
            return None;
        } else if name.eq_ignore_ascii_case(b"connection") {
            if h.value.eq_ignore_ascii_case(b"close") {
                layout.close = true;
            } else if !h.value.eq_ignore_ascii_case(b"keep-alive") {
                return None;
            }
        } else if name.eq_ignore_ascii_case(b"host") {
            // Two hosts, or one with user info: pingora refuses those (400), so they go to it.
            if host || h.value.contains(&b'@') {
                return None;
            }
            host = true;
        }
        layout.headers[i] = (at(name)?, at(h.value)?);
    }
    layout.body_len = length?;
    Some((layout, endpoint))
}

fn build(all: &Bytes, layout: &Layout, endpoint: Endpoint) -> Option<Request> {
    let (mut head, ()) = http::Request::new(()).into_parts();
    head.method = http::Method::POST;
    head.version = http::Version::HTTP_11;
    head.uri = http::Uri::from_maybe_shared(all.slice(layout.path.0..layout.path.1)).ok()?;
    head.headers.reserve(layout.count);
    for &(name, value) in &layout.headers[..layout.count] {
        let name = HeaderName::from_bytes(&all[name.0..name.1]).ok()?;
        let value = HeaderValue::from_maybe_shared(all.slice(value.0..value.1)).ok()?;
        head.headers.append(name, value);
    }
    // (A length past what the address space holds is no request this side can read.)
    let whole = layout.head_len.checked_add(layout.body_len)?;
    let end = whole.min(all.len());
    Some(Request {
        head,
        endpoint,
        body: all.slice(layout.head_len..end),
        missing: whole - end,
        close: layout.close,
        rest: BytesMut::from(&all[end..]),
    })
}

/// How the answer's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No head written yet.
    Unset,
    /// `Content-Length`: this many bytes still to write.
    Length(u64),
    Chunked,
    /// Until the connection closes.
    Close,
    /// The answer is complete.
    Done,
}

/// A lean request's connection while it is answered: the request as [`ClientRequest`], the
/// answer as [`Downstream`].
pub struct Lean<'s, S> {
    stream: &'s mut S,
    head: Parts,
    body: Option<Bytes>,
    /// The body's bytes not read from the connection yet.
    missing: usize,
    keepalive: bool,
    framing: Framing,
    /// The head, until the body's first bytes go with it.
    out: Vec<u8>,
    write_timeout: Duration,
    rest: BytesMut,
}

impl<'s, S: AsyncRead + AsyncWrite + Unpin + Send> Lean<'s, S> {
    pub fn new(stream: &'s mut S, request: Request, write_timeout: Duration) -> Self {
        Lean {
            stream,
            head: request.head,
            body: Some(request.body),
            missing: request.missing,
            keepalive: !request.close,
            framing: Framing::Unset,
            out: Vec::new(),
            write_timeout,
            rest: request.rest,
        }
    }

    /// The connection ends after this answer.
    pub fn close(&mut self) {
        self.keepalive = false;
    }

    /// The request's head.
    pub fn head(&self) -> &Parts {
        &self.head
    }

    /// After a complete answer on a connection that stays open: the bytes of the client's
    /// next request read so far. `None`: the connection ends.
    pub fn into_next(self) -> Option<BytesMut> {
        (self.keepalive && self.framing == Framing::Done && self.missing == 0).then_some(self.rest)
    }

    async fn send(&mut self, body: &[u8]) -> Result<(), ClientGone> {
        let write = async {
            if self.out.len() + body.len() <= ONE_WRITE {
                self.out.extend_from_slice(body);
                self.stream.write_all(&self.out).await?;
            } else {
                self.stream.write_all(&self.out).await?;
                self.stream.write_all(body).await?;
            }
            self.stream.flush().await
        };
        let result = tokio::time::timeout(self.write_timeout, write).await;
        self.out.clear();
        match result {
            Ok(Ok(())) => Ok(()),
            _ => {
                self.keepalive = false;
                self.framing = Framing::Done;
                Err(ClientGone)
            }
        }
    }
}

/// A header value that may go on the wire (as the `http` crate accepts one). (A fold, not
/// an early exit: the compiler checks many bytes at once.)
fn valid_value(v: &[u8]) -> bool {
    v.iter().fold(true, |ok, &b| {
        ok & (((b >= 0x20) & (b != 0x7f)) | (b == b'\t'))
    })
}

/// A header name that may go on the wire: a token (RFC 9110 §5.1).
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes().fold(true, |ok, b| {
            ok & (b.is_ascii_alphanumeric()
                | matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                ))
        })
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> ClientRequest for Lean<'_, S> {
    fn head(&self) -> &Parts {
        &self.head
    }

    async fn read_chunk(&mut self) -> Result<Option<Bytes>, ()> {
        if let Some(read) = self.body.take().filter(|b| !b.is_empty()) {
            return Ok(Some(read));
        }
        if self.missing == 0 {
            return Ok(None);
        }
        // The rest of the body, never past it (what follows is the client's next request).
        let mut chunk = BytesMut::with_capacity(self.missing.min(BODY_READ));
        let n = (&mut *self.stream)
            .take(self.missing as u64)
            .read_buf(&mut chunk)
            .await
            .map_err(|_| ())?;
        if n == 0 {
            // The client closed before its body was whole.
            self.keepalive = false;
            return Err(());
        }
        self.missing -= n;
        Ok(Some(chunk.freeze()))
    }

    fn close_after_response(&mut self) {
        self.keepalive = false;
    }

    async fn send_continue(&mut self) -> Result<(), ()> {
        // (A lean request has no `Expect`: its body is here.)
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Downstream for Lean<'_, S> {
    async fn write_head(&mut self, head: Head, end: bool) -> Result<(), ClientGone> {
        if self.framing != Framing::Unset {
            return Err(ClientGone);
        }
        let status = http::StatusCode::from_u16(head.status).map_err(|_| ClientGone)?;
        if status.is_informational() {
            // (No caller sends an interim answer here; one would not end the exchange.)
            return Err(ClientGone);
        }
        if self.missing > 0 {
            // Answered before its body was read (refused early): the rest of the body is still
            // on its way, so the connection cannot carry another request; the answer says so.
            self.keepalive = false;
        }
        let bodiless =
            status == http::StatusCode::NO_CONTENT || status == http::StatusCode::NOT_MODIFIED;
        let chunked = head.get("transfer-encoding").is_some_and(|v| {
            let last = v.rsplit(',').next().unwrap_or(v);
            last.trim().eq_ignore_ascii_case("chunked")
        });
        let length = head
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        self.framing = match (bodiless, chunked, length) {
            (true, _, _) => Framing::Length(0),
            (_, true, _) => Framing::Chunked,
            (_, _, Some(n)) => Framing::Length(n),
            _ => Framing::Close,
        };
        if self.framing == Framing::Close {
            self.keepalive = false;
        }
        let size = head
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.as_bytes().len() + 4)
            .sum::<usize>();
        // Room for the head and, when it is of a known length that leaves in the same
        // write, the body.
        let body = match self.framing {
            Framing::Length(n) => (n as usize).min(ONE_WRITE),
            _ => 0,
        };
        let out = &mut self.out;
        out.reserve(size + 128 + body);
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
        let chunked = self.framing == Framing::Chunked;
        for (name, value) in &head.headers {
            // `date` and `connection` are this side's to write; a length beside chunked
            // framing is one no client may be given (RFC 9112 §6.2).
            if name.eq_ignore_ascii_case("date")
                || name.eq_ignore_ascii_case("connection")
                || (chunked && name.eq_ignore_ascii_case("content-length"))
            {
                continue;
            }
            let v = value.as_bytes();
            if !valid_name(name) || !valid_value(v) {
                self.out.clear();
                self.framing = Framing::Done;
                self.keepalive = false;
                return Err(ClientGone);
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(pingora::protocols::http::date::get_cached_date().as_bytes());
        out.extend_from_slice(if self.keepalive {
            b"\r\nconnection: keep-alive\r\n\r\n".as_slice()
        } else {
            b"\r\nconnection: close\r\n\r\n".as_slice()
        });
        match self.framing {
            _ if end => self.write_body(Bytes::new(), true).await,
            // A body of known length follows at once: it goes with the head. Any other (a
            // stream) may take its time: the head goes now.
            Framing::Length(n) if n > 0 => Ok(()),
            _ => self.send(&[]).await,
        }
    }

    async fn write_body(&mut self, body: Bytes, end: bool) -> Result<(), ClientGone> {
        match self.framing {
            // (Nothing more, after the end: as pingora, not an error.)
            Framing::Done if body.is_empty() => Ok(()),
            Framing::Unset | Framing::Done => {
                self.keepalive = false;
                Err(ClientGone)
            }
            Framing::Length(left) => {
                let n = body.len() as u64;
                let body = if n > left {
                    // More than the head announced: the connection cannot carry another
                    // answer after this one.
                    self.keepalive = false;
                    body.slice(..left as usize)
                } else {
                    body
                };
                let left = left - body.len() as u64;
                self.framing = Framing::Length(left);
                if end {
                    if left > 0 {
                        self.keepalive = false;
                    }
                    self.framing = Framing::Done;
                }
                if body.is_empty() && self.out.is_empty() {
                    return Ok(());
                }
                self.send(&body).await
            }
            Framing::Chunked => {
                if !body.is_empty() {
                    let mut size = [0u8; 16];
                    let size = hex(body.len(), &mut size);
                    self.out.extend_from_slice(size);
                    self.out.extend_from_slice(b"\r\n");
                    if self.out.len() + body.len() <= ONE_WRITE {
                        self.out.extend_from_slice(&body);
                        self.out.extend_from_slice(b"\r\n");
                    } else {
                        self.send(&body).await?;
                        self.out.extend_from_slice(b"\r\n");
                    }
                }
                if end {
                    self.out.extend_from_slice(b"0\r\n\r\n");
                    self.framing = Framing::Done;
                }
                if self.out.is_empty() {
                    return Ok(());
                }
                self.send(&[]).await
            }
            Framing::Close => {
                if end {
                    self.framing = Framing::Done;
                }
                if body.is_empty() && self.out.is_empty() {
                    return Ok(());
                }
                self.send(&body).await
            }
        }
    }

    async fn gone(&mut self) {
        if self.missing > 0 {
            // What the client sends now is its body's rest: never taken for a next request.
            self.keepalive = false;
            std::future::pending::<()>().await;
        }
        // Bytes the client sends meanwhile are its next request: kept, up to a bound.
        let mut chunk = [0u8; 512];
        while self.rest.len() < MAX_AHEAD {
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    self.keepalive = false;
                    return;
                }
                Ok(n) => self.rest.extend_from_slice(&chunk[..n]),
            }
        }
        std::future::pending::<()>().await;
    }
}

/// `n` in lowercase hex, written into `buf`.
fn hex(mut n: usize, buf: &mut [u8; 16]) -> &[u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = DIGITS[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    &buf[at..]
}

#[cfg(test)]
mod tests;
