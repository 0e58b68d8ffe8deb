//! Tests of the Gemini codec over the recorded fixtures in `tests/fixtures/gemini/`: requests
//! (`request.rs`, `request_config.rs`), responses and errors (`response.rs`), the stream
//! decoder with the translator (`stream.rs`) and the stream encoder (`encoder.rs`). Shared
//! helpers and the never-panics proptests live here.

mod encoder;
mod request;
mod request_config;
mod response;
mod stream;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::translate::ir::*;
use crate::translate::{EncodeOptions, StreamDecoder as _, StreamEncoder as _, StreamTranslator};

/// The bytes of a fixture file.
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/",
            $name
        ))
        .as_slice()
    };
}
pub(super) use fixture;

pub(super) const STREAM_TEXT: &[u8] = fixture!("stream_text.sse");
pub(super) const STREAM_CALLS: &[u8] = fixture!("stream_function_call.sse");

fn opts() -> EncodeOptions {
    EncodeOptions {
        model: "gemini-2.5-flash".into(),
        default_max_tokens: 4096,
        include_usage: true,
    }
}

fn encoded(req: &Request) -> Value {
    serde_json::from_slice(&encode_request(req, &opts())).unwrap()
}

fn text(role: Role, t: &str) -> Message {
    Message {
        role,
        parts: vec![Part::Text(t.into())],
    }
}

fn round_trips(req: &Request) {
    let again = decode_request(&encode_request(req, &opts())).unwrap();
    assert_eq!(&again, req);
}

/// Decodes a whole stream event by event: (events, finished properly, malformed count).
fn decode(stream: &[u8]) -> (Vec<Event>, bool, u64) {
    let mut framer = crate::translate::sse::SseFramer::new();
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

/// Arbitrary JSON built from the Gemini vocabulary, so decoders meet plausible shapes.
pub(super) fn arb_json() -> impl Strategy<Value = Value> {
    const WORDS: &[&str] = &[
        "contents",
        "role",
        "parts",
        "text",
        "thought",
        "thoughtSignature",
        "functionCall",
        "functionResponse",
        "name",
        "args",
        "response",
        "id",
        "inlineData",
        "fileData",
        "fileUri",
        "mimeType",
        "data",
        "candidates",
        "content",
        "finishReason",
        "usageMetadata",
        "promptTokenCount",
        "candidatesTokenCount",
        "responseId",
        "modelVersion",
        "error",
        "code",
        "message",
        "status",
        "systemInstruction",
        "tools",
        "functionDeclarations",
        "parameters",
        "toolConfig",
        "functionCallingConfig",
        "mode",
        "allowedFunctionNames",
        "generationConfig",
        "maxOutputTokens",
        "thinkingConfig",
        "thinkingBudget",
        "responseSchema",
        "responseMimeType",
        "promptFeedback",
        "blockReason",
        "createTime",
        "model",
        "user",
        "STOP",
        "ANY",
        "SAFETY",
        "result",
    ];
    let word = prop::sample::select(WORDS).prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        word.clone().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((word.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn decoders_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..256), status in any::<u16>()) {
        let _ = decode_request(&body);
        let _ = decode_response(&body);
        let _ = decode_error(status, &body);
    }

    #[test]
    fn decoders_never_panic_on_json(v in arb_json(), status in any::<u16>()) {
        let body = v.to_string();
        if let Ok(req) = decode_request(body.as_bytes()) {
            let _ = decode_request(&encode_request(&req, &opts()));
        }
        if let Ok(resp) = decode_response(body.as_bytes()) {
            let _ = decode_response(&encode_response(&resp));
        }
        let wrapped = json!({ "contents": [v.clone()], "candidates": [v.clone()], "error": v }).to_string();
        let _ = decode_request(wrapped.as_bytes());
        let _ = decode_response(wrapped.as_bytes());
        let _ = decode_error(status, wrapped.as_bytes());
    }

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
