//! Prometheus metrics (O1): lock-light counters and histograms keyed by label values, and
//! their text exposition for `GET /metrics`.
//!
//! A series is found under a read lock and updated with atomics; a new label combination
//! takes the write lock once. Label values come from configuration (provider ids, catalog
//! model ids) or small enums, never from unvalidated input, so cardinality stays bounded.

use foldhash::HashMap;
use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;

use crate::resilience::breaker::{BreakerStatus, CircuitState};

/// The gateway's operational endpoints (`endpoint` labels): counted, but kept out of the
/// request latency histogram.
const OPS_ENDPOINTS: &[&str] = &["health", "ready", "metrics"];

/// Latency buckets in seconds (LLM calls range from milliseconds to minutes).
const BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

/// A float that only grows, stored as bits.
#[derive(Debug, Default)]
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn add(&self, v: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + v).to_bits())
            });
    }
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum: AtomicF64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.add(secs);
    }
}

/// Series of one metric, by label values.
#[derive(Debug)]
struct Family<K, V> {
    series: RwLock<HashMap<K, Arc<V>>>,
}

impl<K: Hash + Eq + Clone, V: Default> Family<K, V> {
    fn new() -> Self {
        Self {
            series: RwLock::new(HashMap::default()),
        }
    }

    fn get(&self, key: &K) -> Arc<V> {
        if let Some(v) = self.series.read().get(key) {
            return v.clone();
        }
        self.series.write().entry(key.clone()).or_default().clone()
    }

