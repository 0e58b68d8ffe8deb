//! Tests of the Gemini stream codec: the decoder over each recorded `.sse` fixture, the
//! encoder alone and encoder → decoder round trips, nothing after `fail`, every fixture
//! split at every byte offset through a [`StreamTranslator`], and a never-panics proptest.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::tests::arb_json;
use super::{StreamDecoder, StreamEncoder};
use crate::translate::ir::*;
use crate::translate::{StreamDecoder as _, StreamEncoder as _, StreamTranslator};

const STREAM_TEXT: &[u8] = include_bytes!("../../../tests/fixtures/gemini/stream_text.sse");
const STREAM_CALLS: &[u8] =
    include_bytes!("../../../tests/fixtures/gemini/stream_function_call.sse");

/// Decodes a whole stream event by event: (events, finished properly, malformed count).
fn decode(stream: &[u8]) -> (Vec<Event>, bool, u64) {
    let mut framer = crate::sse::SseFramer::new();
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    framer.push(stream);
    while let Some(event) = framer.next_event() {
        decoder.decode_event(&event, &mut events);
    }
    if let Some(tail) = framer.finish() {
        decoder.decode_event(&tail, &mut events);
    }
    let finished = decoder.finish(&mut events);
    (events, finished, decoder.malformed)
}

fn encode(events: &[Event]) -> Vec<u8> {
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    for event in events {
        encoder.encode_event(event, &mut out);
    }
    encoder.finish(&mut out);
    out
}

/// The JSON data of every event of an encoded stream.
fn chunks(stream: &[u8]) -> Vec<Value> {
    let text = String::from_utf8(stream.to_vec()).unwrap();
    assert!(text.ends_with("\n\n"));
    text.split_terminator("\n\n")
        .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
        .collect()
}

fn usage(input: u64, output: u64) -> Event {
    Event::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        ..Usage::default()
    })
}

fn translate(parts: &[&[u8]]) -> Vec<u8> {
    let mut t = StreamTranslator::new(
        Box::new(StreamDecoder::new()),
        Box::new(StreamEncoder::new()),
    );
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&t.push(part));
    }
    out.extend_from_slice(&t.finish());
    out
}

#[test]
fn text_stream_decodes() {
    let (events, finished, malformed) = decode(STREAM_TEXT);
    assert_eq!(
        events,
        vec![
            Event::Start {
                id: "s1XYaNq6Kqb-qtsP1rDO-Qc".into(),
                model: "gemini-2.0-flash".into()
            },
            Event::TextDelta("Once upon".into()),
            usage(9, 2),
            Event::TextDelta(" a time, in a land far away,".into()),
            usage(9, 10),
            Event::TextDelta(" there lived a cat named Neko.".into()),
            usage(9, 18),
            Event::Finish {
                reason: FinishReason::Stop,
                stop_sequence: None
            },
        ]
    );
    assert!(finished);
    assert_eq!(malformed, 0);
}

#[test]
fn function_call_stream_decodes() {
    let (events, finished, _) = decode(STREAM_CALLS);
    assert_eq!(
        events,
        vec![
            Event::Start {
                id: "fc-stream-7".into(),
                model: "gemini-2.5-flash".into()
            },
            Event::ThinkingDelta("Looking up the weather.".into()),
            usage(40, 12),
            Event::ThinkingSignature("CiIBVKhc7sig==".into()),
            Event::ToolCallStart {
                index: 0,
                id: "call_fc-stream-7_0".into(),
                name: "get_weather".into()
            },
            Event::ToolCallDelta {
                index: 0,
                arguments: r#"{"location":"Boston, MA"}"#.into()
            },
            Event::ToolCallStart {
                index: 1,
                id: "call_fc-stream-7_1".into(),
                name: "get_time".into()
            },
            Event::ToolCallDelta {
                index: 1,
                arguments: r#"{"tz":"America/New_York"}"#.into()
            },
            usage(40, 37),
            Event::Finish {
                reason: FinishReason::ToolCalls,
                stop_sequence: None
            },
        ]
    );
    assert!(finished);
}

