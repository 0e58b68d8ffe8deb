//! The model catalog (R1): which provider serves which model, at what price, with which
//! capabilities. Built from the built-in cards, each provider's `models` list (or, for a
//! provider without one, what catalog sync discovered), the `[[models]]` cards and the quality
//! scores updated at run time ([`Overlay`]), in that order of precedence (later wins). A
//! model only sync knows, without a built-in card, has an unknown price. Pure; rebuilt on
//! reload and after a sync.
//!
//! Entry points: [`Catalog::build`], [`Catalog::lookup`], [`Catalog::providers_of`].

pub mod state;

/// The built-in cards, kept in `config` (validation needs their model ids) and read here.
pub use crate::config::builtin_models as builtin;

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{Capability, Classification, Config, ModelCardConfig, QualityScores, served};

/// One model as served by one provider.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCard {
    /// The id the provider knows.
    pub id: String,
    /// Provider id.
    pub provider: String,
    pub provider_type: &'static str,
    pub input_price_per_mtok: f64,
    pub output_price_per_mtok: f64,
    /// USD per million cached input tokens, when the provider prices them apart.
    pub cached_input_price_per_mtok: Option<f64>,
    pub context_window: u32,
    pub max_output_tokens: u32,
    pub capabilities: Vec<Capability>,
    pub max_classification: Classification,
    pub quality: QualityScores,
    pub ttft_ms: Option<u64>,
    /// Whether `model: "auto"` may choose it (the mock's failure behaviours may not).
    pub auto: bool,
    /// When the built-in prices and scores were read; `None` for cards from the config.
    pub as_of: Option<String>,
    /// Whether its prices are known (a model only catalog sync knows has none: its cost is
    /// unknown, `auto` never picks it, and a key with a budget may not use it).
    pub price_known: bool,
    /// Where the card came from: `builtin`, `provider` (listed without a card), `sync`
    /// (discovered, no built-in card) or `config`.
    pub source: &'static str,
    /// `capabilities` as a mask of [`cap_bit`]s (derived).
    #[serde(skip)]
    pub caps_mask: u16,
    /// Quality in 0..1 as each emphasis weighs the scores: general, coding, reasoning,
    /// writing (derived; see [`blends`]).
    #[serde(skip)]
    pub blend: [f32; 4],
}

impl ModelCard {
    pub fn has(&self, cap: Capability) -> bool {
        self.caps_mask & cap_bit(cap) != 0
    }

    /// Recomputes the derived fields after the card changed.
    pub fn derive(&mut self) {
        self.caps_mask = self.capabilities.iter().fold(0, |m, c| m | cap_bit(*c));
        self.blend = blends(&self.quality);
    }

    /// Whether the card only embeds (never chats).
    pub fn embeddings_only(&self) -> bool {
        self.caps_mask == cap_bit(Capability::Embeddings)
    }
}

/// A capability's bit in a mask.
pub const fn cap_bit(c: Capability) -> u16 {
    1 << (c as u16)
}

/// A card's quality under each emphasis (general, coding, reasoning, writing): a weighted
/// mean of the scores it has (Elo mapped from 1100..1500 onto 0..1); 0.5 without any.
pub fn blends(q: &QualityScores) -> [f32; 4] {
    let elo = q.arena_elo.map(|e| ((e - 1100.0) / 400.0).clamp(0.0, 1.0));
    let (c, r, i) = (q.coding, q.reasoning, q.instruction_following);
    let mean = |parts: &[(Option<f64>, f64)]| {
        let (sum, weight) = parts
            .iter()
            .filter_map(|(v, w)| v.map(|v| (v.clamp(0.0, 1.0) * w, *w)))
            .fold((0.0, 0.0), |(s, t), (v, w)| (s + v, t + w));
        if weight > 0.0 {
            (sum / weight) as f32
        } else {
            0.5
        }
    };
    [
        mean(&[(c, 1.0), (r, 1.0), (i, 1.0), (elo, 1.0)]),
        mean(&[(c, 0.6), (r, 0.2), (i, 0.2)]),
        mean(&[(r, 0.6), (c, 0.2), (elo, 0.2)]),
        mean(&[(elo, 0.5), (i, 0.5)]),
    ]
}

/// What the running gateway learned on top of the config: the models catalog sync found
/// per provider (for providers without a `models` list), and quality scores set through the
/// API, by model id.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    pub synced: BTreeMap<String, Vec<String>>,
    pub scores: BTreeMap<String, QualityScores>,
}

