//! A key holder's own usage (`GET /v1/usage`) and clearing the analytics data
//! (`DELETE /v1/analytics`) over real sockets, on SQLite and PostgreSQL: a key sees its own
//! records and budgets only; clearing removes records and quality signals but keeps their
//! spend, which budgets still count after a restart.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::db::Db;
use crate::harness::{Gateway, Mock, call, chat};
use crate::storage_tests;

const ADMIN: &str = "usage-admin-token-0123456789";

async fn gateway(mock: &Mock, db: &Db) -> Gateway {
    let cfg = format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n{section}\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{v1}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n[[models]]\nid = \"echo\"\nprovider = \"m\"\ninput_price_per_mtok = 10000.0\noutput_price_per_mtok = 20000.0\nmax_output_tokens = 100\n",
        section = db.section(),
        v1 = mock.v1(),
    );
    Gateway::start(&cfg).await
}

/// `method path` with `token` (if any); the status and JSON answer.
async fn ask(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Client::new().request(method.parse().unwrap(), gw.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Polls `GET path` as `token` until `done` holds (records are written within a second).
async fn until(gw: &Gateway, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (status, v) = ask(gw, "GET", path, Some(token), None).await;
        if status == StatusCode::OK && done(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never matched: {last}");
}

fn capped() -> Value {
    let mut body = chat("m/echo", "hi");
    body["max_tokens"] = json!(10);
    body
}

fn spend_of(spend: &Value, key_id: &str) -> f64 {
    spend["by_key"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key_id"] == key_id)
        .and_then(|r| r["spend_usd"].as_f64())
        .unwrap_or_else(|| panic!("no spend of {key_id} in {spend}"))
}

async fn usage_and_clearing(db: Db) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &db).await;
    let (status, team) = ask(
        &gw,
        "POST",
        "/admin/teams",
        Some(ADMIN),
        Some(json!({"name": "t", "max_budget_usd": 50.0, "budget_period": "monthly"})),
    )
    .await;
    assert_eq!(status, 201, "{team}");
    let (status, a) = ask(
        &gw,
        "POST",
        "/admin/keys",
        Some(ADMIN),
        Some(json!({"name": "a", "team": team["id"], "max_budget_usd": 100.0, "limits": {"rpm": 600}})),
    )
    .await;
    assert_eq!(status, 201, "{a}");
    let (a_id, a_key) = (a["id"].as_str().unwrap(), a["key"].as_str().unwrap());
    let (_, b) = ask(
        &gw,
        "POST",
        "/admin/keys",
        Some(ADMIN),
        Some(json!({"name": "b"})),
    )
    .await;
    let b_key = b["key"].as_str().unwrap();
    let mut cost = 0.0;
    for _ in 0..2 {
        let resp = call(&gw, a_key, &capped()).await;
        assert_eq!(resp.status(), 200);
        cost += resp.headers()["x-gateway-cost-usd"]
            .to_str()
            .unwrap()
            .parse::<f64>()
            .unwrap();
    }
    assert_eq!(call(&gw, b_key, &capped()).await.status(), 200);

    // Each key sees its own records and budgets, nobody else's.
    let mine = until(&gw, "/v1/usage", a_key, |v| v["totals"]["requests"] == 2).await;
    assert_eq!(mine["key_id"], a_id);
    assert_eq!(mine["name"], "a");
    assert_eq!(mine["team"], team["id"]);
    assert_eq!(mine["limits"]["rpm"], 600, "{mine}");
    assert_eq!(mine["by_model"][0]["model"], "echo", "{mine}");
    assert_eq!(mine["by_model"][0]["requests"], 2);
    let spent = mine["totals"]["cost_usd"].as_f64().unwrap();
    assert!(
        spent > 0.0 && (spent - cost).abs() < 1e-6,
        "{spent} vs {cost}"
    );
    let budgets = mine["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 2, "{mine}");
    assert_eq!(budgets[0]["scope"], "key");
    assert_eq!(budgets[0]["budget_period"], "total");
    assert!((budgets[0]["spent_usd"].as_f64().unwrap() - cost).abs() < 1e-6);
    assert!((budgets[0]["remaining_usd"].as_f64().unwrap() - (100.0 - cost)).abs() < 1e-6);
    assert_eq!(budgets[1]["scope"], "team");
    assert_eq!(budgets[1]["id"], team["id"]);
    assert_eq!(budgets[1]["budget_period"], "monthly");
    let theirs = until(&gw, "/v1/usage", b_key, |v| v["totals"]["requests"] == 1).await;
    assert_eq!(theirs["budgets"], json!([]), "{theirs}");
    let (_, past) = ask(&gw, "GET", "/v1/usage?from=0&to=86400", Some(a_key), None).await;
    assert_eq!(past["totals"]["requests"], 0, "{past}");
    // Not for the admin token, an unknown key or none; a filter it does not take is named.
    for token in [Some(ADMIN), Some("sk-not-a-key"), None] {
        let (status, v) = ask(&gw, "GET", "/v1/usage", token, None).await;
        assert_eq!(status, 401, "{token:?}: {v}");
    }
    let (status, v) = ask(&gw, "GET", "/v1/usage?key=other", Some(a_key), None).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("key"),
        "{v}"
    );

    // A quality signal to clear too.
    let signal = json!({"model_card_id": "echo", "task_type": "code", "signal_type": "rating", "value": 0.8});
    let (status, v) = ask(&gw, "POST", "/v1/signals", Some(a_key), Some(signal)).await;
    assert_eq!(status, 201, "{v}");
    let spend_before = ask(&gw, "GET", "/admin/spend", Some(ADMIN), None).await.1;

    // Clearing is the admin's; it removes records and signals and keeps the spend.
    assert_eq!(ask(&gw, "DELETE", "/v1/analytics", None, None).await.0, 401);
    assert_eq!(
        ask(&gw, "DELETE", "/v1/analytics", Some(a_key), None)
            .await
            .0,
        401
    );
    let (status, v) = ask(
        &gw,
        "DELETE",
        "/v1/analytics?before=soon",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let (status, cleared) = ask(&gw, "DELETE", "/v1/analytics", Some(ADMIN), None).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["cleared"]["records"], 3, "{cleared}");
    assert_eq!(cleared["cleared"]["quality_signals"], 1, "{cleared}");
    assert_eq!(cleared["spend_kept"], true);
    let (_, list) = ask(&gw, "GET", "/v1/requests", Some(ADMIN), None).await;
    assert_eq!(list["data"], json!([]), "{list}");
    let (_, usage) = ask(&gw, "GET", "/v1/analytics", Some(ADMIN), None).await;
    assert_eq!(usage["totals"]["requests"], 0, "{usage}");
    let (_, quality) = ask(&gw, "GET", "/v1/quality", Some(ADMIN), None).await;
    assert!(!quality.to_string().contains("0.8"), "{quality}");
    let (_, mine) = ask(&gw, "GET", "/v1/usage", Some(a_key), None).await;
    assert_eq!(mine["totals"]["requests"], 0, "{mine}");
    assert!((mine["budgets"][0]["spent_usd"].as_f64().unwrap() - cost).abs() < 1e-6);
    let (_, spend) = ask(&gw, "GET", "/admin/spend", Some(ADMIN), None).await;
    assert!((spend_of(&spend, a_id) - spend_of(&spend_before, a_id)).abs() < 1e-9);
    let (_, log) = ask(&gw, "GET", "/admin/audit-log", Some(ADMIN), None).await;
    assert!(log.to_string().contains("analytics.clear"), "{log}");

    // After a restart, the budget still counts what the cleared records spent: with a budget
    // smaller than that, the refusal names it.
    let (status, v) = ask(
        &gw,
        "PATCH",
        &format!("/admin/keys/{a_id}"),
        Some(ADMIN),
        Some(json!({"max_budget_usd": 0.01})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    drop(gw);
    let gw = gateway(&mock, &db).await;
    let resp = call(&gw, a_key, &capped()).await;
    assert_eq!(resp.status(), 402);
    let body: Value = resp.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("${cost:.6}")), "{message}");
}

storage_tests!(usage_and_clearing);
