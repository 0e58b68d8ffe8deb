//! The semantic cache's one provider call: the embedding of a request's text, from the
//! `[cache.semantic] embedding_model` of an OpenAI-format provider (`POST …/embeddings`). It
//! is bounded (2 s, 4 MiB) and never fails the request: without an embedding the request is
//! only not looked up semantically.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::config::ApiFormat;
use crate::gateway::Gateway;
use crate::runtime::provider::Operation;
use crate::runtime::snapshot::Snapshot;
use crate::upstream::{Upstream, UpstreamRequest, UpstreamResponse};

/// The longest an embedding may take.
const EMBED_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest embeddings answer read.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// The embedding of `text` by `model` of provider `provider`, when it could be had.
pub async fn embed(
    gw: &Gateway,
    snap: &Snapshot,
    provider: &str,
    model: &str,
    text: &str,
) -> Option<Vec<f32>> {
    let p = snap.provider(provider)?;
    if p.format != ApiFormat::Openai {
        return None;
    }
    let mut headers = vec![("content-type", "application/json".to_string())];
    for (name, value) in p.format_headers() {
        headers.push((name, (*value).to_string()));
    }
    if let Some(key) = snap.upstream_key(p, None) {
        headers.push(p.auth_header(key));
    }
    let body = serde_json::json!({ "model": model, "input": text }).to_string();
    let req = UpstreamRequest {
        method: "POST",
        path: p.openai_path(Operation::Embeddings, model),
        headers,
        body: Bytes::from(body),
    };
    let call = async {
        let mut resp = gw
            .client
            .send(&p.endpoint, &req, EMBED_TIMEOUT)
            .await
            .ok()?;
        if resp.status() != 200 {
            return None;
        }
        let mut doc = Vec::new();
        while let Some(chunk) = resp.read_body().await.ok()? {
            doc.extend_from_slice(&chunk);
            if doc.len() > MAX_BYTES {
                return None;
            }
        }
        vector_of(&doc)
    };
    let vector = tokio::time::timeout(EMBED_TIMEOUT, call)
        .await
        .ok()
        .flatten();
    if vector.is_none() {
        tracing::warn!(
            provider,
            model,
            "no embedding for the semantic cache (the request is served without it)"
        );
    }
    vector
}

/// `data[0].embedding` of an OpenAI embeddings answer.
fn vector_of(doc: &[u8]) -> Option<Vec<f32>> {
    let v: Value = serde_json::from_slice(doc).ok()?;
    let items = v.pointer("/data/0/embedding")?.as_array()?;
    let vector: Vec<f32> = items
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32))
        .collect::<Option<_>>()?;
    (!vector.is_empty()).then_some(vector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_embedding_of_an_answer() {
        assert_eq!(
            vector_of(br#"{"data":[{"embedding":[0.5,-1]}],"model":"m"}"#),
            Some(vec![0.5, -1.0])
        );
        assert_eq!(vector_of(br#"{"data":[{"embedding":"AAAA"}]}"#), None);
        assert_eq!(vector_of(br#"{"data":[{"embedding":[]}]}"#), None);
        assert_eq!(vector_of(b"not json"), None);
    }
}