/// All model cards, indexed.
#[derive(Debug, Default)]
pub struct Catalog {
    cards: Vec<Arc<ModelCard>>,
    /// (provider id, model id) → card index.
    by_provider_model: HashMap<(String, String), usize>,
    /// model id → card indexes, in provider config order.
    by_model: HashMap<String, Vec<usize>>,
}

impl Catalog {
    /// Builds the catalog of the enabled providers of `config`, with what `overlay` adds.
    pub fn build(config: &Config, overlay: &Overlay) -> Catalog {
        let mut catalog = Catalog::default();
        for p in config.providers.iter().filter(|p| p.enabled) {
            // Its list (or what sync found, or the built-in one), then the [[models]] cards
            // that name it.
            let synced = overlay.synced.get(&p.id).filter(|_| p.models.is_none());
            let ids = match synced {
                Some(found) => found
                    .iter()
                    .cloned()
                    .chain(served::listed_models(config, p).into_iter().filter(|id| {
                        config
                            .models
                            .iter()
                            .any(|m| m.provider.as_deref() == Some(&p.id) && &m.id == id)
                    }))
                    .collect(),
                None => served::listed_models(config, p),
            };
            for id in ids {
                if catalog
                    .by_provider_model
                    .contains_key(&(p.id.clone(), id.clone()))
                {
                    continue;
                }
                let discovered = synced.is_some();
                let card = match builtin::find(p.provider_type, &id) {
                    Some(b) => ModelCard {
                        id: id.clone(),
                        provider: p.id.clone(),
                        provider_type: p.provider_type.as_str(),
                        input_price_per_mtok: b.input,
                        output_price_per_mtok: b.output,
                        cached_input_price_per_mtok: b.cached_input,
                        context_window: b.context_window,
                        max_output_tokens: b.max_output_tokens,
                        capabilities: b.caps.clone(),
                        max_classification: b.classification,
                        quality: b.quality.clone(),
                        ttft_ms: Some(b.ttft_ms),
                        auto: b.auto,
                        as_of: Some(b.as_of.clone()),
                        price_known: b.priced,
                        source: "builtin",
                        caps_mask: 0,
                        blend: [0.5; 4],
                    },
                    None => ModelCard {
                        id: id.clone(),
                        provider: p.id.clone(),
                        provider_type: p.provider_type.as_str(),
                        input_price_per_mtok: 0.0,
                        output_price_per_mtok: 0.0,
                        cached_input_price_per_mtok: None,
                        context_window: 128_000,
                        max_output_tokens: 8_192,
                        capabilities: vec![Capability::Streaming, Capability::Tools],
                        max_classification: Classification::Internal,
                        quality: QualityScores::default(),
                        ttft_ms: None,
                        // Its price is a default (listed) or unknown (discovered), not a
                        // known one: `auto` leaves it alone until a [[models]] card
                        // describes it.
                        auto: false,
                        as_of: None,
                        price_known: !discovered,
                        source: if discovered { "sync" } else { "provider" },
                        caps_mask: 0,
                        blend: [0.5; 4],
                    },
                };
                catalog.insert(card);
            }
        }
        for m in &config.models {
            let targets: Vec<usize> = match &m.provider {
                Some(p) => catalog
                    .by_provider_model
                    .get(&(p.clone(), m.id.clone()))
                    .copied()
                    .into_iter()
                    .collect(),
                None => catalog.by_model.get(&m.id).cloned().unwrap_or_default(),
            };
            for i in targets {
                let mut card = (*catalog.cards[i]).clone();
                apply_card(&mut card, m);
                card.derive();
                catalog.cards[i] = Arc::new(card);
            }
        }
        for (model, scores) in &overlay.scores {
            let targets = catalog.by_model.get(model).cloned().unwrap_or_default();
            for i in targets {
                let mut card = (*catalog.cards[i]).clone();
                card.quality = scores.clone();
                card.derive();
                catalog.cards[i] = Arc::new(card);
            }
        }
        catalog
    }

    fn insert(&mut self, mut card: ModelCard) {
        card.derive();
        let i = self.cards.len();
        self.by_provider_model
            .insert((card.provider.clone(), card.id.clone()), i);
        self.by_model.entry(card.id.clone()).or_default().push(i);
        self.cards.push(Arc::new(card));
    }

