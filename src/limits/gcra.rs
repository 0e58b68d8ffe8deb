//! The rate algorithm: GCRA (generic cell rate algorithm), a leaky bucket kept as one number,
//! the "theoretical arrival time" (TAT) at which the bucket would be empty again.
//!
//! Why GCRA: one `u64` per limit and tenant (a Redis key holds the same number, updated by
//! one script), no burst of twice the limit at a window's edge as fixed windows allow, and
//! no per-request log as a sliding log needs. A limit of `L` per `P` lets `L` through at once
//! and refills one unit every `P / L`. A cost of `n` units (tokens) moves the TAT by `n` units
//! at once, so a token reservation and its settlement are a step forward and a step back.
//!
//! Pure: every call takes the time (milliseconds on any monotonic scale) as an argument.

/// A limit: `limit` units per `period_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u64,
    pub period_ms: u64,
}

/// What a check decided, with what the `x-ratelimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Units left after this request (0 when refused).
    pub remaining: u64,
    /// Until the bucket is full again (ms).
    pub reset_ms: u64,
    /// When refused: the wait until the same request would pass (ms); 0 when allowed.
    pub retry_after_ms: u64,
}

impl Rate {
    pub const fn per_minute(limit: u64) -> Rate {
        Rate {
            limit,
            period_ms: 60_000,
        }
    }

    pub const fn per_day(limit: u64) -> Rate {
        Rate {
            limit,
            period_ms: 86_400_000,
        }
    }

    /// One unit's share of the period, in nanoseconds (a limit above the period's
    /// milliseconds still refills smoothly).
    fn unit_ns(self) -> u128 {
        u128::from(self.period_ms) * 1_000_000 / u128::from(self.limit.max(1))
    }

    /// Takes `cost` units at `now_ms` from the bucket whose state is `tat_ns` (updated only when
    /// allowed). A cost above the whole limit is never allowed.
    pub fn take(self, tat_ns: &mut u128, now_ms: u64, cost: u64) -> Verdict {
        let now = u128::from(now_ms) * 1_000_000;
        let period = u128::from(self.period_ms) * 1_000_000;
        let unit = self.unit_ns();
        let start = (*tat_ns).max(now);
        let new_tat = start + unit * u128::from(cost);
        if new_tat - now > period {
            let retry_ns = if u128::from(cost) > u128::from(self.limit) {
                period
            } else {
                new_tat - now - period
            };
            return Verdict {
                allowed: false,
                remaining: 0,
                reset_ms: ms_up(start - now),
                retry_after_ms: ms_up(retry_ns).max(1),
            };
        }
        *tat_ns = new_tat;
        Verdict {
            allowed: true,
            remaining: ((period - (new_tat - now)) / unit) as u64,
            reset_ms: ms_up(new_tat - now),
            retry_after_ms: 0,
        }
    }

    /// Gives back `units` taken earlier (a reservation larger than what was used).
    pub fn give_back(self, tat_ns: &mut u128, units: u64) {
        *tat_ns = tat_ns.saturating_sub(self.unit_ns() * u128::from(units));
    }

    /// Takes `units` beyond a reservation, allowed or not (what was used is used).
    pub fn charge(self, tat_ns: &mut u128, now_ms: u64, units: u64) {
        let now = u128::from(now_ms) * 1_000_000;
        let period = u128::from(self.period_ms) * 1_000_000;
        let start = (*tat_ns).max(now);
        // Bounded: the bucket never owes more than one more period.
        *tat_ns = (start + self.unit_ns() * u128::from(units)).min(now + 2 * period);
    }

    /// What the headers say without taking anything.
    pub fn peek(self, tat_ns: u128, now_ms: u64) -> Verdict {
        let now = u128::from(now_ms) * 1_000_000;
        let period = u128::from(self.period_ms) * 1_000_000;
        let used = tat_ns.saturating_sub(now).min(period);
        Verdict {
            allowed: true,
            remaining: ((period - used) / self.unit_ns()) as u64,
            reset_ms: ms_up(used),
            retry_after_ms: 0,
        }
    }
}

/// Nanoseconds to milliseconds, rounded up.
fn ms_up(ns: u128) -> u64 {
    ns.div_ceil(1_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_limit_passes_at_once_then_one_per_interval() {
        let rate = Rate::per_minute(60);
        let mut tat = 0;
        for i in 0..60 {
            let v = rate.take(&mut tat, 1_000, 1);
            assert!(v.allowed, "request {i}");
            assert_eq!(v.remaining, 59 - i);
        }
        let refused = rate.take(&mut tat, 1_000, 1);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_ms, 1_000);
        assert_eq!(refused.reset_ms, 60_000);
        // A refusal takes nothing.
        assert!(!rate.take(&mut tat, 1_999, 1).allowed);
        // One interval later, exactly one more.
        assert!(rate.take(&mut tat, 2_000, 1).allowed);
        assert!(!rate.take(&mut tat, 2_000, 1).allowed);
        // A full period later the bucket is full again.
        let v = rate.take(&mut tat, 62_000, 1);
        assert!(v.allowed);
        assert_eq!(v.remaining, 59);
    }

    #[test]
    fn the_boundary_between_allowed_and_refused_is_exact() {
        let rate = Rate::per_minute(3); // one every 20 s
        let mut tat = 0;
        for _ in 0..3 {
            assert!(rate.take(&mut tat, 0, 1).allowed);
        }
        assert_eq!(rate.take(&mut tat, 19_999, 1).retry_after_ms, 1);
        assert!(rate.take(&mut tat, 20_000, 1).allowed);
    }

    #[test]
    fn tokens_reserved_then_settled_either_way() {
        let rate = Rate::per_minute(1_000);
        let mut tat = 0;
        // Reserve 800, use 300: 500 come back.
        assert!(rate.take(&mut tat, 0, 800).allowed);
        assert!(!rate.take(&mut tat, 0, 300).allowed);
        rate.give_back(&mut tat, 500);
        let v = rate.take(&mut tat, 0, 300);
        assert!(v.allowed);
        assert_eq!(v.remaining, 400);
        // Used more than reserved: the excess is charged even past the limit.
        rate.charge(&mut tat, 0, 900);
        assert_eq!(rate.peek(tat, 0).remaining, 0);
        let refused = rate.take(&mut tat, 0, 1);
        assert!(!refused.allowed);
        // 1,500 units taken of 1,000: free again once 501 have refilled (30.06 s).
        assert_eq!(refused.retry_after_ms, 30_060);
    }

    #[test]
    fn a_cost_above_the_limit_never_passes() {
        let rate = Rate::per_minute(100);
        let mut tat = 0;
        let v = rate.take(&mut tat, 0, 101);
        assert!(!v.allowed);
        assert_eq!(v.retry_after_ms, 60_000);
        assert_eq!(tat, 0);
    }

    #[test]
    fn refill_is_smooth_for_limits_above_the_period_in_ms() {
        let rate = Rate::per_minute(1_000_000); // 16.67 per ms
        let mut tat = 0;
        assert!(rate.take(&mut tat, 0, 1_000_000).allowed);
        assert!(!rate.take(&mut tat, 0, 1).allowed);
        assert_eq!(rate.peek(tat, 3).remaining, 50);
    }

    #[test]
    fn a_day_refills_a_unit_at_a_time() {
        let rate = Rate::per_day(2);
        let mut tat = 0;
        assert!(rate.take(&mut tat, 0, 1).allowed);
        assert!(rate.take(&mut tat, 0, 1).allowed);
        let v = rate.take(&mut tat, 0, 1);
        assert_eq!(v.retry_after_ms, 43_200_000);
    }
}
