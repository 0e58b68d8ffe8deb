//! Per-request controls a client sets with headers: `x-gateway-timeout` (total deadline),
//! `x-gateway-failover: disabled`, `x-gateway-stream-rescue: off`, `x-routing-profile`,
//! `x-data-classification`, `x-gateway-max-cost-usd` and `x-gateway-conversation-id`. Pure:
//! headers in, values out.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use tokio::time::Instant;

use crate::config::Classification;
use crate::errors::{ErrorKind, GatewayError};
use crate::routing::Profile;

/// The control headers' values (the first of each), found in one pass over the headers:
/// cheaper than seven lookups, each hashing its name.
#[derive(Default)]
struct Found<'h> {
    timeout: Option<&'h HeaderValue>,
    failover: Option<&'h HeaderValue>,
    rescue: Option<&'h HeaderValue>,
    profile: Option<&'h HeaderValue>,
    classification: Option<&'h HeaderValue>,
    max_cost: Option<&'h HeaderValue>,
    conversation: Option<&'h HeaderValue>,
}

impl<'h> Found<'h> {
    fn of(headers: &'h HeaderMap) -> Found<'h> {
        let mut f = Found::default();
        for (name, value) in headers {
            let name = name.as_str();
            if !name.starts_with("x-") {
                continue;
            }
            let slot = match name {
                "x-gateway-timeout" => &mut f.timeout,
                "x-gateway-failover" => &mut f.failover,
                "x-gateway-stream-rescue" => &mut f.rescue,
                "x-routing-profile" => &mut f.profile,
                "x-data-classification" => &mut f.classification,
                "x-gateway-max-cost-usd" => &mut f.max_cost,
                "x-gateway-conversation-id" => &mut f.conversation,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        f
    }
}

/// Longest `x-gateway-conversation-id` accepted.
pub const MAX_CONVERSATION_ID: usize = 256;

/// Longest total deadline a client may ask for.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// What the client asked for with `x-gateway-*` headers.
#[derive(Debug, Clone)]
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
    /// `x-data-classification` (default `internal`).
    pub classification: Classification,
    /// `x-gateway-max-cost-usd`.
    pub max_cost_usd: Option<f64>,
    /// `x-gateway-conversation-id`.
    pub conversation: Option<Box<str>>,
}

impl Controls {
    /// No headers: fail over, a deadline of `default_total`, no profile.
    pub fn defaults(now: Instant, default_total: Duration) -> Controls {
        Controls {
            failover: true,
            rescue: true,
            deadline: now + default_total,
            profile: None,
            classification: Classification::Internal,
            max_cost_usd: None,
            conversation: None,
        }
    }

    /// Reads the headers; a bad value is a 400 naming the header.
    pub fn parse(
        headers: &HeaderMap,
        now: Instant,
        default_total: Duration,
    ) -> Result<Controls, GatewayError> {
        let found = Found::of(headers);
        let total = match found.timeout {
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
        let failover = !found
            .failover
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"disabled"));
        let rescue = !found.rescue.is_some_and(|v| {
            let v = v.as_bytes();
            [&b"off"[..], b"disabled", b"false"]
                .iter()
                .any(|off| v.eq_ignore_ascii_case(off))
        });
        let profile = match found.profile {
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
        let classification = match found.classification {
            None => Classification::Internal,
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| Classification::parse(s.trim()))
                .ok_or_else(|| {
                    GatewayError::new(
                        ErrorKind::BadRequest,
                        "unknown x-data-classification; use one of: public, internal, cui, itar, classified",
                    )
                })?,
        };
        let max_cost_usd = match found.max_cost {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|c| c.is_finite() && *c >= 0.0)
                    .ok_or_else(|| {
                        GatewayError::new(
                            ErrorKind::BadRequest,
                            "x-gateway-max-cost-usd must be a number of US dollars >= 0",
                        )
                    })?,
            ),
        };
        let conversation = match found.conversation {
            None => None,
            Some(v) => {
                let id = v
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && s.len() <= MAX_CONVERSATION_ID);
                Some(id.map(Box::from).ok_or_else(|| {
                    GatewayError::new(
                        ErrorKind::BadRequest,
                        format!(
                            "x-gateway-conversation-id must be 1 to {MAX_CONVERSATION_ID} visible ASCII characters"
                        ),
                    )
                })?)
            }
        };
        Ok(Controls {
            failover,
            rescue,
            deadline: now + total,
            profile,
            classification,
            max_cost_usd,
            conversation,
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

    #[test]
    fn routing_headers() {
        let now = Instant::now();
        let d = Duration::from_secs(1);
        let c = Controls::parse(&headers(&[]), now, d).unwrap();
        assert_eq!(c.classification, Classification::Internal);
        assert_eq!((c.max_cost_usd, c.conversation), (None, None));
        let c = Controls::parse(
            &headers(&[
                ("x-data-classification", "CUI"),
                ("x-gateway-max-cost-usd", "0.25"),
                ("x-gateway-conversation-id", "conv-1"),
            ]),
            now,
            d,
        )
        .unwrap();
        assert_eq!(c.classification, Classification::Cui);
        assert_eq!(c.max_cost_usd, Some(0.25));
        assert_eq!(c.conversation.as_deref(), Some("conv-1"));
        for (h, v) in [
            ("x-data-classification", "secret"),
            ("x-gateway-max-cost-usd", "-1"),
            ("x-gateway-max-cost-usd", "NaN"),
        ] {
            let e = Controls::parse(&headers(&[(h, v)]), now, d).unwrap_err();
            assert!(e.message.contains(h), "{h}: {}", e.message);
        }
        let long = "x".repeat(MAX_CONVERSATION_ID + 1);
        assert!(
            Controls::parse(&headers(&[("x-gateway-conversation-id", &long)]), now, d).is_err()
        );
    }
}
