//! One attempt's upstream request: the body in the provider's wire format (the client's bytes
//! when the formats match, else encoded from the IR), the path and the headers; and the
//! capability gate (T6) that refuses, rather than silently downgrades, a request a model
//! cannot serve.

use bytes::Bytes;

use crate::catalog::ModelCard;
use crate::config::{ApiFormat, Capability, Secret};
use crate::errors::{ErrorKind, GatewayError};
use crate::inbound::request::{RawRequest, RequestSummary};
use crate::providers::Operation;
use crate::routing::Candidate;
use crate::translate::ir::Request;
use crate::translate::{Codec, EncodeOptions};
use crate::upstream::UpstreamRequest;

const USER_AGENT: &str = concat!("llm-gateway/", env!("CARGO_PKG_VERSION"));

/// `max_tokens` sent to formats that require it when neither the request nor the provider
/// config (`default_max_tokens`) sets one.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// What the request needs from a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub tools: bool,
    pub vision: bool,
    pub json: bool,
}

impl Needs {
    /// From the raw body, without decoding it (the same-format fast path).
    pub fn of_raw(format: ApiFormat, raw: &RawRequest<'_>) -> Needs {
        let has = |key: &str, needle: &[u8]| {
            raw.get(key)
                .is_some_and(|v| memchr::memmem::find(v.get().as_bytes(), needle).is_some())
        };
        let tools = raw.get("tools").is_some_and(|v| {
            let t = v.get().trim();
            t.starts_with('[') && t.trim_start_matches('[').trim_start() != "]"
        });
        match format {
            ApiFormat::Openai => Needs {
                tools,
                vision: has("messages", b"\"image_url\""),
                json: has("response_format", b"json_"),
            },
            ApiFormat::Anthropic => Needs {
                tools,
                vision: has("messages", b"\"image\""),
                json: false,
            },
            ApiFormat::Gemini => Needs::default(),
        }
    }

    /// Why `card` cannot serve this request, if it cannot.
    pub fn problem(&self, cand: &Candidate) -> Option<String> {
        let card: &ModelCard = cand.card.as_deref()?;
        let missing: Vec<&str> = [
            (self.tools, Capability::Tools, "tools"),
            (self.vision, Capability::Vision, "vision"),
            (self.json, Capability::JsonMode, "json_mode"),
        ]
        .into_iter()
        .filter(|(needed, cap, _)| *needed && !card.has(*cap))
        .map(|(_, _, name)| name)
        .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "model `{}` at provider `{}` lacks the {} capability this request needs",
                card.id,
                card.provider,
                missing.join(" and ")
            )
        })
    }
}

/// How an attempt's response is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Same wire format: bytes forwarded; `inject_usage` = the gateway asked an OpenAI
    /// provider for the usage chunk the client did not ask for (it is hidden again).
    Passthrough { inject_usage: bool },
    /// Different formats: decoded into the IR and encoded for the client.
    Translate,
}

/// The request as the client sent it, shared by every attempt.
pub struct Call<'a> {
    pub inbound: ApiFormat,
    pub op: Operation,
    pub body: &'a Bytes,
    pub raw: RawRequest<'a>,
    pub summary: RequestSummary,
    /// Decoded when some candidate speaks another format.
    pub ir: Option<Request>,
}

/// Builds the upstream request of one attempt.
pub fn prepare(
    call: &Call<'_>,
    cand: &Candidate,
    key: Option<&Secret>,
    request_id: &str,
) -> Result<(UpstreamRequest, Mode), GatewayError> {
    let provider = &cand.provider;
    if call.op != Operation::ChatCompletions && provider.format != ApiFormat::Openai {
        return Err(GatewayError::new(
            ErrorKind::BadRequest,
            format!(
                "provider `{}` speaks the {:?} format, which has no {} endpoint",
                provider.id,
                provider.format,
                call.op.label()
            ),
        ));
    }
    let stream = call.summary.stream;
    let (body, mode) = if provider.format == call.inbound {
        let inject_usage =
            call.inbound == ApiFormat::Openai && stream && !call.summary.include_usage;
        (
            passthrough_body(call, cand, inject_usage),
            Mode::Passthrough { inject_usage },
        )
    } else {
        let ir = call.ir.as_ref().ok_or_else(|| {
            GatewayError::new(
                ErrorKind::Internal,
                "request was not decoded for translation",
            )
        })?;
        let opts = EncodeOptions {
            model: cand.model.clone(),
            default_max_tokens: provider.default_max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            include_usage: true,
        };
        (
            Bytes::from(Codec(provider.format).encode_request(ir, &opts)),
            Mode::Translate,
        )
    };
    let path = match provider.format {
        ApiFormat::Openai => provider.openai_path(call.op, &cand.model),
        ApiFormat::Anthropic => provider.anthropic_path(),
        ApiFormat::Gemini => provider.gemini_path(&cand.model, stream),
    };
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        (
            "accept",
            if stream {
                "text/event-stream"
            } else {
                "application/json"
            }
            .to_string(),
        ),
        ("user-agent", USER_AGENT.to_string()),
        ("x-request-id", request_id.to_string()),
    ];
    for (name, value) in provider.format_headers() {
        headers.push((name, (*value).to_string()));
    }
    if let Some(key) = key {
        headers.push(provider.auth_header(key));
    }
    Ok((
        UpstreamRequest {
            path,
            headers,
            body,
        },
        mode,
    ))
}

/// The client's bytes when nothing must change, else the same object with `model` (and, for
/// OpenAI streams, `stream_options.include_usage`) replaced.
fn passthrough_body(call: &Call<'_>, cand: &Candidate, inject_usage: bool) -> Bytes {
    let model_json = (cand.model != call.summary.model)
        .then(|| serde_json::Value::from(cand.model.as_str()).to_string());
    let options_json = inject_usage.then(|| {
        let mut options = call
            .raw
            .get("stream_options")
            .and_then(|r| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(r.get()).ok()
            })
            .unwrap_or_default();
        options.insert("include_usage".into(), serde_json::Value::Bool(true));
        serde_json::Value::Object(options).to_string()
    });
    if model_json.is_none() && options_json.is_none() {
        return call.body.clone();
    }
    let mut replace = Vec::with_capacity(2);
    if let Some(m) = &model_json {
        replace.push(("model", Some(m.as_str())));
    }
    if let Some(o) = &options_json {
        replace.push(("stream_options", Some(o.as_str())));
    }
    Bytes::from(call.raw.encode_with(&replace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_needs() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}],"tools":[{"type":"function"}],"response_format":{"type":"json_object"}}"#;
        let raw = RawRequest::parse(body).unwrap();
        assert_eq!(
            Needs::of_raw(ApiFormat::Openai, &raw),
            Needs {
                tools: true,
                vision: true,
                json: true
            }
        );
        let raw = RawRequest::parse(br#"{"model":"m","messages":[],"tools":[ ]}"#).unwrap();
        assert_eq!(Needs::of_raw(ApiFormat::Openai, &raw), Needs::default());
        let raw = RawRequest::parse(br#"{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}"#).unwrap();
        assert!(Needs::of_raw(ApiFormat::Anthropic, &raw).vision);
    }
}
