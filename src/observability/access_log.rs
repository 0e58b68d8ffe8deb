//! The structured access log (O2): one JSON line per request. Enabled when the
//! `llm_gateway::access` target is at `info` under `RUST_LOG` (the default).
//!
//! Lines are appended to a shared buffer under a short lock; a writer thread drains it every
//! [`FLUSH_INTERVAL`] (or as soon as it holds [`FLUSH_BYTES`]) in one write. The request path
//! never waits on the sink and costs no system call or thread wake-up per line (a queue handing
//! each line to a writer thread cost a futex wake and a context switch per request). Past
//! [`MAX_QUEUED`] bytes, lines are dropped and counted rather than stalling requests.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use serde::Serialize;

/// One request, as logged.
#[derive(Debug, Serialize)]
pub struct AccessRecord<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub endpoint: &'a str,
    pub status: u16,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<&'a str>,
    pub stream: bool,
    pub attempts: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub usage_estimated: bool,
    pub cost_usd: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub continuations: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Line<'a> {
    timestamp: String,
    level: &'static str,
    target: &'static str,
    #[serde(flatten)]
    record: &'a AccessRecord<'a>,
}

/// How long a line may wait in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// A buffer this full is written at once.
pub const FLUSH_BYTES: usize = 64 * 1024;
/// Lines beyond this many queued bytes (the sink is not keeping up) are dropped.
pub const MAX_QUEUED: usize = 16 * 1024 * 1024;

/// What the request path and the writer thread share.
struct Shared {
    buf: Mutex<Vec<u8>>,
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// Writes access lines.
pub struct AccessLog {
    shared: Option<Arc<Shared>>,
    writer: Option<Thread>,
}

/// Stops the writer thread when dropped, after writing what is still buffered.
pub struct AccessLogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for AccessLogGuard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl AccessLog {
    /// A log that writes nothing.
    pub fn disabled() -> Self {
        Self {
            shared: None,
            writer: None,
        }
    }

    /// A log writing to `sink` from its own thread. Keep the guard alive while serving.
    pub fn to_writer<W: Write + Send + 'static>(
        sink: W,
    ) -> std::io::Result<(Self, AccessLogGuard)> {
        let shared = Arc::new(Shared {
            buf: Mutex::new(Vec::with_capacity(FLUSH_BYTES)),
            dropped: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || drain(&for_thread, sink))?;
        let log = Self {
            shared: Some(shared.clone()),
            writer: Some(thread.thread().clone()),
        };
        Ok((
            log,
            AccessLogGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Lines dropped so far because the sink did not keep up.
    pub fn dropped(&self) -> u64 {
        self.shared
            .as_ref()
            .map_or(0, |s| s.dropped.load(Ordering::Relaxed))
    }

    /// Writes one line when the access target is enabled.
    pub fn write(&self, record: &AccessRecord<'_>) {
        let Some(shared) = &self.shared else { return };
        if !tracing::enabled!(target: "llm_gateway::access", tracing::Level::INFO) {
            return;
        }
        let line = Line {
            timestamp: humantime::format_rfc3339_micros(wall_clock()).to_string(),
            level: "INFO",
            target: "llm_gateway::access",
            record,
        };
        let mut buf = shared.buf.lock();
        if buf.len() >= MAX_QUEUED {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let before = buf.len();
        // Serialising into a Vec cannot fail on I/O; a failed record leaves no partial line.
        if serde_json::to_writer(&mut *buf, &line).is_err() {
            buf.truncate(before);
            return;
        }
        buf.push(b'\n');
        let full = before < FLUSH_BYTES && buf.len() >= FLUSH_BYTES;
        drop(buf);
        if full && let Some(t) = &self.writer {
            t.unpark();
        }
    }
}

/// The writer thread: takes the buffer every [`FLUSH_INTERVAL`] (or when woken) and writes
/// it out in one go, until stopped (then once more).
fn drain<W: Write>(shared: &Shared, mut sink: W) {
    let mut spare = Vec::with_capacity(FLUSH_BYTES);
    let mut reported = 0;
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        std::mem::swap(&mut *shared.buf.lock(), &mut spare);
        if !spare.is_empty() {
            let _ = sink.write_all(&spare).and_then(|()| sink.flush());
            spare.clear();
            if spare.capacity() > 4 * FLUSH_BYTES {
                spare.shrink_to(FLUSH_BYTES);
            }
        }
        let dropped = shared.dropped.load(Ordering::Relaxed);
        if dropped > reported {
            tracing::warn!(
                dropped = dropped - reported,
                "access log lines dropped: the log sink is not keeping up"
            );
            reported = dropped;
        }
        if stopping {
            return;
        }
        std::thread::park_timeout(FLUSH_INTERVAL);
    }
}

/// The access line's timestamp.
fn wall_clock() -> SystemTime {
    #[expect(
        clippy::disallowed_methods,
        reason = "an access line is stamped with wall-clock time"
    )]
    SystemTime::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn record(id: &str) -> AccessRecord<'_> {
        AccessRecord {
            request_id: id,
            method: "POST",
            path: "/v1/chat/completions",
            endpoint: "chat_completions",
            status: 200,
            latency_ms: 1.5,
            ttft_ms: None,
            model: Some("gpt-4o"),
            provider: None,
            upstream_model: None,
            tenant: None,
            stream: false,
            attempts: 1,
            prompt_tokens: 3,
            completion_tokens: 4,
            usage_estimated: false,
            cost_usd: 0.0,
            continuations: 0,
            error: None,
        }
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_the_guard_is_dropped() {
        let sink = Sink::default();
        let (log, guard) = AccessLog::to_writer(sink.clone()).unwrap();
        // Written without a subscriber: `enabled!` is false, so enable the target for the test.
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "llm_gateway::access=info",
            ))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..2000 {
                log.write(&record(&format!("req_{i}")));
            }
        });
        drop(guard);
        let out = String::from_utf8(sink.0.lock().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2000);
        for (i, line) in lines.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["request_id"], format!("req_{i}"));
            assert_eq!(v["target"], "llm_gateway::access");
            assert_eq!(v["status"], 200);
        }
        assert_eq!(log.dropped(), 0);
    }

    #[test]
    fn a_disabled_log_writes_nothing() {
        let log = AccessLog::disabled();
        log.write(&record("req_1"));
        assert_eq!(log.dropped(), 0);
    }
}
