//! Response and error tests: fixtures, call naming, finish reasons, usage, blocked prompts and
//! every error shape.

use serde_json::{Value, json};

use super::*;
use crate::errors::ErrorKind;

#[test]
fn text_response_decodes_and_round_trips() {
    let resp = decode_response(fixture!("response_text.json")).unwrap();
    assert_eq!(
        (resp.id.as_str(), resp.model.as_str()),
        ("mOdcaLrSGcWbqtsPyN2GqQ4", "gemini-2.5-flash")
    );
    assert_eq!(
        resp.parts,
        vec![
            Part::Thinking {
                text: "The user greets me; answer as Neko.".into(),
                signature: None
            },
            Part::Thinking {
                text: String::new(),
                signature: Some("CiQB0e2Kb2xQ1a+3nq8=".into())
            },
            Part::Text("Meow! My name is Neko.".into()),
        ]
    );
    assert_eq!(resp.finish, Some(FinishReason::Stop));
    assert_eq!(
        resp.usage,
        Usage {
            input_tokens: 21,
            output_tokens: 40,
            cached_input_tokens: 4,
            cache_creation_input_tokens: 0
        }
    );
    assert_eq!(decode_response(&encode_response(&resp)).unwrap(), resp);
    let body: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
    let fixture: Value = serde_json::from_slice(fixture!("response_text.json")).unwrap();
    assert_eq!(
        body["candidates"][0]["content"],
        fixture["candidates"][0]["content"]
    );
    assert_eq!(
        (&body["responseId"], &body["modelVersion"]),
        (&fixture["responseId"], &fixture["modelVersion"])
    );
    assert_eq!(
        body["usageMetadata"],
        json!({ "promptTokenCount": 21, "candidatesTokenCount": 40, "totalTokenCount": 61, "cachedContentTokenCount": 4 })
    );
}

#[test]
fn function_call_response_names_calls_after_the_response() {
    let resp = decode_response(fixture!("response_function_calls.json")).unwrap();
    let calls: Vec<(&str, &str)> = resp
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall { id, arguments, .. } => Some((id.as_str(), arguments.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            ("call_resp_fc_01_0", r#"{"location":"Boston, MA"}"#),
            ("call_resp_fc_01_1", r#"{"location":"Paris"}"#)
        ]
    );
    assert_eq!(
        resp.parts[0],
        Part::Thinking {
            text: String::new(),
            signature: Some("CiwBVKhc7nQe7Pz2Y0A=".into())
        }
    );
    assert_eq!(resp.finish, Some(FinishReason::ToolCalls));
    let body: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
    let fixture: Value = serde_json::from_slice(fixture!("response_function_calls.json")).unwrap();
    assert_eq!(
        body["candidates"][0]["content"],
        fixture["candidates"][0]["content"]
    );
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    assert_eq!(decode_response(&encode_response(&resp)).unwrap(), resp);
}

#[test]
fn finish_reasons_map_both_ways() {
    let finish = |reason: &str| {
        let body = json!({ "candidates": [{ "content": { "parts": [{ "text": "x" }] }, "finishReason": reason }] });
        decode_response(body.to_string().as_bytes()).unwrap().finish
    };
    assert_eq!(finish("STOP"), Some(FinishReason::Stop));
    assert_eq!(finish("MAX_TOKENS"), Some(FinishReason::Length));
    for filtered in [
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
    ] {
        assert_eq!(
            finish(filtered),
            Some(FinishReason::ContentFilter),
            "{filtered}"
        );
    }
    assert_eq!(finish("MALFORMED_FUNCTION_CALL"), Some(FinishReason::Stop));
    assert_eq!(finish("FINISH_REASON_UNSPECIFIED"), None);
    for (reason, wire) in [
        (FinishReason::Stop, "STOP"),
        (FinishReason::StopSequence, "STOP"),
        (FinishReason::ToolCalls, "STOP"),
        (FinishReason::Length, "MAX_TOKENS"),
        (FinishReason::ContentFilter, "SAFETY"),
    ] {
        let resp = Response {
            id: "r".into(),
            model: String::new(),
            parts: vec![],
            finish: Some(reason),
            stop_sequence: None,
            usage: Usage::default(),
            created: None,
        };
        let body: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
        assert_eq!(body["candidates"][0]["finishReason"], wire);
        assert!(body.get("modelVersion").is_none());
    }
}

#[test]
fn blocked_prompts_and_vertex_fields() {
    let body = json!({
        "promptFeedback": { "blockReason": "SAFETY" },
        "usageMetadata": { "promptTokenCount": 7, "totalTokenCount": 7 },
        "createTime": "2025-06-01T12:00:00.123456Z"
    });
    let resp = decode_response(body.to_string().as_bytes()).unwrap();
    assert!(resp.parts.is_empty());
    assert_eq!(resp.finish, Some(FinishReason::ContentFilter));
    assert_eq!(resp.usage.input_tokens, 7);
    assert_eq!(resp.created, Some(1_748_779_200));
    assert!(resp.id.starts_with("gemini-"));
    assert_eq!(
        decode_response(b"{\"error\":{\"message\":\"x\"}}")
            .unwrap_err()
            .kind,
        ErrorKind::BadGateway
    );
    assert_eq!(
        decode_response(b"oops").unwrap_err().kind,
        ErrorKind::BadGateway
    );
}

#[test]
fn errors_decode_in_every_shape() {
    let quota = decode_error(429, fixture!("error_quota.json"));
    assert_eq!(quota.status, 429);
    assert_eq!(quota.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
    assert!(quota.message.starts_with("You exceeded your current quota"));
    let wrapped = format!(
        "[{}]",
        String::from_utf8_lossy(fixture!("error_quota.json"))
    );
    assert_eq!(decode_error(429, wrapped.as_bytes()), quota);
    let plain = decode_error(502, b"  <html>Bad Gateway</html>\n");
    assert_eq!(
        (plain.message.as_str(), plain.code),
        ("<html>Bad Gateway</html>", None)
    );
    assert!(decode_error(503, b"").message.contains("503"));
}

#[test]
fn errors_encode_with_the_google_status() {
    for (status, name) in [
        (400, "INVALID_ARGUMENT"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (429, "RESOURCE_EXHAUSTED"),
        (500, "INTERNAL"),
        (503, "UNAVAILABLE"),
        (504, "DEADLINE_EXCEEDED"),
    ] {
        let err = ErrorInfo {
            status,
            message: "m".into(),
            code: Some("whatever".into()),
        };
        let body: Value = serde_json::from_slice(&encode_error(&err)).unwrap();
        assert_eq!(
            body,
            json!({ "error": { "code": status, "message": "m", "status": name } })
        );
        assert_eq!(
            decode_error(status, &encode_error(&err)).code.as_deref(),
            Some(name)
        );
    }
}
