//! The response cache on the request path (C1, C3). A chat call is looked up once the policy
//! let it through: a kept answer is written at once (`x-gateway-cache: hit`, cost 0, no
//! provider call), as a whole body or replayed as a stream in the client's format; otherwise
//! the call is served (`x-gateway-cache: miss`) and its whole successful answer kept, just
//! before its last write (so the client's next, identical request finds it).
//! `Cache-Control: no-cache` skips the lookup (the fresh answer is kept), `no-store` skips
//! both; a request above `temperature_threshold` is neither looked up nor kept. With
//! `[cache.semantic]`, an exact miss is looked up by its text's embedding
//! (`x-gateway-cache: semantic-hit`, `x-gateway-semantic-similarity`).

use std::sync::Arc;

use bytes::Bytes;

use super::embed::embed;
use super::idempotent::{BeforeLast, Recorded};
use crate::cache::{Entry, ResponseCache, key, semantic};
use crate::config::{ApiFormat, CacheScope};
use crate::ctx::RequestCtx;
use crate::downstream::{self, Downstream, Head, Value};
use crate::errors::Failure;
use crate::gateway::Gateway;
use crate::runtime::provider::Operation;
use crate::runtime::snapshot::Snapshot;
use crate::translate::replay::{Assembler, events_of};
use crate::translate::sse::SseFramer;
use crate::translate::{Codec, ir};

/// The header that says where an answer came from.
const CACHE_HEADER: &str = "x-gateway-cache";

/// What the cache does for one call.
pub enum Lookup {
    /// Not a cacheable call, or no cache.
    Off,
    /// Answer with this (with its similarity when the semantic cache found it).
    Hit(Arc<Entry>, Option<f64>),
    /// Serve it; keep the answer when it may be kept.
    Miss(Option<Keep>),
}

/// Where a served answer is kept.
pub struct Keep {
    key: key::Key,
    /// The request's context and embedding, for the semantic cache.
    probe: Option<([u8; 32], Vec<f32>)>,
}

/// `Cache-Control` directives of a request: (`no-cache`, `no-store`).
fn directives(headers: &http::HeaderMap) -> (bool, bool) {
    let mut out = (false, false);
    for v in headers.get_all(http::header::CACHE_CONTROL) {
        for d in v.to_str().unwrap_or_default().split(',') {
            match d.trim().to_ascii_lowercase().as_str() {
                "no-cache" => out.0 = true,
                "no-store" => out.1 = true,
                _ => {}
            }
        }
    }
    out
}

/// Whose entries a caller shares under `scope`.
fn scope_of(scope: CacheScope, ctx: &RequestCtx) -> String {
    let Some(caller) = ctx.caller.as_deref() else {
        return "-".to_string();
    };
    match scope {
        CacheScope::Key => format!("key:{}", caller.id),
        CacheScope::Team => match caller.policy.as_ref().and_then(|p| p.team.as_deref()) {
            Some(team) => format!("team:{team}"),
            None => format!("key:{}", caller.id),
        },
        CacheScope::Global => "*".to_string(),
    }
}

/// Looks the call up.
pub async fn look(
    gw: &Gateway,
    snap: &Snapshot,
    headers: &http::HeaderMap,
    ctx: &mut RequestCtx,
) -> Lookup {
    let Some(cache) = gw.cache.as_ref() else {
        return Lookup::Off;
    };
    let Some(call) = ctx.call.as_ref() else {
        return Lookup::Off;
    };
    if call.endpoint.op != Operation::ChatCompletions || call.bridged.is_some() {
        return Lookup::Off;
    }
    let (no_cache, no_store) = directives(headers);
    let mut keep = None;
    if !no_store && let Some(key) = key_of(cache, ctx, call.raw.body()) {
        if !no_cache && let Some(entry) = find(gw, cache, &key).await {
            return hit(gw, ctx, entry, None);
        }
        let mut probe = None;
        if let Some(sem) = &cache.semantic
            && let Some(c) = key::canonical(call.raw.body())
            && let Some(split) =
                semantic::split(&scope_of(cache.settings.scope, ctx), ctx.endpoint, &c.text)
            && let Some(vector) = embed(gw, snap, &sem.provider, &sem.model, &split.text).await
        {
            if !no_cache && let Some((entry, similarity)) = sem.index.find(&split.context, &vector)
            {
                return hit(gw, ctx, entry, Some(similarity));
            }
            probe = Some((split.context, vector));
        }
        keep = Some(Keep { key, probe });
    }
    gw.metrics.cache_miss();
    ctx.trace.cache = Some("miss");
    ctx.trace
        .route_headers
        .push((CACHE_HEADER, "miss".to_string()));
    Lookup::Miss(keep)
}

