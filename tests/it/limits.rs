//! Rate limits on one instance, over real sockets: requests per minute and per day, tokens
//! per minute (reserved, then settled to the usage), concurrent requests (slots freed when a
//! request ends, also when its client goes away), overrides by key label and the admin API's
//! per-key limits, and the 429 in both formats. A refused request never reaches the mock.

use std::time::Duration;

use reqwest::{Client, Response};
use serde_json::{Value, json};

use crate::harness::{Gateway, Mock, call, call_in_background, chat};

const ADMIN: &str = "admin-token-for-the-tests-0123";

/// A gateway with provider `m` (the mock), keys `vk-a` (label "alpha") and `vk-b` (label
/// "beta"), and `limits` appended (`[rate_limit]` sections).
async fn gateway(mock: &Mock, limits: &str) -> Gateway {
    let cfg = format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n[key_map.vk-a]\nlabel = \"alpha\"\n[key_map.vk-b]\nlabel = \"beta\"\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n[[models]]\nid = \"echo\"\nprovider = \"m\"\nmax_output_tokens = 1000\n{limits}",
        mock.v1()
    );
    Gateway::start(&cfg).await
}

fn capped(model: &str, max_tokens: u64) -> Value {
    let mut body = chat(model, "hi");
    body["max_tokens"] = json!(max_tokens);
    body
}

/// Checks a 429 of `kind` in OpenAI's format and returns its `Retry-After`.
async fn refused(resp: Response, kind: &str) -> u64 {
    assert_eq!(resp.status(), 429);
    assert_eq!(
        resp.headers()["x-gateway-limit-kind"].to_str().unwrap(),
        kind
    );
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["kind"], kind, "{body}");
    assert_eq!(body["error"]["retry_after_seconds"], retry, "{body}");
    retry
}

