//! Failure behaviours over a real socket: errors in each format, `fail-once`, cuts, stalls,
//! hangs and client closes (awaited through `wait_for`, never with sleeps), the log, timing.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Mock, chat, contents, messages, outcome_becomes, read_until};
use crate::mock::{MockOptions, MockOutcome};

#[tokio::test(flavor = "multi_thread")]
async fn errors_in_the_format_of_the_endpoint() {
    let mock = Mock::start().await;
    let raw = mock
        .post(
            "/v1/chat/completions",
            &chat("fail-429;retry_after=7", "x", false),
        )
        .await;
    assert_eq!(raw.status, 429);
    assert_eq!(raw.header("retry-after"), Some("7"));
    assert_eq!(raw.json()["error"]["code"], "rate_limit_exceeded");
    let raw = mock
        .post("/v1/messages", &messages("fail-429", "x", true))
        .await;
    assert_eq!((raw.status, raw.header("retry-after")), (429, Some("1")));
    assert_eq!(
        raw.json(),
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": raw.json()["error"]["message"]}})
    );
    let raw = mock
        .post("/v1beta/models/fail-429:generateContent", &contents("x"))
        .await;
    assert_eq!(raw.json()["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(raw.json()["error"]["code"], 429);

    let raw = mock
        .post(
            "/v1/chat/completions",
            &chat("fail-400-context", "x", false),
        )
        .await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.json()["error"]["code"], "context_length_exceeded");
    let raw = mock
        .post("/v1/messages", &messages("fail-400-context", "x", false))
        .await;
    assert_eq!(raw.json()["error"]["type"], "invalid_request_error");
    assert!(
        raw.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("prompt is too long")
    );
    let raw = mock
        .post("/v1/messages", &messages("fail-500", "x", false))
        .await;
    assert_eq!(
        (raw.status, raw.json()["error"]["type"].clone()),
        (500, json!("api_error"))
    );
    let raw = mock
        .post(
            "/models/fail-503:streamGenerateContent?alt=sse",
            &contents("x"),
        )
        .await;
    assert_eq!(
        (raw.status, raw.json()["error"]["status"].clone()),
        (503, json!("UNAVAILABLE"))
    );
    assert!(raw.header("retry-after").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_once_then_echo_and_fail_then_ok() {
    let mock = Mock::start().await;
    let req = chat("fail-once", "again", false);
    assert_eq!(mock.post("/v1/chat/completions", &req).await.status, 500);
    let ok = mock.post("/v1/chat/completions", &req).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["choices"][0]["message"]["content"], "again");
    assert_eq!(mock.state.hits("fail-once"), 2);

    let req = messages("fail-then-ok;fails=2;status=503", "x", false);
    let statuses = [
        mock.post("/v1/messages", &req).await.status,
        mock.post("/v1/messages", &req).await.status,
        mock.post("/v1/messages", &req).await.status,
    ];
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(mock.state.hits("fail-then-ok;fails=2;status=503"), 3);
    assert_eq!(mock.state.hits("never-sent"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_cut_ends_without_done_and_is_logged_as_cut() {
    let mock = Mock::start().await;
    let raw = mock
        .post(
            "/v1/chat/completions",
            &chat("stream-cut", "a b c d e f", true),
        )
        .await;
    assert_eq!(raw.status, 200);
    assert!(!raw.complete, "no chunked terminator");
    assert!(!raw.data().iter().any(|d| d == "[DONE]"));
    let text: String = raw
        .events()
        .iter()
        .filter_map(|e| {
            e.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(text, "a b c ");
    assert!(outcome_becomes(&mock, "stream-cut", MockOutcome::Cut).await);

    let raw = mock
        .post(
            "/v1/messages",
            &messages("stream-cut;after=1", "a b c", false),
        )
        .await;
    let promised: usize = raw.header("content-length").unwrap().parse().unwrap();
    assert!(!raw.complete);
    assert_eq!(raw.body.len(), promised / 2);
    assert!(outcome_becomes(&mock, "stream-cut;after=1", MockOutcome::Cut).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_closing_during_hang_or_slow_is_client_gone() {
    let mock = Mock::start().await;
    for model in ["hang", "slow;ttfb_ms=600000"] {
        let body = chat(model, "x", false).to_string();
        let stream = mock
            .connect("POST", "/v1/chat/completions", Some(body.as_bytes()))
            .await;
        assert!(outcome_becomes(&mock, model, MockOutcome::InProgress).await);
        drop(stream);
        assert!(
            outcome_becomes(&mock, model, MockOutcome::ClientGone).await,
            "{model}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_closing_a_stalled_stream_is_client_gone() {
    let mock = Mock::start().await;
    let body = messages("stall;after=2", "one two three four", true).to_string();
    let mut stream = mock
        .connect("POST", "/v1/messages", Some(body.as_bytes()))
        .await;
    let seen = read_until(&mut stream, |b| String::from_utf8_lossy(b).contains("two ")).await;
    let seen = String::from_utf8_lossy(&seen).into_owned();
    assert!(!seen.contains("three"));
    assert_eq!(mock.state.log()[0].outcome, MockOutcome::InProgress);
    drop(stream);
    assert!(outcome_becomes(&mock, "stall;after=2", MockOutcome::ClientGone).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_event_then_a_proper_end() {
    let mock = Mock::start().await;
    let raw = mock
        .post("/v1/chat/completions", &chat("malformed", "a b c", true))
        .await;
    assert!(raw.complete);
    let data = raw.data();
    let broken = data.iter().position(|d| d == r#"{"id": broken"#).unwrap();
    assert_eq!(broken, 3, "after the role chunk and two tokens");
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert!(outcome_becomes(&mock, "malformed", MockOutcome::Completed).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_records_every_attempt_and_clears() {
    let mock = Mock::start().await;
    let req = chat("echo;id=log", "logged", true);
    mock.post("/v1/chat/completions?trace=1", &req).await;
    assert!(outcome_becomes(&mock, "echo;id=log", MockOutcome::Completed).await);
    let log = mock.get("/_mock/log").await.json();
    let entry = &log[0];
    assert_eq!(entry["seq"], 1);
    assert_eq!(entry["method"], "POST");
    assert_eq!(entry["path"], "/v1/chat/completions");
    assert_eq!(entry["query"], "trace=1");
    assert_eq!(entry["stream"], true);
    assert_eq!(entry["outcome"], "completed");
    assert_eq!(entry["headers"]["x-test-header"], "yes");
    assert_eq!(entry["body"], req);
    let sent = req.to_string();
    assert_eq!(entry["body_len"], sent.len());
    let sha: String = Sha256::digest(sent.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(entry["body_sha256"], sha);
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "control endpoints are not logged"
    );
    assert_eq!(mock.state.hits("echo;id=log"), 1);

    assert_eq!(mock.send("DELETE", "/_mock/log", None).await.status, 200);
    assert!(mock.state.log().is_empty());
    assert_eq!(mock.state.hits("echo;id=log"), 0);
    mock.post("/v1/chat/completions", &req).await;
    assert_eq!(mock.state.log()[0].seq, 2, "seq is never reused");
}

#[tokio::test(flavor = "multi_thread")]
async fn waits_happen_where_they_should() {
    let mock = Mock::start().await;
    let start = Instant::now();
    mock.post(
        "/v1/chat/completions",
        &chat("slow;ttfb_ms=150", "x", false),
    )
    .await;
    assert!(start.elapsed() >= Duration::from_millis(150));

    let body = chat("slow-first-token;ttft_ms=200", "alpha beta", true).to_string();
    let start = Instant::now();
    let mut stream = mock
        .connect("POST", "/v1/chat/completions", Some(body.as_bytes()))
        .await;
    let head = read_until(&mut stream, |b| b.windows(4).any(|w| w == b"\r\n\r\n")).await;
    let head_at = start.elapsed();
    assert!(!String::from_utf8_lossy(&head).contains("alpha"));
    read_until(&mut stream, |b| {
        String::from_utf8_lossy(b).contains("alpha")
    })
    .await;
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(
        head_at < Duration::from_millis(200),
        "headers come at once: {head_at:?}"
    );

    let paced = Mock::start_with(MockOptions {
        token_delay: Duration::from_millis(40),
    })
    .await;
    let start = Instant::now();
    let raw = paced
        .post("/v1/chat/completions", &chat("echo", "a b c", true))
        .await;
    assert!(raw.complete);
    assert!(start.elapsed() >= Duration::from_millis(120));
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_returns_despite_a_hanging_client() {
    let mock = Mock::start().await;
    let body = chat("hang", "x", false).to_string();
    let _stream = mock
        .connect("POST", "/v1/chat/completions", Some(body.as_bytes()))
        .await;
    assert!(outcome_becomes(&mock, "hang", MockOutcome::InProgress).await);
    let state = mock.state.clone();
    mock.shutdown().await;
    assert_eq!(state.log()[0].outcome, MockOutcome::ClientGone);
}
