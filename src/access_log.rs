//! The structured access log (O2): one JSON line per request, written through the
//! non-blocking log writer so the request path never waits on stdout. Enabled when the
//! `llm_gateway::access` target is at `info` under `RUST_LOG` (the default).

use std::io::Write;
use std::time::SystemTime;

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
    pub cost_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

#[derive(Serialize)]
struct Line<'a> {
    timestamp: String,
    level: &'static str,
    target: &'static str,
    #[serde(flatten)]
    record: &'a AccessRecord<'a>,
}

/// Writes access lines.
pub struct AccessLog {
    writer: Option<tracing_appender::non_blocking::NonBlocking>,
}

impl AccessLog {
    /// A log writing through `writer`; `None` disables it.
    pub fn new(writer: Option<tracing_appender::non_blocking::NonBlocking>) -> Self {
        Self { writer }
    }

    /// Writes one line when the access target is enabled.
    pub fn write(&self, record: &AccessRecord<'_>) {
        let Some(writer) = &self.writer else { return };
        if !tracing::enabled!(target: "llm_gateway::access", tracing::Level::INFO) {
            return;
        }
        let line = Line {
            timestamp: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            level: "INFO",
            target: "llm_gateway::access",
            record,
        };
        let mut buf = Vec::with_capacity(512);
        if serde_json::to_writer(&mut buf, &line).is_ok() {
            buf.push(b'\n');
            // The non-blocking writer only queues the line; a full queue drops it (counted by
            // tracing-appender) rather than stalling the request.
            let _ = writer.clone().write_all(&buf);
        }
    }
}
