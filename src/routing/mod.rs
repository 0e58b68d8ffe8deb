//! The routing stage: turns the `model` of a request into the failover chain the attempt
//! loop walks (provider + upstream model id + card).
//!
//! [`plan`]: aliases resolve first (one may point at `auto`), then deprecations (a warning
//! before the sunset, the replacement after it), then `auto` (the whole catalog, or the pool
//! the smart-router [`bucket`] names), pool names, `provider_id/model` pins and bare model ids
//! ([`resolve`]). The five-layer [`pipeline`] then filters (and, for `auto` and `auto` pools,
//! ranks) the candidates under the request's [`Profile`]; a conversation that stuck to a model
//! keeps it while it stays eligible. Pool strategies ([`pool`]) read the statistics of
//! [`stats`]; the context-window filter used after a context-length failure is [`fits_window`].
//! Pure: the clock, the date, the random draw and the health of deployments come from the
//! caller.
//!
//! May depend on `runtime`, `config` and `errors`; never on the inbound, attempt or proxy stages.

pub mod bucket;
mod candidate;
pub mod deployments;
mod needs;
pub mod pipeline;
pub mod pool;
mod profile;
mod stats;
pub mod tokens;

pub use candidate::Candidate;
pub use deployments::Deployments;
pub use needs::Needs;
pub use profile::{Emphasis, Profile, Weights};
pub use stats::RouteStats;

use std::sync::Arc;
use std::time::Instant;

use crate::config::served::MAX_ALIAS_DEPTH;
use crate::config::{ApiFormat, Classification, PoolStrategy};
use crate::errors::{ErrorKind, GatewayError};
use crate::runtime::snapshot::Snapshot;

/// What routing reads from a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The `model` field as sent.
    pub requested: &'a str,
    /// The caller's wire format.
    pub format: ApiFormat,
    pub embeddings: bool,
    pub needs: Needs,
    /// `x-gateway-failover: disabled` turns it off: only the first of the chain.
    pub failover: bool,
    /// `x-routing-profile`, when named.
    pub profile: Option<Profile>,
    /// `x-data-classification` (default `internal`).
    pub classification: Classification,
    /// The lower of `x-gateway-max-cost-usd` and the key's per-request cap.
    pub max_cost_usd: Option<f64>,
    /// The whole body (token estimates).
    pub body: &'a [u8],
    /// The prompt's field as sent (`messages`, `prompt` or `input`), for the bucket.
    pub prompt: &'a [u8],
    pub asked_output: Option<u64>,
    /// `x-gateway-conversation-id`.
    pub conversation: Option<&'a str>,
    /// Today, `YYYY-MM-DD` (deprecations).
    pub today: &'a str,
    pub now: Instant,
    /// Uniform in `[0, 1)`, for weighted pools.
    pub draw: f64,
}

/// The candidates a request will walk, and how routing got there.
#[derive(Debug, Default)]
pub struct Plan {
    pub candidates: Vec<Candidate>,
    pub route: Route,
}

