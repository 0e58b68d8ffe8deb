//! Secrets out of log text: what a provider or a broken connection said can carry request
//! headers (an upstream that echoes the request sends back its `authorization` header) and
//! keys. [`secrets`] masks the values of credential headers, bearer tokens, `key=` query
//! parameters and strings shaped like provider keys, keeping the rest readable. Pure, but for
//! [`Redacting`], the log writer that passes every line through it (at any log level, the
//! libraries' debug and trace lines included).

/// Header names whose values are credentials (compared case-insensitively).
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cookie",
    "set-cookie",
];

/// Prefixes of provider key formats (OpenAI `sk-`, Anthropic `sk-ant-`, Google `AIza`, Groq
/// `gsk_`).
const KEY_PREFIXES: &[&str] = &["sk-", "AIza", "gsk_", "xai-"];

const MASK: &str = "[redacted]";

/// A log writer maker whose writers mask secrets in every line before it is written.
#[derive(Debug, Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for Redacting<M>
{
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// Writes what it is given with secrets masked (a log line arrives in one write).
#[derive(Debug)]
pub struct RedactingWriter<W>(W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let clean = secrets(&String::from_utf8_lossy(buf));
        self.0.write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `text` with every credential masked.
pub fn secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some((skip, keep)) = credential_at(rest) {
            out.push_str(&rest[..keep]);
            out.push_str(MASK);
            rest = &rest[skip..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// When a credential starts at the front of `s`: how many bytes to skip and how many of them
/// to keep (the name or prefix that says what was masked).
fn credential_at(s: &str) -> Option<(usize, usize)> {
    for name in CREDENTIAL_HEADERS {
        if let Some(after) = strip_prefix_ci(s, name) {
            let value = after
                .strip_prefix(':')
                .or_else(|| after.strip_prefix('='))?;
            let value_start = s.len() - value.len();
            let end = value
                .find(['\r', '\n', '"', ',', '}'])
                .unwrap_or(value.len());
            return Some((value_start + end, value_start + leading_spaces(value)));
        }
    }
    if let Some(after) = strip_prefix_ci(s, "bearer ") {
        let token = token_len(after);
        if token > 0 {
            return Some((s.len() - after.len() + token, s.len() - after.len()));
        }
    }
    if let Some(after) = strip_prefix_ci(s, "key=") {
        let token = token_len(after);
        if token > 0 {
            return Some((4 + token, 4));
        }
    }
    for prefix in KEY_PREFIXES {
        if let Some(after) = s.strip_prefix(prefix) {
            let token = token_len(after);
            if token >= 8 {
                return Some((prefix.len() + token, 0));
            }
        }
    }
    None
}

/// `s` without `prefix` (ASCII case-insensitive).
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn leading_spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

/// Length of the token at the front of `s` (key-like characters).
fn token_len(s: &str) -> usize {
    s.find(|c: char| {
        !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '='))
    })
    .unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credential_headers_tokens_and_keys() {
        let echoed = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-abcdef1234567890\r\nx-api-key: secret-anthropic\r\ncontent-type: application/json\r\n\r\n{\"key\":\"v\"}";
        let out = secrets(echoed);
        assert!(!out.contains("sk-abcdef"), "{out}");
        assert!(!out.contains("secret-anthropic"), "{out}");
        assert!(out.contains("Authorization: [redacted]"), "{out}");
        assert!(out.contains("x-api-key: [redacted]"), "{out}");
        assert!(out.contains("content-type: application/json"), "{out}");
        assert_eq!(
            secrets("bad key sk-proj-0123456789abc here"),
            "bad key [redacted] here"
        );
        assert_eq!(
            secrets("GET /models?key=AIzaSyABCDEF&x=1"),
            "GET /models?key=[redacted]&x=1"
        );
        assert_eq!(secrets("token Bearer abc.def"), "token Bearer [redacted]");
        assert_eq!(
            secrets("nothing secret: ünïcode"),
            "nothing secret: ünïcode"
        );
        assert_eq!(secrets("sk-short"), "sk-short");
    }

    #[test]
    fn the_log_writer_masks_every_line() {
        use std::io::Write as _;
        let mut out = RedactingWriter(Vec::new());
        out.write_all(br#"{"message":"Response header: x-api-key: sk-ant-api03-abcdefghijkl"}"#)
            .unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert!(!text.contains("abcdefghijkl"), "{text}");
        assert!(text.contains("x-api-key: [redacted]"), "{text}");
    }
}
