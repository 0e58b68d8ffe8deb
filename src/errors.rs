//! Client-visible errors: each kind knows its HTTP status, its wire type and code, and its
//! metric label, and renders itself in the caller's wire format (OpenAI or Anthropic).
//!
//! Pure: no I/O. Building an error never logs; the access log records it once per request.
//!
//! Depends on nothing else of the crate.

use serde_json::json;

/// Every error the gateway itself can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is well-formed JSON but not a valid request (missing `model`, ...).
    BadRequest,
    /// The body is not valid JSON.
    InvalidJson,
    /// `Content-Type` is not JSON.
    UnsupportedMediaType,
    /// The body is larger than `server.max_body_bytes`.
    PayloadTooLarge,
    /// Missing or unknown API key.
    Unauthorized,
    /// The key's or its team's budget cannot cover the request.
    BudgetExceeded,
    /// The caller may not do this (admin endpoints disabled, ...).
    Forbidden,
    /// No such endpoint.
    NotFound,
    /// The requested model is not served by any configured provider.
    ModelNotFound,
    /// Wrong HTTP method for the endpoint.
    MethodNotAllowed,
    /// A request with the same `Idempotency-Key` is still being served.
    Conflict,
    /// A rate limit of the key or its team refused the request.
    RateLimited,
    /// The total deadline passed before the upstream answered.
    Timeout,
    /// The client did not send its request in time.
    RequestTimeout,
    /// The upstream could not be reached or answered garbage.
    BadGateway,
    /// No provider can take the request now.
    Unavailable,
    /// The client went away; never rendered, only counted.
    ClientClosed,
    /// A bug or an unexpected condition inside the gateway.
    Internal,
}

impl ErrorKind {
    /// HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest | Self::InvalidJson => 400,
            Self::Unauthorized => 401,
            Self::BudgetExceeded => 402,
            Self::Forbidden => 403,
            Self::NotFound | Self::ModelNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::RateLimited => 429,
            Self::RequestTimeout => 408,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ClientClosed => 499,
            Self::Internal => 500,
            Self::BadGateway => 502,
            Self::Unavailable => 503,
            Self::Timeout => 504,
        }
    }

    /// OpenAI `error.type`.
    pub fn openai_type(self) -> &'static str {
        match self {
            Self::BadRequest
            | Self::InvalidJson
            | Self::UnsupportedMediaType
            | Self::PayloadTooLarge
            | Self::NotFound
            | Self::ModelNotFound
            | Self::MethodNotAllowed
            | Self::Conflict => "invalid_request_error",
            Self::Unauthorized => "authentication_error",
            Self::BudgetExceeded => "insufficient_quota",
            Self::RateLimited => "rate_limit_exceeded",
            Self::Forbidden => "permission_error",
            Self::Timeout | Self::RequestTimeout => "timeout_error",
            Self::BadGateway | Self::Unavailable | Self::ClientClosed | Self::Internal => {
                "api_error"
            }
        }
    }

    /// OpenAI `error.code`, also the `kind` label of metrics and logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "invalid_request",
            Self::InvalidJson => "invalid_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "request_too_large",
            Self::Unauthorized => "invalid_api_key",
            Self::BudgetExceeded => "budget_exceeded",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::ModelNotFound => "model_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limit_exceeded",
            Self::Timeout => "timeout",
            Self::RequestTimeout => "request_timeout",
            Self::BadGateway => "upstream_error",
            Self::Unavailable => "service_unavailable",
            Self::ClientClosed => "client_closed_request",
            Self::Internal => "internal_error",
        }
    }

    /// Anthropic `error.type`.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            Self::BadRequest
            | Self::InvalidJson
            | Self::UnsupportedMediaType
            | Self::MethodNotAllowed
            | Self::Conflict
            | Self::RequestTimeout => "invalid_request_error",
            Self::PayloadTooLarge => "request_too_large",
            Self::Unauthorized => "authentication_error",
            Self::BudgetExceeded => "billing_error",
            Self::RateLimited => "rate_limit_error",
            Self::Forbidden => "permission_error",
            Self::NotFound | Self::ModelNotFound => "not_found_error",
            Self::Unavailable => "overloaded_error",
            Self::Timeout | Self::BadGateway | Self::ClientClosed | Self::Internal => "api_error",
        }
    }
}

