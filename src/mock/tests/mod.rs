//! Tests of the mock upstream over real sockets: a mock on a free port and a raw HTTP/1.1
//! client written here, so chunk boundaries, cut connections and closes are observable.
//!
//! `formats` covers the three wire formats, `faults` the failure behaviours and the log,
//! `rescue` what mid-stream rescue needs (prefill, `faults=`, `cut=`, `close_ms=`, `vary=`).

mod faults;
mod formats;
mod rescue;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{MockOptions, MockState, serve};

/// Generous bound so a broken test fails instead of hanging; never used to synchronise.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A mock upstream running on a free port.
pub(super) struct Mock {
    pub addr: SocketAddr,
    pub state: Arc<MockState>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Mock {
    pub async fn start() -> Mock {
        Mock::start_with(MockOptions::default()).await
    }

    pub async fn start_with(opts: MockOptions) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = MockState::new(opts);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve(listener, state.clone(), shutdown));
        Mock {
            addr,
            state,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the server and waits until `serve` returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        tokio::time::timeout(TEST_TIMEOUT, task)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
    }

    pub async fn post(&self, path: &str, body: &Value) -> Raw {
        self.send("POST", path, Some(body.to_string().as_bytes()))
            .await
    }

    pub async fn get(&self, path: &str) -> Raw {
        self.send("GET", path, None).await
    }

    /// One request on a fresh connection (`Connection: close`), read to EOF.
    pub async fn send(&self, method: &str, path: &str, body: Option<&[u8]>) -> Raw {
        let mut stream = self.connect(method, path, body).await;
        let mut buf = Vec::new();
        let read = async {
            let mut chunk = [0u8; 8192];
            loop {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        };
        tokio::time::timeout(TEST_TIMEOUT, read)
            .await
            .expect("response ends");
        Raw::parse(&buf)
    }

    /// Opens a connection and writes one request on it.
    pub async fn connect(&self, method: &str, path: &str, body: Option<&[u8]>) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let body = body.unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\
             X-Test-Header: yes\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        stream
    }
}

/// Reads from `stream` until `done` holds for what was read; returns it.
pub(super) async fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        while !done(&buf) {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(TEST_TIMEOUT, read)
        .await
        .expect("data arrives");
    buf
}

/// A response as read off the wire.
#[derive(Debug)]
pub(super) struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Sizes of the chunks of a chunked body.
    pub chunks: Vec<usize>,
    /// The body ended properly (chunked terminator, or all of Content-Length).
    pub complete: bool,
}

impl Raw {
    pub fn parse(buf: &[u8]) -> Raw {
        let end = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = std::str::from_utf8(&buf[..end]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| l.split_once(':').unwrap())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let rest = &buf[end + 4..];
        let mut raw = Raw {
            status,
            headers,
            body: Vec::new(),
            chunks: Vec::new(),
            complete: false,
        };
        if raw.header("transfer-encoding") == Some("chunked") {
            raw.dechunk(rest);
        } else if let Some(len) = raw.header("content-length") {
            let len: usize = len.parse().unwrap();
            raw.complete = rest.len() >= len;
            raw.body = rest[..len.min(rest.len())].to_vec();
        } else {
            raw.body = rest.to_vec();
            raw.complete = true;
        }
        raw
    }

    fn dechunk(&mut self, mut rest: &[u8]) {
        loop {
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size_line = std::str::from_utf8(&rest[..eol]).unwrap();
            let size = usize::from_str_radix(size_line.trim(), 16).unwrap();
            rest = &rest[eol + 2..];
            if size == 0 {
                self.complete = rest.starts_with(b"\r\n");
                return;
            }
            if rest.len() < size + 2 {
                self.body.extend_from_slice(&rest[..size.min(rest.len())]);
                return;
            }
            self.body.extend_from_slice(&rest[..size]);
            self.chunks.push(size);
            rest = &rest[size + 2..];
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The `data:` payloads of an SSE body, in order (`[DONE]` included).
    pub fn data(&self) -> Vec<String> {
        self.text()
            .replace("\r\n", "\n")
            .split("\n\n")
            .flat_map(|event| event.lines())
            .filter_map(|line| line.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    /// The `data:` payloads that are JSON, parsed.
    pub fn events(&self) -> Vec<Value> {
        self.data()
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect()
    }
}

/// An OpenAI chat request with one user message.
pub(super) fn chat(model: &str, prompt: &str, stream: bool) -> Value {
    serde_json::json!({
        "model": model,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": prompt}
        ]
    })
}

/// An Anthropic Messages request with one user message.
pub(super) fn messages(model: &str, prompt: &str, stream: bool) -> Value {
    serde_json::json!({
        "model": model,
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    })
}

/// A Gemini request with one user content.
pub(super) fn contents(prompt: &str) -> Value {
    serde_json::json!({"contents": [{"role": "user", "parts": [{"text": prompt}]}]})
}

/// Waits until a log entry for `model` has `outcome`.
pub(super) async fn outcome_becomes(mock: &Mock, model: &str, outcome: super::MockOutcome) -> bool {
    mock.state
        .wait_for(
            |log| log.iter().any(|e| e.model == model && e.outcome == outcome),
            TEST_TIMEOUT,
        )
        .await
}
