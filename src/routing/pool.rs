//! Pool strategies (R7): the order in which a pool's members are tried. `priority` keeps the
//! configured order; `round_robin` rotates it per request; `weighted` picks the first member
//! by weight and keeps the rest, heaviest first, as fallbacks; `latency` orders by the observed
//! time to first token (an EWMA), falling back to the card's median; `cost` orders by the
//! card's price. Pure: the counter, the random draw and the statistics are passed in.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::RwLock;

use super::candidate::Candidate;
use crate::config::PoolStrategy;

/// Weight of a new observation in the latency EWMA.
const EWMA_ALPHA: f64 = 0.3;

/// Observed time to first token per `provider/model`, as an EWMA in milliseconds.
#[derive(Debug, Default)]
pub struct LatencyStats {
    ewma_ms: RwLock<HashMap<String, f64>>,
}

impl LatencyStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one observed time to first token.
    pub fn observe(&self, provider: &str, model: &str, ttft: Duration) {
        let ms = ttft.as_secs_f64() * 1000.0;
        let key = format!("{provider}/{model}");
        let mut map = self.ewma_ms.write();
        let v = map.entry(key).or_insert(ms);
        *v = EWMA_ALPHA * ms + (1.0 - EWMA_ALPHA) * *v;
    }

    /// The EWMA of `provider/model`, if observed.
    pub fn get(&self, provider: &str, model: &str) -> Option<f64> {
        self.ewma_ms
            .read()
            .get(&format!("{provider}/{model}"))
            .copied()
    }
}

