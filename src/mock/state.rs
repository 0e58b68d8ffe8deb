//! The mock's shared state: the bounded attempt log, per-model hit counters, and the
//! `Exchange` guard that records how each exchange ended.
//!
//! Memory stays bounded under load: the log keeps the last [`LOG_CAPACITY`] entries, parsed
//! bodies are dropped from the oldest entries once they hold more than [`BODY_BUDGET`] bytes,
//! and the counter table is reset when it tracks more than [`MAX_MODELS`] names. Every change
//! wakes [`MockState::wait_for`] through a `tokio::sync::Notify`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::log_entry::{MockLogEntry, MockOutcome};
use super::options::MockOptions;

/// Entries kept in the log ring.
pub const LOG_CAPACITY: usize = 10_000;
/// Request-body bytes whose parsed JSON the log keeps; older entries lose `body` beyond it.
pub const BODY_BUDGET: usize = 64 << 20;
/// Distinct model names whose hits are counted before the table starts over.
pub const MAX_MODELS: usize = 100_000;

/// Shared state of one mock upstream: options, attempt log, per-model counters.
#[derive(Debug)]
pub struct MockState {
    pub(crate) options: MockOptions,
    inner: Mutex<Inner>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    log: VecDeque<MockLogEntry>,
    /// `body_len` of the entries from `bodies_from` on that still hold a parsed body.
    body_bytes: usize,
    /// Entries before this index hold no parsed body.
    bodies_from: usize,
    hits: HashMap<String, u64>,
}

impl MockState {
    /// A fresh state with an empty log.
    pub fn new(opts: MockOptions) -> Arc<MockState> {
        Arc::new(MockState {
            options: opts,
            inner: Mutex::new(Inner {
                next_seq: 1,
                ..Inner::default()
            }),
            changed: Notify::new(),
        })
    }

    /// The options this mock was started with.
    pub fn options(&self) -> &MockOptions {
        &self.options
    }

    /// A snapshot of the log, oldest first.
    pub fn log(&self) -> Vec<MockLogEntry> {
        self.inner.lock().log.iter().cloned().collect()
    }

    /// Requests seen for this exact model name (counted even after their log entry is gone).
    pub fn hits(&self, model: &str) -> u64 {
        self.inner.lock().hits.get(model).copied().unwrap_or(0)
    }

    /// Empties the log and the hit counters (`fail-once` fails again afterwards).
    pub fn clear(&self) {
        {
            let mut inner = self.inner.lock();
            inner.log.clear();
            inner.hits.clear();
            inner.body_bytes = 0;
            inner.bodies_from = 0;
        }
        self.changed.notify_waiters();
    }

    /// Waits until `pred` holds for the log, re-checking on every log change; false on
    /// timeout. `pred` runs on a snapshot, so it may call back into this state.
    pub async fn wait_for<F: Fn(&[MockLogEntry]) -> bool>(
        &self,
        pred: F,
        timeout: Duration,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a change between check and await is not lost.
            notified.as_mut().enable();
            if pred(&self.log()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return pred(&self.log());
            }
        }
    }

    /// Appends an entry (its `seq` is assigned here) and counts a hit for its model.
    /// Returns the entry's `seq` and this request's ordinal for the model (1 for the first).
    pub(crate) fn record(&self, mut entry: MockLogEntry) -> (u64, u64) {
        let result = {
            let mut inner = self.inner.lock();
            let seq = inner.next_seq;
            inner.next_seq += 1;
            entry.seq = seq;
            if inner.hits.len() >= MAX_MODELS && !inner.hits.contains_key(&entry.model) {
                inner.hits.clear();
            }
            let hit = match inner.hits.get_mut(&entry.model) {
                Some(hits) => {
                    *hits += 1;
                    *hits
                }
                None => {
                    inner.hits.insert(entry.model.clone(), 1);
                    1
                }
            };
            if entry.body.is_some() {
                inner.body_bytes += entry.body_len;
            }
            inner.log.push_back(entry);
            inner.trim();
            (seq, hit)
        };
        self.changed.notify_waiters();
        result
    }

    /// Sets the outcome of entry `seq` (if it is still in the log).
    pub(crate) fn set_outcome(&self, seq: u64, outcome: MockOutcome) {
        {
            let mut inner = self.inner.lock();
            let Ok(i) = inner.log.binary_search_by_key(&seq, |e| e.seq) else {
                return;
            };
            if let Some(entry) = inner.log.get_mut(i) {
                entry.outcome = outcome;
            }
        }
        self.changed.notify_waiters();
    }
}

