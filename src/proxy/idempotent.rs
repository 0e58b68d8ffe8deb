//! Idempotent LLM calls (S9) on the request path: a call with `Idempotency-Key` is either the
//! first (served, its whole successful answer recorded by a [`Recording`] downstream and kept),
//! a repeat (the kept answer, `x-gateway-idempotent: true`, no provider call), a repeat while
//! the first is in flight (waits, up to the request's deadline, then 409), or the same key with
//! another request (400). Keys are per tenant: another tenant's key is never served.

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

use crate::ctx::RequestCtx;
use crate::downstream::{self, ClientGone, Downstream, Head, Value};
use crate::errors::{ErrorKind, Failure, GatewayError};
use crate::gateway::Gateway;
use crate::storage::now_ms;
use crate::tenancy::idempotency::{Answer, Begin, MAX_ANSWER_BYTES, Ticket};

/// Response headers a replay repeats (with the answer's own values).
const REPLAYED: &[&str] = &[
    "content-type",
    "x-gateway-provider",
    "x-gateway-model",
    "x-gateway-cost-usd",
    "x-gateway-retries",
];

/// A call's claim on its key.
pub enum Claim {
    /// No `Idempotency-Key`.
    None,
    /// The first with this key: serve it, then [`finish`].
    First {
        ticket: Ticket,
        tenant: String,
        key: String,
        fingerprint: [u8; 32],
    },
    /// Answer with the kept answer.
    Replay(std::sync::Arc<Answer>),
}

/// The header's name, parsed once.
static IDEMPOTENCY_KEY: http::HeaderName = http::HeaderName::from_static("idempotency-key");

/// The key a request sent, when it sent a usable one.
fn key_of(headers: &http::HeaderMap) -> Result<Option<String>, GatewayError> {
    let Some(v) = headers.get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_string()))
        }
        _ => Err(GatewayError::new(
            ErrorKind::BadRequest,
            "`Idempotency-Key` must be 1 to 255 visible ASCII characters.",
        )),
    }
}

/// Claims the request's key: waits while a first request with it is in flight.
pub async fn claim(
    gw: &Gateway,
    head: &http::request::Parts,
    ctx: &RequestCtx,
) -> Result<Claim, Failure> {
    let Some(key) = key_of(&head.headers)? else {
        return Ok(Claim::None);
    };
    let Some(call) = ctx.call.as_ref() else {
        return Ok(Claim::None);
    };
    let tenant = ctx
        .caller
        .as_ref()
        .map_or_else(|| "-".to_string(), |t| t.id.clone());
    let mut hash = Sha256::new();
    hash.update(head.uri.path().as_bytes());
    hash.update(b"\n");
    hash.update(call.raw.body());
    let fingerprint: [u8; 32] = hash.finalize().into();
    let ids = &gw.tenancy.idempotency;
    loop {
        match ids.begin(&tenant, &key, fingerprint, now_ms()) {
            Begin::Fresh(ticket) => {
                return Ok(Claim::First {
                    ticket,
                    tenant,
                    key,
                    fingerprint,
                });
            }
            Begin::Replay(answer) => return Ok(Claim::Replay(answer)),
            Begin::Mismatch => {
                return Err(GatewayError::new(
                    ErrorKind::BadRequest,
                    "This `Idempotency-Key` was used with a different request; use a new key for a new request.",
                )
                .into());
            }
            Begin::Wait(mut done) => {
                let waited =
                    tokio::time::timeout_at(ctx.controls.deadline, done.wait_for(|d| *d)).await;
                if waited.is_err() {
                    return Err(GatewayError::new(
                        ErrorKind::Conflict,
                        "A request with this `Idempotency-Key` is still being served; retry later.",
                    )
                    .into());
                }
            }
        }
    }
}

/// Answers a repeat with the kept answer.
pub async fn replay<D: Downstream>(
    down: &mut D,
    ctx: &mut RequestCtx,
    answer: &Answer,
) -> Result<(), Failure> {
    let mut head = Head {
        status: answer.status,
        headers: Vec::with_capacity(answer.headers.len() + 2),
    };
    for (name, value) in &answer.headers {
        if let Some(known) = REPLAYED.iter().find(|n| **n == name.as_str()) {
            head.headers.push((known, Value::Owned(value.clone())));
        }
    }
    head.push("x-request-id", ctx.id.clone());
    head.push("x-gateway-idempotent", "true");
    downstream::send(down, &mut ctx.trace, head, answer.body.clone())
        .await
        .map_err(|_| Failure::ClientGone)
}

