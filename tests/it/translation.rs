//! Translation over sockets: `/v1/messages` errors in Anthropic's shape, same-format requests
//! forwarded byte-exact (thinking signatures included), the capability gate, and provider
//! errors re-encoded in the caller's format.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Gateway, Mock};

fn config(mock: &Mock) -> String {
    format!(
        r#"
[[providers]]
id = "anth"
provider_type = "anthropic"
endpoint = "{base}"
api_key = "sk-ant-test"
models = ["echo", "fail-429", "stream-cut"]
[[providers]]
id = "oa"
provider_type = "openai"
endpoint = "{v1}"
api_key = "sk-oa-test"
models = ["echo", "plain", "fail-400-context"]
[[models]]
id = "plain"
provider = "oa"
capabilities = ["streaming"]
"#,
        base = mock.base(),
        v1 = mock.v1()
    )
}

async fn post(gw: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(gw.url(path))
        .header("x-api-key", "anything")
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_errors_use_anthropic_shape() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    let r = post(
        &gw,
        "/v1/messages",
        &json!({"model": "nope", "max_tokens": 5, "messages": []}),
    )
    .await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "not_found_error");
    let r = reqwest::Client::new()
        .post(gw.url("/v1/messages"))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_format_request_is_forwarded_byte_exact_with_thinking_signatures() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    // Unusual spacing, an unknown field and a thinking block with its signature.
    let body = br#"{"model":"echo",  "max_tokens": 32, "x_vendor_field": {"keep": [1, 2.50]},
      "messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"EqQBCkYIARgCIkB+sig/=="},{"type":"text","text":"a"}]},{"role":"user","content":"again"}]}"#;
    let r = reqwest::Client::new()
        .post(gw.url("/v1/messages"))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["content"][0]["text"], "again");
    let log = mock.log();
    assert_eq!(log[0].path, "/v1/messages");
    assert_eq!(log[0].body_sha256, format!("{:x}", Sha256::digest(body)));
    assert_eq!(log[0].headers["x-api-key"], "sk-ant-test");
    assert_eq!(log[0].headers["anthropic-version"], "2023-06-01");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capability_gate_refuses_instead_of_downgrading() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    // An Anthropic client's tools would be dropped translating to `plain` (no tools).
    let body = json!({
        "model": "oa/plain",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}]
    });
    let r = post(&gw, "/v1/messages", &body).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("tools"),
        "{v}"
    );
    assert!(mock.log().is_empty());
    // An OpenAI client's tools reach the OpenAI-format `plain` as sent: nothing would be
    // dropped, so the card's list does not refuse them (the provider answers for itself).
    let body = json!({
        "model": "oa/plain",
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    });
    let r = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_errors_are_translated_to_the_callers_format() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    // OpenAI client, Anthropic provider answering 429.
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "anth/fail-429", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error", "{v}");
    // Anthropic client, OpenAI provider answering 400 context_length_exceeded.
    let r = post(&gw, "/v1/messages", &json!({"model": "oa/fail-400-context", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_translated_stream_ends_with_an_error_event_not_a_clean_finish() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    let body = json!({"model": "anth/stream-cut", "stream": true, "messages": [{"role": "user", "content": "one two three four five six"}]});
    let text = gw
        .post("/v1/chat/completions", &body)
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert!(!text.contains("\"finish_reason\":\"stop\""), "{text}");
}
