//! Lenient, zero-copy view of a JSON request body.
//!
//! [`RawRequest::parse`] splits the top-level object into `(key, raw value)` pairs that borrow
//! from the body, so the fields the gateway reads (`model`, `stream`, `stream_options`) are
//! decoded and every other field is forwarded byte-exact, unknown fields included.
//! [`RawRequest::encode_with`] writes the object back with some fields replaced. Pure.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::errors::{ErrorKind, GatewayError};

/// A top-level JSON object whose values are kept as raw JSON text.
#[derive(Debug)]
pub struct RawRequest<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

/// What the gateway needs to know about an OpenAI-style request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSummary {
    pub model: String,
    pub stream: bool,
    /// `stream_options.include_usage` as the client sent it.
    pub include_usage: bool,
}

impl<'a> RawRequest<'a> {
    /// Parses a body that must be a JSON object.
    pub fn parse(body: &'a [u8]) -> Result<Self, GatewayError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let fields = de.deserialize_map(FieldsVisitor).map_err(json_error)?;
        de.end().map_err(json_error)?;
        Ok(Self { fields })
    }

    /// The raw value of a top-level field (the last one when a key repeats).
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    }

    /// Reads `model`, `stream` and `stream_options.include_usage`.
    pub fn summary(&self) -> Result<RequestSummary, GatewayError> {
        let model = match self.get("model") {
            None => {
                return Err(GatewayError::new(
                    ErrorKind::BadRequest,
                    "`model` is required: name a model, an alias or `provider/model` (GET /v1/models lists them)",
                )
                .with_param("model"));
            }
            Some(raw) => serde_json::from_str::<String>(raw.get()).map_err(|_| {
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
        let stream = match self.get("stream").map(RawValue::get) {
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
                serde_json::from_str::<Option<StreamOptions>>(raw.get())
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
        let ok = self.get(key).is_some_and(|raw| kind.matches(raw.get()));
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
            .map(|(k, v)| k.len() + v.get().len() + 4)
            .sum();
        let mut out = Vec::with_capacity(size + 64);
        out.push(b'{');
        let mut first = true;
        let mut push_field = |out: &mut Vec<u8>, key: &str, value: &str| {
            if !first {
                out.push(b',');
            }
            first = false;
            // Writing a string key cannot fail.
            let _ = serde_json::to_writer(&mut *out, key);
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
        };
        for (key, value) in &self.fields {
            match replace.iter().find(|(k, _)| *k == key.as_ref()) {
                Some((_, Some(new))) => push_field(&mut out, key, new),
                Some((_, None)) => {}
                None => push_field(&mut out, key, value.get()),
            }
        }
        for (key, value) in replace {
            if let Some(value) = value {
                if !self.fields.iter().any(|(k, _)| k == key) {
                    push_field(&mut out, key, value);
                }
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
    fn matches(self, raw: &str) -> bool {
        match self {
            Self::Array => raw.starts_with('['),
            Self::Object => raw.starts_with('{'),
            Self::StringOrArray => raw.starts_with('[') || raw.starts_with('"'),
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
    fn summary_and_passthrough() {
        let body = br#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x_unknown":{"a":[1,2]},"stream":true}"#;
        let req = RawRequest::parse(body).unwrap();
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
        let req = RawRequest::parse(body).unwrap();
        assert_eq!(req.summary().unwrap().model, "a");
        assert_eq!(
            String::from_utf8(req.encode_with(&[("n", None)])).unwrap(),
            r#"{"model":"a"}"#
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = RawRequest::parse(b"{\"model\": ").unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidJson);
        assert!(e.message.contains("line 1"), "{}", e.message);
        assert_eq!(
            RawRequest::parse(b"[1]").unwrap_err().kind,
            ErrorKind::InvalidJson
        );
        assert_eq!(
            RawRequest::parse(b"{} x").unwrap_err().kind,
            ErrorKind::InvalidJson
        );
        let e = RawRequest::parse(b"{\"messages\":[]}")
            .unwrap()
            .summary()
            .unwrap_err();
        assert_eq!(e.param, Some("model"));
        let e = RawRequest::parse(b"{\"model\":1}")
            .unwrap()
            .summary()
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequest);
        let e = RawRequest::parse(b"{\"model\":\"m\",\"stream\":\"yes\"}")
            .unwrap()
            .summary()
            .unwrap_err();
        assert_eq!(e.param, Some("stream"));
        let r = RawRequest::parse(b"{\"model\":\"m\",\"messages\":{}}").unwrap();
        assert_eq!(
            r.require("messages", JsonKind::Array).unwrap_err().param,
            Some("messages")
        );
    }

    #[test]
    fn include_usage() {
        let r = RawRequest::parse(
            br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
        )
        .unwrap();
        assert!(r.summary().unwrap().include_usage);
        let r = RawRequest::parse(br#"{"model":"m","stream_options":null}"#).unwrap();
        assert!(!r.summary().unwrap().include_usage);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            if let Ok(r) = RawRequest::parse(&data) {
                let _ = r.summary();
                let _ = r.encode_with(&[("model", Some("\"x\""))]);
            }
        }
    }
}
