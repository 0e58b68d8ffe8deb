//! The OpenAI stream decoder's fast path against its serde path: the common chunks are read
//! by the fast path, the others declined, and either way the decoder gives the same events and
//! malformed count as with serde alone, on fixtures and on generated chunks (random strings,
//! escapes, key order, whitespace, unknown and repeated fields, wrong types, damaged bytes).

use proptest::prelude::*;
use rand::Rng;

use crate::translate::StreamDecoder as _;
use crate::translate::openai::StreamDecoder;
use crate::translate::openai::stream_fast::{Simple, Skipped, Template, Text};
use crate::translate::sse::{SseFramer, event_data};
use crate::translate::tests::{Gen, J, SCALARS};

/// The chunks of the bench and of the mock upstream's streams.
const COMMON: &[&str] = &[
    r#"{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1732000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1732000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
    r#"{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1732000000,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
    r#"{"id":"x","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"reasoning_content":"Hm\u2026 \"so\"","content":null}}]}"#,
    r#"{"choices":[],"id":"x","model":"m","object":"chat.completion.chunk","usage":null,"error":null}"#,
    r#" { "choices" : [ { "delta" : null , "finish_reason" : "length" } ] } "#,
];

/// Chunks the fast path leaves to serde.
const DECLINED: &[&str] = &[
    r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
    r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":""}}]}}]}"#,
    r#"{"error":{"message":"boom","type":"server_error"}}"#,
    r#"{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}"#,
    r#"{"id":"a","id":"b","choices":[]}"#,
    r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
    r#"{"choices":[{"delta":{"content":"a"},"finish_reason":null,"finish_reason":"stop"}]}"#,
    r#"{"id":1,"choices":[]}"#,
    r#"{"choices":[{"delta":{"content":["a"]}}]}"#,
    r#"{"choices":null}"#,
    r#"{"choices":[null]}"#,
    r#"{"choices":[{"delta":"x"}]}"#,
    r#"["id","model",[]]"#,
    r#"{"id":"\ud800","choices":[]}"#,
    r#"{"choices":[]} x"#,
];

/// The chunk as the fast path reads it.
fn read(data: &[u8]) -> Option<Simple<'_>> {
    crate::translate::openai::stream_fast::read(
        std::str::from_utf8(data).ok()?,
        &mut Skipped::default(),
    )
}

/// A template that keeps `json`.
fn kept(json: &str) -> Template {
    let mut template = Template::default();
    let mut skipped = Skipped::default();
    let chunk = crate::translate::openai::stream_fast::read(json, &mut skipped).unwrap();
    template.keep(json, &chunk, &skipped);
    template
}

