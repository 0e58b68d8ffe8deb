//! Routing profiles (R3, seed 001 §4): per profile, how much quality and a low price count
//! (low 0.1, medium 0.3, high 0.6, very high 0.9), the latency tolerance (a median
//! time-to-first-token limit: realtime 500 ms, interactive 2 s, none for background and
//! flexible work), which quality signal leads, and what the profile requires or prefers of a
//! model. The same limit is the attempt loop's time-to-first-token timeout when a client names
//! a profile. Pure.

use std::time::Duration;

use serde::Serialize;

use crate::config::{Capability, PROFILE_NAMES, ProfileOverride};

/// A routing profile named by `x-routing-profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    Realtime,
    Interactive,
    Batch,
    CostOptimized,
    QualityOptimized,
    Balanced,
    Reasoning,
    Creative,
    Code,
}

/// Which quality signals a profile weighs most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Emphasis {
    /// Coding, reasoning, instruction following and Elo alike.
    General,
    Coding,
    Reasoning,
    /// Elo and instruction following (writing quality as people judge it).
    Writing,
}

/// How a profile weighs the pipeline's layers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weights {
    /// 0..1: how much quality scores count (layer 3).
    pub quality_weight: f64,
    /// 0..1: how much a low price counts (layer 4).
    pub cost_weight: f64,
    /// Longest median time to first token (layer 5); `None`: no limit.
    pub max_ttft_ms: Option<u64>,
    pub emphasis: Emphasis,
    /// Capabilities a model must have under this profile (layer 2).
    pub requires: &'static [Capability],
    /// A capability that earns a small bonus (the reasoning profile prefers thinking).
    pub prefers: Option<Capability>,
}

const LOW: f64 = 0.1;
const MEDIUM: f64 = 0.3;
const HIGH: f64 = 0.6;
const VERY_HIGH: f64 = 0.9;
const REALTIME_MS: u64 = 500;
const INTERACTIVE_MS: u64 = 2000;

impl Profile {
    /// Every profile, in the order of `GET /v1/routing-profiles`.
    pub const ALL: [Profile; 9] = [
        Self::Realtime,
        Self::Interactive,
        Self::Batch,
        Self::CostOptimized,
        Self::QualityOptimized,
        Self::Balanced,
        Self::Reasoning,
        Self::Creative,
        Self::Code,
    ];

    /// Every profile name, for error messages.
    pub const NAMES: [&'static str; 9] = PROFILE_NAMES;

    pub fn parse(name: &str) -> Option<Profile> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        PROFILE_NAMES[self as usize]
    }

    /// What a profile favours, in a few words (for the profiles listing).
    pub fn best_for(self) -> &'static str {
        match self {
            Self::Realtime => "autocomplete, inline suggestions, sub-second chat",
            Self::Interactive => "standard chat, Q&A, moderate tasks",
            Self::Batch => "bulk processing, data extraction, overnight jobs",
            Self::CostOptimized => "high-volume, cost-sensitive workloads",
            Self::QualityOptimized => "complex analysis and critical outputs",
            Self::Balanced => "general-purpose default",
            Self::Reasoning => "math, logic, multi-step reasoning (prefers extended thinking)",
            Self::Creative => "writing, brainstorming, content generation",
            Self::Code => "code generation, review, debugging",
        }
    }

    /// The built-in weights (seed 001 §4's table).
    pub fn weights(self) -> Weights {
        let (quality_weight, cost_weight, max_ttft_ms, emphasis) = match self {
            Self::Realtime => (MEDIUM, LOW, Some(REALTIME_MS), Emphasis::General),
            Self::Interactive => (HIGH, MEDIUM, Some(INTERACTIVE_MS), Emphasis::General),
            Self::Batch => (MEDIUM, HIGH, None, Emphasis::General),
            Self::CostOptimized => (LOW, VERY_HIGH, None, Emphasis::General),
            Self::QualityOptimized => (VERY_HIGH, LOW, None, Emphasis::General),
            Self::Balanced => (HIGH, MEDIUM, Some(INTERACTIVE_MS), Emphasis::General),
            Self::Reasoning => (VERY_HIGH, LOW, None, Emphasis::Reasoning),
            Self::Creative => (HIGH, MEDIUM, Some(INTERACTIVE_MS), Emphasis::Writing),
            Self::Code => (VERY_HIGH, MEDIUM, Some(INTERACTIVE_MS), Emphasis::Coding),
        };
        Weights {
            quality_weight,
            cost_weight,
            max_ttft_ms,
            emphasis,
            requires: match self {
                Self::Realtime => &[Capability::Streaming],
                Self::Code => &[Capability::Tools],
                _ => &[],
            },
            prefers: (self == Self::Reasoning).then_some(Capability::Thinking),
        }
    }

    /// The time-to-first-token limit of the profile's latency tolerance, used as the attempt
    /// loop's timeout when the client names the profile.
    pub fn ttft_limit(self) -> Option<Duration> {
        self.weights().max_ttft_ms.map(Duration::from_millis)
    }
}

impl Weights {
    /// These weights with a `[model_routing.profiles.<name>]` override applied.
    pub fn with(mut self, o: &ProfileOverride) -> Weights {
        if let Some(w) = o.quality_weight {
            self.quality_weight = w;
        }
        if let Some(w) = o.cost_weight {
            self.cost_weight = w;
        }
        if let Some(ms) = o.max_ttft_ms {
            self.max_ttft_ms = (ms > 0).then_some(ms);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_limits() {
        for (i, name) in Profile::NAMES.iter().enumerate() {
            assert_eq!(Profile::parse(name), Some(Profile::ALL[i]), "{name}");
            assert_eq!(Profile::ALL[i].name(), *name);
        }
        assert_eq!(Profile::parse("REALTIME"), Some(Profile::Realtime));
        assert_eq!(Profile::parse("fast"), None);
        assert_eq!(
            Profile::Realtime.ttft_limit(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(Profile::Balanced.ttft_limit(), Some(Duration::from_secs(2)));
        assert_eq!(Profile::Batch.ttft_limit(), None);
    }

    #[test]
    fn weights_follow_the_seed_table_and_overrides_apply() {
        let w = Profile::CostOptimized.weights();
        assert_eq!((w.quality_weight, w.cost_weight), (0.1, 0.9));
        let w = Profile::QualityOptimized.weights();
        assert_eq!((w.quality_weight, w.cost_weight), (0.9, 0.1));
        assert_eq!(Profile::Code.weights().emphasis, Emphasis::Coding);
        assert_eq!(
            Profile::Reasoning.weights().prefers,
            Some(Capability::Thinking)
        );
        let o = ProfileOverride {
            quality_weight: Some(0.2),
            cost_weight: None,
            max_ttft_ms: Some(0),
        };
        let w = Profile::Balanced.weights().with(&o);
        assert_eq!(
            (w.quality_weight, w.cost_weight, w.max_ttft_ms),
            (0.2, 0.3, None)
        );
    }
}
