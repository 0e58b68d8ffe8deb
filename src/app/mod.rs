//! Builds the Pingora server: the proxy service on the configured address (bound here, so a
//! bad address is an error before the server runs: `listener`), plus one in-process mock
//! upstream per `provider_type = "mock"` provider (bound to a loopback port before the snapshot
//! is built, so the provider's endpoint is known). Runs it until a signal (`shutdown`), after
//! raising the open-files limit (`limits`).
//!
//! Entry points: [`build`] (also used by tests) and [`serve`] (the CLI's blocking run).
//!
//! The composition root: may depend on every module; nothing depends on it.

mod jwks;
pub mod limits;
mod listener;
mod shutdown;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownWatch};
use pingora::services::background::{BackgroundService, background_service};

use crate::config::{Config, ProviderType};
use crate::gateway::Gateway;
use crate::mock::{self, MockOptions, MockState};
use crate::observability::access_log::AccessLog;
use crate::proxy;
use crate::runtime::snapshot::Snapshot;
use crate::tenancy::Tenancy;
use crate::upstream::replicas::Replicas;
use listener::{ProxyListener, address};
use shutdown::{Lifecycle, SignalWatch};

/// A built server and the state its requests share.
pub struct Built {
    pub server: Server,
    pub gateway: Arc<Gateway>,
    /// The address the proxy listens on (already bound).
    pub listen: String,
    /// In-process mock upstreams by provider id.
    pub mocks: HashMap<String, Arc<MockState>>,
    /// How long a SIGTERM waits for requests in flight.
    pub grace: Duration,
    lifecycle: Arc<Lifecycle>,
}

/// Builds the server for `config` (not yet running).
pub fn build(config: Config, access_log: AccessLog) -> Result<Built, String> {
    let mut mock_endpoints = HashMap::new();
    let mut mock_services = Vec::new();
    let mut mocks = HashMap::new();
    for p in config
        .providers
        .iter()
        .filter(|p| p.enabled && p.provider_type == ProviderType::Mock)
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot bind the mock upstream of provider `{}`: {e}", p.id))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        mock_endpoints.insert(p.id.clone(), format!("http://{addr}/v1"));
        let state = MockState::new(MockOptions::default());
        mocks.insert(p.id.clone(), state.clone());
        mock_services.push(MockService {
            listener: Mutex::new(Some(listener)),
            state,
        });
    }
    let listen = address(&config.server.host, config.server.port);
    let socket = listener::bind(&listen)?;
    let threads = config
        .server
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let port = config.server.port;
    let mut replicas = HashMap::new();
    let mut replica_services = Vec::new();
    for p in config
        .providers
        .iter()
        .filter(|p| p.enabled && p.endpoints.len() > 1)
    {
        let interval = std::time::Duration::from_millis(p.health_check_interval_ms.unwrap_or(5000));
        let (pool, service) = Replicas::build(&p.id, &p.endpoints, interval)
            .map_err(|e| format!("provider `{}` endpoints: {e}", p.id))?;
        replicas.insert(p.id.clone(), pool);
        replica_services.push(service);
    }
    let jwt = config
        .jwt
        .clone()
        .map(|c| crate::tenancy::jwt::Jwt::new(c, Arc::new(jwks::JwksFetch::new())));
    let tenancy = Tenancy::open(&config.database, jwt).map_err(|e| format!("database: {e}"))?;
    #[expect(
        clippy::disallowed_methods,
        reason = "the composition root names this instance's concurrency slots in Redis"
    )]
    let instance = rand::random::<u32>();
    let limiter = crate::limits::Limiter::new(shared_limits(&config, &tenancy, instance)?);
    let cache = crate::cache::ResponseCache::from_config(&config.cache);
    let snapshot = Snapshot::build(config, &mock_endpoints)?;
    #[expect(
        clippy::disallowed_methods,
        reason = "the composition root seeds request ids"
    )]
    let id_seed = rand::random::<u32>();
    let gateway = Arc::new(
        Gateway::new(
            snapshot, port, access_log, replicas, tenancy, limiter, id_seed,
        )
        .with_cache(cache),
    );

    // Breakers open before a restart stay open: restored, then kept in the store.
    match gateway.restore_breakers() {
        Ok(0) => {}
        Ok(n) => tracing::info!(breakers = n, "circuit breakers restored from the store"),
        Err(e) => tracing::warn!(error = %e, "could not restore the circuit breakers' state"),
    }
    gateway
        .tenancy
        .store
        .spawn(crate::gateway::keep_breakers(Arc::downgrade(&gateway)));
    if let Some(secs) = gateway.snapshot.load().routing.sync_interval_secs {
        gateway
            .tenancy
            .store
            .spawn(crate::api::catalog::keep_synced(
                Arc::downgrade(&gateway),
                std::time::Duration::from_secs(secs),
            ));
    }
    let conf = ServerConf {
        threads,
        // The drain happens before pingora's grace period (`shutdown`), which would otherwise
        // sleep its whole length whatever is in flight.
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let lifecycle = Lifecycle::new();
    let proxy = proxy::service(&server.configuration, gateway.clone(), &listen);
    server.add_service(ProxyListener::new(
        proxy,
        listen.clone(),
        socket,
        lifecycle.clone(),
    ));
    for svc in replica_services {
        server.add_service(svc);
    }
    for svc in mock_services {
        server.add_service(background_service("mock upstream", svc));
    }
    Ok(Built {
        server,
        gateway,
        listen,
        mocks,
        grace,
        lifecycle,
    })
}

