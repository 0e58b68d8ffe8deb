//! Deployments (R12): a `provider/model` pair that can be taken out of routing at run time
//! (`POST /admin/deployments/disable|enable`) without a config change. Disabled deployments
//! are skipped by the pipeline (named or `auto`). Per instance, in memory; shared by all
//! requests. The common case (nothing disabled) costs one atomic load.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;

/// The disabled deployments of this instance.
#[derive(Debug, Default)]
pub struct Deployments {
    any: AtomicBool,
    disabled: RwLock<HashSet<(String, String)>>,
}

impl Deployments {
    /// Whether `provider`/`model` is disabled.
    pub fn is_disabled(&self, provider: &str, model: &str) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        self.disabled
            .read()
            .iter()
            .any(|(p, m)| p == provider && m == model)
    }

    /// Disables or enables `provider`/`model`; whether that changed anything.
    pub fn set(&self, provider: &str, model: &str, enabled: bool) -> bool {
        let mut set = self.disabled.write();
        let key = (provider.to_string(), model.to_string());
        let changed = if enabled {
            set.remove(&key)
        } else {
            set.insert(key)
        };
        self.any.store(!set.is_empty(), Ordering::Release);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disable_and_enable() {
        let d = Deployments::default();
        assert!(!d.is_disabled("a", "m"));
        assert!(d.set("a", "m", false));
        assert!(!d.set("a", "m", false));
        assert!(d.is_disabled("a", "m"));
        assert!(!d.is_disabled("a", "n"));
        assert!(d.set("a", "m", true));
        assert!(!d.is_disabled("a", "m"));
    }
}