/// Keeps the first request's answer when it was whole and successful; otherwise the key is
/// free again (the ticket is dropped).
pub fn finish(gw: &Gateway, claim: Claim, recorded: Option<Recorded>) {
    let (
        Claim::First {
            ticket,
            tenant,
            key,
            fingerprint,
        },
        Some(r),
    ) = (claim, recorded)
    else {
        return;
    };
    if !(200..300).contains(&r.status) {
        return;
    }
    let body = r.body();
    let answer = Answer {
        status: r.status,
        headers: r.headers,
        body,
        fingerprint,
        created_at: now_ms(),
    };
    gw.tenancy.keep_answer(ticket, &tenant, &key, answer);
}

/// What a [`Recording`] saw (the body whole, or nothing when it outgrew [`MAX_ANSWER_BYTES`]):
/// the pieces as written (shared, not copied).
pub struct Recorded {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pieces: Vec<Bytes>,
    len: usize,
}

impl Recorded {
    /// The body in one piece (copied only when it was written in several).
    pub fn body(&self) -> Bytes {
        match self.pieces.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => {
                let mut whole = BytesMut::with_capacity(self.len);
                for piece in many {
                    whole.extend_from_slice(piece);
                }
                whole.freeze()
            }
        }
    }
}

/// What is done with a recorded answer just before its last write goes to the client (so
/// that the client's next request already finds it done).
pub trait BeforeLast {
    /// The answer's usage and cost in `trace` are final (`served`: the provider's answer).
    fn ending(&mut self, trace: &crate::ctx::Trace, served: bool);
    /// The whole answer, about to be finished.
    fn last(&mut self, recorded: &Recorded);
}

/// A downstream that passes everything on and keeps a copy of the answer (up to
/// [`MAX_ANSWER_BYTES`]; a larger one, or one cut short, is not kept).
pub struct Recording<'d, D> {
    inner: &'d mut D,
    seen: Option<Recorded>,
    whole: bool,
    /// Whether the replayed headers are kept too (for a replay; a record keeps the body only).
    headers: bool,
    before_last: Option<&'d mut (dyn BeforeLast + Send)>,
}

impl<'d, D: Downstream> Recording<'d, D> {
    /// Keeps what `inner` is sent: the body, and the replayed headers when `headers`.
    pub fn new(inner: &'d mut D, headers: bool) -> Self {
        Recording {
            inner,
            seen: None,
            whole: false,
            headers,
            before_last: None,
        }
    }

    /// Hands the whole answer to `hook` just before its last write.
    pub fn before_last(mut self, hook: Option<&'d mut (dyn BeforeLast + Send)>) -> Self {
        self.before_last = hook;
        self
    }

    /// The answer is whole: the hook sees it before the last write goes out.
    fn finishing(&mut self) {
        if let (Some(hook), Some(seen)) = (self.before_last.take(), self.seen.as_ref()) {
            hook.last(seen);
        }
    }

    /// The answer, when it was written whole and fit.
    pub fn into_recorded(self) -> Option<Recorded> {
        self.seen.filter(|_| self.whole)
    }
}

impl<D: Downstream> Downstream for Recording<'_, D> {
    async fn write_head(&mut self, head: Head, end: bool) -> Result<(), ClientGone> {
        self.seen = Some(Recorded {
            status: head.status,
            headers: if self.headers {
                head.headers
                    .iter()
                    .filter(|(n, _)| REPLAYED.contains(n))
                    .map(|(n, v)| ((*n).to_owned(), String::from(v.as_ref())))
                    .collect()
            } else {
                Vec::new()
            },
            pieces: Vec::new(),
            len: 0,
        });
        self.whole = end;
        if end {
            self.finishing();
        }
        self.inner.write_head(head, end).await
    }

    async fn write_body(&mut self, body: Bytes, end: bool) -> Result<(), ClientGone> {
        if let Some(seen) = self.seen.as_mut() {
            if seen.len + body.len() <= MAX_ANSWER_BYTES {
                seen.len += body.len();
                if !body.is_empty() {
                    seen.pieces.push(body.clone());
                }
            } else {
                self.seen = None;
            }
        }
        self.whole = end;
        if end {
            self.finishing();
        }
        self.inner.write_body(body, end).await
    }

    fn ending(&mut self, trace: &crate::ctx::Trace, served: bool) {
        if let Some(hook) = self.before_last.as_mut() {
            hook.ending(trace, served);
        }
        self.inner.ending(trace, served);
    }

    async fn gone(&mut self) {
        self.inner.gone().await;
    }
}
