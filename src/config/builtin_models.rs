//! Built-in model cards per provider type, read from `builtin_models.toml` (embedded in the
//! binary): public list prices (USD per million tokens), context windows, capabilities,
//! classification ceilings, quality scores and median time to first token.
//!
//! A `[[models]]` card or a provider's `models` list overrides these. Validation reads the
//! model ids (which `provider/model` names a provider type serves without a `models` list);
//! the runtime catalog (`crate::runtime::catalog`, re-exported there as `builtin`) reads the
//! whole cards.
//!
//! Lives in `config` because it is what the config knows about each provider type: it may
//! depend on `config::model` only, never on `runtime` or anything on the request path.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::model::{Capability, Classification, ProviderType, QualityScores};

/// The embedded data file.
const TEXT: &str = include_str!("builtin_models.toml");

/// One built-in card.
#[derive(Debug, Clone)]
pub struct BuiltinCard {
    pub id: String,
    /// USD per million input tokens.
    pub input: f64,
    /// USD per million cached input tokens, when the provider prices them apart.
    pub cached_input: Option<f64>,
    /// USD per million output tokens.
    pub output: f64,
    pub context_window: u32,
    pub max_output_tokens: u32,
    pub caps: Vec<Capability>,
    pub ttft_ms: u64,
    pub classification: Classification,
    pub quality: QualityScores,
    /// Whether `model: "auto"` may choose it.
    pub auto: bool,
    /// Whether its per-token prices are its price (not so for models priced per image).
    pub priced: bool,
    /// When its prices and scores were read (`YYYY-MM-DD`).
    pub as_of: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    as_of: String,
    caps: HashMap<String, Vec<Capability>>,
    #[serde(default)]
    openai: Vec<Row>,
    #[serde(default)]
    anthropic: Vec<Row>,
    #[serde(default)]
    google: Vec<Row>,
    #[serde(default)]
    groq: Vec<Row>,
    #[serde(default)]
    deep_infra: Vec<Row>,
    #[serde(default)]
    mistral: Vec<Row>,
    #[serde(default)]
    meta: Vec<Row>,
    #[serde(default)]
    azure_openai: Vec<Row>,
    #[serde(default)]
    mock: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: String,
    input: f64,
    #[serde(default)]
    cached_input: Option<f64>,
    output: f64,
    context: u32,
    max_output: u32,
    caps: String,
    ttft_ms: u64,
    #[serde(default)]
    q: QualityScores,
    #[serde(default)]
    class: Classification,
    #[serde(default = "yes")]
    auto: bool,
    #[serde(default = "yes")]
    priced: bool,
    #[serde(default)]
    as_of: Option<String>,
}

fn yes() -> bool {
    true
}

/// The parsed file: cards per provider type, or why the file could not be read.
struct Builtin {
    by_type: HashMap<ProviderType, Vec<BuiltinCard>>,
    error: Option<String>,
}

static BUILTIN: LazyLock<Builtin> = LazyLock::new(|| match parse(TEXT) {
    Ok(by_type) => Builtin {
        by_type,
        error: None,
    },
    Err(error) => Builtin {
        by_type: HashMap::new(),
        error: Some(error),
    },
});

fn parse(text: &str) -> Result<HashMap<ProviderType, Vec<BuiltinCard>>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let File {
        as_of,
        caps,
        openai,
        anthropic,
        google,
        groq,
        deep_infra,
        mistral,
        meta,
        azure_openai,
        mock,
    } = file;
    let tables = [
        (ProviderType::Openai, openai),
        (ProviderType::Anthropic, anthropic),
        (ProviderType::Google, google),
        (ProviderType::Groq, groq),
        (ProviderType::DeepInfra, deep_infra),
        (ProviderType::Mistral, mistral),
        (ProviderType::Meta, meta),
        (ProviderType::AzureOpenai, azure_openai),
        (ProviderType::Mock, mock),
    ];
    let mut by_type = HashMap::new();
    for (provider_type, rows) in tables {
        let mut cards = Vec::with_capacity(rows.len());
        for row in rows {
            let set = caps.get(&row.caps).ok_or_else(|| {
                format!(
                    "{}/{}: unknown capability set `{}`",
                    provider_type.as_str(),
                    row.id,
                    row.caps
                )
            })?;
            cards.push(BuiltinCard {
                id: row.id,
                input: row.input,
                cached_input: row.cached_input,
                output: row.output,
                context_window: row.context,
                max_output_tokens: row.max_output,
                caps: set.clone(),
                ttft_ms: row.ttft_ms,
                classification: row.class,
                quality: row.q,
                auto: row.auto,
                priced: row.priced,
                as_of: row.as_of.unwrap_or_else(|| as_of.clone()),
            });
        }
        by_type.insert(provider_type, cards);
    }
    Ok(by_type)
}

/// Why the embedded file could not be read (checked at start: the gateway refuses to run on
/// a broken catalog rather than route without one).
pub fn load_error() -> Option<&'static str> {
    BUILTIN.error.as_deref()
}

/// Built-in cards of a provider type.
pub fn cards_for(provider_type: ProviderType) -> &'static [BuiltinCard] {
    BUILTIN
        .by_type
        .get(&provider_type)
        .map_or(&[], Vec::as_slice)
}

/// The built-in card of `id` for a provider type.
pub fn find(provider_type: ProviderType, id: &str) -> Option<&'static BuiltinCard> {
    cards_for(provider_type).iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_parses_and_covers_every_hosted_type() {
        assert_eq!(load_error(), None);
        for t in [
            ProviderType::Openai,
            ProviderType::Anthropic,
            ProviderType::Google,
            ProviderType::Groq,
            ProviderType::DeepInfra,
            ProviderType::Mistral,
            ProviderType::Meta,
            ProviderType::AzureOpenai,
            ProviderType::Mock,
        ] {
            assert!(!cards_for(t).is_empty(), "{}", t.as_str());
        }
        let gpt5 = find(ProviderType::Openai, "gpt-5").unwrap();
        assert_eq!((gpt5.input, gpt5.output), (1.25, 10.0));
        assert_eq!(gpt5.cached_input, Some(0.125));
        assert!(gpt5.caps.contains(&Capability::Thinking));
        assert!(gpt5.quality.coding.is_some());
        assert_eq!(gpt5.as_of, "2025-11-15");
        assert!(find(ProviderType::Anthropic, "claude-sonnet-4-5").is_some());
        assert!(!find(ProviderType::Mock, "fail-500").unwrap().auto);
        assert!(find(ProviderType::Mock, "echo").unwrap().auto);
    }

    #[test]
    fn every_chat_card_has_scores_and_sane_numbers() {
        for t in [
            ProviderType::Openai,
            ProviderType::Anthropic,
            ProviderType::Google,
        ] {
            for c in cards_for(t) {
                assert!(c.input >= 0.0 && c.output >= 0.0, "{}", c.id);
                assert!(c.context_window > 0, "{}", c.id);
                if c.caps.contains(&Capability::Streaming) {
                    assert!(c.quality.arena_elo.is_some(), "{} lacks scores", c.id);
                    assert!(c.max_output_tokens <= c.context_window, "{}", c.id);
                }
            }
        }
    }

    #[test]
    fn a_bad_file_names_the_problem() {
        let e = parse("as_of = \"x\"\nopenai = [{ id = \"m\", input = 1.0, output = 1.0, context = 1, max_output = 1, caps = \"nope\", ttft_ms = 1 }]\n[caps]").unwrap_err();
        assert!(e.contains("unknown capability set `nope`"), "{e}");
        assert!(parse("as_of = 1").is_err());
    }
}
