//! SSE framing and usage observation on an OpenAI chat stream (100 content chunks plus the
//! usage chunk and `[DONE]`), fed whole, in 64-byte pieces and byte by byte.
//! Run: `cargo bench --bench sse`. Figures are recorded in `benches/README.md`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llm_gateway::translate::passthrough::OpenAiPassthrough;

fn stream() -> Vec<u8> {
    let mut s = String::new();
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n");
    for i in 0..100 {
        s.push_str(&format!("data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}},\"finish_reason\":null}}]}}\n\n"));
    }
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":100,\"total_tokens\":112}}\n\n");
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

fn run(body: &[u8], piece: usize) -> usize {
    let mut obs = OpenAiPassthrough::new(true);
    let mut out = 0;
    for chunk in body.chunks(piece) {
        out += obs.push(chunk).len();
    }
    out + obs.finish().tail.len()
}

fn sse(c: &mut Criterion) {
    let body = stream();
    let mut g = c.benchmark_group("openai_passthrough");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for (name, piece) in [("whole", body.len()), ("64B_pieces", 64), ("1B_pieces", 1)] {
        g.bench_function(name, |b| b.iter(|| black_box(run(black_box(&body), piece))));
    }
    g.finish();
}

criterion_group!(benches, sse);
criterion_main!(benches);
