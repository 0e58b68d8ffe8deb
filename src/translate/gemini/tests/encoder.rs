//! Stream encoder tests: parts, buffered calls, the final chunk with finish and usage,
//! encoder → decoder round trips, and nothing after `fail`.

use serde_json::{Value, json};

use super::*;

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
