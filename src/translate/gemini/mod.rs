//! The Gemini wire format (`generateContent`, `streamGenerateContent?alt=sse`) ⇄ the IR.
//!
//! Same verbs as every codec: [`decode_request`] / [`encode_request`] (the request body; the
//! model lives in the URL path, which the gateway builds, so it is never read or written
//! here), [`decode_response`] / [`encode_response`], [`decode_error`] / [`encode_error`], and
//! the [`StreamDecoder`] / [`StreamEncoder`] pair for `alt=sse` streams (no `[DONE]`: a Gemini
//! stream ends when the connection closes).
//!
//! Gemini gives function calls no ids. Decoders name them deterministically (`call_<n>` in a
//! request, `call_<responseId>_<n>` in a response or stream) and pair each `functionResponse`
//! with the call it answers by name; the request encoder finds a result's function name from
//! the call with the same id earlier in the conversation.
//!
//! Pure: no I/O. Depends on the IR, [`crate::sse`] and [`crate::errors`] only.

mod error;
mod parts;
mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};

pub use error::{decode_error, encode_error};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};

/// An id for a response that came without a `responseId` (`gemini-<n>`, unique per process).
fn fallback_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("gemini-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
