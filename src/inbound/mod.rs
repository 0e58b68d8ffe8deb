//! The inbound stage: which endpoint a path is ([`endpoint`]), who is calling (virtual keys,
//! admin token: [`auth`]), the `x-gateway-*` controls ([`controls`]), reading the body under the
//! size cap with the content-type check ([`body`]), and the lenient JSON view of the request
//! ([`request`]) with what it needs from a model.
//!
//! Entry point: [`accept`], which turns a client request into a [`Call`]. May not depend on
//! pingora (the connection is a [`body::ClientRequest`]), the attempt loop or the proxy.

pub mod auth;
pub mod body;
pub mod controls;
pub mod endpoint;
pub mod request;

use std::sync::{Arc, LazyLock};

use memchr::memmem;
use tokio::time::Instant;

use crate::config::ApiFormat;
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::routing::Needs;
use crate::runtime::provider::Operation;
use crate::runtime::snapshot::{Snapshot, Tenant};
use crate::tenancy::Tenancy;
use crate::translate::bridge::Bridge;
use crate::translate::ir;
use body::ClientRequest;
use controls::Controls;
use endpoint::Endpoint;
use request::{JsonKind, RawRequest, RequestSummary};

/// An LLM call as the client sent it, shared by every attempt.
#[derive(Debug)]
pub struct Call {
    pub endpoint: Endpoint,
    /// The body and its top-level fields.
    pub raw: RawRequest,
    pub summary: RequestSummary,
    /// What the request needs from a model.
    pub needs: Needs,
    /// The request in the IR, decoded when some candidate speaks another format (boxed: it
    /// is rare, and large to carry in every request's context).
    pub ir: Option<Box<ir::Request>>,
    /// A bridged call (Responses API, legacy completions to a chat-only provider): the bridge
    /// and the client's own request, whose answer is rewritten from the chat answer.
    pub bridged: Option<(Bridge, Box<serde_json::Value>)>,
}

/// A request the inbound stage let through.
#[derive(Debug)]
pub struct Accepted {
    /// What input sanitization found (and did).
    pub compliance: Vec<crate::compliance::policy::Noted>,
    pub caller: Option<Arc<Tenant>>,
    pub controls: Controls,
    pub call: Call,
}

/// Refuses an HTTP/1.1 request without `Host` (RFC 9112 §3.2): whatever answers it could
/// not know which site was meant.
pub fn check_host(head: &http::request::Parts) -> Result<(), GatewayError> {
    if head.version == http::Version::HTTP_11 && !head.headers.contains_key(http::header::HOST) {
        return Err(GatewayError::new(
            ErrorKind::BadRequest,
            "an HTTP/1.1 request needs a Host header",
        ));
    }
    Ok(())
}

