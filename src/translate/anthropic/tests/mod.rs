//! Tests of request decoding, driven by the wire fixtures in `tests/fixtures/anthropic/`, and
//! the helpers the other test files share.

use serde_json::{Value, json};

use super::{decode_request, encode_request};
use crate::errors::ErrorKind;
use crate::translate::EncodeOptions;
use crate::translate::ir::{ImageSource, Message, Part, Role, ToolChoice};

mod encode;
mod response;
mod split;
mod stream;
mod stream_fast;

/// The bytes of a fixture file.
pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn opts(model: &str) -> EncodeOptions {
    EncodeOptions {
        model: model.into(),
        default_max_tokens: 4096,
        include_usage: false,
    }
}

pub(super) fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

pub(super) fn text(t: &str) -> Part {
    Part::Text(t.into())
}

pub(super) fn msg(role: Role, parts: Vec<Part>) -> Message {
    Message { role, parts }
}

const REQUESTS: [&str; 5] = [
    "request_text.json",
    "request_tools.json",
    "request_tool_result.json",
    "request_image.json",
    "request_thinking.json",
];

#[test]
fn request_fixtures_round_trip() {
    for name in REQUESTS {
        let first = decode_request(&fixture(name)).unwrap();
        let wire = encode_request(&first, &opts(&first.model));
        let second = decode_request(&wire).unwrap();
        assert_eq!(first, second, "{name}");
    }
}

#[test]
fn request_text_fields() {
    let req = decode_request(&fixture("request_text.json")).unwrap();
    assert_eq!(req.model, "claude-sonnet-4-5");
    assert_eq!(req.system, ["You are a concise assistant."]);
    assert_eq!(req.max_tokens, Some(1024));
    assert_eq!((req.temperature, req.top_p), (Some(0.7), Some(0.9)));
    assert_eq!(req.stop, ["\n\nHuman:", "END"]);
    assert_eq!(req.user.as_deref(), Some("user-7f3a9c"));
    assert!(!req.stream);
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
    assert_eq!(
        req.messages[2].parts,
        [text("Name the three primary colors.")]
    );
    // Unknown fields (`top_k`, `cache_control`) are ignored, not refused.
    let wire = parse(&encode_request(&req, &opts("claude-upstream")));
    assert_eq!(wire["model"], "claude-upstream");
    assert_eq!(wire["system"], "You are a concise assistant.");
    assert_eq!(wire["metadata"], json!({ "user_id": "user-7f3a9c" }));
    assert_eq!(wire["stop_sequences"], json!(["\n\nHuman:", "END"]));
    assert_eq!(
        wire["messages"][0],
        json!({ "role": "user", "content": "Hello, Claude" })
    );
}

#[test]
fn request_tools_fields() {
    let req = decode_request(&fixture("request_tools.json")).unwrap();
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["get_weather", "get_time"]);
    assert_eq!(req.tools[0].parameters["required"], json!(["location"]));
    assert_eq!(req.tool_choice, Some(ToolChoice::Required));
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert!(req.stream);
    let wire = parse(&encode_request(&req, &opts("m")));
    let source = parse(&fixture("request_tools.json"));
    assert_eq!(wire["tools"], source["tools"]);
    assert_eq!(wire["tool_choice"], source["tool_choice"]);
    assert_eq!(wire["stream"], true);
}

#[test]
fn tool_calls_and_results_keep_ids_and_content() {
    let source = parse(&fixture("request_tool_result.json"));
    let req = decode_request(&fixture("request_tool_result.json")).unwrap();
    let call = &req.messages[1].parts[1];
    assert_eq!(
        call,
        &Part::ToolCall {
            id: "toolu_01A09q90qw90lq917835lq9".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"San Francisco, CA"}"#.into(),
        }
    );
    assert_eq!(
        req.messages[2].parts,
        [
            Part::ToolResult {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                content: vec![text("15 degrees, partly cloudy")],
                is_error: false,
            },
            Part::ToolResult {
                id: "toolu_01B7kR4jXgZ2sWv3nQ8mT5pL".into(),
                content: vec![text("time service unavailable")],
                is_error: true,
            },
        ]
    );
    // Re-encoded, the turns are the same as the client's (one text result becomes a string).
    let wire = parse(&encode_request(&req, &opts("m")));
    assert_eq!(wire["messages"][1], source["messages"][1]);
    assert_eq!(
        wire["messages"][2]["content"][0],
        source["messages"][2]["content"][0]
    );
    assert_eq!(
        wire["messages"][2]["content"][1],
        json!({ "type": "tool_result", "tool_use_id": "toolu_01B7kR4jXgZ2sWv3nQ8mT5pL",
                "content": "time service unavailable", "is_error": true })
    );
    assert_eq!(wire["tool_choice"], json!({ "type": "auto" }));
}

