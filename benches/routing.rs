//! The routing engine's cost per request over a 300-model catalog (10 providers × 30 priced,
//! scored models): the five-layer pipeline alone, and the whole `auto` decision (bucket,
//! token estimate, pipeline, chain) as the request path makes it. Issue 13 holds the pipeline
//! to at most 10 µs. Run: `cargo bench --bench routing`. Figures are in `benches/README.md`.

#![expect(
    clippy::expect_used,
    reason = "a bench fails loudly on a broken fixture"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_gateway::config::{ApiFormat, Classification};
use llm_gateway::routing::pipeline::{self, Ask};
use llm_gateway::routing::{self, Needs, Profile, RouteStats};
use llm_gateway::runtime::snapshot::Snapshot;

fn catalog(providers: usize, models: usize) -> Snapshot {
    let mut text = String::new();
    for p in 0..providers {
        let list: Vec<String> = (0..models).map(|m| format!("\"m{p}-{m}\"")).collect();
        text.push_str(&format!(
            "[[providers]]\nid = \"p{p}\"\nprovider_type = \"openai\"\napi_key = \"k\"\nendpoint = \"http://127.0.0.1:9/v1\"\nmodels = [{}]\n",
            list.join(", ")
        ));
        for m in 0..models {
            let i = (p * models + m) as f64;
            text.push_str(&format!(
                "[[models]]\nid = \"m{p}-{m}\"\nprovider = \"p{p}\"\ninput_price_per_mtok = {:.3}\noutput_price_per_mtok = {:.3}\ncapabilities = [\"streaming\", \"tools\", \"json_mode\"]\nquality = {{ coding = {:.3}, reasoning = {:.3}, instruction_following = 0.8, arena_elo = {} }}\nttft_ms = {}\n",
                0.05 + (i * 7.0) % 15.0,
                0.2 + (i * 13.0) % 60.0,
                (i * 0.37) % 1.0,
                (i * 0.53) % 1.0,
                1150 + (i as u64 * 11) % 350,
                100 + (i as u64 * 37) % 3000,
            ));
        }
    }
    Snapshot::build(toml::from_str(&text).expect("catalog"), &HashMap::new()).expect("snapshot")
}

fn body() -> Vec<u8> {
    serde_json::json!({
        "model": "auto",
        "messages": [
            { "role": "system", "content": "You are a helpful assistant." },
            { "role": "user", "content": "Summarize the attached quarterly report in five bullet points and flag any risks to the revenue forecast." }
        ],
        "max_tokens": 500
    })
    .to_string()
    .into_bytes()
}

fn bench(c: &mut Criterion) {
    let snap = catalog(10, 30);
    assert_eq!(snap.everything.len(), 300);
    let ask = Ask {
        format: ApiFormat::Openai,
        embeddings: false,
        classification: Classification::Internal,
        needs: Needs {
            tools: true,
            ..Needs::default()
        }
        .mask(),
        weights: Profile::Balanced.weights(),
        max_cost_usd: None,
        prompt_tokens: 60,
        asked_output: Some(500),
        ranked: true,
    };
    let healthy = |_: &routing::Candidate| None;
    c.bench_function("pipeline/300_models_balanced", |b| {
        b.iter(|| black_box(pipeline::run(black_box(&snap.everything), &ask, &healthy)))
    });
    let body = body();
    let raw = llm_gateway::inbound::request::RawRequest::parse(bytes::Bytes::from(body.clone()))
        .expect("body");
    let stats = RouteStats::default();
    for (name, model) in [
        ("plan/auto_300_models", "auto"),
        ("plan/named_model", "p3/m3-7"),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let req = routing::Request {
                    requested: model,
                    format: ApiFormat::Openai,
                    embeddings: false,
                    needs: Needs::default(),
                    failover: true,
                    profile: None,
                    classification: Classification::Internal,
                    max_cost_usd: None,
                    body: &body,
                    prompt: llm_gateway::inbound::prompt_bytes(&raw),
                    asked_output: Some(500),
                    conversation: None,
                    today: "",
                    now: Instant::now(),
                    draw: 0.5,
                };
                black_box(routing::plan(&snap, &stats, &req, &healthy).ok())
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
