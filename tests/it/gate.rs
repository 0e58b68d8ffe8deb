//! The output compliance gate over sockets: whole answers and streams, in both client formats
//! and translated, redacted (a private key split across many SSE events, each event also cut
//! into 7-byte frames), blocked (an error in the caller's format before anything was sent, an
//! in-format error event after), or only counted; the recorded body holds the redacted text.
//! And X3: a request carrying a credential is raised to `max_classification`.

use serde_json::{Value, json};

use crate::harness::{Gateway, Mock, oa_and_an, sse_data};

const ADMIN: &str = "gate-admin-token-0123";

fn config(mock: &Mock, extra: &str) -> String {
    format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n[sanitization]\ncompliance_gate = true\nredact_pii = true\n{extra}\n{}",
        oa_and_an(
            mock,
            r#""echo", "echo;split=7", "echo;delay=2""#,
            r#""echo-an", "echo-an;split=7", "echo-an;delay=2""#
        )
    )
}

/// A private key (the mock streams it word by word: six events) and an email.
const SECRET: &str = "here: -----BEGIN PRIVATE KEY----- MIIEvQIBADANBgkqhkiG9w0BAQEFAASC \
                      -----END PRIVATE KEY----- and jane.doe@example.com ok";
const CLEAN: &str = "here: [REDACTED:private_key] and [REDACTED:email] ok";

fn chat(model: &str, text: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": text }] })
}

fn messages(model: &str, text: &str, stream: bool) -> Value {
    json!({ "model": model, "max_tokens": 512, "stream": stream,
            "messages": [{ "role": "user", "content": text }] })
}

