//! One attempt's upstream request: the body in the provider's wire format (the client's bytes
//! when the formats match, else encoded from the IR), the path and the headers. Pure.

use bytes::Bytes;

use crate::config::{ApiFormat, Secret};
use crate::errors::{ErrorKind, GatewayError};
use crate::inbound::Call;
use crate::routing::Candidate;
use crate::runtime::provider::Operation;
use crate::translate::ir::{Message, Part, Role};
use crate::translate::{Codec, EncodeOptions};
use crate::upstream::UpstreamRequest;

const USER_AGENT: &str = concat!("llm-gateway/", env!("CARGO_PKG_VERSION"));

/// `max_tokens` sent to formats that require it when neither the request nor the provider
/// config (`default_max_tokens`) sets one.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// How an attempt's response is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Same wire format: bytes forwarded; `inject_usage` = the gateway asked an OpenAI
    /// provider for the usage chunk the client did not ask for (it is hidden again).
    Passthrough { inject_usage: bool },
    /// Different formats: decoded into the IR and encoded for the client.
    Translate,
}

/// Decodes the client's request into the IR when `cand` speaks another format and it was not
/// decoded yet.
pub fn ensure_ir(call: &mut Call, cand: &Candidate) -> Result<(), GatewayError> {
    let needs_ir = call.endpoint.op == Operation::ChatCompletions
        && cand.provider.format != call.endpoint.format;
    if needs_ir && call.ir.is_none() {
        call.ir = Some(Box::new(
            Codec(call.endpoint.format).decode_request(call.raw.body())?,
        ));
    }
    Ok(())
}

/// Builds the upstream request of one attempt. `prefill`: the text of the answer so far,
/// given as a trailing assistant message for the provider to continue (mid-stream rescue).
pub fn prepare(
    call: &Call,
    cand: &Candidate,
    key: Option<&Secret>,
    request_id: &str,
    prefill: Option<&str>,
) -> Result<(UpstreamRequest, Mode), GatewayError> {
    let provider = &cand.provider;
    let (op, inbound) = (call.endpoint.op, call.endpoint.format);
    if op != Operation::ChatCompletions && provider.format != ApiFormat::Openai {
        return Err(GatewayError::new(
            ErrorKind::BadRequest,
            format!(
                "provider `{}` speaks the {:?} format, which has no {} endpoint",
                provider.id,
                provider.format,
                op.label()
            ),
        ));
    }
    let stream = call.summary.stream;
    let (body, mode) = if provider.format == inbound {
        let inject_usage = inbound == ApiFormat::Openai && stream && !call.summary.include_usage;
        (
            passthrough_body(call, cand, inject_usage, prefill),
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
        let body = match prefill {
            None => Codec(provider.format).encode_request(ir, &opts),
            Some(text) => {
                let mut ir = ir.as_ref().clone();
                ir.messages.push(Message {
                    role: Role::Assistant,
                    parts: vec![Part::Text(text.to_string())],
                });
                Codec(provider.format).encode_request(&ir, &opts)
            }
        };
        (Bytes::from(body), Mode::Translate)
    };
    let path = match provider.format {
        ApiFormat::Openai => provider.openai_path(op, &cand.model),
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
            method: "POST",
            path,
            headers,
            body,
        },
        mode,
    ))
}

/// The client's bytes when nothing must change, else the same object with `model` (and, for
/// OpenAI streams, `stream_options.include_usage`; with a prefill, `messages`) replaced.
fn passthrough_body(
    call: &Call,
    cand: &Candidate,
    inject_usage: bool,
    prefill: Option<&str>,
) -> Bytes {
    let model_json = (cand.model != call.summary.model)
        .then(|| serde_json::Value::from(cand.model.as_str()).to_string());
    let options_json = inject_usage.then(|| {
        let mut options = call
            .raw
            .get("stream_options")
            .and_then(|r| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(r).ok()
            })
            .unwrap_or_default();
        options.insert("include_usage".into(), serde_json::Value::Bool(true));
        serde_json::Value::Object(options).to_string()
    });
    let messages_json = prefill.and_then(|text| {
        call.raw
            .get("messages")
            .and_then(|m| with_assistant_message(m, text))
    });
    if model_json.is_none() && options_json.is_none() && messages_json.is_none() {
        return call.raw.body().clone();
    }
    let mut replace = Vec::with_capacity(3);
    if let Some(m) = &messages_json {
        replace.push(("messages", Some(m.as_str())));
    }
    if let Some(m) = &model_json {
        replace.push(("model", Some(m.as_str())));
    }
    if let Some(o) = &options_json {
        replace.push(("stream_options", Some(o.as_str())));
    }
    Bytes::from(call.raw.encode_with(&replace))
}

/// The raw JSON array `messages` with an assistant message holding `text` appended (OpenAI and
/// Anthropic accept the same shape); `None` when `messages` is not an array.
fn with_assistant_message(messages: &str, text: &str) -> Option<String> {
    let trimmed = messages.trim();
    let inner = trimmed.strip_prefix('[')?.strip_suffix(']')?;
    let message = serde_json::json!({"role": "assistant", "content": text}).to_string();
    Some(if inner.trim().is_empty() {
        format!("[{message}]")
    } else {
        format!("[{inner},{message}]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefill_appends_one_assistant_message() {
        let out =
            with_assistant_message(r#" [{"role":"user","content":"hi"}] "#, "Hello \"there\"")
                .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[1]["role"], "assistant");
        assert_eq!(v[1]["content"], "Hello \"there\"");
        assert_eq!(v[0]["content"], "hi");
        assert_eq!(
            with_assistant_message("[]", "x").unwrap(),
            r#"[{"content":"x","role":"assistant"}]"#
        );
        assert_eq!(with_assistant_message("{}", "x"), None);
    }
}
