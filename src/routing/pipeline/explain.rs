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
    Reason(why).to_string()
}

/// An elimination's reason, written straight into whatever formats it (no string built
/// first: the audit trail of every `auto` request writes several).
pub struct Reason<'a>(pub &'a Why);

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Why::Classification { ceiling } => {
                write!(f, "cleared only up to `{}` data", ceiling.as_str())
            }
            Why::WrongKind => f.write_str("serves the other kind of call (embeddings vs chat)"),
            Why::NotAuto => f.write_str("never chosen by `auto` (only when named)"),
            Why::Missing(c) => write!(f, "lacks the `{}` capability", cap_name(*c)),
            Why::Window { window, need } => write!(
                f,
                "context window of {window} tokens is smaller than the ~{need} the prompt needs"
            ),
            Why::Cost { estimate, cap } => {
                write!(
                    f,
                    "estimated cost ${estimate:.6} is above the cap of ${cap}"
                )
            }
            Why::Latency { ttft_ms, limit_ms } => write!(
                f,
                "median time to first token {ttft_ms} ms is above the profile's {limit_ms} ms"
            ),
            Why::Disabled => f.write_str("deployment disabled"),
            Why::CircuitOpen => f.write_str("circuit open (recent failures)"),
        }
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

/// The eliminations of a request's trail, written compactly as the record is kept:
/// `[{"model", "layer", "why", ...the numbers of the reason}]` (codes and numbers, no prose:
/// every `auto` request writes several). [`expand`] adds each `reason` in words when the
/// trail is read. Models `auto` may never choose, or of the other kind, are facts of the
/// catalog (`GET /v1/catalog`), not of the request: left out.
pub struct Trail<'a> {
    pub cands: &'a [Candidate],
    pub out: &'a [Out],
}

impl Serialize for Trail<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut name = String::with_capacity(64);
        let mut seq = s.serialize_seq(None)?;
        for o in self.out.iter().filter(|o| !o.why.is_structural()) {
            let c = &self.cands[o.at as usize];
            name.clear();
            name.push_str(&c.provider.id);
            name.push('/');
            name.push_str(&c.model);
            seq.serialize_element(&Compact(&name, &o.why))?;
        }
        seq.end()
    }
}

/// One elimination as the trail keeps it.
struct Compact<'a>(&'a str, &'a Why);

impl Serialize for Compact<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("model", self.0)?;
        m.serialize_entry("layer", &self.1.layer().map(layer_name))?;
        match *self.1 {
            Why::Classification { ceiling } => {
                m.serialize_entry("why", "classification")?;
                m.serialize_entry("ceiling", ceiling.as_str())?;
            }
            Why::WrongKind => m.serialize_entry("why", "wrong_kind")?,
            Why::NotAuto => m.serialize_entry("why", "not_auto")?,
            Why::Missing(c) => {
                m.serialize_entry("why", "missing")?;
                m.serialize_entry("capability", cap_name(c))?;
            }
            Why::Window { window, need } => {
                m.serialize_entry("why", "window")?;
                m.serialize_entry("window", &window)?;
                m.serialize_entry("need", &need)?;
            }
            Why::Cost { estimate, cap } => {
                m.serialize_entry("why", "cost")?;
                m.serialize_entry("estimate", &estimate)?;
                m.serialize_entry("cap", &cap)?;
            }
            Why::Latency { ttft_ms, limit_ms } => {
                m.serialize_entry("why", "latency")?;
                m.serialize_entry("ttft_ms", &ttft_ms)?;
                m.serialize_entry("limit_ms", &limit_ms)?;
            }
            Why::Disabled => m.serialize_entry("why", "disabled")?,
            Why::CircuitOpen => m.serialize_entry("why", "circuit_open")?,
        }
        m.end()
    }
}

/// Adds `reason` (in words) to each compact elimination of a stored trail.
pub fn expand(eliminated: &mut Value) {
    let Some(items) = eliminated.as_array_mut() else {
        return;
    };
    for item in items {
        if let Some(why) = why_of(item) {
            item["reason"] = Value::String(reason(&why));
        }
    }
}

/// The [`Why`] of a compact elimination.
fn why_of(v: &Value) -> Option<Why> {
    let num = |k: &str| v.get(k).and_then(Value::as_u64);
    Some(match v.get("why")?.as_str()? {
        "classification" => Why::Classification {
            ceiling: crate::config::Classification::parse(v.get("ceiling")?.as_str()?)?,
        },
        "wrong_kind" => Why::WrongKind,
        "not_auto" => Why::NotAuto,
        "missing" => Why::Missing(cap_of(v.get("capability")?.as_str()?)?),
        "window" => Why::Window {
            window: u32::try_from(num("window")?).ok()?,
            need: num("need")?,
        },
        "cost" => Why::Cost {
            estimate: v.get("estimate")?.as_f64()?,
            cap: v.get("cap")?.as_f64()?,
        },
        "latency" => Why::Latency {
            ttft_ms: num("ttft_ms")?,
            limit_ms: num("limit_ms")?,
        },
        "disabled" => Why::Disabled,
        "circuit_open" => Why::CircuitOpen,
        _ => return None,
    })
}

fn cap_of(name: &str) -> Option<crate::config::Capability> {
    use crate::config::Capability as C;
    [
        C::Streaming,
        C::Tools,
        C::Vision,
        C::JsonMode,
        C::Thinking,
        C::Embeddings,
        C::Citations,
        C::Batch,
    ]
    .into_iter()
    .find(|c| cap_name(*c) == name)
}

/// A layer's name as the reports spell it.
pub fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::Classification => "classification",
        Layer::Capability => "capability",
        Layer::Quality => "quality",
        Layer::Cost => "cost",
        Layer::Latency => "latency",
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
