//! What a request needs from a model (T6): tools, vision, JSON mode, extended thinking,
//! streaming, as a capability mask the capability layer compares with a card's. A request is
//! refused rather than silently downgraded, but only where translation would drop something:
//! a provider that speaks the caller's format receives the request as sent and keeps every
//! field, so it is never refused for a capability (the provider itself answers). Pure.

use crate::config::{ApiFormat, Capability};
use crate::runtime::catalog::{ModelCard, cap_bit};

/// What the request needs from a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub tools: bool,
    pub vision: bool,
    pub json: bool,
    /// Extended thinking / reasoning effort.
    pub thinking: bool,
    pub stream: bool,
}

impl Needs {
    /// The needs as a mask of [`cap_bit`]s.
    pub fn mask(&self) -> u16 {
        let mut m = 0;
        for (needed, cap) in [
            (self.tools, Capability::Tools),
            (self.vision, Capability::Vision),
            (self.json, Capability::JsonMode),
            (self.thinking, Capability::Thinking),
            (self.stream, Capability::Streaming),
        ] {
            if needed {
                m |= cap_bit(cap);
            }
        }
        m
    }

    /// The first capability in `required` that `card` lacks, when the request goes through
    /// translation (`same_format` false); a same-format request keeps everything it sends.
    pub fn missing(required: u16, card: &ModelCard, same_format: bool) -> Option<Capability> {
        if same_format {
            return None;
        }
        let lacking = required & !card.caps_mask;
        (lacking != 0).then(|| first_cap(lacking))
    }

    /// Whether a request in `format` reaches a provider speaking `provider` untranslated.
    pub fn same_format(format: ApiFormat, provider: ApiFormat) -> bool {
        format == provider
    }
}

/// The capability of the lowest bit set in `mask`.
pub fn first_cap(mask: u16) -> Capability {
    const ALL: [Capability; 8] = [
        Capability::Streaming,
        Capability::Tools,
        Capability::Vision,
        Capability::JsonMode,
        Capability::Thinking,
        Capability::Embeddings,
        Capability::Citations,
        Capability::Batch,
    ];
    ALL.into_iter()
        .find(|c| mask & cap_bit(*c) != 0)
        .unwrap_or(Capability::Streaming)
}

/// A capability's name as configs and errors spell it.
pub fn cap_name(c: Capability) -> &'static str {
    match c {
        Capability::Streaming => "streaming",
        Capability::Tools => "tools",
        Capability::Vision => "vision",
        Capability::JsonMode => "json_mode",
        Capability::Thinking => "thinking",
        Capability::Embeddings => "embeddings",
        Capability::Citations => "citations",
        Capability::Batch => "batch",
    }
}
