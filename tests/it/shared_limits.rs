//! Limits shared by several instances through Redis (the machine's, under a key prefix of
//! each test's own): two gateways on one Redis refuse as one; concurrency slots and token
//! reservations are seen by both; when Redis is cut (a TCP relay in front of it that the test
//! breaks, never the machine's Redis itself) limits fail open onto each instance's own
//! limiter or closed with a 503, as configured, and recover when it is back; budgets always
//! fail closed; leases take load off Redis without losing or overshooting more than one
//! lease per instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::Client;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{Gateway, Mock, call, call_in_background, chat, redis};

const REDIS: &str = "127.0.0.1:6379";
const ADMIN: &str = "admin-token-for-the-tests-0123";

/// A TCP relay to Redis that can be cut (every connection closed, new ones refused) and
/// restored.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    cuts_tx: tokio::sync::watch::Sender<u64>,
}

impl Relay {
    async fn start() -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let (cuts_tx, _) = tokio::sync::watch::channel(0u64);
        let (c, g) = (cut.clone(), cuts_tx.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let mut cuts = g.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(REDIS).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Relay { port, cut, cuts_tx }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cuts_tx.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

pub(crate) fn prefix() -> String {
    format!("llmgw-test-{:016x}:", rand::random::<u64>())
}

/// A gateway with provider `m` (the mock), key `vk-a`, the default limits `limits` and
/// Redis at `port` under `prefix`.
async fn gateway(mock: &Mock, port: u16, prefix: &str, extra: &str, limits: &str) -> Gateway {
    let cfg = format!(
        "[key_map.vk-a]\nlabel = \"alpha\"\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n[[models]]\nid = \"echo\"\nprovider = \"m\"\nmax_output_tokens = 1000\n[redis]\nurl = \"redis://127.0.0.1:{port}\"\nkey_prefix = \"{prefix}\"\n[rate_limit]\nenabled = true\n{extra}\n[rate_limit.default_limits]\n{limits}\n",
        mock.v1()
    );
    Gateway::start(&cfg).await
}

async fn status(gw: &Gateway) -> u16 {
    call(gw, "vk-a", &chat("m/echo", "hi"))
        .await
        .status()
        .as_u16()
}

/// Waits until the gateway's Redis connection is `up`.
pub(crate) async fn redis_up(gw: &Gateway, up: bool) {
    for _ in 0..400 {
        if (gw.metric("gateway_redis_up").await == 1.0) == up {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gateway_redis_up never became {up}");
}

#[tokio::test]
async fn two_instances_share_one_limit() {
    if !redis().await {
        return;
    }
    let mock = Mock::start().await;
    let p = prefix();
    let limits = "rpm = 4\ntpm = 0\nrpd = 0\nconcurrent = 0";
    let a = gateway(&mock, 6379, &p, "", limits).await;
    let b = gateway(&mock, 6379, &p, "", limits).await;
    redis_up(&a, true).await;
    redis_up(&b, true).await;
    let mut codes = Vec::new();
    for i in 0..8 {
        codes.push(status(if i % 2 == 0 { &a } else { &b }).await);
    }
    assert_eq!(codes, [200, 200, 200, 200, 429, 429, 429, 429]);
    // The refusal says when, from the shared state, in both instances' headers.
    let resp = call(&b, "vk-a", &chat("m/echo", "hi")).await;
    assert_eq!(resp.headers()["x-gateway-limit-kind"], "rpm");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((14..=15).contains(&retry), "{retry}");
    assert_eq!(mock.log().len(), 4);
    // Another prefix is another deployment: its own limit.
    let other = gateway(&mock, 6379, &prefix(), "", limits).await;
    redis_up(&other, true).await;
    assert_eq!(status(&other).await, 200);
}

#[tokio::test]
async fn leases_spare_round_trips_lose_little_and_never_overshoot() {
    if !redis().await {
        return;
    }
    let mock = Mock::start().await;
    let p = prefix();
    // rpm 500: each instance leases 5 at a time.
    let limits = "rpm = 500\ntpm = 0\nrpd = 0\nconcurrent = 0";
    let a = gateway(&mock, 6379, &p, "", limits).await;
    let b = gateway(&mock, 6379, &p, "", limits).await;
    redis_up(&a, true).await;
    redis_up(&b, true).await;
    let urls = [a.url("/v1/chat/completions"), b.url("/v1/chat/completions")];
    let started = std::time::Instant::now();
    // 16 clients at once, so that requests miss a spent lease together.
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let url = urls[w % 2].clone();
            tokio::spawn(async move {
                let client = Client::new();
                let mut seen = Vec::new();
                for _ in 0..40 {
                    let resp = client
                        .post(&url)
                        .bearer_auth("vk-a")
                        .json(&chat("m/echo", "hi"))
                        .send()
                        .await
                        .unwrap();
                    let remaining = resp
                        .headers()
                        .get("x-ratelimit-remaining-requests")
                        .map(|v| v.to_str().unwrap().to_string());
                    seen.push((resp.status().as_u16(), remaining));
                }
                seen
            })
        })
        .collect();
    let mut answers = Vec::new();
    for w in workers {
        answers.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let accepted: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 429));
    // Leased units are charged to the bucket when taken: at most the burst and the refill
    // (plus one lease per instance over a window that starts mid-way; none here).
    let bucket = 500 + (elapsed * 500.0 / 60.0).ceil() as usize;
    assert!(accepted.len() <= bucket, "{} > {bucket}", accepted.len());
    // At most one lease per instance is left unused.
    assert!(accepted.len() >= 500 - 2 * 5, "{}", accepted.len());
    assert_eq!(mock.log().len(), accepted.len());
    // Answers from a lease repeat the quota Redis gave with it: fewer distinct values than
    // answers, so some requests never went to Redis.
    let distinct: std::collections::HashSet<_> = accepted.iter().map(|(_, r)| r).collect();
    assert!(
        distinct.len() * 4 < accepted.len() * 3,
        "{} distinct of {}",
        distinct.len(),
        accepted.len()
    );
}

#[tokio::test]
async fn slots_and_token_reservations_are_seen_by_every_instance() {
    if !redis().await {
        return;
    }
    let mock = Mock::start().await;
    let p = prefix();
    let limits = "rpm = 0\ntpm = 2000\nrpd = 0\nconcurrent = 1";
    let a = gateway(&mock, 6379, &p, "", limits).await;
    let b = gateway(&mock, 6379, &p, "", limits).await;
    redis_up(&a, true).await;
    redis_up(&b, true).await;
    let mut body = chat("m/echo;ttfb_ms=800", "hi");
    body["max_tokens"] = 1500.into();
    let slow = call_in_background(&a, "vk-a", body);
    assert!(mock.wait_for(|log| log.len() == 1).await);
    // The slot is held on `a`: `b` refuses for concurrency.
    let resp = call(&b, "vk-a", &chat("m/echo", "hi")).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-gateway-limit-kind"], "concurrent");
    assert_eq!(slow.await.unwrap(), 200);
    // Freed, and the 1,500 tokens reserved were settled to the few used: `b` may reserve
    // 1,500 again.
    let mut freed = false;
    for _ in 0..100 {
        let mut body = chat("m/echo", "hi");
        body["max_tokens"] = 1500.into();
        let resp = call(&b, "vk-a", &body).await;
        if resp.status() == 200 {
            let remaining: u64 = resp.headers()["x-ratelimit-remaining-tokens"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(remaining < 500, "{remaining}");
            freed = true;
            break;
        }
        // The release is sent without waiting: it may land a moment later.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed, "the slot or the tokens were never given back");
}

#[tokio::test]
async fn redis_cut_fails_open_onto_the_local_limiter_then_recovers() {
    if !redis().await {
        return;
    }
    let mock = Mock::start().await;
    let relay = Relay::start().await;
    let p = prefix();
    let gw = gateway(
        &mock,
        relay.port,
        &p,
        "",
        "rpm = 3\ntpm = 0\nrpd = 0\nconcurrent = 0",
    )
    .await;
    redis_up(&gw, true).await;
    assert_eq!(status(&gw).await, 200);
    relay.cut();
    redis_up(&gw, false).await;
    // Open: this instance's own limiter still applies its 3 a minute.
    let codes = [
        status(&gw).await,
        status(&gw).await,
        status(&gw).await,
        status(&gw).await,
    ];
    assert_eq!(codes, [200, 200, 200, 429]);
    assert!(gw.metric("gateway_redis_errors_total").await >= 4.0);
    // Back: Redis's count (one so far) decides again.
    relay.restore();
    redis_up(&gw, true).await;
    assert_eq!(
        [status(&gw).await, status(&gw).await, status(&gw).await],
        [200, 200, 429]
    );
}

#[tokio::test]
async fn redis_cut_fails_closed_when_told_to() {
    if !redis().await {
        return;
    }
    let mock = Mock::start().await;
    let relay = Relay::start().await;
    let gw = gateway(
        &mock,
        relay.port,
        &prefix(),
        "on_redis_error = \"closed\"",
        "rpm = 100\ntpm = 0\nrpd = 0\nconcurrent = 0",
    )
    .await;
    redis_up(&gw, true).await;
    assert_eq!(status(&gw).await, 200);
    relay.cut();
    redis_up(&gw, false).await;
    let resp = call(&gw, "vk-a", &chat("m/echo", "hi")).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("fail closed"), "{message}");
    assert!(
        !message.contains("6379") && !message.contains("127.0.0.1"),
        "{message}"
    );
    assert_eq!(mock.log().len(), 1);
    relay.restore();
    redis_up(&gw, true).await;
    assert_eq!(status(&gw).await, 200);
}

#[tokio::test]
async fn budgets_fail_closed_when_redis_is_cut() {
    if !redis().await {
        return;
    }
    let mock = Mock::start().await;
    let relay = Relay::start().await;
    let db = crate::db::Db::sqlite();
    let cfg = format!(
        "[server]\nadmin_token = \"{ADMIN}\"\n{}\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n[[models]]\nid = \"echo\"\nprovider = \"m\"\ninput_price_per_mtok = 1.0\noutput_price_per_mtok = 1.0\n[redis]\nurl = \"redis://127.0.0.1:{}\"\nkey_prefix = \"{}\"\n",
        db.section(),
        mock.v1(),
        relay.port,
        prefix()
    );
    let gw = Gateway::start(&cfg).await;
    let created: Value = Client::new()
        .post(gw.url("/admin/keys"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"name": "b", "max_budget_usd": 10.0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["key"].as_str().unwrap();
    redis_up(&gw, true).await;
    assert_eq!(call(&gw, secret, &chat("m/echo", "hi")).await.status(), 200);
    relay.cut();
    redis_up(&gw, false).await;
    let resp = call(&gw, secret, &chat("m/echo", "hi")).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("never fail open"),
        "{body}"
    );
    assert_eq!(mock.log().len(), 1);
    relay.restore();
    redis_up(&gw, true).await;
    assert_eq!(call(&gw, secret, &chat("m/echo", "hi")).await.status(), 200);
}
