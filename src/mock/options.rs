//! The options a mock upstream is started with ([`MockOptions`]).
//!
//! Plain data: depends on no other part of the mock (nor of the crate), so every part of the
//! mock may use it without importing `mock/mod.rs`.

use std::time::Duration;

/// Options of a mock upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MockOptions {
    /// Delay before each streamed token, unless the model name sets `delay=`. Default zero.
    pub token_delay: Duration,
}
