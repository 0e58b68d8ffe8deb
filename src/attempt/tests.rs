//! The attempt loop against an in-memory client ([`FakeDown`]) and a scripted upstream
//! ([`Scripted`], answers chosen per provider host), on tokio's paused clock: what the client
//! saw, what the upstream saw, and which in-flight requests were dropped.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::run;
use crate::ctx::RequestCtx;
use crate::downstream::{ClientGone, Downstream, Head};
use crate::errors::Failure;
use crate::gateway::Gateway;
use crate::inbound::controls::Controls;
use crate::inbound::endpoint::Endpoint;
use crate::inbound::request::RawRequest;
use crate::inbound::{Call, needs_of};
use crate::observability::access_log::AccessLog;
use crate::routing::{Candidate, Profile};
use crate::runtime::provider::Endpoint as ProviderEndpoint;
use crate::runtime::snapshot::Snapshot;
use crate::upstream::{SendError, Upstream, UpstreamRequest, UpstreamResponse};

/// Two OpenAI-format providers, `a` (two attempts per request) and `b`.
const CONFIG: &str = r#"
[resilience.hedge]
enabled = true
hedge_delay_ms = 100

[[providers]]
id = "a"
provider_type = "openai"
endpoint = "http://a.test/v1"
api_key = "key-a"
retry_policy = { max_attempts = 2, base_delay_ms = 10, max_delay_ms = 20 }

[[providers]]
id = "b"
provider_type = "openai"
endpoint = "http://b.test/v1"
api_key = "key-b"
"#;

const OK_JSON: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
const ROLE: &str = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n";
const TEXT: &str = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n";
const STOP: &str =
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
const DONE: &str = "data: [DONE]\n\n";

/// One step of a scripted response body.
#[derive(Debug, Clone)]
enum Step {
    Data(&'static str),
    /// The connection breaks.
    Cut,
    /// Nothing more arrives.
    Stall,
}

/// One scripted answer.
#[derive(Debug, Clone)]
struct Script {
    /// `None`: the connect fails.
    status: Option<u16>,
    content_type: &'static str,
    header_delay: Duration,
    steps: Vec<Step>,
}

impl Script {
    fn json(status: u16, body: &'static str) -> Script {
        Script {
            status: Some(status),
            content_type: "application/json",
            header_delay: Duration::ZERO,
            steps: vec![Step::Data(body)],
        }
    }

    fn sse(steps: Vec<Step>) -> Script {
        Script {
            status: Some(200),
            content_type: "text/event-stream",
            header_delay: Duration::ZERO,
            steps,
        }
    }

    fn after(mut self, delay: Duration) -> Script {
        self.header_delay = delay;
        self
    }
}

/// Counts a send dropped before its response header arrived.
struct Dropped<'a>(&'a AtomicUsize, bool);

impl Drop for Dropped<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// An upstream that answers each provider host from its queue of scripts.
#[derive(Default)]
struct Scripted {
    scripts: Mutex<HashMap<String, VecDeque<Script>>>,
    /// Host of every send, in order.
    sent: Mutex<Vec<String>>,
    /// Sends dropped before their header (a hedge's loser, a client that left).
    cancelled: AtomicUsize,
    /// Responses dropped before their body ended.
    abandoned: Arc<AtomicUsize>,
    released: AtomicUsize,
}

impl Scripted {
    fn with(scripts: &[(&str, Script)]) -> Scripted {
        let s = Scripted::default();
        for (host, script) in scripts {
            s.scripts
                .lock()
                .entry((*host).to_string())
                .or_default()
                .push_back(script.clone());
        }
        s
    }

    fn sent(&self) -> Vec<String> {
        self.sent.lock().clone()
    }
}

struct ScriptedResponse {
    status: u16,
    content_type: &'static str,
    steps: VecDeque<Step>,
    abandoned: Arc<AtomicUsize>,
}

