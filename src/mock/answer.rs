//! Answers a logged request: picks the failure (a `fail-*` behaviour, a prefill refused),
//! waits, encodes the reply in the endpoint's format and shapes the body script (faults,
//! pacing, `split`). Entry point: [`answer`].
//!
//! Called by `server` once the request is decoded and logged; owns the request's [`Exchange`]
//! guard until it moves into the response body. Defines what it is given ([`Call`], [`Work`]),
//! so the dependency runs one way: `server` imports `answer`, never the reverse.

use std::collections::VecDeque;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::Value;

use super::behaviour::{Behaviour, Kind, Prefill, StrikeKind};
use super::reply::{self, ErrorReply, Prompt};
use super::route::Family;
use super::state::{Exchange, MockState};
use super::stream::{Event, Fault, MockBody, Shape, Step, stream_steps, whole_steps};
use super::{anthropic, completions, embeddings, extras, gemini, openai};

/// What a logged request asks for, decoded by `server` before its body moves into the log.
pub(crate) enum Work {
    Chat { prompt: Prompt, include_usage: bool },
    Completion { prompt: Prompt, include_usage: bool },
    Embeddings { inputs: Vec<String>, body: Value },
    Messages { prompt: Prompt },
    Gemini { prompt: Prompt, sse: bool },
    Models,
    Moderation { inputs: Vec<String> },
    Images { prompt: String, n: u64 },
}

impl Work {
    /// The prompt of a generation request; `None` for embeddings and the model list.
    fn prompt(&self) -> Option<&Prompt> {
        match self {
            Work::Chat { prompt, .. }
            | Work::Completion { prompt, .. }
            | Work::Messages { prompt }
            | Work::Gemini { prompt, .. } => Some(prompt),
            Work::Embeddings { .. }
            | Work::Models
            | Work::Moderation { .. }
            | Work::Images { .. } => None,
        }
    }
}

/// The error a request gets before any behaviour runs: a conversation ending with an
/// assistant message, sent to a model with `prefill=refuse`.
fn refusal(behaviour: &Behaviour, work: &Work) -> Option<ErrorReply> {
    let prefilled = work.prompt().is_some_and(|p| p.prefill.is_some());
    (behaviour.prefill == Prefill::Refuse && prefilled).then_some(ErrorReply::PrefillRefused)
}

/// A logged request, as `answer` needs it.
pub(crate) struct Call {
    pub family: Family,
    pub model: String,
    pub stream: bool,
    /// This request's ordinal among those for the same model string (1 = first).
    pub hit: u64,
    pub body_sha256: String,
}

/// An encoded reply: stream events, or one whole body.
enum Encoded {
    Stream(Vec<Event>),
    Whole(String),
}
/// The response to a logged request; `None`: close the connection without one (`hold-close`).
pub(crate) async fn answer(
    state: &MockState,
    call: &Call,
    work: Result<Work, ErrorReply>,
    exchange: Exchange,
) -> Option<Response<MockBody>> {
    let behaviour = Behaviour::parse(&call.model);
    let failed = match &work {
        Err(e) => Some(e.clone()),
        Ok(Work::Models) => None,
        Ok(work) => refusal(&behaviour, work)
            .or_else(|| behaviour.failure(call.hit).map(ErrorReply::Failure)),
    };
    if behaviour.kind == Kind::Hang && failed.is_none() {
        // Held until hyper drops this future (peer closed): the guard records ClientGone.
        std::future::pending::<()>().await;
    }
    if !behaviour.ttfb.is_zero() {
        tokio::time::sleep(behaviour.ttfb).await;
    }
    if behaviour.kind == Kind::HoldClose && failed.is_none() {
        return None;
    }
    Some(reply_to(state, call, work, failed, behaviour, exchange).await)
}

