//! The only module that knows `pingora::proxy`. Each phase delegates to a stage; the request's
//! state is one [`RequestCtx`]. May depend on every stage; no stage depends on it.
//!
//! ```text
//! client ──► pingora listener ──► GatewayProxy::request_filter
//!   ├─ LLM endpoints (/v1/chat/completions /v1/messages /v1/completions /v1/embeddings)
//!   │    llm::serve, over SessionIo (the Session as ClientRequest + Downstream):
//!   │      1 inbound::accept      method, virtual key, content type, x-gateway-* controls,
//!   │                             body under the cap, decoding → Call (summary, needs)
//!   │      2 (policy)             limits, budgets, prompt sanitisation, cache — later issues
//!   │      3 routing::plan        aliases, pools, pins, failover, capability gate → candidates
//!   │      4 attempt::run         per candidate: context-window filter, key, breaker, prepare
//!   │                             (same format: the client's bytes; else IR → provider format),
//!   │                             send under the TTFT limit, classify, retry / fail over,
//!   │                             hedge (realtime); 5 translation: whole bodies through the
//!   │                             codecs, streams through a Relay (held until first content)
//!   │                             (compliance: a stream filter beside the relay — later issue)
//!   │      6 RouteStats::observe  what routing learns (time to first token)
//!   │    failures: downstream::failure, in the caller's format
//!   └─ everything else: api::handle (route table over http types) → write the reply
//! GatewayProxy::logging → observability::finish (metrics + one access line, from ctx once)
//! ```
//!
//! | phase            | stage                                                      |
//! |------------------|------------------------------------------------------------|
//! | `request_filter` | `inbound`, `routing`, `attempt` (with `translate`), `api`  |
//! | `logging`        | `observability`                                            |
//! | `upstream_peer`  | unused: every route answers in `request_filter`            |
//!
//! Extension points: a policy stage (limits, budgets) slots between inbound and routing in
//! `llm::run`; a compliance filter wraps the relay inside `attempt::forward`; admin API and
//! portal routes are rows of `api`'s table; storage is a service on [`Gateway`].

mod llm;
mod session;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::listeners::ListenerConfig;
use pingora::protocols::l4::stream::L4BufferSettings;
use pingora::proxy::{HttpProxy, ProxyHttp, Session, http_proxy_service_with_name};
use pingora::server::configuration::ServerConf;
use pingora::services::listening::Service;
use pingora::upstreams::peer::HttpPeer;
use pingora::{Error, ErrorType};

use crate::api;
use crate::ctx::RequestCtx;
use crate::downstream;
use crate::errors::{ErrorFormat, Failure};
use crate::gateway::Gateway;
use crate::inbound::{self, endpoint::Endpoint};
use crate::observability;
use session::SessionIo;

/// Bytes of response a downstream connection buffers before writing (pingora flushes where a
/// response needs it): a short answer with its header leaves in one write.
const DOWNSTREAM_WRITE_BUFFER: usize = 8 * 1024;

/// Bytes a downstream connection reads at once. Every connection holds this buffer for its
/// whole life, idle or not (pingora's default is 64 KiB); a request header and a typical
/// body fit, a large body takes a few more reads.
const DOWNSTREAM_READ_BUFFER: usize = 8 * 1024;

/// The proxy service listening on `listen`.
pub fn service(
    conf: &Arc<ServerConf>,
    gateway: Arc<Gateway>,
    listen: &str,
) -> Service<HttpProxy<GatewayProxy>> {
    let mut service = http_proxy_service_with_name(conf, GatewayProxy { gateway }, "llm-gateway");
    // A write buffer that holds a response header and a short body (pingora's default is one
    // MSS, 1460 bytes), so that a whole short answer leaves in one write.
    service.add_listener(
        ListenerConfig::tcp(listen.to_string()).l4_buffer(L4BufferSettings::new(
            DOWNSTREAM_READ_BUFFER,
            DOWNSTREAM_WRITE_BUFFER,
        )),
    );
    service
}

