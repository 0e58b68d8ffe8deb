//! A `local` provider with several `endpoints`: round robin across healthy replicas, active
//! health checks taking a dead replica out, runtime membership through the admin API (a new
//! replica unhealthy until checked, credentials in its URL never shown), and `/ready` while no
//! replica is healthy.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::binary::free_port;
use crate::harness::{Gateway, Mock, chat};

const TOKEN: &str = "admin-token-for-replicas";

/// Chat requests a replica served (its log also holds the health checks).
fn chats(m: &Mock) -> usize {
    m.log()
        .iter()
        .filter(|e| e.path.ends_with("/chat/completions"))
        .count()
}

/// A `local` provider `vllm` serving `echo` from the replicas at `endpoints`, checked every
/// `interval_ms`, with the admin token set.
fn vllm(endpoints: &[String], interval_ms: u64) -> String {
    let list: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
    format!(
        "[server]\nadmin_token = \"{TOKEN}\"\n[[providers]]\nid = \"vllm\"\nprovider_type = \"local\"\n\
         endpoints = [{}]\nmodels = [\"echo\"]\nhealth_check_interval_ms = {interval_ms}\n",
        list.join(", ")
    )
}

async fn replicas(gw: &Gateway) -> Value {
    let r = reqwest::Client::new()
        .get(gw.url("/admin/providers/vllm/endpoints"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Polls the admin view until `pred` holds (health checks run every 100 ms).
async fn until(gw: &Gateway, what: &str, pred: impl Fn(&Value) -> bool) {
    let started = Instant::now();
    loop {
        let v = replicas(gw).await;
        if pred(&v) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{what}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_are_balanced_health_checked_and_changed_at_runtime() {
    let (m1, m2, m3) = (
        Mock::start().await,
        Mock::start().await,
        Mock::start().await,
    );
    let cfg = format!(
        r#"
[server]
admin_token = "{TOKEN}"
[resilience.default_retry_policy]
max_attempts = 3
base_delay_ms = 5
max_delay_ms = 10
[[providers]]
id = "vllm"
provider_type = "local"
endpoints = ["{}", "{}"]
models = ["echo"]
health_check_interval_ms = 100
"#,
        m1.v1(),
        m2.v1()
    );
    let gw = Gateway::start(&cfg).await;
    until(&gw, "both healthy", |v| {
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["healthy"] == true)
            .count()
            == 2
    })
    .await;
    for i in 0..10 {
        assert_eq!(
            gw.post("/v1/chat/completions", &chat("echo", &format!("{i}")))
                .await
                .status(),
            200
        );
    }
    assert_eq!((chats(&m1), chats(&m2)), (5, 5), "round robin");

    // A replica goes away: the health check takes it out, traffic goes to the other.
    let m2_url = m2.v1();
    drop(m2);
    until(&gw, "m2 unhealthy", |v| {
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["url"] == m2_url.as_str() && e["healthy"] == false)
    })
    .await;
    let before = chats(&m1);
    for i in 0..6 {
        let r = gw
            .post("/v1/chat/completions", &chat("echo", &format!("after {i}")))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["x-gateway-retries"],
            "0",
            "no attempt hit the dead replica"
        );
    }
    assert_eq!(chats(&m1), before + 6);

    // A replica joins at runtime.
    let client = reqwest::Client::new();
    let r = client
        .post(gw.url("/admin/providers/vllm/endpoints"))
        .bearer_auth(TOKEN)
        .json(&json!({"add": m3.v1()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    until(&gw, "m3 healthy", |v| {
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["url"] == m3.v1().as_str() && e["healthy"] == true)
    })
    .await;
    for i in 0..6 {
        assert_eq!(
            gw.post(
                "/v1/chat/completions",
                &chat("echo", &format!("joined {i}"))
            )
            .await
            .status(),
            200
        );
    }
    assert!(chats(&m3) > 0, "the new replica takes traffic");
    // And leaves.
    let r = client
        .post(gw.url("/admin/providers/vllm/endpoints"))
        .bearer_auth(TOKEN)
        .json(&json!({"remove": m3.v1()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(gw.url("/admin/providers/vllm/endpoints"))
        .bearer_auth(TOKEN)
        .json(&json!({"remove": m3.v1()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .post(gw.url("/admin/providers/vllm/endpoints"))
        .bearer_auth(TOKEN)
        .json(&json!({"add": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

async fn admin(gw: &Gateway, path: &str, change: Option<Value>) -> (u16, String) {
    let client = reqwest::Client::new();
    let req = match change {
        Some(body) => client.post(gw.url(path)).json(&body),
        None => client.get(gw.url(path)),
    };
    let r = req.bearer_auth(TOKEN).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_whose_replicas_are_all_down_is_not_ready() {
    let (a, b) = (free_port(), free_port());
    let cfg = vllm(
        &[
            format!("http://127.0.0.1:{a}/v1"),
            format!("http://127.0.0.1:{b}/v1"),
        ],
        100,
    );
    let gw = Gateway::start(&cfg).await;
    let r = gw.get("/ready").await;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["usable_providers"], json!([]));
    assert!(
        v["unusable_providers"]["vllm"]
            .as_str()
            .unwrap()
            .contains("health check"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_is_ready_once_a_replica_passes_its_check() {
    let m1 = Mock::start().await;
    let down = free_port();
    let cfg = vllm(&[m1.v1(), format!("http://127.0.0.1:{down}/v1")], 100);
    let gw = Gateway::start(&cfg).await;
    until(&gw, "m1 healthy", |v| {
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["url"] == m1.v1().as_str() && e["healthy"] == true)
    })
    .await;
    let r = gw.get("/ready").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["usable_providers"], json!(["vllm"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_replica_is_unhealthy_until_checked_and_its_credentials_never_show() {
    let (m1, m2) = (Mock::start().await, Mock::start().await);
    let cfg = vllm(
        &[
            m1.v1(),
            format!("http://ops:cfg-s3cret@127.0.0.1:{}/v1", free_port()),
        ],
        200,
    );
    let gw = Gateway::start(&cfg).await;
    let added = format!("http://ops:add-s3cret@{}/v1", m2.addr);
    let shown = format!("http://***@{}/v1", m2.addr);
    let (status, body) = admin(
        &gw,
        "/admin/providers/vllm/endpoints",
        Some(json!({"add": added})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("s3cret") && !body.contains("ops:"), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let entry = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == shown.as_str())
        .unwrap_or_else(|| panic!("{shown} in {v}"));
    assert_eq!(entry["healthy"], false, "not checked yet: {v}");
    until(&gw, "the added replica passes its check", |v| {
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["url"] == shown.as_str() && e["healthy"] == true)
    })
    .await;
    for path in ["/admin/providers/vllm/endpoints", "/admin/providers"] {
        let (status, body) = admin(&gw, path, None).await;
        assert_eq!(status, 200);
        assert!(!body.contains("s3cret") && !body.contains("ops:"), "{body}");
    }
    // Errors do not echo them either.
    for bad in [
        json!({"add": "http://ops:bad-s3cret@[nope/v1"}),
        json!({"remove": "http://ops:bad-s3cret@127.0.0.1:1/v1"}),
    ] {
        let (status, body) = admin(&gw, "/admin/providers/vllm/endpoints", Some(bad)).await;
        assert!(status == 400 || status == 404, "{status} {body}");
        assert!(!body.contains("s3cret"), "{body}");
    }
    // The URL with its credentials, or as shown, removes it.
    let (status, body) = admin(
        &gw,
        "/admin/providers/vllm/endpoints",
        Some(json!({"remove": added})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(&shown), "{body}");
}
