//! Test harness: the real gateway (in-process Pingora server on a free port) in front of the
//! project's mock upstream (on another free port), plus small HTTP helpers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use llm_gateway::mock::{MockLogEntry, MockOptions, MockState};
use llm_gateway::observability::access_log::AccessLog;
use pingora::server::{RunArgs, ShutdownSignal, ShutdownSignalWatch};

/// A mock upstream on a free port.
pub struct Mock {
    pub addr: SocketAddr,
    pub state: Arc<MockState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Mock {
    pub async fn start() -> Mock {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = MockState::new(MockOptions::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = state.clone();
        tokio::spawn(async move {
            let _ = llm_gateway::mock::serve(listener, s, async move {
                let _ = rx.await;
            })
            .await;
        });
        Mock {
            addr,
            state,
            _stop: tx,
        }
    }

    /// Base URL with the OpenAI `/v1` prefix.
    pub fn v1(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn log(&self) -> Vec<MockLogEntry> {
        self.state.log()
    }

    pub async fn wait_for(&self, pred: impl Fn(&[MockLogEntry]) -> bool) -> bool {
        self.state.wait_for(pred, Duration::from_secs(10)).await
    }
}

struct ChannelWatch(tokio::sync::Mutex<Option<tokio::sync::oneshot::Receiver<ShutdownSignal>>>);

#[async_trait]
impl ShutdownSignalWatch for ChannelWatch {
    async fn recv(&self) -> ShutdownSignal {
        let rx = self.0.lock().await.take();
        match rx {
            Some(rx) => rx.await.unwrap_or(ShutdownSignal::FastShutdown),
            None => std::future::pending().await,
        }
    }
}

/// A running gateway.
pub struct Gateway {
    pub port: u16,
    pub mocks: HashMap<String, Arc<MockState>>,
    stop: Option<tokio::sync::oneshot::Sender<ShutdownSignal>>,
    thread: Option<JoinHandle<()>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Gateway {
    /// Starts the gateway on `config` (TOML; `[server]` port is replaced by a free one).
    pub async fn start(config: &str) -> Gateway {
        let mut config =
            llm_gateway::config::load_str(config, "test.toml").unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        config.server.port = port;
        config.server.threads = Some(2);
        config.server.shutdown_grace_secs = 0;
        let built = llm_gateway::app::build(config, AccessLog::disabled()).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let server = built.server;
        let thread = std::thread::spawn(move || {
            server.run(RunArgs {
                shutdown_signal: Box::new(ChannelWatch(tokio::sync::Mutex::new(Some(rx)))),
            });
        });
        let gw = Gateway {
            port,
            mocks: built.mocks,
            stop: Some(tx),
            thread: Some(thread),
        };
        gw.wait_ready().await;
        gw
    }

    /// Polls `/health` until the listener answers (pingora reports no bound address).
    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..500 {
            if client.get(self.url("/health")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("gateway did not start on port {}", self.port);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// POSTs JSON to the gateway.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
    }

    /// GETs an admin `path` with `token` until it answers 200 (records and audit entries are
    /// written in the background), and returns its JSON.
    pub async fn admin_poll(&self, token: &str, path: &str) -> serde_json::Value {
        for _ in 0..200 {
            let r = reqwest::Client::new()
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            if r.status() == 200 {
                return r.json().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{path} never answered");
    }

    /// The value of one line of `/metrics` (0 when absent), read once every earlier request
    /// has been logged: metrics are recorded in pingora's logging phase, which may run just
    /// after the client received its last byte, so wait until the scrape is the only request
    /// in flight.
    pub async fn metric(&self, line_prefix: &str) -> f64 {
        for _ in 0..500 {
            let text = self.get("/metrics").await.text().await.unwrap();
            if text.lines().any(|l| l == "gateway_requests_in_flight 1") {
                return text
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix(line_prefix)
                            .and_then(|rest| rest.trim().parse().ok())
                    })
                    .unwrap_or(0.0);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("requests stayed in flight");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(ShutdownSignal::FastShutdown);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// POSTs `body` to `/v1/chat/completions` with `key` as the bearer token.
pub async fn call(gw: &Gateway, key: &str, body: &serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A chat request body.
pub fn chat(model: &str, text: &str) -> serde_json::Value {
    serde_json::json!({ "model": model, "messages": [{ "role": "user", "content": text }] })
}

/// A raw HTTP/1.1 POST with `Connection: close`.
pub fn raw_post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The demo config (`conf/demo.toml`) with its SQLite file in `db` instead of `data/`: tests
/// run in parallel, and what one stores (a key, say) must not change another's gateway.
pub fn demo(db: &crate::db::Db) -> String {
    let demo = include_str!("../../conf/demo.toml");
    let url = "url = \"sqlite://data/demo.db\"";
    assert!(
        demo.contains(url),
        "the demo's database moved: update the harness"
    );
    demo.replace(url, &format!("url = \"{}\"", db.url))
}

/// The JSON `data:` payloads of an SSE body (`[DONE]` left out).
pub fn sse_data(body: &str) -> Vec<serde_json::Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// Two providers on the mock: `oa` (OpenAI format) serving `oa_models` and `an` (Anthropic
/// format) serving `an_models` (TOML arrays' items, e.g. `"echo", "echo;split=7"`).
pub fn oa_and_an(mock: &Mock, oa_models: &str, an_models: &str) -> String {
    format!(
        "[[providers]]\nid = \"oa\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [{oa_models}]\n\
         [[providers]]\nid = \"an\"\nprovider_type = \"anthropic\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [{an_models}]\n",
        mock.v1(),
        mock.base()
    )
}

/// Whether Redis answers on 127.0.0.1:6379 (the shared-limits tests skip, saying so, when
/// it does not: `scripts/test.sh` starts it when installed).
pub async fn redis() -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ping = async {
        let mut s = tokio::net::TcpStream::connect("127.0.0.1:6379")
            .await
            .ok()?;
        s.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.ok()?;
        (&buf == b"+PONG\r\n").then_some(())
    };
    let up = tokio::time::timeout(Duration::from_secs(2), ping)
        .await
        .ok()
        .flatten()
        .is_some();
    if !up {
        eprintln!("SKIPPED: no Redis at 127.0.0.1:6379");
    }
    up
}

/// [`call`] on a task of its own (a request held upstream while the test goes on): its status.
pub fn call_in_background(
    gw: &Gateway,
    key: &str,
    body: serde_json::Value,
) -> tokio::task::JoinHandle<reqwest::StatusCode> {
    let (url, key) = (gw.url("/v1/chat/completions"), key.to_string());
    tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    })
}