/// How routing decided: what the pipeline saw and eliminated, for the audit trail and the
/// dry run, and the headers the answer carries.
#[derive(Debug, Default)]
pub struct Route {
    /// The candidates the pipeline judged (the outcome's indexes point here).
    pub input: Option<Arc<[Candidate]>>,
    pub outcome: pipeline::Outcome,
    pub profile: Option<Profile>,
    /// Whether the pipeline ranked (`auto`) rather than kept the resolved order.
    pub ranked: bool,
    /// The smart-router bucket and score (`auto` only).
    pub bucket: Option<(bucket::Bucket, f64)>,
    /// Headers routing adds to the answer (deprecation, bucket).
    pub headers: Vec<(&'static str, String)>,
    /// What was asked of the models.
    pub ask: Option<pipeline::Ask>,
}

impl Route {
    /// Whether some candidate was eliminated or skipped for this request (models `auto`
    /// never chooses do not count).
    pub fn eliminated_any(&self) -> bool {
        self.outcome.out.iter().any(|o| !o.why.is_structural())
    }
}

/// The profile a request routes under: its header, else `[model_routing] default_profile`.
pub fn profile_of(snap: &Snapshot, named: Option<Profile>) -> Profile {
    named
        .or_else(|| Profile::parse(&snap.routing.default_profile))
        .unwrap_or(Profile::Balanced)
}

/// A profile's weights with the config's overrides.
pub fn weights(snap: &Snapshot, profile: Profile) -> Weights {
    let w = profile.weights();
    match snap.routing.profiles.get(profile.name()) {
        Some(o) => w.with(o),
        None => w,
    }
}

/// Why routing found nothing to try: the client's error and, when the pipeline ran, what it
/// decided (the dry run shows it).
#[derive(Debug)]
pub struct Refused {
    pub error: GatewayError,
    pub route: Option<Route>,
}

impl From<GatewayError> for Box<Refused> {
    fn from(error: GatewayError) -> Self {
        Box::new(Refused { error, route: None })
    }
}

impl From<Box<Refused>> for GatewayError {
    fn from(r: Box<Refused>) -> Self {
        r.error
    }
}

/// The failover chain for `req`, or why nothing can serve it (403 for the classification,
/// 413 for the context window, 400 for the max cost or a missing capability, 404 for an
/// unknown model). `unusable` reports disabled deployments and open circuits.
pub fn plan(
    snap: &Snapshot,
    stats: &RouteStats,
    req: &Request<'_>,
    unusable: &dyn Fn(&Candidate) -> Option<pipeline::Why>,
) -> Result<Plan, Box<Refused>> {
    let profile = profile_of(snap, req.profile);
    let mut route = Route {
        profile: Some(profile),
        ..Route::default()
    };
    let name = follow_aliases(snap, req.requested);
    let name = deprecation(snap, name, req.today, &mut route.headers)?;
    let (input, ranked): (Arc<[Candidate]>, bool) = if name == "auto" {
        let (b, score) = bucket::classify(req.prompt, req.needs.tools);
        route.bucket = Some((b, score));
        route
            .headers
            .push(("x-gateway-route-bucket", b.as_str().to_string()));
        route
            .headers
            .push(("x-gateway-route-score", format!("{score:.3}")));
        let pool = match b {
            bucket::Bucket::Simple => snap.routing.buckets.simple.as_deref(),
            bucket::Bucket::Complex => snap.routing.buckets.complex.as_deref(),
        };
        match pool {
            Some(pool) => pool_candidates(snap, stats, pool, req.requested, req.draw)?,
            None => (snap.everything.clone(), true),
        }
    } else if snap.pools.contains_key(name) {
        pool_candidates(snap, stats, name, req.requested, req.draw)?
    } else {
        let found = resolve_target(snap, name).map_err(|why| not_found(req.requested, why))?;
        (found.into(), false)
    };
    let weights = weights(snap, profile);
    let ask = pipeline::Ask {
        format: req.format,
        embeddings: req.embeddings,
        classification: req.classification,
        needs: req.needs.mask(),
        weights,
        max_cost_usd: req.max_cost_usd,
        prompt_tokens: prompt_tokens(&input, req),
        asked_output: req.asked_output,
        ranked,
    };
    let mut outcome = pipeline::run(&input, &ask, unusable);
    if outcome.chain.is_empty() {
        let error = pipeline::refuse::refusal(&input, &ask, &outcome, profile.name());
        route.input = Some(input);
        route.outcome = outcome;
        route.ranked = ranked;
        route.ask = Some(ask);
        return Err(Box::new(Refused {
            error,
            route: Some(route),
        }));
    }
    if let Some(conversation) = req.conversation
        && let Some(stuck) = stats.stuck(conversation, req.now)
    {
        stick_first(&input, &mut outcome, &stuck, unusable);
    }
    if !req.failover {
        outcome.chain.truncate(1);
    }
    let candidates = outcome
        .chain
        .iter()
        .map(|&i| input[i as usize].clone())
        .collect();
    route.input = Some(input);
    route.outcome = outcome;
    route.ranked = ranked;
    route.ask = Some(ask);
    Ok(Plan { candidates, route })
}

/// The prompt's token estimate: the rough count, unless a window could be too small for the
/// body at its largest or a cost cap applies (then the tokenizer counts).
fn prompt_tokens(input: &[Candidate], req: &Request<'_>) -> u64 {
    let upper = (req.body.len() as f64 * 1.2) as u64 + req.asked_output.unwrap_or(0);
    let smallest = input
        .iter()
        .filter_map(|c| c.card.as_deref())
        .map(|c| u64::from(c.context_window))
        .min()
        .unwrap_or(u64::MAX);
    if req.max_cost_usd.is_some() || upper > smallest {
        tokens::counted(req.body)
    } else {
        tokens::rough(req.body)
    }
}

/// Puts the conversation's model first when it survived the layers and can be tried.
fn stick_first(
    input: &[Candidate],
    outcome: &mut pipeline::Outcome,
    stuck: &stats::Stuck,
    unusable: &dyn Fn(&Candidate) -> Option<pipeline::Why>,
) {
    let is_it = |at: u32| {
        let c = &input[at as usize];
        *c.provider.id == *stuck.provider && *c.model == *stuck.model
    };
    if let Some(pos) = outcome.chain.iter().position(|&at| is_it(at)) {
        let at = outcome.chain.remove(pos);
        outcome.chain.insert(0, at);
        return;
    }
    if let Some(s) = outcome.scored.iter().find(|s| is_it(s.at))
        && unusable(&input[s.at as usize]).is_none()
    {
        outcome.chain.insert(0, s.at);
        outcome.chain.truncate(pipeline::CHAIN_LEN);
    }
}

fn follow_aliases<'a>(snap: &'a Snapshot, requested: &'a str) -> &'a str {
    let mut name = requested;
    for _ in 0..MAX_ALIAS_DEPTH {
        match snap.aliases.get(name) {
            Some(target) => name = target,
            None => break,
        }
    }
    name
}

/// Applies `[[model_routing.deprecations]]` to `name`: before the sunset a warning header;
/// from the sunset on, the replacement (and a header saying so), or a 404 without one.
fn deprecation<'a>(
    snap: &'a Snapshot,
    name: &'a str,
    today: &str,
    headers: &mut Vec<(&'static str, String)>,
) -> Result<&'a str, GatewayError> {
    let Some(d) = snap.routing.deprecations.iter().find(|d| d.model == name) else {
        return Ok(name);
    };
    if today < d.sunset_date.as_str() {
        let mut value = format!("model=\"{}\"; sunset=\"{}\"", d.model, d.sunset_date);
        if let Some(r) = &d.replacement {
            value.push_str(&format!("; replacement=\"{r}\""));
        }
        headers.push(("x-gateway-deprecation", value));
        return Ok(name);
    }
    match &d.replacement {
        Some(r) => {
            headers.push((
                "x-gateway-deprecation",
                format!(
                    "model=\"{}\"; sunset=\"{}\"; redirected=\"{r}\"",
                    d.model, d.sunset_date
                ),
            ));
            Ok(follow_aliases(snap, r))
        }
        None => Err(GatewayError::new(
            ErrorKind::ModelNotFound,
            format!(
                "The model `{}` was retired on {} and has no replacement.",
                d.model, d.sunset_date
            ),
        )
        .with_param("model")),
    }
}

