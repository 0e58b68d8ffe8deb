//! The id of a response that came without a `responseId`, for the response decoder and the
//! stream decoder alike.
//!
//! May depend on the standard library only; never on `mod.rs` or the other files of this
//! folder.

use std::sync::atomic::{AtomicU64, Ordering};

/// An id for a response that came without a `responseId` (`gemini-<n>`, unique per process).
pub(super) fn fallback_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("gemini-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
