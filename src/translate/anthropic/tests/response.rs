//! Tests of the response and error codecs: fixtures back to the same wire, usage and
//! stop-reason mappings, leniency with unknown blocks.

use serde_json::json;

use super::{fixture, parse, text};
use crate::errors::ErrorKind;
use crate::translate::anthropic::fields::{finish_from_wire, finish_to_wire};
use crate::translate::anthropic::{decode_error, decode_response, encode_error, encode_response};
use crate::translate::ir::{ErrorInfo, FinishReason, Part, Usage};

#[test]
fn response_fixtures_encode_back_to_the_same_wire() {
    for name in ["response_text.json", "response_tool_use.json"] {
        let resp = decode_response(&fixture(name)).unwrap();
        let wire = encode_response(&resp);
        assert_eq!(decode_response(&wire).unwrap(), resp, "{name}");
        let mut source = parse(&fixture(name));
        source["usage"]
            .as_object_mut()
            .unwrap()
            .remove("service_tier");
        assert_eq!(parse(&wire), source, "{name}");
    }
}

#[test]
fn response_tool_use_parts() {
    let resp = decode_response(&fixture("response_tool_use.json")).unwrap();
    assert_eq!(resp.id, "msg_01Aq9w938a90dw8q");
    assert_eq!(resp.finish, Some(FinishReason::ToolCalls));
    let ids: Vec<&str> = resp
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        [
            "toolu_01A09q90qw90lq917835lq9",
            "toolu_01B7kR4jXgZ2sWv3nQ8mT5pL"
        ]
    );
    assert_eq!(
        resp.text(),
        "I'll check the weather and the time in San Francisco."
    );
}

#[test]
fn usage_mapping_both_ways() {
    let resp = decode_response(&fixture("response_tool_use.json")).unwrap();
    assert_eq!(
        resp.usage,
        Usage {
            input_tokens: 472 + 2048 + 1024,
            output_tokens: 91,
            cached_input_tokens: 2048,
            cache_creation_input_tokens: 1024
        }
    );
    let mut resp = resp;
    resp.usage = Usage {
        input_tokens: 10,
        output_tokens: 3,
        cached_input_tokens: 8,
        cache_creation_input_tokens: 5,
    };
    let wire = parse(&encode_response(&resp));
    assert_eq!(
        wire["usage"],
        json!({ "input_tokens": 0, "output_tokens": 3, "cache_read_input_tokens": 8, "cache_creation_input_tokens": 5 })
    );
}

#[test]
fn encode_response_ids_and_defaults() {
    let mut resp = decode_response(&fixture("response_text.json")).unwrap();
    resp.id = "chatcmpl-9x".into();
    resp.finish = None;
    resp.parts.push(Part::Thinking {
        text: "hm".into(),
        signature: None,
    });
    let wire = parse(&encode_response(&resp));
    assert_eq!(wire["id"], "msg_chatcmpl-9x");
    assert_eq!(wire["stop_reason"], "end_turn");
    assert_eq!(
        wire["content"][1],
        json!({ "type": "thinking", "thinking": "hm", "signature": "" })
    );
}

#[test]
fn stop_reason_table() {
    let table = [
        ("end_turn", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("stop_sequence", FinishReason::StopSequence),
        ("refusal", FinishReason::ContentFilter),
    ];
    for (wire, ir) in table {
        assert_eq!(finish_from_wire(wire), ir);
        assert_eq!(finish_to_wire(ir), wire);
    }
    assert_eq!(finish_from_wire("pause_turn"), FinishReason::Stop);
    assert_eq!(
        finish_from_wire("model_context_window_exceeded"),
        FinishReason::Length
    );
    assert_eq!(finish_from_wire("something_new"), FinishReason::Stop);

    let mut body = parse(&fixture("response_text.json"));
    body["stop_reason"] = json!("stop_sequence");
    body["stop_sequence"] = json!("END");
    let resp = decode_response(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(
        (resp.finish, resp.stop_sequence.as_deref()),
        (Some(FinishReason::StopSequence), Some("END"))
    );
    assert_eq!(parse(&encode_response(&resp))["stop_sequence"], "END");
}

#[test]
fn decode_response_is_lenient_with_blocks_and_strict_with_garbage() {
    let body = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [
            { "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {} },
            { "type": "text", "text": "found it", "citations": [] },
        ],
        "stop_reason": "end_turn", "usage": { "input_tokens": 1, "output_tokens": 2 },
    });
    let resp = decode_response(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(resp.parts, [text("found it")]);
    for bad in [
        &b"<html>"[..],
        b"[1]",
        br#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#,
        br#"{"content":[{"type":"text"}]}"#,
    ] {
        let err = decode_response(bad).unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::BadGateway,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn errors_both_ways() {
    let info = decode_error(529, &fixture("error_overloaded.json"));
    assert_eq!(
        info,
        ErrorInfo {
            status: 529,
            message: "Overloaded".into(),
            code: Some("overloaded_error".into())
        }
    );
    let raw = decode_error(502, b"<html>Bad Gateway</html>\n");
    assert_eq!(
        (raw.message.as_str(), raw.code),
        ("<html>Bad Gateway</html>", None)
    );
    assert!(decode_error(500, b"").message.contains("500"));

    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "api_error"),
        (529, "overloaded_error"),
        (418, "api_error"),
    ] {
        let err = ErrorInfo {
            status,
            message: "m".into(),
            code: None,
        };
        let wire = parse(&encode_error(&err));
        assert_eq!(
            wire,
            json!({ "type": "error", "error": { "type": kind, "message": "m" } }),
            "{status}"
        );
    }
    // Anthropic → IR → Anthropic keeps the type.
    let again = parse(&encode_error(&info));
    assert_eq!(
        again["error"],
        parse(&fixture("error_overloaded.json"))["error"]
    );
}
