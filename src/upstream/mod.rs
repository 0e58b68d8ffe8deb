//! Talking to providers: asynchronous DNS with a cache ([`dns`]) and the pooled HTTP client
//! that the attempt loop drives ([`client`]). Nothing here knows about wire formats.

pub mod client;
pub mod dns;
pub mod replicas;

pub use client::{SendError, UpstreamClient, UpstreamRequest, UpstreamResponse};
