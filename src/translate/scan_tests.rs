//! The strict JSON reader ([`super`]): strings as serde reads them, values checked at
//! least as strictly as serde checks what it skips, no panic on any input or any cut.

use std::borrow::Cow;

use proptest::prelude::*;
use serde::de::IgnoredAny;

use super::{Invalid, MAX_DEPTH, Scanner};
use crate::translate::tests::{Gen, J};

/// The string `json` holds, read by the scanner, which must then be at the end.
fn string(json: &[u8]) -> Result<Cow<'_, str>, Invalid> {
    let mut s = Scanner::new(std::str::from_utf8(json).map_err(|_| Invalid)?);
    let text = s.string()?;
    s.end()?;
    Ok(text)
}

/// Whether the scanner accepts `json` as one value.
fn skips(json: &[u8]) -> bool {
    let Ok(json) = std::str::from_utf8(json) else {
        return false;
    };
    let mut s = Scanner::new(json);
    s.skip().is_ok() && s.end().is_ok()
}

/// Whether serde accepts `json` as a value it skips.
fn serde_skips(json: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(json).is_ok()
}

#[test]
fn strings_without_escapes_are_borrowed() {
    assert!(matches!(string(b"\"abc\""), Ok(Cow::Borrowed("abc"))));
    assert!(matches!(string(b" \"\" "), Ok(Cow::Borrowed(""))));
    assert!(matches!(
        string("\"é😀\"".as_bytes()),
        Ok(Cow::Borrowed("é😀"))
    ));
}