/// The cache key of a request body, `None` when it is not cacheable (not a JSON object, or
/// above the temperature threshold). A body seen before byte for byte is looked up as it is;
/// another is put in canonical form, and remembered by its bytes when cacheable.
fn key_of(cache: &ResponseCache, ctx: &RequestCtx, body: &[u8]) -> Option<key::Key> {
    let scope = scope_of(cache.settings.scope, ctx);
    let raw = std::str::from_utf8(body)
        .ok()
        .map(|text| key::Key::new(&scope, ctx.endpoint, text));
    if let Some(known) = raw.as_ref().and_then(|raw| cache.alias(raw)) {
        return Some(known);
    }
    let c =
        key::canonical(body).filter(|c| c.temperature <= cache.settings.temperature_threshold)?;
    let key = key::Key::new(&scope, ctx.endpoint, &c.text);
    if let Some(raw) = raw {
        cache.put_alias(raw, key.clone());
    }
    Some(key)
}

/// A hit, counted.
fn hit(gw: &Gateway, ctx: &mut RequestCtx, entry: Arc<Entry>, similarity: Option<f64>) -> Lookup {
    let kind = if similarity.is_some() {
        "semantic-hit"
    } else {
        "hit"
    };
    gw.metrics.cache_hit(kind);
    ctx.trace.cache = Some(kind);
    Lookup::Hit(entry, similarity)
}

/// The entry of `key`: on this instance, else in Redis (then kept here too).
async fn find(gw: &Gateway, cache: &ResponseCache, key: &key::Key) -> Option<Arc<Entry>> {
    if let Some(e) = cache.get_local(key) {
        return Some(e);
    }
    let redis = gw.limiter.redis()?;
    let entry = Arc::new(cache.get_shared(redis, key).await?);
    cache.put_local(key.clone(), entry.clone());
    Some(entry)
}

/// Answers the call with a kept answer: whole, or replayed as a stream in the client's
/// format. It costs nothing.
pub async fn replay<D: Downstream>(
    down: &mut D,
    ctx: &mut RequestCtx,
    entry: &Entry,
    similarity: Option<f64>,
) -> Result<(), Failure> {
    let Some(call) = ctx.call.as_ref() else {
        return Ok(());
    };
    let format = call.endpoint.format;
    let (content_type, body) = if call.summary.stream {
        // Rendered once per entry (and usage choice); the answer keeps its first id, as a
        // whole replay does.
        let usage = call.summary.include_usage;
        let rendered = &entry.streams[usize::from(usage)];
        let body = match rendered.get() {
            Some(b) => b.clone(),
            None => {
                let Ok(resp) = Codec(format).decode_response(&entry.body) else {
                    // An entry is only kept after it was read back; nothing else writes them.
                    return Err(crate::errors::GatewayError::new(
                        crate::errors::ErrorKind::Internal,
                        "a cached answer could not be read",
                    )
                    .into());
                };
                rendered
                    .get_or_init(|| Bytes::from(stream_of(format, &resp, usage)))
                    .clone()
            }
        };
        ("text/event-stream", body)
    } else {
        ("application/json", entry.body.clone())
    };
    ctx.trace.provider = Some(entry.provider.clone());
    ctx.trace.model = Some(entry.model.clone());
    // Metrics name the model as its candidate does (a catalog id, or `other`).
    let label = ctx
        .plan
        .candidates
        .iter()
        .find(|c| *c.provider.id == *entry.provider && *c.model == *entry.model)
        .map_or(crate::runtime::candidate::UNLISTED, |c| c.label());
    ctx.trace.model_label = Some(Arc::from(label));
    ctx.trace.served = true;
    ctx.trace.cost_usd = 0.0;
    let mut head = Head::new(200, content_type, &ctx.id);
    match similarity {
        None => head.push(CACHE_HEADER, "hit"),
        Some(s) => {
            head.push(CACHE_HEADER, "semantic-hit");
            head.push("x-gateway-semantic-similarity", format!("{s:.4}"));
        }
    }
    head.push("x-gateway-provider", Value::Shared(entry.provider_value()));
    head.push("x-gateway-model", Value::Shared(entry.model_value()));
    head.push("x-gateway-cost-usd", "0");
    if call.summary.stream {
        head.push("cache-control", "no-cache");
    }
    downstream::send(down, &mut ctx.trace, head, body)
        .await
        .map_err(|_| Failure::ClientGone)
}

/// `resp` as the events of a stream in `format`.
fn stream_of(
    format: crate::config::ApiFormat,
    resp: &ir::Response,
    include_usage: bool,
) -> Vec<u8> {
    let created = resp.created.unwrap_or_default();
    let mut encoder = Codec(format).stream_encoder(include_usage, created);
    let mut out = Vec::with_capacity(256 + resp.parts.len() * 128);
    for event in events_of(resp) {
        encoder.encode_event(&event, &mut out);
    }
    encoder.finish(&mut out);
    out
}

