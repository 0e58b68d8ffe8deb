//! JSON chat through openai-type and azure_openai-type providers, addressing (aliases, pins,
//! pools), keys, and a 1 MiB prompt.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Gateway, Mock, chat};

fn openai_config(mock: &Mock, extra: &str) -> String {
    format!(
        r#"
[[providers]]
id = "up"
provider_type = "openai"
endpoint = "{}"
api_key = "sk-provider-key"
models = ["echo", "tokens;n=5", "hang", "fail-500"]
{extra}
"#,
        mock.v1()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_chat_through_openai_provider() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&openai_config(&mock, "")).await;
    let resp = gw
        .post("/v1/chat/completions", &chat("echo", "hello there"))
        .await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-gateway-provider"], "up");
    assert_eq!(h["x-gateway-model"], "echo");
    assert_eq!(h["x-gateway-retries"], "0");
    assert!(h.contains_key("x-request-id"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "hello there");
    assert_eq!(body["object"], "chat.completion");
    // Cost from the card: echo has no built-in card at a custom provider, so the price is 0.
    assert_eq!(h["x-gateway-cost-usd"], "0");
    let log = mock.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, "/v1/chat/completions");
    assert_eq!(log[0].headers["authorization"], "Bearer sk-provider-key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_header_uses_card_prices() {
    let mock = Mock::start().await;
    let cfg = openai_config(
        &mock,
        "[[models]]\nid = \"echo\"\nprovider = \"up\"\ninput_price_per_mtok = 1000000.0\noutput_price_per_mtok = 2000000.0",
    );
    let gw = Gateway::start(&cfg).await;
    let resp = gw
        .post("/v1/chat/completions", &chat("echo", "abcdefgh"))
        .await;
    let cost: f64 = resp.headers()["x-gateway-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let (p, c) = (
        body["usage"]["prompt_tokens"].as_f64().unwrap(),
        body["usage"]["completion_tokens"].as_f64().unwrap(),
    );
    assert!(p > 0.0 && c > 0.0);
    assert!(
        (cost - (p * 1.0 + c * 2.0)).abs() < 1e-6,
        "cost {cost} for {p}/{c}"
    );
    assert!(
        gw.metric("gateway_cost_dollars{provider=\"up\",model=\"echo\"}")
            .await
            > 0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_openai_provider_uses_deployment_path_and_api_key() {
    let mock = Mock::start().await;
    let cfg = format!(
        r#"
[[providers]]
id = "azure"
provider_type = "azure_openai"
endpoint = "{}"
deployment = "echo"
api_version = "2024-08-01-preview"
api_key = "azure-key"
"#,
        mock.base()
    );
    let gw = Gateway::start(&cfg).await;
    let resp = gw
        .post("/v1/chat/completions", &chat("gpt-4o", "hi azure"))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "hi azure");
    let log = mock.log();
    assert_eq!(log[0].path, "/openai/deployments/echo/chat/completions");
    assert_eq!(
        log[0].query.as_deref(),
        Some("api-version=2024-08-01-preview")
    );
    assert_eq!(log[0].headers["api-key"], "azure-key");
    assert!(!log[0].headers.contains_key("authorization"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_pins_and_pools() {
    let a = Mock::start().await;
    let b = Mock::start().await;
    let cfg = format!(
        r#"
[model_routing.aliases]
fast = "b/echo"
[[providers]]
id = "a"
provider_type = "openai"
endpoint = "{}"
api_key = "ka"
models = ["echo"]
[[providers]]
id = "b"
provider_type = "openai"
endpoint = "{}"
api_key = "kb"
models = ["echo"]
[[pools]]
name = "chat-pool"
strategy = "priority"
members = [{{ model = "b/echo" }}, {{ model = "a/echo" }}]
"#,
        a.v1(),
        b.v1()
    );
    let gw = Gateway::start(&cfg).await;
    // A bare model goes to the first provider serving it.
    let r = gw.post("/v1/chat/completions", &chat("echo", "1")).await;
    assert_eq!(r.headers()["x-gateway-provider"], "a");
    // `provider/model` pins; the upstream sees the bare model id.
    let r = gw.post("/v1/chat/completions", &chat("b/echo", "2")).await;
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    assert_eq!(b.log()[0].body.as_ref().unwrap()["model"], "echo");
    // Aliases resolve first.
    let r = gw.post("/v1/chat/completions", &chat("fast", "3")).await;
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    // A pool name is a model.
    let r = gw
        .post("/v1/chat/completions", &chat("chat-pool", "4"))
        .await;
    assert_eq!(r.headers()["x-gateway-provider"], "b");
    assert_eq!((a.log().len(), b.log().len()), (1, 3));
    // /v1/models lists bare ids, pins, aliases and pools.
    let models: Value = gw.get("/v1/models").await.json().await.unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in ["echo", "a/echo", "b/echo", "fast", "chat-pool"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_keys_map_provider_keys_and_never_leak_client_keys() {
    let mock = Mock::start().await;
    let cfg = openai_config(
        &mock,
        "[key_map.vk-team-a]\nopenai_key = \"sk-team-a\"\nlabel = \"Team A\"\n[key_map.vk-team-b]\nlabel = \"Team B\"",
    );
    let gw = Gateway::start(&cfg).await;
    let client = reqwest::Client::new();
    let r = client
        .post(gw.url("/v1/chat/completions"))
        .json(&chat("echo", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
    let r = client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("wrong")
        .json(&chat("echo", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("vk-team-a")
        .json(&chat("echo", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(gw.url("/v1/chat/completions"))
        .header("x-api-key", "vk-team-b")
        .json(&chat("echo", "y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = mock.log();
    assert_eq!(log[0].headers["authorization"], "Bearer sk-team-a");
    assert_eq!(log[1].headers["authorization"], "Bearer sk-provider-key");
    assert!(
        log.iter()
            .all(|e| !e.headers.values().any(|v| v.contains("vk-team")))
    );
    assert!(!log[1].headers.contains_key("x-api-key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mib_prompt_is_proxied_intact() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&openai_config(&mock, "")).await;
    let prompt: String = (0..(1 << 20))
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let body = serde_json::to_vec(&chat("echo", &prompt)).unwrap();
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .len(),
        prompt.len()
    );
    assert!(v["choices"][0]["message"]["content"] == json!(prompt));
    let log = mock.log();
    assert_eq!(log[0].body_len, body.len());
    assert_eq!(log[0].body_sha256, format!("{:x}", Sha256::digest(&body)));
}
