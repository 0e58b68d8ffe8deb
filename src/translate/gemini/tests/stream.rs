//! Stream decoder tests over each `.sse` fixture, malformed and error events, cut streams, and
//! every fixture split at every byte offset through a [`StreamTranslator`].

use super::*;

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
            usage(9, 2),
            Event::TextDelta("Once upon".into()),
            usage(9, 10),
            Event::TextDelta(" a time, in a land far away,".into()),
            usage(9, 18),
            Event::TextDelta(" there lived a cat named Neko.".into()),
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
            usage(40, 12),
            Event::ThinkingDelta("Looking up the weather.".into()),
            usage(40, 37),
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
