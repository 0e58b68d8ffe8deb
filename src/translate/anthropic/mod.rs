//! The Anthropic Messages codec (`POST /v1/messages`): requests, responses, errors and SSE
//! streams to and from the canonical IR ([`super::ir`]). Pure: no I/O; depends only on the IR,
//! [`crate::translate::sse`] and [`crate::errors`].
//!
//! Entry points, the verbs every codec has: [`decode_request`], [`encode_request`],
//! [`decode_response`], [`encode_response`], [`decode_error`], [`encode_error`], and the
//! stateful [`StreamDecoder`] / [`StreamEncoder`] pair.
//!
//! Files: `blocks` (content blocks shared by requests and responses), `messages` (the
//! conversation and its merging rules), `request`, `response`, `stream_decoder` (with
//! `stream_fast`, its fast path for the common events), `stream_encoder`, `error` (the error
//! codec) and `fields` (the stop-reason, usage and message-id mappings the others share); this
//! file only declares and re-exports. Tests, in `tests/`: `mod.rs` (request decoding, shared
//! helpers), `encode`, `response`, `stream`, `split` (every byte offset, proptests),
//! `stream_fast` (the fast path against the serde reader); fixtures in
//! `tests/fixtures/anthropic/` at the repository root.
//!
//! Usage: the IR counts `input_tokens` as the whole prompt, while Anthropic's `input_tokens`
//! excludes the tokens read from or written to the prompt cache (see `fields`).

mod blocks;
mod error;
mod fields;
mod messages;
mod request;
mod response;
mod stream_decoder;
mod stream_encoder;
mod stream_fast;

#[cfg(test)]
mod tests;

pub use error::{decode_error, encode_error};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream_decoder::StreamDecoder;
pub use stream_encoder::StreamEncoder;
