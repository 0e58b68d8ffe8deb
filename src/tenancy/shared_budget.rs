//! Budgets several instances share through Redis (L5 with L6): each budget's spend in its
//! period is a Redis number, and each reservation a member of a sorted set beside it, so one
//! script (`reserve.lua`) sees every instance's spend and reservations and takes the new one
//! only when it fits: concurrent requests on any instances never overspend. A reservation
//! lapses after [`HOLD_TTL_MS`] if its instance dies before settling it (`settle.lua`).
//!
//! Budgets always fail closed: when Redis cannot answer, the caller refuses the request.
//! A period's spend starts from what the records say (the instance's own view, passed in)
//! the first time Redis has none, and its key goes a little after the period ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::budget::Scope;
use crate::redis::{Redis, RedisError, Script};
use crate::runtime::tenant::{Budget, Period};

/// How long a reservation is held at most (a request running longer loses its hold).
pub const HOLD_TTL_MS: u64 = 600_000;

static RESERVE: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("reserve.lua")));
static SETTLE: std::sync::LazyLock<Script> =
    std::sync::LazyLock::new(|| Script::new(include_str!("settle.lua")));

/// A reservation held in Redis.
#[derive(Debug)]
pub struct Held {
    member: String,
    keys: Vec<String>,
}

/// The shared budgets' client side.
#[derive(Debug)]
pub struct SharedBudgets {
    redis: Arc<Redis>,
    instance: u64,
    seq: AtomicU64,
}

impl SharedBudgets {
    pub fn new(redis: Arc<Redis>, instance: u64) -> SharedBudgets {
        SharedBudgets {
            redis,
            instance,
            seq: AtomicU64::new(0),
        }
    }

    /// Reserves `amount` against every budget in `budgets` (with the spend to start each
    /// from, `starts`), at `now_ms` (Unix ms): `Ok(Err((index, spent)))` names the budget
    /// that cannot cover it.
    pub async fn reserve(
        &self,
        budgets: &[(Scope, Budget)],
        starts: &[f64],
        amount: f64,
        now_ms: i64,
    ) -> Result<Result<Held, (usize, f64)>, RedisError> {
        let prefix = &self.redis.prefix;
        let mut keys = Vec::with_capacity(budgets.len() * 2);
        let id = format!(
            "{:x}-{}",
            self.instance,
            self.seq.fetch_add(1, Ordering::Relaxed)
        );
        let amount = format!("{amount:.9}");
        let mut args = vec![amount.clone(), id.clone(), HOLD_TTL_MS.to_string()];
        for ((scope, budget), start) in budgets.iter().zip(starts) {
            let period_start = budget.period.start(now_ms);
            let name = match scope {
                Scope::Key(id) => format!("k:{id}"),
                Scope::Team(id) => format!("t:{id}"),
            };
            keys.push(format!("{prefix}budget:{name}:{period_start}"));
            keys.push(format!("{prefix}budget:{name}:{period_start}:held"));
            args.push(format!("{:.9}", budget.max_usd));
            args.push(format!("{start:.9}"));
            args.push(expiry(budget.period, period_start).to_string());
        }
        let reply = self.redis.eval(&RESERVE, &keys, &args).await?;
        let items = reply.items().ok_or(RedisError::Unexpected)?;
        match items.first().and_then(|r| r.as_int()) {
            Some(1) => Ok(Ok(Held {
                member: format!("{id}:{amount}"),
                keys,
            })),
            Some(0) => {
                let index = items
                    .get(1)
                    .and_then(|r| r.as_int())
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or(RedisError::Unexpected)?;
                let spent = match items.get(2) {
                    Some(crate::redis::resp::Reply::Bulk(Some(b))) => std::str::from_utf8(b)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0.0),
                    _ => 0.0,
                };
                Ok(Err((index.min(budgets.len().saturating_sub(1)), spent)))
            }
            _ => Err(RedisError::Unexpected),
        }
    }

    /// Settles `held` to `actual` (USD) without waiting.
    pub fn settle(&self, held: &Held, actual: f64) {
        self.redis
            .eval_detached(&SETTLE, &held.keys, &settle_args(held, actual));
    }

    /// Settles `held` and waits for Redis to have done it, so that a request the client
    /// sends next, to any instance, sees it. A failure leaves the hold to lapse.
    pub async fn settle_now(&self, held: &Held, actual: f64) {
        let args = settle_args(held, actual);
        if let Err(e) = self.redis.eval(&SETTLE, &held.keys, &args).await {
            tracing::warn!(error = %e, "a shared budget hold was not settled; it lapses");
        }
    }
}

/// `settle.lua`'s arguments: the reservation and what it cost.
fn settle_args(held: &Held, actual: f64) -> [String; 2] {
    [held.member.clone(), format!("{:.9}", actual.max(0.0))]
}

/// When a period's keys may go (Unix ms; 0 for never): a day after the period ends.
fn expiry(period: Period, start: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    match period {
        Period::Total => 0,
        Period::Daily => start + 2 * DAY,
        Period::Weekly => start + 8 * DAY,
        Period::Monthly => start + 32 * DAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_keys_outlive_their_period_by_a_day_or_more() {
        assert_eq!(expiry(Period::Total, 0), 0);
        assert_eq!(expiry(Period::Daily, 0), 172_800_000);
        assert!(expiry(Period::Monthly, 0) > 31 * 86_400_000);
    }
}
