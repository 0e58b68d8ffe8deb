//! Tests of the Gemini request, response and error codecs over the recorded fixtures in
//! `tests/fixtures/gemini/`, plus a proptest that the decoders never panic. Stream tests are
//! in `stream_tests.rs`.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::request::strip_schema;
use super::*;
use crate::errors::ErrorKind;
use crate::translate::EncodeOptions;
use crate::translate::ir::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../tests/fixtures/gemini/", $name)).as_slice()
    };
}

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

#[test]
fn text_request_decodes_and_round_trips() {
    let req = decode_request(fixture!("request_text.json")).unwrap();
    assert_eq!(req.model, "");
    assert_eq!(
        req.system,
        vec!["You are a cat. Your name is Neko.".to_string()]
    );
    assert_eq!(
        req.messages,
        vec![
            text(Role::User, "Hello there"),
            text(Role::Assistant, "Meow. Hello, human."),
            text(Role::User, "What is your name?"),
        ]
    );
    assert_eq!(
        (req.max_tokens, req.temperature, req.top_p),
        (Some(800), Some(0.7), Some(0.9))
    );
    assert_eq!(req.stop, vec!["Title".to_string()]);
    round_trips(&req);
    let body = encoded(&req);
    assert_eq!(body["contents"][1]["role"], "model");
    assert_eq!(
        body["systemInstruction"],
        json!({ "parts": [{ "text": "You are a cat. Your name is Neko." }] })
    );
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 800);
    assert!(body.get("model").is_none());
}

#[test]
fn tools_request_decodes_and_round_trips() {
    let req = decode_request(fixture!("request_tools.json")).unwrap();
    assert_eq!(req.tools.len(), 2);
    assert_eq!(req.tools[1].name, "find_theaters");
    assert_eq!(req.tools[1].parameters["required"], json!(["location"]));
    assert_eq!(
        req.tool_choice,
        Some(ToolChoice::Tool("find_theaters".into()))
    );
    round_trips(&req);
    let body = encoded(&req);
    assert_eq!(
        body["toolConfig"],
        json!({ "functionCallingConfig": { "mode": "ANY", "allowedFunctionNames": ["find_theaters"] } })
    );
    let fixture: Value = serde_json::from_slice(fixture!("request_tools.json")).unwrap();
    assert_eq!(body["tools"], fixture["tools"]);
}

#[test]
fn tool_choice_modes() {
    let mut req = decode_request(fixture!("request_tools.json")).unwrap();
    for (choice, config) in [
        (ToolChoice::Auto, json!({ "mode": "AUTO" })),
        (ToolChoice::None, json!({ "mode": "NONE" })),
        (ToolChoice::Required, json!({ "mode": "ANY" })),
    ] {
        req.tool_choice = Some(choice);
        assert_eq!(encoded(&req)["toolConfig"]["functionCallingConfig"], config);
        round_trips(&req);
    }
}

#[test]
fn tool_results_pair_with_calls_by_name_in_order() {
    let req = decode_request(fixture!("request_tool_result.json")).unwrap();
    let call = |id: &str, loc: &str| Part::ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: json!({ "location": loc }).to_string(),
    };
    let result = |id: &str, t: &str| Part::ToolResult {
        id: id.into(),
        content: vec![Part::Text(t.into())],
        is_error: false,
    };
    assert_eq!(
        req.messages[1],
        Message {
            role: Role::Assistant,
            parts: vec![call("call_0", "Boston, MA"), call("call_1", "Paris")]
        }
    );
    assert_eq!(
        req.messages[2],
        Message {
            role: Role::Tool,
            parts: vec![
                result("call_0", r#"{"temperature":22,"unit":"celsius"}"#),
                result("call_1", "18 degrees and raining")
            ],
        }
    );
    round_trips(&req);
    let fixture: Value = serde_json::from_slice(fixture!("request_tool_result.json")).unwrap();
    assert_eq!(encoded(&req)["contents"], fixture["contents"]);
}

#[test]
fn call_ids_stay_unique_across_turns() {
    let body = json!({ "contents": [
        { "role": "model", "parts": [{ "functionCall": { "name": "f", "args": {} } }] },
        { "role": "user", "parts": [{ "functionResponse": { "name": "f", "response": {} } }] },
        { "role": "model", "parts": [{ "functionCall": { "name": "f", "id": "given" } }, { "functionCall": { "name": "g" } }] },
        { "role": "user", "parts": [
            { "functionResponse": { "name": "g", "response": { "error": "boom" } } },
            { "functionResponse": { "name": "f", "response": { "output": 1 } } },
            { "functionResponse": { "name": "h", "response": { "a": 1, "b": 2 } } }
        ] }
    ] });
    let req = decode_request(body.to_string().as_bytes()).unwrap();
    let ids = |m: &Message| -> Vec<(String, bool)> {
        m.parts
            .iter()
            .map(|p| match p {
                Part::ToolCall { id, .. } => (id.clone(), false),
                Part::ToolResult { id, is_error, .. } => (id.clone(), *is_error),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(ids(&req.messages[0]), vec![("call_0".into(), false)]);
    assert_eq!(ids(&req.messages[1]), vec![("call_0".into(), false)]);
    assert_eq!(
        ids(&req.messages[2]),
        vec![("given".into(), false), ("call_2".into(), false)]
    );
    assert_eq!(
        ids(&req.messages[3]),
        vec![
            ("call_2".into(), true),
            ("given".into(), false),
            ("h".into(), false)
        ]
    );
    let Part::ToolCall { arguments, .. } = &req.messages[2].parts[1] else {
        panic!()
    };
    assert_eq!(arguments, "{}");
}

#[test]
fn tool_results_are_sent_under_their_call_names() {
    let req = Request {
        messages: vec![
            text(Role::User, "weather?"),
            Message {
                role: Role::Assistant,
                parts: vec![Part::ToolCall {
                    id: "toolu_1".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Oslo"}"#.into(),
                }],
            },
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult {
                    id: "toolu_1".into(),
                    content: vec![Part::Text("sunny".into())],
                    is_error: false,
                }],
            },
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult {
                    id: "unknown".into(),
                    content: vec![Part::Text("{\"x\":1}".into())],
                    is_error: true,
                }],
            },
            Message {
                role: Role::User,
                parts: vec![
                    Part::ToolResult {
                        id: "toolu_1".into(),
                        content: vec![
                            Part::Text("[1,2]".into()),
                            Part::Image(ImageSource::Url("https://x.test/a.webp".into())),
                        ],
                        is_error: false,
                    },
                    Part::Text("thanks".into()),
                ],
            },
        ],
        ..Request::default()
    };
    let body = encoded(&req);
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(
        contents.len(),
        3,
        "tool messages and the user turn merge into one user content"
    );
    assert_eq!(
        contents[1]["parts"][0]["functionCall"],
        json!({ "name": "get_weather", "args": { "city": "Oslo" } })
    );
    assert_eq!(
        contents[2]["parts"],
        json!([
            { "functionResponse": { "name": "get_weather", "response": { "result": "sunny" } } },
            { "functionResponse": { "name": "unknown", "response": { "error": { "x": 1 } } } },
            { "functionResponse": { "name": "get_weather", "response": { "result": "[1,2]" } } },
            { "fileData": { "mimeType": "image/webp", "fileUri": "https://x.test/a.webp" } },
            { "text": "thanks" }
        ])
    );
}

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
}
