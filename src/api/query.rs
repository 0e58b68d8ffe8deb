//! Query strings of the records and admin endpoints: known parameters only, pagination
//! (`limit`, `cursor`), time ranges (`from`, `to`: RFC 3339 or Unix seconds), each refused
//! with a 400 that names the parameter when it does not parse.

use std::collections::HashMap;

use serde_json::Value;

use crate::errors::{ErrorKind, GatewayError};

/// Rows a page holds unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;

/// A parsed query string.
#[derive(Debug, Default)]
pub struct Query {
    values: HashMap<String, String>,
}

fn bad(param: &str, message: String) -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, message).with_param(match param {
        "limit" => "limit",
        "cursor" => "cursor",
        "from" => "from",
        "to" => "to",
        "status" => "status",
        "model" => "model",
        "key" => "key",
        _ => "query",
    })
}

impl Query {
    /// Parses `query`, refusing parameters not in `known` and repeated ones.
    pub fn parse(query: Option<&str>, known: &[&str]) -> Result<Query, GatewayError> {
        let mut values = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !known.contains(&k.as_ref()) {
                return Err(bad(
                    "query",
                    format!(
                        "Unknown query parameter `{k}`; this endpoint takes: {}.",
                        known.join(", ")
                    ),
                ));
            }
            if values.insert(k.to_string(), v.to_string()).is_some() {
                return Err(bad(&k, format!("`{k}` is given twice.")));
            }
        }
        Ok(Query { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
    pub fn limit(&self) -> Result<i64, GatewayError> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(bad(
                    "limit",
                    format!("`limit` must be a whole number from 1 to {MAX_LIMIT}."),
                )),
            },
        }
    }

    /// A time parameter, as Unix ms.
    pub fn time(&self, name: &str) -> Result<Option<i64>, GatewayError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        if let Ok(secs) = v.parse::<i64>() {
            return Ok(Some(secs.saturating_mul(1000)));
        }
        humantime::parse_rfc3339_weak(v)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| Some(d.as_millis() as i64))
            .ok_or_else(|| {
                bad(
                    name,
                    format!(
                        "`{name}` must be an RFC 3339 time (2026-12-01T00:00:00Z) or Unix seconds."
                    ),
                )
            })
    }
}

/// Unix ms as RFC 3339 (milliseconds).
pub fn time(ms: i64) -> Value {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    Value::String(humantime::format_rfc3339_millis(at).to_string())
}

/// The cursor of the page after the one ending at `(created_at, id)`: opaque to clients.
pub fn cursor(created_at: i64, id: &str) -> String {
    format!("{created_at}.{id}")
}

/// Reads a cursor back.
pub fn parse_cursor(v: &str) -> Result<(i64, String), GatewayError> {
    v.split_once('.')
        .and_then(|(at, id)| Some((at.parse().ok()?, id.to_string())))
        .filter(|(_, id)| !id.is_empty() && id.len() <= 200)
        .ok_or_else(|| bad("cursor", "`cursor` is not one this gateway handed out (use `next_cursor` of the previous page).".into()))
}
