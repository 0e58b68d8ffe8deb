//! Renders a pipeline [`Outcome`] for people: each elimination's reason in words, and the
//! per-layer report of the dry run (`POST /v1/route`) and the audit trail. Only called when
//! someone asks; the request path keeps the compact outcome.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Layer, Out, Outcome, Why};
use crate::routing::Candidate;
use crate::routing::needs::cap_name;

/// `provider/model`.
pub fn name(c: &Candidate) -> String {
    format!("{}/{}", c.provider.id, c.model)
}

/// One elimination in words.
pub fn reason(why: &Why) -> String {
    match why {
        Why::Classification { ceiling } => format!(
            "cleared only up to `{}` data",
            classification_name(*ceiling)
        ),
        Why::WrongKind => "serves the other kind of call (embeddings vs chat)".into(),
        Why::NotAuto => "never chosen by `auto` (only when named)".into(),
        Why::Missing(c) => format!("lacks the `{}` capability", cap_name(*c)),
        Why::Window { window, need } => format!(
            "context window of {window} tokens is smaller than the ~{need} the prompt needs"
        ),
        Why::Cost { estimate, cap } => {
            format!("estimated cost ${estimate:.6} is above the cap of ${cap}")
        }
        Why::Latency { ttft_ms, limit_ms } => {
            format!("median time to first token {ttft_ms} ms is above the profile's {limit_ms} ms")
        }
        Why::Disabled => "deployment disabled".into(),
        Why::CircuitOpen => "circuit open (recent failures)".into(),
    }
}

/// The classification's config name.
pub fn classification_name(c: crate::config::Classification) -> &'static str {
    use crate::config::Classification as C;
    match c {
        C::Public => "public",
        C::Internal => "internal",
        C::Cui => "cui",
        C::Itar => "itar",
        C::Classified => "classified",
    }
}

#[derive(Serialize)]
struct Eliminated {
    model: String,
    reason: String,
}

/// The five layers' report: `[{"layer", "eliminated": [{"model", "reason"}], "remaining"}]`;
/// the quality and cost layers list the survivors' scores.
pub fn layers(cands: &[Candidate], outcome: &Outcome) -> Value {
    let mut gone = vec![false; cands.len()];
    let mut report = Vec::with_capacity(5);
    for layer in Layer::ALL {
        let eliminated: Vec<Eliminated> = outcome
            .out
            .iter()
            .filter(|o| o.why.layer() == Some(layer))
            .map(|o| {
                gone[o.at as usize] = true;
                Eliminated {
                    model: name(&cands[o.at as usize]),
                    reason: reason(&o.why),
                }
            })
            .collect();
        let remaining: Vec<String> = cands
            .iter()
            .enumerate()
            .filter(|(i, _)| !gone[*i])
            .map(|(_, c)| name(c))
            .collect();
        let mut entry = json!({
            "layer": layer,
            "eliminated": eliminated,
            "remaining": remaining,
        });
        if matches!(layer, Layer::Quality | Layer::Cost) {
            let scores: Vec<Value> = outcome
                .scored
                .iter()
                .map(|s| {
                    let model = name(&cands[s.at as usize]);
                    if layer == Layer::Quality {
                        json!({ "model": model, "quality": round(f64::from(s.quality)) })
                    } else {
                        json!({
                            "model": model,
                            "estimated_cost_usd": s.cost_usd,
                            "score": round(f64::from(s.score)),
                        })
                    }
                })
                .collect();
            entry["scores"] = Value::Array(scores);
        }
        report.push(entry);
    }
    Value::Array(report)
}

/// Deployments skipped after the layers (disabled, circuit open).
pub fn skipped(cands: &[Candidate], outcome: &Outcome) -> Vec<Value> {
    outcome
        .out
        .iter()
        .filter(|o| o.why.layer().is_none())
        .map(|o| json!({ "model": name(&cands[o.at as usize]), "reason": reason(&o.why) }))
        .collect()
}

/// Every elimination as `(provider/model, layer, reason)` for the audit trail.
pub fn eliminations(cands: &[Candidate], out: &[Out]) -> Vec<Value> {
    out.iter()
        .map(|o| {
            json!({
                "model": name(&cands[o.at as usize]),
                "layer": o.why.layer(),
                "reason": reason(&o.why),
            })
        })
        .collect()
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