impl Inner {
    fn trim(&mut self) {
        while self.log.len() > LOG_CAPACITY {
            if let Some(old) = self.log.pop_front() {
                if self.bodies_from == 0 && old.body.is_some() {
                    self.body_bytes -= old.body_len;
                }
                self.bodies_from = self.bodies_from.saturating_sub(1);
            }
        }
        while self.body_bytes > BODY_BUDGET && self.bodies_from + 1 < self.log.len() {
            let i = self.bodies_from;
            if let Some(entry) = self.log.get_mut(i)
                && entry.body.take().is_some()
            {
                self.body_bytes -= entry.body_len;
            }
            self.bodies_from += 1;
        }
    }
}

/// Guard of one logged exchange: records its outcome once, `ClientGone` if dropped unfinished
/// (hyper dropped the service future or the body because the peer closed).
#[derive(Debug)]
pub(crate) struct Exchange {
    state: Arc<MockState>,
    seq: u64,
    done: bool,
}

impl Exchange {
    pub(crate) fn new(state: Arc<MockState>, seq: u64) -> Exchange {
        Exchange {
            state,
            seq,
            done: false,
        }
    }

    /// The log entry this guard updates.
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// Records how the exchange ended.
    pub(crate) fn finish(mut self, outcome: MockOutcome) {
        self.done = true;
        self.state.set_outcome(self.seq, outcome);
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if !self.done {
            self.state.set_outcome(self.seq, MockOutcome::ClientGone);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(model: &str, body_len: usize) -> MockLogEntry {
        MockLogEntry {
            seq: 0,
            method: "POST".into(),
            path: "/v1/chat/completions".into(),
            query: None,
            model: model.into(),
            stream: false,
            headers: BTreeMap::new(),
            body_len,
            body_sha256: String::new(),
            body: Some(serde_json::json!({})),
            outcome: MockOutcome::InProgress,
        }
    }

    #[test]
    fn ring_keeps_the_last_entries_and_counts_all_hits() {
        let state = MockState::new(MockOptions::default());
        for _ in 0..LOG_CAPACITY + 5 {
            state.record(entry("m", 1));
        }
        let log = state.log();
        assert_eq!(log.len(), LOG_CAPACITY);
        assert_eq!(log[0].seq, 6);
        assert_eq!(
            state.hits("m"),
            u64::try_from(LOG_CAPACITY + 5).unwrap_or(0)
        );
        assert_eq!(state.hits("other"), 0);
    }

    #[test]
    fn bodies_beyond_the_budget_are_dropped_oldest_first() {
        let state = MockState::new(MockOptions::default());
        let big = BODY_BUDGET / 3;
        for _ in 0..4 {
            state.record(entry("m", big));
        }
        let log = state.log();
        assert!(log[0].body.is_none());
        assert!(log[1..].iter().all(|e| e.body.is_some()));
    }

    #[test]
    fn outcome_updates_and_exchange_drop_means_client_gone() {
        let state = MockState::new(MockOptions::default());
        let (a, hit) = state.record(entry("m", 1));
        assert_eq!(hit, 1);
        let (b, hit) = state.record(entry("m", 1));
        assert_eq!(hit, 2);
        Exchange::new(state.clone(), a).finish(MockOutcome::Cut);
        drop(Exchange::new(state.clone(), b));
        let outcomes: Vec<_> = state.log().iter().map(|e| e.outcome).collect();
        assert_eq!(outcomes, [MockOutcome::Cut, MockOutcome::ClientGone]);
        state.clear();
        assert!(state.log().is_empty());
        assert_eq!(state.hits("m"), 0);
    }
}
