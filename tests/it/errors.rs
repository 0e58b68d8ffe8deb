//! Error shapes: every bad request gets a clear OpenAI-format error with the right status.

use serde_json::Value;

use crate::harness::{Gateway, Mock, chat};

async fn gateway(mock: &Mock) -> Gateway {
    let cfg = format!(
        "[server]\nmax_body_bytes = 4096\n[[providers]]\nid = \"up\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\", \"hang\", \"slow;ttfb_ms=3000\"]\n",
        mock.v1()
    );
    Gateway::start(&cfg).await
}

async fn error_of(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(
        v["error"]["type"].is_string() && v["error"]["code"].is_string(),
        "{v}"
    );
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_model_is_404_and_says_how_to_list_models() {
    let mock = Mock::start().await;
    let gw = gateway(&mock).await;
    let v = error_of(
        gw.post("/v1/chat/completions", &chat("no-such-model", "x"))
            .await,
        404,
    )
    .await;
    assert_eq!(v["error"]["code"], "model_not_found");
    assert_eq!(v["error"]["param"], "model");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/models")
    );
    assert!(mock.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_413() {
    let mock = Mock::start().await;
    let gw = gateway(&mock).await;
    let v = error_of(
        gw.post("/v1/chat/completions", &chat("echo", &"x".repeat(5000)))
            .await,
        413,
    )
    .await;
    assert_eq!(v["error"]["code"], "request_too_large");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_body_bytes")
    );
    assert!(mock.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_is_415() {
    let mock = Mock::start().await;
    let gw = gateway(&mock).await;
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    let v = error_of(r, 415).await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    error_of(r, 415).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_naming_the_problem() {
    let mock = Mock::start().await;
    let gw = gateway(&mock).await;
    let send = |body: &'static str| {
        let url = gw.url("/v1/chat/completions");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let v = error_of(send("{\"model\": \"echo\", \"messages\": [").await, 400).await;
    assert_eq!(v["error"]["code"], "invalid_json");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("line 1"),
        "{v}"
    );
    let v = error_of(send("{\"messages\": []}").await, 400).await;
    assert_eq!(v["error"]["param"], "model");
    let v = error_of(send("{\"model\": \"echo\"}").await, 400).await;
    assert_eq!(v["error"]["param"], "messages");
    let v = error_of(send("[]").await, 400).await;
    assert_eq!(v["error"]["code"], "invalid_json");
    assert!(mock.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_method_and_unknown_path() {
    let mock = Mock::start().await;
    let gw = gateway(&mock).await;
    let r = gw.get("/v1/chat/completions").await;
    assert_eq!(r.headers()["allow"], "POST");
    error_of(r, 405).await;
    error_of(gw.get("/v1/nope").await, 404).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_timeout_header_gives_504() {
    let mock = Mock::start().await;
    let gw = gateway(&mock).await;
    let started = std::time::Instant::now();
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-gateway-timeout", "0.5")
        .json(&chat("hang", "x"))
        .send()
        .await
        .unwrap();
    let v = error_of(r, 504).await;
    assert_eq!(v["error"]["code"], "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    // The abandoned upstream request is cancelled.
    assert!(
        mock.wait_for(|log| log
            .first()
            .is_some_and(|e| e.outcome == llm_gateway::mock::MockOutcome::ClientGone))
            .await
    );
    let r = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-gateway-timeout", "soon")
        .json(&chat("echo", "x"))
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_without_a_usable_provider_and_admin_is_guarded() {
    let gw = Gateway::start("[[providers]]\nid = \"openai\"\nprovider_type = \"openai\"\n").await;
    let r = gw.get("/ready").await;
    assert_eq!(r.status(), 503);
    let v = error_of(gw.get("/admin/providers").await, 403).await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("admin_token")
    );
    // The provider has no key: a request is refused clearly, not sent.
    let v = error_of(
        gw.post("/v1/chat/completions", &chat("gpt-4o", "x")).await,
        503,
    )
    .await;
    assert!(v["error"]["message"].as_str().unwrap().contains("api_key"));

    let gw = Gateway::start("[server]\nadmin_token = \"0123456789abcdef-admin\"\n[[providers]]\nid = \"m\"\nprovider_type = \"mock\"\n").await;
    assert_eq!(gw.get("/ready").await.status(), 200);
    error_of(gw.get("/admin/providers").await, 401).await;
    let r = reqwest::Client::new()
        .get(gw.url("/admin/providers"))
        .bearer_auth("0123456789abcdef-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["providers"][0]["id"], "m");
    assert!(!v.to_string().contains("0123456789abcdef-admin"));
}