/// Checks and reads an LLM call: method, key, content type, controls, body (under the cap)
/// and the fields its operation requires.
pub async fn accept<C: ClientRequest>(
    snap: &Snapshot,
    tenancy: &Tenancy,
    client: &mut C,
    endpoint: Endpoint,
    found: &(dyn Fn(&crate::compliance::policy::Noted) + Sync),
) -> Result<Accepted, Failure> {
    let head = client.head();
    if head.method != http::Method::POST {
        return Err(
            GatewayError::method_not_allowed("This endpoint only answers POST.", "POST").into(),
        );
    }
    let caller = auth::authenticate_call(snap, tenancy, &head.headers).await?;
    body::check_json_content_type(&head.headers)?;
    let mut controls = Controls::parse(&head.headers, Instant::now(), snap.timeouts.total)?;
    let body = body::read_body(client, snap.max_body_bytes, snap.edge.request_head).await?;
    // Sanitized before anything reads it: every path a provider could see is covered.
    let (body, compliance) = match &snap.sanitization.input {
        None => (body, Vec::new()),
        Some(s) => match s.json(&body) {
            Ok((redacted, noted)) => {
                noted.iter().for_each(found);
                (redacted.map_or(body, bytes::Bytes::from), noted)
            }
            Err(blocked) => {
                blocked.noted.iter().for_each(found);
                return Err(GatewayError::new(
                    ErrorKind::BadRequest,
                    format!(
                        "the request contains data the gateway's compliance policy does not let \
                         through ({}); nothing was sent",
                        blocked.detectors.join(", ")
                    ),
                )
                .with_limit("compliance")
                .into());
            }
        },
    };
    // X3: the declared classification under the cap, raised when the input carries a
    // credential.
    controls.classification = snap
        .sanitization
        .classification(controls.classification, &compliance)
        .map_err(|max| {
            GatewayError::new(
                ErrorKind::Forbidden,
                format!(
                    "x-data-classification `{}` is above this gateway's limit \
                     (sanitization.max_classification = `{}`); nothing was sent",
                    controls.classification.as_str(),
                    max.as_str()
                ),
            )
            .with_limit("classification")
        })?;
    let body = with_default_model(endpoint.op, body)?;
    let (body, bridged) = match endpoint.bridge {
        None => (body, None),
        Some(bridge) => {
            let (chat, original) = bridge_request(bridge, &body)?;
            (chat, Some((bridge, Box::new(original))))
        }
    };
    let raw = RawRequest::parse(body)?;
    let summary = raw.summary()?;
    match endpoint.op {
        Operation::ChatCompletions => raw.require("messages", JsonKind::Array)?,
        Operation::Completions => raw.require("prompt", JsonKind::StringOrArray)?,
        Operation::Moderations => raw.require("input", JsonKind::StringOrArray)?,
        Operation::ImageGenerations => raw.require("prompt", JsonKind::StringOrArray)?,
        Operation::Embeddings => {
            raw.require("input", JsonKind::StringOrArray)?;
            if summary.stream {
                return Err(GatewayError::new(
                    crate::errors::ErrorKind::BadRequest,
                    "embeddings cannot be streamed",
                )
                .with_param("stream")
                .into());
            }
        }
    }
    let mut needs = needs_of(endpoint.format, &raw);
    needs.stream = summary.stream;
    Ok(Accepted {
        compliance,
        caller,
        controls,
        call: Call {
            endpoint,
            raw,
            summary,
            needs,
            ir: None,
            bridged,
        },
    })
}

/// The model OpenAI assumes when a moderation or image request names none.
fn default_model(op: Operation) -> Option<&'static str> {
    match op {
        Operation::Moderations => Some("omni-moderation-latest"),
        Operation::ImageGenerations => Some("dall-e-2"),
        Operation::ChatCompletions | Operation::Completions | Operation::Embeddings => None,
    }
}

