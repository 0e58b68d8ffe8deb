//! What a connection and a request cost in memory before they do anything: the futures the
//! runtime holds. An idle keep-alive connection holds the connection's loop and the wait for
//! its next request; a request's own state (the whole LLM pipeline) lives in a heap box only
//! while it is served (docs/architecture.md, findings 10 and 12). Deterministic for a given
//! build, so both are held to a budget; `cargo nextest run --test it footprint --no-capture`
//! prints them.

use std::sync::Arc;

use llm_gateway::observability::access_log::AccessLog;
use llm_gateway::proxy::GatewayProxy;
use pingora::apps::ServerApp;
use pingora::protocols::http::ServerSession;

/// The request future may not grow past this (it was 15 KiB when the budget was set).
const REQUEST_BUDGET: usize = 16 * 1024;

/// What an idle connection's future may hold, its wait for the next request included; no
/// buffer is held while it waits (pingora's proxy held about 14.6 KiB).
const IDLE_BUDGET: usize = 1024;

fn proxy() -> Arc<GatewayProxy> {
    // Port 0: building the server binds its listener, and tests run in parallel.
    let config = "[server]\nport = 0\n[[providers]]\nid = \"mock\"\nprovider_type = \"mock\"\n";
    let config = llm_gateway::config::load_str(config, "test.toml").unwrap();
    let built = llm_gateway::app::build(config, AccessLog::disabled()).unwrap();
    Arc::new(GatewayProxy {
        gateway: built.gateway.clone(),
    })
}

#[tokio::test]
async fn request_future_fits_its_budget() {
    let proxy = proxy();
    let (client, _server) = tokio::io::duplex(1024);
    let mut session = ServerSession::new_http1(Box::new(client));
    let mut ctx = llm_gateway::ctx::RequestCtx::new(String::new());
    let future = proxy.handle(&mut session, &mut ctx);
    let size = std::mem::size_of_val(&future);
    eprintln!("request future: {size} bytes");
    assert!(size <= REQUEST_BUDGET, "request future is {size} bytes");
}

#[tokio::test]
async fn an_idle_connection_holds_little() {
    let proxy = proxy();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let (client, _server) = tokio::io::duplex(1024);
    let connection = proxy.process_new(Box::new(client), &rx);
    let size = std::mem::size_of_val(&*connection);
    eprintln!("connection future (its wait for a request): {size} bytes");
    assert!(
        size <= IDLE_BUDGET,
        "an idle connection's future is {size} bytes"
    );
    let mut stream: pingora::protocols::Stream = Box::new(tokio::io::duplex(1024).0);
    let wait = proxy.wait_for_request(&mut stream, &rx);
    eprintln!("request wait: {} bytes", std::mem::size_of_val(&wait));
}
