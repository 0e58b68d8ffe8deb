//! The only module that knows pingora's HTTP server side. [`GatewayProxy`] is the application
//! pingora runs for each client connection: it counts the connection against
//! `[server] max_connections` (one too many gets a 503), then for each request reads its head
//! (under the head deadline), serves it through the stages and records it. Each step delegates to a stage; the request's state is one
//! [`RequestCtx`]. May depend on every stage; no stage depends on it.
//!
//! The gateway answers every request itself, so it runs as a plain `ServerApp` rather than
//! pingora's proxy: an idle keep-alive connection holds only the wait for its next request,
//! not the proxy's per-request state (docs/architecture.md, finding 12), and the request head
//! gets a deadline of its own.
//!
//! ```text
//! client ──► pingora listener ──► GatewayProxy::process_new (a connection slot)
//!            ├─ a POST to an LLM endpoint whose head came whole in the first read: lean::parse
//!            │    ──► serve_lean (llm::serve over lean::Lean: no pingora session)
//!            └─ else ──► process_request (pingora's session; the head under its deadline)
//!                 ──► handle, per request
//!   ├─ LLM endpoints (/v1/chat/completions /v1/messages /v1/completions /v1/embeddings)
//!   │    llm::serve, over SessionIo (the Session as ClientRequest + Downstream):
//!   │      1 inbound::accept      method, virtual key, content type, x-gateway-* controls,
//!   │                             body under the cap, decoding → Call (summary, needs)
//!   │      2 (policy)             limits, budgets, prompt sanitisation, cache — later issues
//!   │      3 routing::plan        aliases, deprecations, auto, pools, pins, five layers → chain
//!   │      4 attempt::run         per candidate: context-window filter, key, breaker, prepare
//!   │                             (same format: the client's bytes; else IR → provider format),
//!   │                             send under the TTFT limit, classify, retry / fail over,
//!   │                             hedge (realtime); 5 translation: whole bodies through the
//!   │                             codecs, streams through a Relay (held until first content)
//!   │                             (compliance: a stream filter beside the relay — later issue)
//!   │      6 RouteStats::observe  what routing learns (time to first token)
//!   │    failures: downstream::failure, in the caller's format
//!   └─ everything else: api::handle (route table over http types) → write the reply
//! GatewayProxy::log → observability::finish (metrics + one access line, from ctx once)
//! ```
//!
//! | step             | stage                                                      |
//! |------------------|------------------------------------------------------------|
//! | `handle`         | `inbound`, `routing`, `attempt` (with `translate`), `api`  |
//! | `log`            | `observability`                                            |
//!
//! Extension points: a policy stage (limits, budgets) slots between inbound and routing in
//! `llm::run`; a compliance filter wraps the relay inside `attempt::forward`; admin API and
//! portal routes are rows of `api`'s table; storage is a service on [`Gateway`].

mod bridged;
mod cached;
mod embed;
mod idempotent;
mod lean;
mod llm;
mod session;
mod settle;

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use pingora::ErrorType;
use pingora::apps::{HttpPersistentSettings, ServerApp};
use pingora::http::ResponseHeader;
use pingora::listeners::ListenerConfig;
use pingora::protocols::Stream;
use pingora::protocols::http::ServerSession;
use pingora::protocols::l4::stream::L4BufferSettings;
use pingora::server::ShutdownWatch;
use pingora::server::configuration::ServerConf;
use pingora::services::listening::Service;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

use crate::api;
use crate::ctx::RequestCtx;
use crate::downstream;
use crate::errors::{ErrorFormat, Failure};
use crate::gateway::Gateway;
use crate::inbound::{self, endpoint::Endpoint};
use crate::observability;
use session::SessionIo;

/// Bytes of response a downstream connection buffers before writing (pingora flushes where a
/// response needs it): a short answer with its header leaves in one write, a longer one
/// goes straight from its own buffer. Every connection holds this buffer for its whole life.
const DOWNSTREAM_WRITE_BUFFER: usize = 2 * 1024;

/// No read buffer in front of a downstream connection (pingora's default is 64 KiB, held
/// for the connection's whole life, idle or not): the HTTP layer reads the head and the
/// body into buffers of its own, which live only while a request is read.
const DOWNSTREAM_READ_BUFFER: usize = 0;

