//! Idempotent requests (S9): a POST with an `Idempotency-Key` has its answer kept for 24 hours
//! per tenant; a repeat gets the kept answer without a provider call, and a repeat while the
//! first is still in flight waits for it (bounded by the caller). Keys never cross tenants.
//! Only whole, successful answers are kept: after a failure the key is free again.
//!
//! In memory, bounded in entries and bytes; each kept answer is also written to the store
//! (off the request path) and answers younger than 24 hours are loaded at start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::watch;

/// How long an answer is kept.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// The largest answer kept (a larger one is answered but not kept).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// The most answers kept at once, and their bytes.
const MAX_ENTRIES: usize = 10_000;
const MAX_BYTES: usize = 256 * 1024 * 1024;

/// A kept answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// Headers to replay (name, value).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// SHA-256 of the request (path and body): a repeat must be the same request.
    pub fingerprint: [u8; 32],
    /// Unix ms.
    pub created_at: i64,
}

enum Entry {
    /// The first request is being served; waiters watch for its end.
    InFlight {
        fingerprint: [u8; 32],
        done: watch::Receiver<bool>,
    },
    Kept(Arc<Answer>),
}

/// What a request with an `Idempotency-Key` does.
pub enum Begin {
    /// Serve it; give the answer to the ticket (dropping it frees the key).
    Fresh(Ticket),
    /// Answer with this.
    Replay(Arc<Answer>),
    /// The same key with another request.
    Mismatch,
    /// The first is in flight: wait on this, then begin again.
    Wait(watch::Receiver<bool>),
}

/// The answers kept, by (tenant, key).
#[derive(Default)]
pub struct Idempotency {
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency").finish_non_exhaustive()
    }
}

/// The first request's claim on a key.
pub struct Ticket {
    owner: Arc<Idempotency>,
    key: (String, String),
    done: watch::Sender<bool>,
    kept: bool,
}

impl Ticket {
    /// Keeps `answer` for the key (unless it is too large, or memory is full) and wakes the
    /// waiters. Returns whether it was kept.
    pub fn keep(mut self, answer: Answer, now_ms: i64) -> Option<Arc<Answer>> {
        let answer = Arc::new(answer);
        let kept = self.owner.insert(self.key.clone(), answer.clone(), now_ms);
        self.kept = kept;
        kept.then_some(answer)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.kept {
            let mut entries = self.owner.entries.lock();
            if matches!(entries.get(&self.key), Some(Entry::InFlight { .. })) {
                entries.remove(&self.key);
            }
        }
        self.done.send_replace(true);
    }
}

impl Idempotency {
    /// What a request with `key` from `tenant` and this fingerprint does now.
    pub fn begin(
        self: &Arc<Self>,
        tenant: &str,
        key: &str,
        fingerprint: [u8; 32],
        now_ms: i64,
    ) -> Begin {
        let id = (tenant.to_string(), key.to_string());
        let mut entries = self.entries.lock();
        match entries.get(&id) {
            Some(Entry::Kept(answer)) if now_ms - answer.created_at < KEEP.as_millis() as i64 => {
                if answer.fingerprint == fingerprint {
                    return Begin::Replay(answer.clone());
                }
                return Begin::Mismatch;
            }
            Some(Entry::InFlight {
                fingerprint: f,
                done,
            }) => {
                if *f != fingerprint {
                    return Begin::Mismatch;
                }
                return Begin::Wait(done.clone());
            }
            _ => {}
        }
        let (tx, rx) = watch::channel(false);
        entries.insert(
            id.clone(),
            Entry::InFlight {
                fingerprint,
                done: rx,
            },
        );
        Begin::Fresh(Ticket {
            owner: self.clone(),
            key: id,
            done: tx,
            kept: false,
        })
    }

    /// Keeps an answer (also used at start to load kept answers).
    pub fn insert(&self, key: (String, String), answer: Arc<Answer>, now_ms: i64) -> bool {
        if answer.body.len() > MAX_ANSWER_BYTES {
            return false;
        }
        let mut entries = self.entries.lock();
        // Old answers go first; when still full, nothing new is kept.
        entries.retain(|_, e| match e {
            Entry::Kept(a) => now_ms - a.created_at < KEEP.as_millis() as i64,
            Entry::InFlight { .. } => true,
        });
        let bytes: usize = entries
            .values()
            .map(|e| match e {
                Entry::Kept(a) => a.body.len(),
                Entry::InFlight { .. } => 0,
            })
            .sum();
        if entries.len() >= MAX_ENTRIES || bytes + answer.body.len() > MAX_BYTES {
            entries.remove(&key);
            return false;
        }
        entries.insert(key, Entry::Kept(answer));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(fp: u8) -> Answer {
        Answer {
            status: 200,
            headers: vec![],
            body: Bytes::from_static(b"{}"),
            fingerprint: [fp; 32],
            created_at: 0,
        }
    }

    #[test]
    fn first_serves_repeats_replay_others_are_apart() {
        let ids = Arc::new(Idempotency::default());
        let Begin::Fresh(ticket) = ids.begin("t1", "k", [1; 32], 0) else {
            panic!("fresh")
        };
        assert!(matches!(ids.begin("t1", "k", [1; 32], 0), Begin::Wait(_)));
        assert!(matches!(ids.begin("t1", "k", [2; 32], 0), Begin::Mismatch));
        // Another tenant's same key is its own.
        assert!(matches!(ids.begin("t2", "k", [1; 32], 0), Begin::Fresh(_)));
        assert!(ticket.keep(answer(1), 0).is_some());
        assert!(matches!(ids.begin("t1", "k", [1; 32], 5), Begin::Replay(_)));
        // After a day the key is free.
        let day = KEEP.as_millis() as i64;
        assert!(matches!(
            ids.begin("t1", "k", [1; 32], day),
            Begin::Fresh(_)
        ));
    }

    #[test]
    fn a_failed_first_frees_the_key_and_wakes_waiters() {
        let ids = Arc::new(Idempotency::default());
        let Begin::Fresh(ticket) = ids.begin("t", "k", [1; 32], 0) else {
            panic!("fresh")
        };
        let Begin::Wait(mut done) = ids.begin("t", "k", [1; 32], 0) else {
            panic!("wait")
        };
        drop(ticket);
        assert!(*done.borrow_and_update());
        assert!(matches!(ids.begin("t", "k", [1; 32], 0), Begin::Fresh(_)));
    }
}