async fn post(gw: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(gw.url(path))
        .header("x-api-key", "any")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn openai_text(body: &str) -> String {
    sse_data(body)
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect()
}

fn anthropic_text(body: &str) -> String {
    sse_data(body)
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .filter_map(|e| e["delta"]["text"].as_str().map(String::from))
        .collect()
}

/// The count of one `gateway_compliance_findings_total` series of the output gate.
async fn found(gw: &Gateway, detector: &str, action: &str) -> f64 {
    gw.metric(&format!(
        "gateway_compliance_findings_total{{detector=\"{detector}\",direction=\"output\",action=\"{action}\"}}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_answers_are_redacted_in_both_formats_and_recorded_redacted() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    // Same format, OpenAI.
    let resp = post(&gw, "/v1/chat/completions", &chat("echo", SECRET, false)).await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], CLEAN);
    // The provider saw the secret (input sanitization is off): the gate alone removed it.
    assert_eq!(mock.log().len(), 1);
    // Same format, Anthropic; and translated both ways.
    for (path, body, pointer) in [
        (
            "/v1/messages",
            messages("echo-an", SECRET, false),
            "/content/0/text",
        ),
        (
            "/v1/messages",
            messages("oa/echo", SECRET, false),
            "/content/0/text",
        ),
        (
            "/v1/chat/completions",
            chat("an/echo-an", SECRET, false),
            "/choices/0/message/content",
        ),
    ] {
        let resp = post(&gw, path, &body).await;
        assert_eq!(resp.status(), 200, "{body}");
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(answer.pointer(pointer).unwrap(), CLEAN, "{answer}");
    }
    // The record keeps what the client got, and the trail says what was found where.
    let record = gw.admin_poll(ADMIN, &format!("/v1/requests/{id}")).await;
    let kept = record["response_body"].to_string();
    assert!(kept.contains("[REDACTED:private_key]"), "{kept}");
    assert!(
        !kept.contains("MIIEvQ") && !kept.contains("jane.doe"),
        "{kept}"
    );
    let audit = gw
        .admin_poll(ADMIN, &format!("/v1/audit/{id}"))
        .await
        .to_string();
    assert!(
        audit.contains(r#""detector":"private_key""#) && audit.contains(r#""direction":"output""#),
        "{audit}"
    );
    assert!(!audit.contains("MIIEvQ"), "{audit}");
    assert_eq!(found(&gw, "private_key", "redact").await, 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_redacted_with_the_secret_split_across_events() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let cases = [
        (
            "/v1/chat/completions",
            chat("echo;split=7", SECRET, true),
            true,
        ),
        (
            "/v1/chat/completions",
            chat("an/echo-an;split=7", SECRET, true),
            true,
        ),
        (
            "/v1/messages",
            messages("echo-an;split=7", SECRET, true),
            false,
        ),
        (
            "/v1/messages",
            messages("oa/echo;split=7", SECRET, true),
            false,
        ),
    ];
    for (path, body, openai) in cases {
        let resp = post(&gw, path, &body).await;
        assert_eq!(resp.status(), 200, "{body}");
        let raw = resp.text().await.unwrap();
        let text = if openai {
            assert!(raw.trim_end().ends_with("data: [DONE]"), "{raw}");
            openai_text(&raw)
        } else {
            assert!(raw.contains("event: message_stop"), "{raw}");
            anthropic_text(&raw)
        };
        assert_eq!(text, CLEAN, "{body}");
        assert!(
            !raw.contains("MIIEvQ") && !raw.contains("jane.doe"),
            "{raw}"
        );
    }
    // The mock did stream the key word by word.
    assert_eq!(found(&gw, "private_key", "redact").await, 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_an_error_in_the_callers_format_or_an_error_event_once_text_was_sent() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(
        &mock,
        "[sanitization.detectors]\nprivate_key = \"block\"\n",
    ))
    .await;
    let check = |status: reqwest::StatusCode, err: &Value, anthropic: bool| {
        assert_eq!(status, 403, "{err}");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains("private_key"), "{message}");
        assert!(!err.to_string().contains("MIIEvQ"), "{err}");
        if anthropic {
            assert_eq!(err["type"], "error");
            assert_eq!(err["error"]["type"], "permission_error");
        } else {
            assert_eq!(err["error"]["kind"], "compliance");
        }
    };
    // Whole answers and streams that had sent nothing yet: an error answer.
    for (path, body, anthropic) in [
        ("/v1/chat/completions", chat("echo", SECRET, false), false),
        ("/v1/messages", messages("echo-an", SECRET, false), true),
        (
            "/v1/chat/completions",
            chat("echo;split=7", SECRET, true),
            false,
        ),
        ("/v1/messages", messages("oa/echo", SECRET, true), true),
    ] {
        let resp = post(&gw, path, &body).await;
        let status = resp.status();
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        check(status, &resp.json().await.unwrap(), anthropic);
    }
    // A long clean beginning reaches the client first (the mock paces its words): the stream
    // ends with an error event.
    let prefix: String = (0..150).map(|i| format!("word{i} ")).collect();
    let long = format!("{prefix}{SECRET}");
    let resp = post(
        &gw,
        "/v1/chat/completions",
        &chat("echo;delay=2", &long, true),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let raw = resp.text().await.unwrap();
    assert!(!raw.contains("MIIEvQ"), "{raw}");
    let events = sse_data(&raw);
    let last = events.last().unwrap();
    assert_eq!(last["error"]["code"], "compliance_blocked", "{raw}");
    assert!(openai_text(&raw).starts_with("word0 word1 "), "{raw}");
    assert!(!raw.contains("[DONE]"));
    let resp = post(
        &gw,
        "/v1/messages",
        &messages("echo-an;delay=2", &long, true),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let raw = resp.text().await.unwrap();
    assert!(!raw.contains("MIIEvQ"), "{raw}");
    assert!(raw.contains("event: error"), "{raw}");
    assert!(!raw.contains("event: message_stop"), "{raw}");
    assert!(anthropic_text(&raw).starts_with("word0 word1 "), "{raw}");
    assert_eq!(found(&gw, "private_key", "block").await, 6.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_only_delivers_the_answer_unchanged_and_counts_it() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "compliance_action = \"log_only\"\n")).await;
    let resp = post(&gw, "/v1/chat/completions", &chat("echo", SECRET, false)).await;
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], SECRET);
    let resp = post(
        &gw,
        "/v1/messages",
        &messages("echo-an;split=7", SECRET, true),
    )
    .await;
    assert_eq!(anthropic_text(&resp.text().await.unwrap()), SECRET);
    assert_eq!(found(&gw, "email", "log_only").await, 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_in_the_request_raises_its_classification() {
    let mock = Mock::start().await;
    let extra = "enabled = true\nmax_classification = \"cui\"\n\
                 [sanitization.detectors]\nanthropic_key = \"log_only\"\n";
    let mut cfg = config(&mock, extra);
    cfg.push_str("[[models]]\nid = \"echo-an\"\nmax_classification = \"cui\"\n");
    let gw = Gateway::start(&cfg).await;
    let key = "use sk-ant-api03-abcdefghijklmnopqrstuvwxyz please";
    // `echo` (internal at most) may not take it; `echo-an` (cui) may.
    let resp = post(&gw, "/v1/chat/completions", &chat("echo", key, false)).await;
    assert_eq!(resp.status(), 403);
    let err: Value = resp.json().await.unwrap();
    assert!(
        err["error"]["message"].as_str().unwrap().contains("cui"),
        "{err}"
    );
    let before = mock.log().len();
    assert_eq!(before, 0);
    let resp = post(&gw, "/v1/chat/completions", &chat("echo-an", key, false)).await;
    assert_eq!(resp.status(), 200);
    // Without a credential the declared (default) classification stands.
    let resp = post(&gw, "/v1/chat/completions", &chat("echo", "hello", false)).await;
    assert_eq!(resp.status(), 200);
    // Declaring more than the gateway's cap is refused, naming both levels.
    let resp = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-data-classification", "itar")
        .json(&chat("echo-an", "hello", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let err: Value = resp.json().await.unwrap();
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("itar") && message.contains("max_classification"),
        "{message}"
    );
    assert_eq!(mock.log().len(), 2);
}
