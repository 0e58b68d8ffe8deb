//! Built-in model cards per provider type: public list prices (USD per million tokens),
//! context windows and capabilities as published by each provider. Data only.
//!
//! A `[[models]]` card or a provider's `models` list overrides these. Validation reads the
//! model ids (which `provider/model` names a provider type serves without a `models` list);
//! the runtime catalog (`crate::runtime::catalog`, re-exported there as `builtin`) reads the
//! whole cards.
//!
//! Lives in `config` because it is what the config knows about each provider type: it may
//! depend on `config::model` only, never on `runtime` or anything on the request path.

use super::model::{Capability, ProviderType};

/// One built-in card.
pub struct BuiltinCard {
    pub id: &'static str,
    pub input: f64,
    pub output: f64,
    pub context_window: u32,
    pub max_output_tokens: u32,
    pub caps: &'static [Capability],
    pub ttft_ms: u64,
}

use Capability::{Citations, Embeddings, JsonMode, Streaming, Thinking, Tools, Vision};

const CHAT: &[Capability] = &[Streaming, Tools, JsonMode];
const CHAT_VISION: &[Capability] = &[Streaming, Tools, JsonMode, Vision];
const REASONING: &[Capability] = &[Streaming, Tools, JsonMode, Vision, Thinking];
const CLAUDE: &[Capability] = &[Streaming, Tools, Vision, Citations];
const CLAUDE_THINKING: &[Capability] = &[Streaming, Tools, Vision, Citations, Thinking];
const EMBED: &[Capability] = &[Embeddings];
const MOCK: &[Capability] = &[Streaming, Tools, JsonMode, Vision, Embeddings];

const fn card(
    id: &'static str,
    input: f64,
    output: f64,
    context_window: u32,
    max_output_tokens: u32,
    caps: &'static [Capability],
    ttft_ms: u64,
) -> BuiltinCard {
    BuiltinCard {
        id,
        input,
        output,
        context_window,
        max_output_tokens,
        caps,
        ttft_ms,
    }
}

#[rustfmt::skip]
const OPENAI: &[BuiltinCard] = &[
    card("gpt-4o", 2.5, 10.0, 128_000, 16_384, CHAT_VISION, 450),
    card("gpt-4o-mini", 0.15, 0.6, 128_000, 16_384, CHAT_VISION, 350),
    card("gpt-4.1", 2.0, 8.0, 1_047_576, 32_768, CHAT_VISION, 500),
    card("gpt-4.1-mini", 0.4, 1.6, 1_047_576, 32_768, CHAT_VISION, 400),
    card("gpt-4.1-nano", 0.1, 0.4, 1_047_576, 32_768, CHAT_VISION, 300),
    card("o3", 2.0, 8.0, 200_000, 100_000, REASONING, 2500),
    card("o4-mini", 1.1, 4.4, 200_000, 100_000, REASONING, 1500),
    card("text-embedding-3-small", 0.02, 0.0, 8_191, 0, EMBED, 100),
    card("text-embedding-3-large", 0.13, 0.0, 8_191, 0, EMBED, 100),
];

#[rustfmt::skip]
const ANTHROPIC: &[BuiltinCard] = &[
    card("claude-opus-4", 15.0, 75.0, 200_000, 32_000, CLAUDE_THINKING, 1800),
    card("claude-opus-4-20250514", 15.0, 75.0, 200_000, 32_000, CLAUDE_THINKING, 1800),
    card("claude-sonnet-4", 3.0, 15.0, 200_000, 64_000, CLAUDE_THINKING, 1200),
    card("claude-sonnet-4-20250514", 3.0, 15.0, 200_000, 64_000, CLAUDE_THINKING, 1200),
    card("claude-3-5-haiku", 0.8, 4.0, 200_000, 8_192, CLAUDE, 600),
    card("claude-3-5-haiku-20241022", 0.8, 4.0, 200_000, 8_192, CLAUDE, 600),
    card("claude-3-opus", 15.0, 75.0, 200_000, 4_096, CLAUDE, 2000),
];

