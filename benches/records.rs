//! The request-record writer's throughput on SQLite: 100,000 records of a typical size (a
//! 300-byte request body, an audit trail) queued as the request path queues them, then a flush;
//! prints records per second, the figure issue 11 holds to at least 20,000.
//! Run: `cargo bench --bench records` (RECORDS=N for another count; DB=postgres://... for
//! PostgreSQL). Figures are recorded in `benches/README.md`.

#![expect(
    clippy::disallowed_methods,
    reason = "a bench takes its switches from the environment"
)]

use std::time::{Duration, Instant};

use llm_gateway::storage::Store;
use llm_gateway::storage::records::Record;
use llm_gateway::storage::writer::Writer;

fn record(i: usize) -> Record {
    Record {
        id: format!("req_bench{i:012}"),
        created_at: 1_764_000_000_000 + i as i64,
        key_id: Some("key_0123456789abcdef".into()),
        team_id: Some("team_0123456789ab".into()),
        endpoint: "chat_completions".into(),
        model_requested: Some("gpt-4o".into()),
        provider: Some("openai".into()),
        model: Some("gpt-4o".into()),
        status: 200,
        error: None,
        input_tokens: 120,
        output_tokens: 340,
        cached_tokens: 0,
        cost_usd: 0.0037,
        cost_unknown: false,
        latency_ms: 812,
        ttft_ms: Some(230),
        attempts: 1,
        failovers: 0,
        cache_status: None,
        stream: true,
        request_body: Some(format!(
            "{{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
            "x".repeat(240)
        )),
        response_body: None,
        audit: Some(
            "{\"candidates\":[\"openai/gpt-4o\"],\"steps\":[{\"candidate\":\"openai/gpt-4o\",\"action\":\"attempt\",\"outcome\":\"ok\",\"status\":200,\"latency_ms\":230}]}".into(),
        ),
        source: Some("checkout-service".into()),
        project: None,
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    // Test runners list the targets' tests first: this bench has none to list.
    if args.iter().any(|a| a == "--list") {
        return Ok(());
    }
    // Outside `cargo bench` (a test run of every target): a quick smoke run.
    let default = if args.iter().any(|a| a == "--bench") {
        100_000
    } else {
        1_000
    };
    let n: usize = std::env::var("RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let dir = std::env::temp_dir().join(format!("llmgw-bench-{}", std::process::id()));
    let url =
        std::env::var("DB").unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.display()));
    let store = Store::open(Some(&url), 5).map_err(|e| e.to_string())?;
    let writer = Writer::start(&store, n + 1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let queued = Instant::now();
    for i in 0..n {
        writer.record(record(i));
    }
    let queue_time = queued.elapsed();
    rt.block_on(writer.flush(Duration::from_secs(600)));
    let took = queued.elapsed();
    if writer.dropped() != 0 || writer.written() != n as u64 {
        return Err(format!(
            "{} records written and {} dropped of {n}",
            writer.written(),
            writer.dropped()
        ));
    }
    println!(
        "{n} records on {}: queued in {:.1} ms ({:.0} ns each on the request path), written in {:.2} s: {:.0} records/s",
        store.backend().name(),
        queue_time.as_secs_f64() * 1000.0,
        queue_time.as_nanos() as f64 / n as f64,
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
