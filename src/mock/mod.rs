//! Mock upstream: a deterministic fake LLM provider speaking the OpenAI, Anthropic and Gemini
//! wire formats over HTTP/1.1, with its behaviour chosen by the model name.
//!
//! Used by the integration tests (started in-process on a free port with [`serve`]), by
//! `llm-gateway mock-upstream --port N` ([`run_blocking`]), in-process by the gateway for
//! `provider_type = "mock"`, and by the load tests (no per-request logging above debug level,
//! bounded memory).
//!
//! The model name reads `<behaviour>[;key=value]*`, e.g. `echo`, `echo;delay=20;split=7`,
//! `stream-cut;after=5`; a `mock/` prefix is ignored and unknown names behave as `echo`.
//!
//! | behaviour | does |
//! |---|---|
//! | `echo` | replies with the last user message |
//! | `tokens;n=16` | replies `tok0 tok1 ...` |
//! | `tool-call`, `parallel-tool-calls` | one / two tool calls (`{"location":"Paris"}`, Tokyo) |
//! | `fail-500`, `fail-503`, `fail-400-context`, `fail-429;retry_after=1` | that error, in the endpoint's format |
//! | `fail-once` (alias `fail-500-then-ok`), `fail-then-ok;fails=N;status=500` | the first N requests for the exact model string fail, later ones echo |
//! | `slow;ttfb_ms=2000` | waits before the response headers |
//! | `slow-first-token;ttft_ms=2000` | streaming: waits before the first token (non-streaming: before the headers) |
//! | `stream-cut;after=3` | aborts the connection after N tokens (non-streaming: after half the body) |
//! | `stall;after=3` | sends nothing more after N tokens until the client leaves (non-streaming: after half the body) |
//! | `malformed;after=2` | one broken SSE event after N tokens (non-streaming: a broken JSON body) |
//! | `hang` | never answers |
//! | `hold-close;ttfb_ms=2000` | reads the request, holds it, closes the connection without an answer |
//!
//! Embeddings: 8-dimensional vectors from each input's SHA-256; the model `words` embeds a bag
//! of content words instead (paraphrases alike), for the semantic cache.
//!
//! Options on any behaviour: `delay=<ms>` per token (non-streaming: tokens × delay before the
//! headers), `split=<n>` body frames of n bytes, `n=<tokens>` (caps `echo`), `ttfb_ms`,
//! `ttft_ms`, and for testing mid-stream rescue:
//!
//! | option | does |
//! |---|---|
//! | `prefill=continue` (default) | a request whose conversation ends with an assistant message with text P (OpenAI `messages`, Anthropic `messages`, Gemini `contents` of role `model`) gets the reply it would get without it, less P at its front, or less P without trailing whitespace; a reply starting with neither is sent whole. The first token may be the tail of one; usage counts the tokens sent, and P in the prompt |
//! | `prefill=refuse` | such a request gets a 400 `invalid_request_error` (Gemini: `INVALID_ARGUMENT`): "This model does not support assistant message prefill. The conversation must end with a user message." |
//! | `prefill=ignore` | such a request gets the reply it would get without the assistant message |
//! | `cut=<n>` | streaming: aborts the connection after n content events (text tokens; tool-argument fragments, so `tool-call;cut=1` cuts after a call's start and its first fragment); non-streaming: after half the body |
//! | `stall_at=<n>` | streaming: sends nothing more after n content events (non-streaming: after half the body) |
//! | `close_ms=<ms>` | with `stall` / `stall_at`: after stalling that long, aborts the connection instead of waiting for the client |
//! | `faults=<k>` | the fault of `stream-cut`, `stall`, `malformed`, `cut=`, `stall_at=` strikes only on the first k requests for this exact model string |
//! | `vary=1` | text depends on the request's hit number: `tokens` sends `h<hit>tok0 h<hit>tok1 ...`, echo starts with `h<hit> ` |
//!
//! `cut=` wins over `stall_at=`, which wins over the base behaviour's fault. Gemini sends a
//! function call whole in one chunk, so a Gemini stream cannot be cut inside a call. Ids derive
//! from the request body's SHA-256 and `created` is fixed, so identical requests give
//! byte-identical bodies. Gemini SSE events end with `\r\n\r\n`, as Google's do.
//!
//! Control endpoints: `GET /_mock/log` (the log as JSON), `DELETE /_mock/log` (clears the log
//! and the hit counters), `GET /health`.
//!
//! Layout: `server` (hyper, request decoding, logging) hands each request to `answer` (failure,
//! waits, encoding, body script); [`state`] keeps the log and counters; `log_entry` and
//! `options` define the log's entries and the start options; `route` names the endpoint,
//! `behaviour` parses the model name, `reply` builds the canonical reply, `openai` /
//! `completions` / `embeddings` / `anthropic` / `gemini` encode it, and `stream` plays the body
//! script. Everything but `server`, `answer`, `state` and `stream::MockBody` is pure.
//!
//! May depend on `uri` only: it plays the provider, so it shares no wire type with the gateway.

mod answer;
mod anthropic;
mod behaviour;
mod completions;
mod embeddings;
mod extras;
mod gemini;
mod log_entry;
mod openai;
mod options;
mod reply;
mod route;
mod server;
pub mod state;
mod stream;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

pub use log_entry::{MockLogEntry, MockOutcome};
pub use options::MockOptions;
pub use server::serve;
pub use state::MockState;

/// Runs a mock upstream on `addr` with its own tokio runtime until ctrl-c or SIGTERM.
/// Prints `mock upstream listening on http://ADDR` to stdout once bound.
pub fn run_blocking(addr: SocketAddr, opts: MockOptions) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "mock upstream listening on http://{bound}")?;
            out.flush()?;
        }
        serve(listener, MockState::new(opts), stop_signal()).await
    })
}

/// Resolves on ctrl-c or (on unix) SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    () = ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "mock upstream: cannot listen for SIGTERM");
                ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    ctrl_c().await;
}

/// Resolves on ctrl-c; never if the handler cannot be installed (rather than stopping at once).
async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "mock upstream: cannot listen for ctrl-c");
        std::future::pending::<()>().await;
    }
}