/// Runs the server until SIGTERM (stop accepting, drain, exit) or SIGINT (exit now). An error
/// says why the server stopped on its own.
pub fn serve(built: Built) -> Result<(), String> {
    limits::raise_open_files_and_log();
    tracing::info!(listen = %built.listen, "llm-gateway listening");
    let watch = SignalWatch {
        lifecycle: built.lifecycle.clone(),
        gateway: built.gateway,
        grace: built.grace,
    };
    built.server.run(RunArgs {
        shutdown_signal: Box::new(watch),
    });
    built.lifecycle.failure().map_or(Ok(()), Err)
}

/// Serves one in-process mock upstream.
struct MockService {
    listener: Mutex<Option<std::net::TcpListener>>,
    state: Arc<MockState>,
}

#[async_trait]
impl BackgroundService for MockService {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let Some(listener) = self.listener.lock().take() else {
            return;
        };
        let listener = match listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(listener))
        {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "mock upstream could not start");
                return;
            }
        };
        let stop = async move {
            let _ = shutdown.changed().await;
        };
        if let Err(e) = mock::serve(listener, self.state.clone(), stop).await {
            tracing::error!(error = %e, "mock upstream stopped");
        }
    }
}

/// The limits' state in Redis, with `[redis]`: the client starts connecting now (on the
/// store's runtime, which lives as long as the gateway) and is given half a second, so the
/// first requests do not all find it down.
fn shared_limits(
    config: &Config,
    tenancy: &Tenancy,
    instance: u32,
) -> Result<Option<crate::limits::shared::Shared>, String> {
    let Some(redis) = &config.redis else {
        return Ok(None);
    };
    let target = crate::redis::Target::parse(&redis.url)?;
    let client = crate::redis::Redis::start(target, &redis.key_prefix, |task| {
        tenancy.store.spawn(task);
    });
    let up = tenancy
        .store
        .block_on(client.ready(Duration::from_millis(500)));
    if !up {
        tracing::warn!(
            url = %crate::storage::shown(&redis.url),
            "Redis is not reachable yet; limits follow rate_limit.on_redis_error until it is"
        );
    }
    let id = u64::from(instance) << 32 | u64::from(std::process::id());
    // Budget reservations go through Redis too.
    let _ = tenancy
        .shared_budgets
        .set(crate::tenancy::shared_budget::SharedBudgets::new(
            client.clone(),
            id,
        ));
    Ok(Some(crate::limits::shared::Shared::new(client, id)))
}
