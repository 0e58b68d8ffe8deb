//! A request body in canonical form, written in one pass over its JSON: object keys sorted
//! (byte order; of a repeated key the last one counts), no whitespace, strings escaped as
//! serde_json escapes them, integral numbers as integers (`0.0` and `0` are one number), and
//! the top-level fields that only change the delivery (`stream`, `stream_options`) left out.
//! No tree of values is built: a key is borrowed from the body when it has no escapes, and
//! an object's members are written into one buffer and then copied out in key order. Pure.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Top-level fields that change how an answer is delivered, not what it says.
const DELIVERY: &[&str] = &["stream", "stream_options"];

/// A request as the cache sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    /// The request's JSON with sorted keys, delivery fields removed.
    pub text: String,
    /// `temperature` (1 when absent or not a number: the providers' default).
    pub temperature: f64,
}

/// The canonical form of a JSON request body; `None` when it is not a JSON object.
pub fn canonical(body: &[u8]) -> Option<Canonical> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut out = Vec::with_capacity(body.len());
    let mut temperature = None;
    de.deserialize_map(Writer {
        out: &mut out,
        top: Some(&mut temperature),
    })
    .ok()?;
    de.end().ok()?;
    let text = String::from_utf8(out).ok()?;
    Some(Canonical {
        text,
        temperature: temperature.unwrap_or(1.0),
    })
}

/// Writes one value's canonical form to `out`. `top`: this is the request object (its
/// delivery fields are dropped, its `temperature` read).
struct Writer<'o, 't> {
    out: &'o mut Vec<u8>,
    top: Option<&'t mut Option<f64>>,
}

impl<'de> DeserializeSeed<'de> for Writer<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl Writer<'_, '_> {
    fn number(self, n: f64) {
        if n.fract() == 0.0 && n.abs() < 9.0e15 {
            self.integer(n as i64);
        } else {
            // serde_json's own float format, as the value would be written.
            let _ = serde_json::to_writer(&mut *self.out, &n);
        }
    }

    fn integer(self, n: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// A member's key, borrowed from the body when it needs no unescaping.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Cow<'de, str>, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_string()))
    }
}

impl<'de> Visitor<'de> for Writer<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.integer(n);
        Ok(())
    }

    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.integer(n);
        Ok(())
    }

    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        self.number(n);
        Ok(())
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        let _ = serde_json::to_writer(&mut *self.out, s);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            let item = Writer {
                out: &mut *self.out,
                top: None,
            };
            if seq.next_element_seed(item)?.is_none() {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // The members' values go to one scratch buffer; the object is then written in key
        // order from it.
        let mut values = Vec::new();
        let mut members: Vec<(Cow<'de, str>, std::ops::Range<usize>)> = Vec::new();
        let mut top = self.top;
        while let Some(key) = map.next_key_seed(Key)? {
            let start = values.len();
            map.next_value_seed(Writer {
                out: &mut values,
                top: None,
            })?;
            if let Some(temperature) = top.as_deref_mut() {
                if DELIVERY.contains(&key.as_ref()) {
                    values.truncate(start);
                    continue;
                }
                if key == "temperature" {
                    *temperature = std::str::from_utf8(&values[start..])
                        .ok()
                        .and_then(|t| t.parse::<f64>().ok());
                }
            }
            members.push((key, start..values.len()));
        }
        // Stable: of a repeated key, the last is kept.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        self.out.push(b'{');
        let mut first = true;
        for (i, (key, range)) in members.iter().enumerate() {
            if members.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            let _ = serde_json::to_writer(&mut *self.out, key.as_ref());
            self.out.push(b':');
            self.out.extend_from_slice(&values[range.clone()]);
        }
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What the canonical form must equal: serde_json's sorted map, the delivery fields out
    /// and integral floats as integers.
    fn through_values(body: &str) -> String {
        fn whole(v: &mut Value) {
            match v {
                Value::Number(n) => {
                    if let Some(f) = n.as_f64()
                        && !n.is_i64()
                        && !n.is_u64()
                        && f.fract() == 0.0
                        && f.abs() < 9.0e15
                    {
                        *v = Value::from(f as i64);
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(whole),
                Value::Object(fields) => fields.values_mut().for_each(whole),
                _ => {}
            }
        }
        let Value::Object(mut fields) = serde_json::from_str::<Value>(body).unwrap() else {
            panic!("not an object");
        };
        for f in DELIVERY {
            fields.remove(*f);
        }
        fields.values_mut().for_each(whole);
        serde_json::to_string(&Value::Object(fields)).unwrap()
    }

    #[test]
    fn equals_the_sorted_value_tree() {
        for body in [
            r#"{"model":"m","messages":[{"role":"user","content":"hi \"there\"\n\u00e9\ud83d\ude00"}],"temperature":0.0}"#,
            r#"{"b":1,"a":[1,2.5,-3.0,1e3,true,null,{"z":{},"y":[]}],"stream":true,"stream_options":{"include_usage":true}}"#,
            r#"{"a\"b":1,"a":2,"\u0041":3,"":[[],[[]]],"n":18446744073709551615,"m":-9223372036854775808}"#,
            r#"{"x":{"stream":1,"stream_options":2},"max_tokens":1.0e2,"top_p":0.1}"#,
            r#"{}"#,
        ] {
            assert_eq!(
                canonical(body.as_bytes()).unwrap().text,
                through_values(body),
                "{body}"
            );
        }
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1.0e6f64..1.0e6).prop_map(Value::from),
            (-1000i64..1000).prop_map(|n| Value::from(n as f64)),
            "[a-z\\\"\u{0}-\u{1f}\u{e9}\u{1f600} ]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z\"]{0,4}|stream|temperature", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_object_equals_the_sorted_value_tree(
            fields in proptest::collection::btree_map("[a-z_]{0,6}", json(), 0..6)
        ) {
            let body = serde_json::to_string(&Value::Object(fields.into_iter().collect())).unwrap();
            proptest::prop_assert_eq!(canonical(body.as_bytes()).unwrap().text, through_values(&body));
        }

        #[test]
        fn any_bytes_are_read_without_a_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = canonical(&body);
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let c = canonical(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(c.text, r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn temperature_is_read_from_the_top_level_only() {
        assert_eq!(
            canonical(br#"{"temperature":0.25}"#).unwrap().temperature,
            0.25
        );
        assert_eq!(canonical(br#"{"temperature":0}"#).unwrap().temperature, 0.0);
        assert_eq!(
            canonical(br#"{"x":{"temperature":0}}"#)
                .unwrap()
                .temperature,
            1.0
        );
        assert_eq!(
            canonical(br#"{"temperature":"hot"}"#).unwrap().temperature,
            1.0
        );
    }

    #[test]
    fn anything_but_one_object_is_none() {
        for body in [
            &b"[1]"[..],
            b"1",
            b"\"s\"",
            b"{",
            b"{} {}",
            b"{\"a\":}",
            b"",
        ] {
            assert!(canonical(body).is_none(), "{body:?}");
        }
    }
}
