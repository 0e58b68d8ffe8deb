//! Lenient, zero-copy view of a JSON request body.
//!
//! [`RawRequest::parse`] splits the top-level object into `(key, raw value)` pairs kept as
//! ranges of the body it owns, so the fields the gateway reads (`model`, `stream`,
//! `stream_options`) are decoded and every other field is forwarded byte-exact, unknown fields
//! included. [`RawRequest::encode_with`] writes the object back with some fields replaced. Pure.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use bytes::Bytes;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::errors::{ErrorKind, GatewayError};

/// Longest `model` accepted.
pub const MAX_MODEL_BYTES: usize = 256;

/// A top-level JSON object whose values are kept as raw JSON text.
#[derive(Debug, Clone)]
pub struct RawRequest {
    body: Bytes,
    fields: Vec<(FieldKey, Range<usize>)>,
}

/// Where a field's key is: in the body, or decoded (it had escapes).
#[derive(Debug, Clone)]
enum FieldKey {
    At(Range<usize>),
    Decoded(Box<str>),
}

/// The length of a field's key.
fn key_len(key: &FieldKey) -> usize {
    match key {
        FieldKey::At(range) => range.len(),
        FieldKey::Decoded(k) => k.len(),
    }
}

/// The range `part` takes in `body` (`part` is a slice of it).
fn range_in(body: &[u8], part: &str) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
    start..start + part.len()
}

/// What the gateway needs to know about an OpenAI-style request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSummary {
    pub model: String,
    pub stream: bool,
    /// `stream_options.include_usage` as the client sent it.
    pub include_usage: bool,
}

impl RawRequest {
    /// Parses a body that must be a JSON object.
    pub fn parse(body: Bytes) -> Result<Self, GatewayError> {
        let fields = {
            let mut de = serde_json::Deserializer::from_slice(&body);
            let pairs = de.deserialize_map(FieldsVisitor).map_err(json_error)?;
            de.end().map_err(json_error)?;
            pairs
                .into_iter()
                .map(|(key, value)| {
                    let key = match key {
                        Cow::Borrowed(k) => FieldKey::At(range_in(&body, k)),
                        Cow::Owned(k) => FieldKey::Decoded(k.into_boxed_str()),
                    };
                    (key, range_in(&body, value.get()))
                })
                .collect()
        };
        Ok(Self { body, fields })
    }

    /// The whole body as the client sent it.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    fn text(&self, range: &Range<usize>) -> &str {
        // Every range was cut from text serde_json checked to be UTF-8.
        self.body
            .get(range.clone())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    fn key<'s>(&'s self, key: &'s FieldKey) -> &'s str {
        match key {
            FieldKey::At(range) => self.text(range),
            FieldKey::Decoded(k) => k,
        }
    }

    /// Whether a field's key is `name` (compared as bytes: no UTF-8 check per lookup).
    fn is(&self, key: &FieldKey, name: &str) -> bool {
        match key {
            FieldKey::At(range) => self.body.get(range.clone()) == Some(name.as_bytes()),
            FieldKey::Decoded(k) => &**k == name,
        }
    }

