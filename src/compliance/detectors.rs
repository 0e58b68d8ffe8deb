//! The detectors: credentials and personal data, each a bounded regular expression (so a
//! match has a known longest length, which the stream filter's hold-back depends on), an
//! optional validator run after a match (Luhn for cards, mod-97 for IBANs, the SSA's rules for
//! SSNs), an id and the label that replaces it (`[REDACTED:email]`). Data only.

/// What a detector finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Credential,
    Pii,
}

/// One detector.
#[derive(Debug, Clone, Copy)]
pub struct Detector {
    pub id: &'static str,
    pub kind: Kind,
    /// The pattern (bounded repetitions only; ASCII classes: compiled without Unicode).
    pub pattern: &'static str,
    /// A short pattern every match contains, for the one-pass screen of the whole text.
    pub screen: &'static str,
    /// The longest text a match can span, in bytes.
    pub max_len: usize,
    /// A literal every match holds within this many bytes of its start, for detectors whose
    /// matches can be long: the stream filter holds text back only from where it appears.
    /// `None` for short detectors (held back by the common window).
    pub anchor: Option<(&'static str, usize)>,
    pub validate: Option<fn(&str) -> bool>,
    /// Off unless the config turns it on (IP addresses).
    pub optional: bool,
}

const fn d(
    id: &'static str,
    kind: Kind,
    (pattern, screen): (&'static str, &'static str),
    max_len: usize,
) -> Detector {
    Detector {
        id,
        kind,
        pattern,
        screen,
        max_len,
        anchor: None,
        validate: None,
        optional: false,
    }
}

/// Every detector, most specific first (on overlapping matches the earlier one wins).
pub const ALL: &[Detector] = &[
    Detector {
        anchor: Some(("-----BEGIN", 0)),
        ..d(
            "private_key",
            Kind::Credential,
            (
                r"-----BEGIN[ A-Z0-9]{0,32}PRIVATE KEY-----(?s:.){0,8192}?-----END[ A-Z0-9]{0,32}PRIVATE KEY-----",
                r"-----BEGIN",
            ),
            8300,
        )
    },
    Detector {
        anchor: Some(("eyJ", 0)),
        ..d(
            "jwt",
            Kind::Credential,
            (
                r"\beyJ[A-Za-z0-9_-]{5,600}\.eyJ[A-Za-z0-9_-]{5,1400}\.[A-Za-z0-9_-]{10,600}",
                r"eyJ[A-Za-z0-9_-]{5}",
            ),
            2610,
        )
    },
    Detector {
        anchor: Some(("sk-", 0)),
        ..d(
            "anthropic_key",
            Kind::Credential,
            (r"\bsk-ant-[A-Za-z0-9_-]{20,200}", r"sk-ant-"),
            207,
        )
    },
    Detector {
        anchor: Some(("sk-", 0)),
        ..d(
            "openai_key",
            Kind::Credential,
            (
                r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}",
                r"sk-[A-Za-z0-9_-]{8}",
            ),
            211,
        )
    },
    d(
        "google_api_key",
        Kind::Credential,
        (r"\bAIza[0-9A-Za-z_-]{35}\b", r"AIza"),
        39,
    ),
    d(
        "aws_access_key",
        Kind::Credential,
        (
            r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
            r"(?:AKIA|ASIA)[0-9A-Z]{16}",
        ),
        20,
    ),
    d(
        "aws_secret_key",
        Kind::Credential,
        (
            r#"(?i)\baws[a-z_ -]{0,20}secret[a-z_ -]{0,20}["']?\s{0,4}[:=]\s{0,4}["']?[A-Za-z0-9/+=]{40}\b"#,
            r"(?i)aws",
        ),
        94,
    ),
    Detector {
        anchor: Some(("gh", 0)),
        ..d(
            "github_token",
            Kind::Credential,
            (
                r"\b(?:gh[pousr]_[A-Za-z0-9]{36,100}|github_pat_[A-Za-z0-9_]{22,100})\b",
                r"gh[pousr]_|github_pat_",
            ),
            111,
        )
    },
    d(
        "gitlab_token",
        Kind::Credential,
        (r"\bglpat-[A-Za-z0-9_-]{20,64}\b", r"glpat-"),
        70,
    ),
    Detector {
        anchor: Some(("xox", 0)),
        ..d(
            "slack_token",
            Kind::Credential,
            (r"\bxox[abprs]-[A-Za-z0-9-]{10,200}\b", r"xox[abprs]-"),
            205,
        )
    },
    Detector {
        anchor: Some(("k_", 1)),
        ..d(
            "stripe_key",
            Kind::Credential,
            (
                r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,128}\b",
                r"[sr]k_(?:live|test)_",
            ),
            136,
        )
    },
    Detector {
        anchor: Some(("://", 21)),
        ..d(
            "connection_string",
            Kind::Credential,
            (
                r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]{1,64}:[^\s@/]{1,128}@[^\s/]{1,255}",
                r"://[^\s:/@]{1,64}:",
            ),
            475,
        )
    },
    d(
        "secret_assignment",
        Kind::Credential,
        (
            r#"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)["']?\s{0,4}[:=]\s{0,4}["']?[^\s"',;]{4,128}"#,
            r"(?i)password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token",
        ),
        174,
    ),
    Detector {
        anchor: Some(("@", 64)),
        ..d(
            "email",
            Kind::Pii,
            (
                r"\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,40}\.){1,4}[A-Za-z]{2,24}\b",
                r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]",
            ),
            253,
        )
    },
    Detector {
        validate: Some(valid_ssn),
        ..d(
            "us_ssn",
            Kind::Pii,
            (r"\b\d{3}-\d{2}-\d{4}\b", r"\d{3}-\d{2}-\d{4}"),
            11,
        )
    },
    Detector {
        validate: Some(luhn),
        ..d(
            "payment_card",
            Kind::Pii,
            (
                r"\b(?:\d[ -]?){12,18}\d\b",
                r"\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d",
            ),
            37,
        )
    },
    Detector {
        validate: Some(valid_iban),
        ..d(
            "iban",
            Kind::Pii,
            (
                r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
                r"[A-Z]{2}\d{2} ?[A-Z0-9]{4}",
            ),
            42,
        )
    },
    d(
        "phone",
        Kind::Pii,
        (
            r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]\d{3}[ .-]\d{4}\b",
            r"\d{3}\)?[ .-]\d{3}[ .-]\d{4}",
        ),
        22,
    ),
    Detector {
        optional: true,
        ..d(
            "ip_address",
            Kind::Pii,
            (
                r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
                r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}",
            ),
            15,
        )
    },
];

