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
    let value = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let mime = value.map(|v| v.split(';').next().unwrap_or("").trim());
    // (Compared in place: no lowercase copy of the value.)
    let json = |m: &str| {
        let b = m.as_bytes();
        m.eq_ignore_ascii_case("application/json")
            || (b.len() >= "application/+json".len()
                && b[..12].eq_ignore_ascii_case(b"application/")
                && b[b.len() - 5..].eq_ignore_ascii_case(b"+json"))
    };
    match mime {
        Some(m) if json(m) => Ok(()),
        other => Err(GatewayError::new(
            ErrorKind::UnsupportedMediaType,
            format!(
                "Content-Type must be application/json (got {}). With curl, add -H 'Content-Type: application/json'.",
                other.map_or_else(
                    || "none".to_string(),
                    |m| format!("`{}`", m.to_ascii_lowercase())
                )
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

#[cfg(test)]
mod tests {
    use super::check_json_content_type;

    fn with(value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, value.parse().unwrap());
        h
    }

    #[test]
    fn json_content_types_pass_and_others_are_named() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "  application/json  ;x=1",
            "application/vnd.api+json",
            "APPLICATION/PROBLEM+JSON",
            "application/+json",
        ] {
            assert!(check_json_content_type(&with(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "text/x+json",
            "application/",
            "",
        ] {
            assert!(check_json_content_type(&with(bad)).is_err(), "{bad}");
        }
        let e = check_json_content_type(&with("Text/Plain")).unwrap_err();
        assert!(e.message.contains("`text/plain`"), "{}", e.message);
        let e = check_json_content_type(&http::HeaderMap::new()).unwrap_err();
        assert!(e.message.contains("got none"), "{}", e.message);
    }
}
