//! Reading a request body under `server.max_body_bytes`, after checking that it is JSON.
//! A declared `Content-Length` over the cap is refused before reading a byte.

use bytes::{Bytes, BytesMut};
use pingora::proxy::Session;

use crate::errors::{ErrorKind, GatewayError};

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Answer the client with this.
    Reject(GatewayError),
    /// The client went away mid-body.
    ClientGone,
}

/// Refuses a request whose `Content-Type` is not JSON (`application/json`, `*+json`).
pub fn check_json_content_type(session: &Session) -> Result<(), GatewayError> {
    let value = session
        .req_header()
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok());
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
pub async fn read_body(session: &mut Session, limit: usize) -> Result<Bytes, BodyError> {
    let declared = session
        .req_header()
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        // The unread body makes the connection unusable for another request.
        session.set_keepalive(None);
        return Err(BodyError::Reject(too_large(limit)));
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    session.set_keepalive(None);
                    return Err(BodyError::Reject(too_large(limit)));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(_) => return Err(BodyError::ClientGone),
        }
    }
}
