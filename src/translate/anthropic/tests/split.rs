//! Chunk-boundary honesty and robustness: every stream fixture through the whole
//! [`StreamTranslator`] (Anthropic in, Anthropic out) split at every byte offset gives the same
//! bytes; cut and malformed streams are handled; no input makes a decoder panic, and whatever
//! the provider sends, the caller gets a well-ordered Anthropic stream.

use proptest::prelude::*;
use serde_json::Value;

use super::fixture;
use super::stream::{STREAMS, check_order, decode, frame};
use crate::translate::StreamDecoder as _;
use crate::translate::StreamTranslator;
use crate::translate::anthropic::{
    StreamDecoder, StreamEncoder, decode_error, decode_request, decode_response,
};

fn translator() -> StreamTranslator {
    StreamTranslator::new(
        Box::new(StreamDecoder::new()),
        Box::new(StreamEncoder::new()),
    )
}

/// The translator's whole output for a stream pushed in these chunks.
fn translate(chunks: &[&[u8]]) -> Vec<u8> {
    let mut t = translator();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(&t.push(chunk));
    }
    out.extend_from_slice(&t.finish());
    out
}

#[test]
fn every_split_offset_gives_the_same_output() {
    for name in STREAMS {
        let stream = fixture(name);
        let whole = translate(&[&stream]);
        check_order(&whole);
        let (events, completed, _) = decode(&stream);
        assert_eq!(decode(&whole), (events, completed, 0), "{name}");
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(translate(&[a, b]), whole, "{name} split at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(translate(&bytes), whole, "{name} byte by byte");
    }
}

#[test]
fn crlf_line_ends_give_the_same_events() {
    for name in STREAMS {
        let stream = fixture(name);
        let crlf = String::from_utf8(stream.clone())
            .unwrap()
            .replace('\n', "\r\n");
        assert_eq!(decode(crlf.as_bytes()), decode(&stream), "{name}");
    }
}

#[test]
fn a_cut_stream_ends_with_an_error_event() {
    let stream = fixture("stream_tool_use.sse");
    let cut = String::from_utf8(stream).unwrap();
    let cut = &cut[..cut.find("event: message_delta").unwrap()];
    let out = translate(&[cut.as_bytes()]);
    check_order(&out);
    let tail = String::from_utf8(out).unwrap();
    assert!(tail.ends_with("event: error\ndata: {\"error\":{\"message\":\"the provider's stream ended before the response was complete\",\"type\":\"api_error\"},\"type\":\"error\"}\n\n"), "{tail}");
}

#[test]
fn decoder_skips_and_counts_malformed_events() {
    let mut stream = b": keep-alive\n\nevent: ping\ndata: {not json}\n\n".to_vec();
    stream.extend_from_slice(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":9,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n");
    stream.extend_from_slice(
        b"event: content_block_start\ndata: {\"type\":\"content_block_start\"}\n\n",
    );
    stream.extend_from_slice(b"event: something_new\ndata: {\"type\":\"something_new\"}\n\n");
    stream.extend_from_slice(&fixture("stream_text.sse"));
    let (events, completed, malformed) = decode(&stream);
    assert_eq!(
        (events, completed),
        (decode(&fixture("stream_text.sse")).0, true)
    );
    assert_eq!(malformed, 3);
}

#[test]
fn decoder_completion() {
    let full = fixture("stream_text.sse");
    let text = String::from_utf8(full).unwrap();
    let before_delta = &text[..text.find("event: message_delta").unwrap()];
    let before_stop = &text[..text.find("event: message_stop").unwrap()];
    assert!(
        !decode(before_delta.as_bytes()).1,
        "cut before message_delta"
    );
    assert!(
        decode(before_stop.as_bytes()).1,
        "message_delta with a stop_reason"
    );
    let stop_only = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    assert!(decode(format!("{before_delta}{stop_only}").as_bytes()).1);
}

/// JSON built from the words of the Anthropic wire, so the decoders' deep paths are reached.
fn wire_json() -> impl Strategy<Value = Value> {
    let words = [
        "type",
        "model",
        "messages",
        "role",
        "content",
        "text",
        "id",
        "name",
        "input",
        "tool_use_id",
        "is_error",
        "source",
        "media_type",
        "data",
        "url",
        "thinking",
        "signature",
        "system",
        "tools",
        "input_schema",
        "tool_choice",
        "disable_parallel_tool_use",
        "max_tokens",
        "temperature",
        "top_p",
        "stop_sequences",
        "stream",
        "metadata",
        "user_id",
        "budget_tokens",
        "message",
        "index",
        "content_block",
        "delta",
        "partial_json",
        "stop_reason",
        "stop_sequence",
        "usage",
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "error",
        "image",
        "tool_use",
        "tool_result",
        "redacted_thinking",
        "user",
        "assistant",
        "base64",
        "auto",
        "any",
        "tool",
        "none",
        "enabled",
        "message_start",
        "content_block_start",
        "content_block_delta",
        "message_delta",
        "message_stop",
        "text_delta",
        "input_json_delta",
        "thinking_delta",
        "signature_delta",
        "end_turn",
        "overloaded_error",
        "{\"a\":",
    ];
    let word = proptest::sample::select(words.to_vec());
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word.clone().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((word.clone(), inner), 0..8).prop_map(|fields| {
                Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #[test]
    fn decoders_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..600) {
        let _ = decode_request(&bytes);
        let _ = decode_response(&bytes);
        let _ = decode_error(500, &bytes);
        let mut decoder = StreamDecoder::new();
        let mut events = Vec::new();
        decoder.decode_event(&bytes, &mut events);
        let _ = decoder.finish(&mut events);
        let cut = cut.min(bytes.len());
        let _ = translate(&[&bytes[..cut], &bytes[cut..]]);
    }

    #[test]
    fn decoders_never_panic_on_wire_json(values in proptest::collection::vec(wire_json(), 1..8)) {
        let mut stream = Vec::new();
        for v in &values {
            let body = serde_json::to_vec(v).unwrap();
            let _ = decode_request(&body);
            let _ = decode_response(&body);
            let _ = decode_error(529, &body);
            stream.extend_from_slice(b"event: x\ndata: ");
            stream.extend_from_slice(&body);
            stream.extend_from_slice(b"\n\n");
        }
        // Whatever the provider sends, the caller gets a well-ordered Anthropic stream.
        check_order(&translate(&[&stream]));
    }

    #[test]
    fn reordered_fixture_events_still_give_a_well_ordered_stream(
        name in proptest::sample::select(STREAMS.to_vec()),
        picks in proptest::collection::vec(0usize..64, 0..40),
    ) {
        let events = frame(&fixture(name));
        let stream: Vec<u8> = picks.iter().flat_map(|i| events[i % events.len()].clone()).collect();
        check_order(&translate(&[&stream]));
    }
}
