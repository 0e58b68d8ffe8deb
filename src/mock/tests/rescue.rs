//! What mid-stream rescue needs of the mock, over a real socket: a trailing assistant message
//! continued (or refused, or ignored) in each format, `faults=K` sparing later hits, `cut=` in
//! the middle of a tool call's arguments, a stall closed after `close_ms`, and `vary=1`.

use serde_json::{Value, json};

use super::{Mock, chat, contents, messages, outcome_becomes};
use crate::mock::MockOutcome;

/// The text of an OpenAI chat stream.
fn chat_text(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            e.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An OpenAI chat request ending with the assistant's `prefill`.
fn chat_prefilled(model: &str, prompt: &str, prefill: Value, stream: bool) -> Value {
    let mut req = chat(model, prompt, stream);
    req["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": prefill}));
    req
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_prefill_is_continued_token_by_token() {
    let mock = Mock::start().await;
    let mut req = chat_prefilled("tokens;n=4", "x", json!("tok0 to"), true);
    req["stream_options"] = json!({"include_usage": true});
    let raw = mock.post("/v1/chat/completions", &req).await;
    assert!(raw.complete);
    let events = raw.events();
    assert_eq!(chat_text(&events), ["k1 ", "tok2 ", "tok3"]);
    let usage = &events.last().unwrap()["usage"];
    assert_eq!(usage["completion_tokens"], 3, "the tokens actually sent");
    // "be brief" + "x" + "tok0 to" = 16 characters: the prefill counts in the prompt.
    assert_eq!(usage["prompt_tokens"], 4);

    let parts = json!([{"type": "text", "text": "one "}, {"type": "text", "text": "two"}]);
    let req = chat_prefilled("echo", "one two three", parts, false);
    let body = mock.post("/v1/chat/completions", &req).await.json();
    assert_eq!(body["choices"][0]["message"]["content"], " three");
    assert_eq!(body["usage"]["completion_tokens"], 2);

    // A gateway strips a prefill's trailing whitespace; the continuation brings it back.
    let req = chat_prefilled("tokens;n=3", "x", json!("tok0 tok1"), true);
    let events = mock.post("/v1/chat/completions", &req).await.events();
    assert_eq!(chat_text(&events), [" ", "tok2"]);

    // Not the start of the answer: the answer comes whole.
    let req = chat_prefilled("tokens;n=2", "x", json!("something else"), true);
    let events = mock.post("/v1/chat/completions", &req).await.events();
    assert_eq!(chat_text(&events), ["tok0 ", "tok1"]);

    // An assistant turn with tool calls is history, not a prefill.
    let mut req = chat("tokens;n=2;prefill=refuse", "x", false);
    req["messages"].as_array_mut().unwrap().push(json!({
        "role": "assistant", "content": null,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    }));
    assert_eq!(mock.post("/v1/chat/completions", &req).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_and_gemini_prefills_are_continued() {
    let mock = Mock::start().await;
    let mut req = messages("echo", "alpha beta gamma", true);
    req["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": "alpha be"}));
    let events = mock.post("/v1/messages", &req).await.events();
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| e.pointer("/delta/text").and_then(Value::as_str))
        .collect();
    assert_eq!(deltas, ["ta ", "gamma"]);
    let end = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(end["usage"]["output_tokens"], 2);

    let mut req = contents("alpha beta gamma");
    req["contents"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "model", "parts": [{"text": "alpha beta "}]}));
    let raw = mock
        .post("/v1beta/models/echo:streamGenerateContent?alt=sse", &req)
        .await;
    let events = raw.events();
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| {
            e.pointer("/candidates/0/content/parts/0/text")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(texts, ["gamma"]);
    let body = mock
        .post("/v1beta/models/echo:generateContent", &req)
        .await
        .json();
    assert_eq!(
        body["candidates"][0]["content"]["parts"][0]["text"],
        "gamma"
    );
    assert_eq!(body["usageMetadata"]["candidatesTokenCount"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn prefill_refused_in_each_format_or_ignored() {
    let mock = Mock::start().await;
    let model = "tokens;n=2;prefill=refuse";
    let req = chat_prefilled(model, "x", json!("tok0"), true);
    let raw = mock.post("/v1/chat/completions", &req).await;
    assert_eq!(raw.status, 400);
    assert_eq!(
        raw.text(),
        r#"{"error":{"message":"This model does not support assistant message prefill. The conversation must end with a user message.","type":"invalid_request_error","param":"messages","code":null}}"#
    );
    let ok = mock
        .post("/v1/chat/completions", &chat(model, "x", false))
        .await;
    assert_eq!(ok.status, 200, "no trailing assistant message: answered");

    let mut req = messages(model, "x", true);
    req["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": [{"type": "text", "text": "tok0"}]}));
    let raw = mock.post("/v1/messages", &req).await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.json()["type"], "error");
    assert_eq!(raw.json()["error"]["type"], "invalid_request_error");

    let mut req = contents("x");
    req["contents"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "model", "parts": [{"text": "tok0"}]}));
    let raw = mock
        .post(&format!("/v1beta/models/{model}:generateContent"), &req)
        .await;
    assert_eq!(raw.status, 400);
    assert_eq!(raw.json()["error"]["status"], "INVALID_ARGUMENT");

    let req = chat_prefilled("tokens;n=2;prefill=ignore", "x", json!("tok0 "), true);
    let events = mock.post("/v1/chat/completions", &req).await.events();
    assert_eq!(chat_text(&events), ["tok0 ", "tok1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_strike_only_on_the_first_k_hits() {
    let mock = Mock::start().await;
    let model = "stream-cut;after=1;faults=2";
    let req = chat(model, "a b c", true);
    for _ in 0..2 {
        let raw = mock.post("/v1/chat/completions", &req).await;
        assert!(!raw.complete);
        assert_eq!(chat_text(&raw.events()), ["a "]);
    }
    let raw = mock.post("/v1/chat/completions", &req).await;
    assert!(raw.complete, "the third hit is spared");
    assert_eq!(chat_text(&raw.events()), ["a ", "b ", "c"]);

    let model = "tokens;n=3;stall_at=1;close_ms=1;faults=1";
    let req = messages(model, "x", true);
    assert!(!mock.post("/v1/messages", &req).await.complete);
    assert!(mock.post("/v1/messages", &req).await.complete);
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_call_cut_lands_in_the_arguments() {
    let mock = Mock::start().await;
    let raw = mock
        .post(
            "/v1/chat/completions",
            &chat("tool-call;cut=1", "weather?", true),
        )
        .await;
    assert!(!raw.complete);
    let events = raw.events();
    let calls: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.pointer("/choices/0/delta/tool_calls/0"))
        .collect();
    assert_eq!(calls.len(), 2, "the call's start and one argument fragment");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args = calls[1]["function"]["arguments"].as_str().unwrap();
    assert!(!args.is_empty() && args.len() < r#"{"location":"Paris"}"#.len());
    assert!(outcome_becomes(&mock, "tool-call;cut=1", MockOutcome::Cut).await);

    // The second call of two, after its first fragment (4 fragments per call).
    let raw = mock
        .post(
            "/v1/messages",
            &messages("parallel-tool-calls;cut=5", "weather?", true),
        )
        .await;
    assert!(!raw.complete);
    let events = raw.events();
    let starts = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .count();
    let partial: Vec<&str> = events
        .iter()
        .filter(|e| e["index"] == 1)
        .filter_map(|e| e.pointer("/delta/partial_json").and_then(Value::as_str))
        .collect();
    assert_eq!((starts, partial.len()), (2, 1));
    assert!(
        !events
            .iter()
            .any(|e| e["type"] == "content_block_stop" && e["index"] == 1)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stall_closes_after_close_ms() {
    let mock = Mock::start().await;
    let model = "tokens;n=5;stall_at=2;close_ms=50";
    let raw = mock
        .post("/v1/chat/completions", &chat(model, "x", true))
        .await;
    assert!(!raw.complete);
    assert_eq!(chat_text(&raw.events()), ["tok0 ", "tok1 "]);
    assert!(outcome_becomes(&mock, model, MockOutcome::Cut).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn vary_changes_the_first_token_per_hit() {
    let mock = Mock::start().await;
    let req = chat("tokens;n=2;vary=1", "x", true);
    let first = chat_text(&mock.post("/v1/chat/completions", &req).await.events());
    let second = chat_text(&mock.post("/v1/chat/completions", &req).await.events());
    assert_eq!(first, ["h1tok0 ", "h1tok1"]);
    assert_eq!(second, ["h2tok0 ", "h2tok1"]);
    let req = messages("echo;vary=1", "hello you", false);
    let body = mock.post("/v1/messages", &req).await.json();
    assert_eq!(body["content"][0]["text"], "h1 hello you");
}