/// The gateway's listening service on `listen`.
pub fn service(
    _conf: &Arc<ServerConf>,
    gateway: Arc<Gateway>,
    listen: &str,
) -> Service<GatewayProxy> {
    let mut service = Service::new("llm-gateway".to_string(), GatewayProxy { gateway });
    service.add_listener(
        ListenerConfig::tcp(listen.to_string()).l4_buffer(L4BufferSettings::new(
            DOWNSTREAM_READ_BUFFER,
            DOWNSTREAM_WRITE_BUFFER,
        )),
    );
    service
}

/// The HTTP application of every client connection.
pub struct GatewayProxy {
    pub gateway: Arc<Gateway>,
}

/// A request id the client sent, when it is usable (short, visible ASCII).
fn client_request_id(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(const { http::HeaderName::from_static("x-request-id") })
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
}

/// The client went away or the connection broke: nothing more can be written.
#[derive(Debug)]
pub struct Broken;

/// The answer to a connection over `[server] max_connections`, written before closing it.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 148\r\n\r\n\
{\"error\":{\"message\":\"the gateway has as many connections open as it allows (server.max_connections); retry\",\"type\":\"api_error\",\"code\":\"overloaded\"}}";

#[async_trait]
impl ServerApp for GatewayProxy {
    /// One client connection (HTTP/1.1): refused with a 503 when `[server] max_connections`
    /// are open, else its requests in turn until it closes or cannot serve another. Between
    /// requests the connection holds only its socket and this loop: no buffer, no session.
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let max = self.gateway.snapshot.load().edge.max_connections;
        let Some(_slot) = self.gateway.connections.open(max) else {
            let _ = stream.write_all(TOO_MANY_CONNECTIONS).await;
            let _ = stream.flush().await;
            return None;
        };
        let (mut pipelined, mut settings) = (None, None);
        loop {
            // Bytes a client pipelined are the next head's start; otherwise wait for some.
            let start = match pipelined.take().filter(|p: &BytesMut| !p.is_empty()) {
                Some(start) => start,
                None => self.wait_for_request(&mut stream, shutdown).await?,
            };
            // A request whose head came whole is answered without pingora's session.
            let start = match lean::parse(start) {
                Ok(request) => {
                    pipelined =
                        Some(Box::pin(self.serve_lean(&mut stream, request, shutdown)).await?);
                    continue;
                }
                Err(start) => start,
            };
            let mut session = ServerSession::new_http1(stream);
            match settings.take() {
                Some(settings) => HttpPersistentSettings::apply_to_session(settings, &mut session),
                None => {
                    let keepalive = self.gateway.snapshot.load().edge.keepalive_secs;
                    session.set_keepalive(Some(keepalive));
                }
            }
            if *shutdown.borrow() {
                // Shutting down: no further request on this connection.
                session.set_keepalive(None);
            }
            session.set_pipelined_prefix(start);
            // The request's own state lives on the heap only while it is served.
            let reuse = Box::pin(self.process_request(session)).await?;
            stream = reuse.stream;
            pipelined = reuse.pipelined;
            settings = Some(reuse.settings);
        }
    }
}

/// What a connection carries from one request to the next.
pub struct Reuse {
    stream: Stream,
    /// Bytes the client sent past the previous request: the next one's start.
    pipelined: Option<BytesMut>,
    settings: HttpPersistentSettings,
}

/// Bytes read at once when a request starts (on the stack, during that read only): a request
/// up to this size that arrives in one piece can be answered without pingora's session
/// ([`lean`]).
const FIRST_READ: usize = 16 * 1024;

/// The least room the first bytes are kept in: pingora reads the rest of a head into it.
const HEAD_ROOM: usize = 4 * 1024;

