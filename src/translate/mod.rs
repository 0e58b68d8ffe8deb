//! Format translation (T1–T7): the canonical IR ([`ir`]) and one codec per wire format
//! ([`openai`], [`anthropic`], [`gemini`]), each with the same verbs: `decode_request`,
//! `encode_request`, `decode_response`, `encode_response`, `decode_error`, `encode_error`, and a
//! stream decoder/encoder pair. [`StreamTranslator`] drives a decoder and an encoder over a
//! byte stream split anywhere. `scan` is the strict JSON reader of the stream decoders' fast
//! paths. Pure: no I/O, no `.await`.
//!
//! Entry points: [`Codec`] (by [`ApiFormat`](crate::config::ApiFormat)), [`StreamTranslator`]
//! and [`relay_for`].
//!
//! Files: `contract` (what every format implements: [`EncodeOptions`] and the stream
//! traits), `codec` ([`Codec`], the verbs by format), `relay` (the [`Relay`] trait of a
//! stream filter and its [`RelayStatus`]), `translator` and `passthrough` (the two kinds of
//! relay), `splice` (what a stream that continues a broken one drops), `pick` ([`relay_for`],
//! which relay a pair of formats gets). This file only declares
//! and re-exports; nothing here imports it.
//!
//! May depend on `config` (`ApiFormat`) and `errors` only: no I/O, no stage, no pingora.

pub mod anthropic;
pub mod bridge;
mod codec;
mod contract;
mod gated;
pub mod gemini;
pub mod ir;
pub mod openai;
pub mod passthrough;
mod pick;
pub mod relay;
pub mod replay;
mod scan;
pub mod splice;
pub mod sse;
mod translator;

#[cfg(test)]
mod splice_tests;
#[cfg(test)]
pub(crate) mod tests;

pub use codec::Codec;
pub use contract::Resume;
pub use contract::{EncodeOptions, StreamDecoder, StreamEncoder};
pub use pick::{continuation_relay, relay_for};
pub use relay::{Finished, Relay, RelayStatus, RescuePoint, Transcript, blocked_error, incomplete};
pub use splice::Splice;
pub use translator::StreamTranslator;
