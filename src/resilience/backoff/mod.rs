//! Retry delays: decorrelated-jitter backoff (or plain exponential with jitter off), floored by
//! the provider's `Retry-After`, and the parser for that header.
//!
//! Entry points: [`Backoff`] (one per candidate the attempt loop retries) and
//! [`parse_retry_after`]. Pure: the delay is returned, never slept; randomness and "now" are
//! passed in so tests are deterministic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;

use crate::resilience::policy::RetryPolicy;

/// Decorrelated-jitter backoff state of one candidate.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The previous computed delay (before any Retry-After floor).
    prev: Duration,
    /// Delays handed out so far.
    attempt: u32,
}

impl Backoff {
    pub fn new(policy: &RetryPolicy) -> Self {
        Self {
            prev: policy.base_delay,
            attempt: 0,
        }
    }

    /// The delay before the next retry; `retry_after` is the provider's Retry-After.
    ///
    /// With `policy.jitter`, AWS-style decorrelated jitter:
    /// `sleep = min(max_delay, random_between(base, prev * 3))`, `prev = sleep`. Without it,
    /// plain exponential: `min(max_delay, base * 2^n)` for the n-th retry (n from 0).
    ///
    /// When `policy.honor_retry_after` and `retry_after` is given, the delay is never shorter
    /// than it, even above `max_delay`: the caller decides whether waiting that long still fits
    /// its deadline (or fails over instead). The floor does not feed the next jittered delay.
    pub fn next_delay(
        &mut self,
        policy: &RetryPolicy,
        retry_after: Option<Duration>,
        rng: &mut dyn rand::RngCore,
    ) -> Duration {
        let (base, cap) = (policy.base_delay, policy.max_delay);
        let computed = if policy.jitter {
            let upper = self.prev.saturating_mul(3);
            let sleep = random_between(base, upper, rng).min(cap);
            self.prev = sleep;
            sleep
        } else {
            exponential(base, self.attempt).min(cap)
        };
        self.attempt = self.attempt.saturating_add(1);
        match retry_after {
            Some(floor) if policy.honor_retry_after => computed.max(floor),
            _ => computed,
        }
    }

    /// How many delays this backoff has handed out.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// A uniform draw from `[low, high]` at nanosecond resolution; `low` when the range is empty.
fn random_between(low: Duration, high: Duration, rng: &mut dyn rand::RngCore) -> Duration {
    let low_ns = nanos(low);
    let high_ns = nanos(high);
    if high_ns <= low_ns {
        return low;
    }
    Duration::from_nanos(rng.gen_range(low_ns..=high_ns))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `base * 2^n`, saturating.
fn exponential(base: Duration, n: u32) -> Duration {
    2u32.checked_pow(n)
        .and_then(|factor| base.checked_mul(factor))
        .unwrap_or(Duration::MAX)
}

/// Parses a `Retry-After` header (seconds or an HTTP date) relative to `now`.
///
/// Accepts whole seconds (`"120"`), decimal seconds (`"1.5"`, sent by some providers), and an
/// IMF-fixdate (`"Wed, 21 Oct 2015 07:28:00 GMT"`). A date in the past gives `Duration::ZERO`;
/// anything else (negative numbers, other date formats, junk) gives `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(d) = parse_seconds(value) {
        return Some(d);
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `"120"` or `"1.5"`: ASCII digits with at most one dot and at least one digit.
fn parse_seconds(value: &str) -> Option<Duration> {
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let dots = value.bytes().filter(|b| *b == b'.').count();
    if digits == 0 || digits + dots != value.len() || dots > 1 {
        return None;
    }
    if dots == 0 {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let secs: f64 = value.parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Parses an IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// The day name must be a valid one but is not checked against the date; the obsolete RFC 850
/// and asctime forms are not accepted.
pub fn parse_http_date(value: &str) -> Option<SystemTime> {
    let mut parts = value.split_ascii_whitespace();
    let weekday = parts.next()?.strip_suffix(',')?;
    let day: u32 = number(parts.next()?, 2)?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)?;
    let year: i64 = number(parts.next()?, 4)?;
    let mut clock = parts.next()?.split(':');
    let hour: u64 = number(clock.next()?, 2)?;
    let minute: u64 = number(clock.next()?, 2)?;
    let second: u64 = number(clock.next()?, 2)?;
    if !WEEKDAYS.contains(&weekday)
        || parts.next()? != "GMT"
        || parts.next().is_some()
        || clock.next().is_some()
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let month = u32::try_from(month).ok()? + 1;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::try_from(hour * 3600 + minute * 60 + second).ok()?;
    // Dates before 1970 are in the past for every caller; clamp them to the epoch.
    let secs = u64::try_from(secs).unwrap_or(0);
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Exactly `width` ASCII digits.
fn number<T: std::str::FromStr>(s: &str, width: usize) -> Option<T> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
