//! Request tests: images, response formats, schema stripping, generation config, field
//! spellings, thought signatures and refused bodies.

use serde_json::{Value, json};

use super::*;
use crate::errors::ErrorKind;
use crate::translate::gemini::request::strip_schema;

#[test]
fn images_and_json_mode() {
    let req = decode_request(fixture!("request_image.json")).unwrap();
    let parts = &req.messages[0].parts;
    assert!(
        matches!(&parts[1], Part::Image(ImageSource::Base64 { media_type, .. }) if media_type == "image/png")
    );
    assert_eq!(
        parts[2],
        Part::Image(ImageSource::Url(
            "https://generativelanguage.googleapis.com/v1beta/files/abc-123".into()
        ))
    );
    assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
    assert_eq!(req.thinking_budget, Some(1024));
    round_trips(&req);
    let body = encoded(&req);
    assert_eq!(
        body["contents"][0]["parts"][2]["fileData"]["mimeType"],
        "image/jpeg"
    );
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({ "thinkingBudget": 1024, "includeThoughts": true })
    );

    let urls = [
        (
            "https://x.test/cat.PNG?size=2#top",
            json!({ "fileData": { "mimeType": "image/png", "fileUri": "https://x.test/cat.PNG?size=2#top" } }),
        ),
        (
            "https://x.test/v1.2/cat",
            json!({ "fileData": { "mimeType": "image/jpeg", "fileUri": "https://x.test/v1.2/cat" } }),
        ),
        (
            "data:image/gif;base64,R0lGOD==",
            json!({ "inlineData": { "mimeType": "image/gif", "data": "R0lGOD==" } }),
        ),
    ];
    for (url, part) in urls {
        let req = Request {
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::Image(ImageSource::Url(url.into()))],
            }],
            ..Request::default()
        };
        assert_eq!(encoded(&req)["contents"][0]["parts"][0], part, "{url}");
    }
}

#[test]
fn json_schema_response_format() {
    let schema = json!({ "type": "object", "properties": { "a": { "type": "string" } }, "additionalProperties": false });
    let req = Request {
        messages: vec![text(Role::User, "hi")],
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema,
            strict: Some(true),
        }),
        ..Request::default()
    };
    let config = &encoded(&req)["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(
        config["responseSchema"],
        json!({ "type": "object", "properties": { "a": { "type": "string" } } })
    );
    let back = decode_request(&encode_request(&req, &opts())).unwrap();
    assert!(
        matches!(back.response_format, Some(ResponseFormat::JsonSchema { ref name, .. }) if name == "response")
    );
}

#[test]
fn schema_keys_gemini_rejects_are_stripped() {
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "strict": true,
        "additionalProperties": false,
        "properties": {
            "strict": { "type": "boolean", "additionalProperties": false },
            "items": { "type": "array", "items": { "type": "object", "additionalProperties": false, "properties": {} } },
            "mode": { "type": "string", "enum": ["strict"], "default": { "strict": 1 } }
        },
        "anyOf": [{ "type": "object", "additionalProperties": true }]
    });
    let want = json!({
        "type": "object",
        "properties": {
            "strict": { "type": "boolean" },
            "items": { "type": "array", "items": { "type": "object", "properties": {} } },
            "mode": { "type": "string", "enum": ["strict"], "default": { "strict": 1 } }
        },
        "anyOf": [{ "type": "object" }]
    });
    assert_eq!(strip_schema(&schema), want);
}

#[test]
fn tools_without_arguments_send_no_parameters() {
    let tool = |parameters| Tool {
        name: "now".into(),
        description: None,
        parameters,
    };
    let req = Request {
        messages: vec![text(Role::User, "time?")],
        tools: vec![
            tool(json!({ "type": "object", "properties": {}, "additionalProperties": false })),
            tool(Value::Null),
        ],
        ..Request::default()
    };
    assert_eq!(
        encoded(&req)["tools"],
        json!([{ "functionDeclarations": [{ "name": "now" }, { "name": "now" }] }])
    );
}

#[test]
fn absent_fields_are_omitted() {
    let req = Request {
        messages: vec![text(Role::User, "hi")],
        stream: true,
        ..Request::default()
    };
    assert_eq!(
        encoded(&req),
        json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }] })
    );
}

#[test]
fn snake_case_fields_are_read() {
    let body = json!({
        "system_instruction": { "parts": [{ "text": "be brief" }] },
        "contents": [{ "parts": [{ "text": "hi" }, { "inline_data": { "mime_type": "image/png", "data": "AA==" } }] }],
        "tools": [{ "function_declarations": [{ "name": "f" }] }, { "google_search": {} }],
        "tool_config": { "function_calling_config": { "mode": "any" } },
        "generation_config": { "max_output_tokens": 5, "stop_sequences": ["x"], "thinking_config": { "thinking_budget": -1 } }
    });
    let req = decode_request(body.to_string().as_bytes()).unwrap();
    assert_eq!(req.system, vec!["be brief".to_string()]);
    assert_eq!(req.messages[0].role, Role::User);
    assert!(matches!(
        req.messages[0].parts[1],
        Part::Image(ImageSource::Base64 { .. })
    ));
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        (req.max_tokens, req.stop.len(), req.thinking_budget),
        (Some(5), 1, None)
    );
}

#[test]
fn signatures_round_trip_on_the_parts_that_carry_them() {
    let msg = Message {
        role: Role::Assistant,
        parts: vec![
            Part::Thinking {
                text: "plan".into(),
                signature: Some("s1".into()),
            },
            Part::Thinking {
                text: String::new(),
                signature: Some("s2".into()),
            },
            Part::ToolCall {
                id: "call_0".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
            },
            Part::RedactedThinking {
                data: "opaque".into(),
            },
        ],
    };
    let req = Request {
        messages: vec![text(Role::User, "go"), msg.clone()],
        ..Request::default()
    };
    let body = encoded(&req);
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            { "text": "plan", "thought": true, "thoughtSignature": "s1" },
            { "functionCall": { "name": "f", "args": { "a": 1 } }, "thoughtSignature": "s2" }
        ])
    );
    let back = decode_request(&encode_request(&req, &opts())).unwrap();
    assert_eq!(back.messages[1].parts, msg.parts[..3].to_vec());
}

#[test]
fn bad_requests_are_refused_with_the_field() {
    let err = decode_request(b"{\"generationConfig\":{}}").unwrap_err();
    assert_eq!(
        (err.kind, err.param),
        (ErrorKind::BadRequest, Some("contents"))
    );
    let err = decode_request(b"{\"contents\":[]}").unwrap_err();
    assert_eq!(err.param, Some("contents"));
    assert_eq!(
        decode_request(b"{nope").unwrap_err().kind,
        ErrorKind::InvalidJson
    );
    assert_eq!(
        decode_request(b"[1]").unwrap_err().kind,
        ErrorKind::BadRequest
    );
}
