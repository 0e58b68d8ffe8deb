//! The mock's HTTP/1.1 server: accepts connections, reads and decodes each request, logs it,
//! and hands it to `answer`. Entry point: [`serve`].
//!
//! The only I/O part of the mock with `state` and `MockBody`. Each connection runs in its own
//! task; hyper drops the in-flight service future (or the response body) when the peer closes,
//! and the [`Exchange`] guard it owns then records `ClientGone`. Nothing is logged per request
//! above debug level, so load tests measure the gateway, not the mock.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::answer::{Call, Work, answer, error, json};
use super::log_entry::{MockLogEntry, MockOutcome};
use super::reply::{ErrorReply, to_json};
use super::route::{self, Route};
use super::state::{Exchange, MockState};
use super::stream::MockBody;
use super::{anthropic, completions, embeddings, gemini, openai};

/// Largest request body the mock reads; larger ones get 413.
const MAX_BODY: usize = 32 << 20;
/// Request bodies up to this size are kept, parsed, in the log.
const LOG_BODY_LIMIT: usize = 256 << 10;
/// How long connections may finish their exchange after shutdown before they are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Serves the mock on `listener` until `shutdown` resolves; then stops accepting, lets open
/// exchanges finish for a short grace period and drops the rest.
pub async fn serve(
    listener: TcpListener,
    state: Arc<MockState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, state.clone(), stop_rx.clone()));
                }
                Err(e) => {
                    // Per-connection failures (reset before accept, out of descriptors):
                    // keep serving, after a pause so a full descriptor table is not spun on.
                    tracing::warn!(error = %e, "mock upstream: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        connections.shutdown().await;
    }
    Ok(())
}

async fn connection(stream: TcpStream, state: Arc<MockState>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| handle(state.clone(), req));
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let finished = tokio::select! {
        result = conn.as_mut() => Some(result),
        _ = stop.wait_for(|stopped| *stopped) => None,
    };
    let result = match finished {
        Some(result) => result,
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Peers that leave mid-exchange and deliberate cuts end here; both are expected.
        tracing::debug!(error = %e, "mock upstream: connection ended with an error");
    }
}

async fn handle(
    state: Arc<MockState>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let route = route::route(parts.uri.path());
    let family = route.family();
    if !route.allows(&parts.method) {
        let what = format!(
            "Method {} is not allowed on {}",
            parts.method,
            parts.uri.path()
        );
        return Ok(error(family, &ErrorReply::MethodNotAllowed(what), None));
    }
    match route {
        Route::Health => return Ok(json(r#"{"status":"ok"}"#.into(), None)),
        Route::MockLog if parts.method == Method::DELETE => {
            state.clear();
            return Ok(json("{}".into(), None));
        }
        Route::MockLog => return Ok(json(to_json(&state.log()), None)),
        Route::OpenAiChat { .. }
        | Route::OpenAiCompletions { .. }
        | Route::OpenAiEmbeddings { .. }
        | Route::OpenAiModerations
        | Route::OpenAiImages
        | Route::OpenAiModels
        | Route::AnthropicMessages
        | Route::Gemini { .. }
        | Route::NotFound => {}
    }
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return Ok(error(family, &ErrorReply::TooLarge, None));
        }
        Err(e) => {
            let what = format!("Could not read the request body: {e}");
            return Ok(error(family, &ErrorReply::BadRequest(what), None));
        }
    };
    let parsed: Result<Value, String> = if parts.method == Method::POST {
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    } else {
        Err(String::new())
    };
    let (model, stream, work) = decode(&route, &parts.method, &parts.uri, &parsed);
    let headers = parts
        .headers
        .iter()
        .fold(BTreeMap::new(), |mut map, (k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes());
            map.entry(k.as_str().to_owned())
                .and_modify(|old: &mut String| {
                    old.push_str(", ");
                    old.push_str(&v);
                })
                .or_insert_with(|| v.into_owned());
            map
        });
    let body_sha256 = hex(&Sha256::digest(&bytes));
    let entry = MockLogEntry {
        seq: 0,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        model: model.clone(),
        stream,
        headers,
        body_len: bytes.len(),
        body_sha256: body_sha256.clone(),
        body: parsed.ok().filter(|_| bytes.len() <= LOG_BODY_LIMIT),
        outcome: MockOutcome::InProgress,
    };
    let (seq, hit) = state.record(entry);
    tracing::debug!(seq, path = parts.uri.path(), model, "mock upstream request");
    let exchange = Exchange::new(state.clone(), seq);
    let call = Call {
        family,
        model,
        stream,
        hit,
        body_sha256,
    };
    // An error makes hyper close the connection without an answer.
    answer(&state, &call, work, exchange)
        .await
        .ok_or_else(|| std::io::Error::other("hold-close: closed without an answer"))
}