#[test]
fn common_chunks_take_the_fast_path() {
    for json in COMMON {
        assert!(read(json.as_bytes()).is_some(), "{json}");
    }
    let json = COMMON[3];
    let chunk = read(json.as_bytes()).unwrap();
    assert_eq!(chunk.id.as_deref(), Some("x"));
    assert_eq!(chunk.model.as_deref(), Some("deepseek-reasoner"));
    let choice = chunk.choice.unwrap();
    assert_eq!(choice.reasoning.as_deref(), Some("Hm… \"so\""));
    assert_eq!((choice.content, choice.finish_reason), (None, None));
    let (start, end) = choice.reasoning_at;
    assert_eq!(&json[start..end], r#""Hm\u2026 \"so\"""#);
    for json in DECLINED {
        assert!(read(json.as_bytes()).is_none(), "{json}");
    }
}

#[test]
fn a_template_reads_the_chunks_that_differ_only_in_their_text() {
    let kept = COMMON[1];
    let mut template = self::kept(kept);
    let same = |text: &str| kept.replace(r#""Hello""#, text);
    for (text, read) in [
        (r#""""#, ""),
        (r#""a\"b""#, "a\"b"),
        (r#" "\u00e9😀""#, "é😀"),
    ] {
        let chunk = same(text);
        let got = template.text(&chunk);
        assert_eq!(got, Some((Text::Content, read.into())), "{text}");
    }
    // Not a string, not one string, not the same bytes around it.
    for text in [
        "null",
        "1",
        r#""a" "b""#,
        r#""a","content":"b""#,
        r#""\ud800""#,
        r#""a"#,
    ] {
        assert_eq!(template.text(&same(text)), None, "{text}");
    }
    assert!(template.text(&format!("{kept} \n")).is_some());
    assert_eq!(template.text(&kept.replace("abc", "abd")), None);
    assert_eq!(template.text(&format!("{kept}x")), None);

    // Chunks that keep missing (a `created` that changes): the template gives up.
    let mut template = self::kept(kept);
    for n in 0..8 {
        let other = kept.replace("1732000000", &format!("17330000{n:02}"));
        assert_eq!(template.text(&other), None);
    }
    assert_eq!(template.text(kept), None);

    // The strings the decoder skips may vary too, as OpenAI's `obfuscation` does.
    let padded = |text: &str, pad: &str| {
        kept.replace(r#""Hello""#, text)
            .replace(r#"}]}"#, &format!(r#"}}],"obfuscation":"{pad}"}}"#))
    };
    let first = padded(r#""Hello""#, "a1");
    let mut template = self::kept(&first);
    let next = padded(r#""you""#, "Zq\\u00e9x");
    let got = template.text(&next);
    assert_eq!(got, Some((Text::Content, "you".into())));
    let next = padded(r#""you""#, "fp_2").replace("fp_1", "fp_2");
    assert!(template.text(&next).is_some());
    let next = padded(r#""you""#, "\\ud800");
    assert_eq!(template.text(&next), None);

    // Only chunks with one text and no finish reason are kept.
    for json in [COMMON[2], COMMON[4], COMMON[5]] {
        assert_eq!(self::kept(json).text(json), None, "{json}");
    }
    let mut template = self::kept(COMMON[3]);
    let other = COMMON[3].replace(r#""Hm\u2026 \"so\"""#, r#""ok""#);
    assert_eq!(template.text(&other), Some((Text::Reasoning, "ok".into())));
}

#[test]
fn fixture_streams_give_the_same_events() {
    let mut streams = vec![];
    for dir in std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/golden"
    ))
    .unwrap()
    {
        let path = dir.unwrap().path().join("up.openai.sse");
        if let Ok(stream) = std::fs::read(&path) {
            streams.push(stream);
        }
    }
    assert!(streams.len() >= 5);
    let mut handled = 0;
    for stream in &streams {
        let mut framer = SseFramer::new();
        framer.push(stream);
        let mut data = vec![];
        while let Some(event) = framer.next_event() {
            let d = event_data(&event).unwrap().into_owned();
            if d != b"[DONE]" {
                handled += usize::from(read(&d).is_some());
                data.push(d);
            }
        }
        compare(&data);
    }
    // Most chunks of real streams are text; the rest are tool calls and usage.
    assert!(handled >= 20, "{handled}");
    let all: Vec<Vec<u8>> = COMMON
        .iter()
        .chain(DECLINED)
        .map(|j| j.as_bytes().to_vec())
        .collect();
    compare(&all);
}

/// Decodes the data of `events` with the fast path and with serde alone: the same events,
/// malformed counts and end.
fn compare(events: &[Vec<u8>]) {
    let (mut fast, mut slow) = (StreamDecoder::new(), StreamDecoder::new());
    for data in events {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fast.decode_data(data, &mut a);
        slow.decode_serde(data, &mut b);
        assert_eq!(a, b, "{}", String::from_utf8_lossy(data));
        assert_eq!(
            fast.malformed,
            slow.malformed,
            "{}",
            String::from_utf8_lossy(data)
        );
    }
    assert_eq!(fast.finish(&mut vec![]), slow.finish(&mut vec![]));
}

/// A string, `null` or (rarely) a value of another type; `None`: the key is left out.
fn optional_text(g: &mut Gen, text: impl FnOnce(&mut Gen) -> String) -> Option<J> {
    match g.rng.gen_range(0..30) {
        0 => None,
        1 | 2 => Some(J::Raw("null")),
        3 => Some(g.value(2)),
        _ => Some(J::Str(text(g))),
    }
}

fn delta(g: &mut Gen) -> J {
    let mut members = vec![];
    if g.one_in(4) {
        members.push(("role".into(), J::str("assistant")));
    }
    if let Some(text) = optional_text(g, Gen::text) {
        members.push(("content".into(), text));
    }
    if g.one_in(4)
        && let Some(text) = optional_text(g, Gen::text)
    {
        members.push(("reasoning_content".into(), text));
    }
    if g.one_in(5) {
        members.push(("refusal".into(), J::Raw("null")));
    }
    if g.one_in(20) {
        let call = J::obj(vec![
            ("index", J::Raw(g.pick(&["0", "1", "-1"]))),
            ("id", J::Str(g.text())),
            (
                "function",
                J::obj(vec![
                    ("name", J::Str(g.text())),
                    ("arguments", J::Str(g.text())),
                ]),
            ),
        ]);
        members.push(("tool_calls".into(), J::Arr(vec![call])));
    }
    g.object(members)
}

fn choice(g: &mut Gen) -> J {
    let mut members = vec![("index".to_owned(), J::Raw("0"))];
    match g.rng.gen_range(0..30) {
        0 => {}
        1 => members.push(("delta".into(), J::Raw("null"))),
        2 => members.push(("delta".into(), g.value(1))),
        _ => members.push(("delta".into(), delta(g))),
    }
    members.push(("logprobs".into(), J::Raw("null")));
    let reason = match g.rng.gen_range(0..8) {
        0 => None,
        1 => optional_text(g, Gen::text),
        2 | 3 => {
            let reasons = [
                "stop",
                "length",
                "tool_calls",
                "function_call",
                "content_filter",
            ];
            Some(J::str(g.pick(&reasons)))
        }
        _ => Some(J::Raw("null")),
    };
    if let Some(reason) = reason {
        members.push(("finish_reason".into(), reason));
    }
    g.object(members)
}

/// A chunk, usually of a common shape.
fn chunk(g: &mut Gen) -> J {
    if let Some(odd) = g.odd_value() {
        return odd;
    }
    let mut members = vec![];
    if let Some(id) = optional_text(g, |g| format!("chatcmpl-{}", g.text())) {
        members.push(("id".to_owned(), id));
    }
    members.push(("object".into(), J::str("chat.completion.chunk")));
    members.push(("created".into(), J::Raw(g.pick(SCALARS))));
    if let Some(model) = optional_text(g, Gen::text) {
        members.push(("model".into(), model));
    }
    let choices = match g.rng.gen_range(0..30) {
        0 => None,
        1 => Some(J::Arr(vec![])),
        2 => Some(J::Raw("null")),
        3 => Some(J::Arr(vec![choice(g), choice(g)])),
        4 => Some(J::Arr(vec![g.value(1)])),
        _ => Some(J::Arr(vec![choice(g)])),
    };
    if let Some(choices) = choices {
        members.push(("choices".into(), choices));
    }
    match g.rng.gen_range(0..20) {
        0..=2 => members.push(("usage".into(), J::Raw("null"))),
        3 => members.push((
            "usage".into(),
            J::obj(vec![
                ("prompt_tokens", J::Raw(g.pick(SCALARS))),
                ("completion_tokens", J::Raw("7")),
                (
                    "prompt_tokens_details",
                    J::obj(vec![("cached_tokens", J::Raw("2"))]),
                ),
            ]),
        )),
        4 => members.push(("usage".into(), g.value(1))),
        _ => {}
    }
    match g.rng.gen_range(0..30) {
        0 => members.push(("error".into(), J::Raw("null"))),
        1 => members.push((
            "error".into(),
            J::obj(vec![("message", J::Str(g.text())), ("code", g.value(1))]),
        )),
        _ => {}
    }
    g.object(members)
}

/// Puts `text` as the value of the first choice's `content` or `reasoning_content`, if the
/// chunk has one.
fn set_text(chunk: &mut J, text: J) {
    let J::Obj(members) = chunk else { return };
    let Some((_, J::Arr(choices))) = members.iter_mut().find(|(k, _)| k == "choices") else {
        return;
    };
    let Some(J::Obj(choice)) = choices.first_mut() else {
        return;
    };
    let Some((_, J::Obj(delta))) = choice.iter_mut().find(|(k, _)| k == "delta") else {
        return;
    };
    let texts = ["content", "reasoning_content"];
    if let Some((_, value)) = delta.iter_mut().find(|(k, _)| texts.contains(&k.as_str())) {
        *value = text;
    }
}

/// Usually a JSON string, written any way; sometimes something else.
fn string_or_not(g: &mut Gen) -> String {
    match g.rng.gen_range(0..12) {
        0 => g
            .pick(&["null", "1", r#""a" "b""#, "[]", r#""\u00""#])
            .to_owned(),
        _ => {
            let text = g.text();
            String::from_utf8(g.write(&J::Str(text), false)).unwrap()
        }
    }
}

proptest! {
    #[test]
    fn fast_path_gives_what_serde_gives(seed in any::<u64>()) {
        let events = Gen::hostile(seed).some(|g| {
            let value = chunk(g);
            let shuffle = !g.one_in(3);
            let mut data = g.write(&value, shuffle);
            g.mutate(&mut data, 5);
            data
        });
        compare(&events);
    }

    #[test]
    fn chunks_differing_only_in_their_text_give_what_serde_gives(seed in any::<u64>()) {
        // Written alike (one writer seed) but for the text, so the template is used.
        let mut g = Gen::hostile(seed);
        let chunk = chunk(&mut g);
        let writer: u64 = g.rng.r#gen();
        let shuffle = !g.one_in(3);
        let padded = g.one_in(2);
        let mut events = vec![];
        for _ in 0..g.rng.gen_range(2..8) {
            let mut chunk = chunk.clone();
            let text = string_or_not(&mut g);
            set_text(&mut chunk, J::Verbatim(text));
            if let (true, J::Obj(members)) = (padded, &mut chunk) {
                let pad = string_or_not(&mut g);
                members.push(("obfuscation".into(), J::Verbatim(pad)));
            }
            let mut data = Gen::new(writer).write(&chunk, shuffle);
            g.mutate(&mut data, 6);
            events.push(data);
        }
        compare(&events);
    }
}
