//! [`relay_for`]: which relay a stream gets. Same-format streams pass through byte-exact
//! ([`super::passthrough`]); cross-format streams go through a [`StreamTranslator`]. Pure.
//!
//! May depend on the relays, [`super::codec`] and the IR; nothing else in `translate`
//! depends on it (only `mod.rs` re-exports it).

use super::codec::Codec;
use super::passthrough::{AnthropicPassthrough, OpenAiPassthrough};
use super::relay::Relay;
use super::translator::StreamTranslator;
use crate::config::ApiFormat;

/// The relay between a provider speaking `upstream` and a client speaking `client`.
/// `inject_usage`: the gateway asked an OpenAI provider for a usage chunk the client did not
/// ask for (it is hidden again); `include_usage`: the client asked for usage; `created`: the
/// time the translated events are stamped with (seconds since the epoch).
pub fn relay_for(
    upstream: ApiFormat,
    client: ApiFormat,
    inject_usage: bool,
    include_usage: bool,
    created: u64,
) -> Box<dyn Relay> {
    match (upstream, client) {
        (ApiFormat::Openai, ApiFormat::Openai) => Box::new(OpenAiPassthrough::new(inject_usage)),
        (ApiFormat::Anthropic, ApiFormat::Anthropic) => Box::new(AnthropicPassthrough::new()),
        (upstream, client) => Box::new(StreamTranslator::new(
            Codec(upstream).stream_decoder(),
            Codec(client).stream_encoder(include_usage, created),
        )),
    }
}