/// The Luhn check of a card number (13 to 19 digits; spaces and dashes ignored).
pub fn luhn(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The IBAN check: its country's length is not checked, its mod-97 checksum is.
pub fn valid_iban(text: &str) -> bool {
    let s: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let rearranged = s[4..].iter().chain(&s[..4]);
    let mut rem: u32 = 0;
    for b in rearranged {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A US SSN as the SSA issues them: area not 000, 666 or 9xx; group not 00; serial not 0000.
pub fn valid_ssn(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [area, group, serial] = parts.as_slice() else {
        return false;
    };
    !(*area == "000"
        || *area == "666"
        || area.starts_with('9')
        || *group == "00"
        || *serial == "0000")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_reject_near_misses() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("4012-8888-8888-1881"));
        assert!(!luhn("4111 1111 1111 1112"), "fails Luhn");
        assert!(!luhn("0000000000000000"), "one digit repeated");
        assert!(!luhn("123456789012"), "too short");
        assert!(valid_iban("GB82 WEST 1234 5698 7654 32"));
        assert!(valid_iban("DE89370400440532013000"));
        assert!(!valid_iban("GB82 WEST 1234 5698 7654 33"), "checksum");
        assert!(valid_ssn("123-45-6789"));
        assert!(
            !valid_ssn("000-45-6789") && !valid_ssn("666-45-6789") && !valid_ssn("912-45-6789")
        );
        assert!(!valid_ssn("123-00-6789") && !valid_ssn("123-45-0000"));
    }

    #[test]
    fn every_pattern_compiles_and_its_bound_holds() {
        for det in ALL {
            let re = regex::bytes::Regex::new(&format!("(?-u){}", det.pattern)).unwrap();
            let screen = regex::bytes::Regex::new(&format!("(?-u){}", det.screen)).unwrap();
            drop(screen);
            assert!(
                det.max_len >= det.anchor.map_or(0, |(a, o)| a.len() + o),
                "{}",
                det.id
            );
            drop(re);
        }
    }
}
