//! Mid-stream rescue over sockets: a stream cut, stalled or failed after text reached the
//! client is continued by the next attempt (prefill, or a regenerated answer with the client's
//! text dropped) and the client receives one well-formed stream with the exact full text, in
//! both client formats and across formats; what cannot be continued (a tool call, a different
//! regenerated answer, rescue switched off, the continuation budget spent) ends with an error
//! event as before.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Gateway, Mock};

const PROMPT: &str = "one two three four five six seven eight nine ten";

/// Providers `a` and `b` of type `kind` (`openai` or `anthropic`), each its own mock; `a`
/// serves `primary` with one attempt (a continuation goes to `b`), `b` serves `second` (its
/// entry gets `b_extra`); pool `p` = [a/primary, b/second].
fn config(a: &Mock, b: &Mock, kind: &str, primary: &str, second: &str, b_extra: &str) -> String {
    let url = |m: &Mock| {
        if kind == "anthropic" {
            m.base()
        } else {
            m.v1()
        }
    };
    format!(
        r#"
[resilience.default_retry_policy]
max_attempts = 2
base_delay_ms = 5
max_delay_ms = 20
[resilience.timeout]
stream_idle_ms = 500
[[providers]]
id = "a"
provider_type = "{kind}"
endpoint = "{}"
api_key = "ka"
models = ["{primary}"]
retry_policy = {{ max_attempts = 1 }}
[[providers]]
id = "b"
provider_type = "{kind}"
endpoint = "{}"
api_key = "kb"
models = ["{second}"]
{b_extra}
[[pools]]
name = "p"
strategy = "priority"
members = [{{ model = "a/{primary}" }}, {{ model = "b/{second}" }}]
"#,
        url(a),
        url(b)
    )
}

/// Two mocks and a gateway over them (see [`config`]).
async fn start(kind: &str, primary: &str, second: &str, b_extra: &str) -> (Mock, Mock, Gateway) {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let gw = Gateway::start(&config(&a, &b, kind, primary, second, b_extra)).await;
    (a, b, gw)
}

/// The role of the last message a mock received in its `n`th logged request.
fn last_role(mock: &Mock, n: usize) -> String {
    let log = mock.log();
    let body = log[n].body.as_ref().unwrap();
    body["messages"].as_array().unwrap().last().unwrap()["role"]
        .as_str()
        .unwrap()
        .to_string()
}

fn openai_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": PROMPT}]})
}

fn anthropic_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "max_tokens": 100,
           "messages": [{"role": "user", "content": PROMPT}]})
}

async fn stream(gw: &Gateway, path: &str, body: &Value, headers: &[(&str, &str)]) -> String {
    let mut req = reqwest::Client::new().post(gw.url(path)).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The `data:` payloads of an SSE body with their event names.
fn events(body: &str) -> Vec<(Option<&str>, &str)> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: "));
            let data = e
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or("");
            (name, data)
        })
        .collect()
}

/// The text of a complete, well-formed OpenAI stream (one id, one role chunk, one finish,
/// one usage chunk, `[DONE]` last, no error).
fn openai_text(body: &str) -> String {
    let evs = events(body);
    assert_eq!(evs.last().map(|e| e.1), Some("[DONE]"), "{body}");
    let (mut text, mut ids, mut roles, mut finishes, mut usages) =
        (String::new(), Vec::new(), 0, 0, 0);
    for (_, data) in &evs[..evs.len() - 1] {
        let v: Value = serde_json::from_str(data).unwrap();
        assert!(v.get("error").is_none(), "{body}");
        let id = v["id"].as_str().unwrap().to_string();
        if !ids.contains(&id) {
            ids.push(id);
        }
        if v["usage"].is_object() && v["choices"].as_array().is_some_and(Vec::is_empty) {
            usages += 1;
            continue;
        }
        let choice = &v["choices"][0];
        roles += usize::from(choice["delta"].get("role").is_some());
        finishes += usize::from(!choice["finish_reason"].is_null());
        text.push_str(choice["delta"]["content"].as_str().unwrap_or(""));
    }
    assert_eq!((ids.len(), roles, finishes, usages), (1, 1, 1, 1), "{body}");
    text
}

