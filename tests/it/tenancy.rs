//! Storage and tenancy over real sockets, each test on SQLite and on PostgreSQL: virtual keys
//! through the admin API (secret shown once and stored hashed, revoke at once, allowed
//! models, expiry, a restart), budgets (402 in both formats; concurrent requests never
//! overspend; spend rollups equal the cost headers), request records and audit trails, the
//! admin audit log, several instances on one database, and bad input to every endpoint.

use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::db::Db;
use crate::harness::{Gateway, Mock, call, chat};
use crate::storage_tests;

const ADMIN: &str = "admin-token-for-the-tests-0123";

/// A gateway with a mock provider `m` (models `echo` and `fail`), priced so that a request
/// costs cents, in front of `db`.
async fn gateway(mock: &Mock, db: &Db, extra: &str) -> Gateway {
    let cfg = format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n{section}\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{v1}\"\napi_key = \"k\"\nmodels = [\"echo\", \"other\"]\n[[models]]\nid = \"echo\"\nprovider = \"m\"\ninput_price_per_mtok = 10000.0\noutput_price_per_mtok = 20000.0\nmax_output_tokens = 100\n{extra}",
        section = db.section(),
        v1 = mock.v1(),
    );
    Gateway::start(&cfg).await
}

async fn admin(gw: &Gateway, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Client::new()
        .request(method.parse().unwrap(), gw.url(path))
        .bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn capped(model: &str) -> Value {
    let mut body = chat(model, "hi");
    body["max_tokens"] = json!(10);
    body
}

async fn new_key(gw: &Gateway, body: Value) -> (String, String) {
    let (status, v) = admin(gw, "POST", "/admin/keys", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    (
        v["id"].as_str().unwrap().into(),
        v["key"].as_str().unwrap().into(),
    )
}

/// Polls `path` until `done` holds for its JSON (records are written within a second).
async fn until(gw: &Gateway, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (status, v) = admin(gw, "GET", path, None).await;
        if status == StatusCode::OK && done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never matched");
}

async fn key_lifecycle(db: Db) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &db, "").await;
    // Open until a key exists.
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("m/echo", "hi"))
            .await
            .status(),
        200
    );
    let (id, secret) = new_key(&gw, json!({"name": "ci", "metadata": {"owner": "qa"}})).await;
    assert!(
        secret.starts_with("sk-gw-") && secret.len() > 40,
        "{secret}"
    );
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("m/echo", "hi"))
            .await
            .status(),
        401
    );
    assert_eq!(
        call(&gw, &secret, &chat("m/echo", "hi")).await.status(),
        200
    );
    // Listed and read without the secret.
    let (_, list) = admin(&gw, "GET", "/admin/keys", None).await;
    let text = list.to_string();
    assert!(text.contains(&id) && !text.contains(&secret), "{text}");
    let (status, one) = admin(&gw, "GET", &format!("/admin/keys/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(one["metadata"]["owner"], "qa");
    assert!(!one.to_string().contains(&secret));
    // Changed: applies from the next request.
    let (status, patched) = admin(
        &gw,
        "PATCH",
        &format!("/admin/keys/{id}"),
        Some(json!({"models": ["m/other"]})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    let refused = call(&gw, &secret, &chat("m/echo", "hi")).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("m/other"),
        "{body}"
    );
    // Revoked: refused at once.
    let (status, _) = admin(&gw, "DELETE", &format!("/admin/keys/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&gw, &secret, &chat("m/other", "hi")).await.status(),
        401
    );
    let resp = call(&gw, &secret, &chat("m/other", "hi")).await;
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );
    let (status, shown) = admin(&gw, "GET", &format!("/admin/keys/{id}"), None).await;
    assert_eq!(status, 200);
    assert!(shown["revoked_at"].is_string(), "{shown}");
    let (_, list) = admin(&gw, "GET", "/admin/keys", None).await;
    assert!(
        !list.to_string().contains(&id),
        "revoked keys are not listed"
    );
    let (status, _) = admin(&gw, "DELETE", &format!("/admin/keys/{id}"), None).await;
    assert_eq!(status, 404);
    // The audit log has every change, by the admin token's id, never the token.
    let log = until(&gw, "/admin/audit-log", |v| {
        v["data"].as_array().is_some_and(|d| d.len() >= 3)
    })
    .await;
    let actions: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["key.revoke", "key.update", "key.create"], "{log}");
    assert!(!log.to_string().contains(ADMIN));
    assert!(
        log["data"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("admin:")
    );
    drop(gw);
    // The secret's bytes are nowhere in the database file.
    if let Some(file) = &db.file {
        let bytes = std::fs::read(file).unwrap();
        let needle = secret.as_bytes();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the secret is in the file"
        );
    }
}

async fn keys_survive_a_restart_and_expire(db: Db) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &db, "").await;
    let (_, secret) = new_key(&gw, json!({"name": "kept"})).await;
    let (_, expired) = new_key(
        &gw,
        json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    drop(gw);
    let gw = gateway(&mock, &db, "").await;
    assert_eq!(
        call(&gw, &secret, &chat("m/echo", "hi")).await.status(),
        200
    );
    let resp = call(&gw, &expired, &chat("m/echo", "hi")).await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}