/// The `ProxyHttp` implementation.
pub struct GatewayProxy {
    pub gateway: Arc<Gateway>,
}

/// A request id the client sent, when it is usable (short, visible ASCII).
fn client_request_id(session: &Session) -> Option<&str> {
    session
        .req_header()
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
}

fn client_closed() -> Box<Error> {
    Error::explain(ErrorType::ConnectionClosed, "client closed the connection").into_down()
}

#[async_trait]
impl ProxyHttp for GatewayProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new(String::new())
    }

    /// Runs first for every request. Returns `Ok(true)`: the response was written here.
    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        let gw = &self.gateway;
        ctx.id = client_request_id(session).map_or_else(|| gw.next_request_id(), str::to_string);
        gw.metrics.request_started();
        let endpoint = Endpoint::for_path(session.req_header().uri.path());
        if endpoint.is_none() {
            ctx.endpoint = api::label_of(session.req_header().uri.path());
        }
        let mut io = SessionIo(session);
        if let Err(e) = inbound::check_host(io.0.req_header()) {
            io.0.set_keepalive(None);
            let _ =
                downstream::error(&mut io, &mut ctx.trace, &ctx.id, &e, ErrorFormat::OpenAi).await;
            return Ok(true);
        }
        // Requests a client pipelines on one connection are answered in order.
        io.0.set_pipelining_enabled(true);
        // Connection lifetimes (`[server]`): how long an idle connection stays, how long a
        // read of the request and a write of the response may wait.
        let edge = gw.snapshot.load().edge;
        io.0.set_keepalive(Some(edge.keepalive_secs));
        io.0.set_read_timeout(Some(edge.request_head));
        io.0.set_write_timeout(Some(edge.client_write));
        match endpoint {
            Some(endpoint) => llm::serve(gw, &mut io, ctx, endpoint).await,
            None => {
                let reply = api::handle(gw, &mut io).await;
                answer_api(&mut io, ctx, reply).await?;
                Ok(true)
            }
        }
    }

    /// Never called: every route answers from `request_filter`.
    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
    ) -> pingora::Result<Box<HttpPeer>> {
        Err(Error::explain(
            ErrorType::InternalError,
            "no pass-through routes are configured",
        ))
    }

    /// Runs once per request at the end, after success or failure.
    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        self.gateway.metrics.request_finished();
        if ctx.trace.status == 0 {
            // The request failed before anything was written: the client left or the
            // connection broke.
            ctx.trace.status = if e.is_some() { 499 } else { 200 };
        }
        let req = session.req_header();
        observability::finish(
            &self.gateway.metrics,
            &self.gateway.access_log,
            ctx,
            req.method.as_str(),
            req.uri.path(),
        );
    }

    /// Client disconnects are expected; they are counted as 499, not logged as errors.
    fn suppress_error_log(&self, _session: &Session, ctx: &RequestCtx, _error: &Error) -> bool {
        ctx.trace.status == 499
    }
}

/// Writes an api reply (or its error, in OpenAI's format).
async fn answer_api(
    io: &mut SessionIo<'_>,
    ctx: &mut RequestCtx,
    reply: Result<api::Reply, Failure>,
) -> pingora::Result<()> {
    let reply = match reply {
        Ok(reply) => reply,
        Err(failure) => {
            return downstream::failure(io, &mut ctx.trace, &ctx.id, failure, ErrorFormat::OpenAi)
                .await
                .map_err(|_| client_closed());
        }
    };
    let (parts, body): (http::response::Parts, Bytes) = reply.into_parts();
    let mut h = ResponseHeader::from(parts);
    h.insert_header("content-length", body.len().to_string())?;
    h.insert_header("x-request-id", ctx.id.as_str())?;
    ctx.trace.status = h.status.as_u16();
    let empty = body.is_empty();
    io.0.write_response_header(Box::new(h), empty).await?;
    if !empty {
        io.0.write_response_body(Some(body), true).await?;
    }
    Ok(())
}
