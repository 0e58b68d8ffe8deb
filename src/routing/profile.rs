//! Routing profiles (R3, seed 001 §4) as far as resilience needs them now: the latency
//! tolerance that sets the time-to-first-token limit, and which profile hedges (realtime).

use std::time::Duration;

/// A routing profile named by `x-routing-profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Profile {
    /// Every profile name, for error messages and `GET /v1/routing-profiles`.
    pub const NAMES: [&'static str; 9] = [
        "realtime",
        "interactive",
        "batch",
        "cost_optimized",
        "quality_optimized",
        "balanced",
        "reasoning",
        "creative",
        "code",
    ];

    pub fn parse(name: &str) -> Option<Profile> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "realtime" => Self::Realtime,
            "interactive" => Self::Interactive,
            "batch" => Self::Batch,
            "cost_optimized" => Self::CostOptimized,
            "quality_optimized" => Self::QualityOptimized,
            "balanced" => Self::Balanced,
            "reasoning" => Self::Reasoning,
            "creative" => Self::Creative,
            "code" => Self::Code,
            _ => return None,
        })
    }

    /// The time-to-first-token limit of the profile's latency tolerance: realtime 500 ms,
    /// interactive 2 s (interactive, balanced, creative, code), none for background and
    /// flexible work. Applied only when the client names a profile.
    pub fn ttft_limit(self) -> Option<Duration> {
        match self {
            Self::Realtime => Some(Duration::from_millis(500)),
            Self::Interactive | Self::Balanced | Self::Creative | Self::Code => {
                Some(Duration::from_millis(2000))
            }
            Self::Batch | Self::CostOptimized | Self::QualityOptimized | Self::Reasoning => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_limits() {
        for name in Profile::NAMES {
            assert!(Profile::parse(name).is_some(), "{name}");
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
}
