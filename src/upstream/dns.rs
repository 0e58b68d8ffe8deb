//! Asynchronous host-name resolution with a cache, so no worker thread ever blocks on DNS
//! (pingora's `HttpPeer::new("host:port")` would resolve synchronously and panic on failure).
//!
//! Lookups run on tokio's blocking pool; answers are cached for [`TTL`], and a stale answer
//! is served when a refresh fails, so a DNS blip does not fail requests.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

/// How long an answer is trusted.
pub const TTL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Entry {
    addrs: Vec<SocketAddr>,
    fetched: Instant,
}

/// The resolver and its cache.
#[derive(Debug, Default)]
pub struct DnsCache {
    entries: RwLock<HashMap<(String, u16), Entry>>,
    /// Rotates through the addresses of a name.
    next: AtomicUsize,
}

impl DnsCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// One address for `host:port`.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, String> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let key = (host.to_string(), port);
        let cached = {
            let entries = self.entries.read();
            entries
                .get(&key)
                .map(|e| (self.pick(&e.addrs), e.fetched.elapsed() < TTL))
        };
        match cached {
            Some((Some(addr), true)) => Ok(addr),
            stale => match tokio::net::lookup_host((host, port)).await {
                Ok(found) => {
                    let addrs: Vec<SocketAddr> = found.collect();
                    let addr = self
                        .pick(&addrs)
                        .ok_or_else(|| format!("DNS: `{host}` has no addresses"))?;
                    self.entries.write().insert(
                        key,
                        Entry {
                            addrs,
                            fetched: Instant::now(),
                        },
                    );
                    Ok(addr)
                }
                Err(e) => match stale {
                    Some((Some(addr), _)) => {
                        tracing::warn!(host, error = %e, "DNS refresh failed; using the cached address");
                        Ok(addr)
                    }
                    _ => Err(format!("DNS lookup of `{host}` failed: {e}")),
                },
            },
        }
    }

    fn pick(&self, addrs: &[SocketAddr]) -> Option<SocketAddr> {
        if addrs.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % addrs.len();
        Some(addrs[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ip_literals_skip_dns() {
        let d = DnsCache::new();
        assert_eq!(
            d.resolve("127.0.0.1", 80).await.unwrap(),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            d.resolve("::1", 81).await.unwrap(),
            "[::1]:81".parse().unwrap()
        );
    }

    #[tokio::test]
    async fn localhost_resolves_and_is_cached() {
        let d = DnsCache::new();
        let a = d.resolve("localhost", 8080).await.unwrap();
        assert_eq!(a.port(), 8080);
        assert!(a.ip().is_loopback());
        assert_eq!(d.entries.read().len(), 1);
    }

    #[tokio::test]
    async fn failure_names_the_host() {
        let d = DnsCache::new();
        let e = d.resolve("no-such-host.invalid", 80).await.unwrap_err();
        assert!(e.contains("no-such-host.invalid"), "{e}");
    }
}
