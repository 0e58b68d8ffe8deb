//! Streaming: SSE forwarded as it arrives and byte-exact for any upstream chunking, usage read
//! from the stream, and client disconnects cancelling the upstream.

use std::time::Duration;

use llm_gateway::mock::MockOutcome;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Gateway, Mock, raw_post};

const SPLITS: [usize; 6] = [1, 2, 5, 7, 13, 64];

fn config(mock: &Mock, provider_type: &str) -> String {
    let mut models: Vec<String> = SPLITS
        .iter()
        .map(|s| format!("\"tokens;n=12;split={s}\""))
        .collect();
    models.extend([
        "\"echo\"".into(),
        "\"hang\"".into(),
        "\"stall\"".into(),
        "\"tokens;n=400;delay=5\"".into(),
    ]);
    let endpoint = if provider_type == "azure_openai" {
        mock.base()
    } else {
        mock.v1()
    };
    format!(
        "[[providers]]\nid = \"up\"\nprovider_type = \"{provider_type}\"\nendpoint = \"{endpoint}\"\napi_key = \"k\"\nmodels = [{}]\n",
        models.join(", ")
    )
}

fn stream_body(model: &str, text: &str, include_usage: bool) -> Value {
    let mut v = json!({ "model": model, "stream": true, "messages": [{ "role": "user", "content": text }] });
    if include_usage {
        v["stream_options"] = json!({ "include_usage": true });
    }
    v
}

/// The `data:` payloads of an SSE body.
fn data_lines(body: &str) -> Vec<&str> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect()
}

fn content_of(body: &str) -> String {
    data_lines(body)
        .into_iter()
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

async fn streamed(gw: &Gateway, provider_type: &str, mock: &Mock) {
    let r = gw
        .post(
            "/v1/chat/completions",
            &stream_body("echo", "streams arrive whole", false),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(r.headers()["x-gateway-provider"], "up");
    let body = r.text().await.unwrap();
    assert_eq!(
        content_of(&body),
        "streams arrive whole",
        "{provider_type}: {body}"
    );
    assert!(body.ends_with("data: [DONE]\n\n"));
    // The gateway asked the provider for usage, read it, and did not show the client a chunk
    // it did not ask for.
    assert!(!body.contains("\"usage\":{"), "{body}");
    assert_eq!(
        mock.log()[0].body.as_ref().unwrap()["stream_options"]["include_usage"],
        true
    );
    assert!(
        gw.metric("gateway_tokens_total{direction=\"output\",provider=\"up\",model=\"echo\"}")
            .await
            > 0.0
    );

    let r = gw
        .post(
            "/v1/chat/completions",
            &stream_body("echo", "with usage", true),
        )
        .await;
    let body = r.text().await.unwrap();
    let usage_chunk = data_lines(&body)
        .into_iter()
        .find(|d| d.contains("\"usage\":{"))
        .expect("usage chunk");
    let v: Value = serde_json::from_str(usage_chunk).unwrap();
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chat_through_openai_provider() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "openai")).await;
    streamed(&gw, "openai", &mock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chat_through_azure_provider() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "azure_openai")).await;
    streamed(&gw, "azure_openai", &mock).await;
    assert!(mock.log()[0].path.starts_with("/openai/deployments/echo/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_is_forwarded_byte_exact_for_any_chunking() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "openai")).await;
    let client = reqwest::Client::new();
    let mut reference: Option<Vec<u8>> = None;
    for split in SPLITS {
        let body = stream_body(
            &format!("tokens;n=12;split={split}"),
            "same words every time",
            true,
        );
        let direct = client
            .post(format!("{}/chat/completions", mock.v1()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let via = gw
            .post("/v1/chat/completions", &body)
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&via),
            String::from_utf8_lossy(&direct),
            "split {split}"
        );
        assert!(direct.ends_with(b"data: [DONE]\n\n"));
        // The split changes the model string, hence the ids; the events' count does not.
        let events = via.windows(2).filter(|w| w == b"\n\n").count();
        match &reference {
            None => reference = Some(via.to_vec()),
            Some(r) => assert_eq!(events, r.windows(2).filter(|w| w == b"\n\n").count()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_is_forwarded_as_it_arrives() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "openai")).await;
    // 400 tokens at 5 ms each: the first bytes must arrive long before the ~2 s stream ends.
    let body = serde_json::to_vec(&stream_body("tokens;n=400;delay=5", "x", false)).unwrap();
    let mut s = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
    let started = std::time::Instant::now();
    s.write_all(&raw_post(
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        &body,
    ))
    .await
    .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("tok1 ") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "stream ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let first = started.elapsed();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    let total = started.elapsed();
    assert!(
        first * 4 < total,
        "first tokens after {first:?}, whole stream {total:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_cancels_the_upstream() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "openai")).await;
    // Waiting for the response header.
    let body = serde_json::to_vec(
        &json!({"model": "hang", "messages": [{"role": "user", "content": "x"}]}),
    )
    .unwrap();
    let mut s = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
    s.write_all(&raw_post(
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        &body,
    ))
    .await
    .unwrap();
    assert!(mock.wait_for(|log| log.len() == 1).await);
    drop(s);
    assert!(
        mock.wait_for(|log| log[0].outcome == MockOutcome::ClientGone)
            .await,
        "{:?}",
        mock.log()
    );
    // Mid-stream.
    let body = serde_json::to_vec(&stream_body("stall", "one two three four five", false)).unwrap();
    let mut s = tokio::net::TcpStream::connect(gw.addr()).await.unwrap();
    s.write_all(&raw_post(
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        &body,
    ))
    .await
    .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(n > 0);
    drop(s);
    assert!(
        mock.wait_for(|log| log.len() == 2 && log[1].outcome == MockOutcome::ClientGone)
            .await,
        "{:?}",
        mock.log()
    );
    let cancelled = gw.metric("gateway_requests_total{endpoint=\"chat_completions\",provider=\"up\",model=\"hang\",status=\"499\"}").await;
    assert_eq!(cancelled, 1.0);
}
