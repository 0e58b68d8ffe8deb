//! The analytics endpoints over real traffic: requests through the mock carrying `x-source`
//! and `x-project`, a failover and a failure, then `/v1/analytics`, `/v1/analytics/errors`,
//! `/v1/analytics/requesters` and `/v1/projects` read back, on SQLite and PostgreSQL, and on
//! the in-memory store; and a query sees every request that finished before it.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::db::Db;
use crate::harness::{Gateway, Mock, chat};
use crate::storage_tests;

const ADMIN: &str = "analytics-admin-token";

async fn gateway(mock: &Mock, section: &str) -> Gateway {
    let cfg = format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n{section}\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{v1}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n[[models]]\nid = \"echo\"\nprovider = \"m\"\ninput_price_per_mtok = 10000.0\noutput_price_per_mtok = 20000.0\n[[pools]]\nname = \"chain\"\nstrategy = \"priority\"\nfallback = true\nmembers = [{{ model = \"m/fail-503\" }}, {{ model = \"m/echo\" }}]\n",
        v1 = mock.v1(),
    );
    Gateway::start(&cfg).await
}

async fn get(gw: &Gateway, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Client::new().get(gw.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn send(gw: &Gateway, model: &str, source: &str, project: Option<&str>) -> u16 {
    let mut req = Client::new()
        .post(gw.url("/v1/chat/completions"))
        .header("x-source", source)
        .json(&chat(model, "count me"));
    if let Some(p) = project {
        req = req.header("x-project", p);
    }
    req.send().await.unwrap().status().as_u16()
}

fn row<'a>(list: &'a Value, field: &str, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|r| r[field] == name))
        .unwrap_or_else(|| panic!("no {field} = {name} in {list}"))
}