    /// The value range of a top-level field.
    fn find(&self, name: &str) -> Option<&Range<usize>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| self.is(k, name))
            .map(|(_, v)| v)
    }

    /// The raw JSON bytes of a top-level field.
    pub fn get_bytes(&self, key: &str) -> Option<&[u8]> {
        self.find(key).and_then(|v| self.body.get(v.clone()))
    }

    /// The raw JSON text of a top-level field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).map(|v| self.text(v))
    }

    /// Reads `model`, `stream` and `stream_options.include_usage`. A `model` longer than
    /// [`MAX_MODEL_BYTES`] or with control characters is refused.
    pub fn summary(&self) -> Result<RequestSummary, GatewayError> {
        let model = match self.get("model") {
            None => {
                return Err(GatewayError::new(
                    ErrorKind::BadRequest,
                    "`model` is required: name a model, an alias or `provider/model` (GET /v1/models lists them)",
                )
                .with_param("model"));
            }
            Some(raw) => serde_json::from_str::<String>(raw).map_err(|_| {
                GatewayError::new(ErrorKind::BadRequest, "`model` must be a string")
                    .with_param("model")
            })?,
        };
        if model.is_empty() {
            return Err(
                GatewayError::new(ErrorKind::BadRequest, "`model` must not be empty")
                    .with_param("model"),
            );
        }
        // A model name reaches upstream paths and headers: control characters never do.
        if model.len() > MAX_MODEL_BYTES || model.chars().any(char::is_control) {
            return Err(GatewayError::new(
                ErrorKind::BadRequest,
                format!(
                    "`model` must be at most {MAX_MODEL_BYTES} bytes without control characters"
                ),
            )
            .with_param("model"));
        }
        let stream = match self.get("stream") {
            None | Some("null") | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(
                    GatewayError::new(ErrorKind::BadRequest, "`stream` must be a boolean")
                        .with_param("stream"),
                );
            }
        };
        let include_usage = match self.get("stream_options") {
            None => false,
            Some(raw) => {
                #[derive(serde::Deserialize)]
                struct StreamOptions {
                    include_usage: Option<bool>,
                }
                serde_json::from_str::<Option<StreamOptions>>(raw)
                    .map_err(|_| {
                        GatewayError::new(
                            ErrorKind::BadRequest,
                            "`stream_options` must be an object like {\"include_usage\": true}",
                        )
                        .with_param("stream_options")
                    })?
                    .and_then(|o| o.include_usage)
                    .unwrap_or(false)
            }
        };
        Ok(RequestSummary {
            model,
            stream,
            include_usage,
        })
    }

    /// Checks that `key` is present and its raw value starts like the expected JSON type.
    pub fn require(&self, key: &'static str, kind: JsonKind) -> Result<(), GatewayError> {
        let ok = self.get_bytes(key).is_some_and(|raw| kind.matches(raw));
        if ok {
            Ok(())
        } else {
            Err(GatewayError::new(
                ErrorKind::BadRequest,
                format!("`{key}` is required and must be {}", kind.describe()),
            )
            .with_param(key))
        }
    }

    /// The object with `replace` applied: each `(key, Some(json))` sets the field (appended
    /// when absent), `(key, None)` removes it. Untouched fields keep their exact bytes.
    pub fn encode_with(&self, replace: &[(&str, Option<&str>)]) -> Vec<u8> {
        let size: usize = self
            .fields
            .iter()
            .map(|(k, v)| key_len(k) + v.len() + 4)
            .sum();
        let mut out = Vec::with_capacity(size + 64);
        out.push(b'{');
        let mut first = true;
        let mut push_field = |out: &mut Vec<u8>, key: &str, value: &[u8]| {
            if !first {
                out.push(b',');
            }
            first = false;
            // Writing a string key cannot fail.
            let _ = serde_json::to_writer(&mut *out, key);
            out.push(b':');
            out.extend_from_slice(value);
        };
        for (key, value) in &self.fields {
            let key = self.key(key);
            match replace.iter().find(|(k, _)| *k == key) {
                Some((_, Some(new))) => push_field(&mut out, key, new.as_bytes()),
                Some((_, None)) => {}
                None => push_field(&mut out, key, &self.body[value.clone()]),
            }
        }
        for (key, value) in replace {
            if let Some(value) = value
                && self.find(key).is_none()
            {
                push_field(&mut out, key, value.as_bytes());
            }
        }
        out.push(b'}');
        out
    }
}

/// JSON types checked by [`RawRequest::require`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Array,
    Object,
    StringOrArray,
}

impl JsonKind {
    fn matches(self, raw: &[u8]) -> bool {
        match self {
            Self::Array => raw.starts_with(b"["),
            Self::Object => raw.starts_with(b"{"),
            Self::StringOrArray => raw.starts_with(b"[") || raw.starts_with(b"\""),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Array => "an array",
            Self::Object => "an object",
            Self::StringOrArray => "a string or an array",
        }
    }
}

