//! Per-request controls a client sets with headers: `x-gateway-timeout` (total deadline),
//! `x-gateway-failover: disabled`, `x-gateway-stream-rescue: off` and `x-routing-profile`. Pure: headers in, values out.

use std::time::Duration;

use http::{HeaderMap, HeaderName};
use tokio::time::Instant;

use crate::errors::{ErrorKind, GatewayError};
use crate::routing::Profile;

// Header names parsed once, not on every lookup.
const TIMEOUT: HeaderName = HeaderName::from_static("x-gateway-timeout");
const FAILOVER: HeaderName = HeaderName::from_static("x-gateway-failover");
const RESCUE: HeaderName = HeaderName::from_static("x-gateway-stream-rescue");
const PROFILE: HeaderName = HeaderName::from_static("x-routing-profile");

/// Longest total deadline a client may ask for.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// What the client asked for with `x-gateway-*` headers.
#[derive(Debug, Clone, Copy)]
pub struct Controls {
    /// `x-gateway-failover: disabled` → only the first candidate.
    pub failover: bool,
    /// `x-gateway-stream-rescue: off` → a stream cut mid-answer ends with an error event
    /// instead of being continued.
    pub rescue: bool,
    /// When the whole request must be answered (`x-gateway-timeout`, else the configured
    /// default).
    pub deadline: Instant,
    /// `x-routing-profile`, when named.
    pub profile: Option<Profile>,
}

impl Controls {
    /// No headers: fail over, a deadline of `default_total`, no profile.
    pub fn defaults(now: Instant, default_total: Duration) -> Controls {
        Controls {
            failover: true,
            rescue: true,
            deadline: now + default_total,
            profile: None,
        }
    }

    /// Reads the headers; a bad value is a 400 naming the header.
    pub fn parse(
        headers: &HeaderMap,
        now: Instant,
        default_total: Duration,
    ) -> Result<Controls, GatewayError> {
        let total = match headers.get(&TIMEOUT) {
            None => default_total,
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(|s| Duration::from_secs_f64(s.min(MAX_TIMEOUT_SECS)))
                .ok_or_else(|| {
                    GatewayError::new(
                        ErrorKind::BadRequest,
                        "x-gateway-timeout must be a positive number of seconds",
                    )
                })?,
        };
        let failover = !headers
            .get(&FAILOVER)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"disabled"));
        let rescue = !headers.get(&RESCUE).is_some_and(|v| {
            let v = v.as_bytes();
            [&b"off"[..], b"disabled", b"false"]
                .iter()
                .any(|off| v.eq_ignore_ascii_case(off))
        });
        let profile = match headers.get(&PROFILE) {
            None => None,
            Some(v) => Some(v.to_str().ok().and_then(Profile::parse).ok_or_else(|| {
                GatewayError::new(
                    ErrorKind::BadRequest,
                    format!(
                        "unknown x-routing-profile; use one of: {}",
                        Profile::NAMES.join(", ")
                    ),
                )
            })?),
        };
        Ok(Controls {
            failover,
            rescue,
            deadline: now + total,
            profile,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn reads_and_refuses() {
        let now = Instant::now();
        let d = Duration::from_secs(600);
        let c = Controls::parse(&headers(&[]), now, d).unwrap();
        assert!(c.failover && c.profile.is_none() && c.deadline == now + d);
        let c = Controls::parse(
            &headers(&[
                ("x-gateway-timeout", "1.5"),
                ("x-gateway-failover", "Disabled"),
                ("x-routing-profile", "realtime"),
            ]),
            now,
            d,
        )
        .unwrap();
        assert_eq!(c.deadline, now + Duration::from_millis(1500));
        assert!(!c.failover);
        assert!(c.rescue);
        let off = Controls::parse(
            &headers(&[("x-gateway-stream-rescue", "OFF")]),
            now,
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!off.rescue && off.failover);
        assert_eq!(c.profile, Some(Profile::Realtime));
        for bad in ["0", "-1", "abc", "NaN"] {
            let e = Controls::parse(&headers(&[("x-gateway-timeout", bad)]), now, d).unwrap_err();
            assert!(e.message.contains("x-gateway-timeout"), "{bad}");
        }
        let e = Controls::parse(&headers(&[("x-routing-profile", "fast")]), now, d).unwrap_err();
        assert!(e.message.contains("realtime"));
    }
}
