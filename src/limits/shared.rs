//! The limits several instances share through Redis (L6): the same GCRA as [`super::local`],
//! one TAT per limit and scope in a Redis key, checked and taken for every scope of a request
//! by one Lua script (`admit.lua`), so concurrent instances can never both take the last unit.
//! Concurrency slots are a sorted set per scope (one member per request, scored by when it
//! lapses, so the slots of a killed instance come back after [`SLOT_TTL_MS`]). The time is
//! Redis's own clock: instances need not agree on theirs.
//!
//! **Leases.** A scope limited only by requests per minute or per day, at 100 or more, takes
//! a lease of 1 % of its smallest limit from Redis at once and admits that many requests of
//! this instance without a round trip, for at most [`LEASE_MS`]. Leases never cover tokens,
//! concurrency slots or budgets. What a lease costs in accuracy: units leased and not used
//! are lost (the key gets fewer than its limit, never more, over a whole period), and units
//! used up to [`LEASE_MS`] after they were taken make the overshoot over any window at most
//! one lease per instance: `N × max(1, limit / 100)` with `N` instances, 0 below 100.

use foldhash::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::gcra::Verdict;
use super::local::{Kind, Quota, Refusal, Scope, Table};
use crate::redis::resp::Reply;
use crate::redis::{Redis, RedisError, Script};
use crate::runtime::tenant::KeyLimits;

/// How long a concurrency slot is held at most (a request running longer frees it early).
pub const SLOT_TTL_MS: u64 = 600_000;
/// How long a lease may be used after it was taken.
pub const LEASE_MS: u64 = 1_000;
/// Limits below this take no lease.
const LEASE_MIN_LIMIT: u64 = 100;

static ADMIT: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("admit.lua")));
static RELEASE: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("release.lua")));

/// What a shared admission holds until it ends.
#[derive(Debug, Default)]
pub struct Held {
    /// The concurrency slot's name, when a scope limits concurrency.
    slot: Option<String>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Lease {
    left: u64,
    until_ms: u64,
    quota: Quota,
    /// When this instance asked Redis for the scope's next lease (its answer is pending; a
    /// request that was dropped before the answer leaves it, so it counts for [`LEASE_MS`]).
    asked_ms: Option<u64>,
}

/// The shared limits' client side.
#[derive(Debug)]
pub struct Shared {
    redis: Arc<Redis>,
    /// Names this instance's slots.
    instance: u64,
    seq: AtomicU64,
    leases: Mutex<[HashMap<Box<str>, Lease>; 2]>,
}

/// The lease a scope with `limits` may take (0: none).
pub fn lease_size(limits: &KeyLimits) -> u64 {
    if limits.tpm.is_some() || limits.concurrent.is_some() {
        return 0;
    }
    let smallest = match (limits.rpm, limits.rpd) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return 0,
    };
    if smallest < LEASE_MIN_LIMIT {
        0
    } else {
        smallest / 100
    }
}