async fn analytics_of_seeded_traffic(section: String) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &section).await;
    assert_eq!(send(&gw, "m/echo", "app-a", Some("p1")).await, 200);
    assert_eq!(send(&gw, "m/echo", "app-a", Some("p1")).await, 200);
    assert_eq!(send(&gw, "chain", "app-b", None).await, 200);
    assert_eq!(
        send(&gw, "m/fail-400-context", "app-b", Some("p1")).await,
        400
    );
    // Records arrive within the writer's flush interval.
    let mut usage = Value::Null;
    for _ in 0..200 {
        let (status, v) = get(&gw, "/v1/analytics", Some(ADMIN)).await;
        assert_eq!(status, 200, "{v}");
        if v["totals"]["requests"] == 4 {
            usage = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(usage["totals"]["requests"], 4, "{usage}");
    assert_eq!(usage["totals"]["errors"], 1);
    assert_eq!(usage["bucket"], "hour");
    let in_series: i64 = usage["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["requests"].as_i64().unwrap())
        .sum();
    assert_eq!(in_series, 4, "{usage}");
    assert!(
        usage["series"][0]["bucket"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(
        row(&usage["by_model"], "model", "echo")["requests"],
        3,
        "{usage}"
    );
    // The provider answered the failure too.
    let m = row(&usage["by_provider"], "provider", "m");
    assert_eq!(
        (m["requests"].as_i64(), m["errors"].as_i64()),
        (Some(4), Some(1)),
        "{usage}"
    );
    assert_eq!(row(&usage["by_source"], "source", "app-a")["requests"], 2);
    assert_eq!(row(&usage["by_source"], "source", "app-b")["errors"], 1);
    assert_eq!(row(&usage["by_project"], "project", "p1")["requests"], 3);
    let cost = usage["totals"]["cost_usd"].as_f64().unwrap();
    let by_model_cost = row(&usage["by_model"], "model", "echo")["cost_usd"]
        .as_f64()
        .unwrap();
    assert!(cost > 0.0 && (cost - by_model_cost).abs() < 1e-9, "{usage}");
    // Filters.
    let (_, a) = get(&gw, "/v1/analytics?source=app-a&bucket=minute", Some(ADMIN)).await;
    assert_eq!(a["totals"]["requests"], 2, "{a}");
    assert_eq!(a["bucket_secs"], 60);
    let (_, p) = get(&gw, "/v1/analytics?project=p1&model=m/echo", Some(ADMIN)).await;
    assert_eq!(p["totals"]["requests"], 2, "{p}");
    let (_, past) = get(&gw, "/v1/analytics?from=0&to=86400", Some(ADMIN)).await;
    assert_eq!(past["totals"]["requests"], 0, "{past}");
    assert_eq!(past["series"], Value::Array(vec![]));
    // Errors: one a client saw, one failover hid.
    let (status, errors) = get(&gw, "/v1/analytics/errors", Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert_eq!(errors["totals"]["customer_impacting"], 1, "{errors}");
    assert_eq!(errors["totals"]["mitigated_by_failover"], 1, "{errors}");
    assert_eq!(errors["totals"]["customer_impact_rate"], 0.25);
    assert_eq!(errors["by_error"].as_array().unwrap().len(), 1, "{errors}");
    assert_eq!(errors["by_error"][0]["requests"], 1);
    let b = row(&errors["by_source"], "source", "app-b");
    assert_eq!(b["customer_impacting"], 1);
    assert_eq!(b["mitigated_by_failover"], 1);
    // Requesters and projects.
    let (_, requesters) = get(&gw, "/v1/analytics/requesters", Some(ADMIN)).await;
    let b = row(&requesters["data"], "source", "app-b");
    assert_eq!(b["success_rate"], 0.5, "{requesters}");
    assert_eq!(b["models"].as_array().unwrap().len(), 2, "{b}");
    assert!(b["last_seen"].as_str().is_some());
    let a = row(&requesters["data"], "source", "app-a");
    assert_eq!(a["success_rate"], 1.0);
    assert_eq!(
        a["models"][0],
        serde_json::json!({"model": "echo", "requests": 2})
    );
    let (_, projects) = get(&gw, "/v1/projects", Some(ADMIN)).await;
    assert_eq!(projects["data"].as_array().unwrap().len(), 1, "{projects}");
    assert_eq!(projects["data"][0]["project"], "p1");
    // A record says who asked.
    let (_, list) = get(&gw, "/v1/requests?limit=10", Some(ADMIN)).await;
    assert!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["source"] == "app-a" && r["project"] == "p1"),
        "{list}"
    );
    // Bad input and no token.
    for bad in [
        "/v1/analytics?bucket=fortnight",
        "/v1/analytics?color=red",
        "/v1/analytics?from=yesterday",
        "/v1/analytics?from=100&to=50",
        "/v1/analytics?from=0&to=31536000&bucket=minute",
        "/v1/analytics/errors?bucket=hour",
    ] {
        let (status, v) = get(&gw, bad, Some(ADMIN)).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(v["error"]["message"].as_str().is_some(), "{v}");
    }
    for path in [
        "/v1/analytics",
        "/v1/analytics/errors",
        "/v1/analytics/requesters",
        "/v1/projects",
    ] {
        assert_eq!(get(&gw, path, None).await.0, 401, "{path}");
    }
}

async fn analytics_on(db: Db) {
    analytics_of_seeded_traffic(db.section()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_in_memory() {
    analytics_of_seeded_traffic(String::new()).await;
}

/// A finished request is in the records a query reads at once, without waiting for the
/// writer's next flush: a query writes what is queued (and, in memory, the window) first.
async fn records_are_read_after_what_was_queued(section: String) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &section).await;
    for source in ["first", "second", "third"] {
        assert_eq!(send(&gw, "m/echo", source, None).await, 200);
    }
    // (`metric` returns once no other request is in flight: each was recorded.)
    gw.metric("gateway_requests_in_flight").await;
    let (status, list) = get(&gw, "/v1/requests?limit=10", Some(ADMIN)).await;
    assert_eq!(status, 200, "{list}");
    let sources: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["source"].as_str())
        .collect();
    assert_eq!(sources, ["third", "second", "first"], "{list}");
    let (_, stats) = get(&gw, "/v1/stats", Some(ADMIN)).await;
    assert_eq!(stats["total_requests"], 3, "{stats}");
    // And the next ones after those.
    assert_eq!(send(&gw, "m/echo", "fourth", None).await, 200);
    gw.metric("gateway_requests_in_flight").await;
    let (_, stats) = get(&gw, "/v1/stats", Some(ADMIN)).await;
    assert_eq!(stats["total_requests"], 4, "{stats}");
}

async fn read_after_queued_on(db: Db) {
    records_are_read_after_what_was_queued(db.section()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_after_queued_in_memory() {
    records_are_read_after_what_was_queued(String::new()).await;
}

storage_tests!(analytics_on, read_after_queued_on);
