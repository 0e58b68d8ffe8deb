//! A `local` provider with several `endpoints`: round robin across healthy replicas, active
//! health checks taking a dead replica out, and runtime membership through the admin API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Gateway, Mock, chat};

const TOKEN: &str = "admin-token-for-replicas";

/// Chat requests a replica served (its log also holds the health checks).
fn chats(m: &Mock) -> usize {
    m.log()
        .iter()
        .filter(|e| e.path.ends_with("/chat/completions"))
        .count()
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
