//! Streamed translation: an OpenAI chat stream re-encoded for an Anthropic client and an
//! Anthropic stream re-encoded for an OpenAI client (100 text deltas each), through the same
//! `StreamTranslator` the gateway runs per request; and the stream decoders alone over the
//! same streams' events (`*/decode_only`), and over an OpenAI stream whose chunks differ in
//! `created` too (`*/decode_only_varying`: the OpenAI decoder's per-stream template never
//! matches, every chunk is read whole). Run: `cargo bench --bench translate`.
//! Figures are recorded in `benches/README.md`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llm_gateway::config::ApiFormat;
use llm_gateway::translate::sse::SseFramer;
use llm_gateway::translate::{Codec, StreamTranslator};

fn openai_stream() -> Vec<u8> {
    let mut s = String::from(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    );
    for i in 0..100 {
        s.push_str(&format!("data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}},\"finish_reason\":null}}]}}\n\n"));
    }
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    s.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":100,\"total_tokens\":112}}\n\ndata: [DONE]\n\n");
    s.into_bytes()
}

/// [`openai_stream`] with another `created` in each chunk.
fn openai_stream_varying() -> Vec<u8> {
    let stream = String::from_utf8(openai_stream()).unwrap_or_default();
    let mut n = 1_700_000_000;
    let chunks = stream.split_inclusive("\n\n").map(|event| {
        n += 1;
        event.replace("\"created\":1700000000", &format!("\"created\":{n}"))
    });
    chunks.collect::<String>().into_bytes()
}

fn anthropic_stream() -> Vec<u8> {
    let mut s = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    );
    for i in 0..100 {
        s.push_str(&format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"tok{i} \"}}}}\n\n"));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":100}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    s.into_bytes()
}

fn translate(body: &[u8], from: ApiFormat, to: ApiFormat, piece: usize) -> usize {
    let mut t = StreamTranslator::new(
        Codec(from).stream_decoder(),
        Codec(to).stream_encoder(true, 1_732_000_000),
    );
    let mut n = 0;
    for chunk in body.chunks(piece) {
        n += t.push(chunk).len();
    }
    n + t.finish().len()
}

/// The events of a stream, framed.
fn events(body: &[u8]) -> Vec<bytes::Bytes> {
    let mut framer = SseFramer::new();
    framer.push(body);
    std::iter::from_fn(|| framer.next_event()).collect()
}

/// Decodes framed events into IR events (no framing, no encoding).
fn decode(events: &[bytes::Bytes], from: ApiFormat) -> usize {
    let mut decoder = Codec(from).stream_decoder();
    let mut out = Vec::new();
    for event in events {
        decoder.decode_event(event, &mut out);
    }
    out.len()
}

fn bench(c: &mut Criterion) {
    for (name, body, from, to) in [
        (
            "openai_to_anthropic",
            openai_stream(),
            ApiFormat::Openai,
            ApiFormat::Anthropic,
        ),
        (
            "anthropic_to_openai",
            anthropic_stream(),
            ApiFormat::Anthropic,
            ApiFormat::Openai,
        ),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function("whole", |b| {
            b.iter(|| black_box(translate(black_box(&body), from, to, body.len())))
        });
        g.bench_function("512B_pieces", |b| {
            b.iter(|| black_box(translate(black_box(&body), from, to, 512)))
        });
        let framed = events(&body);
        g.bench_function("decode_only", |b| {
            b.iter(|| black_box(decode(black_box(&framed), from)))
        });
        if from == ApiFormat::Openai {
            let varying = events(&openai_stream_varying());
            g.bench_function("decode_only_varying", |b| {
                b.iter(|| black_box(decode(black_box(&varying), from)))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