impl Shared {
    /// `instance` tells this instance's slots from others' (a random number).
    pub fn new(redis: Arc<Redis>, instance: u64) -> Shared {
        Shared {
            redis,
            instance,
            seq: AtomicU64::new(0),
            leases: Mutex::default(),
        }
    }

    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    /// A request covered by the leases of all its scopes, taken from them (no I/O): `Ok`.
    /// Otherwise `Err(ask)`: whether this request should ask Redis for a lease of `want`
    /// (`want > 1` and no lease request of these scopes in flight; it is then marked as
    /// such). One lease request at a time per scope: requests that miss the lease while one is
    /// on its way take a single unit, so concurrent misses never take leases that replace each
    /// other unused.
    fn leased(&self, scopes: &[Scope<'_>], want: u64, now_ms: u64) -> Result<Quota, bool> {
        let mut leases = self.leases.lock();
        let active = || {
            scopes
                .iter()
                .filter(|(_, _, limits)| *limits != KeyLimits::default())
        };
        let mut quota = None;
        let mut covered = want > 1;
        let mut asking = false;
        for (table, name, _) in active() {
            match leases[*table as usize].get(*name) {
                Some(l) if l.left > 0 && l.until_ms > now_ms => {
                    quota.get_or_insert(l.quota);
                }
                Some(l) => {
                    covered = false;
                    asking |= l.asked_ms.is_some_and(|t| now_ms < t + LEASE_MS);
                }
                None => covered = false,
            }
        }
        if let (true, Some(quota)) = (covered, quota) {
            for (table, name, _) in active() {
                if let Some(lease) = leases[*table as usize].get_mut(*name) {
                    lease.left -= 1;
                }
            }
            return Ok(quota);
        }
        if want <= 1 || asking {
            return Err(false);
        }
        for (table, name, _) in active() {
            let map = &mut leases[*table as usize];
            if !map.contains_key(*name) {
                map.insert(Box::from(*name), Lease::default());
            }
            if let Some(lease) = map.get_mut(*name) {
                lease.asked_ms = Some(now_ms);
            }
        }
        Err(true)
    }

    /// Admits a request charged to `scopes`, reserving `tokens`: `Ok(Err)` when a limit
    /// refuses, `Err` when Redis cannot say.
    pub async fn admit(
        &self,
        scopes: &[Scope<'_>],
        tokens: u64,
        now_ms: u64,
    ) -> Result<Result<(Quota, Held), Refusal>, RedisError> {
        let want = scopes
            .iter()
            .filter(|(_, _, limits)| *limits != KeyLimits::default())
            .map(|(_, _, limits)| lease_size(limits))
            .min()
            .unwrap_or(0);
        let ask = match self.leased(scopes, want, now_ms) {
            Ok(quota) => return Ok(Ok((quota, Held::default()))),
            Err(ask) => ask,
        };
        let want = if ask { want } else { 1 };
        let prefix = &self.redis.prefix;
        let mut keys = Vec::with_capacity(8);
        let mut args = Vec::with_capacity(12);
        let mut active = Vec::with_capacity(2);
        let mut slot = false;
        for (i, (table, name, limits)) in scopes.iter().enumerate() {
            if *limits == KeyLimits::default() {
                continue;
            }
            active.push(i);
            let t = match table {
                Table::Key => 'k',
                Table::Team => 't',
            };
            for part in ["rpm", "rpd", "tpm", "slots"] {
                keys.push(format!("{prefix}rl:{t}:{name}:{part}"));
            }
            for limit in [limits.rpm, limits.rpd, limits.tpm, limits.concurrent] {
                args.push(limit.unwrap_or(0).to_string());
            }
            slot |= limits.concurrent.is_some();
        }
        if active.is_empty() {
            return Ok(Ok((Quota::default(), Held::default())));
        }
        let slot = slot.then(|| {
            format!(
                "{:x}-{}",
                self.instance,
                self.seq.fetch_add(1, Ordering::Relaxed)
            )
        });
        let head = [
            tokens.to_string(),
            want.to_string(),
            slot.clone().unwrap_or_default(),
            SLOT_TTL_MS.to_string(),
        ];
        let args: Vec<String> = head.into_iter().chain(args).collect();
        let n = match self.redis.eval(&ADMIT, &keys, &args).await {
            Ok(reply) => parse(&reply).ok_or(RedisError::Unexpected),
            Err(e) => Err(e),
        };
        if ask && !matches!(n, Ok(n) if n[0] == 1 && n[1] > 1) {
            // No lease: refused, a single unit granted, or no answer.
            self.asked(scopes, &active, None);
        }
        let n = n?;
        if n[0] == 0 {
            let kind = match n[1] {
                1 => Kind::Rpm,
                2 => Kind::Rpd,
                3 => Kind::Tpm,
                _ => Kind::Concurrent,
            };
            let scope = active
                .get(usize::try_from(n[4]).unwrap_or(0))
                .copied()
                .unwrap_or(0);
            return Ok(Err(Refusal {
                kind,
                limit: n[2],
                retry_after_ms: n[3].max(1),
                scope,
            }));
        }
        let verdict = |limit: u64, remaining: u64, reset_ms: u64| {
            (limit != u64::MAX).then_some((
                limit,
                Verdict {
                    allowed: true,
                    remaining,
                    reset_ms,
                    retry_after_ms: 0,
                },
            ))
        };
        let quota = Quota {
            requests: verdict(n[2], n[3], n[4]),
            tokens: verdict(n[5], n[6], n[7]),
        };
        if ask && n[1] > 1 {
            let lease = Lease {
                left: n[1] - 1,
                until_ms: now_ms + LEASE_MS,
                quota,
                asked_ms: None,
            };
            self.asked(scopes, &active, Some(lease));
        }
        Ok(Ok((quota, Held { slot })))
    }

    /// The answer to this instance's lease request for `scopes` (by index in `active`): the
    /// lease granted, or none (refused, or Redis could not answer: the next miss asks again).
    fn asked(&self, scopes: &[Scope<'_>], active: &[usize], lease: Option<Lease>) {
        let mut leases = self.leases.lock();
        for (table, name, _) in active.iter().filter_map(|i| scopes.get(*i)) {
            if let Some(l) = leases[*table as usize].get_mut(*name) {
                *l = lease.unwrap_or(Lease {
                    asked_ms: None,
                    ..*l
                });
            }
        }
    }

    /// Ends a request admitted by [`Shared::admit`]: its slot freed and its tokens settled,
    /// without waiting (lost when Redis is down: the slot then lapses by itself).
    pub fn release(&self, scopes: &[Scope<'_>], held: &Held, reserved: u64, used: u64) {
        let settles = reserved != used && scopes.iter().any(|(_, _, l)| l.tpm.is_some());
        if held.slot.is_none() && !settles {
            return;
        }
        let prefix = &self.redis.prefix;
        let mut keys = Vec::with_capacity(4);
        let mut args = vec![
            reserved.to_string(),
            used.to_string(),
            held.slot.clone().unwrap_or_default(),
        ];
        for (table, name, limits) in scopes {
            if *limits == KeyLimits::default() {
                continue;
            }
            let t = match table {
                Table::Key => 'k',
                Table::Team => 't',
            };
            keys.push(format!("{prefix}rl:{t}:{name}:tpm"));
            keys.push(format!("{prefix}rl:{t}:{name}:slots"));
            args.push(limits.tpm.unwrap_or(0).to_string());
        }
        self.redis.eval_detached(&RELEASE, &keys, &args);
    }

    /// Forgets spent leases (every few minutes).
    pub fn sweep(&self, now_ms: u64) {
        for map in self.leases.lock().iter_mut() {
            map.retain(|_, l| {
                (l.left > 0 && l.until_ms > now_ms)
                    || l.asked_ms.is_some_and(|t| now_ms < t + LEASE_MS)
            });
        }
    }
}

/// The script's answer: eight numbers (a limit of -1 becomes `u64::MAX`: none).
fn parse(reply: &Reply) -> Option<[u64; 8]> {
    let items = reply.items()?;
    let mut out = [u64::MAX; 8];
    for (slot, item) in out.iter_mut().zip(items) {
        let n = item.as_int()?;
        *slot = u64::try_from(n).unwrap_or(u64::MAX);
    }
    (items.len() == 5 || items.len() == 8).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(rpm: Option<u64>, rpd: Option<u64>, tpm: Option<u64>) -> KeyLimits {
        KeyLimits {
            rpm,
            rpd,
            tpm,
            concurrent: None,
        }
    }

    #[test]
    fn leases_are_one_percent_of_the_smallest_request_limit() {
        assert_eq!(lease_size(&l(Some(99), None, None)), 0);
        assert_eq!(lease_size(&l(Some(100), None, None)), 1);
        assert_eq!(lease_size(&l(Some(6_000), Some(200_000), None)), 60);
        assert_eq!(lease_size(&l(Some(6_000), Some(500), None)), 5);
        // Never for tokens or concurrency.
        assert_eq!(lease_size(&l(Some(6_000), None, Some(10_000))), 0);
        let mut c = l(Some(6_000), None, None);
        c.concurrent = Some(5);
        assert_eq!(lease_size(&c), 0);
    }

    #[test]
    fn replies_are_read_strictly() {
        let ints = |v: &[i64]| Reply::Array(Some(v.iter().map(|n| Reply::Int(*n)).collect()));
        let ok = parse(&ints(&[1, 1, 60, 59, 1000, -1, 0, 0])).unwrap();
        assert_eq!(ok[2], 60);
        assert_eq!(ok[5], u64::MAX);
        assert!(parse(&ints(&[0, 4, 2, 1000, 1])).is_some());
        assert!(parse(&ints(&[1, 2])).is_none());
        assert!(parse(&Reply::Int(1)).is_none());
    }
}
