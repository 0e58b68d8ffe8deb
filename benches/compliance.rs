//! The compliance detectors' scan speed on mixed prose (issue 14 holds them to at least
//! 200 MB/s on one core): 1 MiB of English text with code, numbers and a finding every ~8 KiB,
//! scanned and redacted whole, and fed through the stream filter in 40-byte pieces.
//! Run: `cargo bench --bench compliance`. Figures are in `benches/README.md`.

#![expect(
    clippy::expect_used,
    reason = "a bench fails loudly on a broken fixture"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llm_gateway::compliance::holdback::HoldBack;
use llm_gateway::compliance::scan::Scanner;

const PROSE: &[&str] = &[
    "The quarterly report shows revenue growth of 12% year over year, driven by the new ",
    "subscription tiers. Operating costs rose 4.5% as the team expanded to 48 engineers. ",
    "In `main.rs`, the handler calls `route(req)` and returns a 200 with the body; see line 120. ",
    "Version 2.3.1 fixed the race in the scheduler (issue #4821) and cut p99 latency to 38 ms. ",
    "Customers in 14 regions reported faster checkout; the NPS moved from 41 to 47 in March. ",
    "Next steps: migrate the ledger to the new schema, then retire the batch job by Q3 2026. ",
];

fn text(size: usize) -> String {
    let mut out = String::with_capacity(size + 200);
    let mut i = 0;
    while out.len() < size {
        out.push_str(PROSE[i % PROSE.len()]);
        i += 1;
        if i % 90 == 0 {
            out.push_str("Contact jane.doe@example.com about card 4111 1111 1111 1111. ");
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let scanner = std::sync::Arc::new(Scanner::new(|d| !d.optional).expect("detectors"));
    let doc = text(1 << 20);
    let mut g = c.benchmark_group("compliance");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("redact_1MiB_mixed_prose", |b| {
        b.iter(|| black_box(scanner.redact(black_box(&doc))))
    });
    let clean: String = PROSE.concat().repeat((1 << 20) / PROSE.concat().len());
    g.throughput(Throughput::Bytes(clean.len() as u64));
    g.bench_function("scan_1MiB_clean_prose", |b| {
        b.iter(|| black_box(scanner.find(black_box(&clean), 0)))
    });
    let stream = &doc[..64 * 1024];
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("holdback_64KiB_in_40B_pieces", |b| {
        b.iter(|| {
            let mut f = HoldBack::new(std::sync::Arc::clone(&scanner));
            let mut n = 0;
            let bytes = stream.as_bytes();
            let mut at = 0;
            while at < bytes.len() {
                let mut end = (at + 40).min(bytes.len());
                while !stream.is_char_boundary(end) {
                    end += 1;
                }
                n += f.push(&stream[at..end]).len();
                at = end;
            }
            n += f.finish().len();
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