/// The text of a complete, well-formed Anthropic stream (one message_start, blocks in order,
/// message_stop last, no error).
fn anthropic_text(body: &str) -> String {
    let evs = events(body);
    let names: Vec<&str> = evs.iter().filter_map(|e| e.0).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{body}");
    assert_eq!(names.last(), Some(&"message_stop"), "{body}");
    assert_eq!(names.iter().filter(|n| **n == "message_start").count(), 1);
    assert!(!names.contains(&"error"), "{body}");
    let mut text = String::new();
    for (name, data) in &evs {
        if *name == Some("content_block_delta") {
            let v: Value = serde_json::from_str(data).unwrap();
            text.push_str(v["delta"]["text"].as_str().unwrap_or(""));
        }
    }
    text
}

/// The full answer `model` gives when nothing breaks, asked of a mock of its own.
async fn whole_answer(model: &str) -> String {
    let mock = Mock::start().await;
    let body = reqwest::Client::new()
        .post(format!("{}/chat/completions", mock.v1()))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": PROMPT}]}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_openai_stream_is_completed_by_the_fallback_from_a_prefill() {
    let (_a, b, gw) = start(
        "openai",
        "stream-cut;after=3",
        "echo",
        "supports_prefill = true",
    )
    .await;
    let body = stream(&gw, "/v1/chat/completions", &openai_body("p"), &[]).await;
    assert_eq!(openai_text(&body), whole_answer("echo").await);
    // b was given the text the client had as a trailing assistant message.
    let log = b.log();
    assert_eq!(log.len(), 1);
    let sent = log[0].body.as_ref().unwrap();
    let prefill = sent["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(prefill["role"], "assistant");
    assert!(
        whole_answer("echo")
            .await
            .starts_with(prefill["content"].as_str().unwrap())
    );
    assert_eq!(
        gw.metric("gateway_stream_continuations_total{provider=\"a\"}")
            .await,
        1.0
    );
    // Served by the fallback: attributed to the model asked for and the one that served.
    let fallback = "gateway_fallback_requests_total{requested=\"p\",provider=\"b\",model=\"echo\"}";
    assert_eq!(gw.metric(fallback).await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_anthropic_stream_is_completed_by_the_fallback() {
    let (_a, b, gw) = start("anthropic", "stream-cut;after=3", "echo", "").await;
    let body = stream(&gw, "/v1/messages", &anthropic_body("p"), &[]).await;
    assert_eq!(anthropic_text(&body), whole_answer("echo").await);
    assert_eq!(b.log().len(), 1, "Anthropic continues a prefill");
    assert_eq!(last_role(&b, 0), "assistant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_client_is_rescued_across_openai_providers() {
    let (_a, _b, gw) = start(
        "openai",
        "stream-cut;after=4",
        "echo",
        "supports_prefill = true",
    )
    .await;
    let body = stream(&gw, "/v1/messages", &anthropic_body("p"), &[]).await;
    assert_eq!(anthropic_text(&body), whole_answer("echo").await);
    // And the other way round: an OpenAI client over Anthropic providers.
    let (_c, _d, gw) = start("anthropic", "stream-cut;after=4", "echo", "").await;
    let body = stream(&gw, "/v1/chat/completions", &openai_body("p"), &[]).await;
    assert_eq!(openai_text(&body), whole_answer("echo").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_prefill_the_answer_is_regenerated_and_the_client_text_dropped() {
    // OpenAI-type providers do not take a prefill by default.
    let (_a, b, gw) = start("openai", "stream-cut;after=3", "echo", "").await;
    let body = stream(&gw, "/v1/chat/completions", &openai_body("p"), &[]).await;
    assert_eq!(openai_text(&body), whole_answer("echo").await);
    assert_eq!(b.log().len(), 1);
    assert_eq!(last_role(&b, 0), "user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_prefill_is_regenerated_on_the_same_provider() {
    let second = "echo;prefill=refuse";
    let (_a, b, gw) = start(
        "openai",
        "stream-cut;after=3",
        second,
        "supports_prefill = true",
    )
    .await;
    let body = stream(&gw, "/v1/chat/completions", &openai_body("p"), &[]).await;
    assert_eq!(openai_text(&body), whole_answer("echo").await);
    assert_eq!(
        b.log().len(),
        2,
        "the prefill, refused; then the regenerated answer"
    );
    assert_eq!(last_role(&b, 0), "assistant");
    assert_eq!(last_role(&b, 1), "user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regenerated_answer_that_differs_ends_with_an_error_event() {
    let (_a, _b, gw) = start("openai", "stream-cut;after=3", "tokens;n=20", "").await;
    let body = stream(&gw, "/v1/chat/completions", &openai_body("p"), &[]).await;
    assert!(body.contains("\"error\""), "{body}");
    assert!(!body.contains("tok"), "no mismatched text: {body}");
    assert!(!body.contains("[DONE]"), "{body}");
    assert!(
        body.contains("\"one \"") && body.contains("stream_rescue_diverged"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_is_rescued_within_the_idle_timeout_and_one_continuation() {
    let (_a, _b, gw) = start("openai", "stall;after=3", "echo", "supports_prefill = true").await;
    let started = Instant::now();
    let body = stream(&gw, "/v1/chat/completions", &openai_body("p"), &[]).await;
    let took = started.elapsed();
    assert_eq!(openai_text(&body), whole_answer("echo").await);
    // stream_idle_ms = 500; the continuation itself takes milliseconds.
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_cut_mid_arguments_ends_with_an_error_event() {
    let (_a, b, gw) = start(
        "openai",
        "tool-call;cut=1",
        "echo",
        "supports_prefill = true",
    )
    .await;
    let mut body = openai_body("p");
    body["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let text = stream(&gw, "/v1/chat/completions", &body, &[]).await;
    assert!(text.contains("tool_calls"), "{text}");
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert!(b.log().is_empty(), "a tool call is not continued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_switched_off_ends_with_an_error_event_as_before() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let cfg = config(
        &a,
        &b,
        "openai",
        "stream-cut;after=3",
        "echo",
        "supports_prefill = true",
    );
    let gw = Gateway::start(&cfg).await;
    let off = [("x-gateway-stream-rescue", "off")];
    let text = stream(&gw, "/v1/chat/completions", &openai_body("p"), &off).await;
    assert!(text.contains("\"three \""), "{text}");
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert!(b.log().is_empty());
    // The same with the config switch.
    let gw = Gateway::start(&format!(
        "{cfg}\n[resilience.stream_rescue]\nenabled = false\n"
    ))
    .await;
    let text = stream(&gw, "/v1/messages", &anthropic_body("p"), &[]).await;
    assert!(text.contains("event: error"), "{text}");
    assert!(!text.contains("message_stop"), "{text}");
    assert!(b.log().is_empty());
    // The partial answer's tokens are still recorded (counted from what was sent).
    let out = gw
        .metric("gateway_tokens_total{direction=\"output\",provider=\"a\",model=\"stream-cut;after=3\"}")
        .await;
    assert!(out > 0.0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuations_are_bounded_by_max_continuations() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    // Every answer of `a` breaks after two more words; `a` continues prefills and may be
    // asked five times; two continuations are allowed.
    let cfg = format!(
        "{}\n[resilience.stream_rescue]\nmax_continuations = 2\n",
        config(&a, &b, "openai", "stream-cut;after=2", "echo", "")
    )
    .replace(
        "retry_policy = { max_attempts = 1 }",
        "retry_policy = { max_attempts = 5 }\nsupports_prefill = true",
    );
    let gw = Gateway::start(&cfg).await;
    let text = stream(
        &gw,
        "/v1/chat/completions",
        &openai_body("a/stream-cut;after=2"),
        &[],
    )
    .await;
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert_eq!(a.log().len(), 3, "the first answer and two continuations");
    let words: String = events(&text)
        .iter()
        .filter_map(|(_, d)| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(PROMPT.starts_with(words.trim_end()), "{words:?}");
    // Each continuation added text before it broke in turn.
    assert!(words.split_whitespace().count() > 2, "{words:?}");
    assert_eq!(
        gw.metric("gateway_stream_continuations_total{provider=\"a\"}")
            .await,
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_failover_the_same_provider_continues_the_stream() {
    // `a` breaks its first answer only, may be asked twice and continues a prefill.
    let primary = "stream-cut;after=3;faults=1";
    let (a, b) = (Mock::start().await, Mock::start().await);
    let cfg = config(&a, &b, "openai", primary, "echo", "").replace(
        "retry_policy = { max_attempts = 1 }",
        "retry_policy = { max_attempts = 2 }\nsupports_prefill = true",
    );
    let gw = Gateway::start(&cfg).await;
    let off = [("x-gateway-failover", "disabled")];
    let body = stream(&gw, "/v1/chat/completions", &openai_body("p"), &off).await;
    assert_eq!(openai_text(&body), whole_answer("echo").await);
    assert_eq!(a.log().len(), 2);
    assert_eq!(last_role(&a, 1), "assistant");
    assert!(b.log().is_empty());
}