#[rustfmt::skip]
const GOOGLE: &[BuiltinCard] = &[
    card("gemini-2.5-pro", 1.25, 10.0, 1_048_576, 65_536, REASONING, 2000),
    card("gemini-2.5-flash", 0.3, 2.5, 1_048_576, 65_536, REASONING, 600),
    card("gemini-2.0-flash", 0.1, 0.4, 1_048_576, 8_192, CHAT_VISION, 400),
    card("text-embedding-004", 0.0, 0.0, 2_048, 0, EMBED, 100),
];

#[rustfmt::skip]
const GROQ: &[BuiltinCard] = &[
    card("llama-3.3-70b-versatile", 0.59, 0.79, 131_072, 32_768, CHAT, 200),
    card("llama-3.1-8b-instant", 0.05, 0.08, 131_072, 131_072, CHAT, 100),
];

#[rustfmt::skip]
const DEEP_INFRA: &[BuiltinCard] = &[
    card("meta-llama/Llama-3.3-70B-Instruct", 0.23, 0.40, 131_072, 16_384, CHAT, 500),
    card("meta-llama/Meta-Llama-3.1-8B-Instruct", 0.03, 0.05, 131_072, 16_384, CHAT, 300),
];

#[rustfmt::skip]
const MISTRAL: &[BuiltinCard] = &[
    card("mistral-large-latest", 2.0, 6.0, 131_072, 131_072, CHAT, 500),
    card("mistral-small-latest", 0.1, 0.3, 131_072, 131_072, CHAT_VISION, 300),
    card("codestral-latest", 0.3, 0.9, 256_000, 256_000, CHAT, 300),
    card("mistral-embed", 0.1, 0.0, 8_192, 0, EMBED, 100),
];

#[rustfmt::skip]
const META: &[BuiltinCard] = &[
    card("Llama-4-Maverick-17B-128E-Instruct-FP8", 0.0, 0.0, 1_048_576, 4_096, CHAT_VISION, 500),
    card("Llama-3.3-70B-Instruct", 0.0, 0.0, 131_072, 4_096, CHAT, 500),
];

#[rustfmt::skip]
const AZURE: &[BuiltinCard] = &[
    card("gpt-4o", 2.5, 10.0, 128_000, 16_384, CHAT_VISION, 500),
    card("gpt-4o-mini", 0.15, 0.6, 128_000, 16_384, CHAT_VISION, 400),
];

/// The mock provider's models are its behaviours (see `crate::mock`); priced so cost shows.
#[rustfmt::skip]
const MOCK_MODELS: &[BuiltinCard] = &[
    card("echo", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("tokens", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("tool-call", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("parallel-tool-calls", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("fail-500", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("fail-503", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("fail-429", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("fail-400-context", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("fail-once", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("slow", 1.0, 2.0, 1_000_000, 100_000, MOCK, 2000),
    card("slow-first-token", 1.0, 2.0, 1_000_000, 100_000, MOCK, 2000),
    card("stream-cut", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("stall", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("malformed", 1.0, 2.0, 1_000_000, 100_000, MOCK, 5),
    card("hang", 1.0, 2.0, 1_000_000, 100_000, MOCK, 60_000),
];

/// Built-in cards of a provider type.
pub fn cards_for(provider_type: ProviderType) -> &'static [BuiltinCard] {
    match provider_type {
        ProviderType::Openai => OPENAI,
        ProviderType::Anthropic => ANTHROPIC,
        ProviderType::Google => GOOGLE,
        ProviderType::Groq => GROQ,
        ProviderType::DeepInfra => DEEP_INFRA,
        ProviderType::Mistral => MISTRAL,
        ProviderType::Meta => META,
        ProviderType::AzureOpenai => AZURE,
        ProviderType::Mock => MOCK_MODELS,
        ProviderType::Local | ProviderType::Bedrock => &[],
    }
}

/// The built-in card of `id` for a provider type.
pub fn find(provider_type: ProviderType, id: &str) -> Option<&'static BuiltinCard> {
    cards_for(provider_type).iter().find(|c| c.id == id)
}
