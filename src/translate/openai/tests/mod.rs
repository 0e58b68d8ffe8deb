//! Tests of the OpenAI codec: the decoders never panic on any input ([`fuzz`]), and the stream
//! decoder's fast path reads every chunk as serde does ([`stream_fast`]).

mod fuzz;
mod stream_fast;
