//! Request tests: messages, tools and tool choice, and how calls and results are named and
//! paired in both directions.

use serde_json::{Value, json};

use super::*;

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
