//! Reading a request body under `server.max_body_bytes`, after checking that it is JSON.
//! A declared `Content-Length` over the cap is refused before reading a byte.
//!
//! The client connection is reached through [`ClientRequest`], so this stage does not know
//! pingora; `proxy/` implements it over pingora's `Session`.

use std::future::Future;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http::request::Parts;

use crate::errors::{ErrorKind, Failure, GatewayError};

/// The request side of a client connection: its head and its body.
pub trait ClientRequest: Send {
    /// Method, URI and headers.
    fn head(&self) -> &Parts;
    /// The next piece of the body; `Ok(None)` at its end; `Err` when the client went away.
    fn read_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, ()>> + Send;
    /// The body will not be read to its end: the connection cannot serve another request.
    fn close_after_response(&mut self);
    /// Tells a client waiting for it (`Expect: 100-continue`) to send its body.
    fn send_continue(&mut self) -> impl Future<Output = Result<(), ()>> + Send;
}

/// Whether the client waits for `100 Continue` before sending its body.
fn expects_continue(head: &Parts) -> bool {
    head.version == http::Version::HTTP_11
        && head
            .headers
            .get("expect")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Refuses a request whose `Content-Type` is not JSON (`application/json`, `*+json`).
pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), GatewayError> {
    let value = headers.get("content-type").and_then(|v| v.to_str().ok());
    let mime = value.map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match mime.as_deref() {
        Some("application/json") => Ok(()),
        Some(m) if m.starts_with("application/") && m.ends_with("+json") => Ok(()),
        other => Err(GatewayError::new(
            ErrorKind::UnsupportedMediaType,
            format!(
                "Content-Type must be application/json (got {}). With curl, add -H 'Content-Type: application/json'.",
                other.map_or_else(|| "none".to_string(), |m| format!("`{m}`"))
            ),
        )),
    }
}

fn too_large(limit: usize) -> GatewayError {
    GatewayError::new(
        ErrorKind::PayloadTooLarge,
        format!(
            "Request body is larger than the gateway's limit of {limit} bytes (server.max_body_bytes)."
        ),
    )
}

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read_body<C: ClientRequest>(
    client: &mut C,
    limit: usize,
    within: std::time::Duration,
) -> Result<Bytes, Failure> {
    match tokio::time::timeout(within, read_body_now(client, limit)).await {
        Ok(read) => read,
        Err(_) => {
            // The rest of the body may still come: the connection cannot be reused.
            client.close_after_response();
            Err(GatewayError::new(
                ErrorKind::RequestTimeout,
                format!(
                    "the request body did not arrive within {} s (server.request_head_timeout_secs)",
                    within.as_secs()
                ),
            )
            .into())
        }
    }
}

/// [`read_body`] without its deadline.
async fn read_body_now<C: ClientRequest>(client: &mut C, limit: usize) -> Result<Bytes, Failure> {
    let declared = client
        .head()
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        // The unread body makes the connection unusable for another request.
        client.close_after_response();
        return Err(too_large(limit).into());
    }
    // The request passed every check that needs no body: the client may send it now.
    if expects_continue(client.head()) {
        client
            .send_continue()
            .await
            .map_err(|()| Failure::ClientGone)?;
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    loop {
        match client.read_chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    client.close_after_response();
                    return Err(too_large(limit).into());
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(()) => return Err(Failure::ClientGone),
        }
    }
}
