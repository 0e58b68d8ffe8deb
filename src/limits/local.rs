//! The limits of one instance, in memory: per scope (a key, a team) the state of each rate
//! ([`Rate`], GCRA) and the requests in flight. One admission checks every limit of every
//! scope the request is charged to and takes from them only when all allow it, so a refusal
//! takes nothing and a key is not charged for a request its team refused.
//!
//! Pure apart from its lock: the time is an argument. A known scope costs no allocation; the
//! maps hash names with foldhash (randomly seeded per process, faster than SipHash on short
//! names).

use foldhash::HashMap;

use parking_lot::Mutex;

use super::gcra::{Rate, Verdict};
use crate::runtime::tenant::KeyLimits as Applied;

/// Which table a scope's name is looked up in (a JWT tenant may be named like a team).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Key = 0,
    Team = 1,
}

/// One scope a request is charged to: its table, name and limits.
pub type Scope<'a> = (Table, &'a str, Applied);

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rpm,
    Tpm,
    Rpd,
    Concurrent,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Rpm => "rpm",
            Kind::Tpm => "tpm",
            Kind::Rpd => "rpd",
            Kind::Concurrent => "concurrent",
        }
    }
}

/// A refusal: the limit, its value, and the wait before the same request would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub kind: Kind,
    pub limit: u64,
    pub retry_after_ms: u64,
    /// Which of the request's scopes refused (its index in the admission's list).
    pub scope: usize,
}

/// What the `x-ratelimit-*` headers say (of the first scope with each limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    pub requests: Option<(u64, Verdict)>,
    pub tokens: Option<(u64, Verdict)>,
}

/// One scope's state.
#[derive(Debug, Default)]
struct State {
    rpm: u128,
    rpd: u128,
    tpm: u128,
    in_flight: u64,
}

/// How long a request refused for concurrency is told to wait.
const CONCURRENT_RETRY_MS: u64 = 1_000;

/// Every scope's state.
#[derive(Debug, Default)]
pub struct Local {
    scopes: Mutex<[HashMap<Box<str>, State>; 2]>,
}

