//! Self-hosted replicas (`[[providers]].endpoints`, several vLLM/Ollama servers serving the
//! same models): a pingora-load-balancing pool with round-robin selection, an active HTTP
//! health check (`GET {base}/models` must answer 200) run by a background service, and
//! runtime membership (endpoints added or removed through the admin API).
//!
//! A replica is unhealthy until a health check has passed: pingora counts a new backend as
//! healthy until its first check fails, so a replica added at run time (or one that is down at
//! start) would take traffic before anything had looked at it. [`FirstPass`] wraps the check
//! and records the replicas that have passed once; selection and status require it.
//! A URL is kept and shown with its credentials masked (`http://***@host/...`).
//!
//! Entry points: [`Replicas::build`] (returns the background service to add to the server),
//! [`Replicas::pick`], [`Replicas::add`], [`Replicas::remove`], [`Replicas::status`],
//! [`Replicas::any_healthy`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use pingora::http::RequestHeader;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::health_check::{HealthCheck, HttpHealthCheck};
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, Backends, LoadBalancer};
use pingora::services::background::{GenBackgroundService, background_service};
use serde::Serialize;

use crate::runtime::provider::Endpoint;
use crate::uri::masked;

/// Membership that can change at runtime.
#[derive(Default)]
struct DynamicDiscovery {
    backends: Mutex<BTreeSet<Backend>>,
}

/// One replica as `/admin/providers` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaStatus {
    /// The URL it was configured or added with, credentials masked.
    pub url: String,
    pub address: String,
    pub healthy: bool,
}

/// Backends that have passed a health check at least once.
type Passed = Arc<RwLock<HashSet<Backend>>>;

/// The health check, recording the backends that pass it.
struct FirstPass {
    check: HttpHealthCheck,
    passed: Passed,
}

#[async_trait]
impl HealthCheck for FirstPass {
    async fn check(&self, target: &Backend) -> pingora::Result<()> {
        self.check.check(target).await?;
        if !self.passed.read().contains(target) {
            self.passed.write().insert(target.clone());
        }
        Ok(())
    }

    async fn health_status_change(&self, target: &Backend, healthy: bool) {
        self.check.health_status_change(target, healthy).await;
    }

    fn backend_summary(&self, target: &Backend) -> String {
        self.check.backend_summary(target)
    }

    fn health_threshold(&self, success: bool) -> usize {
        self.check.health_threshold(success)
    }
}

/// The replicas of one provider.
pub struct Replicas {
    lb: Arc<LoadBalancer<RoundRobin>>,
    discovery: Arc<DynamicDiscovery>,
    /// Backend address (`ip:port`) → the endpoint and its URL (credentials masked).
    endpoints: RwLock<HashMap<String, (Endpoint, String)>>,
    passed: Passed,
}

/// Parses a replica URL; the error shows it with its credentials masked.
fn parse(url: &str) -> Result<Endpoint, String> {
    Endpoint::parse(url).map_err(|e| e.replace(url, &masked(url)))
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
        let first = parse(urls.first().ok_or("no endpoints")?)?;
        let discovery = Arc::new(DynamicDiscovery::default());
        let mut endpoints = HashMap::new();
        for url in urls {
            let endpoint = parse(url)?;
            let addr =
                std::net::ToSocketAddrs::to_socket_addrs(&(endpoint.host.as_str(), endpoint.port))
                    .map_err(|e| format!("cannot resolve `{}`: {e}", endpoint.host))?
                    .next()
                    .ok_or_else(|| format!("`{}` has no address", endpoint.host))?
                    .to_string();
            let backend = Backend::new(&addr).map_err(|e| e.to_string())?;
            discovery.backends.lock().insert(backend);
            endpoints.insert(addr, (endpoint, masked(url).into_owned()));
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
        let passed = Passed::default();
        lb.set_health_check(Box::new(FirstPass {
            check,
            passed: passed.clone(),
        }));
        lb.health_check_frequency = Some(interval);
        lb.update_frequency = Some(interval);
        let service = background_service(&format!("replicas {name}"), lb);
        let replicas = Arc::new(Replicas {
            lb: service.task(),
            discovery,
            endpoints: RwLock::new(endpoints),
            passed,
        });
        Ok((replicas, service))
    }

    /// Whether `backend` has passed a check and pingora counts it healthy now.
    fn healthy(&self, backend: &Backend, ready: bool) -> bool {
        ready && self.passed.read().contains(backend)
    }

    /// The next healthy replica; `None` when none is healthy (the caller falls back to the
    /// configured endpoint rather than failing without trying).
    pub fn pick(&self) -> Option<Endpoint> {
        let backend = self
            .lb
            .select_with(b"", 256, |b, ready| self.healthy(b, ready))?;
        self.endpoints
            .read()
            .get(&backend.addr.to_string())
            .map(|(e, _)| e.clone())
    }

    /// Whether any replica is healthy (a pool with none cannot serve).
    pub fn any_healthy(&self) -> bool {
        let backends = self.lb.backends();
        backends
            .get_backend()
            .iter()
            .any(|b| self.healthy(b, backends.ready(b)))
    }

    /// Adds a replica at runtime; it takes traffic once a health check has passed.
    pub async fn add(&self, url: &str) -> Result<(), String> {
        let endpoint = parse(url)?;
        let addr = address_of(&endpoint).await?;
        let backend = Backend::new(&addr).map_err(|e| e.to_string())?;
        self.passed.write().remove(&backend);
        self.endpoints
            .write()
            .insert(addr, (endpoint, masked(url).into_owned()));
        self.discovery.backends.lock().insert(backend);
        self.lb.update().await.map_err(|e| e.to_string())
    }

    /// Removes a replica at runtime (named by its URL, with or without its credentials);
    /// returns whether it was a member.
    pub async fn remove(&self, url: &str) -> Result<bool, String> {
        let shown = masked(url);
        let addr = {
            let endpoints = self.endpoints.read();
            endpoints
                .iter()
                .find(|(_, (_, u))| *u == shown)
                .map(|(a, _)| a.clone())
        };
        let Some(addr) = addr else { return Ok(false) };
        self.endpoints.write().remove(&addr);
        self.discovery
            .backends
            .lock()
            .retain(|b| b.addr.to_string() != addr);
        self.passed.write().retain(|b| b.addr.to_string() != addr);
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
                    healthy: self.healthy(b, self.lb.backends().ready(b)),
                    address,
                }
            })
            .collect();
        out.sort_by(|a, b| a.url.cmp(&b.url));
        out
    }
}
