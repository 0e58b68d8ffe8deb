//! Writing whole responses from `request_filter`: JSON bodies, plain text, and errors in the
//! caller's wire format. Every answer carries `x-request-id`.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use super::ctx::RequestCtx;
use crate::errors::{ErrorFormat, GatewayError};

/// Writes a complete response.
pub async fn send(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    content_type: &str,
    body: Bytes,
    extra: &[(&'static str, String)],
) -> pingora::Result<()> {
    let mut h = ResponseHeader::build(status, Some(4 + extra.len()))?;
    h.insert_header("content-type", content_type)?;
    h.insert_header("content-length", body.len().to_string())?;
    h.insert_header("x-request-id", ctx.request_id.as_str())?;
    for (name, value) in extra {
        h.insert_header(*name, value.as_str())?;
    }
    ctx.status = status;
    session
        .write_response_header(Box::new(h), body.is_empty())
        .await?;
    if !body.is_empty() {
        session.write_response_body(Some(body), true).await?;
    }
    Ok(())
}

/// Writes an error in the caller's format.
pub async fn error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    err: &GatewayError,
    format: ErrorFormat,
) -> pingora::Result<()> {
    ctx.error = Some(err.kind.code());
    let mut extra = Vec::new();
    if let Some(secs) = err.retry_after {
        extra.push(("retry-after", secs.to_string()));
    }
    send(
        session,
        ctx,
        err.status(),
        "application/json",
        Bytes::from(err.render(format)),
        &extra,
    )
    .await
}
