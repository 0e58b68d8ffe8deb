//! The semantic cache's index (C2): a kept answer is found for a request that means the same
//! as an earlier one. A request splits into its context — everything but its conversation's
//! text (scope, endpoint, model, tools, parameters), hashed — and the text, whose embedding is
//! compared by cosine similarity with those kept under the same context. The search is a
//! brute-force scan of that context's vectors (`max_entries` vectors at most on an instance,
//! oldest dropped first; each lookup reads only its context's). Per instance: the vectors are
//! not shared through Redis. Pure.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Entry;

/// Fields that hold the conversation's text.
const TEXT_FIELDS: &[&str] = &["messages", "system", "prompt"];

/// A request as the semantic cache sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The hash of scope, endpoint and the request without its text.
    pub context: [u8; 32],
    /// The conversation's text: every string under `messages`, `system` and `prompt`, one
    /// per line.
    pub text: String,
}

/// Splits a canonical request (`super::key::canonical`'s text) in `scope` on `endpoint`.
pub fn split(scope: &str, endpoint: &str, canonical: &str) -> Option<Split> {
    let Value::Object(mut fields) = serde_json::from_str::<Value>(canonical).ok()? else {
        return None;
    };
    let mut text = String::new();
    for f in TEXT_FIELDS {
        if let Some(v) = fields.remove(*f) {
            strings(&v, &mut text);
        }
    }
    if text.is_empty() {
        return None;
    }
    let rest = serde_json::to_string(&Value::Object(fields)).ok()?;
    let context = super::key::key(scope, endpoint, &rest);
    Some(Split { context, text })
}

/// Appends every string in `v` (keys aside: roles and types name no content), one per line.
fn strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "role" | "type" | "id" | "tool_call_id"))
            .for_each(|(_, v)| strings(v, out)),
        _ => {}
    }
}

/// The cosine similarity of two vectors (0 for vectors of different lengths or no length).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// One kept vector.
#[derive(Debug)]
struct Item {
    seq: u64,
    vector: Vec<f32>,
    entry: Arc<Entry>,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    by_context: HashMap<[u8; 32], VecDeque<Item>>,
    /// Every item in the order kept: (seq, context).
    order: VecDeque<(u64, [u8; 32])>,
    next: u64,
}

/// The vectors of this instance.
#[derive(Debug)]
pub struct SemanticIndex {
    pub threshold: f64,
    max_entries: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl SemanticIndex {
    pub fn new(threshold: f64, max_entries: usize, ttl: Duration) -> Self {
        SemanticIndex {
            threshold,
            max_entries: max_entries.max(1),
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The live answer under `context` whose vector is most similar to `vector`, with its
    /// similarity, when that is at least the threshold.
    pub fn find(&self, context: &[u8; 32], vector: &[f32]) -> Option<(Arc<Entry>, f64)> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        inner
            .by_context
            .get(context)?
            .iter()
            .filter(|i| i.expires > now)
            .map(|i| (i, cosine(&i.vector, vector)))
            .filter(|(_, s)| *s >= self.threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, s)| (i.entry.clone(), s))
    }

    /// Keeps `entry` under `context` with its request's `vector` (the oldest vector goes when
    /// the index is full).
    pub fn insert(&self, context: [u8; 32], vector: Vec<f32>, entry: Arc<Entry>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        while inner.order.len() >= self.max_entries {
            let Some((seq, ctx)) = inner.order.pop_front() else {
                break;
            };
            if let Some(items) = inner.by_context.get_mut(&ctx) {
                if items.front().is_some_and(|i| i.seq == seq) {
                    items.pop_front();
                }
                if items.is_empty() {
                    inner.by_context.remove(&ctx);
                }
            }
        }
        let seq = inner.next;
        inner.next += 1;
        inner.order.push_back((seq, context));
        let expires = Instant::now() + self.ttl;
        inner
            .by_context
            .entry(context)
            .or_default()
            .push_back(Item {
                seq,
                vector,
                entry,
                expires,
            });
    }

    /// Vectors kept now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .order
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &str) -> Arc<Entry> {
        Arc::new(Entry::new(
            bytes::Bytes::from(body.to_string()),
            "p".into(),
            "m".into(),
        ))
    }

    #[test]
    fn the_text_is_split_from_its_context() {
        let a = split("s", "chat", r#"{"messages":[{"content":"Capital of France?","role":"user"}],"model":"m","temperature":0}"#).unwrap();
        let b = split("s", "chat", r#"{"messages":[{"content":[{"text":"France's capital?","type":"text"}],"role":"user"}],"model":"m","temperature":0}"#).unwrap();
        assert_eq!(a.context, b.context);
        assert_eq!(a.text, "Capital of France?\n");
        assert_eq!(b.text, "France's capital?\n");
        let other_model = split("s", "chat", r#"{"messages":[{"content":"Capital of France?","role":"user"}],"model":"n","temperature":0}"#).unwrap();
        assert_ne!(a.context, other_model.context);
        assert_ne!(
            a.context,
            split(
                "t",
                "chat",
                r#"{"messages":["x"],"model":"m","temperature":0}"#
            )
            .unwrap()
            .context
        );
        assert!(split("s", "chat", r#"{"model":"m"}"#).is_none());
    }

    #[test]
    fn the_most_similar_live_answer_of_the_context_above_the_threshold() {
        let idx = SemanticIndex::new(0.9, 3, Duration::from_secs(60));
        idx.insert([1; 32], vec![1.0, 0.0], entry("a"));
        idx.insert([1; 32], vec![0.6, 0.8], entry("b"));
        let (e, s) = idx.find(&[1; 32], &[0.7, 0.7]).unwrap();
        assert_eq!(e.body, "b");
        assert!(s > 0.98);
        assert!(idx.find(&[2; 32], &[1.0, 0.0]).is_none());
        assert!(idx.find(&[1; 32], &[0.0, 1.0]).is_none());
        // Full: the oldest goes.
        idx.insert([2; 32], vec![1.0, 0.0], entry("c"));
        idx.insert([2; 32], vec![0.0, 1.0], entry("d"));
        assert_eq!(idx.len(), 3);
        assert!(idx.find(&[1; 32], &[1.0, 0.0]).is_none());
        assert_eq!(idx.find(&[2; 32], &[0.0, 1.0]).unwrap().0.body, "d");
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
        let expired = SemanticIndex::new(0.5, 3, Duration::ZERO);
        expired.insert([1; 32], vec![1.0], entry("x"));
        assert!(expired.find(&[1; 32], &[1.0]).is_none());
    }
}