    fn sorted(&self) -> Vec<(K, Arc<V>)>
    where
        K: Ord,
    {
        let mut v: Vec<_> = self
            .series
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

type Label = Arc<str>;

/// What one finished request reports.
#[derive(Debug)]
pub struct RequestRecord<'a> {
    pub endpoint: &'static str,
    pub provider: &'a Label,
    pub model: &'a Label,
    pub status: u16,
    pub duration: Duration,
    pub ttft: Option<Duration>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

/// The gateway's metrics.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<(&'static str, Label, Label, u16), AtomicU64>,
    duration: Family<(Label,), Histogram>,
    ttft: Family<(Label,), Histogram>,
    tokens: Family<(&'static str, Label, Label), AtomicU64>,
    cost: Family<(Label, Label), AtomicF64>,
    attempts: Family<(Label, &'static str), AtomicU64>,
    failovers: Family<(String, String), AtomicU64>,
    hedges: Family<(&'static str,), AtomicU64>,
    compliance: Family<(&'static str, &'static str, &'static str), AtomicU64>,
    malformed: Family<(Label,), AtomicU64>,
    continuations: Family<(Label,), AtomicU64>,
    fallbacks: Family<(String, Label, Label), AtomicU64>,
    /// Response-cache lookups by result (`hit`, `semantic-hit`) and misses.
    cache_hits: Family<(&'static str,), AtomicU64>,
    cache_misses: AtomicU64,
    in_flight: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            requests: Family::new(),
            duration: Family::new(),
            ttft: Family::new(),
            tokens: Family::new(),
            cost: Family::new(),
            attempts: Family::new(),
            failovers: Family::new(),
            hedges: Family::new(),
            compliance: Family::new(),
            malformed: Family::new(),
            continuations: Family::new(),
            fallbacks: Family::new(),
            cache_hits: Family::new(),
            cache_misses: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        }
    }

    /// Records a finished request.
    pub fn record(&self, r: &RequestRecord<'_>) {
        let key = (r.endpoint, r.provider.clone(), r.model.clone(), r.status);
        self.requests.get(&key).fetch_add(1, Ordering::Relaxed);
        // Health checks and scrapes say nothing about serving requests: they stay out of the
        // latency histogram (they are counted).
        if !OPS_ENDPOINTS.contains(&r.endpoint) {
            self.duration
                .get(&(r.provider.clone(),))
                .observe(r.duration);
        }
        if let Some(t) = r.ttft {
            self.ttft.get(&(r.provider.clone(),)).observe(t);
        }
        if r.prompt_tokens > 0 {
            let key = ("input", r.provider.clone(), r.model.clone());
            self.tokens
                .get(&key)
                .fetch_add(r.prompt_tokens, Ordering::Relaxed);
        }
        if r.completion_tokens > 0 {
            let key = ("output", r.provider.clone(), r.model.clone());
            self.tokens
                .get(&key)
                .fetch_add(r.completion_tokens, Ordering::Relaxed);
        }
        if r.cost_usd > 0.0 {
            self.cost
                .get(&(r.provider.clone(), r.model.clone()))
                .add(r.cost_usd);
        }
    }

    /// Counts one upstream attempt by outcome (`ok`, `http_error`, `connect_error`, ...).
    pub fn attempt(&self, provider: &Label, outcome: &'static str) {
        self.attempts
            .get(&(provider.clone(), outcome))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a move from one provider to the next in a failover chain.
    pub fn failover(&self, from: &str, to: &str) {
        self.failovers
            .get(&(from.to_string(), to.to_string()))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a compliance finding by detector, direction (`input`, `output`) and action.
    pub fn compliance(&self, n: &crate::compliance::policy::Noted) {
        self.compliance
            .get(&(n.detector, n.direction.as_str(), n.action.as_str()))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a response-cache answer (`kind`: `hit` or `semantic-hit`).
    pub fn cache_hit(&self, kind: &'static str) {
        self.cache_hits
            .get(&(kind,))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request the response cache could not answer.
    pub fn cache_miss(&self) {
        self.cache_misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a hedged attempt by outcome (`primary_won`, `hedge_won`, `both_failed`, `not_needed`).
    pub fn hedge(&self, outcome: &'static str) {
        self.hedges.get(&(outcome,)).fetch_add(1, Ordering::Relaxed);
    }

    /// Counts malformed stream events a provider sent (skipped, not forwarded).
    pub fn malformed_events(&self, provider: &Label, n: u64) {
        if n > 0 {
            self.malformed
                .get(&(provider.clone(),))
                .fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts a stream that broke mid-answer at `provider` and is continued by the next
    /// attempt (mid-stream rescue).
    pub fn continuation(&self, provider: &Label) {
        self.continuations
            .get(&(provider.clone(),))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request served by a candidate other than the first of its chain: the model
    /// asked for, and the provider and model that served it.
    pub fn fallback(&self, requested: &str, provider: &Label, model: &Label) {
        self.fallbacks
            .get(&(requested.to_string(), provider.clone(), model.clone()))
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Called after everything the request counts is counted.
    pub fn request_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Release);
    }

    /// Requests between `request_started` and `request_finished`.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Prometheus text exposition format 0.0.4, with the circuit breakers' state.
    pub fn render(
        &self,
        uptime: Duration,
        breakers: &[BreakerStatus],
        transitions: &[(CircuitState, u64)],
        connections: u64,
    ) -> String {
        // Read before every counter: a request that left the gauge counted everything first
        // (`request_finished` releases what it counted), so a scrape that sees it gone sees
        // its counts too.
        let in_flight = self.in_flight.load(Ordering::Acquire);
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "gateway_requests_total",
            "counter",
            "Requests by endpoint, provider, model and status code.",
        );
        for ((endpoint, provider, model, status), v) in self.requests.sorted() {
            let _ = writeln!(
                out,
                "gateway_requests_total{{endpoint=\"{endpoint}\",provider=\"{}\",model=\"{}\",status=\"{status}\"}} {}",
                esc(&provider),
                esc(&model),
                v.load(Ordering::Relaxed)
            );
        }
        histograms(
            &mut out,
            "gateway_request_duration_seconds",
            "End-to-end request latency by provider.",
            &self.duration,
        );
        histograms(
            &mut out,
            "gateway_ttft_seconds",
            "Time to first token (first upstream body byte) by provider.",
            &self.ttft,
        );
        header(
            &mut out,
            "gateway_tokens_total",
            "counter",
            "Tokens by direction (input/output), provider and model.",
        );
        for ((direction, provider, model), v) in self.tokens.sorted() {
            let _ = writeln!(
                out,
                "gateway_tokens_total{{direction=\"{direction}\",provider=\"{}\",model=\"{}\"}} {}",
                esc(&provider),
                esc(&model),
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_cost_dollars",
            "counter",
            "Estimated cost in USD by provider and model.",
        );
        for ((provider, model), v) in self.cost.sorted() {
            let _ = writeln!(
                out,
                "gateway_cost_dollars{{provider=\"{}\",model=\"{}\"}} {}",
                esc(&provider),
                esc(&model),
                v.get()
            );
        }
        header(
            &mut out,
            "gateway_upstream_attempts_total",
            "counter",
            "Upstream attempts by provider and outcome.",
        );
        for ((provider, outcome), v) in self.attempts.sorted() {
            let _ = writeln!(
                out,
                "gateway_upstream_attempts_total{{provider=\"{}\",outcome=\"{outcome}\"}} {}",
                esc(&provider),
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_stream_malformed_events_total",
            "counter",
            "Malformed stream events skipped, by provider.",
        );
        for ((provider,), v) in self.malformed.sorted() {
            let _ = writeln!(
                out,
                "gateway_stream_malformed_events_total{{provider=\"{}\"}} {}",
                esc(&provider),
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_stream_continuations_total",
            "counter",
            "Streams that broke mid-answer and were continued by the next attempt, by the provider whose stream broke.",
        );
        for ((provider,), v) in self.continuations.sorted() {
            let _ = writeln!(
                out,
                "gateway_stream_continuations_total{{provider=\"{}\"}} {}",
                esc(&provider),
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_fallback_requests_total",
            "counter",
            "Requests served by a candidate other than the first of their chain, by the model asked for and the provider and model that served.",
        );
        for ((requested, provider, model), v) in self.fallbacks.sorted() {
            let _ = writeln!(
                out,
                "gateway_fallback_requests_total{{requested=\"{}\",provider=\"{}\",model=\"{}\"}} {}",
                esc(&requested),
                esc(&provider),
                esc(&model),
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_failovers_total",
            "counter",
            "Failovers by source and target provider.",
        );
        for ((from, to), v) in self.failovers.sorted() {
            let _ = writeln!(
                out,
                "gateway_failovers_total{{from=\"{}\",to=\"{}\"}} {}",
                esc(&from),
                esc(&to),
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_cache_hits_total",
            "counter",
            "Answers served from the response cache, by kind (hit: exact, semantic-hit).",
        );
        for ((kind,), v) in self.cache_hits.sorted() {
            let _ = writeln!(
                out,
                "gateway_cache_hits_total{{kind=\"{kind}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_cache_misses_total",
            "counter",
            "Cacheable requests the response cache could not answer.",
        );
        let _ = writeln!(
            out,
            "gateway_cache_misses_total {}",
            self.cache_misses.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "gateway_compliance_findings_total",
            "counter",
            "Compliance findings by detector, direction and action (never the matched text).",
        );
        for ((detector, direction, action), v) in self.compliance.sorted() {
            let _ = writeln!(
                out,
                "gateway_compliance_findings_total{{detector=\"{detector}\",direction=\"{direction}\",action=\"{action}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_hedges_total",
            "counter",
            "Hedged first attempts by outcome.",
        );
        for ((outcome,), v) in self.hedges.sorted() {
            let _ = writeln!(
                out,
                "gateway_hedges_total{{outcome=\"{outcome}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        header(
            &mut out,
            "gateway_circuit_state",
            "gauge",
            "Circuit state per provider/model: one series per state, 1 for the current one.",
        );
        for b in breakers {
            for (state, name) in [
                (CircuitState::Closed, "closed"),
                (CircuitState::HalfOpen, "half_open"),
                (CircuitState::Open, "open"),
            ] {
                let _ = writeln!(
                    out,
                    "gateway_circuit_state{{backend=\"{}\",state=\"{name}\"}} {}",
                    esc(&b.key),
                    u8::from(b.state == state)
                );
            }
        }
        header(
            &mut out,
            "gateway_circuit_transitions_total",
            "counter",
            "Circuit transitions by the state entered.",
        );
        for (state, n) in transitions {
            let name = match state {
                CircuitState::Closed => "closed",
                CircuitState::HalfOpen => "half_open",
                CircuitState::Open => "open",
            };
            let _ = writeln!(
                out,
                "gateway_circuit_transitions_total{{to=\"{name}\"}} {n}"
            );
        }
        header(
            &mut out,
            "gateway_requests_in_flight",
            "gauge",
            "Requests being served now.",
        );
        let _ = writeln!(out, "gateway_requests_in_flight {in_flight}");
        header(
            &mut out,
            "gateway_connections_open",
            "gauge",
            "Client connections open now (server.max_connections bounds them).",
        );
        let _ = writeln!(out, "gateway_connections_open {connections}");
        header(
            &mut out,
            "gateway_uptime_seconds",
            "gauge",
            "Seconds since the gateway started.",
        );
        let _ = writeln!(out, "gateway_uptime_seconds {}", uptime.as_secs());
        super::process::render(&mut out, uptime);
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn histograms(out: &mut String, name: &str, help: &str, family: &Family<(Label,), Histogram>) {
    header(out, name, "histogram", help);
    for ((provider,), h) in family.sorted() {
        let provider = esc(&provider);
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += h.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{provider=\"{provider}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{provider=\"{provider}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(out, "{name}_sum{{provider=\"{provider}\"}} {}", h.sum.get());
        let _ = writeln!(out, "{name}_count{{provider=\"{provider}\"}} {count}");
    }
}

/// Escapes a label value.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_renders() {
        let m = Metrics::new();
        let p: Label = Arc::from("openai");
        let model: Label = Arc::from("gpt-\"4o");
        let rec = RequestRecord {
            endpoint: "chat_completions",
            provider: &p,
            model: &model,
            status: 200,
            duration: Duration::from_millis(30),
            ttft: Some(Duration::from_millis(7)),
            prompt_tokens: 10,
            completion_tokens: 5,
            cost_usd: 0.5,
        };
        m.record(&rec);
        m.record(&rec);
        m.failover("a", "b");
        let text = m.render(Duration::from_secs(3), &[], &[(CircuitState::Open, 2)], 7);
        assert!(text.contains("gateway_connections_open 7"));
        assert!(text.contains("gateway_requests_total{endpoint=\"chat_completions\",provider=\"openai\",model=\"gpt-\\\"4o\",status=\"200\"} 2"));
        assert!(text.contains(
            "gateway_request_duration_seconds_bucket{provider=\"openai\",le=\"0.05\"} 2"
        ));
        assert!(text.contains("gateway_ttft_seconds_count{provider=\"openai\"} 2"));
        assert!(text.contains(
            "gateway_tokens_total{direction=\"output\",provider=\"openai\",model=\"gpt-\\\"4o\"} 10"
        ));
        assert!(text.contains("gateway_cost_dollars{provider=\"openai\",model=\"gpt-\\\"4o\"} 1"));
        assert!(text.contains("gateway_uptime_seconds 3"));
        assert!(text.contains("gateway_failovers_total{from=\"a\",to=\"b\"} 1"));
        m.continuation(&Label::from("a"));
        m.fallback("pool", &Label::from("b"), &Label::from("m2"));
        let later = m.render(Duration::ZERO, &[], &[], 0);
        assert!(later.contains("gateway_stream_continuations_total{provider=\"a\"} 1"));
        assert!(later.contains(
            "gateway_fallback_requests_total{requested=\"pool\",provider=\"b\",model=\"m2\"} 1"
        ));
        assert!(text.contains("gateway_circuit_transitions_total{to=\"open\"} 2"));
    }

    #[test]
    fn scrapes_and_health_checks_stay_out_of_the_latency_histogram() {
        let m = Metrics::new();
        for endpoint in ["metrics", "health", "chat_completions"] {
            m.record(&RequestRecord {
                endpoint,
                provider: &Label::from(""),
                model: &Label::from(""),
                status: 200,
                duration: Duration::from_millis(1),
                ttft: None,
                prompt_tokens: 0,
                completion_tokens: 0,
                cost_usd: 0.0,
            });
        }
        let text = m.render(Duration::ZERO, &[], &[], 0);
        assert!(
            text.contains("gateway_request_duration_seconds_count{provider=\"\"} 1"),
            "{text}"
        );
        assert!(text.contains(
            "gateway_requests_total{endpoint=\"metrics\",provider=\"\",model=\"\",status=\"200\"} 1"
        ));
    }
}
