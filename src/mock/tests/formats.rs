//! The three wire formats over a real socket: echo as JSON and as a stream, usage, tool calls,
//! the other OpenAI endpoints, determinism and `split`.

use serde_json::{Value, json};

use super::{Mock, chat, contents, messages};

const PROMPT: &str = "Hello there,  mock\nupstream!  ";

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_echo_json() {
    let mock = Mock::start().await;
    let raw = mock
        .post("/v1/chat/completions", &chat("gpt-4o", PROMPT, false))
        .await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("application/json"));
    assert_eq!(raw.header("x-mock-request-seq"), Some("1"));
    let body = raw.json();
    assert_eq!(str_at(&body, "/object"), "chat.completion");
    assert!(str_at(&body, "/id").starts_with("chatcmpl-"));
    assert_eq!(str_at(&body, "/model"), "gpt-4o");
    assert_eq!(str_at(&body, "/choices/0/message/content"), PROMPT);
    assert_eq!(str_at(&body, "/choices/0/finish_reason"), "stop");
    // "be brief" + PROMPT = 8 + 30 characters -> ceil(38 / 4) = 10.
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_echo_stream_with_and_without_usage() {
    let mock = Mock::start().await;
    let mut req = chat("echo", PROMPT, true);
    let raw = mock.post("/v1/chat/completions", &req).await;
    assert!(raw.complete);
    assert_eq!(raw.header("content-type"), Some("text/event-stream"));
    let data = raw.data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let events = raw.events();
    assert_eq!(
        events[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let text: String = events
        .iter()
        .map(|e| str_at(e, "/choices/0/delta/content"))
        .collect();
    assert_eq!(text, PROMPT);
    let last = events.last().unwrap();
    assert_eq!(str_at(last, "/choices/0/finish_reason"), "stop");
    assert!(events.iter().all(|e| e.get("usage").is_none()));
    assert!(
        events
            .iter()
            .all(|e| str_at(e, "/object") == "chat.completion.chunk")
    );

    req["stream_options"] = json!({"include_usage": true});
    let events = mock.post("/chat/completions", &req).await.events();
    let usage = events.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 4);
    assert_eq!(usage["usage"]["total_tokens"], 14);
    let before = &events[..events.len() - 1];
    assert!(
        before
            .iter()
            .all(|e| e["usage"].is_null() && e.get("usage").is_some())
    );
    assert_eq!(
        str_at(&before[before.len() - 1], "/choices/0/finish_reason"),
        "stop"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_echo_json_and_stream() {
    let mock = Mock::start().await;
    let body = mock
        .post("/v1/messages", &messages("claude-sonnet-4", PROMPT, false))
        .await
        .json();
    assert_eq!(str_at(&body, "/type"), "message");
    assert!(str_at(&body, "/id").starts_with("msg_"));
    assert_eq!(body["content"], json!([{"type": "text", "text": PROMPT}]));
    assert_eq!(str_at(&body, "/stop_reason"), "end_turn");
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 8, "output_tokens": 4})
    );

    let raw = mock
        .post("/v1/messages", &messages("claude-sonnet-4", PROMPT, true))
        .await;
    assert!(raw.complete);
    let text = raw.text();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(["content_block_delta"; 4]);
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    let events = raw.events();
    let streamed: String = events.iter().map(|e| str_at(e, "/delta/text")).collect();
    assert_eq!(streamed, PROMPT);
    assert_eq!(str_at(&events[3], "/delta/type"), "text_delta");
    assert_eq!(events[0]["message"]["usage"]["input_tokens"], 8);
    let delta = &events[events.len() - 2];
    assert_eq!(str_at(delta, "/delta/stop_reason"), "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_echo_json_and_stream() {
    let mock = Mock::start().await;
    let body = mock
        .post(
            "/v1beta/models/gemini-2.0-flash:generateContent",
            &contents(PROMPT),
        )
        .await
        .json();
    assert_eq!(str_at(&body, "/candidates/0/content/parts/0/text"), PROMPT);
    assert_eq!(str_at(&body, "/candidates/0/content/role"), "model");
    assert_eq!(str_at(&body, "/candidates/0/finishReason"), "STOP");
    assert_eq!(body["usageMetadata"]["candidatesTokenCount"], 4);
    assert_eq!(body["usageMetadata"]["totalTokenCount"], 12);

    let path = "/models/echo:streamGenerateContent?alt=sse";
    let raw = mock.post(path, &contents(PROMPT)).await;
    assert!(raw.complete);
    assert_eq!(raw.header("content-type"), Some("text/event-stream"));
    assert!(raw.text().ends_with("}\r\n\r\n"));
    let events = raw.events();
    let text: String = events
        .iter()
        .map(|e| str_at(e, "/candidates/0/content/parts/0/text"))
        .collect();
    assert_eq!(text, PROMPT);
    assert!(
        events[..3]
            .iter()
            .all(|e| e["candidates"][0].get("finishReason").is_none())
    );
    assert_eq!(str_at(&events[3], "/candidates/0/finishReason"), "STOP");
    assert_eq!(events[3]["usageMetadata"]["candidatesTokenCount"], 4);

    let array = mock
        .post(
            "/v1beta/models/echo:streamGenerateContent",
            &contents(PROMPT),
        )
        .await
        .json();
    assert_eq!(array.as_array().map(Vec::len), Some(4));
    assert_eq!(mock.state.log()[2].query, None);
    assert_eq!(mock.state.log()[1].query.as_deref(), Some("alt=sse"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_stream_like_the_providers() {
    let mock = Mock::start().await;
    let mut req = chat("tool-call", "weather?", true);
    req["tools"] = json!([{"type": "function", "function": {"name": "lookup", "parameters": {}}}]);
    let events = mock.post("/v1/chat/completions", &req).await.events();
    let first = &events[0]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    assert_eq!(first["tool_calls"][0]["index"], 0);
    assert!(str_at(first, "/tool_calls/0/id").starts_with("call_"));
    assert_eq!(first["tool_calls"][0]["type"], "function");
    assert_eq!(
        first["tool_calls"][0]["function"],
        json!({"name": "lookup", "arguments": ""})
    );
    let fragments = &events[1..events.len() - 1];
    assert!(fragments.len() > 1);
    let args: String = fragments
        .iter()
        .map(|e| str_at(e, "/choices/0/delta/tool_calls/0/function/arguments"))
        .collect();
    assert_eq!(args, r#"{"location":"Paris"}"#);
    assert!(
        fragments
            .iter()
            .all(|e| e["choices"][0]["delta"]["tool_calls"][0]["index"] == 0)
    );
    assert_eq!(
        str_at(&events[events.len() - 1], "/choices/0/finish_reason"),
        "tool_calls"
    );

    req["model"] = json!("parallel-tool-calls");
    req["stream"] = json!(false);
    let body = mock.post("/v1/chat/completions", &req).await.json();
    let calls = &body["choices"][0]["message"]["tool_calls"];
    assert_eq!(calls[1]["function"]["arguments"], r#"{"location":"Tokyo"}"#);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");

    let mut req = messages("tool-call", "weather?", true);
    req["tools"] = json!([{"name": "forecast", "input_schema": {"type": "object"}}]);
    let events = mock.post("/v1/messages", &req).await.events();
    assert_eq!(events[1]["content_block"]["type"], "tool_use");
    assert_eq!(events[1]["content_block"]["name"], "forecast");
    let json: String = events
        .iter()
        .map(|e| str_at(e, "/delta/partial_json"))
        .collect();
    assert_eq!(json, r#"{"location":"Paris"}"#);
    assert_eq!(
        str_at(&events[events.len() - 2], "/delta/stop_reason"),
        "tool_use"
    );

    let body = mock
        .post("/v1beta/models/tool-call:generateContent", &contents("hi"))
        .await
        .json();
    let call = &body["candidates"][0]["content"]["parts"][0]["functionCall"];
    assert_eq!(
        *call,
        json!({"name": "get_weather", "args": {"location": "Paris"}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn other_openai_endpoints_and_paths() {
    let mock = Mock::start().await;
    let req = json!({"model": "tokens;n=3", "prompt": "x", "stream": true});
    let events = mock.post("/v1/completions", &req).await.events();
    let text: String = events
        .iter()
        .map(|e| str_at(e, "/choices/0/text"))
        .collect();
    assert_eq!(text, "tok0 tok1 tok2");
    assert_eq!(str_at(&events[0], "/object"), "text_completion");

    let emb = json!({"model": "e", "input": ["a", "b", "a"]});
    let body = mock.post("/embeddings", &emb).await.json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data[0]["embedding"].as_array().map(Vec::len), Some(8));
    assert_eq!(data[0]["embedding"], data[2]["embedding"]);
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);

    let azure = "/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21";
    let mut req = chat("ignored", "hi", false);
    req.as_object_mut().unwrap().remove("model");
    let body = mock.post(azure, &req).await.json();
    assert_eq!(str_at(&body, "/choices/0/message/content"), "hi");
    assert_eq!(mock.state.hits("my-deploy"), 1);

    let models = mock.get("/v1/models").await.json();
    assert!(
        models["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "stream-cut")
    );
    assert_eq!(mock.get("/health").await.status, 200);

    let missing = mock.post("/v1/nowhere", &json!({})).await;
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"]["message"].is_string());
    let bad = mock.send("POST", "/v1/messages", Some(b"not json")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["type"], "error");
    assert_eq!(bad.json()["error"]["type"], "invalid_request_error");
    let wrong = mock.get("/v1/chat/completions").await;
    assert_eq!(wrong.status, 405);
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_requests_give_identical_bytes() {
    let mock = Mock::start().await;
    for (path, body) in [
        ("/v1/chat/completions", chat("echo", PROMPT, true)),
        ("/v1/chat/completions", chat("tool-call", PROMPT, false)),
        ("/v1/messages", messages("tool-call", PROMPT, true)),
        (
            "/v1beta/models/echo:streamGenerateContent?alt=sse",
            contents(PROMPT),
        ),
    ] {
        let a = mock.post(path, &body).await;
        let b = mock.post(path, &body).await;
        assert!(a.complete && b.complete);
        assert_eq!(a.body, b.body, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn split_frames_carry_the_same_bytes() {
    let mock = Mock::start().await;
    let cases = [
        ("/v1/chat/completions", chat("M", PROMPT, true)),
        ("/v1/chat/completions", chat("M", PROMPT, false)),
        ("/v1/messages", messages("M", PROMPT, true)),
    ];
    for (path, body) in cases {
        let with = |model: &str| {
            let mut b = body.clone();
            b["model"] = json!(model);
            b
        };
        let plain = mock.post(path, &with("echo")).await;
        let split = mock.post(path, &with("echo;split=7")).await;
        assert!(plain.complete && split.complete);
        let log = mock.state.log();
        let id = |i: usize| log[log.len() - i].body_sha256[..24].to_owned();
        let normal = |raw: &super::Raw, id: String, model: &str| {
            raw.text().replace(&id, "ID").replace(model, "MODEL")
        };
        assert_eq!(
            normal(&split, id(1), "echo;split=7"),
            normal(&plain, id(2), "echo")
        );
        if split.header("transfer-encoding").is_some() {
            assert!(split.chunks.iter().all(|c| *c <= 7), "{:?}", split.chunks);
            assert!(split.chunks.len() > plain.chunks.len());
        }
    }
}