/// The wire format a caller speaks, which decides how errors are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorFormat {
    #[default]
    OpenAi,
    Anthropic,
}

/// An error answered by the gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayError {
    pub kind: ErrorKind,
    pub message: String,
    /// The request field at fault, when there is one.
    pub param: Option<&'static str>,
    /// Seconds the client should wait before retrying (`Retry-After`).
    pub retry_after: Option<u64>,
    /// The methods the endpoint answers (`Allow`), on a 405.
    pub allow: Option<&'static str>,
    /// Which limit refused the request (`budget`, `rpm`, ...): `kind` in the body.
    pub limit: Option<&'static str>,
    /// The largest context window a prompt could have used (`x-context-window-limit`, 413).
    pub context_window_limit: Option<u64>,
}

/// How a request ended when it did not end normally; the pipeline's stages return it and the
/// proxy renders it once.
#[derive(Debug)]
pub enum Failure {
    /// Answer the client with this error (nothing was written yet).
    Respond(GatewayError),
    /// Every candidate's circuit is open: a fast 503 with `x-gateway-circuit: open`.
    CircuitOpen { retry_after_secs: u64 },
    /// The client went away; the upstream is dropped (its connection closed).
    ClientGone,
}

impl From<GatewayError> for Failure {
    fn from(e: GatewayError) -> Self {
        Failure::Respond(e)
    }
}

impl GatewayError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            param: None,
            retry_after: None,
            allow: None,
            limit: None,
            context_window_limit: None,
        }
    }

    /// A 413 for a prompt that fits no candidate's context window.
    pub fn with_context_window_limit(mut self, tokens: u64) -> Self {
        self.context_window_limit = Some(tokens);
        self
    }

    /// Names the limit that refused the request (`kind` in the body).
    pub fn with_limit(mut self, limit: &'static str) -> Self {
        self.limit = Some(limit);
        self
    }

    /// A 405 that names the methods the endpoint answers.
    pub fn method_not_allowed(message: impl Into<String>, allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(ErrorKind::MethodNotAllowed, message)
        }
    }

    pub fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The body in the caller's format.
    pub fn render(&self, format: ErrorFormat) -> Vec<u8> {
        let value = match format {
            ErrorFormat::OpenAi => {
                let mut error = json!({
                    "message": self.message,
                    "type": self.kind.openai_type(),
                    "code": self.kind.code(),
                    "param": self.param,
                });
                if let Some(secs) = self.retry_after {
                    error["retry_after_seconds"] = json!(secs);
                }
                if let Some(limit) = self.limit {
                    error["kind"] = json!(limit);
                }
                json!({ "error": error })
            }
            ErrorFormat::Anthropic => {
                let mut error =
                    json!({ "type": self.kind.anthropic_type(), "message": self.message });
                if let Some(secs) = self.retry_after {
                    error["retry_after_seconds"] = json!(secs);
                }
                if let Some(limit) = self.limit {
                    error["kind"] = json!(limit);
                }
                json!({ "type": "error", "error": error })
            }
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.status(),
            self.kind.code(),
            self.message
        )
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape() {
        let e = GatewayError::new(ErrorKind::ModelNotFound, "no such model").with_param("model");
        let v: serde_json::Value = serde_json::from_slice(&e.render(ErrorFormat::OpenAi)).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "model_not_found");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(v["error"]["message"], "no such model");
        assert_eq!(e.status(), 404);
    }

    #[test]
    fn anthropic_shape() {
        let e = GatewayError::new(ErrorKind::Unauthorized, "missing key");
        let v: serde_json::Value =
            serde_json::from_slice(&e.render(ErrorFormat::Anthropic)).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "authentication_error");
    }

    #[test]
    fn retry_after_is_rendered() {
        let e = GatewayError::new(ErrorKind::Unavailable, "busy").with_retry_after(7);
        let v: serde_json::Value = serde_json::from_slice(&e.render(ErrorFormat::OpenAi)).unwrap();
        assert_eq!(v["error"]["retry_after_seconds"], 7);
    }
}