#[tokio::test]
async fn requests_per_minute_refuse_in_both_formats_before_any_provider_call() {
    let mock = Mock::start().await;
    let gw = gateway(
        &mock,
        "[rate_limit]\nenabled = true\n[rate_limit.default_limits]\nrpm = 2\ntpm = 0\nrpd = 0\nconcurrent = 0\n",
    )
    .await;
    // Every answer says where the caller stands, as OpenAI's headers do.
    for remaining in ["1", "0"] {
        let resp = call(&gw, "vk-a", &chat("m/echo", "hi")).await;
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h["x-ratelimit-limit-requests"], "2");
        assert_eq!(h["x-ratelimit-remaining-requests"], remaining);
        assert!(h.get("x-ratelimit-limit-tokens").is_none());
    }
    // Two a minute: the next one is 30 s away.
    let retry = refused(call(&gw, "vk-a", &chat("m/echo", "hi")).await, "rpm").await;
    assert!((29..=30).contains(&retry), "{retry}");
    let resp = Client::new()
        .post(gw.url("/v1/messages"))
        .header("x-api-key", "vk-a")
        .json(&json!({"model": "m/echo", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-gateway-limit-kind"], "rpm");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    assert_eq!(body["error"]["kind"], "rpm", "{body}");
    // The other key has its own two.
    assert_eq!(call(&gw, "vk-b", &chat("m/echo", "hi")).await.status(), 200);
    assert_eq!(mock.log().len(), 3);
}

#[tokio::test]
async fn overrides_by_label_and_per_day_limits() {
    let mock = Mock::start().await;
    let gw = gateway(
        &mock,
        "[rate_limit]\nenabled = true\n[rate_limit.default_limits]\nrpm = 100\ntpm = 0\nrpd = 0\nconcurrent = 0\n[rate_limit.tenant_limits.beta]\nrpm = 100\ntpm = 0\nrpd = 1\nconcurrent = 0\n",
    )
    .await;
    assert_eq!(call(&gw, "vk-b", &chat("m/echo", "hi")).await.status(), 200);
    let retry = refused(call(&gw, "vk-b", &chat("m/echo", "hi")).await, "rpd").await;
    assert!(retry > 86_000, "{retry}");
    for _ in 0..3 {
        assert_eq!(call(&gw, "vk-a", &chat("m/echo", "hi")).await.status(), 200);
    }
}

#[tokio::test]
async fn tokens_are_reserved_then_settled_to_the_usage() {
    let mock = Mock::start().await;
    let gw = gateway(
        &mock,
        "[rate_limit]\nenabled = true\n[rate_limit.default_limits]\nrpm = 100\ntpm = 1000\nrpd = 0\nconcurrent = 0\n",
    )
    .await;
    // Each reserves its body and 900 tokens of answer, and settles to the few it used: one
    // after another they all pass.
    for _ in 0..5 {
        let resp = call(&gw, "vk-a", &capped("m/echo", 900)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-ratelimit-limit-tokens"], "1000");
        let remaining: u64 = resp.headers()["x-ratelimit-remaining-tokens"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..100).contains(&remaining), "{remaining}");
    }
    // A request that may use more than the whole limit never passes.
    let resp = call(&gw, "vk-a", &capped("m/echo", 1_200)).await;
    assert_eq!(resp.status(), 429);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "tpm", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000 tokens per minute"),
        "{body}"
    );
    // Two at once: the second finds the first's reservation.
    let slow = capped("m/echo;ttfb_ms=800", 900);
    let first = call_in_background(&gw, "vk-a", slow);
    assert!(mock.wait_for(|log| log.len() == 6).await);
    refused(call(&gw, "vk-a", &capped("m/echo", 900)).await, "tpm").await;
    assert_eq!(first.await.unwrap(), 200);
}

#[tokio::test]
async fn concurrent_slots_are_freed_when_requests_end_or_clients_leave() {
    let mock = Mock::start().await;
    let gw = gateway(
        &mock,
        "[rate_limit]\nenabled = true\n[rate_limit.default_limits]\nrpm = 1000\ntpm = 0\nrpd = 0\nconcurrent = 2\n",
    )
    .await;
    let slow = |ms: u64| chat(&format!("m/echo;ttfb_ms={ms}"), "hi");
    let url = gw.url("/v1/chat/completions");
    let spawn = |body: Value| {
        let url = url.clone();
        tokio::spawn(async move {
            Client::new()
                .post(url)
                .bearer_auth("vk-a")
                .json(&body)
                .send()
                .await
                .map(|r| r.status())
        })
    };
    let a = spawn(slow(600));
    let b = spawn(slow(600));
    assert!(mock.wait_for(|log| log.len() == 2).await);
    refused(call(&gw, "vk-a", &chat("m/echo", "hi")).await, "concurrent").await;
    assert_eq!(a.await.unwrap().unwrap(), 200);
    assert_eq!(b.await.unwrap().unwrap(), 200);
    assert_eq!(call(&gw, "vk-a", &chat("m/echo", "hi")).await.status(), 200);
    // Two clients that leave while their requests wait upstream free their slots.
    let c = spawn(slow(20_000));
    let d = spawn(slow(20_000));
    assert!(mock.wait_for(|log| log.len() == 5).await);
    c.abort();
    d.abort();
    let mut passed = false;
    for _ in 0..200 {
        if call(&gw, "vk-a", &chat("m/echo", "hi")).await.status() == 200 {
            passed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        passed,
        "the slots of the clients that left were never freed"
    );
}

#[tokio::test]
async fn a_key_created_through_the_admin_api_keeps_its_own_limits() {
    let mock = Mock::start().await;
    let gw = gateway(
        &mock,
        "[rate_limit]\nenabled = true\n[rate_limit.default_limits]\nrpm = 100\ntpm = 0\nrpd = 0\nconcurrent = 0\n",
    )
    .await;
    let created: Value = Client::new()
        .post(gw.url("/admin/keys"))
        .bearer_auth(ADMIN)
        .json(&json!({"name": "tight", "limits": {"rpm": 1}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["key"].as_str().unwrap();
    assert_eq!(call(&gw, secret, &chat("m/echo", "hi")).await.status(), 200);
    refused(call(&gw, secret, &chat("m/echo", "hi")).await, "rpm").await;
    // The config key is under the defaults.
    for _ in 0..3 {
        assert_eq!(call(&gw, "vk-a", &chat("m/echo", "hi")).await.status(), 200);
    }
}

#[tokio::test]
async fn provider_quotas_deprioritise_at_the_threshold_then_skip() {
    let (a, b) = (Mock::start().await, Mock::start().await);
    let cfg = format!(
        "[[providers]]\nid = \"a\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n[[providers]]\nid = \"b\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n[[pools]]\nname = \"p\"\nstrategy = \"priority\"\nmembers = [{{ model = \"a/echo\" }}, {{ model = \"b/echo\" }}]\n[provider_quota]\nenabled = true\n[provider_quota.provider_limits.a]\nrpm = 10\ntpm = 0\n[provider_quota.provider_limits.b]\nrpm = 3\ntpm = 0\n",
        a.v1(),
        b.v1()
    );
    let gw = Gateway::start(&cfg).await;
    let send = || async { gw.post("/v1/chat/completions", &chat("p", "hi")).await };
    for _ in 0..9 {
        assert_eq!(send().await.status(), 200);
    }
    assert_eq!((a.log().len(), b.log().len()), (9, 0));
    // `a` is at 90 % of its 10 a minute: `b` first now, while `b` has room.
    for _ in 0..3 {
        assert_eq!(send().await.status(), 200);
    }
    assert_eq!((a.log().len(), b.log().len()), (9, 3));
    // `b` is spent: `a`, last in the chain, serves its tenth.
    assert_eq!(send().await.status(), 200);
    assert_eq!((a.log().len(), b.log().len()), (10, 3));
    // Both spent: refused before any provider is called.
    let resp = send().await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-gateway-limit-kind"], "provider_quota");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "provider_quota", "{body}");
    assert_eq!((a.log().len(), b.log().len()), (10, 3));
}

/// A request's slot and tokens are given back before its answer's last byte: a client that
/// sends one request after another (each on a new connection) is never refused for its own
/// previous request, streamed or not.
#[tokio::test]
async fn a_sequential_client_never_waits_for_its_previous_request() {
    let mock = Mock::start().await;
    let gw = gateway(
        &mock,
        "[rate_limit]\nenabled = true\n[rate_limit.default_limits]\nrpm = 0\ntpm = 1200\nrpd = 0\nconcurrent = 1\n",
    )
    .await;
    for i in 0..40 {
        // Each reserves 1,000 tokens of 1,200 and uses a few: only a settled previous
        // request leaves room for the next.
        let mut body = capped("m/echo", 1000);
        if i % 2 == 1 {
            body["stream"] = json!(true);
        }
        let resp = call(&gw, "vk-a", &body).await;
        assert_eq!(resp.status(), 200, "request {i}");
        resp.bytes().await.unwrap();
    }
}