/// A pool's members in its strategy's order (ranked by the pipeline for `auto` pools).
fn pool_candidates(
    snap: &Snapshot,
    stats: &RouteStats,
    name: &str,
    requested: &str,
    draw: f64,
) -> Result<(Arc<[Candidate]>, bool), GatewayError> {
    let Some(pool) = snap.pools.get(name) else {
        return Err(not_found(requested, "no such pool"));
    };
    let mut members = Vec::new();
    for (model, weight) in &pool.members {
        // A member that does not resolve (provider disabled) is skipped, not fatal.
        if let Ok(found) = resolve_target(snap, model) {
            members.extend(found.into_iter().map(|c| (c, *weight)));
        }
    }
    if members.is_empty() {
        return Err(not_found(
            requested,
            "none of the pool's members is served by an enabled provider",
        ));
    }
    if pool.strategy == PoolStrategy::Auto {
        let all: Vec<Candidate> = members.into_iter().map(|(c, _)| c).collect();
        return Ok((all.into(), true));
    }
    let mut out = pool::order(pool.strategy, members, &stats.latency, stats.next(), draw);
    if !pool.fallback {
        out.truncate(1);
    }
    Ok((out.into(), false))
}

/// What a context-length failure taught about the window a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowNeed {
    /// The provider stated its limit: only a larger window may fit.
    LargerThan(u32),
    /// It did not: a window at least as large as the failed model's card may still fit.
    AtLeast(u32),
}

/// Whether `cand` is worth trying after a context-length failure (a candidate without a card
/// is tried).
pub fn fits_window(cand: &Candidate, need: Option<WindowNeed>) -> bool {
    match (need, &cand.card) {
        (Some(WindowNeed::LargerThan(n)), Some(card)) => card.context_window > n,
        (Some(WindowNeed::AtLeast(n)), Some(card)) => card.context_window >= n,
        _ => true,
    }
}