#[test]
fn images_base64_and_url() {
    let req = decode_request(&fixture("request_image.json")).unwrap();
    let parts = &req.messages[0].parts;
    assert!(
        matches!(&parts[0], Part::Image(ImageSource::Base64 { media_type, data })
        if media_type == "image/png" && data.starts_with("iVBORw0KGgo"))
    );
    assert!(matches!(&parts[1], Part::Image(ImageSource::Url(u)) if u.ends_with("_ant.jpg")));
    assert!(req.has_images());
    let wire = parse(&encode_request(&req, &opts("m")));
    let source = parse(&fixture("request_image.json"));
    assert_eq!(wire["messages"], source["messages"]);
}

#[test]
fn thinking_request() {
    let req = decode_request(&fixture("request_thinking.json")).unwrap();
    assert_eq!(req.thinking_budget, Some(10000));
    assert_eq!(req.system.len(), 2);
    assert!(
        matches!(&req.messages[1].parts[0], Part::Thinking { signature: Some(s), .. } if s.starts_with("EqQB"))
    );
    assert!(
        matches!(&req.messages[1].parts[1], Part::RedactedThinking { data } if data.starts_with("EmwK"))
    );
    let wire = parse(&encode_request(&req, &opts("m")));
    let source = parse(&fixture("request_thinking.json"));
    assert_eq!(wire["thinking"], source["thinking"]);
    assert_eq!(wire["messages"][1], source["messages"][1]);
    assert_eq!(
        wire["system"][1],
        json!({ "type": "text", "text": "Show the final answer on its own line." })
    );
}

#[test]
fn decode_request_errors_name_the_field() {
    let cases: [(&str, ErrorKind, Option<&str>, &str); 12] = [
        ("{", ErrorKind::InvalidJson, None, "not valid JSON"),
        ("[]", ErrorKind::BadRequest, None, "JSON object"),
        (
            r#"{"messages":[{"role":"user","content":"x"}]}"#,
            ErrorKind::BadRequest,
            Some("model"),
            "model is required",
        ),
        (
            r#"{"model":"m"}"#,
            ErrorKind::BadRequest,
            Some("messages"),
            "messages is required",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"system","content":"y"}]}"#,
            ErrorKind::BadRequest,
            Some("messages"),
            "messages[1].role `system`",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}"#,
            ErrorKind::BadRequest,
            Some("messages"),
            "messages[0].content[0].type `document`",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#,
            ErrorKind::BadRequest,
            Some("messages"),
            "messages[0].content[0].text is required",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#,
            ErrorKind::BadRequest,
            Some("temperature"),
            "temperature must be a number",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1}"#,
            ErrorKind::BadRequest,
            Some("max_tokens"),
            "max_tokens must be",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}"#,
            ErrorKind::BadRequest,
            Some("tools"),
            "tools[0].type",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"sometimes"}}"#,
            ErrorKind::BadRequest,
            Some("tool_choice"),
            "tool_choice.type",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled"}}"#,
            ErrorKind::BadRequest,
            Some("thinking"),
            "budget_tokens",
        ),
    ];
    for (body, kind, param, needle) in cases {
        let err = decode_request(body.as_bytes()).unwrap_err();
        assert_eq!((err.kind, err.param), (kind, param), "{body}");
        assert!(err.message.contains(needle), "{body}: {}", err.message);
    }
}