/// The response of a request that gets one.
async fn reply_to(
    state: &MockState,
    call: &Call,
    work: Result<Work, ErrorReply>,
    failed: Option<ErrorReply>,
    mut behaviour: Behaviour,
    exchange: Exchange,
) -> Response<MockBody> {
    let work = match (work, failed) {
        (Ok(work), None) => work,
        (Err(e), _) | (Ok(_), Some(e)) => return error(call.family, &e, Some(exchange)),
    };
    if matches!(work, Work::Completion { .. })
        && matches!(behaviour.kind, Kind::ToolCall | Kind::ParallelToolCalls)
    {
        behaviour.kind = Kind::Echo;
    }
    let (model, stream, sha, hit) = (
        call.model.as_str(),
        call.stream,
        &call.body_sha256,
        call.hit,
    );
    let (reply, encoded, content_type) = match work {
        Work::Models => return json(embeddings::encode_models(), Some(exchange)),
        Work::Moderation { inputs } => {
            return json(extras::encode_moderation(&inputs, model), Some(exchange));
        }
        Work::Images { prompt, n } => {
            return json(extras::encode_images(&prompt, n), Some(exchange));
        }
        Work::Embeddings { inputs, body } => {
            let out = embeddings::encode_response(&inputs, model, &body);
            return json(out, Some(exchange));
        }
        Work::Chat {
            prompt,
            include_usage,
        } => {
            let reply = reply::build(&behaviour, &prompt, sha, hit);
            let encoded = if stream {
                Encoded::Stream(openai::encode_chat_stream(&reply, model, include_usage))
            } else {
                Encoded::Whole(openai::encode_chat_response(&reply, model))
            };
            (reply, encoded, "text/event-stream")
        }
        Work::Completion {
            prompt,
            include_usage,
        } => {
            let reply = reply::build(&behaviour, &prompt, sha, hit);
            let encoded = if stream {
                Encoded::Stream(completions::encode_stream(&reply, model, include_usage))
            } else {
                Encoded::Whole(completions::encode_response(&reply, model))
            };
            (reply, encoded, "text/event-stream")
        }
        Work::Messages { prompt } => {
            let reply = reply::build(&behaviour, &prompt, sha, hit);
            let encoded = if stream {
                Encoded::Stream(anthropic::encode_stream(&reply, model))
            } else {
                Encoded::Whole(anthropic::encode_response(&reply, model))
            };
            (reply, encoded, "text/event-stream")
        }
        Work::Gemini { prompt, sse } => {
            let reply = reply::build(&behaviour, &prompt, sha, hit);
            let encoded = if stream {
                Encoded::Stream(gemini::encode_stream(&reply, model, sse))
            } else {
                Encoded::Whole(gemini::encode_response(&reply, model))
            };
            let content_type = if sse {
                "text/event-stream"
            } else {
                "application/json"
            };
            (reply, encoded, content_type)
        }
    };
    let strike = behaviour.strike(call.hit);
    let fault = match strike.map(|s| s.kind) {
        None => Fault::None,
        Some(StrikeKind::Cut) => Fault::Cut,
        Some(StrikeKind::Stall { close }) => Fault::Stall(close),
        Some(StrikeKind::Malformed) => Fault::Malformed(malformed_event(call.family, content_type)),
    };
    let delay = behaviour.delay.unwrap_or(state.options.token_delay);
    match encoded {
        Encoded::Stream(events) => {
            let shape = Shape {
                fault,
                after: strike.map_or(behaviour.after, |s| s.after),
                delay,
                ttft: behaviour.ttft,
                split: behaviour.split,
            };
            let steps = stream_steps(events, &shape);
            respond(
                StatusCode::OK,
                content_type,
                steps,
                None,
                None,
                Some(exchange),
            )
        }
        Encoded::Whole(whole) => {
            // No stream to pace: the whole generation time passes before the headers.
            let tokens = u32::try_from(reply.completion_tokens).unwrap_or(u32::MAX);
            let generation = delay.saturating_mul(tokens).max(behaviour.ttft);
            if !generation.is_zero() {
                tokio::time::sleep(generation).await;
            }
            let body = match fault {
                Fault::Malformed(_) => Bytes::from_static(br#"{"id": broken"#),
                Fault::None | Fault::Cut | Fault::Stall(_) => Bytes::from(whole),
            };
            let len = body.len();
            let steps = whole_steps(body, &fault, behaviour.split);
            let ok = StatusCode::OK;
            respond(
                ok,
                "application/json",
                steps,
                Some(len),
                None,
                Some(exchange),
            )
        }
    }
}

/// The broken event `malformed` inserts, framed like the stream's other events.
fn malformed_event(family: Family, content_type: &str) -> String {
    match (family, content_type) {
        (Family::Gemini, "text/event-stream") => "data: {\"id\": broken\r\n\r\n".to_owned(),
        (Family::Gemini, _) => ",\r\n{\"id\": broken".to_owned(),
        (Family::OpenAi | Family::Anthropic, _) => "data: {\"id\": broken\n\n".to_owned(),
    }
}

pub(crate) fn error(
    family: Family,
    error: &ErrorReply,
    exchange: Option<Exchange>,
) -> Response<MockBody> {
    let body = match family {
        Family::OpenAi => openai::encode_error(error),
        Family::Anthropic => anthropic::encode_error(error),
        Family::Gemini => gemini::encode_error(error),
    };
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let len = body.len();
    let steps = VecDeque::from([Step::Data(Bytes::from(body))]);
    respond(
        status,
        "application/json",
        steps,
        Some(len),
        error.retry_after(),
        exchange,
    )
}

pub(crate) fn json(body: String, exchange: Option<Exchange>) -> Response<MockBody> {
    let len = body.len();
    let steps = VecDeque::from([Step::Data(Bytes::from(body))]);
    respond(
        StatusCode::OK,
        "application/json",
        steps,
        Some(len),
        None,
        exchange,
    )
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    steps: VecDeque<Step>,
    content_length: Option<usize>,
    retry_after: Option<u64>,
    exchange: Option<Exchange>,
) -> Response<MockBody> {
    let seq = exchange.as_ref().map(Exchange::seq);
    let mut response = Response::new(MockBody::new(steps, exchange));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if content_type == "text/event-stream" {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if let Some(len) = content_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(seq) = seq {
        headers.insert("x-mock-request-seq", HeaderValue::from(seq));
    }
    response
}
