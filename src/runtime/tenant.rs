//! What a virtual key may do, as the request path reads it: its team, allowed models, budget
//! and per-request cost cap, expiry and limits. Budget periods and where the current one
//! started (UTC calendar arithmetic, pure).

use serde::{Deserialize, Serialize};

/// A budget's period: spend counts from the start of the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Daily,
    Weekly,
    Monthly,
    Total,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "daily" => Some(Period::Daily),
            "weekly" => Some(Period::Weekly),
            "monthly" => Some(Period::Monthly),
            "total" => Some(Period::Total),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Total => "total",
        }
    }

    /// Start (Unix ms, UTC) of the period that holds `now_ms`: midnight, Monday midnight,
    /// the first of the month, or the epoch for `total`.
    pub fn start(self, now_ms: i64) -> i64 {
        const DAY: i64 = 86_400_000;
        let day = now_ms.div_euclid(DAY);
        match self {
            Period::Total => 0,
            Period::Daily => day * DAY,
            // 1970-01-01 was a Thursday: Monday is 3 days before day 0's weekday.
            Period::Weekly => (day - (day + 3).rem_euclid(7)) * DAY,
            Period::Monthly => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1) * DAY
            }
        }
    }
}

/// A spending limit in USD per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub max_usd: f64,
    pub period: Period,
}

/// Request limits of a key (enforced by the limits stage).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLimits {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub rpd: Option<u64>,
    pub concurrent: Option<u64>,
}

impl KeyLimits {
    /// Config limits (`0`: not limited).
    pub fn from_config(l: &crate::config::model::Limits) -> KeyLimits {
        let some = |v: u32| (v > 0).then_some(u64::from(v));
        KeyLimits {
            rpm: some(l.rpm),
            tpm: some(l.tpm),
            rpd: some(l.rpd),
            concurrent: some(l.concurrent),
        }
    }

    /// Each limit of `self`, else of `base`.
    pub fn or(self, base: KeyLimits) -> KeyLimits {
        KeyLimits {
            rpm: self.rpm.or(base.rpm),
            tpm: self.tpm.or(base.tpm),
            rpd: self.rpd.or(base.rpd),
            concurrent: self.concurrent.or(base.concurrent),
        }
    }
}

/// `[rate_limit]` as the request path reads it (present only when enabled): the defaults,
/// and the overrides by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimits {
    pub default: KeyLimits,
    /// `[rate_limit.tenant_limits.<name>]`: a key's id or label, a team's id, a JWT tenant.
    pub tenants: std::collections::HashMap<String, KeyLimits>,
    /// `on_redis_error = "open"`: when Redis cannot answer, this instance's limiter decides.
    pub fail_open: bool,
}

impl RateLimits {
    pub fn from_config(c: &crate::config::model::RateLimitConfig) -> Option<RateLimits> {
        c.enabled.then(|| RateLimits {
            default: KeyLimits::from_config(&c.default_limits),
            tenants: c
                .tenant_limits
                .iter()
                .map(|(k, v)| (k.clone(), KeyLimits::from_config(v)))
                .collect(),
            fail_open: c.on_redis_error == crate::config::model::OnRedisError::Open,
        })
    }

    /// A key's limits: its own (set through the admin API) where set, else its override
    /// (by id, then label), else the defaults.
    pub fn for_key(&self, id: &str, label: Option<&str>, own: Option<KeyLimits>) -> KeyLimits {
        let base = self
            .tenants
            .get(id)
            .or_else(|| label.and_then(|l| self.tenants.get(l)))
            .copied()
            .unwrap_or(self.default);
        own.map_or(base, |own| own.or(base))
    }

    /// A team's limits: only a team with an override is limited as a whole.
    pub fn for_team(&self, team: &str) -> Option<KeyLimits> {
        self.tenants.get(team).copied()
    }
}

/// What a key from the store may do (config keys have no policy: anything, no budget).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// The key's id in the store (`key_...`).
    pub key_id: String,
    pub team: Option<String>,
    /// Model names, aliases, pools or globs (`*`); empty: every model.
    pub models: Vec<String>,
    pub budget: Option<Budget>,
    pub max_request_cost_usd: Option<f64>,
    /// Unix ms.
    pub expires_at: Option<i64>,
    /// Unix ms: the key was revoked (refused, but it still counts as a key: the gateway
    /// stays closed).
    pub revoked_at: Option<i64>,
    pub limits: KeyLimits,
}

impl Policy {
    /// Whether `model` (as the client named it, or a `provider/model` that would serve it)
    /// is allowed.
    pub fn allows(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|p| glob(p, model))
    }
}

/// `*` matches any run of characters; everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `YYYY-MM-DD` (UTC) of a Unix time in milliseconds.
pub fn date_of(unix_ms: i64) -> String {
    const DAY: i64 = 86_400_000;
    let (y, m, d) = civil_from_days(unix_ms.div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn period_starts() {
        // 2026-12-03 (a Thursday) 17:30 UTC.
        let now = days_from_civil(2026, 12, 3) * DAY + 63_000_000;
        assert_eq!(Period::Daily.start(now), days_from_civil(2026, 12, 3) * DAY);
        assert_eq!(
            Period::Weekly.start(now),
            days_from_civil(2026, 11, 30) * DAY
        );
        assert_eq!(
            Period::Monthly.start(now),
            days_from_civil(2026, 12, 1) * DAY
        );
        assert_eq!(Period::Total.start(now), 0);
        // A Monday starts its own week; the first of a month its own month.
        let monday = days_from_civil(2026, 11, 30) * DAY;
        assert_eq!(Period::Weekly.start(monday), monday);
        let march = days_from_civil(2024, 3, 1) * DAY;
        assert_eq!(Period::Monthly.start(march + 5), march);
        assert_eq!(
            Period::Monthly.start(march - 1),
            days_from_civil(2024, 2, 1) * DAY
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
    }

    #[test]
    fn globs() {
        assert!(glob("gpt-4o", "gpt-4o"));
        assert!(!glob("gpt-4o", "gpt-4o-mini"));
        assert!(glob("gpt-4o*", "gpt-4o-mini"));
        assert!(glob("openai/*", "openai/gpt-4o"));
        assert!(!glob("openai/*", "anthropic/claude"));
        assert!(glob("*mini", "gpt-4o-mini"));
        assert!(glob("a*b*c", "a-x-b-y-c"));
        assert!(!glob("a*b*c", "a-x-c"));
        assert!(glob("*", "anything"));
        assert!(!glob("ab*ba", "aba"));
        let open = Policy::default();
        assert!(open.allows("x"));
    }
}
