//! Resilience over sockets: retries with backoff and Retry-After, failover along a pool,
//! circuit breakers, timeouts, streaming-safe failover and hedging. Each test asserts what
//! the client saw and what the mock upstream received.

use std::time::{Duration, Instant};

use llm_gateway::mock::MockOutcome;
use serde_json::{Value, json};

use crate::harness::{Gateway, Mock, chat};

/// Two providers `a` and `b` (each its own mock) and a pool `p` = [a/<primary>, b/echo].
fn config(a: &Mock, b: &Mock, primary: &str, extra: &str) -> String {
    format!(
        r#"
[resilience.default_retry_policy]
max_attempts = 3
base_delay_ms = 10
max_delay_ms = 50
[resilience.timeout]
stream_idle_ms = 600
[[providers]]
id = "a"
provider_type = "openai"
endpoint = "{}"
api_key = "ka"
models = ["{primary}"]
[[providers]]
id = "b"
provider_type = "openai"
endpoint = "{}"
api_key = "kb"
models = ["echo"]
[[pools]]
name = "p"
strategy = "priority"
members = [{{ model = "a/{primary}" }}, {{ model = "b/echo" }}]
{extra}
"#,
        a.v1(),
        b.v1()
    )
}

fn stream_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "one two three four five six seven"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_then_success_is_retried() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "fail-once", "")).await;
    let r = gw
        .post("/v1/chat/completions", &chat("a/fail-once", "hi"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-gateway-retries"], "1");
    assert_eq!(r.headers()["x-gateway-provider"], "a");
    assert_eq!(a.state.hits("fail-once"), 2);
    assert!(b.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_without_hammering() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let model = "fail-then-ok;fails=1;status=429;retry_after=2";
    let gw = Gateway::start(&config(&a, &b, model, "")).await;
    let started = Instant::now();
    let url = gw.url("/v1/chat/completions");
    let req = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .json(&chat(&format!("a/{model}"), "hi"))
            .send()
            .await
            .unwrap()
    });
    // Within the first 1.5 s the provider sees one attempt only.
    assert!(
        !a.state
            .wait_for(|log| log.len() >= 2, Duration::from_millis(1500))
            .await,
        "retried before Retry-After"
    );
    let r = req.await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(a.log().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_503_is_bounded_then_falls_back_to_the_next_pool_member() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "fail-503", "")).await;
    let r = gw
        .post("/v1/chat/completions", &chat("p", "fallback please"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    assert_eq!(r.headers()["x-gateway-model"], "echo");
    assert_eq!(r.headers()["x-gateway-retries"], "3");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "fallback please");
    assert_eq!(a.log().len(), 3, "max_attempts bounds the retries");
    assert_eq!(
        gw.metric("gateway_failovers_total{from=\"a\",to=\"b\"}")
            .await,
        1.0
    );
    // With failover disabled only the first member is tried, and its error is the answer.
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-gateway-failover", "disabled")
        .json(&chat("p", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(b.log().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reset_and_silent_upstream_fail_over() {
    let b = Mock::start().await;
    // A "provider" that accepts connections and closes them at once.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = dead.accept().await {
            drop(s);
        }
    });
    let silent = Mock::start().await;
    let cfg = format!(
        r#"
[resilience.default_retry_policy]
max_attempts = 2
base_delay_ms = 10
max_delay_ms = 20
[[providers]]
id = "dead"
provider_type = "openai"
endpoint = "http://{dead_addr}/v1"
api_key = "k"
models = ["echo"]
[[providers]]
id = "silent"
provider_type = "openai"
endpoint = "{}"
api_key = "k"
models = ["hang"]
ttft_ms = 300
[[providers]]
id = "b"
provider_type = "openai"
endpoint = "{}"
api_key = "k"
models = ["echo"]
[[pools]]
name = "reset"
members = [{{ model = "dead/echo" }}, {{ model = "b/echo" }}]
[[pools]]
name = "quiet"
members = [{{ model = "silent/hang" }}, {{ model = "b/echo" }}]
"#,
        silent.v1(),
        b.v1()
    );
    let gw = Gateway::start(&cfg).await;
    let r = gw
        .post("/v1/chat/completions", &chat("reset", "after reset"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    let started = Instant::now();
    let r = gw
        .post("/v1/chat/completions", &chat("quiet", "after silence"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The silent provider was abandoned: its connections were closed.
    assert!(
        silent
            .wait_for(
                |log| !log.is_empty() && log.iter().all(|e| e.outcome == MockOutcome::ClientGone)
            )
            .await,
        "{:?}",
        silent.log()
    );
}

/// Cards: `a`'s context-failing model has an 8192-token window, `b`'s echo `fallback` tokens.
fn window_cards(fallback: u32) -> String {
    format!(
        "[[models]]\nid = \"fail-400-context\"\nprovider = \"a\"\ncontext_window = 8192\n\
         [[models]]\nid = \"echo\"\nprovider = \"b\"\ncontext_window = {fallback}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_length_is_not_retried_but_may_fail_over_to_a_larger_window() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "fail-400-context", &window_cards(200_000))).await;
    let r = gw
        .post("/v1/chat/completions", &chat("p", "a long prompt"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    assert_eq!(
        a.log().len(),
        1,
        "context-length errors are never retried on the same model"
    );
    // Alone, the model's 400 reaches the client after one attempt.
    let r = gw
        .post("/v1/chat/completions", &chat("a/fail-400-context", "x"))
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    assert_eq!(a.log().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stated_context_limit_skips_candidates_that_cannot_hold_the_prompt() {
    // The mock's context error says "maximum context length is 128000 tokens": a fallback
    // whose card lists 100000 cannot fit what did not fit 128000, though it beats a's card.
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "fail-400-context", &window_cards(100_000))).await;
    let r = gw
        .post("/v1/chat/completions", &chat("p", "a long prompt"))
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    assert_eq!(a.log().len(), 1);
    assert!(b.log().is_empty(), "{:?}", b.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_cut_after_content_ends_with_an_error_event_in_both_formats() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "stream-cut;after=3", "")).await;
    // Without mid-stream rescue (tests/it/rescue.rs continues such a stream).
    let text = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-gateway-stream-rescue", "off")
        .json(&stream_body("a/stream-cut;after=3"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("one "), "{text}");
    assert!(text.contains("\"error\""), "{text}");
    assert!(
        !text.contains("[DONE]") && !text.contains("\"finish_reason\":\"stop\""),
        "{text}"
    );
    let r = reqwest::Client::new()
        .post(gw.url("/v1/messages"))
        .header("x-gateway-stream-rescue", "off")
        .json(&json!({"model": "a/stream-cut;after=3", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "one two three four five"}]}))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("event: error"), "{text}");
    assert!(!text.contains("message_stop"), "{text}");
    assert!(
        b.log().is_empty(),
        "content had reached the client: no failover"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_failing_before_content_fails_over() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "stream-cut;after=0", "")).await;
    let r = gw.post("/v1/chat/completions", &stream_body("p")).await;
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    let text = r.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(!text.contains("\"error\""), "{text}");
    assert!(!a.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_ends_with_an_error_within_the_idle_timeout() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "stall;after=3", "")).await;
    let started = Instant::now();
    // Without mid-stream rescue (tests/it/rescue.rs continues such a stream).
    let text = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-gateway-stream-rescue", "off")
        .json(&stream_body("a/stall;after=3"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(text.contains("stream_idle_timeout"), "{text}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(
        a.wait_for(|log| log.iter().all(|e| e.outcome == MockOutcome::ClientGone))
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_chunk_is_skipped() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, "malformed;after=2", "")).await;
    let text = gw
        .post("/v1/chat/completions", &stream_body("a/malformed;after=2"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("broken"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let content: String = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(content, "one two three four five six seven");
    assert_eq!(
        gw.metric("gateway_stream_malformed_events_total{provider=\"a\"}")
            .await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_opens_the_circuit_and_the_primary_recovers_after_a_probe() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let breaker = "[resilience.default_circuit_breaker]\nfailure_threshold = 3\nfailure_window_secs = 60\nopen_duration_secs = 1\nhalf_open_max_concurrent = 1";
    let cfg = config(&a, &b, "fail-then-ok;fails=3", breaker)
        .replace("max_attempts = 3", "max_attempts = 1");
    let gw = Gateway::start(&cfg).await;
    for i in 0..30 {
        let r = gw
            .post("/v1/chat/completions", &chat("p", &format!("req {i}")))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-gateway-provider"], "b", "request {i}");
    }
    assert_eq!(
        a.log().len(),
        3,
        "the open circuit kept traffic off the failing primary"
    );
    assert_eq!(b.log().len(), 30);
    let backends: Value = {
        let r = reqwest::Client::new()
            .get(gw.url("/admin/backends"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "admin needs a token");
        json!({})
    };
    let _ = backends;
    assert_eq!(
        gw.metric("gateway_circuit_state{backend=\"a/fail-then-ok;fails=3\",state=\"closed\"}")
            .await,
        0.0
    );
    // The primary has recovered; after the open duration one probe brings it back.
    let recovered = Instant::now();
    loop {
        let r = gw
            .post("/v1/chat/completions", &chat("p", "are you back"))
            .await;
        if r.headers()["x-gateway-provider"] == "a" {
            break;
        }
        assert!(
            recovered.elapsed() < Duration::from_millis(2500),
            "primary did not take traffic again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(a.log().len(), 4, "one probe");
    let r = gw
        .post("/v1/chat/completions", &chat("p", "closed again"))
        .await;
    assert_eq!(r.headers()["x-gateway-provider"], "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_circuits_open_gives_a_fast_503_and_admin_can_reset() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let extra = "[server]\nadmin_token = \"admin-token-for-tests\"\n[resilience.default_circuit_breaker]\nfailure_threshold = 2\nopen_duration_secs = 30";
    let cfg = config(&a, &b, "fail-500", extra).replace("max_attempts = 3", "max_attempts = 1");
    let gw = Gateway::start(&cfg).await;
    for _ in 0..2 {
        assert_eq!(
            gw.post("/v1/chat/completions", &chat("a/fail-500", "x"))
                .await
                .status(),
            500
        );
    }
    let started = Instant::now();
    let r = gw
        .post("/v1/chat/completions", &chat("a/fail-500", "x"))
        .await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["x-gateway-circuit"], "open");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait));
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(a.log().len(), 2);
    let admin = |req: reqwest::RequestBuilder| req.bearer_auth("admin-token-for-tests").send();
    let client = reqwest::Client::new();
    let v: Value = admin(client.get(gw.url("/admin/backends")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entry = v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "a/fail-500")
        .unwrap()
        .clone();
    assert_eq!(entry["state"], "open");
    assert!(entry["last_error"].as_str().unwrap().contains("500"));
    let r = admin(client.post(gw.url("/admin/backends/a/reset")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("a/fail-500", "x"))
            .await
            .status(),
        500
    );
    assert_eq!(a.log().len(), 3, "reset closed the circuit");
    let r = admin(client.post(gw.url("/admin/backends/nope/reset")))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hedge_beats_a_slow_primary_and_the_loser_is_cancelled() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let extra = "[resilience.hedge]\nenabled = true\nhedge_delay_ms = 100";
    let gw = Gateway::start(&config(&a, &b, "slow;ttfb_ms=3000", extra)).await;
    let started = Instant::now();
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-routing-profile", "realtime")
        .json(&chat("p", "race"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    assert!(
        a.wait_for(|log| log.len() == 1 && log[0].outcome == MockOutcome::ClientGone)
            .await,
        "{:?}",
        a.log()
    );
    assert_eq!(
        gw.metric("gateway_hedges_total{outcome=\"hedge_won\"}")
            .await,
        1.0
    );
    // With failover disabled no hedge goes to the next member: the realtime limit (500 ms)
    // abandons the slow primary and the client gets its timeout.
    let b_before = b.log().len();
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-routing-profile", "realtime")
        .header("x-gateway-failover", "disabled")
        .json(&chat("p", "alone"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    assert_eq!(b.log().len(), b_before, "no hedge with failover disabled");
    // Without the realtime profile there is no hedge.
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat("b/echo", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        gw.metric("gateway_hedges_total{outcome=\"hedge_won\"}")
            .await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_provider_may_have_read_is_never_resent_uncounted() {
    // The mock reads the request, holds it 300 ms and closes the connection without an answer:
    // it may have acted on it. Every such send is a counted attempt (retried per policy), so
    // the mock sees exactly as many requests as the gateway reports, pooled connection or not.
    let (a, b) = (Mock::start().await, Mock::start().await);
    let breaker = "[resilience.default_circuit_breaker]\nfailure_threshold = 3";
    let gw = Gateway::start(&config(&a, &b, "echo", breaker)).await;
    // A first answer leaves a pooled connection for the next request to reuse.
    let r = gw.post("/v1/chat/completions", &chat("a/echo", "hi")).await;
    assert_eq!(r.status(), 200);
    let model = "hold-close;ttfb_ms=300";
    let r = gw
        .post("/v1/chat/completions", &chat(&format!("a/{model}"), "hi"))
        .await;
    assert_eq!(r.status(), 502);
    assert_eq!(a.state.hits(model), 3, "max_attempts = 3, each one counted");
    assert_eq!(
        gw.metric("gateway_upstream_attempts_total{provider=\"a\",outcome=\"connection_reset\"}")
            .await,
        3.0
    );
    // The breaker was told of all three: its threshold of 3 opened the circuit (the one that
    // names a provider does not list share, `a/other`).
    assert_eq!(
        gw.metric("gateway_circuit_state{backend=\"a/other\",state=\"open\"}")
            .await,
        1.0
    );
}
