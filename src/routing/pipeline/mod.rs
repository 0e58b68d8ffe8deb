//! The five-layer routing pipeline (R2, seed 001 §4), pure: candidates and what the request
//! asks in, a failover chain and every elimination with its reason out.
//!
//! 1. **classification**: a model cleared below the request's `x-data-classification` goes.
//! 2. **capability**: a model that lacks what the request needs and would lose it in
//!    translation ([`Needs`](super::Needs)), what the profile requires, or a context window the
//!    prompt cannot fit (R10), goes. Under `auto`: also models `auto` may not choose and
//!    models of the other kind (embeddings vs chat).
//! 3. **quality**: scores each survivor by the profile's quality emphasis and weight.
//! 4. **cost**: scores each survivor by its estimated price for this request (cheaper is
//!    better, on a log scale) by the profile's cost weight; a model above the request's max
//!    cost (R11) goes.
//! 5. **latency**: a model whose median time to first token is above the profile's tolerance
//!    goes (for a named model: its fallbacks only).
//!
//! Ranked (`auto`, an `auto` pool): the chain is the best three by score, skipping models the
//! caller reports unusable (open circuit, disabled deployment). Named: the resolved order is
//! kept, every survivor stays but disabled deployments (open circuits are the attempt loop's). Costs no allocation per candidate beyond the survivors' list;
//! reasons are rendered only when asked for ([`explain`]).

pub mod explain;
pub mod refuse;
#[cfg(test)]
mod tests;

use crate::config::{ApiFormat, Capability, Classification};
use crate::runtime::catalog::{ModelCard, cap_bit};

use super::needs::Needs;
use super::profile::{Emphasis, Weights};
use super::tokens::family_factor;
use crate::runtime::candidate::Candidate;

/// Output tokens assumed for a request that sets no cap, when estimating its cost.
pub const EXPECTED_OUTPUT_TOKENS: u64 = 1000;

/// The longest chain a ranked decision returns.
pub const CHAIN_LEN: usize = 3;

/// What the request asks of a model.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// The caller's wire format (a same-format provider keeps every field).
    pub format: ApiFormat,
    /// An embeddings call (only embedding models serve it; no chat model does).
    pub embeddings: bool,
    pub classification: Classification,
    /// Capabilities the request needs ([`Needs::mask`]).
    pub needs: u16,
    pub weights: Weights,
    /// Largest estimated cost, USD (`x-gateway-max-cost-usd`, the key's per-request cap).
    pub max_cost_usd: Option<f64>,
    /// Prompt tokens as o200k_base counts them (or the rough count).
    pub prompt_tokens: u64,
    /// The answer's token cap the request sets.
    pub asked_output: Option<u64>,
    /// `auto`: score and rank; otherwise keep the resolved order.
    pub ranked: bool,
}

/// A pipeline layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Classification,
    Capability,
    Quality,
    Cost,
    Latency,
}

impl Layer {
    pub const ALL: [Layer; 5] = [
        Layer::Classification,
        Layer::Capability,
        Layer::Quality,
        Layer::Cost,
        Layer::Latency,
    ];
}

/// Why a candidate was left out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Why {
    /// Cleared only up to `ceiling`.
    Classification { ceiling: Classification },
    /// An embeddings model for a chat call, or the other way round (`auto` only).
    WrongKind,
    /// Never chosen by `auto`, only when named.
    NotAuto,
    /// Lacks a capability the request (or the profile) needs.
    Missing(Capability),
    /// The prompt (plus the asked output) needs `need` tokens; the window is `window`.
    Window { window: u32, need: u64 },
    /// Its estimated cost is above the cap.
    Cost { estimate: f64, cap: f64 },
    /// Its median time to first token is above the profile's limit.
    Latency { ttft_ms: u64, limit_ms: u64 },
    /// The deployment is disabled (`/admin/deployments/disable`).
    Disabled,
    /// Its circuit breaker is open.
    CircuitOpen,
}

impl Why {
    /// A fact of the catalog rather than of the request (never chosen by `auto`; the other
    /// kind of model): left out of a request's audit trail.
    pub fn is_structural(&self) -> bool {
        matches!(self, Why::NotAuto | Why::WrongKind)
    }

