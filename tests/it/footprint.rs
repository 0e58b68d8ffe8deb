//! What one request costs in memory before it does anything: the size of the future pingora
//! boxes for `request_filter` (the whole LLM pipeline), which is copied into a heap allocation
//! per request (docs/architecture.md, finding 10). Deterministic for a given build, so it is
//! held to a budget; `cargo nextest run --test it footprint --no-capture` prints it.

use llm_gateway::observability::access_log::AccessLog;
use llm_gateway::proxy::GatewayProxy;
use pingora::proxy::{ProxyHttp, Session};

/// The request future may not grow past this (it was 15 KiB when the budget was set).
const BUDGET: usize = 16 * 1024;

#[tokio::test]
async fn request_future_fits_its_budget() {
    // Port 0: building the server binds its listener, and tests run in parallel.
    let config = "[server]\nport = 0\n[[providers]]\nid = \"mock\"\nprovider_type = \"mock\"\n";
    let config = llm_gateway::config::load_str(config, "test.toml").unwrap();
    let built = llm_gateway::app::build(config, AccessLog::disabled()).unwrap();
    let proxy = GatewayProxy {
        gateway: built.gateway.clone(),
    };
    let (client, _server) = tokio::io::duplex(1024);
    let mut session = Session::new_h1(Box::new(client));
    let mut ctx = proxy.new_ctx();
    let future = proxy.request_filter(&mut session, &mut ctx);
    let size = std::mem::size_of_val(&*future);
    eprintln!("request_filter future: {size} bytes");
    assert!(size <= BUDGET, "request_filter future is {size} bytes");
}

#[tokio::test]
async fn connection_future_size() {
    use pingora::apps::{HttpServerApp, ServerApp};
    // Port 0: building the server binds its listener, and tests run in parallel.
    let config = "[server]\nport = 0\n[[providers]]\nid = \"mock\"\nprovider_type = \"mock\"\n";
    let config = llm_gateway::config::load_str(config, "test.toml").unwrap();
    let built = llm_gateway::app::build(config, AccessLog::disabled()).unwrap();
    let conf = std::sync::Arc::new(pingora::server::configuration::ServerConf::default());
    let app = std::sync::Arc::new(pingora::proxy::HttpProxy::new(
        GatewayProxy {
            gateway: built.gateway.clone(),
        },
        conf,
    ));
    let (client, _server) = tokio::io::duplex(1024);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let fut = app.process_new(Box::new(client), &rx);
    eprintln!("connection future: {} bytes", std::mem::size_of_val(&*fut));
    drop(fut);
    let (client, _server) = tokio::io::duplex(1024);
    let session = pingora::protocols::http::ServerSession::new_http1(Box::new(client));
    let fut = app.process_new_http(session, &rx);
    eprintln!(
        "process_new_http future: {} bytes",
        std::mem::size_of_val(&*fut)
    );
}