/// Orders a pool's members. `counter` increases per request (round robin); `draw` is uniform
/// in `[0, 1)` (weighted choice).
pub fn order(
    strategy: PoolStrategy,
    members: Vec<(Candidate, u32)>,
    stats: &LatencyStats,
    counter: usize,
    draw: f64,
) -> Vec<Candidate> {
    let n = members.len();
    if n == 0 {
        return Vec::new();
    }
    match strategy {
        // `auto` pools are ranked by the pipeline; here they keep the configured order.
        PoolStrategy::Priority | PoolStrategy::Auto => {
            members.into_iter().map(|(c, _)| c).collect()
        }
        PoolStrategy::RoundRobin => {
            let mut v: Vec<Candidate> = members.into_iter().map(|(c, _)| c).collect();
            v.rotate_left(counter % n);
            v
        }
        PoolStrategy::Weighted => {
            let total: u64 = members.iter().map(|(_, w)| u64::from(*w)).sum();
            let mut target = (draw.clamp(0.0, 1.0) * total as f64) as u64;
            let mut first = 0;
            for (i, (_, w)) in members.iter().enumerate() {
                if target < u64::from(*w) {
                    first = i;
                    break;
                }
                target -= u64::from(*w);
            }
            let mut rest: Vec<(usize, (Candidate, u32))> =
                members.into_iter().enumerate().collect();
            let chosen = rest.remove(first).1.0;
            rest.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(&b.0)));
            std::iter::once(chosen)
                .chain(rest.into_iter().map(|(_, (c, _))| c))
                .collect()
        }
        PoolStrategy::Latency => {
            let mut v: Vec<(f64, usize, Candidate)> = members
                .into_iter()
                .enumerate()
                .map(|(i, (c, _))| {
                    let observed = stats.get(&c.provider.id, c.label());
                    let card = c.card.as_ref().and_then(|k| k.ttft_ms).map(|t| t as f64);
                    (observed.or(card).unwrap_or(f64::MAX), i, c)
                })
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            v.into_iter().map(|(_, _, c)| c).collect()
        }
        PoolStrategy::Cost => {
            let mut v: Vec<(f64, usize, Candidate)> = members
                .into_iter()
                .enumerate()
                .map(|(i, (c, _))| {
                    let price = c.card.as_ref().map_or(f64::MAX, |k| {
                        k.input_price_per_mtok + k.output_price_per_mtok
                    });
                    (price, i, c)
                })
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            v.into_iter().map(|(_, _, c)| c).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::snapshot::Snapshot;

    fn members() -> (Snapshot, Vec<(Candidate, u32)>) {
        let text = r#"
            [[providers]]
            id = "a"
            provider_type = "openai"
            api_key = "k"
            [[providers]]
            id = "b"
            provider_type = "openai"
            api_key = "k"
            [[providers]]
            id = "c"
            provider_type = "openai"
            api_key = "k"
        "#;
        let snap = Snapshot::build(toml::from_str(text).unwrap(), &HashMap::new()).unwrap();
        let m = vec![
            (
                crate::routing::resolve(&snap, "a/gpt-4o")
                    .unwrap()
                    .remove(0),
                70,
            ),
            (
                crate::routing::resolve(&snap, "b/gpt-4o-mini")
                    .unwrap()
                    .remove(0),
                20,
            ),
            (
                crate::routing::resolve(&snap, "c/gpt-4.1-nano")
                    .unwrap()
                    .remove(0),
                10,
            ),
        ];
        (snap, m)
    }

    fn ids(v: &[Candidate]) -> Vec<&str> {
        v.iter().map(|c| c.provider.id.as_str()).collect()
    }

    #[test]
    fn priority_and_round_robin() {
        let (_s, m) = members();
        let stats = LatencyStats::new();
        assert_eq!(
            ids(&order(PoolStrategy::Priority, m.clone(), &stats, 5, 0.9)),
            ["a", "b", "c"]
        );
        assert_eq!(
            ids(&order(PoolStrategy::RoundRobin, m.clone(), &stats, 0, 0.0)),
            ["a", "b", "c"]
        );
        assert_eq!(
            ids(&order(PoolStrategy::RoundRobin, m.clone(), &stats, 1, 0.0)),
            ["b", "c", "a"]
        );
        assert_eq!(
            ids(&order(PoolStrategy::RoundRobin, m, &stats, 5, 0.0)),
            ["c", "a", "b"]
        );
    }

    #[test]
    fn weighted_follows_the_draw_and_keeps_fallbacks() {
        let (_s, m) = members();
        let stats = LatencyStats::new();
        assert_eq!(
            ids(&order(PoolStrategy::Weighted, m.clone(), &stats, 0, 0.0)),
            ["a", "b", "c"]
        );
        assert_eq!(
            ids(&order(PoolStrategy::Weighted, m.clone(), &stats, 0, 0.75)),
            ["b", "a", "c"]
        );
        assert_eq!(
            ids(&order(PoolStrategy::Weighted, m.clone(), &stats, 0, 0.95)),
            ["c", "a", "b"]
        );
        // Over many draws the first pick follows the weights.
        let firsts: Vec<String> = (0..1000)
            .map(|i| {
                order(
                    PoolStrategy::Weighted,
                    m.clone(),
                    &stats,
                    0,
                    i as f64 / 1000.0,
                )[0]
                .provider
                .id
                .clone()
            })
            .collect();
        let a = firsts.iter().filter(|f| *f == "a").count();
        assert!((690..=710).contains(&a), "{a}");
    }

    #[test]
    fn latency_uses_observations_then_cards() {
        let (_s, m) = members();
        let stats = LatencyStats::new();
        // Cards: gpt-4o 450 ms, gpt-4o-mini 350 ms, gpt-4.1-nano 300 ms.
        assert_eq!(
            ids(&order(PoolStrategy::Latency, m.clone(), &stats, 0, 0.0)),
            ["c", "b", "a"]
        );
        stats.observe("a", "gpt-4o", Duration::from_millis(10));
        stats.observe("c", "gpt-4.1-nano", Duration::from_millis(900));
        assert_eq!(
            ids(&order(PoolStrategy::Latency, m, &stats, 0, 0.0)),
            ["a", "b", "c"]
        );
        stats.observe("a", "gpt-4o", Duration::from_millis(110));
        assert!((stats.get("a", "gpt-4o").unwrap() - 40.0).abs() < 1e-9);
    }

    #[test]
    fn cost_orders_by_price() {
        let (_s, m) = members();
        assert_eq!(
            ids(&order(PoolStrategy::Cost, m, &LatencyStats::new(), 0, 0.0)),
            ["c", "b", "a"]
        );
    }
}
