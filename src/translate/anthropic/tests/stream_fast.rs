//! The Anthropic stream decoder's fast path against its lenient serde reader: the common
//! events are read by the fast path, the others declined, and either way the decoder gives
//! the same events and malformed count as with the serde reader alone, on fixtures and on
//! generated events (random strings, escapes, key order, whitespace, unknown and repeated
//! fields, wrong types, damaged bytes).

use proptest::prelude::*;
use rand::Rng;

use super::fixture;
use super::stream::STREAMS;
use crate::translate::StreamDecoder as _;
use crate::translate::anthropic::StreamDecoder;
use crate::translate::anthropic::stream_fast::{Simple, by_keys, delta_as_sent, read};
use crate::translate::sse::{SseFramer, event_data};
use crate::translate::tests::{Gen, J, SCALARS};

const COMMON: &[&str] = &[
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
    r#"{"delta":{"text":" ! Enchant\u00e9","type":"text_delta"},"index":0,"type":"content_block_delta"}"#,
    r#"{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":"Let me see"}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}"#,
    r#"{"type": "ping"}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"message_stop"}"#,
    r#"{"type":"content_block_stop","index":0,"extra":{"x":[1e400,"\u00e9"]}}"#,
];

const DECLINED: &[&str] = &[
    r#"{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"s"}}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}"#,
    r#"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#,
    r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"no index"}}"#,
    r#"{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"a"}}"#,
    r#"{"type":"content_block_delta","index":1.0,"delta":{"type":"text_delta","text":"a"}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":1}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","text":"b"}}"#,
    r#"{"type":"ping","type":"message_stop"}"#,
    r#"{"type":"ping","usage":{"input_tokens":1e400}}"#,
    r#"{"type":"ping","delta":{"stop_reason":1e400}}"#,
    r#"{"type":"ping","index":1e400}"#,
    r#"{"type":7}"#,
    r#"{"index":0}"#,
    r#"{"type":"something_new"}"#,
    r#"["ping"]"#,
    // Refused by the scanner though serde skips it.
    r#"{"type":"content_block_stop","index":0,"extra":"\ud800"}"#,
];

#[test]
fn common_events_take_the_fast_path() {
    for json in COMMON {
        assert!(read(json).is_some(), "{json}");
    }
    assert_eq!(read(COMMON[1]), Some(Simple::Text(" ! Enchanté".into())));
    assert_eq!(read(COMMON[2]), Some(Simple::Thinking("Let me see".into())));
    assert_eq!(read(COMMON[6]), Some(Simple::Stop));
    for json in DECLINED {
        assert!(read(json).is_none(), "{json}");
    }
}

#[test]
fn deltas_as_anthropic_writes_them_are_read_alike_both_ways() {
    let as_sent = [
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
        r#"{"type":"content_block_delta","index":18446744073709551615,"delta":{"type":"text_delta","text":""}}"#,
        r#"{"type":"content_block_delta","index":3,"delta":{"type":"thinking_delta","thinking":"a\"\u00e9\ud83d\ude00"}}"#,
        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"é 😀\"}} \r\n",
    ];
    for json in as_sent {
        assert!(delta_as_sent(json).is_some(), "{json}");
        assert_eq!(delta_as_sent(json), by_keys(json), "{json}");
    }
    let not_as_sent = [
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","x":1}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"},"x":1}"#,
        r#"{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"a"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\ud800"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","text":"a"}}"#,
        r#"{"type":"content_block_delta", "index":0,"delta":{"type":"text_delta","text":"a"}}"#,
    ];
    for json in not_as_sent {
        assert_eq!(delta_as_sent(json), None, "{json}");
    }
}

#[test]
fn fixture_streams_give_the_same_events() {
    let mut streams: Vec<Vec<u8>> = STREAMS.iter().map(|name| fixture(name)).collect();
    for dir in std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/golden"
    ))
    .unwrap()
    {
        if let Ok(stream) = std::fs::read(dir.unwrap().path().join("up.anthropic.sse")) {
            streams.push(stream);
        }
    }
    let mut handled = 0;
    for stream in &streams {
        let mut framer = SseFramer::new();
        framer.push(stream);
        let mut events = vec![];
        while let Some(event) = framer.next_event() {
            let data = event_data(&event).unwrap();
            let json = String::from_utf8(data.into_owned()).unwrap();
            handled += usize::from(read(&json).is_some());
            events.push((event.to_vec(), json));
        }
        compare(&events);
    }
    assert!(handled >= 30, "{handled}");
    let all: Vec<(Vec<u8>, String)> = COMMON
        .iter()
        .chain(DECLINED)
        .map(|j| (b"event: ping\n".to_vec(), j.to_string()))
        .collect();
    compare(&all);
}

