//! Property tests: the OpenAI decoders never panic, on random bytes or on random JSON made of
//! the format's own field names (which reaches deeper into the decoders than random bytes).

use proptest::prelude::*;

use crate::translate::StreamDecoder as _;
use crate::translate::openai::{StreamDecoder, decode_error, decode_request, decode_response};

const KEYS: &[&str] = &[
    "model",
    "messages",
    "role",
    "content",
    "tool_calls",
    "tool_call_id",
    "function",
    "name",
    "arguments",
    "type",
    "image_url",
    "url",
    "text",
    "tools",
    "tool_choice",
    "choices",
    "delta",
    "finish_reason",
    "usage",
    "index",
    "id",
    "error",
    "message",
    "code",
    "stop",
    "response_format",
    "json_schema",
    "schema",
    "max_tokens",
    "stream",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        "[a-z\"\\\\ ]{0,8}".prop_map(serde_json::Value::String),
        proptest::sample::select(KEYS).prop_map(|k| serde_json::Value::String(k.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(
                |kv| serde_json::Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )
            ),
        ]
    })
}

proptest! {
    #[test]
    fn decoders_never_panic_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_request(&data);
        let _ = decode_response(&data);
        let _ = decode_error(500, &data);
        let mut dec = StreamDecoder::new();
        let mut out = Vec::new();
        dec.decode_event(&data, &mut out);
        let _ = dec.finish(&mut out);
    }

    #[test]
    fn decoders_never_panic_on_shaped_json(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap_or_default();
        let _ = decode_request(&bytes);
        let _ = decode_response(&bytes);
        let _ = decode_error(429, &bytes);
        let mut event = b"data: ".to_vec();
        event.extend_from_slice(&bytes);
        event.extend_from_slice(b"\n\n");
        let mut dec = StreamDecoder::new();
        let mut out = Vec::new();
        dec.decode_event(&event, &mut out);
    }
}
