//! Quality signals over sockets: reported by clients, drained once, aggregated per model and
//! per day, and compared against their baseline for alerts — on SQLite, PostgreSQL and in
//! memory.

use reqwest::Client;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::db::Db;
use crate::harness::{Gateway, Mock};
use crate::storage_tests;

const ADMIN: &str = "signals-admin-token-01";

async fn gateway(mock: &Mock, section: &str) -> Gateway {
    Gateway::start(&format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n{section}\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n",
        mock.v1()
    ))
    .await
}

async fn call(
    gw: &Gateway,
    method: &str,
    path: &str,
    body: Option<Value>,
    admin: bool,
) -> (u16, Value) {
    let mut req = Client::new().request(method.parse().unwrap(), gw.url(path));
    if admin {
        req = req.bearer_auth(ADMIN);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn signal(model: &str, value: f64) -> Value {
    json!({ "model_card_id": model, "task_type": "code", "signal_type": "rating", "value": value })
}

async fn report(gw: &Gateway, body: Value) -> (u16, Value) {
    call(gw, "POST", "/v1/signals", Some(body), false).await
}

/// Reports, drains, aggregates; returns the gateway for more.
async fn reported_and_read(section: &str) -> (Mock, Gateway) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, section).await;
    let mut first = signal("echo", 0.9);
    first["request_id"] = json!("req_1");
    let (status, v) = report(&gw, first).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(report(&gw, signal("m/echo", 0.5)).await.0, 201);
    // Refused: an unknown model, a bad name, a value that is not a number, an unknown field.
    assert_eq!(report(&gw, signal("nope", 1.0)).await.0, 404);
    let mut spaced = signal("echo", 1.0);
    spaced["task_type"] = json!("a b");
    assert_eq!(report(&gw, spaced).await.0, 400);
    let mut text = signal("echo", 1.0);
    text["value"] = json!("high");
    let (status, v) = report(&gw, text).await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("value"),
        "{v}"
    );
    let mut extra = signal("echo", 1.0);
    extra["colour"] = json!("red");
    assert_eq!(report(&gw, extra).await.0, 400);
    // Drained once, admin only.
    assert_eq!(call(&gw, "GET", "/v1/signals", None, false).await.0, 401);
    let (status, pending) = call(&gw, "GET", "/v1/signals", None, true).await;
    assert_eq!(status, 200);
    let data = pending["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{pending}");
    assert_eq!(data[0]["request_id"], "req_1");
    assert_eq!(data[0]["value"], 0.9);
    let (_, again) = call(&gw, "GET", "/v1/signals", None, true).await;
    assert_eq!(again["data"], json!([]));
    // Aggregates and a model's series.
    let (status, quality) = call(&gw, "GET", "/v1/quality", None, true).await;
    assert_eq!(status, 200);
    let echo = quality["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["model"] == "echo")
        .unwrap_or_else(|| panic!("{quality}"));
    assert_eq!(
        (echo["count"].as_i64(), echo["mean"].as_f64()),
        (Some(1), Some(0.9))
    );
    let (status, one) = call(&gw, "GET", "/v1/quality/echo", None, true).await;
    assert_eq!(status, 200);
    assert_eq!(one["series"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["series"][0]["signal_type"], "rating");
    assert_eq!(one["aggregates"][0]["count"], 1);
    assert_eq!(
        call(&gw, "GET", "/v1/quality?from=yesterday", None, true)
            .await
            .0,
        400
    );
    (mock, gw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_in_memory() {
    let (_mock, gw) = reported_and_read("").await;
    // No baseline: no alert.
    let (status, v) = call(&gw, "POST", "/v1/alerts", Some(json!({})), true).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["alerts"], json!([]));
    assert_eq!(
        call(
            &gw,
            "POST",
            "/v1/alerts",
            Some(json!({"threshold": 2})),
            true
        )
        .await
        .0,
        400
    );
}

async fn signals_and_alerts(db: Db) {
    let (_mock, gw) = reported_and_read(&db.section()).await;
    // A baseline two days old, rated high ...
    let url = match &db.file {
        Some(file) => format!("sqlite://{}", file.display()),
        None => db.url.clone(),
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let old = llm_gateway::storage::now_ms() - 2 * 24 * 3600 * 1000;
    for i in 0..5 {
        sqlx::query(&format!(
            "INSERT INTO quality_signals (id, created_at, model, task_type, signal_type, value, drained) VALUES ('base_{i}', {old}, 'echo', 'code', 'rating', 0.9, 1)"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    // ... and today's ratings fall.
    for _ in 0..4 {
        assert_eq!(report(&gw, signal("echo", 0.3)).await.0, 201);
    }
    let (status, v) = call(&gw, "POST", "/v1/alerts", None, true).await;
    assert_eq!(status, 200, "{v}");
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{v}");
    let a = &alerts[0];
    assert_eq!(
        (a["model"].as_str(), a["signal_type"].as_str()),
        (Some("echo"), Some("rating"))
    );
    // Today: 0.9 once and 0.3 four times.
    assert!(
        (a["recent_mean"].as_f64().unwrap() - 0.42).abs() < 1e-9,
        "{a}"
    );
    assert_eq!(a["baseline_samples"], 5);
    // Fewer samples than asked for: no alert.
    let (_, v) = call(
        &gw,
        "POST",
        "/v1/alerts",
        Some(json!({"min_samples": 6})),
        true,
    )
    .await;
    assert_eq!(v["alerts"], json!([]));
}

storage_tests!(signals_and_alerts);
