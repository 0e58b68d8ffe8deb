//! Input sanitization over sockets: credentials and personal data are redacted before a
//! provider sees them, in OpenAI and Anthropic requests, translated and same-format (where
//! every other byte reaches the provider as sent), or block the request; findings are counted
//! in metrics.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Gateway, Mock, oa_and_an};

fn config(mock: &Mock, extra: &str) -> String {
    format!(
        "[sanitization]\nenabled = true\nredact_pii = true\n{extra}\n{}",
        oa_and_an(mock, r#""echo""#, r#""echo-an""#)
    )
}

const SECRET: &str = "mail jane.doe@example.com, key sk-ant-api03-abcdefghijklmnopqrstuvwxyz";
const CLEAN: &str = "mail [REDACTED:email], key [REDACTED:anthropic_key]";

async fn post(gw: &Gateway, path: &str, body: &[u8]) -> reqwest::Response {
    reqwest::Client::new()
        .post(gw.url(path))
        .header("content-type", "application/json")
        .header("x-api-key", "any")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_format_requests_are_redacted_and_keep_every_other_byte() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let body = format!(
        r#"{{"model":"echo","messages":[{{"role":"user","content":"{SECRET}"}}],"x_vendor_field":  {{"keep":[1, 2]}}}}"#
    );
    let resp = post(&gw, "/v1/chat/completions", body.as_bytes()).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], CLEAN);
    let expected = body.replace(SECRET, CLEAN);
    let log = mock.log();
    assert_eq!(
        log[0].body_sha256,
        format!("{:x}", Sha256::digest(expected.as_bytes()))
    );
    // Anthropic client, Anthropic provider: the same.
    let body = format!(
        r#"{{"model":"echo-an","max_tokens":64,"system":"{SECRET}","messages":[{{"role":"user","content":[{{"type":"text","text":"{SECRET}"}}]}}]}}"#
    );
    let resp = post(&gw, "/v1/messages", body.as_bytes()).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["content"][0]["text"], CLEAN);
    let expected = body.replace(SECRET, CLEAN);
    assert_eq!(
        mock.log()[1].body_sha256,
        format!("{:x}", Sha256::digest(expected.as_bytes()))
    );
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "gateway_compliance_findings_total{detector=\"email\",direction=\"input\",action=\"redact\"} 3"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn translated_requests_are_redacted_and_blocking_sends_nothing() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(
        &mock,
        "[sanitization.detectors]\nus_ssn = \"block\"\n",
    ))
    .await;
    // OpenAI client, Anthropic provider.
    let body =
        json!({ "model": "an/echo-an", "messages": [{ "role": "user", "content": SECRET }] });
    let resp = post(&gw, "/v1/chat/completions", body.to_string().as_bytes()).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], CLEAN);
    // A blocked detector: 400 naming it, not the value; nothing sent.
    let before = mock.log().len();
    let body = json!({ "model": "echo", "messages": [{ "role": "user", "content": "my ssn is 123-45-6789" }] });
    let resp = post(&gw, "/v1/chat/completions", body.to_string().as_bytes()).await;
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("us_ssn") && !message.contains("123-45"),
        "{message}"
    );
    assert_eq!(err["error"]["kind"], "compliance");
    assert_eq!(mock.log().len(), before);
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "gateway_compliance_findings_total{detector=\"us_ssn\",direction=\"input\",action=\"block\"} 1"
        ),
        "{metrics}"
    );
}
