//! Percent-encoding of URL path segments, both ways: a model id put in an upstream path is
//! encoded (unreserved characters stay), a name taken from a request path is decoded (invalid
//! escapes are kept as they are). And URLs as the gateway shows them: credentials masked.
//! Pure; depends on nothing.

use std::borrow::Cow;

/// Percent-encodes a path segment (RFC 3986 unreserved characters stay). A segment of dots
/// only (`.`, `..`) has its dots encoded too: left as it is, it would move up the path.
pub fn encode_segment(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b == b'.') {
        return "%2E".repeat(s.len());
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are, and invalid UTF-8 is replaced.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` with its userinfo (`user:password@`) replaced by `***@`, for responses and logs. Works
/// on text that is not a valid URL too (it is often shown in the error saying so).
pub fn masked(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let authority = rest.find(['/', '?', '#']).map_or(rest, |end| &rest[..end]);
    match authority.rfind('@') {
        Some(at) => Cow::Owned(format!("{}***{}", &url[..start], &rest[at..])),
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked() {
        assert_eq!(masked("http://u:p@h:1/v1"), "http://***@h:1/v1");
        assert_eq!(masked("https://tok@h/v1?x=a@b"), "https://***@h/v1?x=a@b");
        assert_eq!(masked("http://a@b:c@h"), "http://***@h");
        assert_eq!(masked("user:pass@host/x"), "***@host/x");
        assert_eq!(masked("http://h:1/v1@x"), "http://h:1/v1@x");
        assert!(matches!(masked("http://h:1/v1"), Cow::Borrowed(_)));
        assert_eq!(masked(""), "");
    }

    #[test]
    fn both_ways() {
        assert_eq!(encode_segment("echo;n=2"), "echo%3Bn%3D2");
        assert_eq!(decode("echo%3Bn%3D2"), "echo;n=2");
        assert_eq!(decode("a%2Fb"), "a/b");
        assert_eq!(decode("a%zz%41"), "a%zzA");
        assert_eq!(decode("a%2"), "a%2");
    }

    #[test]
    fn dot_segments_cannot_climb() {
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("."), "%2E");
        assert_eq!(encode_segment("a..b"), "a..b");
        assert_eq!(
            encode_segment("../../management/x?y=1"),
            "..%2F..%2Fmanagement%2Fx%3Fy%3D1"
        );
    }
}
