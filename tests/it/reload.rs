//! Hot reload over sockets: `PUT /admin/config` (a new alias served at once; an invalid file
//! or a change only a restart can make refused, the old configuration kept), `GET
//! /admin/config` with secrets masked, and SIGHUP to the real binary while a stream is open.

use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::binary::{Child, ConfigFile, START, free_port};
use crate::harness::{Gateway, Mock, chat};

const ADMIN: &str = "reload-admin-token-0123";

fn config(mock: &Mock, extra: &str) -> String {
    format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{v1}\"\napi_key = \"sk-upstream-secret-value\"\nmodels = [\"echo\"]\n{extra}",
        v1 = mock.v1()
    )
}

async fn put(
    gw: &Gateway,
    body: &str,
    content_type: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Client::new()
        .put(gw.url("/admin/config"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn status_of(gw: &Gateway, model: &str) -> u16 {
    gw.post("/v1/chat/completions", &chat(model, "hi"))
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_swaps_the_configuration_or_keeps_the_old_one() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    assert_ne!(status_of(&gw, "fast").await, 200);
    // A new alias is served by the next request.
    let aliased = config(&mock, "[model_routing.aliases]\nfast = \"m/echo\"\n");
    let (status, v) = put(&gw, &aliased, "application/toml", Some(ADMIN)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["reloaded"], true);
    assert!(
        v["changed"]
            .as_array()
            .unwrap()
            .contains(&json!("model_routing")),
        "{v}"
    );
    // The harness set the port and threads: kept as running, and said so.
    assert!(
        v["restart_needed"]
            .as_array()
            .unwrap()
            .contains(&json!("server.port")),
        "{v}"
    );
    assert_eq!(status_of(&gw, "fast").await, 200);
    // An invalid file: a 400 naming where, and nothing changes.
    let broken = format!("{aliased}[server.nope]\n");
    let (status, v) = put(&gw, &broken, "application/toml", Some(ADMIN)).await;
    assert_eq!(status, 400, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("PUT /admin/config") && message.contains("nope"),
        "{message}"
    );
    let unknown_field = format!("{aliased}[cache]\nenabled = true\n");
    let (status, v) = put(&gw, &unknown_field, "application/toml", Some(ADMIN)).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("`cache`"),
        "{v}"
    );
    assert_eq!(
        status_of(&gw, "fast").await,
        200,
        "the old configuration stays"
    );
    // Content type, token.
    let (status, _) = put(&gw, &aliased, "application/json", Some(ADMIN)).await;
    assert_eq!(status, 415);
    let (status, _) = put(&gw, &aliased, "application/toml", None).await;
    assert_eq!(status, 401);
    // Removing the alias again.
    let (status, _) = put(&gw, &config(&mock, ""), "application/toml", Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert_ne!(status_of(&gw, "fast").await, 200);
    // The running configuration, secrets masked.
    let shown: Value = Client::new()
        .get(gw.url("/admin/config"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let toml = shown["toml"].as_str().unwrap();
    assert!(toml.contains("[[providers]]"), "{toml}");
    for secret in ["sk-upstream-secret-value", ADMIN] {
        assert!(!toml.contains(secret) && !shown["config"].to_string().contains(secret));
    }
    assert_eq!(shown["config"]["providers"][0]["api_key"], "***");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rereads_the_file_and_a_stream_in_flight_finishes() {
    let port = free_port();
    let text = |extra: &str| {
        format!(
            "[server]\nhost = \"127.0.0.1\"\nport = {port}\nshutdown_grace_secs = 0\n[[providers]]\nid = \"mock\"\nprovider_type = \"mock\"\n{extra}"
        )
    };
    let cfg = ConfigFile::new(&text(""));
    let mut gw = Child::run(&["-c", cfg.path()], &[]);
    gw.listening();
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    let ask = |model: &'static str| {
        let url = url.clone();
        async move {
            Client::new()
                .post(url)
                .json(&chat(model, "hi"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_ne!(ask("fast").await, 200);
    // A stream opens on the old configuration ...
    let mut stream = Client::new()
        .post(&url)
        .json(&json!({
            "model": "mock/tokens;n=8;delay=100",
            "stream": true,
            "messages": [{"role": "user", "content": "hi"}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = String::new();
    body.push_str(std::str::from_utf8(&stream.chunk().await.unwrap().unwrap()).unwrap());
    // ... the file changes and SIGHUP reloads it ...
    std::fs::write(
        &cfg.0,
        text("[model_routing.aliases]\nfast = \"mock/echo\"\n"),
    )
    .unwrap();
    gw.signal(Signal::SIGHUP);
    gw.line_with("configuration reloaded (SIGHUP)", START);
    assert_eq!(ask("fast").await, 200);
    // ... and the stream finishes whole.
    while let Some(chunk) = stream.chunk().await.unwrap() {
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    // A broken file is refused; the gateway keeps serving what it had.
    std::fs::write(&cfg.0, "[server\nport = ").unwrap();
    gw.signal(Signal::SIGHUP);
    gw.line_with("SIGHUP: the configuration was refused", START);
    assert_eq!(ask("fast").await, 200);
    gw.signal(Signal::SIGTERM);
    assert!(gw.exit_within(Duration::from_secs(10)).is_some());
}

async fn admin(gw: &Gateway, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = Client::new()
        .request(method.parse().unwrap(), gw.url(path))
        .bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_added_and_removed_at_run_time() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    assert_ne!(status_of(&gw, "extra/echo").await, 200);
    let extra = json!({
        "id": "extra",
        "provider_type": "openai",
        "endpoint": mock.v1(),
        "api_key": "sk-runtime-secret-key",
        "models": ["echo"],
    });
    let (status, v) = admin(&gw, "POST", "/v1/providers", Some(extra.clone())).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(status_of(&gw, "extra/echo").await, 200);
    assert_eq!(
        mock.log()
            .last()
            .unwrap()
            .headers
            .get("authorization")
            .map(String::as_str),
        Some("Bearer sk-runtime-secret-key")
    );
    // Listed, never with its key.
    let (status, list) = admin(&gw, "GET", "/v1/providers", None).await;
    assert_eq!(status, 200);
    let shown = list["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "extra")
        .unwrap()
        .clone();
    assert_eq!(shown["has_api_key"], true);
    assert!(!list.to_string().contains("sk-runtime-secret-key"));
    // Twice, a bad field, a replica pool: refused, nothing changes.
    assert_eq!(
        admin(&gw, "POST", "/v1/providers", Some(extra)).await.0,
        409
    );
    let (status, v) = admin(
        &gw,
        "POST",
        "/v1/providers",
        Some(json!({"id": "x", "provider_type": "openai", "modles": []})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("modles"),
        "{v}"
    );
    let pool = json!({"id": "pool", "provider_type": "openai", "endpoints": [mock.v1(), mock.v1()], "models": ["echo"]});
    assert_eq!(admin(&gw, "POST", "/v1/providers", Some(pool)).await.0, 400);
    // Removed.
    assert_eq!(
        admin(&gw, "DELETE", "/v1/providers/extra", None).await.0,
        200
    );
    assert_ne!(status_of(&gw, "extra/echo").await, 200);
    assert_eq!(
        admin(&gw, "DELETE", "/v1/providers/extra", None).await.0,
        404
    );
    assert_eq!(status_of(&gw, "m/echo").await, 200);
    // Admin only.
    let anonymous = Client::new()
        .get(gw.url("/v1/providers"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
