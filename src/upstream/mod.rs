//! Talking to providers: the [`Upstream`] contract the attempt loop drives, its pingora-backed
//! implementation ([`client`], over asynchronous DNS with a cache, [`dns`]), and pools of
//! self-hosted replicas ([`replicas`]). Nothing here knows about wire formats.
//!
//! The attempt loop sees only [`Upstream`] and [`UpstreamResponse`]; pingora's `HttpSession`
//! stays inside [`client`].
//!
//! May depend on `runtime` (a provider's endpoint) only; never on wire formats or stages.

pub mod client;
mod contract;
pub mod dns;
pub mod replicas;

pub use client::{PingoraResponse, UpstreamClient};
pub use contract::{SendError, Upstream, UpstreamRequest, UpstreamResponse};
