//! Tests of the stream decoder and encoder: the IR events of each `.sse` fixture, encoder
//! output decoded back to the same events, and the event order Anthropic clients rely on.
//! Helpers here are shared with `split`.

use serde_json::{Value, json};

use super::fixture;
use crate::translate::anthropic::{StreamDecoder, StreamEncoder};
use crate::translate::ir::{ErrorInfo, Event, FinishReason, Usage};
use crate::translate::sse::{SseFramer, event_data, event_name};
use crate::translate::{StreamDecoder as _, StreamEncoder as _};

pub(super) const STREAMS: [&str; 5] = [
    "stream_text.sse",
    "stream_tool_use.sse",
    "stream_thinking.sse",
    "stream_stop_sequence.sse",
    "stream_error.sse",
];

/// The events of a byte stream, in order.
pub(super) fn frame(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut framer = SseFramer::new();
    framer.push(bytes);
    let mut events = Vec::new();
    while let Some(event) = framer.next_event() {
        events.push(event.to_vec());
    }
    events.extend(framer.finish().map(|tail| tail.to_vec()));
    events
}

/// IR events, whether the stream completed, and the malformed count.
pub(super) fn decode(bytes: &[u8]) -> (Vec<Event>, bool, u64) {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for event in frame(bytes) {
        decoder.decode_event(&event, &mut out);
    }
    let completed = decoder.finish(&mut out);
    (out, completed, decoder.malformed)
}

/// Encodes events as the translator drives an encoder: an `Error` fails the stream.
fn encode(events: &[Event], completed: bool) -> Vec<u8> {
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    for event in events {
        match event {
            Event::Error(e) => encoder.fail(e, &mut out),
            _ => encoder.encode_event(event, &mut out),
        }
    }
    if completed {
        encoder.finish(&mut out);
    }
    out
}