/// Reads whatever is there once `stream` is readable: into a stack buffer, so that an idle
/// connection holds no buffer while it waits. `None`: the client closed.
async fn first_bytes(stream: &mut Stream) -> std::io::Result<Option<BytesMut>> {
    std::future::poll_fn(|cx| {
        let mut chunk = [const { MaybeUninit::<u8>::uninit() }; FIRST_READ];
        let mut buf = ReadBuf::uninit(&mut chunk);
        match Pin::new(&mut *stream).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(Ok(None)),
            Poll::Ready(Ok(())) => {
                let mut start = BytesMut::with_capacity(buf.filled().len().max(HEAD_ROOM));
                start.extend_from_slice(buf.filled());
                Poll::Ready(Ok(Some(start)))
            }
        }
    })
    .await
}

impl GatewayProxy {
    /// The wait for a connection's next request: up to the keep-alive time for its first
    /// bytes, or until the gateway shuts down. `None`: the connection ends quietly.
    pub async fn wait_for_request(
        &self,
        stream: &mut Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<BytesMut> {
        let wait = Duration::from_secs(self.gateway.snapshot.load().edge.keepalive_secs);
        let mut stop = shutdown.clone();
        tokio::select! {
            biased;
            read = tokio::time::timeout(wait, first_bytes(stream)) => read.ok()?.ok()?,
            _ = stop.wait_for(|stopping| *stopping) => None,
        }
    }

    /// One request of a connection: the rest of its head, under the head deadline, then the
    /// request served and recorded; the connection is handed back when it can serve another.
    pub async fn process_request(&self, mut session: ServerSession) -> Option<Reuse> {
        let head = self.gateway.snapshot.load().edge.request_head;
        match tokio::time::timeout(head, session.read_request()).await {
            Ok(Ok(true)) => {}
            // The client closed, or its head did not arrive in time: the connection ends.
            Ok(Ok(false)) | Err(_) => return None,
            Ok(Err(e)) => {
                if matches!(e.etype, ErrorType::InvalidHTTPHeader) {
                    let _ = session.respond_error(400).await;
                }
                return None;
            }
        }
        self.serve(session).await
    }

    /// Serves one request whose head was read, records it, and hands back the connection.
    async fn serve(&self, mut session: ServerSession) -> Option<Reuse> {
        let mut ctx = RequestCtx::new(String::new());
        self.gateway.metrics.request_started();
        let served = self.handle(&mut session, &mut ctx).await;
        self.log(session.req_header(), &mut ctx, served.is_err());
        if served.is_err() {
            return None;
        }
        let settings = HttpPersistentSettings::for_session(&session);
        let (stream, pipelined) = session.finish().await.ok().flatten()?.into_parts();
        Some(Reuse {
            stream,
            pipelined,
            settings,
        })
    }

    /// Answers one request. `Err`: the connection broke before the answer was whole.
    pub async fn handle(
        &self,
        session: &mut ServerSession,
        ctx: &mut RequestCtx,
    ) -> Result<(), Broken> {
        let gw = &self.gateway;
        ctx.id = client_request_id(&session.req_header().headers)
            .map_or_else(|| gw.next_request_id(), str::to_string);
        let endpoint = Endpoint::for_path(session.req_header().uri.path());
        if endpoint.is_none() {
            ctx.endpoint = api::label_of(session.req_header().uri.path());
        }
        let mut io = SessionIo(session);
        if let Err(e) = inbound::check_host(io.0.req_header()) {
            io.0.set_keepalive(None);
            return downstream::error(&mut io, &mut ctx.trace, &ctx.id, &e, ErrorFormat::OpenAi)
                .await
                .map_err(|_| Broken);
        }
        // Requests a client pipelines on one connection are answered in order.
        io.0.set_pipelining_enabled(true);
        // Connection lifetimes (`[server]`): how long an idle connection stays, how long a
        // read of the request and a write of the response may wait.
        let edge = gw.snapshot.load().edge;
        io.0.set_keepalive(Some(edge.keepalive_secs));
        // pingora's own limit on a read is a second longer than the body's deadline
        // (`inbound::body`), so the deadline wins the race and the client gets its 408
        // rather than a closed connection.
        io.0.set_read_timeout(Some(edge.request_head + std::time::Duration::from_secs(1)));
        io.0.set_write_timeout(Some(edge.client_write));
        match endpoint {
            // (The call's attempt loop, the large part of its future, is boxed inside.)
            Some(endpoint) => llm::serve(gw, &mut io, ctx, endpoint).await,
            None => {
                let reply = api::handle(gw, &mut io).await;
                answer_api(&mut io, ctx, reply).await
            }
        }
    }

    /// Serves a request whose head came whole ([`lean`]) and records it: the bytes of the client's
    /// next request when the connection stays open.
    async fn serve_lean(
        &self,
        stream: &mut Stream,
        request: lean::Request,
        shutdown: &ShutdownWatch,
    ) -> Option<BytesMut> {
        let gw = &self.gateway;
        let endpoint = request.endpoint;
        let mut io = lean::Lean::new(stream, request, gw.snapshot.load().edge.client_write);
        if *shutdown.borrow() {
            io.close();
        }
        let mut ctx = RequestCtx::new(String::new());
        gw.metrics.request_started();
        ctx.id = client_request_id(&io.head().headers)
            .map_or_else(|| gw.next_request_id(), str::to_string);
        let served = match inbound::check_host(io.head()) {
            Ok(()) => llm::serve(gw, &mut io, &mut ctx, endpoint).await,
            Err(e) => {
                io.close();
                downstream::error(&mut io, &mut ctx.trace, &ctx.id, &e, ErrorFormat::OpenAi)
                    .await
                    .map_err(|_| Broken)
            }
        };
        self.log(io.head(), &mut ctx, served.is_err());
        served.ok()?;
        io.into_next()
    }

    /// Records a finished request: metrics and the access line. The request leaves the
    /// in-flight gauge last, so a scrape that sees it gone sees everything it counted.
    fn log(&self, req: &http::request::Parts, ctx: &mut RequestCtx, broken: bool) {
        if ctx.trace.status == 0 {
            // The request failed before anything was written: the client left or the
            // connection broke.
            ctx.trace.status = if broken { 499 } else { 200 };
        }
        observability::finish(
            &self.gateway.metrics,
            &self.gateway.access_log,
            ctx,
            req.method.as_str(),
            req.uri.path(),
        );
        // An LLM call: what it held against budgets becomes what it cost, and it is recorded
        // (through the writer's queue: no database work here).
        if Endpoint::for_path(req.uri.path()).is_some() {
            let tenancy = &self.gateway.tenancy;
            // (Normally settled already, just before the answer's last write.)
            let (reservation, admission) = (ctx.reservation.take(), ctx.admission.take());
            settle::settle(
                tenancy,
                &ctx.trace,
                ctx.trace.served,
                reservation,
                admission,
            );
            // The tokens the serving provider spent count against its quota.
            if let (Some(u), Some(provider)) = (ctx.trace.usage, &ctx.trace.provider) {
                let snap = self.gateway.snapshot.load();
                if let Some(quota) = snap.provider_quota.as_deref() {
                    let tokens = u.input_tokens + u.output_tokens;
                    self.gateway
                        .limiter
                        .provider_sent(quota, provider, 0, tokens);
                }
            }
            tenancy.record(observability::record::of(
                ctx,
                crate::storage::now_ms(),
                &req.headers,
            ));
        }
        self.gateway.metrics.request_finished();
    }
}

/// Writes an api reply (or its error, in OpenAI's format).
async fn answer_api(
    io: &mut SessionIo<'_>,
    ctx: &mut RequestCtx,
    reply: Result<api::Reply, Failure>,
) -> Result<(), Broken> {
    let reply = match reply {
        Ok(reply) => reply,
        Err(failure) => {
            return downstream::failure(io, &mut ctx.trace, &ctx.id, failure, ErrorFormat::OpenAi)
                .await
                .map_err(|_| Broken);
        }
    };
    let (parts, body): (http::response::Parts, Bytes) = reply.into_parts();
    let mut h = ResponseHeader::from(parts);
    h.insert_header("content-length", body.len().to_string())
        .map_err(|_| Broken)?;
    h.insert_header("x-request-id", ctx.id.as_str())
        .map_err(|_| Broken)?;
    ctx.trace.status = h.status.as_u16();
    io.0.write_response_header(Box::new(h))
        .await
        .map_err(|_| Broken)?;
    io.0.write_response_body(body, true)
        .await
        .map_err(|_| Broken)
}
