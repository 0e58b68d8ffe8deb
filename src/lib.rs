//! llm-gateway: a self-hosted LLM gateway on Pingora.
//!
//! Applications point their OpenAI or Anthropic SDK at it; it picks the provider and model for
//! each request, forwards it through its own pooled upstream client, and reports what happened
//! and what it cost. The request flow is drawn in [`proxy`]; the modules, in flow order:
//!
//! | module | stage | may depend on |
//! |---|---|---|
//! | [`app`], [`cli`] | composition root: builds the server and the services | all |
//! | [`proxy`] | the HTTP application of each client connection; the only module that knows pingora's server side | all stages |
//! | [`ctx`] | the per-request context every stage reads and writes | stage data types |
//! | [`gateway`] | shared services: snapshot, client, breakers, route stats, metrics | runtime, upstream, resilience, routing, observability |
//! | [`downstream`] | the client side of a response, and whole-response writers | ctx, errors |
//! | [`inbound`] | endpoint table, auth, controls, body cap, request decoding | runtime, routing (types), errors |
//! | [`policy`] | the caller's allowed models and budget reservation, between routing and attempts | tenancy, routing, inbound |
//! | [`limits`] | rate limits per key and team: GCRA rates, concurrency slots, the admission a request holds; shared through Redis | runtime, redis |
//! | [`routing`] | model addressing, pools, capability gate → candidates (pure) | runtime, config |
//! | [`attempt`] | the attempt loop: admission, retries, failover, hedging, forwarding | downstream, upstream, translate, resilience, routing |
//! | [`resilience`] | retry verdicts, backoff, circuit breakers (pure, injected clock) | config |
//! | [`upstream`] | the `Upstream` contract, pooled pingora client, DNS cache, replicas | runtime, uri |
//! | [`translate`] | canonical IR, codecs, SSE framing, relays (pure) | config, errors |
//! | [`observability`] | metrics, access log, cost | ctx, translate (usage) |
//! | [`api`] | operational and admin endpoints over `http` types | gateway, inbound, runtime |
//! | [`tenancy`] | virtual keys in memory (the key ring), budgets and their reservations | storage, runtime |
//! | [`redis`] | a pipelined Redis client with bounded waits, for state shared by instances | decimal |
//! | [`storage`] | the database: schema, migrations, keys, teams, records, the record writer | config |
//! | [`runtime`] | runtime types built from config: snapshot, providers, catalog | config |
//! | [`config`] | file config: parse, interpolate, validate | nothing |
//! | [`errors`] | every client-visible error and how a request can end | nothing |
//! | [`uri`] | percent-encoding of path segments | nothing |
//! | [`decimal`] | whole numbers in decimal without `format!` | nothing |
//! | [`mock`] | the mock upstream provider | hyper |
//! | [`probe`] | `llm-gateway health`: a plain-TCP check of `/health` | nothing |

#![cfg_attr(
    test,
    expect(
        clippy::disallowed_methods,
        reason = "unit tests spawn tasks and threads and read the wall clock freely"
    )
)]

pub mod app;
pub mod cli;
pub mod proxy;

pub mod ctx;
pub mod downstream;
pub mod gateway;

pub mod api;
pub mod attempt;
pub mod inbound;
pub mod limits;
pub mod observability;
pub mod policy;
pub mod resilience;
pub mod routing;
pub mod translate;
pub mod upstream;

pub mod cache;
pub mod compliance;
pub mod config;
pub mod decimal;
pub mod errors;
pub mod mock;
pub mod probe;
pub mod redis;
pub mod runtime;
pub mod storage;
pub mod tenancy;
pub mod uri;