    /// The layer that eliminated it (unusable deployments are skipped after the layers).
    pub fn layer(&self) -> Option<Layer> {
        Some(match self {
            Why::Classification { .. } => Layer::Classification,
            Why::WrongKind | Why::NotAuto | Why::Missing(_) | Why::Window { .. } => {
                Layer::Capability
            }
            Why::Cost { .. } => Layer::Cost,
            Why::Latency { .. } => Layer::Latency,
            Why::Disabled | Why::CircuitOpen => return None,
        })
    }
}

/// One elimination: the candidate's index in the input and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Out {
    pub at: u32,
    pub why: Why,
}

/// A survivor of the five layers with its estimated cost and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub at: u32,
    pub cost_usd: f64,
    pub quality: f32,
    /// The ranking score (ranked mode; 0 when named).
    pub score: f32,
}

/// What the pipeline decided.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Indexes into the input, in the order to try.
    pub chain: Vec<u32>,
    pub out: Vec<Out>,
    /// Every survivor of the five layers, in input order.
    pub scored: Vec<Scored>,
}

/// Runs the pipeline over `cands`; `unusable` says why a candidate cannot be tried now
/// (`Why::Disabled`, `Why::CircuitOpen`), asked only of candidates about to enter the chain.
pub fn run(
    cands: &[Candidate],
    ask: &Ask,
    unusable: &dyn Fn(&Candidate) -> Option<Why>,
) -> Outcome {
    let mut out = Vec::new();
    let mut scored: Vec<Scored> = Vec::with_capacity(if ask.ranked { cands.len() } else { 4 });
    let required = ask.needs;
    let profile_needs = ask
        .weights
        .requires
        .iter()
        .fold(0u16, |m, c| m | cap_bit(*c));
    let emphasis = emphasis_index(ask.weights.emphasis);
    let mut first_named = true;
    for (i, cand) in cands.iter().enumerate() {
        let at = i as u32;
        match judge(cand, ask, required, profile_needs, first_named) {
            Err(why) => out.push(Out { at, why }),
            Ok(cost_usd) => {
                first_named = false;
                let quality = cand.card.as_deref().map_or(0.5, |c| {
                    let bonus = match ask.weights.prefers {
                        Some(p) if c.has(p) => 0.05,
                        _ => 0.0,
                    };
                    c.blend[emphasis] + bonus
                });
                scored.push(Scored {
                    at,
                    cost_usd,
                    quality,
                    score: 0.0,
                });
            }
        }
    }
    let mut chain = Vec::with_capacity(CHAIN_LEN);
    if ask.ranked {
        score(&mut scored, &ask.weights);
        // Selection of the best few (the chain is short; no full sort).
        let mut taken = vec![false; scored.len()];
        while chain.len() < CHAIN_LEN {
            let Some(best) = best_untaken(&scored, &taken) else {
                break;
            };
            taken[best] = true;
            let at = scored[best].at;
            match unusable(&cands[at as usize]) {
                Some(why) => out.push(Out { at, why }),
                None => chain.push(at),
            }
        }
    } else {
        // Named: an open circuit stays in the chain; the attempt loop skips it (probing a
        // half-open one) and answers 503 with the circuit header when all are open.
        for s in &scored {
            match unusable(&cands[s.at as usize]) {
                Some(Why::CircuitOpen) | None => chain.push(s.at),
                Some(why) => out.push(Out { at: s.at, why }),
            }
        }
    }
    Outcome { chain, out, scored }
}