#[test]
fn malformed_events_are_counted_and_skipped() {
    let stream = b": keep-alive\n\ndata: {not json\n\ndata: 42\n\ndata: [{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}, 7]\n\n";
    let (events, finished, malformed) = decode(stream);
    assert!(
        matches!(&events[0], Event::Start { id, model } if id.starts_with("gemini-") && model.is_empty())
    );
    assert_eq!(events[1], Event::TextDelta("a".into()));
    assert_eq!(events.len(), 2);
    assert!(!finished, "no finishReason: the stream was cut");
    assert_eq!(malformed, 3);
}

#[test]
fn error_chunks_and_blocked_prompts() {
    let (events, finished, _) = decode(b"data: {\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}\n\n");
    assert_eq!(
        events,
        vec![Event::Error(ErrorInfo {
            status: 503,
            message: "overloaded".into(),
            code: Some("UNAVAILABLE".into())
        })]
    );
    assert!(!finished);
    let (events, finished, _) =
        decode(b"data: {\"promptFeedback\":{\"blockReason\":\"OTHER\"},\"responseId\":\"b\"}\n\n");
    assert_eq!(
        events[1],
        Event::Finish {
            reason: FinishReason::ContentFilter,
            stop_sequence: None
        }
    );
    assert!(finished);
}

#[test]
fn a_cut_stream_ends_in_an_error_event() {
    let cut = &STREAM_TEXT[..STREAM_TEXT.len() / 2];
    let out = translate(&[cut]);
    let last = chunks(&out).pop().unwrap();
    assert_eq!(last["error"]["code"], 502);
    assert_eq!(last["error"]["status"], "INTERNAL");
}

#[test]
fn encoder_writes_parts_calls_and_a_final_chunk() {
    let out = encode(&[
        Event::Start {
            id: "r1".into(),
            model: "m1".into(),
        },
        Event::TextDelta("Hi".into()),
        Event::ToolCallStart {
            index: 0,
            id: "a".into(),
            name: "f".into(),
        },
        Event::ToolCallDelta {
            index: 0,
            arguments: "{\"x\":".into(),
        },
        Event::ToolCallDelta {
            index: 0,
            arguments: "1}".into(),
        },
        Event::ToolCallStart {
            index: 1,
            id: "b".into(),
            name: "g".into(),
        },
        Event::ToolCallDelta {
            index: 1,
            arguments: "not json".into(),
        },
        Event::Finish {
            reason: FinishReason::ToolCalls,
            stop_sequence: None,
        },
        Event::Usage(Usage {
            input_tokens: 3,
            output_tokens: 4,
            cached_input_tokens: 1,
            cache_creation_input_tokens: 0,
        }),
    ]);
    let chunks = chunks(&out);
    let parts: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["candidates"][0]["content"]["parts"])
        .collect();
    assert_eq!(
        parts,
        vec![
            &json!([{ "text": "Hi" }]),
            &json!([{ "functionCall": { "name": "f", "args": { "x": 1 } } }]),
            &json!([{ "functionCall": { "name": "g", "args": {} } }]),
            &json!([]),
        ]
    );
    assert!(
        chunks
            .iter()
            .all(|c| c["responseId"] == "r1" && c["modelVersion"] == "m1")
    );
    let last = &chunks[3];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["usageMetadata"],
        json!({ "promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7, "cachedContentTokenCount": 1 })
    );
    assert!(
        chunks[..3]
            .iter()
            .all(|c| c["candidates"][0].get("finishReason").is_none())
    );
}

