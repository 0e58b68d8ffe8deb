//! What the running gateway learns about its catalog, shared by all requests: the
//! [`Overlay`] (models catalog sync found, quality scores set through the API), when the last
//! sync ran, and each model's score history (for rollback). The snapshot is rebuilt from the
//! config and this overlay whenever it changes. No I/O.

use std::collections::BTreeMap;

use parking_lot::Mutex;

use super::Overlay;
use crate::config::QualityScores;

/// Score changes kept per model.
pub const MAX_HISTORY: usize = 20;

/// One change of a model's quality scores.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScoreChange {
    /// Unix ms.
    pub at: i64,
    pub previous: QualityScores,
    pub updated: QualityScores,
}

/// The catalog's run-time state.
#[derive(Debug, Default)]
pub struct CatalogState {
    /// Held while a change rebuilds the snapshot, so changes apply one at a time.
    pub overlay: Mutex<Overlay>,
    /// Unix ms of the last sync.
    pub last_synced: Mutex<Option<i64>>,
    pub history: Mutex<BTreeMap<String, Vec<ScoreChange>>>,
}

impl CatalogState {
    /// Records a score change of `model`, keeping the last [`MAX_HISTORY`].
    pub fn remember(&self, model: &str, change: ScoreChange) -> Vec<ScoreChange> {
        let mut history = self.history.lock();
        let list = history.entry(model.to_string()).or_default();
        list.push(change);
        if list.len() > MAX_HISTORY {
            let extra = list.len() - MAX_HISTORY;
            list.drain(..extra);
        }
        list.clone()
    }

    /// Takes back the last change of `model`: the scores to restore, if any.
    pub fn undo(&self, model: &str) -> Option<ScoreChange> {
        self.history.lock().get_mut(model)?.pop()
    }
}