#[test]
fn escapes_are_read() {
    let cases: &[(&[u8], &str)] = &[
        (br#""a\"b""#, "a\"b"),
        (br#""\\\/\b\f\n\r\t""#, "\\/\u{8}\u{c}\n\r\t"),
        (br#""\u00e9\u00C9x""#, "éÉx"),
        (br#""\u0000""#, "\u{0}"),
        (br#""\ud83d\ude00!""#, "😀!"),
        (br#""\uD834\uDD1E""#, "𝄞"),
        (br#""\uffff\u2028""#, "\u{ffff}\u{2028}"),
        ("\"é\\né\"".as_bytes(), "é\né"),
    ];
    for (json, text) in cases {
        let got = string(json);
        assert!(
            matches!(&got, Ok(Cow::Owned(s)) if s == text),
            "{json:?}: {got:?}"
        );
        assert_eq!(
            serde_json::from_slice::<String>(json).ok().as_deref(),
            Some(*text)
        );
    }
}

#[test]
fn a_special_byte_is_found_at_any_offset() {
    // Runs are scanned eight bytes at a time: every offset within and across words.
    for len in 0..20 {
        for at in 0..len {
            for special in [&b"\""[..], b"\\", b"\\n", b"\x00", b"\x1f", "é".as_bytes()] {
                let mut json = b"\"".to_vec();
                json.extend(std::iter::repeat_n(b'a', at));
                json.extend_from_slice(special);
                json.extend(std::iter::repeat_n(b'b', len - at));
                json.push(b'"');
                let ours = string(&json).ok().map(Cow::into_owned);
                let serde = serde_json::from_slice::<String>(&json).ok();
                assert_eq!(ours, serde, "{:?}", String::from_utf8_lossy(&json));
            }
        }
    }
}

#[test]
fn bad_strings_are_refused() {
    let cases: &[&[u8]] = &[
        b"\"abc",
        b"\"abc\\",
        b"\"abc\\\"",
        b"\"a\x01b\"",
        b"\"a\nb\"",
        b"\"\x7f\xff\"",
        b"\"\xc3\"",
        b"\"\xed\xa0\x80\"", // a surrogate encoded in UTF-8
        br#""\x41""#,
        br#""\u12""#,
        br#""\u12g4""#,
        br#""\ud83d""#,
        br#""\ud83dx""#,
        br#""\ud83d\n""#,
        br#""\ud83d\u0041""#,
        br#""\ud83d\ud83d""#,
        br#""\ude00""#,
        br#""\U00e9""#,
        b"'a'",
        b"abc",
        b"\"a\" x",
    ];
    for json in cases {
        assert_eq!(
            string(json),
            Err(Invalid),
            "{:?}",
            String::from_utf8_lossy(json)
        );
        assert!(serde_json::from_slice::<String>(json).is_err());
    }
}

#[test]
fn valid_values_are_skipped() {
    let cases: &[&str] = &[
        "null",
        " true ",
        "false",
        "0",
        "-0",
        "-0.0e-0",
        "12.5E+3",
        "1e400",
        "123456789012345678901234567890",
        "\"x\"",
        "[]",
        "[ ]",
        "{}",
        "{ }",
        "[1,[2,{\"a\":[null,{}]}],\"b\"]",
        "{\"a\":{\"b\":[]},\"a\":1,\"\":\"\"}",
        "\t\r\n[\n1\n,\n2\n]\n",
        // The scanner refuses lone surrogates everywhere; serde skips them, as is allowed.
    ];
    for json in cases {
        assert!(skips(json.as_bytes()), "{json}");
        assert!(serde_skips(json.as_bytes()), "{json}");
    }
}

#[test]
fn invalid_values_are_refused() {
    let cases: &[&[u8]] = &[
        b"",
        b" ",
        b"nul",
        b"nulll",
        b"True",
        b"01",
        b"-01",
        b"1.",
        b".5",
        b"-",
        b"+1",
        b"1e",
        b"1e+",
        b"0x1",
        b"NaN",
        b"Infinity",
        b"[1,]",
        b"[,1]",
        b"[1 2]",
        b"[1",
        b"]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{\"a\":}",
        b"{a:1}",
        b"{1:2}",
        b"{\"a\":1",
        b"{\"a\":1]",
        b"[1}",
        b"{\"a\":1}}",
        b"[\"\x01\"]",
        b"\x0b1",
        b"\xef\xbb\xbf1", // a byte-order mark
        b"1 2",
        b"\"a\"\"b\"",
    ];
    for json in cases {
        let text = String::from_utf8_lossy(json);
        assert!(!skips(json), "{text}");
        assert!(!serde_skips(json), "{text}");
    }
    // Stricter than serde where that is simpler.
    assert!(!skips(br#"["\ud800"]"#));
    assert!(serde_skips(br#"["\ud800"]"#));
    assert!(!skips(b"[\"\xff\"]"));
}

#[test]
fn nesting_is_limited() {
    let depth = MAX_DEPTH as usize;
    let ok = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(skips(ok.as_bytes()));
    let deep = format!("{}1{}", "[".repeat(depth + 1), "]".repeat(depth + 1));
    assert!(!skips(deep.as_bytes()));
    let deep = format!("{}1{}", "{\"a\":".repeat(depth + 1), "}".repeat(depth + 1));
    assert!(!skips(deep.as_bytes()));
    let fine = format!(
        "{}1{}",
        "{\"a\":[".repeat(depth / 2),
        "]}".repeat(depth / 2)
    );
    assert!(skips(fine.as_bytes()));
    // Far deeper than serde allows: refused, without recursion.
    let huge = "[".repeat(100_000);
    assert!(!skips(huge.as_bytes()));
}

#[test]
fn unsigned_integers() {
    let read = |json: &str| {
        let mut s = Scanner::new(json);
        let n = s.unsigned()?;
        s.end()?;
        Ok::<_, Invalid>(n)
    };
    assert_eq!(read("0"), Ok(0));
    assert_eq!(read(" 42 "), Ok(42));
    assert_eq!(read("18446744073709551615"), Ok(u64::MAX));
    for json in [
        "",
        "18446744073709551616",
        "01",
        "-1",
        "1.0",
        "1e2",
        "1E2",
        "x",
        "\"1\"",
    ] {
        assert_eq!(read(json), Err(Invalid), "{json}");
    }
}

#[test]
fn objects_and_arrays_are_walked() {
    let json = r#" { "a" : [ 1 , "x" ] , "b\u0063" : null , "d" : {"e":true} } "#;
    let mut s = Scanner::new(json);
    let mut members = s.object().unwrap();
    let mut seen = Vec::new();
    while let Some(key) = s.key(&mut members).unwrap() {
        match &*key {
            "a" => {
                let mut items = s.array().unwrap();
                assert!(s.element(&mut items).unwrap());
                s.skip().unwrap();
                assert!(s.element(&mut items).unwrap());
                assert_eq!(s.string().unwrap(), "x");
                assert!(!s.element(&mut items).unwrap());
            }
            "bc" => assert!(s.null()),
            _ => s.skip().unwrap(),
        }
        seen.push(key.into_owned());
    }
    s.end().unwrap();
    assert_eq!(seen, ["a", "bc", "d"]);

    for json in ["{,\"a\":1}", "{\"a\":1,}", "{\"a\":1 \"b\":2}"] {
        let mut s = Scanner::new(json);
        let mut members = s.object().unwrap();
        let walked = (|| {
            while s.key(&mut members)?.is_some() {
                s.skip()?;
            }
            Ok::<_, Invalid>(())
        })();
        assert_eq!(walked, Err(Invalid));
    }
    let mut s = Scanner::new("[,1]");
    let mut items = s.array().unwrap();
    assert!(s.element(&mut items).unwrap());
    assert!(s.skip().is_err());
}

#[test]
fn every_cut_of_a_document_is_refused_without_panic() {
    let doc = "{\"id\":\"chatcmpl-\\u00e9\\ud83d\\ude00\",\"n\":-12.5e+3,\"ok\":[true,false,null],\
               \"o\":{\"k\":[{},[]]},\"s\":\"a\\\"b\\\\c\\/\\n\",\"u\":\"é😀\"}";
    let bytes = doc.as_bytes();
    assert!(skips(bytes));
    for cut in 0..bytes.len() {
        let part = &bytes[..cut];
        assert!(!skips(part), "cut at {cut}");
        // Reading keys and strings must not panic either.
        let Ok(part) = std::str::from_utf8(part) else {
            continue;
        };
        let mut s = Scanner::new(part);
        if let Ok(mut members) = s.object() {
            while let Ok(Some(_)) = s.key(&mut members) {
                if s.string().is_err() && s.skip().is_err() {
                    break;
                }
            }
        }
    }
}

/// Bytes that are mostly JSON's own.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => proptest::sample::select(b"{}[],:\" \\0123456789-+.eEtrufalsnu/dD8bfA\n\x00\x1f\xc3\xa9\xed\xff".to_vec()),
        1 => any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..48)
}

proptest! {
    #[test]
    fn accepts_only_what_serde_accepts(bytes in jsonish()) {
        if skips(&bytes) {
            prop_assert!(serde_skips(&bytes), "{:?}", String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn reads_strings_as_serde_does(inner in jsonish()) {
        let mut json = b"\"".to_vec();
        json.extend_from_slice(&inner);
        json.push(b'"');
        let ours = string(&json).ok().map(Cow::into_owned);
        let serde = serde_json::from_slice::<String>(&json).ok();
        prop_assert_eq!(ours, serde);
    }

    #[test]
    fn reads_whatever_is_written(seed in any::<u64>()) {
        let mut g = Gen::new(seed);
        let text = g.text();
        let value = J::obj(vec![("s", J::Str(text.clone())), ("v", g.value(3))]);
        let json = String::from_utf8(g.write(&value, true)).unwrap();
        prop_assert!(skips(json.as_bytes()), "{json:?}");
        prop_assert!(serde_skips(json.as_bytes()));
        let mut s = Scanner::new(&json);
        let mut members = s.object().unwrap();
        while let Some(key) = s.key(&mut members).unwrap() {
            if key == "s" {
                prop_assert_eq!(s.string().unwrap(), text.as_str());
            } else {
                s.skip().unwrap();
            }
        }
        prop_assert!(s.end().is_ok());
    }

    #[test]
    fn damaged_documents_never_panic(seed in any::<u64>()) {
        let mut g = Gen::new(seed);
        let value = g.value(4);
        let mut json = g.write(&value, true);
        g.mutate(&mut json, 1);
        if skips(&json) {
            prop_assert!(serde_skips(&json), "{:?}", String::from_utf8_lossy(&json));
        }
    }
}
