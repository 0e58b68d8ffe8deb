//! llm-gateway: a self-hosted LLM gateway on Pingora.
//!
//! Applications point their OpenAI SDK at it; it picks the provider and model for each
//! request, forwards it through its own pooled upstream client, and reports what happened and
//! what it cost. The request flow is drawn in [`proxy`]; the modules, by stage:
//!
//! | module | stage | may depend on |
//! |---|---|---|
//! | [`config`] | file config: parse, interpolate, validate | nothing runtime |
//! | [`state`], [`catalog`], [`providers`] | runtime snapshot built from config | config |
//! | [`inbound`] | auth, body cap, request decoding | state, errors |
//! | [`routing`] | model addressing → candidates | state |
//! | [`upstream`] | DNS cache, pooled upstream client | pingora connectors |
//! | [`sse`], [`usage`], [`passthrough`] | stream framing, same-format relays, usage and cost (pure) | translate (for Anthropic usage) |
//! | [`translate`] | canonical IR and the OpenAI / Anthropic / Gemini codecs (pure) | nothing |
//! | [`resilience`] | retry verdicts, backoff, circuit breakers (pure, injected clock) | config |
//! | [`proxy`] | the `ProxyHttp` impl; the only module that knows pingora's proxy | all |
//! | [`metrics`], [`access_log`] | observability | nothing |
//! | [`mock`] | the mock upstream provider | hyper |
//! | [`app`], [`cli`] | composition root | all |

pub mod access_log;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod errors;
pub mod inbound;
pub mod metrics;
pub mod mock;
pub mod passthrough;
pub mod providers;
pub mod proxy;
pub mod resilience;
pub mod routing;
pub mod sse;
pub mod state;
pub mod translate;
pub mod upstream;
pub mod usage;