impl Drop for ScriptedResponse {
    fn drop(&mut self) {
        if !self.steps.is_empty() {
            self.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Upstream for Scripted {
    type Response = ScriptedResponse;

    fn send(
        &self,
        endpoint: &ProviderEndpoint,
        _req: &UpstreamRequest,
        _connect: Duration,
    ) -> impl Future<Output = Result<ScriptedResponse, SendError>> + Send {
        let host = endpoint.host.clone();
        async move {
            self.sent.lock().push(host.clone());
            let script = self
                .scripts
                .lock()
                .get_mut(&host)
                .and_then(VecDeque::pop_front);
            let Some(script) = script else {
                return Err(SendError::Connect(format!("no script left for {host}")));
            };
            let mut guard = Dropped(&self.cancelled, false);
            tokio::time::sleep(script.header_delay).await;
            guard.1 = true;
            let status = script
                .status
                .ok_or_else(|| SendError::Connect("refused".into()))?;
            Ok(ScriptedResponse {
                status,
                content_type: script.content_type,
                steps: script.steps.into(),
                abandoned: self.abandoned.clone(),
            })
        }
    }

    fn release(&self, _resp: ScriptedResponse) -> impl Future<Output = ()> + Send {
        self.released.fetch_add(1, Ordering::SeqCst);
        std::future::ready(())
    }
}

impl UpstreamResponse for ScriptedResponse {
    fn status(&self) -> u16 {
        self.status
    }

    fn header(&self, name: &str) -> Option<&str> {
        (name == "content-type").then_some(self.content_type)
    }

    async fn read_body(&mut self) -> Result<Option<Bytes>, String> {
        match self.steps.front().cloned() {
            None => Ok(None),
            Some(Step::Stall) => std::future::pending().await,
            Some(Step::Cut) => {
                self.steps.clear();
                Err("connection reset by peer".into())
            }
            Some(Step::Data(d)) => {
                self.steps.pop_front();
                Ok(Some(Bytes::from_static(d.as_bytes())))
            }
        }
    }
}

/// A client that records what it was sent, and can leave after its first body write.
#[derive(Default)]
struct FakeDown {
    head: Option<Head>,
    body: Vec<u8>,
    ended: bool,
    leave_after_first_write: bool,
    left: bool,
}

impl FakeDown {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.as_ref().and_then(|h| h.get(name))
    }
}

impl Downstream for FakeDown {
    async fn write_head(&mut self, head: Head, end: bool) -> Result<(), ClientGone> {
        if self.left {
            return Err(ClientGone);
        }
        assert!(self.head.is_none(), "a second response head");
        self.head = Some(head);
        self.ended = end;
        Ok(())
    }

    async fn write_body(&mut self, body: Bytes, end: bool) -> Result<(), ClientGone> {
        if self.left {
            return Err(ClientGone);
        }
        assert!(
            self.head.is_some() && !self.ended,
            "body outside a response"
        );
        self.body.extend_from_slice(&body);
        self.ended = end;
        self.left = self.leave_after_first_write;
        Ok(())
    }

    async fn gone(&mut self) {
        if !self.left {
            std::future::pending::<()>().await;
        }
    }
}

fn gateway() -> Gateway {
    let snap = Snapshot::build(toml::from_str(CONFIG).unwrap(), &HashMap::new()).unwrap();
    Gateway::new(
        snap,
        0,
        AccessLog::disabled(),
        HashMap::new(),
        crate::tenancy::Tenancy::open(&crate::config::DatabaseConfig::default(), None).unwrap(),
        crate::limits::Limiter::default(),
        0,
    )
}

/// A chat request to model `m` of providers `a` then `b`.
fn request(gw: &Gateway, stream: bool, profile: Option<Profile>) -> RequestCtx {
    let snap = gw.snapshot.load();
    let body = format!(
        r#"{{"model":"m","stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
    );
    let raw = RawRequest::parse(Bytes::from(body)).unwrap();
    let endpoint = Endpoint::for_path("/v1/chat/completions").unwrap();
    let mut ctx = RequestCtx::new("req_test".into());
    ctx.call = Some(Call {
        endpoint,
        summary: raw.summary().unwrap(),
        needs: needs_of(endpoint.format, &raw),
        raw,
        ir: None,
        bridged: None,
    });
    ctx.controls = Controls {
        profile,
        ..Controls::defaults(Instant::now(), Duration::from_secs(60))
    };
    ctx.plan.candidates = ["a", "b"]
        .iter()
        .map(|id| Candidate {
            provider: snap.provider(id).unwrap().clone(),
            model: "m".into(),
            card: None,
        })
        .collect();
    ctx
}

/// A stream that answers and ends properly.
fn whole_stream() -> Script {
    Script::sse(vec![
        Step::Data(ROLE),
        Step::Data(TEXT),
        Step::Data(STOP),
        Step::Data(DONE),
    ])
}

async fn serve(
    gw: &Gateway,
    up: &Scripted,
    down: &mut FakeDown,
    ctx: &mut RequestCtx,
) -> Result<(), Failure> {
    let snap = gw.snapshot.load_full();
    run(gw, up, down, &snap, ctx).await
}

#[tokio::test(start_paused = true)]
async fn retry_then_success() {
    let gw = gateway();
    let up = Scripted::with(&[
        (
            "a.test",
            Script::json(500, r#"{"error":{"message":"boom"}}"#),
        ),
        ("a.test", Script::json(200, OK_JSON)),
    ]);
    let (mut down, mut ctx) = (FakeDown::default(), request(&gw, false, None));
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    assert_eq!(up.sent(), ["a.test", "a.test"]);
    assert_eq!(down.head.as_ref().unwrap().status, 200);
    assert_eq!(down.text(), OK_JSON);
    assert_eq!(down.header("x-gateway-retries"), Some("1"));
    assert_eq!(ctx.trace.attempts, 2);
    assert!(ctx.trace.served);
    assert_eq!(ctx.trace.usage.map(|u| u.input_tokens), Some(3));
    // Every attempt is counted by outcome, the successful one too.
    let metrics = gw.metrics.render(Duration::ZERO, &[], &[], 0);
    for line in [
        "gateway_upstream_attempts_total{provider=\"a\",outcome=\"server_error\"} 1",
        "gateway_upstream_attempts_total{provider=\"a\",outcome=\"ok\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

#[tokio::test(start_paused = true)]
async fn failover_to_the_next_candidate() {
    let gw = gateway();
    let up = Scripted::with(&[
        (
            "a.test",
            Script::json(503, r#"{"error":{"message":"busy"}}"#),
        ),
        (
            "a.test",
            Script::json(503, r#"{"error":{"message":"busy"}}"#),
        ),
        ("b.test", Script::json(200, OK_JSON)),
    ]);
    let (mut down, mut ctx) = (FakeDown::default(), request(&gw, false, None));
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    assert_eq!(up.sent(), ["a.test", "a.test", "b.test"]);
    assert_eq!(down.header("x-gateway-provider"), Some("b"));
    assert_eq!(down.text(), OK_JSON);
    assert_eq!(ctx.trace.provider.as_deref(), Some("b"));
    assert_eq!(up.released.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn exhausted_chain_answers_the_last_provider_error() {
    let gw = gateway();
    let busy = r#"{"error":{"message":"busy"}}"#;
    let up = Scripted::with(&[
        ("a.test", Script::json(503, busy)),
        ("a.test", Script::json(503, busy)),
        ("b.test", Script::json(503, busy)),
        ("b.test", Script::json(503, busy)),
        ("b.test", Script::json(503, busy)),
    ]);
    let (mut down, mut ctx) = (FakeDown::default(), request(&gw, false, None));
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    assert_eq!(up.sent().len(), 5);
    assert_eq!(down.head.as_ref().unwrap().status, 503);
    assert_eq!(down.text(), busy);
    assert_eq!(ctx.trace.error, Some("upstream_error"));
}

#[tokio::test(start_paused = true)]
async fn hedge_winner_served_and_loser_cancelled() {
    let gw = gateway();
    let up = Scripted::with(&[
        (
            "a.test",
            Script::json(200, OK_JSON).after(Duration::from_secs(2)),
        ),
        (
            "b.test",
            Script::json(200, OK_JSON).after(Duration::from_millis(10)),
        ),
    ]);
    let mut ctx = request(&gw, false, Some(Profile::Realtime));
    let mut down = FakeDown::default();
    let started = Instant::now();
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    // The hedge went out after 100 ms and answered 10 ms later; the primary was dropped.
    assert_eq!(started.elapsed(), Duration::from_millis(110));
    assert_eq!(up.sent(), ["a.test", "b.test"]);
    assert_eq!(up.cancelled.load(Ordering::SeqCst), 1);
    assert_eq!(down.header("x-gateway-provider"), Some("b"));
    assert_eq!(ctx.trace.attempts, 2);
}

#[tokio::test(start_paused = true)]
async fn stream_cut_before_first_content_fails_over() {
    let gw = gateway();
    let up = Scripted::with(&[
        ("a.test", Script::sse(vec![Step::Data(ROLE), Step::Cut])),
        ("a.test", Script::sse(vec![Step::Data(ROLE), Step::Cut])),
        ("b.test", whole_stream()),
    ]);
    let (mut down, mut ctx) = (FakeDown::default(), request(&gw, true, None));
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    assert_eq!(up.sent(), ["a.test", "a.test", "b.test"]);
    // Nothing of `a`'s broken streams reached the client: one head, `b`'s bytes exactly.
    assert_eq!(down.header("x-gateway-provider"), Some("b"));
    assert_eq!(down.text(), [ROLE, TEXT, STOP, DONE].concat());
    assert!(down.ended);
    assert_eq!(ctx.trace.error, None);
}

#[tokio::test(start_paused = true)]
async fn stream_cut_after_content_without_rescue_ends_with_an_error_event() {
    let gw = gateway();
    let up = Scripted::with(&[
        (
            "a.test",
            Script::sse(vec![Step::Data(ROLE), Step::Data(TEXT), Step::Cut]),
        ),
        ("b.test", Script::json(200, OK_JSON)),
    ]);
    let (mut down, mut ctx) = (FakeDown::default(), request(&gw, true, None));
    ctx.controls.rescue = false;
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    assert_eq!(up.sent(), ["a.test"], "no failover once content was sent");
    let text = down.text();
    assert!(text.starts_with(&[ROLE, TEXT].concat()), "{text}");
    assert!(text.contains("upstream_stream_error"), "{text}");
    assert!(
        !text.contains("[DONE]"),
        "a cut stream is never presented as complete"
    );
    assert!(down.ended);
    assert_eq!(ctx.trace.error, Some("upstream_stream_error"));
}

#[tokio::test(start_paused = true)]
async fn client_gone_mid_stream_drops_the_upstream() {
    let gw = gateway();
    let up = Scripted::with(&[(
        "a.test",
        Script::sse(vec![Step::Data(ROLE), Step::Data(TEXT), Step::Stall]),
    )]);
    let mut ctx = request(&gw, true, None);
    let mut down = FakeDown {
        leave_after_first_write: true,
        ..FakeDown::default()
    };
    let result = serve(&gw, &up, &mut down, &mut ctx).await;
    assert!(matches!(result, Err(Failure::ClientGone)), "{result:?}");
    assert_eq!(down.text(), [ROLE, TEXT].concat());
    assert_eq!(up.sent(), ["a.test"]);
    // The stalled response was dropped (its connection closed), never returned to the pool.
    assert_eq!(up.abandoned.load(Ordering::SeqCst), 1);
    assert_eq!(up.released.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_silent_provider_is_not_asked_again() {
    let gw = gateway();
    let up = Scripted::with(&[
        (
            "a.test",
            Script::json(200, OK_JSON).after(Duration::from_secs(5)),
        ),
        ("b.test", Script::json(200, OK_JSON)),
    ]);
    // `interactive`: 2 s to the first byte.
    let mut ctx = request(&gw, false, Some(Profile::Interactive));
    let mut down = FakeDown::default();
    let started = Instant::now();
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(
        up.sent(),
        ["a.test", "b.test"],
        "no second try of the silent route"
    );
    assert_eq!(down.header("x-gateway-provider"), Some("b"));
}

#[tokio::test(start_paused = true)]
async fn the_first_token_limit_covers_the_first_content_not_only_the_header() {
    let gw = gateway();
    let up = Scripted::with(&[
        ("a.test", Script::sse(vec![Step::Data(ROLE), Step::Stall])),
        ("b.test", whole_stream()),
    ]);
    let mut ctx = request(&gw, true, Some(Profile::Interactive));
    let mut down = FakeDown::default();
    let started = Instant::now();
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    // `a` answered at once with a header and a role chunk, then nothing: at 2 s it is given
    // up (not at the 60 s stream idle limit) and `b` serves, with nothing of `a` sent.
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(up.sent(), ["a.test", "b.test"]);
    assert_eq!(down.text(), [ROLE, TEXT, STOP, DONE].concat());
}

#[tokio::test(start_paused = true)]
async fn stream_cut_after_content_is_continued_with_one_answer() {
    let gw = gateway();
    let up = Scripted::with(&[
        (
            "a.test",
            Script::sse(vec![Step::Data(ROLE), Step::Data(TEXT), Step::Cut]),
        ),
        ("b.test", whole_stream()),
    ]);
    let (mut down, mut ctx) = (FakeDown::default(), request(&gw, true, None));
    serve(&gw, &up, &mut down, &mut ctx).await.unwrap();
    // `a` breaks again on its retry (its regenerated answer adds nothing before the cut);
    // `b` regenerates "Hello", which is dropped, and finishes.
    assert_eq!(up.sent(), ["a.test", "a.test", "b.test"]);
    let text = down.text();
    assert!(text.starts_with(&[ROLE, TEXT].concat()), "{text}");
    assert_eq!(text.matches("Hello").count(), 1, "{text}");
    assert!(text.contains("\"finish_reason\":\"stop\""), "{text}");
    assert!(text.ends_with(DONE) && !text.contains("error"), "{text}");
    assert!(down.ended);
    assert_eq!(ctx.trace.error, None);
    assert_eq!(ctx.trace.continuations, 1);
    assert_eq!(ctx.trace.provider.as_deref(), Some("b"));
}
