//! Hostile upstreams over real sockets: a provider that echoes the request back (its own
//! `authorization` header and key included) or answers garbage must never have its bytes put
//! into the client's error; the client gets a generic description naming the request id, the
//! details go to the log with secrets masked.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::Gateway;

const KEY: &str = "sk-hostile-test-key-0123456789";

/// A raw TCP upstream: reads one request (head and `content-length` body) per connection and
/// answers with `reply(request bytes)`. Returns its base URL.
async fn raw_upstream(reply: fn(&[u8]) -> Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if complete(&buf) {
                        break;
                    }
                }
                let _ = conn.write_all(&reply(&buf)).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    format!("http://{addr}/v1")
}

/// Whether `buf` holds a whole request (head and the body its `content-length` announces).
fn complete(buf: &[u8]) -> bool {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    buf.len() >= head_end + 4 + len
}

fn config(url: &str, provider_type: &str) -> String {
    format!(
        r#"
[resilience.default_retry_policy]
max_attempts = 1
[[providers]]
id = "evil"
provider_type = "{provider_type}"
endpoint = "{url}"
api_key = "{KEY}"
models = ["m"]
"#
    )
}

/// The client's error must not carry the provider's bytes.
fn assert_clean(body: &str) {
    assert!(!body.contains(KEY), "the key leaked: {body}");
    assert!(
        !body.to_ascii_lowercase().contains("authorization"),
        "{body}"
    );
    assert!(
        !body.contains("POST /"),
        "the echoed request leaked: {body}"
    );
    assert!(body.contains("request id"), "names the request id: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_echoes_the_request_leaks_nothing() {
    let url = raw_upstream(|req| req.to_vec()).await;
    let gw = Gateway::start(&config(&url, "openai")).await;
    for stream in [false, true] {
        let body = json!({"model": "evil/m", "stream": stream, "messages": [{"role": "user", "content": "hi"}]});
        let r = gw.post("/v1/chat/completions", &body).await;
        assert_eq!(r.status(), 502);
        let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
        let text = r.text().await.unwrap();
        assert_clean(&text);
        assert!(text.contains(&id), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_after_a_valid_head_leaks_nothing() {
    // A 200 whose JSON body cannot be read as the provider's format (the client speaks
    // Anthropic, so the body must be translated).
    let url = raw_upstream(|req| {
        let body = format!(
            "{{\"choices\": \"{KEY} {}\"",
            String::from_utf8_lossy(req).replace(['"', '\r', '\n'], " ")
        );
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
    .await;
    let gw = Gateway::start(&config(&url, "openai")).await;
    let r = reqwest::Client::new()
        .post(gw.url("/v1/messages"))
        .json(&json!({"model": "evil/m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert_clean(&v.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_body_leaks_nothing() {
    let url = raw_upstream(|req| {
        let mut out =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n"
                .to_vec();
        out.extend_from_slice(req);
        out
    })
    .await;
    let gw = Gateway::start(&config(&url, "openai")).await;
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "evil/m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 502);
    assert_clean(&r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_input_never_shapes_an_upstream_path() {
    let mock = crate::harness::Mock::start().await;
    // The Azure deployment defaults to the client's model.
    let cfg = format!(
        "[[providers]]\nid = \"az\"\nprovider_type = \"azure_openai\"\nendpoint = \"{}\"\napi_key = \"azure-key\"\n",
        mock.base()
    );
    let gw = Gateway::start(&cfg).await;
    let model = "az/../../management/subscriptions?x=";
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let log = mock.log();
    assert_eq!(log.len(), 1);
    assert!(
        log[0].path.starts_with("/openai/deployments/")
            && log[0].path.ends_with("/chat/completions"),
        "{}",
        log[0].path
    );
    assert!(
        !log[0].path.contains("/../") && !log[0].path.contains("/management/"),
        "{}",
        log[0].path
    );
    assert_eq!(log[0].query.as_deref(), Some("api-version=2024-10-21"));
    // A model name with control characters is refused before anything is sent.
    for bad in ["az/echo\u{1}", "az/echo\r\nx-injected: 1", "az/\u{7f}"] {
        let r = gw
            .post(
                "/v1/chat/completions",
                &json!({"model": bad, "messages": [{"role": "user", "content": "hi"}]}),
            )
            .await;
        assert_eq!(r.status(), 400, "{bad:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["param"], "model");
    }
    assert_eq!(mock.log().len(), 1, "nothing else reached the provider");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_chosen_deadline_never_opens_a_shared_circuit() {
    let mock = crate::harness::Mock::start().await;
    let cfg = format!(
        r#"
[resilience.default_retry_policy]
max_attempts = 1
[resilience.default_circuit_breaker]
failure_threshold = 2
[[providers]]
id = "slowp"
provider_type = "openai"
endpoint = "{}"
api_key = "k"
models = ["slow;ttfb_ms=900"]
"#,
        mock.v1()
    );
    let gw = Gateway::start(&cfg).await;
    let body =
        json!({"model": "slowp/slow;ttfb_ms=900", "messages": [{"role": "user", "content": "hi"}]});
    // The realtime profile allows 500 ms to the first byte: this provider is too slow for it.
    for _ in 0..3 {
        let r = reqwest::Client::new()
            .post(gw.url("/v1/chat/completions"))
            .header("x-routing-profile", "realtime")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 504, "{}", r.text().await.unwrap());
    }
    // Everyone else still reaches the provider: its circuit stayed closed.
    let r = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(mock.log().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_upstream_status_is_a_502() {
    let url = raw_upstream(|_| b"HTTP/1.1 999 Weird\r\ncontent-length: 2\r\n\r\n{}".to_vec()).await;
    let gw = Gateway::start(&config(&url, "openai")).await;
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "evil/m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("999"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_model_names_share_one_label_and_one_breaker() {
    let mock = crate::harness::Mock::start().await;
    let cfg = format!(
        "[server]\nadmin_token = \"admin-token-0123456789\"\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n",
        mock.v1()
    );
    let gw = Gateway::start(&cfg).await;
    let client = reqwest::Client::new();
    let url = gw.url("/v1/chat/completions");
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..50 {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            for i in 0..100 {
                let model = format!("m/invented-{worker}-{i}");
                let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
                let r = client.post(&url).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 200);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let requests = gw
        .metric("gateway_requests_total{endpoint=\"chat_completions\",provider=\"m\",model=\"other\",status=\"200\"}")
        .await;
    assert_eq!(requests, 5000.0);
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        !metrics.contains("invented"),
        "a client-chosen name became a series"
    );
    assert!(
        metrics.len() < 64 * 1024,
        "/metrics is {} bytes",
        metrics.len()
    );
    let backends = client
        .get(gw.url("/admin/backends"))
        .bearer_auth("admin-token-0123456789")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!backends.contains("invented"), "{backends}");
}

/// A raw upstream that answers every request with `head`, then writes `repeat` over and over
/// until the gateway goes away.
async fn endless_upstream(head: &'static [u8], repeat: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = conn.read(&mut buf).await;
                if conn.write_all(head).await.is_err() {
                    return;
                }
                while conn.write_all(repeat).await.is_ok() {}
            });
        }
    });
    format!("http://{addr}/v1")
}

const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_events_and_prefixes_are_bounded() {
    // One endless line (a chunk of 'a's, again and again); one endless stream of comments
    // that never carries content.
    let line: &'static [u8] = Box::leak(
        format!("1000\r\n{}\r\n", "a".repeat(0x1000))
            .into_bytes()
            .into_boxed_slice(),
    );
    let cases: [&'static [u8]; 2] = [line, b"d\r\n: keep-alive\n\n\r\n"];
    for repeat in cases {
        let url = endless_upstream(SSE_HEAD, repeat).await;
        let cfg = config(&url, "openai").replace(
            "[resilience.default_retry_policy]",
            "[server]\nmax_sse_line_bytes = 65536\n[resilience.default_retry_policy]",
        );
        let gw = Gateway::start(&cfg).await;
        let started = std::time::Instant::now();
        let body = json!({"model": "evil/m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
        let r = gw.post("/v1/chat/completions", &body).await;
        assert_eq!(r.status(), 502, "{}", r.text().await.unwrap());
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_with_its_upstream() {
    // An endless, well-formed stream; the upstream reports when the gateway let it go.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (released_tx, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 65536];
        let _ = conn.read(&mut buf).await;
        let event = format!(
            "data: {{\"id\":\"x\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n",
            "a".repeat(4000)
        );
        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
        if conn.write_all(SSE_HEAD).await.is_ok() {
            while conn.write_all(chunk.as_bytes()).await.is_ok() {}
        }
        let _ = released_tx.send(());
    });
    let cfg = config(&url, "openai").replace(
        "[resilience.default_retry_policy]",
        "[server]\nclient_write_timeout_secs = 1\n[resilience.default_retry_policy]",
    );
    let gw = Gateway::start(&cfg).await;
    let addr = gw.addr();
    let body = r#"{"model":"evil/m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let conn = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.write_all(req.as_bytes()).unwrap();
        let mut first = [0u8; 64];
        let n = conn.read(&mut first).unwrap();
        assert!(first[..n].starts_with(b"HTTP/1.1 200"));
        conn // kept open, never read again
    })
    .await
    .unwrap();
    // Once the client's buffers are full, a write waits past the limit: the gateway gives up
    // on the client and drops the provider's stream.
    tokio::time::timeout(std::time::Duration::from_secs(20), released)
        .await
        .expect("the provider's stream is released")
        .unwrap();
    drop(conn);
}
