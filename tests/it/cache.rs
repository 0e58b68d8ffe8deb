//! The response cache over sockets: an exact hit answers without the provider and costs
//! nothing (header, record, metrics), a warm request misses, a streaming client gets a kept
//! answer replayed as a stream in its own format (and a streamed answer is kept whole),
//! entries stay within their virtual key unless the scope says otherwise, `Cache-Control`
//! is honoured, and with `[redis]` one instance serves what another kept.

use serde_json::{Value, json};

use crate::harness::{Gateway, Mock, oa_and_an, redis, sse_data};
use crate::shared_limits::{prefix, redis_up};

const ADMIN: &str = "cache-admin-token-0123";

fn config(mock: &Mock, extra: &str) -> String {
    format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n[cache]\nenabled = true\n{extra}\n{}",
        oa_and_an(mock, r#""echo""#, r#""echo-an""#)
    )
}

fn chat(text: &str, temperature: f64, stream: bool) -> Value {
    json!({ "model": "echo", "temperature": temperature, "stream": stream,
            "messages": [{ "role": "user", "content": text }] })
}

async fn send(
    gw: &Gateway,
    path: &str,
    key: &str,
    body: &Value,
    cache_control: Option<&str>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(gw.url(path))
        .bearer_auth(key)
        .json(body);
    if let Some(cc) = cache_control {
        req = req.header("cache-control", cc);
    }
    req.send().await.unwrap()
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// `x-gateway-cache` of one chat call, and its answer's text.
async fn ask(
    gw: &Gateway,
    key: &str,
    body: &Value,
    cache_control: Option<&str>,
) -> (String, String) {
    let resp = send(gw, "/v1/chat/completions", key, body, cache_control).await;
    assert_eq!(resp.status(), 200);
    let cache = header(&resp, "x-gateway-cache");
    let answer: Value = resp.json().await.unwrap();
    let text = answer["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    (cache, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_answers_without_the_provider_and_costs_nothing() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let body = chat("what is the capital of France", 0.0, false);
    let first = send(&gw, "/v1/chat/completions", "any", &body, None).await;
    assert_eq!(header(&first, "x-gateway-cache"), "miss");
    let first: Value = first.json().await.unwrap();
    let resp = send(&gw, "/v1/chat/completions", "any", &body, None).await;
    assert_eq!(header(&resp, "x-gateway-cache"), "hit");
    assert_eq!(header(&resp, "x-gateway-cost-usd"), "0");
    assert_eq!(header(&resp, "x-gateway-provider"), "oa");
    let id = header(&resp, "x-request-id");
    let again: Value = resp.json().await.unwrap();
    assert_eq!(again, first);
    assert_eq!(mock.log().len(), 1);
    // Key order and whitespace do not make another request.
    let reordered = r#"{"messages":[{"content":"what is the capital of France","role":"user"}],   "temperature":0,"model":"echo"}"#;
    let resp = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(reordered)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "x-gateway-cache"), "hit");
    assert_eq!(mock.log().len(), 1);
    // The record says where the answer came from and what it cost.
    let record = gw.admin_poll(ADMIN, &format!("/v1/requests/{id}")).await;
    assert_eq!(record["cache_status"], "hit", "{record}");
    assert_eq!(record["cost_usd"], 0.0, "{record}");
    assert_eq!(
        gw.metric("gateway_cache_hits_total{kind=\"hit\"}").await,
        2.0
    );
    assert_eq!(gw.metric("gateway_cache_misses_total").await, 1.0);
    // Hits are counted under the model that served the kept answer, and not as fallbacks.
    let served = "gateway_requests_total{endpoint=\"chat_completions\",provider=\"oa\",model=\"echo\",status=\"200\"}";
    assert_eq!(gw.metric(served).await, 3.0);
    assert_eq!(gw.metric("gateway_fallback_requests_total{").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_requests_and_cache_control_go_to_the_provider() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "temperature_threshold = 0.3")).await;
    // Above the threshold (and without a temperature: 1): never kept.
    for body in [
        chat("tell me a story", 0.9, false),
        chat("tell me a story", 0.9, false),
        json!({ "model": "echo", "messages": [{ "role": "user", "content": "story" }] }),
        json!({ "model": "echo", "messages": [{ "role": "user", "content": "story" }] }),
    ] {
        assert_eq!(ask(&gw, "any", &body, None).await.0, "miss");
    }
    assert_eq!(mock.log().len(), 4);
    // no-store: neither looked up nor kept.
    let body = chat("cold facts", 0.0, false);
    assert_eq!(ask(&gw, "any", &body, Some("no-store")).await.0, "miss");
    assert_eq!(ask(&gw, "any", &body, None).await.0, "miss");
    assert_eq!(ask(&gw, "any", &body, None).await.0, "hit");
    // no-cache: the provider answers again (and the fresh answer is kept).
    assert_eq!(ask(&gw, "any", &body, Some("no-cache")).await.0, "miss");
    assert_eq!(mock.log().len(), 7);
    assert_eq!(ask(&gw, "any", &body, None).await.0, "hit");
    assert_eq!(mock.log().len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_answers_are_replayed_as_streams_in_the_clients_format() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    // Kept whole, replayed as an OpenAI stream.
    let (_, text) = ask(&gw, "any", &chat("one two three", 0.0, false), None).await;
    let resp = send(
        &gw,
        "/v1/chat/completions",
        "any",
        &chat("one two three", 0.0, true),
        None,
    )
    .await;
    assert_eq!(header(&resp, "x-gateway-cache"), "hit");
    assert!(header(&resp, "content-type").starts_with("text/event-stream"));
    let raw = resp.text().await.unwrap();
    assert!(raw.trim_end().ends_with("data: [DONE]"), "{raw}");
    let streamed: String = sse_data(&raw)
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(streamed, text);
    // Kept from an Anthropic stream, replayed as a stream and as a whole answer.
    let body = json!({ "model": "echo-an", "max_tokens": 64, "temperature": 0, "stream": true,
                       "messages": [{ "role": "user", "content": "red green blue" }] });
    let first = send(&gw, "/v1/messages", "any", &body, None).await;
    assert_eq!(header(&first, "x-gateway-cache"), "miss");
    let first = first.text().await.unwrap();
    let again = send(&gw, "/v1/messages", "any", &body, None).await;
    assert_eq!(header(&again, "x-gateway-cache"), "hit");
    let again = again.text().await.unwrap();
    let text_of = |raw: &str| -> String {
        sse_data(raw)
            .iter()
            .filter(|e| e["type"] == "content_block_delta")
            .filter_map(|e| e["delta"]["text"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(text_of(&again), "red green blue");
    assert_eq!(text_of(&first), text_of(&again));
    assert!(again.contains("event: message_stop"), "{again}");
    let mut whole = body.clone();
    whole["stream"] = json!(false);
    let resp = send(&gw, "/v1/messages", "any", &whole, None).await;
    assert_eq!(header(&resp, "x-gateway-cache"), "hit");
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["content"][0]["text"], "red green blue");
    assert_eq!(mock.log().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_stay_within_their_key_unless_the_scope_is_global() {
    let mock = Mock::start().await;
    let keys = "[key_map.vk-a]\nlabel = \"a\"\n[key_map.vk-b]\nlabel = \"b\"\n";
    let per_key = Gateway::start(&format!("{}{keys}", config(&mock, ""))).await;
    let body = chat("shared question", 0.0, false);
    assert_eq!(ask(&per_key, "vk-a", &body, None).await.0, "miss");
    assert_eq!(ask(&per_key, "vk-b", &body, None).await.0, "miss");
    assert_eq!(ask(&per_key, "vk-a", &body, None).await.0, "hit");
    assert_eq!(ask(&per_key, "vk-b", &body, None).await.0, "hit");
    let global = Gateway::start(&format!("{}{keys}", config(&mock, "scope = \"global\""))).await;
    assert_eq!(ask(&global, "vk-a", &body, None).await.0, "miss");
    assert_eq!(ask(&global, "vk-b", &body, None).await.0, "hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_one_instance_serves_what_another_kept() {
    if !redis().await {
        return;
    }
    let mock = Mock::start().await;
    let p = prefix();
    let cfg = format!(
        "{}[redis]\nurl = \"redis://127.0.0.1:6379\"\nkey_prefix = \"{p}\"\n",
        config(&mock, "")
    );
    let a = Gateway::start(&cfg).await;
    let b = Gateway::start(&cfg).await;
    redis_up(&a, true).await;
    redis_up(&b, true).await;
    let body = chat("across instances", 0.0, false);
    let (cache, text) = ask(&a, "any", &body, None).await;
    assert_eq!(cache, "miss");
    // The write to Redis is not waited for by the request: wait until it landed.
    let pattern = format!("{p}cache:*");
    let mut landed = false;
    for _ in 0..200 {
        if keys(&pattern).await > 0 {
            landed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(landed, "no cache entry in Redis under {pattern}");
    let (cache, again) = ask(&b, "any", &body, None).await;
    assert_eq!((cache.as_str(), again), ("hit", text));
    assert_eq!(mock.log().len(), 1);
}

/// How many Redis keys match `pattern`.
async fn keys(pattern: &str) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect("127.0.0.1:6379")
        .await
        .unwrap();
    let cmd = format!("*2\r\n$4\r\nKEYS\r\n${}\r\n{pattern}\r\n", pattern.len());
    s.write_all(cmd.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]);
    reply
        .strip_prefix('*')
        .and_then(|r| r.split("\r\n").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paraphrase_is_a_semantic_hit_and_another_question_is_not() {
    let mock = Mock::start().await;
    let semantic = "[cache.semantic]\nenabled = true\nembedding_model = \"oa/words\"\nsimilarity_threshold = 0.95\n";
    let gw = Gateway::start(&config(&mock, semantic)).await;
    let chats = |mock: &Mock| {
        mock.log()
            .iter()
            .filter(|e| !e.path.ends_with("/embeddings"))
            .count()
    };
    let (cache, first) = ask(
        &gw,
        "any",
        &chat("What is the capital of France?", 0.0, false),
        None,
    )
    .await;
    assert_eq!(cache, "miss");
    let resp = send(
        &gw,
        "/v1/chat/completions",
        "any",
        &chat("Tell me the capital of france, please", 0.0, false),
        None,
    )
    .await;
    assert_eq!(header(&resp, "x-gateway-cache"), "semantic-hit");
    let similarity: f64 = header(&resp, "x-gateway-semantic-similarity")
        .parse()
        .unwrap();
    assert!(similarity >= 0.95, "{similarity}");
    assert_eq!(header(&resp, "x-gateway-cost-usd"), "0");
    // The kept answer (the mock echoes: it is the first question's).
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], first.as_str());
    assert_eq!(chats(&mock), 1);
    // Another question, or the same one to another model, is not the same request.
    let (cache, _) = ask(
        &gw,
        "any",
        &chat("What is the capital of Spain?", 0.0, false),
        None,
    )
    .await;
    assert_eq!(cache, "miss");
    let mut other_model = chat("Tell me the capital of France", 0.0, false);
    other_model["model"] = json!("an/echo-an");
    assert_eq!(ask(&gw, "any", &other_model, None).await.0, "miss");
    assert_eq!(chats(&mock), 3);
    // Every lookup after an exact miss asked for an embedding, of the text only.
    let embeddings: Vec<_> = mock
        .log()
        .into_iter()
        .filter(|e| e.path.ends_with("/embeddings"))
        .collect();
    assert_eq!(embeddings.len(), 4);
    assert_eq!(
        embeddings[0].body.as_ref().unwrap()["input"],
        "What is the capital of France?\n"
    );
    assert_eq!(
        gw.metric("gateway_cache_hits_total{kind=\"semantic-hit\"}")
            .await,
        1.0
    );
}
