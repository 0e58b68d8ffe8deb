//! The capability gate (T6): what a request needs from a model (tools, vision, JSON mode), and
//! why a candidate cannot serve it. A request is refused rather than silently downgraded. Pure.

use super::candidate::Candidate;
use crate::config::Capability;
use crate::runtime::catalog::ModelCard;

/// What the request needs from a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub tools: bool,
    pub vision: bool,
    pub json: bool,
}

impl Needs {
    /// Why `cand` cannot serve this request, if it cannot (a candidate without a card is
    /// given the benefit of the doubt).
    pub fn problem(&self, cand: &Candidate) -> Option<String> {
        let card: &ModelCard = cand.card.as_deref()?;
        let missing: Vec<&str> = [
            (self.tools, Capability::Tools, "tools"),
            (self.vision, Capability::Vision, "vision"),
            (self.json, Capability::JsonMode, "json_mode"),
        ]
        .into_iter()
        .filter(|(needed, cap, _)| *needed && !card.has(*cap))
        .map(|(_, _, name)| name)
        .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "model `{}` at provider `{}` lacks the {} capability this request needs",
                card.id,
                card.provider,
                missing.join(" and ")
            )
        })
    }
}