/// The model, the stream flag and the work of a logged request (or why it cannot be served).
fn decode(
    route: &Route,
    method: &Method,
    uri: &http::Uri,
    parsed: &Result<Value, String>,
) -> (String, bool, Result<Work, ErrorReply>) {
    let body = match (route, parsed) {
        (Route::NotFound, _) => {
            let what = format!("Invalid URL ({method} {})", uri.path());
            return (String::new(), false, Err(ErrorReply::NotFound(what)));
        }
        (Route::OpenAiModels, _) => return (String::new(), false, Ok(Work::Models)),
        (_, Ok(body)) => body,
        (Route::Gemini { model, stream }, Err(e)) => {
            return (model.clone(), *stream, Err(bad_body(e)));
        }
        (_, Err(e)) => return (String::new(), false, Err(bad_body(e))),
    };
    let model_or = |fallback: &Option<String>| {
        body.get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| fallback.clone())
            .unwrap_or_default()
    };
    let (stream, include_usage) = openai::stream_flags(body);
    match route {
        Route::OpenAiChat { deployment } => {
            let prompt = openai::decode_chat_request(body);
            let work = Work::Chat {
                prompt,
                include_usage,
            };
            (model_or(deployment), stream, Ok(work))
        }
        Route::OpenAiCompletions { deployment } => {
            let prompt = completions::decode_request(body);
            let work = Work::Completion {
                prompt,
                include_usage,
            };
            (model_or(deployment), stream, Ok(work))
        }
        Route::OpenAiEmbeddings { deployment } => {
            let inputs = embeddings::decode_request(body);
            let work = Work::Embeddings {
                inputs,
                body: body.clone(),
            };
            (model_or(deployment), false, Ok(work))
        }
        Route::OpenAiModerations => {
            let inputs = embeddings::decode_request(body);
            (model_or(&None), false, Ok(Work::Moderation { inputs }))
        }
        Route::OpenAiImages => {
            let prompt = body["prompt"].as_str().unwrap_or_default().to_string();
            let n = body["n"].as_u64().unwrap_or(1).clamp(1, 10);
            (model_or(&None), false, Ok(Work::Images { prompt, n }))
        }
        Route::AnthropicMessages => {
            let prompt = anthropic::decode_request(body);
            let work = Work::Messages { prompt };
            (model_or(&None), anthropic::is_stream(body), Ok(work))
        }
        Route::Gemini { model, stream } => {
            let query = uri.query().unwrap_or_default();
            let sse = query.split('&').any(|kv| kv == "alt=sse");
            let prompt = gemini::decode_request(body);
            (model.clone(), *stream, Ok(Work::Gemini { prompt, sse }))
        }
        Route::OpenAiModels | Route::MockLog | Route::Health | Route::NotFound => {
            (String::new(), false, Ok(Work::Models))
        }
    }
}

fn bad_body(e: &str) -> ErrorReply {
    ErrorReply::BadRequest(format!(
        "The request body is not valid JSON ({e}); send a JSON object with \
         Content-Type: application/json."
    ))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
