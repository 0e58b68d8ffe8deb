//! OpenAI Chat Completions ⇄ IR: requests ([`request`]), responses and errors
//! ([`response`]), and SSE streams ([`stream`], with the fast path for common chunks in
//! `stream_fast`).

mod request;
mod response;
mod stream;
mod stream_fast;
mod wire;

#[cfg(test)]
mod tests;

pub use request::{decode_request, encode_request};
pub use response::{
    decode_error, decode_response, encode_error, encode_response, finish_reason_str,
};
pub use stream::{StreamDecoder, StreamEncoder};
pub(crate) use wire::Chunk;
pub use wire::usage_of_json;