/// The candidates for `requested`, pools in their configured order (`auto` is not resolved
/// here: it needs the pipeline).
pub fn resolve(snap: &Snapshot, requested: &str) -> Result<Vec<Candidate>, GatewayError> {
    let name = follow_aliases(snap, requested);
    if let Some(pool) = snap.pools.get(name) {
        let found: Vec<Candidate> = pool
            .members
            .iter()
            .filter_map(|(model, _)| resolve_target(snap, model).ok())
            .flatten()
            .collect();
        if found.is_empty() {
            return Err(not_found(
                requested,
                "none of the pool's members is served by an enabled provider",
            ));
        }
        return Ok(found);
    }
    resolve_target(snap, name).map_err(|why| not_found(requested, why))
}

fn resolve_target(snap: &Snapshot, name: &str) -> Result<Vec<Candidate>, &'static str> {
    if let Some((provider_id, model)) = name.split_once('/')
        && let Some(provider) = snap.provider(provider_id)
    {
        if model.is_empty() {
            return Err("the model part after `provider/` is empty");
        }
        let card = snap
            .catalog
            .lookup(provider_id, model)
            .or_else(|| {
                snap.catalog
                    .lookup(provider_id, provider.card_model(model)?)
            })
            .cloned();
        return Ok(vec![Candidate {
            provider: provider.clone(),
            model: model.to_string(),
            card,
        }]);
    }
    // Not a provider prefix: model ids may contain `/` (`meta-llama/Llama-3.3-70B-Instruct`).
    let found: Vec<Candidate> = snap
        .catalog
        .providers_of(name)
        .filter_map(|card| {
            let provider = snap.provider(&card.provider)?;
            Some(Candidate {
                provider: provider.clone(),
                model: card.id.clone(),
                card: Some(card.clone()),
            })
        })
        .collect();
    if found.is_empty() {
        Err("no configured provider serves it")
    } else {
        Ok(found)
    }
}

fn not_found(requested: &str, why: &str) -> GatewayError {
    GatewayError::new(
        ErrorKind::ModelNotFound,
        format!(
            "The model `{requested}` does not exist or is not available: {why}. \
             GET /v1/models lists the models, aliases and pools you can use; \
             `provider_id/model` sends a model to one provider."
        ),
    )
    .with_param("model")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn snap() -> Snapshot {
        let text = r#"
            [model_routing.aliases]
            fast = "groq/llama-3.1-8b-instant"
            smart = "best"
            best = "gpt-4o"
            [[providers]]
            id = "openai"
            provider_type = "openai"
            api_key = "k"
            [[providers]]
            id = "groq"
            provider_type = "groq"
            api_key = "k"
            [[providers]]
            id = "azure"
            provider_type = "azure_openai"
            endpoint = "https://x.openai.azure.com"
            [[pools]]
            name = "chat"
            members = [{ model = "azure/gpt-4o" }, { model = "openai/gpt-4o-mini" }]
        "#;
        Snapshot::build(toml::from_str(text).unwrap(), &HashMap::new()).unwrap()
    }

    fn names(c: &[Candidate]) -> Vec<String> {
        c.iter()
            .map(|c| format!("{}/{}", c.provider.id, c.model))
            .collect()
    }

    #[test]
    fn bare_model_goes_to_every_serving_provider() {
        assert_eq!(
            names(&resolve(&snap(), "gpt-4o").unwrap()),
            vec!["openai/gpt-4o", "azure/gpt-4o"]
        );
    }

    #[test]
    fn pin_alias_chain_and_pool() {
        let s = snap();
        assert_eq!(
            names(&resolve(&s, "azure/gpt-4o").unwrap()),
            vec!["azure/gpt-4o"]
        );
        assert_eq!(
            names(&resolve(&s, "fast").unwrap()),
            vec!["groq/llama-3.1-8b-instant"]
        );
        assert_eq!(
            names(&resolve(&s, "smart").unwrap()),
            vec!["openai/gpt-4o", "azure/gpt-4o"]
        );
        assert_eq!(
            names(&resolve(&s, "chat").unwrap()),
            vec!["azure/gpt-4o", "openai/gpt-4o-mini"]
        );
        // A pinned model the catalog does not list still goes to that provider, without a card.
        let pinned = resolve(&s, "openai/gpt-5-preview").unwrap();
        assert!(pinned[0].card.is_none());
    }

    #[test]
    fn unknown_model_is_404_with_a_hint() {
        let e = resolve(&snap(), "nope").unwrap_err();
        assert_eq!(e.kind, ErrorKind::ModelNotFound);
        assert!(e.message.contains("GET /v1/models"));
        assert!(resolve(&snap(), "openai/").is_err());
        assert!(resolve(&snap(), "unknown-provider/x").is_err());
    }
}
