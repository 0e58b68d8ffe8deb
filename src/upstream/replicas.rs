//! Self-hosted replicas (`[[providers]].endpoints`, several vLLM/Ollama servers serving the
//! same models): a pingora-load-balancing pool with round-robin selection, an active HTTP
//! health check (`GET {base}/models` must answer 200) run by a background service, and
//! runtime membership (endpoints added or removed through the admin API).
//!
//! Entry points: [`Replicas::build`] (returns the background service to add to the server),
//! [`Replicas::pick`], [`Replicas::add`], [`Replicas::remove`], [`Replicas::status`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use pingora::http::RequestHeader;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::health_check::HttpHealthCheck;
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, Backends, LoadBalancer};
use pingora::services::background::{GenBackgroundService, background_service};
use serde::Serialize;

use crate::runtime::provider::Endpoint;

/// Membership that can change at runtime.
#[derive(Default)]
struct DynamicDiscovery {
    backends: Mutex<BTreeSet<Backend>>,
}

/// One replica as `/admin/providers` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaStatus {
    pub url: String,
    pub address: String,
    pub healthy: bool,
}

/// The replicas of one provider.
pub struct Replicas {
    lb: Arc<LoadBalancer<RoundRobin>>,
    discovery: Arc<DynamicDiscovery>,
    /// Backend address (`ip:port`) → the endpoint and the URL it came from.
    endpoints: RwLock<HashMap<String, (Endpoint, String)>>,
}

/// Resolves an endpoint's host to an address (startup and admin calls only).
async fn address_of(endpoint: &Endpoint) -> Result<String, String> {
    let mut found = tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| format!("cannot resolve `{}`: {e}", endpoint.host))?;
    found
        .next()
        .map(|a| a.to_string())
        .ok_or_else(|| format!("`{}` has no address", endpoint.host))
}

/// A discovery shared between the load balancer (which owns a box of it) and us.
struct SharedDiscovery(Arc<DynamicDiscovery>);

#[async_trait]
impl ServiceDiscovery for SharedDiscovery {
    async fn discover(&self) -> pingora::Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        Ok((self.0.backends.lock().clone(), HashMap::new()))
    }
}

impl Replicas {
    /// Builds the pool of `urls` (IP literals, or names resolved once here) checked every
    /// `interval`. The returned service runs the health checks; add it to the server.
    pub fn build(
        name: &str,
        urls: &[String],
        interval: Duration,
    ) -> Result<
        (
            Arc<Replicas>,
            GenBackgroundService<LoadBalancer<RoundRobin>>,
        ),
        String,
    > {
        let first = Endpoint::parse(urls.first().ok_or("no endpoints")?)?;
        let discovery = Arc::new(DynamicDiscovery::default());
        let mut endpoints = HashMap::new();
        for url in urls {
            let endpoint = Endpoint::parse(url)?;
            let addr =
                std::net::ToSocketAddrs::to_socket_addrs(&(endpoint.host.as_str(), endpoint.port))
                    .map_err(|e| format!("cannot resolve `{}`: {e}", endpoint.host))?
                    .next()
                    .ok_or_else(|| format!("`{}` has no address", endpoint.host))?
                    .to_string();
            let backend = Backend::new(&addr).map_err(|e| e.to_string())?;
            discovery.backends.lock().insert(backend);
            endpoints.insert(addr, (endpoint, url.clone()));
        }
        let mut lb = LoadBalancer::<RoundRobin>::from_backends(Backends::new(Box::new(
            SharedDiscovery(discovery.clone()),
        )));
        let mut check = HttpHealthCheck::new(&first.host_header, first.tls);
        let path = format!("{}/models", first.base_path);
        let mut req =
            RequestHeader::build("GET", path.as_bytes(), None).map_err(|e| e.to_string())?;
        req.insert_header("host", first.host_header.as_str())
            .map_err(|e| e.to_string())?;
        check.req = req;
        lb.set_health_check(Box::new(check));
        lb.health_check_frequency = Some(interval);
        lb.update_frequency = Some(interval);
        let service = background_service(&format!("replicas {name}"), lb);
        let replicas = Arc::new(Replicas {
            lb: service.task(),
            discovery,
            endpoints: RwLock::new(endpoints),
        });
        Ok((replicas, service))
    }

    /// The next healthy replica; `None` when none is healthy (the caller falls back to the
    /// configured endpoint rather than failing without trying).
    pub fn pick(&self) -> Option<Endpoint> {
        let backend = self.lb.select(b"", 256)?;
        self.endpoints
            .read()
            .get(&backend.addr.to_string())
            .map(|(e, _)| e.clone())
    }

    /// Adds a replica at runtime.
    pub async fn add(&self, url: &str) -> Result<(), String> {
        let endpoint = Endpoint::parse(url)?;
        let addr = address_of(&endpoint).await?;
        let backend = Backend::new(&addr).map_err(|e| e.to_string())?;
        self.endpoints
            .write()
            .insert(addr, (endpoint, url.to_string()));
        self.discovery.backends.lock().insert(backend);
        self.lb.update().await.map_err(|e| e.to_string())
    }

    /// Removes a replica at runtime; returns whether it was a member.
    pub async fn remove(&self, url: &str) -> Result<bool, String> {
        let addr = {
            let endpoints = self.endpoints.read();
            endpoints
                .iter()
                .find(|(_, (_, u))| u == url)
                .map(|(a, _)| a.clone())
        };
        let Some(addr) = addr else { return Ok(false) };
        self.endpoints.write().remove(&addr);
        self.discovery
            .backends
            .lock()
            .retain(|b| b.addr.to_string() != addr);
        self.lb.update().await.map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Every replica with its health.
    pub fn status(&self) -> Vec<ReplicaStatus> {
        let endpoints = self.endpoints.read();
        let backends = self.lb.backends().get_backend();
        let mut out: Vec<ReplicaStatus> = backends
            .iter()
            .map(|b| {
                let address = b.addr.to_string();
                let url = endpoints
                    .get(&address)
                    .map(|(_, u)| u.clone())
                    .unwrap_or_default();
                ReplicaStatus {
                    url,
                    healthy: self.lb.backends().ready(b),
                    address,
                }
            })
            .collect();
        out.sort_by(|a, b| a.url.cmp(&b.url));
        out
    }
}
