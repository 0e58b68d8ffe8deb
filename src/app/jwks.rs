//! Fetches the JWKS of `[jwt] jwks_url` for the token verifier, through the gateway's own
//! upstream client (plain HTTP or TLS), bounded in time and size.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::runtime::provider::Endpoint;
use crate::tenancy::jwt::Fetch;
use crate::upstream::{Upstream, UpstreamClient, UpstreamRequest, UpstreamResponse};

/// The longest a fetch may take, and the largest document read.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The fetcher.
pub struct JwksFetch {
    client: UpstreamClient,
}

impl JwksFetch {
    pub fn new() -> JwksFetch {
        JwksFetch {
            client: UpstreamClient::new(),
        }
    }
}

#[async_trait]
impl Fetch for JwksFetch {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let endpoint = Endpoint::parse(url)?;
        let path = match url::Url::parse(url) {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            },
            Err(e) => return Err(e.to_string()),
        };
        let req = UpstreamRequest {
            method: "GET",
            path,
            headers: vec![("accept", "application/json".to_string())],
            body: Bytes::new(),
        };
        let fetch = async {
            let mut resp = self
                .client
                .send(&endpoint, &req, FETCH_TIMEOUT)
                .await
                .map_err(|e| e.to_string())?;
            if resp.status() != 200 {
                return Err(format!("HTTP {}", resp.status()));
            }
            let mut doc = Vec::new();
            while let Some(chunk) = resp.read_body().await? {
                doc.extend_from_slice(&chunk);
                if doc.len() > MAX_JWKS_BYTES {
                    return Err("the JWKS is larger than 256 KiB".into());
                }
            }
            Ok(doc)
        };
        tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| "timed out".to_string())?
    }
}
