//! Bridges for the OpenAI endpoints that are not Chat Completions: the Responses API
//! (`/v1/responses`, A6) and legacy text completions (`/v1/completions` to a provider that
//! has no such endpoint, A3). A bridged request is rewritten into a Chat Completions request
//! ([`responses::to_chat`], [`completions::to_chat`]), walks the ordinary chat path
//! (routing, failover, translation to any provider format, streaming), and its answer — the
//! gateway's OpenAI chat answer — is rewritten back, whole ([`Bridge::whole`]) or event by
//! event as the stream arrives, split anywhere ([`Bridge::stream`]). Pure.

pub mod completions;
pub mod responses;
pub mod stream;

/// Which bridge a request takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bridge {
    /// Responses API ⇄ Chat Completions.
    Responses,
    /// Legacy text completions ⇄ Chat Completions.
    Completions,
}

impl Bridge {
    /// The client's answer for a whole chat completion (`None`: not a chat completion, sent
    /// unchanged).
    pub fn whole(self, chat: &[u8], request: &serde_json::Value) -> Option<Vec<u8>> {
        let chat: serde_json::Value = serde_json::from_slice(chat).ok()?;
        chat.get("choices")?;
        Some(match self {
            Bridge::Responses => responses::from_chat(&chat, request)
                .to_string()
                .into_bytes(),
            Bridge::Completions => completions::from_chat(&chat).to_string().into_bytes(),
        })
    }

    /// A converter of the chat stream into the client's stream.
    pub fn stream(self, request: serde_json::Value) -> stream::BridgeStream {
        stream::BridgeStream::new(self, request)
    }
}
