//! The mock's answers to the OpenAI endpoints the gateway passes through as sent:
//! `/moderations` (an input containing `flag-me` is flagged for harassment, deterministic
//! scores otherwise) and `/images/generations` (`n` tiny PNGs as `b64_json`, with the prompt
//! echoed as `revised_prompt`).

use serde_json::{Value, json};

use super::reply::CREATED;

/// The moderation categories reported.
const CATEGORIES: [&str; 4] = ["harassment", "hate", "self-harm", "violence"];

/// A one-pixel PNG.
const PIXEL_PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";

pub(crate) fn encode_moderation(inputs: &[String], model: &str) -> String {
    let results: Vec<Value> = inputs
        .iter()
        .map(|input| {
            let flagged = input.contains("flag-me");
            let categories: serde_json::Map<String, Value> = CATEGORIES
                .iter()
                .map(|c| ((*c).to_string(), json!(flagged && *c == "harassment")))
                .collect();
            let scores: serde_json::Map<String, Value> = CATEGORIES
                .iter()
                .map(|c| {
                    let score = if flagged && *c == "harassment" {
                        0.97
                    } else {
                        0.001
                    };
                    ((*c).to_string(), json!(score))
                })
                .collect();
            json!({ "flagged": flagged, "categories": categories, "category_scores": scores })
        })
        .collect();
    json!({ "id": "modr-mock", "model": model, "results": results }).to_string()
}

pub(crate) fn encode_images(prompt: &str, n: u64) -> String {
    let data: Vec<Value> = (0..n)
        .map(|_| json!({ "b64_json": PIXEL_PNG_B64, "revised_prompt": prompt }))
        .collect();
    json!({ "created": CREATED, "data": data }).to_string()
}