/// Layers 1, 2, 4 (cut) and 5 for one candidate: its estimated cost, or why it goes.
fn judge(
    cand: &Candidate,
    ask: &Ask,
    required: u16,
    profile_needs: u16,
    first_named: bool,
) -> Result<f64, Why> {
    // A pinned model without a card: cleared for `internal`, assumed able, price unknown (0).
    let Some(card) = cand.card.as_deref() else {
        if ask.classification > Classification::Internal {
            return Err(Why::Classification {
                ceiling: Classification::Internal,
            });
        }
        return Ok(0.0);
    };
    if ask.classification > card.max_classification {
        return Err(Why::Classification {
            ceiling: card.max_classification,
        });
    }
    if ask.ranked {
        if !card.auto {
            return Err(Why::NotAuto);
        }
        let wrong_kind = if ask.embeddings {
            !card.has(Capability::Embeddings)
        } else {
            card.embeddings_only()
        };
        if wrong_kind {
            return Err(Why::WrongKind);
        }
        if let Some(c) = Needs::missing(profile_needs, card, false) {
            return Err(Why::Missing(c));
        }
    }
    // Named: refused only where translation would drop it. Ranked: a model is chosen for
    // what it can do, whatever format it speaks.
    let kept = !ask.ranked && Needs::same_format(ask.format, cand.provider.format);
    if let Some(c) = Needs::missing(required, card, kept) {
        return Err(Why::Missing(c));
    }
    let prompt =
        (ask.prompt_tokens as f64 * family_factor(cand.provider.provider_type)).ceil() as u64;
    let need = prompt + ask.asked_output.unwrap_or(0);
    if need > u64::from(card.context_window) {
        return Err(Why::Window {
            window: card.context_window,
            need,
        });
    }
    let cost = estimate(card, prompt, ask.asked_output);
    if let Some(cap) = ask.max_cost_usd
        && cost > cap
    {
        return Err(Why::Cost {
            estimate: cost,
            cap,
        });
    }
    if let (Some(limit_ms), Some(ttft_ms)) = (ask.weights.max_ttft_ms, card.ttft_ms)
        && (ask.ranked || !first_named)
        && ttft_ms > limit_ms
    {
        return Err(Why::Latency { ttft_ms, limit_ms });
    }
    Ok(cost)
}

/// The estimated cost of a request of `prompt` tokens on `card`, USD: its output at the
/// request's cap, else [`EXPECTED_OUTPUT_TOKENS`], at most the model's longest answer.
pub fn estimate(card: &ModelCard, prompt: u64, asked_output: Option<u64>) -> f64 {
    let output = asked_output
        .unwrap_or(EXPECTED_OUTPUT_TOKENS)
        .min(u64::from(card.max_output_tokens));
    (prompt as f64 * card.input_price_per_mtok + output as f64 * card.output_price_per_mtok) / 1e6
}

/// Layers 3 and 4's scores: quality × its weight + cheapness (0..1 on a log scale between the
/// survivors' cheapest and dearest) × its weight.
fn score(scored: &mut [Scored], w: &Weights) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for s in scored.iter() {
        let l = log_price(s.cost_usd);
        lo = lo.min(l);
        hi = hi.max(l);
    }
    let span = hi - lo;
    let (qw, cw) = (w.quality_weight as f32, w.cost_weight as f32);
    for s in scored.iter_mut() {
        let cheap = if span > 1e-6 {
            (hi - log_price(s.cost_usd)) / span
        } else {
            1.0
        };
        s.score = qw * s.quality + cw * cheap;
    }
}

/// Highest score first; ties: cheaper, then earlier in the input.
fn best_untaken(scored: &[Scored], taken: &[bool]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, s) in scored.iter().enumerate() {
        if taken[i] {
            continue;
        }
        best = match best {
            None => Some(i),
            Some(b) => {
                let o = &scored[b];
                if s.score > o.score || (s.score == o.score && s.cost_usd < o.cost_usd) {
                    Some(i)
                } else {
                    Some(b)
                }
            }
        };
    }
    best
}

/// log2 of a price (a cent of a micro-dollar floor for free models), approximated from the
/// float's bits: monotonic, within 0.09 of the true value, and free of a libm call.
fn log_price(usd: f64) -> f32 {
    let x = (usd.max(1e-8)) as f32;
    let bits = x.to_bits();
    let exp = ((bits >> 23) & 0xff) as f32 - 127.0;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // in [1, 2)
    exp + (mantissa - 1.0)
}

fn emphasis_index(e: Emphasis) -> usize {
    match e {
        Emphasis::General => 0,
        Emphasis::Coding => 1,
        Emphasis::Reasoning => 2,
        Emphasis::Writing => 3,
    }
}