/// `(event name, data)` of each event of an encoder's output.
fn parsed(out: &[u8]) -> Vec<(String, Value)> {
    frame(out)
        .iter()
        .map(|e| {
            let name = String::from_utf8(event_name(e).unwrap().to_vec()).unwrap();
            let data: Value = serde_json::from_slice(&event_data(e).unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

/// Asserts the order of an Anthropic stream: `message_start` first, blocks numbered from 0
/// and opened before their deltas, one open block at a time, `message_delta` then
/// `message_stop` last, or an `error` last with nothing after it.
pub(super) fn check_order(out: &[u8]) {
    let events = parsed(out);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let last = names.len() - 1;
    if names != ["error"] {
        assert_eq!(names[0], "message_start", "{names:?}");
    }
    let (mut open, mut started) = (None, 0u64);
    for (i, (name, data)) in events.iter().enumerate() {
        let index = data["index"].as_u64();
        match name.as_str() {
            "message_start" => assert_eq!(i, 0),
            "ping" => {}
            "content_block_start" => {
                assert_eq!((open, index), (None, Some(started)), "{names:?}");
                open = index;
                started += 1;
            }
            "content_block_delta" => {
                assert!(
                    index.unwrap() < started,
                    "delta before its block: {names:?}"
                );
                if data["delta"]["type"] != "input_json_delta" {
                    assert_eq!(index, open, "{names:?}");
                }
            }
            "content_block_stop" => {
                assert_eq!(index, open, "{names:?}");
                open = None;
            }
            "message_delta" => assert_eq!((i + 1, open), (last, None), "{names:?}"),
            "message_stop" | "error" => assert_eq!(i, last, "{names:?}"),
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(matches!(names[last], "message_stop" | "error"), "{names:?}");
}

fn start(id: &str) -> Event {
    Event::Start {
        id: id.into(),
        model: "claude-sonnet-4-5-20250929".into(),
    }
}

fn usage(input: u64, output: u64, cached: u64, creation: u64) -> Event {
    Event::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        cached_input_tokens: cached,
        cache_creation_input_tokens: creation,
    })
}

fn text(t: &str) -> Event {
    Event::TextDelta(t.into())
}

fn args(index: u32, a: &str) -> Event {
    Event::ToolCallDelta {
        index,
        arguments: a.into(),
    }
}

fn tool(index: u32, id: &str, name: &str) -> Event {
    Event::ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    }
}

fn finish(reason: FinishReason) -> Event {
    Event::Finish {
        reason,
        stop_sequence: None,
    }
}

#[test]
fn fixture_events() {
    let expected = [
        vec![
            start("msg_01XFDUDYJgAACzvnptvVoYEL"),
            usage(25, 1, 0, 0),
            text("Hello"),
            text("! How can I help you \"today\"? ✨"),
            usage(25, 15, 0, 0),
            finish(FinishReason::Stop),
        ],
        vec![
            start("msg_014p7gG3wDgGV9EUtLvnow3U"),
            usage(2520, 2, 2048, 0),
            text("Okay, let me check"),
            text(" the weather and the time."),
            tool(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
            args(0, "{\"location\":"),
            args(0, " \"San Francisco, CA\""),
            args(0, ", \"unit\": \"fahrenheit\"}"),
            tool(1, "toolu_01B7kR4jXgZ2sWv3nQ8mT5pL", "get_time"),
            args(1, "{\"timezone\": \"Amer"),
            args(1, "ica/Los_Angeles\"}"),
            usage(2520, 89, 2048, 0),
            finish(FinishReason::ToolCalls),
        ],
        vec![
            start("msg_01DMn1aS2kmw7fFYXb2pFxTE"),
            usage(548, 4, 0, 512),
            Event::ThinkingDelta("I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147".into()),
            Event::ThinkingDelta("\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\n\nSo GCD(1071, 462) = 21".into()),
            Event::ThinkingSignature("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds2hS5C8Us/NQLAHsSZcvZbZ8qQGFp6yQ5yjLc7C3NvH0yR5z".into()),
            text("The greatest common divisor of 1071 and 462 is **21**."),
            usage(548, 178, 0, 512),
            finish(FinishReason::Stop),
        ],
        vec![
            start("msg_01HCCw5wuGzwN1Eqp4hBh3xm"),
            usage(12, 1, 0, 0),
            text("1, 2, 3, 4"),
            usage(12, 10, 0, 0),
            Event::Finish { reason: FinishReason::StopSequence, stop_sequence: Some(", 5".into()) },
        ],
        vec![
            start("msg_01Q3fLzWxK9XbvW1yN4rJp2T"),
            usage(18, 1, 0, 0),
            text("Once upon a time"),
            Event::Error(ErrorInfo {
                status: 529,
                message: "Overloaded".into(),
                code: Some("overloaded_error".into()),
            }),
        ],
    ];
    for (name, expected) in STREAMS.iter().zip(expected) {
        let (events, completed, malformed) = decode(&fixture(name));
        assert_eq!(events, expected, "{name}");
        assert_eq!(
            (completed, malformed),
            (*name != "stream_error.sse", 0),
            "{name}"
        );
    }
}

#[test]
fn encoder_output_decodes_to_the_same_events() {
    for name in STREAMS {
        let (events, completed, _) = decode(&fixture(name));
        let out = encode(&events, completed);
        check_order(&out);
        assert_eq!(decode(&out), (events, completed, 0), "{name}");
    }
}

#[test]
fn encoder_block_order_and_tool_indexes() {
    let events = [
        start("msg_1"),
        Event::ThinkingDelta("a".into()),
        Event::ThinkingSignature("sig".into()),
        Event::ThinkingDelta("b".into()),
        text("t"),
        tool(0, "call_1", "f"),
        tool(1, "call_2", "g"),
        args(0, "{}"),
        args(1, "{\"x\":1}"),
        args(7, "{\"never\":\"announced\"}"),
        finish(FinishReason::ToolCalls),
    ];
    let out = encode(&events, true);
    check_order(&out);
    let summary: Vec<String> = parsed(&out)
        .iter()
        .map(|(name, d)| match name.as_str() {
            "content_block_start" => format!("start {} {}", d["index"], d["content_block"]["type"]),
            "content_block_delta" => format!("delta {} {}", d["index"], d["delta"]["type"]),
            "content_block_stop" => format!("stop {}", d["index"]),
            "message_delta" => format!("message_delta {}", d["delta"]["stop_reason"]),
            other => other.to_owned(),
        })
        .collect();
    let expected = [
        "message_start",
        "ping",
        "start 0 \"thinking\"",
        "delta 0 \"thinking_delta\"",
        "delta 0 \"signature_delta\"",
        "stop 0",
        "start 1 \"thinking\"",
        "delta 1 \"thinking_delta\"",
        "stop 1",
        "start 2 \"text\"",
        "delta 2 \"text_delta\"",
        "stop 2",
        "start 3 \"tool_use\"",
        "stop 3",
        "start 4 \"tool_use\"",
        // Tool 0's arguments go to its own block, though tool 1's opened since.
        "delta 3 \"input_json_delta\"",
        "delta 4 \"input_json_delta\"",
        "stop 4",
        "message_delta \"tool_use\"",
        "message_stop",
    ];
    assert_eq!(summary, expected);
    let tool_block = &parsed(&out)[12].1["content_block"];
    assert_eq!(
        *tool_block,
        json!({ "type": "tool_use", "id": "call_1", "name": "f", "input": {} })
    );
}

#[test]
fn message_start_carries_the_usage_reported_with_the_start() {
    let out = encode(&[start("resp_9"), usage(100, 0, 60, 10), text("x")], true);
    let events = parsed(&out);
    let message = &events[0].1["message"];
    assert_eq!(message["id"], "msg_resp_9");
    assert_eq!(
        message["usage"],
        json!({ "input_tokens": 30, "output_tokens": 0, "cache_read_input_tokens": 60, "cache_creation_input_tokens": 10 })
    );
    // Usage reported later goes to `message_delta`; the start has zeros.
    let out = encode(
        &[
            start("msg_2"),
            text("x"),
            usage(7, 3, 0, 0),
            finish(FinishReason::Length),
        ],
        true,
    );
    let events = parsed(&out);
    assert_eq!(
        events[0].1["message"]["usage"],
        json!({ "input_tokens": 0, "output_tokens": 0 })
    );
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({ "stop_reason": "max_tokens", "stop_sequence": null })
    );
    assert_eq!(delta["usage"]["output_tokens"], 3);
    assert_eq!(delta["usage"]["input_tokens"], 7);
}

#[test]
fn message_start_comes_first_even_without_a_start_event() {
    let out = encode(&[text("hello")], true);
    check_order(&out);
    let events = parsed(&out);
    let delta = &events[events.len() - 2].1;
    assert_eq!(
        delta["delta"]["stop_reason"], "end_turn",
        "a missing finish is a normal end"
    );
    let bare = encode(&[start("msg_3")], true);
    check_order(&bare);
    let names: Vec<String> = parsed(&bare).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["message_start", "ping", "message_delta", "message_stop"]
    );
}

#[test]
fn nothing_follows_an_error() {
    let err = ErrorInfo {
        status: 429,
        message: "slow down".into(),
        code: None,
    };
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    encoder.encode_event(&start("msg_4"), &mut out);
    encoder.encode_event(&text("partial"), &mut out);
    encoder.fail(&err, &mut out);
    let len = out.len();
    encoder.encode_event(&text("more"), &mut out);
    encoder.fail(&err, &mut out);
    encoder.finish(&mut out);
    assert_eq!(out.len(), len);
    check_order(&out);
    let events = parsed(&out);
    assert_eq!(
        events.last().unwrap().1,
        json!({ "type": "error", "error": { "type": "rate_limit_error", "message": "slow down" } })
    );
    // Failing before anything was sent writes the error alone.
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    encoder.encode_event(&start("msg_5"), &mut out);
    encoder.fail(&err, &mut out);
    assert!(
        out.starts_with(b"event: error\ndata: "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    check_order(&out);
}

#[test]
fn tool_input_sent_whole_in_the_block_start_is_kept() {
    let stream = concat!(
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_x\",\"name\":\"f\",\"input\":{\"a\":1}}}\n\n",
    );
    let (events, _, _) = decode(stream.as_bytes());
    assert_eq!(events, [tool(0, "toolu_x", "f"), args(0, "{\"a\":1}")]);
}

#[test]
#[should_panic(expected = "delta before its block")]
fn check_order_catches_a_delta_before_its_block() {
    check_order(concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
    ).as_bytes());
}
