//! The answer when the pipeline leaves nothing to try: the error of the last layer that
//! eliminated anything (the nearest miss). Nothing eligible for the classification → 403
//! naming it; only context windows too small → 413 with the largest window; the max cost
//! cut everything → 400 naming the cap; the profile's latency → 400 naming the profile;
//! every eligible deployment disabled or open → 503.

use super::explain::{name, reason};
use super::{Ask, Layer, Outcome, Why};
use crate::errors::{ErrorKind, GatewayError};
use crate::routing::Candidate;

/// Why nothing is left, as the client's error (call only when the chain is empty).
pub fn refusal(cands: &[Candidate], ask: &Ask, outcome: &Outcome, profile: &str) -> GatewayError {
    let last = outcome.out.iter().filter_map(|o| o.why.layer()).max();
    let of = |layer: Layer| {
        outcome
            .out
            .iter()
            .filter(move |o| o.why.layer() == Some(layer))
    };
    match last {
        None if !outcome.out.is_empty() => GatewayError::new(
            ErrorKind::Unavailable,
            format!(
                "every model that could serve this request is unavailable now: {}",
                list(cands, outcome.out.iter().map(|o| (o.at, o.why)))
            ),
        )
        .with_retry_after(1),
        None => GatewayError::new(ErrorKind::ModelNotFound, "no model can serve this request")
            .with_param("model"),
        Some(Layer::Classification) => GatewayError::new(
            ErrorKind::Forbidden,
            format!(
                "no model that could serve this request is cleared for `{}` data \
                 (x-data-classification); nothing was sent",
                ask.classification.as_str()
            ),
        ),
        Some(Layer::Capability) => {
            let windows: Vec<u32> = of(Layer::Capability)
                .filter_map(|o| match o.why {
                    Why::Window { window, .. } => Some(window),
                    _ => None,
                })
                .collect();
            let all_windows = of(Layer::Capability)
                .all(|o| matches!(o.why, Why::Window { .. } | Why::NotAuto | Why::WrongKind));
            if all_windows && let Some(largest) = windows.iter().max() {
                let need = of(Layer::Capability)
                    .find_map(|o| match o.why {
                        Why::Window { need, .. } => Some(need),
                        _ => None,
                    })
                    .unwrap_or(0);
                return GatewayError::new(
                    ErrorKind::PayloadTooLarge,
                    format!(
                        "the prompt needs about {need} tokens, more than the largest context \
                         window of the models that could serve it ({largest} tokens); nothing was sent"
                    ),
                )
                .with_context_window_limit(u64::from(*largest));
            }
            GatewayError::new(
                ErrorKind::BadRequest,
                format!(
                    "no candidate can serve this request without dropping part of it: {}",
                    list(
                        cands,
                        of(Layer::Capability)
                            .filter(|o| !matches!(o.why, Why::NotAuto | Why::WrongKind))
                            .map(|o| (o.at, o.why))
                    )
                ),
            )
            .with_param("model")
        }
        Some(Layer::Cost) => {
            let cheapest = of(Layer::Cost)
                .filter_map(|o| match o.why {
                    Why::Cost { estimate, .. } => Some(estimate),
                    _ => None,
                })
                .fold(f64::INFINITY, f64::min);
            GatewayError::new(
                ErrorKind::BadRequest,
                format!(
                    "every model that could serve this request costs more than the cap of ${} \
                     (x-gateway-max-cost-usd or the key's max_request_cost_usd): the cheapest \
                     is estimated at ${cheapest:.6}; nothing was sent",
                    ask.max_cost_usd.unwrap_or(0.0)
                ),
            )
            .with_param("x-gateway-max-cost-usd")
        }
        Some(Layer::Latency | Layer::Quality) => GatewayError::new(
            ErrorKind::BadRequest,
            format!(
                "no model that could serve this request meets the `{profile}` profile's time to \
                 first token of {} ms; choose another x-routing-profile",
                ask.weights.max_ttft_ms.unwrap_or(0)
            ),
        )
        .with_param("x-routing-profile"),
    }
}

fn list(cands: &[Candidate], items: impl Iterator<Item = (u32, Why)>) -> String {
    let parts: Vec<String> = items
        .take(8)
        .map(|(at, why)| format!("`{}` {}", name(&cands[at as usize]), reason(&why)))
        .collect();
    parts.join("; ")
}