fn json_error(e: serde_json::Error) -> GatewayError {
    let msg = if e.classify() == serde_json::error::Category::Data {
        format!("request body must be a JSON object: {e}")
    } else {
        format!("request body is not valid JSON: {e}")
    };
    GatewayError::new(ErrorKind::InvalidJson, msg)
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            // A repeated key would be read one way here and another by the provider.
            if fields.iter().any(|(k, _)| *k == key.0) {
                return Err(de::Error::custom(format_args!(
                    "the key `{}` appears twice",
                    key.0
                )));
            }
            fields.push((key.0, value));
        }
        Ok(fields)
    }
}

/// A map key that borrows from the input when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_refused() {
        for body in [
            r#"{"model":"a","messages":[],"model":"b"}"#,
            r#"{"model":"a","mod\u0065l":"b"}"#,
        ] {
            let e = RawRequest::parse(Bytes::from(body)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidJson, "{body}");
            assert!(e.message.contains("`model` appears twice"), "{}", e.message);
        }
        // Nested objects may repeat what the top level has.
        assert!(
            RawRequest::parse(Bytes::from(r#"{"model":"a","metadata":{"model":"b"}}"#)).is_ok()
        );
    }

    #[test]
    fn summary_and_passthrough() {
        let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x_unknown":{"a":[1,2]},"stream":true}"#;
        let req = RawRequest::parse(Bytes::from_static(body)).unwrap();
        let s = req.summary().unwrap();
        assert_eq!(
            s,
            RequestSummary {
                model: "gpt-4o".into(),
                stream: true,
                include_usage: false
            }
        );
        assert_eq!(req.encode_with(&[]), body.to_vec());
        let out = req.encode_with(&[
            ("model", Some("\"m2\"")),
            ("stream_options", Some("{\"include_usage\":true}")),
        ]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"model":"m2","messages":[{"role":"user","content":"hi"}],"x_unknown":{"a":[1,2]},"stream":true,"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn whitespace_and_escaped_keys_survive() {
        let body = b" { \"mo\\u0064el\" : \"a\" , \"n\" : 1 } ";
        let req = RawRequest::parse(Bytes::from_static(body)).unwrap();
        assert_eq!(req.summary().unwrap().model, "a");
        assert_eq!(
            String::from_utf8(req.encode_with(&[("n", None)])).unwrap(),
            r#"{"model":"a"}"#
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = RawRequest::parse(Bytes::from_static(b"{\"model\": ")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
        assert!(e.message.contains("line 1"), "{}", e.message);
        assert_eq!(
            RawRequest::parse(Bytes::from_static(b"[1]"))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidJson
        );
        assert_eq!(
            RawRequest::parse(Bytes::from_static(b"{} x"))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidJson
        );
        let e = RawRequest::parse(Bytes::from_static(b"{\"messages\":[]}"))
            .unwrap()
            .summary()
            .unwrap_err();
        assert_eq!(e.param, Some("model"));
        let e = RawRequest::parse(Bytes::from_static(b"{\"model\":1}"))
            .unwrap()
            .summary()
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        let e = RawRequest::parse(Bytes::from_static(b"{\"model\":\"m\",\"stream\":\"yes\"}"))
            .unwrap()
            .summary()
            .unwrap_err();
        assert_eq!(e.param, Some("stream"));
        let r =
            RawRequest::parse(Bytes::from_static(b"{\"model\":\"m\",\"messages\":{}}")).unwrap();
        assert_eq!(
            r.require("messages", JsonKind::Array).unwrap_err().param,
            Some("messages")
        );
    }

    #[test]
    fn include_usage() {
        let r = RawRequest::parse(Bytes::from_static(
            br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
        ))
        .unwrap();
        assert!(r.summary().unwrap().include_usage);
        let r = RawRequest::parse(Bytes::from_static(
            br#"{"model":"m","stream_options":null}"#,
        ))
        .unwrap();
        assert!(!r.summary().unwrap().include_usage);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            if let Ok(r) = RawRequest::parse(Bytes::from(data)) {
                let _ = r.summary();
                let _ = r.encode_with(&[("model", Some("\"x\""))]);
            }
        }
    }
}
