//! Rate limits (L2): requests per minute and per day, tokens per minute (reserved at
//! admission, settled to the actual usage), and concurrent requests, per key and per team.
//! [`gcra`] is the algorithm (pure, injected clock); [`local`] keeps the state of one
//! instance. Wiring into the request path, provider quotas (L3) and the Redis-backed state
//! shared by several instances (L6) come next (issue 12).

pub mod gcra;
pub mod local;
