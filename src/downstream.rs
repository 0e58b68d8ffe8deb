//! The client side of a response as the pipeline sees it: a [`Downstream`] writes a response
//! head and body pieces and tells when the client has gone. `proxy/` implements it over
//! pingora's `Session`; the attempt loop's tests implement it in memory. Also here: writing
//! whole responses and errors in the caller's wire format ([`send`], [`error`], [`failure`]).
//! Every answer carries `x-request-id`.
//!
//! May depend on `errors` and `ctx` only; never on pingora.

use std::future::Future;

use bytes::Bytes;

use crate::ctx::Trace;
use crate::errors::{ErrorFormat, ErrorKind, Failure, GatewayError};

/// The client closed its connection (or a write to it failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientGone;

/// A header value: static text needs no allocation; values written together
/// ([`Head::push_joined`]) share one.
#[derive(Debug, Clone)]
pub enum Value {
    Static(&'static str),
    Owned(String),
    /// A slice of a buffer other values share: UTF-8, as it is only cut from a `String` at
    /// the ends of what was written into it.
    Shared(Bytes),
}

impl Value {
    pub fn as_str(&self) -> &str {
        match self {
            Value::Static(s) => s,
            Value::Owned(s) => s,
            Value::Shared(b) => std::str::from_utf8(b).unwrap_or_default(),
        }
    }

    /// The value's bytes (a shared one's without checking them again).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::Static(s) => s.as_bytes(),
            Value::Owned(s) => s.as_bytes(),
            Value::Shared(b) => b,
        }
    }

    /// The value's bytes, without copying them.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Value::Static(s) => Bytes::from_static(s.as_bytes()),
            Value::Owned(s) => Bytes::from(s),
            Value::Shared(b) => b,
        }
    }
}

impl From<&'static str> for Value {
    fn from(s: &'static str) -> Value {
        Value::Static(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Owned(s)
    }
}

impl AsRef<str> for Value {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Value {}

/// The most headers one [`Head::push_joined`] shares a buffer between.
const JOINED_MAX: usize = 8;

/// A response head: status and headers in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(&'static str, Value)>,
}

impl Head {
    /// A head with `content-type` and `x-request-id`.
    pub fn new(status: u16, content_type: impl Into<Value>, request_id: &str) -> Head {
        // Room for the gateway's own headers and the `x-ratelimit-*` six without growing.
        let mut headers = Vec::with_capacity(16);
        headers.push(("content-type", content_type.into()));
        headers.push(("x-request-id", Value::Owned(request_id.to_string())));
        Head { status, headers }
    }

    pub fn push(&mut self, name: &'static str, value: impl Into<Value>) {
        self.headers.push((name, value.into()));
    }

    /// Adds headers whose values `write` appends to one buffer, calling its second argument
    /// with each header's name after its value (so the buffer's length is where the value
    /// ends): one allocation for them all instead of one each.
    pub fn push_joined(
        &mut self,
        write: impl FnOnce(&mut String, &mut dyn FnMut(&'static str, &String)),
    ) {
        let mut text = String::with_capacity(64);
        let mut ends = [("", 0); JOINED_MAX];
        let mut n = 0;
        let mut extra = Vec::new();
        write(&mut text, &mut |name, text| {
            if let Some(slot) = ends.get_mut(n) {
                *slot = (name, text.len());
                n += 1;
            } else {
                extra.push((name, text.len()));
            }
        });
        let text = Bytes::from(text);
        let mut start = 0;
        for (name, end) in ends.into_iter().take(n).chain(extra) {
            let end = end.clamp(start, text.len());
            self.headers
                .push((name, Value::Shared(text.slice(start..end))));
            start = end;
        }
    }

    /// Removes every header called `name`.
    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| *n != name);
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where the response goes.
pub trait Downstream: Send {
    /// Writes the response head; `end`: no body follows.
    fn write_head(
        &mut self,
        head: Head,
        end: bool,
    ) -> impl Future<Output = Result<(), ClientGone>> + Send;
    /// Writes a piece of the body; `end`: it is the last.
    fn write_body(
        &mut self,
        body: Bytes,
        end: bool,
    ) -> impl Future<Output = Result<(), ClientGone>> + Send;
    /// Called just before the last write of an answer whose usage and cost in `trace` are
    /// final (`served`: it is the provider's answer, not an error): what the request holds
    /// against limits and budgets can be settled before the client can send its next one.
    fn ending(&mut self, _trace: &Trace, _served: bool) {}
    /// Resolves when the client closes its connection; never otherwise.
    fn gone(&mut self) -> impl Future<Output = ()> + Send;
}

/// Writes a complete response: `head` gets `content-length`, `trace` the status.
pub async fn send<D: Downstream>(
    down: &mut D,
    trace: &mut Trace,
    mut head: Head,
    body: Bytes,
) -> Result<(), ClientGone> {
    head.headers
        .insert(1, ("content-length", Value::Owned(body.len().to_string())));
    trace.status = head.status;
    down.ending(trace, (200..300).contains(&head.status));
    let empty = body.is_empty();
    down.write_head(head, empty).await?;
    if !empty {
        down.write_body(body, true).await?;
    }
    Ok(())
}

/// Writes an error in the caller's format.
pub async fn error<D: Downstream>(
    down: &mut D,
    trace: &mut Trace,
    request_id: &str,
    err: &GatewayError,
    format: ErrorFormat,
) -> Result<(), ClientGone> {
    trace.error = Some(err.kind.code());
    let mut head = Head::new(err.status(), "application/json", request_id);
    if let Some(allow) = err.allow {
        head.push("allow", allow);
    }
    if let Some(secs) = err.retry_after {
        head.push("retry-after", secs.to_string());
    }
    if let Some(tokens) = err.context_window_limit {
        head.push("x-context-window-limit", tokens.to_string());
    }
    if err.kind == ErrorKind::RateLimited
        && let Some(limit) = err.limit
    {
        head.push("x-gateway-limit-kind", limit);
    }
    if let Some(quota) = &trace.quota {
        head.push_joined(|text, end| crate::limits::headers(quota, text, end));
    }
    send(down, trace, head, Bytes::from(err.render(format))).await
}

/// Answers a request that ended in `failure` (a client that is gone gets nothing).
pub async fn failure<D: Downstream>(
    down: &mut D,
    trace: &mut Trace,
    request_id: &str,
    failure: Failure,
    format: ErrorFormat,
) -> Result<(), ClientGone> {
    match failure {
        Failure::Respond(e) => error(down, trace, request_id, &e, format).await,
        Failure::CircuitOpen { retry_after_secs } => {
            let e = GatewayError::new(
                ErrorKind::Unavailable,
                format!("every provider for this model has an open circuit (recent failures); retry in {retry_after_secs}s"),
            )
            .with_retry_after(retry_after_secs);
            trace.error = Some("circuit_open");
            let mut head = Head::new(503, "application/json", request_id);
            head.push("x-gateway-circuit", "open");
            head.push("retry-after", retry_after_secs.to_string());
            send(down, trace, head, Bytes::from(e.render(format))).await
        }
        Failure::ClientGone => {
            trace.status = 499;
            trace.error = Some(ErrorKind::ClientClosed.code());
            Err(ClientGone)
        }
    }
}