async fn budgets_refuse_in_both_formats(db: Db) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &db, "").await;
    // A request may cost up to ~$1.2 (its bytes as input tokens, 10 output tokens): $0.5 is
    // not enough.
    let (_, secret) = new_key(&gw, json!({"name": "poor", "max_budget_usd": 0.5})).await;
    let resp = call(&gw, &secret, &capped("m/echo")).await;
    assert_eq!(resp.status(), 402);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "budget", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Budget"),
        "{body}"
    );
    let resp = Client::new()
        .post(gw.url("/v1/messages"))
        .header("x-api-key", &secret)
        .json(&json!({"model": "m/echo", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 402);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "billing_error", "{body}");
    assert!(mock.log().is_empty(), "nothing was sent upstream");
    // A team's budget binds its keys too.
    let (status, team) = admin(
        &gw,
        "POST",
        "/admin/teams",
        Some(json!({"name": "t", "max_budget_usd": 0.5})),
    )
    .await;
    assert_eq!(status, 201, "{team}");
    let (_, member) = new_key(
        &gw,
        json!({"name": "rich", "team": team["id"], "max_budget_usd": 100.0}),
    )
    .await;
    let resp = call(&gw, &member, &capped("m/echo")).await;
    assert_eq!(resp.status(), 402);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("team"),
        "{body}"
    );
}

async fn concurrent_requests_never_overspend(db: Db) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &db, "").await;
    let (id, secret) = new_key(&gw, json!({"name": "busy", "max_budget_usd": 3.0})).await;
    let calls = (0..20).map(|_| {
        let (url, secret) = (gw.url("/v1/chat/completions"), secret.clone());
        tokio::spawn(async move {
            Client::new()
                .post(url)
                .bearer_auth(secret)
                .json(&capped("m/echo"))
                .send()
                .await
                .unwrap()
        })
    });
    let mut spent = 0.0;
    let mut served = 0;
    for c in calls {
        let resp = c.await.unwrap();
        match resp.status().as_u16() {
            200 => {
                served += 1;
                spent += resp.headers()["x-gateway-cost-usd"]
                    .to_str()
                    .unwrap()
                    .parse::<f64>()
                    .unwrap();
            }
            402 => {}
            s => panic!("unexpected status {s}"),
        }
    }
    assert!(served >= 1, "some requests fit the budget");
    assert!(spent <= 3.0, "spent {spent} of a $3 budget");
    // The rollup equals the sum of the cost headers, once all 20 records (402s included, at
    // no cost) are written.
    let spend = until(&gw, "/admin/spend", |v| {
        v["by_key"].as_array().is_some_and(|k| {
            k.iter()
                .any(|r| r["key_id"] == id.as_str() && r["requests"].as_i64() == Some(20))
        })
    })
    .await;
    let row = spend["by_key"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key_id"] == id.as_str())
        .unwrap()
        .clone();
    assert!(
        (row["spend_usd"].as_f64().unwrap() - spent).abs() < 1e-9,
        "{row} vs {spent}"
    );
    assert_eq!(row["name"], "busy");
    let by_model = &spend["by_model"][0];
    assert_eq!(by_model["model"], "echo");
}