    /// The card of a model served by a provider.
    pub fn lookup(&self, provider: &str, model: &str) -> Option<&Arc<ModelCard>> {
        // Borrowed lookup without allocating a key tuple would need a custom key type; the
        // catalog is small, so a linear scan over the model's providers is as fast.
        self.by_model
            .get(model)?
            .iter()
            .map(|&i| &self.cards[i])
            .find(|c| c.provider == provider)
    }

    /// Cards of every provider serving `model`, in provider config order.
    pub fn providers_of(&self, model: &str) -> impl Iterator<Item = &Arc<ModelCard>> {
        self.by_model
            .get(model)
            .into_iter()
            .flatten()
            .map(|&i| &self.cards[i])
    }

    /// Every card.
    pub fn cards(&self) -> &[Arc<ModelCard>] {
        &self.cards
    }
}

fn apply_card(card: &mut ModelCard, m: &ModelCardConfig) {
    if let Some(v) = m.input_price_per_mtok {
        card.input_price_per_mtok = v;
    }
    if let Some(v) = m.output_price_per_mtok {
        card.output_price_per_mtok = v;
    }
    if let Some(v) = m.context_window {
        card.context_window = v;
    }
    if let Some(v) = m.max_output_tokens {
        card.max_output_tokens = v;
    }
    if let Some(v) = &m.capabilities {
        card.capabilities = v.clone();
    }
    if let Some(v) = m.max_classification {
        card.max_classification = v;
    }
    if let Some(v) = &m.quality {
        card.quality = v.clone();
    }
    if let Some(v) = m.ttft_ms {
        card.ttft_ms = Some(v);
    }
    if m.input_price_per_mtok.is_some() || m.output_price_per_mtok.is_some() {
        card.price_known = true;
    }
    if matches!(card.source, "provider" | "sync") && card.price_known {
        card.auto = true;
    }
    card.source = "config";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProviderConfig, ProviderType};

    fn provider(id: &str, t: ProviderType, models: Option<Vec<&str>>) -> ProviderConfig {
        let text = format!("id = \"{id}\"\nprovider_type = \"{}\"", t.as_str());
        let mut p: ProviderConfig = toml::from_str(&text).unwrap();
        p.models = models.map(|m| m.into_iter().map(String::from).collect());
        p
    }

    #[test]
    fn builtin_listed_and_config_cards_merge() {
        let mut config = Config::default();
        config
            .providers
            .push(provider("openai", ProviderType::Openai, None));
        config.providers.push(provider(
            "vllm",
            ProviderType::Local,
            Some(vec!["llama-3.3-70b-instruct", "gpt-4o"]),
        ));
        config.models.push(toml::from_str("id = \"llama-3.3-70b-instruct\"\nprovider = \"vllm\"\ninput_price_per_mtok = 0.5\ncapabilities = [\"streaming\"]").unwrap());
        config.models.push(
            toml::from_str("id = \"custom\"\nprovider = \"vllm\"\ncontext_window = 4096").unwrap(),
        );
        let c = Catalog::build(&config, &Overlay::default());
        let gpt = c.lookup("openai", "gpt-4o").unwrap();
        assert_eq!((gpt.input_price_per_mtok, gpt.source), (2.5, "builtin"));
        // A local provider listing `gpt-4o` gets a zero-priced default card, not OpenAI's.
        assert_eq!(
            c.lookup("vllm", "gpt-4o").unwrap().input_price_per_mtok,
            0.0
        );
        let llama = c.lookup("vllm", "llama-3.3-70b-instruct").unwrap();
        assert_eq!((llama.input_price_per_mtok, llama.source), (0.5, "config"));
        assert_eq!(llama.capabilities, vec![Capability::Streaming]);
        assert_eq!(c.lookup("vllm", "custom").unwrap().context_window, 4096);
        let serving: Vec<&str> = c
            .providers_of("gpt-4o")
            .map(|c| c.provider.as_str())
            .collect();
        assert_eq!(serving, vec!["openai", "vllm"]);
    }

    #[test]
    fn disabled_providers_serve_nothing() {
        let mut config = Config::default();
        let mut p = provider("openai", ProviderType::Openai, None);
        p.enabled = false;
        config.providers.push(p);
        assert!(
            Catalog::build(&config, &Overlay::default())
                .cards()
                .is_empty()
        );
    }
}