#[test]
fn encoder_then_decoder_gives_the_events_back() {
    let events = vec![
        Event::Start {
            id: "rt".into(),
            model: "gemini-x".into(),
        },
        Event::ThinkingDelta("hmm".into()),
        Event::ThinkingSignature("sig".into()),
        Event::TextDelta("Let me check.".into()),
        Event::ToolCallStart {
            index: 0,
            id: "call_rt_0".into(),
            name: "f".into(),
        },
        Event::ToolCallDelta {
            index: 0,
            arguments: "{\"a\":[1,2]}".into(),
        },
        Event::ToolCallStart {
            index: 1,
            id: "call_rt_1".into(),
            name: "g".into(),
        },
        Event::ToolCallDelta {
            index: 1,
            arguments: "{}".into(),
        },
        usage(10, 20),
        Event::Finish {
            reason: FinishReason::ToolCalls,
            stop_sequence: None,
        },
    ];
    let (decoded, finished, malformed) = decode(&encode(&events));
    assert_eq!(decoded, events);
    assert!(finished);
    assert_eq!(malformed, 0);
    // And a fixture through decode → encode → decode is unchanged.
    for fixture in [STREAM_TEXT, STREAM_CALLS] {
        let (events, ..) = decode(fixture);
        let (again, ..) = decode(&encode(&events));
        let without_usage = |e: &Vec<Event>| {
            e.iter()
                .filter(|e| !matches!(e, Event::Usage(_)))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(without_usage(&again), without_usage(&events));
        assert_eq!(
            again.iter().rfind(|e| matches!(e, Event::Usage(_))),
            events.iter().rfind(|e| matches!(e, Event::Usage(_)))
        );
    }
}

#[test]
fn a_trailing_signature_goes_in_the_final_chunk() {
    let events = [
        Event::ThinkingDelta("a".into()),
        Event::ThinkingSignature("s".into()),
        Event::Finish {
            reason: FinishReason::Length,
            stop_sequence: None,
        },
    ];
    let chunks = chunks(&encode(&events));
    let last = chunks.last().unwrap();
    assert_eq!(
        last["candidates"][0]["content"]["parts"],
        json!([{ "text": "", "thought": true, "thoughtSignature": "s" }])
    );
    assert_eq!(last["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert!(last.get("responseId").is_none());
}

#[test]
fn nothing_follows_fail() {
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    encoder.encode_event(&Event::TextDelta("partial".into()), &mut out);
    encoder.encode_event(
        &Event::ToolCallStart {
            index: 0,
            id: "a".into(),
            name: "f".into(),
        },
        &mut out,
    );
    let err = ErrorInfo {
        status: 429,
        message: "slow down".into(),
        code: None,
    };
    encoder.fail(&err, &mut out);
    let closed_at = out.len();
    encoder.encode_event(&Event::TextDelta("more".into()), &mut out);
    encoder.encode_event(
        &Event::Finish {
            reason: FinishReason::Stop,
            stop_sequence: None,
        },
        &mut out,
    );
    encoder.fail(&err, &mut out);
    encoder.finish(&mut out);
    assert_eq!(out.len(), closed_at);
    let chunks = chunks(&out);
    assert_eq!(
        chunks.last().unwrap(),
        &json!({ "error": { "code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED" } })
    );
    assert_eq!(chunks.len(), 2, "the pending call is not written");
}

#[test]
fn every_split_offset_gives_the_same_output() {
    for fixture in [STREAM_TEXT, STREAM_CALLS] {
        let whole = translate(&[fixture]);
        assert!(!whole.is_empty());
        for cut in 0..=fixture.len() {
            assert_eq!(
                translate(&[&fixture[..cut], &fixture[cut..]]),
                whole,
                "split at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = fixture.chunks(1).collect();
        assert_eq!(translate(&bytes), whole);
    }
}

#[test]
fn translated_fixtures_keep_their_meaning() {
    for fixture in [STREAM_TEXT, STREAM_CALLS] {
        let (events, ..) = decode(fixture);
        let (translated, finished, _) = decode(&translate(&[fixture]));
        assert!(finished);
        let content = |e: &Vec<Event>| {
            e.iter()
                .filter(|e| !matches!(e, Event::Usage(_)))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(content(&translated), content(&events));
    }
}

proptest! {
    #[test]
    fn stream_decoder_never_panics_on_bytes(data in prop::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let cut = cut.min(data.len());
        let mut t = StreamTranslator::new(Box::new(StreamDecoder::new()), Box::new(StreamEncoder::new()));
        let _ = t.push(&data[..cut]);
        let _ = t.push(&data[cut..]);
        let _ = t.finish();
    }

    #[test]
    fn stream_decoder_never_panics_on_json(chunks in prop::collection::vec(arb_json(), 0..4)) {
        let mut stream = Vec::new();
        for chunk in &chunks {
            let wrapped = json!({ "candidates": [{ "content": chunk }], "usageMetadata": chunk });
            for data in [chunk.to_string(), wrapped.to_string()] {
                stream.extend_from_slice(b"data: ");
                stream.extend_from_slice(data.as_bytes());
                stream.extend_from_slice(b"\n\n");
            }
        }
        let _ = translate(&[&stream]);
    }
}
