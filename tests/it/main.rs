//! The integration-test binary: the real gateway over real sockets in front of the project's
//! mock upstream, each test with its own gateway and mock on free ports (tests run in
//! parallel). Upstream behaviour is chosen by model name; the mock's attempt log is asserted.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests fail loudly"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "the harness spawns its own tasks and threads and reads test switches from the environment"
)]

mod analytics;
mod binary;
mod db;
mod harness;

mod cache;
mod chat;
mod check_config;
mod compliance;
mod edge;
mod endpoints;
mod errors;
mod footprint;
mod gate;
mod golden;
mod hostile;
mod jwt;
mod lifecycle;
mod limits;
mod ops;
mod portal;
mod readme;
mod reload;
mod replicas;
mod rescue;
mod resilience;
mod routing;
mod sdk;
mod shared_limits;
mod signals;
mod streaming;
mod tenancy;
mod translation;
mod usage;