/// Keeps a served call's answer under its key, just before the answer's last write (the
/// client's next, identical request finds it kept): a whole answer as it was sent, a streamed
/// one assembled into the whole answer of the client's format. Nothing is kept of an answer
/// that failed, was cut, or cannot be read back.
pub struct Keeper<'g> {
    gw: &'g Gateway,
    cache: &'g ResponseCache,
    keep: Option<Keep>,
    format: ApiFormat,
    stream: bool,
    /// Set when the answer ended served and without error: its usage.
    ended: Option<Option<ir::Usage>>,
}

impl<'g> Keeper<'g> {
    /// The keeper of a call's answer (none without a cache or a call).
    pub fn new(gw: &'g Gateway, ctx: &RequestCtx, keep: Keep) -> Option<Keeper<'g>> {
        let (cache, call) = (gw.cache.as_ref()?, ctx.call.as_ref()?);
        Some(Keeper {
            gw,
            cache,
            keep: Some(keep),
            format: call.endpoint.format,
            stream: call.summary.stream,
            ended: None,
        })
    }

    /// After the call, when its last write did not pass the keeper: keeps what was
    /// recorded if the call was served.
    pub fn after(&mut self, ctx: &RequestCtx, recorded: &Recorded) {
        if self.keep.is_some() && ctx.trace.served && ctx.trace.error.is_none() {
            self.ended = Some(ctx.trace.usage);
            self.last(recorded);
        }
    }
}

impl BeforeLast for Keeper<'_> {
    fn ending(&mut self, trace: &crate::ctx::Trace, served: bool) {
        self.ended = (served && trace.error.is_none()).then_some(trace.usage);
    }

    fn last(&mut self, recorded: &Recorded) {
        // Not ended as served (yet): `after` decides once the call is over.
        let Some(usage) = self.ended else {
            return;
        };
        let Some(keep) = self.keep.take() else {
            return;
        };
        if recorded.status != 200 {
            return;
        }
        let header = |name: &str| {
            recorded
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let (Some(provider), Some(model)) =
            (header("x-gateway-provider"), header("x-gateway-model"))
        else {
            return;
        };
        let format = self.format;
        let body = if self.stream {
            let Some(mut resp) = assemble(format, &recorded.body()) else {
                return;
            };
            if let Some(u) = usage {
                resp.usage = u;
            }
            Bytes::from(Codec(format).encode_response(&resp))
        } else {
            let body = recorded.body();
            if Codec(format).decode_response(&body).is_err() {
                return;
            }
            body
        };
        let entry = Arc::new(Entry::new(body, provider, model));
        if let Some(redis) = self.gw.limiter.redis() {
            self.cache.put_shared(redis, &keep.key, &entry);
        }
        if let (Some(sem), Some((context, vector))) = (&self.cache.semantic, keep.probe) {
            sem.index.insert(context, vector, entry.clone());
        }
        self.cache.put_local(keep.key, entry);
    }
}

/// The whole answer a client-format stream carried, when it finished cleanly.
fn assemble(format: ApiFormat, sse: &[u8]) -> Option<ir::Response> {
    let mut framer = SseFramer::new();
    let mut decoder = Codec(format).stream_decoder();
    let mut events = Vec::new();
    framer.push(sse);
    while let Some(event) = framer.next_event() {
        decoder.decode_event(&event, &mut events);
    }
    if let Some(tail) = framer.finish() {
        decoder.decode_event(&tail, &mut events);
    }
    if !decoder.finish(&mut events) {
        return None;
    }
    let mut a = Assembler::default();
    events.into_iter().for_each(|e| a.push(e));
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_read_from_every_header_line() {
        let mut h = http::HeaderMap::new();
        assert_eq!(directives(&h), (false, false));
        h.append("cache-control", "max-age=0, No-Cache".parse().unwrap());
        assert_eq!(directives(&h), (true, false));
        h.append("cache-control", "no-store".parse().unwrap());
        assert_eq!(directives(&h), (true, true));
    }

    #[test]
    fn a_stream_and_its_whole_answer_are_the_same_answer() {
        for format in [
            crate::config::ApiFormat::Openai,
            crate::config::ApiFormat::Anthropic,
        ] {
            let resp = ir::Response {
                id: "r".into(),
                model: "m".into(),
                parts: vec![ir::Part::Text("Hello there".into())],
                finish: Some(ir::FinishReason::Stop),
                usage: ir::Usage {
                    input_tokens: 2,
                    output_tokens: 2,
                    ..ir::Usage::default()
                },
                ..ir::Response::default()
            };
            let sse = stream_of(format, &resp, true);
            let back = assemble(format, &sse).unwrap();
            assert_eq!(back.parts, resp.parts);
            assert_eq!(back.finish, resp.finish);
            // A cut stream is no answer.
            assert!(assemble(format, &sse[..sse.len() / 2]).is_none());
        }
    }
}