impl Local {
    /// Admits a request charged to `scopes` (each with its limits; at most four, the rest are
    /// not checked), reserving `tokens`, at `now_ms`; on success every scope holds one more request in flight until
    /// [`Local::release`].
    pub fn admit(&self, scopes: &[Scope<'_>], tokens: u64, now_ms: u64) -> Result<Quota, Refusal> {
        let mut map = self.scopes.lock();
        let mut quota = Quota::default();
        // First every check on copies, then the takes.
        let mut next: [Option<(u128, u128, u128)>; 4] = [None; 4];
        for (i, (table, name, limits)) in scopes.iter().enumerate().take(next.len()) {
            if *limits == Applied::default() {
                continue;
            }
            let state = map[*table as usize].get(*name);
            let (mut rpm, mut rpd, mut tpm) = state.map_or((0, 0, 0), |s| (s.rpm, s.rpd, s.tpm));
            let in_flight = state.map_or(0, |s| s.in_flight);
            if let Some(max) = limits.concurrent
                && in_flight >= max
            {
                return Err(refused(Kind::Concurrent, max, CONCURRENT_RETRY_MS, i));
            }
            let checks = [
                (Kind::Rpm, limits.rpm.map(Rate::per_minute), &mut rpm, 1),
                (Kind::Rpd, limits.rpd.map(Rate::per_day), &mut rpd, 1),
                (
                    Kind::Tpm,
                    limits.tpm.map(Rate::per_minute),
                    &mut tpm,
                    tokens,
                ),
            ];
            for (kind, rate, tat, cost) in checks {
                let Some(rate) = rate else { continue };
                let v = rate.take(tat, now_ms, cost);
                if !v.allowed {
                    return Err(refused(kind, rate.limit, v.retry_after_ms, i));
                }
                match kind {
                    Kind::Rpm if quota.requests.is_none() => quota.requests = Some((rate.limit, v)),
                    Kind::Tpm if quota.tokens.is_none() => quota.tokens = Some((rate.limit, v)),
                    _ => {}
                }
            }
            next[i] = Some((rpm, rpd, tpm));
        }
        for ((table, name, _), next) in scopes.iter().zip(next) {
            let Some((rpm, rpd, tpm)) = next else {
                continue;
            };
            let map = &mut map[*table as usize];
            // A known scope is found without building its name's box.
            if !map.contains_key(*name) {
                map.insert(Box::from(*name), State::default());
            }
            let Some(state) = map.get_mut(*name) else {
                continue;
            };
            state.rpm = rpm;
            state.rpd = rpd;
            state.tpm = tpm;
            state.in_flight += 1;
        }
        Ok(quota)
    }

    /// Ends an admitted request: frees its concurrency slots and settles its tokens (reserved
    /// `reserved`, used `used`).
    pub fn release(&self, scopes: &[Scope<'_>], reserved: u64, used: u64, now_ms: u64) {
        let mut map = self.scopes.lock();
        for (table, name, limits) in scopes {
            if *limits == Applied::default() {
                continue;
            }
            let Some(state) = map[*table as usize].get_mut(*name) else {
                continue;
            };
            state.in_flight = state.in_flight.saturating_sub(1);
            if let Some(tpm) = limits.tpm.map(Rate::per_minute) {
                if used < reserved {
                    tpm.give_back(&mut state.tpm, reserved - used);
                } else if used > reserved {
                    tpm.charge(&mut state.tpm, now_ms, used - reserved);
                }
            }
        }
    }

    /// Forgets scopes whose buckets are full and that hold no request (every few minutes).
    pub fn sweep(&self, now_ms: u64) {
        let now = u128::from(now_ms) * 1_000_000;
        for map in self.scopes.lock().iter_mut() {
            map.retain(|_, s| s.in_flight > 0 || s.rpm > now || s.rpd > now || s.tpm > now);
        }
    }

    /// Scopes with state (tests, metrics).
    pub fn len(&self) -> usize {
        self.scopes.lock().iter().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn refused(kind: Kind, limit: u64, retry_after_ms: u64, scope: usize) -> Refusal {
    Refusal {
        kind,
        limit,
        retry_after_ms,
        scope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rpm: u64, tpm: u64, concurrent: u64) -> Applied {
        Applied {
            rpm: Some(rpm),
            tpm: Some(tpm),
            rpd: None,
            concurrent: Some(concurrent),
        }
    }

    #[test]
    fn concurrency_is_held_until_released() {
        let local = Local::default();
        let scopes = [(Table::Key, "a", limits(100, 10_000, 2))];
        assert!(local.admit(&scopes, 10, 0).is_ok());
        assert!(local.admit(&scopes, 10, 0).is_ok());
        let refusal = local.admit(&scopes, 10, 0).unwrap_err();
        assert_eq!(refusal.kind, Kind::Concurrent);
        assert_eq!(refusal.retry_after_ms, 1_000);
        local.release(&scopes, 10, 10, 0);
        assert!(local.admit(&scopes, 10, 0).is_ok());
    }

    #[test]
    fn a_team_refusal_charges_the_key_nothing() {
        let local = Local::default();
        let key = limits(2, 10_000, 10);
        let team = limits(1, 10_000, 10);
        let both = [(Table::Key, "a", key), (Table::Team, "a", team)];
        let quota = local.admit(&both, 10, 0).unwrap();
        // The headers speak of the first scope (the key).
        assert_eq!(quota.requests.unwrap().0, 2);
        assert_eq!(quota.requests.unwrap().1.remaining, 1);
        let refusal = local.admit(&both, 10, 0).unwrap_err();
        assert_eq!((refusal.kind, refusal.scope), (Kind::Rpm, 1));
        // The key alone still has its second request.
        let quota = local.admit(&[(Table::Key, "a", key)], 10, 0).unwrap();
        assert_eq!(quota.requests.unwrap().1.remaining, 0);
    }

    #[test]
    fn tokens_are_reserved_and_settled() {
        let local = Local::default();
        let scopes = [(Table::Key, "a", limits(1_000, 1_000, 10))];
        let quota = local.admit(&scopes, 900, 0).unwrap();
        assert_eq!(quota.tokens.unwrap().1.remaining, 100);
        assert_eq!(local.admit(&scopes, 200, 0).unwrap_err().kind, Kind::Tpm);
        // 900 reserved, 100 used: 800 come back.
        local.release(&scopes, 900, 100, 0);
        let quota = local.admit(&scopes, 200, 0).unwrap();
        assert_eq!(quota.tokens.unwrap().1.remaining, 700);
    }

    #[test]
    fn unlimited_scopes_keep_no_state_and_full_buckets_are_swept() {
        let local = Local::default();
        assert!(
            local
                .admit(&[(Table::Key, "a", Applied::default())], 5, 0)
                .is_ok()
        );
        assert!(local.is_empty());
        let scopes = [(Table::Key, "b", limits(60, 1_000, 10))];
        local.admit(&scopes, 5, 0).unwrap();
        local.release(&scopes, 5, 5, 0);
        local.sweep(500);
        assert_eq!(local.len(), 1);
        local.sweep(61_000);
        assert!(local.is_empty());
    }
}