/// Decodes `(event, json)` pairs with the fast path and with the serde reader alone: the same
/// events, malformed counts and end.
fn compare(events: &[(Vec<u8>, String)]) {
    let (mut fast, mut slow) = (StreamDecoder::new(), StreamDecoder::new());
    for (event, json) in events {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fast.decode_json(event, json, &mut a);
        slow.decode_wire(event, json, &mut b);
        assert_eq!(a, b, "{json}");
        assert_eq!(fast.malformed, slow.malformed, "{json}");
    }
    assert_eq!(fast.finish(&mut vec![]), slow.finish(&mut vec![]));
}

/// Event types, the common ones more often.
const TYPES: &[&str] = &[
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "ping",
    "ping",
    "content_block_stop",
    "message_stop",
    "ping",
    "content_block_stop",
    "message_stop",
    "message_start",
    "message_delta",
    "content_block_start",
    "error",
];

const DELTA_TYPES: &[&str] = &[
    "text_delta",
    "text_delta",
    "text_delta",
    "text_delta",
    "text_delta",
    "thinking_delta",
    "thinking_delta",
    "signature_delta",
    "input_json_delta",
    "citations_delta",
];

/// A string, or (rarely) a value of another type; `None`: the key is left out.
fn text(g: &mut Gen, text: impl FnOnce(&mut Gen) -> String) -> Option<J> {
    match g.rng.gen_range(0..30) {
        0 => None,
        1 => Some(J::Raw("null")),
        2 => Some(g.value(2)),
        _ => Some(J::Str(text(g))),
    }
}

fn delta(g: &mut Gen) -> J {
    let kind = g.pick(DELTA_TYPES);
    let mut members = vec![];
    if let Some(kind) = text(g, |_| kind.to_owned()) {
        members.push(("type".to_owned(), kind));
    }
    // Usually the field the type names, sometimes others.
    let field = match kind {
        "thinking_delta" => "thinking",
        "signature_delta" => "signature",
        "input_json_delta" => "partial_json",
        _ => "text",
    };
    for key in [
        "text",
        "thinking",
        "signature",
        "partial_json",
        "stop_reason",
    ] {
        if if key == field {
            !g.one_in(10)
        } else {
            g.one_in(20)
        } && let Some(value) = text(g, Gen::text)
        {
            members.push((key.into(), value));
        }
    }
    g.object(members)
}

/// An event's JSON, usually of a common shape.
fn event(g: &mut Gen) -> J {
    if let Some(odd) = g.odd_value() {
        return odd;
    }
    let mut members = vec![];
    if let Some(kind) = text(g, |g| g.pick(TYPES).to_string()) {
        members.push(("type".to_owned(), kind));
    }
    match g.rng.gen_range(0..30) {
        0 => {}
        1 => members.push(("index".into(), J::Raw(g.pick(SCALARS)))),
        2 => members.push(("index".into(), g.value(1))),
        _ => members.push(("index".into(), J::Raw(g.pick(&["0", "1", "2"])))),
    }
    match g.rng.gen_range(0..30) {
        0 => {}
        1 => members.push(("delta".into(), g.value(1))),
        _ => members.push(("delta".into(), delta(g))),
    }
    if g.one_in(20) {
        let key = g.pick(&["message", "content_block", "usage", "error"]);
        let value = J::obj(vec![
            ("type", J::str("tool_use")),
            ("id", J::Str(g.text())),
            ("name", J::Str(g.text())),
            ("input_tokens", J::Raw(g.pick(SCALARS))),
            ("message", J::Str(g.text())),
        ]);
        members.push((key.into(), value));
    }
    g.object(members)
}

/// A delta as Anthropic writes it (now and then with the other delta's field).
fn as_sent(g: &mut Gen) -> Vec<u8> {
    let index = g.pick(&["0", "7", "18446744073709551615"]);
    let (kind, field) = g.pick(&[
        ("text_delta", "text"),
        ("text_delta", "text"),
        ("thinking_delta", "thinking"),
        ("text_delta", "thinking"),
    ]);
    let text = serde_json::to_string(&g.text()).unwrap();
    format!(r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"{kind}","{field}":{text}}}}}"#)
        .into_bytes()
}

proptest! {
    #[test]
    fn fast_path_gives_what_serde_gives(seed in any::<u64>()) {
        let events = Gen::hostile(seed).some(|g| {
            let mut data = if g.one_in(3) {
                as_sent(g)
            } else {
                let value = event(g);
                let shuffle = !g.one_in(3);
                g.write(&value, shuffle)
            };
            g.mutate(&mut data, 5);
            let name = g.pick(TYPES);
            let sse = format!("event: {name}\ndata: x\n\n").into_bytes();
            (sse, String::from_utf8_lossy(&data).into_owned())
        });
        compare(&events);
    }
}
