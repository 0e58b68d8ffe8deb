//! What a request cost: token usage priced at the model card's rates. Pure.

use crate::translate::ir::Usage;

/// Cost in USD of `usage` at the given prices (USD per million tokens).
pub fn cost_usd(usage: &Usage, input_per_mtok: f64, output_per_mtok: f64) -> f64 {
    (usage.input_tokens as f64 * input_per_mtok + usage.output_tokens as f64 * output_per_mtok)
        / 1_000_000.0
}

/// USD with up to 10 decimals, trailing zeros trimmed (`0.000099`, `0`), as sent in
/// `x-gateway-cost-usd`.
pub fn format_cost(cost: f64) -> String {
    let s = format!("{cost:.10}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_and_format() {
        let u = Usage {
            input_tokens: 1_000_000,
            output_tokens: 500_000,
            ..Usage::default()
        };
        assert!((cost_usd(&u, 2.5, 10.0) - 7.5).abs() < 1e-9);
        assert_eq!(format_cost(0.0), "0");
        assert_eq!(format_cost(0.000099), "0.000099");
        assert_eq!(format_cost(1.5), "1.5");
    }
}
