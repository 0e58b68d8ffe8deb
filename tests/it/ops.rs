//! Operational endpoints: /health, /ready, /metrics (counters move), /v1/catalog, and the
//! in-process mock provider of the demo config.

use serde_json::Value;

use crate::harness::{Gateway, chat};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_config_serves_chat_with_the_in_process_mock() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let health: Value = gw.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["port"], gw.port);
    assert!(health["uptime_secs"].is_u64());
    assert_eq!(health["providers"][0], "mock");
    assert_eq!(gw.get("/ready").await.status(), 200);

    let before = gw.metric("gateway_requests_total{endpoint=\"chat_completions\",provider=\"mock\",model=\"echo\",status=\"200\"}").await;
    let r = gw
        .post("/v1/chat/completions", &chat("echo", "demo works"))
        .await;
    assert_eq!(r.status(), 200);
    let cost: f64 = r.headers()["x-gateway-cost-usd"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cost > 0.0, "the mock's card has prices");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "demo works");
    let after = gw.metric("gateway_requests_total{endpoint=\"chat_completions\",provider=\"mock\",model=\"echo\",status=\"200\"}").await;
    assert_eq!(after, before + 1.0);
    assert!(
        gw.metric("gateway_tokens_total{direction=\"input\",provider=\"mock\",model=\"echo\"}")
            .await
            > 0.0
    );
    assert!(
        gw.metric("gateway_request_duration_seconds_count{provider=\"mock\"}")
            .await
            >= 1.0
    );
    assert!(
        gw.metric("gateway_ttft_seconds_count{provider=\"mock\"}")
            .await
            >= 1.0
    );
    assert_eq!(gw.mocks["mock"].hits("echo"), 1);

    let catalog: Value = gw.get("/v1/catalog").await.json().await.unwrap();
    let echo = catalog["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "echo")
        .unwrap();
    assert_eq!(echo["provider"], "mock");
    assert!(echo["input_price_per_mtok"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_embeddings() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let r = gw
        .post(
            "/v1/completions",
            &serde_json::json!({"model": "echo", "prompt": "say this"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "text_completion");
    assert!(
        v["choices"][0]["text"]
            .as_str()
            .unwrap()
            .contains("say this")
    );
    let r = gw
        .post(
            "/v1/embeddings",
            &serde_json::json!({"model": "echo", "input": ["a", "b"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert!(gw.metric("gateway_requests_total{endpoint=\"embeddings\",provider=\"mock\",model=\"echo\",status=\"200\"}").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_lists_every_endpoint() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let index: Value = gw.get("/").await.json().await.unwrap();
    assert_eq!(index["name"], "llm-gateway");
    let listed: Vec<&str> = index["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for endpoint in [
        "POST /v1/chat/completions",
        "POST /v1/messages",
        "POST /messages",
        "POST /v1/completions",
        "POST /v1/embeddings",
        "GET /",
        "GET /health",
        "GET /ready",
        "GET /metrics",
        "GET /v1/models",
        "GET /models",
        "GET /v1/catalog",
        "GET /admin/providers",
        "GET /admin/backends",
        "POST /admin/backends/{name}/reset",
        "GET /admin/providers/{id}/endpoints",
        "POST /admin/providers/{id}/endpoints",
    ] {
        assert!(
            listed.contains(&endpoint),
            "{endpoint} missing from {listed:?}"
        );
    }
    // Each listed path answers something other than "no endpoint here".
    for entry in &listed {
        let (method, path) = entry.split_once(' ').unwrap();
        let path = path.replace("{name}", "x").replace("{id}", "x");
        let r = reqwest::Client::new()
            .request(method.parse().unwrap(), gw.url(&path))
            .send()
            .await
            .unwrap();
        let body = r.text().await.unwrap();
        assert!(!body.contains("No endpoint at"), "{entry}: {body}");
    }
}