/// A moderation or image request without `model` gets OpenAI's default (the gateway routes
/// by model); `auto` is for chat, not these.
fn with_default_model(op: Operation, body: bytes::Bytes) -> Result<bytes::Bytes, GatewayError> {
    let Some(default) = default_model(op) else {
        return Ok(body);
    };
    let mut value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        GatewayError::new(
            ErrorKind::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Some(obj) = value.as_object_mut() else {
        return Ok(body);
    };
    match obj.get("model").and_then(|m| m.as_str()) {
        Some("auto") => Err(GatewayError::new(
            ErrorKind::BadRequest,
            format!("`auto` routes chat requests; name the {} model", op.label()),
        )
        .with_param("model")),
        Some(_) => Ok(body),
        None => {
            obj.insert("model".into(), serde_json::Value::from(default));
            Ok(bytes::Bytes::from(value.to_string()))
        }
    }
}

/// The chat request of a bridged one, and the client's request as JSON.
fn bridge_request(
    bridge: Bridge,
    body: &[u8],
) -> Result<(bytes::Bytes, serde_json::Value), GatewayError> {
    let original: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::new(
            ErrorKind::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let chat = match bridge {
        Bridge::Responses => crate::translate::bridge::responses::to_chat(&original)?,
        Bridge::Completions => crate::translate::bridge::completions::to_chat(&original)?,
    };
    Ok((bytes::Bytes::from(chat.to_string()), original))
}

/// Turns a legacy completions call into a chat call through the bridge (for a provider
/// without a completions endpoint).
pub fn bridge_completions(call: &mut Call) -> Result<(), GatewayError> {
    let (chat, original) = bridge_request(Bridge::Completions, call.raw.body())?;
    let raw = RawRequest::parse(chat)?;
    let summary = raw.summary()?;
    let mut needs = needs_of(ApiFormat::Openai, &raw);
    needs.stream = summary.stream;
    call.raw = raw;
    call.summary = summary;
    call.needs = needs;
    call.endpoint.op = Operation::ChatCompletions;
    call.ir = None;
    call.bridged = Some((Bridge::Completions, Box::new(original)));
    Ok(())
}

/// What a request needs from a model, read from the raw body without decoding it (the
/// same-format fast path).
pub fn needs_of(format: ApiFormat, raw: &RawRequest) -> Needs {
    // (Searchers built once: building one costs more than searching a short request.)
    static IMAGE_URL: Finder = LazyLock::new(|| memmem::Finder::new(b"\"image_url\""));
    static JSON_: Finder = LazyLock::new(|| memmem::Finder::new(b"json_"));
    static IMAGE: Finder = LazyLock::new(|| memmem::Finder::new(b"\"image\""));
    static ENABLED: Finder = LazyLock::new(|| memmem::Finder::new(b"\"enabled\""));
    let has =
        |key: &str, needle: &Finder| raw.get_bytes(key).is_some_and(|v| needle.find(v).is_some());
    let tools = raw.get_bytes("tools").is_some_and(|v| {
        let t = v.trim_ascii();
        let inner = t
            .iter()
            .position(|b| *b != b'[')
            .map_or(&[][..], |i| &t[i..]);
        t.starts_with(b"[") && inner.trim_ascii_start() != b"]"
    });
    match format {
        ApiFormat::Openai => Needs {
            tools,
            vision: has("messages", &IMAGE_URL),
            json: has("response_format", &JSON_),
            thinking: raw.get_bytes("reasoning_effort").is_some(),
            stream: false,
        },
        ApiFormat::Anthropic => Needs {
            tools,
            vision: has("messages", &IMAGE),
            json: false,
            thinking: has("thinking", &ENABLED),
            stream: false,
        },
        ApiFormat::Gemini => Needs::default(),
    }
}

/// A substring searcher made once.
type Finder = LazyLock<memmem::Finder<'static>>;

/// What routing reads from a request (shared by LLM calls and the dry run, so both decide
/// alike): the caller's key caps the cost too. `today` is `YYYY-MM-DD`.
pub fn routing_request<'a>(
    endpoint: Endpoint,
    raw: &'a RawRequest,
    summary: &'a RequestSummary,
    needs: Needs,
    controls: &'a Controls,
    caller: Option<&Tenant>,
    (today, draw): (&'a str, f64),
) -> crate::routing::Request<'a> {
    let key_cap = caller
        .and_then(|t| t.policy.as_ref())
        .and_then(|p| p.max_request_cost_usd);
    let max_cost_usd = match (controls.max_cost_usd, key_cap) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    crate::routing::Request {
        requested: &summary.model,
        format: endpoint.format,
        embeddings: endpoint.op == Operation::Embeddings,
        needs,
        failover: controls.failover,
        profile: controls.profile,
        classification: controls.classification,
        max_cost_usd,
        body: raw.body(),
        prompt: prompt_bytes(raw),
        asked_output: asked_output(raw),
        conversation: controls.conversation.as_deref(),
        today,
        now: std::time::Instant::now(),
        draw,
    }
}

/// Fields that cap an answer's tokens, in any format.
const MAX_OUTPUT_FIELDS: &[&str] = &["max_tokens", "max_completion_tokens", "max_output_tokens"];

/// The answer's token cap the request sets itself, in any format's field.
pub fn asked_output(raw: &RawRequest) -> Option<u64> {
    MAX_OUTPUT_FIELDS
        .iter()
        .find_map(|f| raw.get(f).and_then(|v| v.trim().parse::<u64>().ok()))
}

/// The prompt's field as sent (`messages`, `prompt` or `input`), for the routing bucket.
pub fn prompt_bytes(raw: &RawRequest) -> &[u8] {
    raw.get_bytes("messages")
        .or_else(|| raw.get_bytes("prompt"))
        .or_else(|| raw.get_bytes("input"))
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn raw(body: &'static [u8]) -> RawRequest {
        RawRequest::parse(Bytes::from_static(body)).unwrap()
    }

    #[test]
    fn raw_needs() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}],"tools":[{"type":"function"}],"response_format":{"type":"json_object"}}"#;
        assert_eq!(
            needs_of(ApiFormat::Openai, &raw(body)),
            Needs {
                tools: true,
                vision: true,
                json: true,
                ..Needs::default()
            }
        );
        let r = raw(br#"{"model":"m","messages":[],"tools":[ ]}"#);
        assert_eq!(needs_of(ApiFormat::Openai, &r), Needs::default());
        let r = raw(
            br#"{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}"#,
        );
        assert!(needs_of(ApiFormat::Anthropic, &r).vision);
    }
}
