//! The record of one request the mock received ([`MockLogEntry`]) and how its exchange ended
//! ([`MockOutcome`]), as kept in the log and served by `GET /_mock/log`.
//!
//! Plain data: depends on no other part of the mock (nor of the crate), so `server`, `state`
//! and `stream` may use it without importing `mock/mod.rs`; `mod.rs` re-exports both types.

use std::collections::BTreeMap;

/// One request the mock received.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MockLogEntry {
    /// 1 for the first request the mock saw; never reused (not even after a clear).
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Model as sent (body `model`, Azure deployment or Gemini path); empty if none.
    pub model: String,
    pub stream: bool,
    /// All request headers, lower-case names; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body_len: usize,
    /// SHA-256 of the request body, lower-case hex.
    pub body_sha256: String,
    /// Parsed JSON body when it is at most 256 KiB (dropped from old entries under load).
    pub body: Option<serde_json::Value>,
    /// How the exchange ended; updated when it ends.
    pub outcome: MockOutcome,
}

/// How an exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MockOutcome {
    /// Still being answered.
    InProgress,
    /// The whole response was handed to the connection.
    Completed,
    /// The client closed the connection before the response finished.
    ClientGone,
    /// The mock cut the response on purpose (`stream-cut`).
    Cut,
}
