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
//! Pure: no I/O. Depends on the IR, [`crate::translate::sse`] and [`crate::errors`] only.

mod error;
mod parts;
mod request;
mod response;
mod response_id;
mod stream;

#[cfg(test)]
mod tests;

pub use error::{decode_error, encode_error};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};
