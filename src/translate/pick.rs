//! [`relay_for`]: which relay a stream gets. Same-format streams pass through byte-exact
//! ([`super::passthrough`]); cross-format streams go through a [`StreamTranslator`], and so
//! does a stream that continues one that broke ([`continuation_relay`]), and every stream
//! under the output gate. Pure.
//!
//! May depend on the relays, [`super::codec`] and the IR; nothing else in `translate`
//! depends on it (only `mod.rs` re-exports it).

use super::codec::Codec;
use super::passthrough::{AnthropicPassthrough, OpenAiPassthrough};
use super::relay::{Relay, RescuePoint};
use super::splice::Splice;
use super::translator::StreamTranslator;
use crate::compliance::policy::StreamGate;
use crate::config::ApiFormat;

/// The relay between a provider speaking `upstream` and a client speaking `client`.
/// `inject_usage`: the gateway asked an OpenAI provider for a usage chunk the client did not
/// ask for (it is hidden again); `include_usage`: the client asked for usage; `created`: the
/// time the translated events are stamped with (seconds since the epoch); `transcript`: keep
/// the text the client is sent, so that the stream can be continued if it breaks; `gate`:
/// the output gate, between a decoder and an encoder (a same-format stream is then decoded
/// and encoded again instead of passed through: its text must be screened).
pub fn relay_for(
    upstream: ApiFormat,
    client: ApiFormat,
    inject_usage: bool,
    include_usage: bool,
    created: u64,
    transcript: bool,
    gate: Option<StreamGate>,
) -> Box<dyn Relay> {
    if let Some(gate) = gate {
        let mut relay = StreamTranslator::new(
            Codec(upstream).stream_decoder(),
            Codec(client).stream_encoder(include_usage, created),
        )
        .gated(gate);
        if transcript {
            relay.status.keep_transcript();
        }
        return Box::new(relay);
    }
    match (upstream, client) {
        (ApiFormat::Openai, ApiFormat::Openai) => {
            let relay = OpenAiPassthrough::new(inject_usage);
            if transcript {
                Box::new(relay.keeping_transcript())
            } else {
                Box::new(relay)
            }
        }
        (ApiFormat::Anthropic, ApiFormat::Anthropic) => {
            let relay = AnthropicPassthrough::new();
            if transcript {
                Box::new(relay.keeping_transcript())
            } else {
                Box::new(relay)
            }
        }
        (upstream, client) => {
            let mut relay = StreamTranslator::new(
                Codec(upstream).stream_decoder(),
                Codec(client).stream_encoder(include_usage, created),
            );
            if transcript {
                relay.status.keep_transcript();
            }
            Box::new(relay)
        }
    }
}

/// The relay of a stream that continues a client stream which broke (mid-stream rescue): the
/// provider speaks `upstream`, the client `client`; `point` is where the client's stream
/// stands; `splice` says what of the new stream the client already has; `gate`: the output
/// gate. `None` when the client's format cannot be carried on.
pub fn continuation_relay(
    upstream: ApiFormat,
    client: ApiFormat,
    point: &RescuePoint,
    splice: Splice,
    gate: Option<StreamGate>,
) -> Option<Box<dyn Relay>> {
    let encoder = Codec(client).resumed_encoder(&point.resume)?;
    let relay = StreamTranslator::continuing(
        Codec(upstream).stream_decoder(),
        encoder,
        splice,
        &point.text,
    );
    Some(Box::new(match gate {
        Some(gate) => relay.gated(gate),
        None => relay,
    }))
}
