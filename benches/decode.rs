//! Request decoding on the hot path: the zero-copy top-level view of a chat request, reading
//! `model`/`stream`, and re-encoding with `model` replaced (what a pinned or aliased request
//! costs). Run: `cargo bench --bench decode`. Figures are recorded in `benches/README.md`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_gateway::inbound::request::RawRequest;

fn chat_body(prompt_len: usize) -> Vec<u8> {
    let prompt = "lorem ipsum ".repeat(prompt_len / 12 + 1);
    serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "You are a helpful assistant." },
            { "role": "user", "content": prompt }
        ],
        "temperature": 0.2,
        "stream": false,
        "tools": [{ "type": "function", "function": { "name": "get_weather", "parameters": { "type": "object", "properties": { "location": { "type": "string" } } } } }]
    })
    .to_string()
    .into_bytes()
}

fn decode(c: &mut Criterion) {
    for (name, size) in [
        ("small_250B", 64),
        ("medium_16KiB", 16 * 1024),
        ("large_1MiB", 1024 * 1024),
    ] {
        let body = bytes::Bytes::from(chat_body(size));
        c.bench_function(&format!("decode_summary/{name}"), |b| {
            b.iter(|| {
                let raw = RawRequest::parse(black_box(body.clone())).ok();
                black_box(raw.and_then(|r| r.summary().ok()))
            })
        });
        c.bench_function(&format!("decode_reencode_model/{name}"), |b| {
            b.iter(|| {
                let raw = RawRequest::parse(black_box(body.clone())).ok();
                black_box(raw.map(|r| r.encode_with(&[("model", Some("\"gpt-4o\""))])))
            })
        });
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