async fn records_and_audit_trails(db: Db) {
    let mock = Mock::start().await;
    let pool = "[[pools]]\nname = \"chain\"\nstrategy = \"priority\"\nfallback = true\nmembers = [{ model = \"m/fail-503\" }, { model = \"m/echo\" }]\n";
    let gw = gateway(&mock, &db, pool).await;
    let ok = gw
        .post("/v1/chat/completions", &chat("m/echo", "hello"))
        .await;
    assert_eq!(ok.status(), 200);
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_string();
    let failover = gw
        .post("/v1/chat/completions", &chat("chain", "hello"))
        .await;
    assert_eq!(failover.status(), 200);
    let failover_id = failover.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let failed = gw
        .post("/v1/chat/completions", &chat("m/fail-400-context", "hello"))
        .await;
    assert_eq!(failed.status(), 400);
    let failed_id = failed.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let list = until(&gw, "/v1/requests", |v| {
        v["data"].as_array().is_some_and(|d| d.len() >= 3)
    })
    .await;
    let data = list["data"].as_array().unwrap();
    // Newest first.
    let ids: Vec<&str> = data.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [failed_id.as_str(), failover_id.as_str(), ok_id.as_str()]
    );
    let first = &data[2];
    assert_eq!(first["status"], 200);
    assert_eq!(first["provider"], "m");
    assert_eq!(first["model"], "echo");
    assert!(
        first["input_tokens"].as_i64().unwrap() > 0 && first["cost_usd"].as_f64().unwrap() > 0.0,
        "{first}"
    );
    assert!(
        first.get("request_body").is_none(),
        "the list leaves bodies out"
    );
    assert_eq!(data[1]["failovers"], 1, "{}", data[1]);
    assert_eq!(data[0]["status"], 400);
    // One record, with its body.
    let (status, one) = admin(&gw, "GET", &format!("/v1/requests/{ok_id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        one["request_body"]["messages"][0]["content"], "hello",
        "{one}"
    );
    assert_eq!(
        one["response_body"]["choices"][0]["message"]["content"], "hello",
        "{one}"
    );
    // Filters and pages.
    let (_, only) = admin(&gw, "GET", "/v1/requests?status=400", None).await;
    assert_eq!(only["data"].as_array().unwrap().len(), 1);
    let (_, page) = admin(&gw, "GET", "/v1/requests?limit=2", None).await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = admin(
        &gw,
        "GET",
        &format!("/v1/requests?limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(rest["data"][0]["id"], ok_id.as_str());
    assert!(rest["next_cursor"].is_null());
    // The failover's audit trail: the failed attempt, then the served one.
    let (status, trail) = admin(&gw, "GET", &format!("/v1/audit/{failover_id}"), None).await;
    assert_eq!(status, 200);
    let steps = trail["decision"]["steps"].as_array().unwrap();
    assert_eq!(steps.first().unwrap()["candidate"], "m/fail-503", "{trail}");
    assert_eq!(steps.first().unwrap()["status"], 503);
    assert_eq!(steps.last().unwrap()["candidate"], "m/echo");
    assert_eq!(steps.last().unwrap()["outcome"], "ok");
    assert_eq!(trail["decision"]["candidates"].as_array().unwrap().len(), 2);
    // The plain request (first candidate, first try) keeps no trail of its own: it is
    // derived from its record.
    let (status, plain) = admin(&gw, "GET", &format!("/v1/audit/{ok_id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        plain["decision"]["candidates"],
        json!(["m/echo"]),
        "{plain}"
    );
    assert_eq!(plain["decision"]["steps"][0]["outcome"], "ok");
    assert_eq!(plain["decision"]["outcome"]["status"], 200);
    let (_, audits) = admin(&gw, "GET", "/v1/audit?limit=1", None).await;
    assert_eq!(audits["data"][0]["request_id"], failed_id.as_str());
    let (_, stats) = admin(&gw, "GET", "/v1/stats", None).await;
    assert_eq!(stats["total_requests"], 3, "{stats}");
    assert_eq!(stats["failed_requests"], 1);
}

async fn instances_on_one_database_see_each_others_keys(db: Db) {
    let mock = Mock::start().await;
    let a = gateway(&mock, &db, "").await;
    let b = gateway(&mock, &db, "").await;
    let (id, secret) = new_key(&a, json!({"name": "shared"})).await;
    let mut seen = false;
    for _ in 0..200 {
        if call(&b, &secret, &chat("m/echo", "hi")).await.status() == 200 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "instance b never accepted a key made on a");
    let (status, _) = admin(&b, "DELETE", &format!("/admin/keys/{id}"), None).await;
    assert_eq!(status, 200);
    let mut refused = false;
    for _ in 0..200 {
        if call(&a, &secret, &chat("m/echo", "hi")).await.status() == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "instance a kept a key revoked on b");
}

/// With `[redis]`, a budget holds across instances: what one instance spent, another
/// (whose own view, loaded at its start, knows nothing of it) refuses to spend again.
async fn budgets_hold_across_instances_sharing_redis(db: Db) {
    if !crate::harness::redis().await {
        return;
    }
    let mock = Mock::start().await;
    let redis = format!(
        "[redis]\nurl = \"redis://127.0.0.1:6379\"\nkey_prefix = \"llmgw-test-{:016x}:\"\n",
        rand::random::<u64>()
    );
    let a = gateway(&mock, &db, &redis).await;
    let b = gateway(&mock, &db, &redis).await;
    // Each request may cost up to ~$1.1 and costs a few cents: a $1.5 budget serves several,
    // one at a time.
    let (_, secret) = new_key(&a, json!({"name": "shared", "max_budget_usd": 1.5})).await;
    let cost = |resp: &Response| -> f64 {
        resp.headers()["x-gateway-cost-usd"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    // `b` is open until it learns that a key exists: then a wrong key is refused.
    let mut seen = false;
    for _ in 0..200 {
        if call(&b, "not-a-key", &capped("m/echo")).await.status() == 401 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "instance b never learnt of the key made on a");
    let resp = call(&b, &secret, &capped("m/echo")).await;
    assert_eq!(resp.status(), 200);
    let mut spent = cost(&resp);
    let mut served_by_a = 0;
    loop {
        let resp = call(&a, &secret, &capped("m/echo")).await;
        match resp.status().as_u16() {
            200 => {
                spent += cost(&resp);
                served_by_a += 1;
            }
            402 => break,
            s => panic!("unexpected status {s}"),
        }
        assert!(served_by_a < 100, "the budget never ran out");
    }
    // (Each hold is settled before its answer's last byte: a sequential client is never
    // refused for its own previous request.)
    assert!(served_by_a >= 2, "{served_by_a}");
    // `b` knows what `a` spent: refused too. (At most one more may pass: `a` refused a
    // worst case that did not fit, while the actual cost of one more may. Without sharing,
    // `b` would serve five more.)
    let mut served_by_b = 0;
    let body: Value = loop {
        let resp = call(&b, &secret, &capped("m/echo")).await;
        if resp.status() == 402 {
            break resp.json().await.unwrap();
        }
        assert_eq!(resp.status(), 200);
        spent += cost(&resp);
        served_by_b += 1;
        assert!(served_by_b <= 1, "b kept spending what a had spent");
    };
    assert_eq!(body["error"]["kind"], "budget", "{body}");
    assert!(spent <= 1.5, "spent {spent} of a $1.5 budget");
}

async fn bad_input_gets_clear_errors(db: Db) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &db, "").await;
    let raw = |method: &str, path: &str, body: &'static str| {
        Client::new()
            .request(method.parse().unwrap(), gw.url(path))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        ("POST", "/admin/keys", "{not json", 400, "not valid JSON"),
        ("POST", "/admin/keys", "[]", 400, "JSON object"),
        ("POST", "/admin/keys", "{}", 400, "`name` is required"),
        (
            "POST",
            "/admin/keys",
            r#"{"name":"x","colour":"red"}"#,
            400,
            "Unknown field `colour`",
        ),
        (
            "POST",
            "/admin/keys",
            r#"{"name":"x","max_budget_usd":-1}"#,
            400,
            "max_budget_usd",
        ),
        (
            "POST",
            "/admin/keys",
            r#"{"name":"x","budget_period":"hourly"}"#,
            400,
            "budget_period",
        ),
        (
            "POST",
            "/admin/keys",
            r#"{"name":"x","expires_at":"soon"}"#,
            400,
            "expires_at",
        ),
        (
            "POST",
            "/admin/keys",
            r#"{"name":"x","team":"team_nope"}"#,
            400,
            "No team",
        ),
        (
            "POST",
            "/admin/keys",
            r#"{"name":"x","limits":{"rpm":"many"}}"#,
            400,
            "limits",
        ),
        (
            "PATCH",
            "/admin/keys/key_missing",
            r#"{"name":"y"}"#,
            404,
            "No key",
        ),
        ("GET", "/admin/keys/..%2F..%2Fetc", "", 404, "No key"),
        ("DELETE", "/admin/teams/team_missing", "", 404, "No team"),
        ("PUT", "/admin/keys", "", 405, "GET, POST"),
        ("GET", "/v1/requests?limit=0", "", 400, "limit"),
        ("GET", "/v1/requests?limit=abc", "", 400, "limit"),
        ("GET", "/v1/requests?cursor=zzz", "", 400, "cursor"),
        (
            "GET",
            "/v1/requests?colour=red",
            "",
            400,
            "Unknown query parameter",
        ),
        ("GET", "/v1/requests?from=yesterday", "", 400, "from"),
        ("GET", "/v1/requests?status=9000", "", 400, "status"),
        ("GET", "/v1/requests/req_missing", "", 404, "No request"),
        ("GET", "/v1/audit/req_missing", "", 404, "No request"),
    ];
    for (method, path, body, status, words) in cases {
        let resp = raw(method, path, body).await.unwrap();
        assert_eq!(resp.status().as_u16(), *status, "{method} {path} {body}");
        let v: Value = resp.json().await.unwrap();
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{method} {path}: {v}");
    }
    // Without the admin token: refused, nothing listed.
    let resp = Client::new()
        .get(gw.url("/v1/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

async fn an_open_circuit_stays_open_across_a_restart(db: Db) {
    let mock = Mock::start().await;
    let breaker =
        "[resilience.default_circuit_breaker]\nfailure_threshold = 2\nopen_duration_secs = 300\n";
    let gw = gateway(&mock, &db, breaker).await;
    let failing = chat("m/fail-500", "x");
    while gw.post("/v1/chat/completions", &failing).await.status() != 503 {}
    let tried = mock.log().len();
    // Kept in the store within a second: watch the table.
    let mut kept = false;
    for _ in 0..200 {
        let rows = db.texts("SELECT data FROM breaker_states").await;
        if rows.iter().any(|d| d.contains("\"open\"")) {
            kept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(kept, "the open breaker was never written");
    drop(gw);
    let gw = gateway(&mock, &db, breaker).await;
    let resp = gw.post("/v1/chat/completions", &failing).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["x-gateway-circuit"], "open");
    assert_eq!(
        mock.log().len(),
        tried,
        "nothing was sent to the open circuit"
    );
}

async fn idempotent(gw: &Gateway, key: &str, idem: &str, body: &Value) -> Response {
    Client::new()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .header("idempotency-key", idem)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn idempotent_requests_reach_the_provider_once(db: Db) {
    let mock = Mock::start().await;
    let gw = gateway(&mock, &db, "").await;
    let (_, a) = new_key(&gw, json!({"name": "a"})).await;
    let (_, b) = new_key(&gw, json!({"name": "b"})).await;
    let body = chat("m/echo", "pay once");
    let first = idempotent(&gw, &a, "order-1", &body).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("x-gateway-idempotent").is_none());
    let first_text = first.text().await.unwrap();
    let again = idempotent(&gw, &a, "order-1", &body).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["x-gateway-idempotent"], "true");
    assert_eq!(again.text().await.unwrap(), first_text);
    assert_eq!(mock.log().len(), 1, "the repeat did not reach the provider");
    // Another tenant's same key is its own request.
    let other = idempotent(&gw, &b, "order-1", &body).await;
    assert!(other.headers().get("x-gateway-idempotent").is_none());
    assert_eq!(mock.log().len(), 2);
    // The same key with another request is refused.
    let changed = idempotent(&gw, &a, "order-1", &chat("m/echo", "pay twice")).await;
    assert_eq!(changed.status(), 400);
    // A repeat while the first is in flight waits for it.
    let slow = chat("m/slow;ttfb_ms=300", "slow");
    let (one, two) = tokio::join!(idempotent(&gw, &a, "order-2", &slow), async {
        // Sent once the first has reached the provider.
        assert!(mock.wait_for(|log| log.len() == 3).await);
        idempotent(&gw, &a, "order-2", &slow).await
    });
    assert_eq!(
        (one.status(), two.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(two.headers()["x-gateway-idempotent"], "true");
    assert_eq!(one.text().await.unwrap(), two.text().await.unwrap());
    assert_eq!(mock.log().len(), 3);
    // Kept across a restart, once written.
    let mut written = false;
    for _ in 0..200 {
        if db.texts("SELECT idem_key FROM idempotency").await.len() == 3 {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(written, "the kept answers were never written");
    drop(gw);
    let gw = gateway(&mock, &db, "").await;
    let after = idempotent(&gw, &a, "order-1", &body).await;
    assert_eq!(after.headers()["x-gateway-idempotent"], "true");
    assert_eq!(after.text().await.unwrap(), first_text);
    assert_eq!(mock.log().len(), 3);
}

/// A database this build cannot use is a clear startup error, never a panic.
async fn startup_refuses_a_newer_schema(db: Db) {
    let mock = Mock::start().await;
    drop(gateway(&mock, &db, "").await);
    {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query("INSERT INTO gateway_schema (version) VALUES (99)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let cfg = format!(
        "[server]\nport = 0\n{}\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\n",
        db.section(),
        mock.v1()
    );
    let config = llm_gateway::config::load_str(&cfg, "test.toml").unwrap();
    let err = llm_gateway::app::build(
        config,
        llm_gateway::observability::access_log::AccessLog::disabled(),
    )
    .err()
    .expect("a newer schema is refused");
    assert!(
        err.contains("schema version 99") && err.contains("newer"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_a_startup_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = format!(
        "[server]\nport = 0\n[database]\nurl = \"postgres://gateway:secret-password@127.0.0.1:{port}/nothing\"\n[[providers]]\nid = \"mock\"\nprovider_type = \"mock\"\n"
    );
    let config = llm_gateway::config::load_str(&cfg, "test.toml").unwrap();
    let err = llm_gateway::app::build(
        config,
        llm_gateway::observability::access_log::AccessLog::disabled(),
    )
    .err()
    .expect("an unreachable database is refused");
    assert!(err.contains("cannot open database"), "{err}");
    assert!(
        !err.contains("secret-password"),
        "the password is not shown: {err}"
    );
}

storage_tests!(
    startup_refuses_a_newer_schema,
    idempotent_requests_reach_the_provider_once,
    an_open_circuit_stays_open_across_a_restart,
    key_lifecycle,
    keys_survive_a_restart_and_expire,
    budgets_refuse_in_both_formats,
    concurrent_requests_never_overspend,
    records_and_audit_trails,
    instances_on_one_database_see_each_others_keys,
    budgets_hold_across_instances_sharing_redis,
    bad_input_gets_clear_errors,
);
