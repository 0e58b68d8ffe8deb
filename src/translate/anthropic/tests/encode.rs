//! Tests of request encoding: the merging rules Anthropic's turn order needs, options and
//! defaults, and tool arguments.

use serde_json::json;

use super::{msg, opts, parse, text};
use crate::translate::anthropic::encode_request;
use crate::translate::ir::{Part, Request, ResponseFormat, Role, Tool, ToolChoice};

fn call(id: &str) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: "f".into(),
        arguments: "{}".into(),
    }
}

fn result(id: &str) -> Part {
    Part::ToolResult {
        id: id.into(),
        content: vec![text(id)],
        is_error: false,
    }
}

#[test]
fn tool_results_are_merged_into_one_user_turn() {
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("hi")]),
            msg(
                Role::Assistant,
                vec![text("calling"), call("call_a"), call("call_b")],
            ),
            msg(Role::Tool, vec![result("call_a")]),
            msg(Role::User, vec![text("and also")]),
            msg(Role::Tool, vec![result("call_b")]),
        ],
        ..Request::default()
    };
    let wire = parse(&encode_request(&req, &opts("m")));
    let messages = wire["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["content"][1]["id"], "call_a");
    assert_eq!(messages[2]["role"], "user");
    let types: Vec<&str> = messages[2]["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["tool_result", "tool_result", "text"]);
    assert_eq!(messages[2]["content"][0]["tool_use_id"], "call_a");
    assert_eq!(messages[2]["content"][1]["tool_use_id"], "call_b");
    assert_eq!(messages[2]["content"][2]["text"], "and also");
}

#[test]
fn same_roles_merge_and_empty_messages_drop() {
    let req = Request {
        messages: vec![
            msg(Role::User, vec![text("a")]),
            msg(Role::User, vec![text("b")]),
            msg(Role::Assistant, vec![text("")]),
            msg(Role::User, vec![text("c")]),
            msg(
                Role::Assistant,
                vec![
                    Part::Thinking {
                        text: "unsigned".into(),
                        signature: None,
                    },
                    text("d"),
                ],
            ),
        ],
        ..Request::default()
    };
    let wire = parse(&encode_request(&req, &opts("m")));
    assert_eq!(
        wire["messages"],
        json!([
            { "role": "user", "content": [
                { "type": "text", "text": "a" }, { "type": "text", "text": "b" }, { "type": "text", "text": "c" } ] },
            // Thinking without a signature cannot be verified by Anthropic: it is left out.
            { "role": "assistant", "content": "d" },
        ])
    );
}

#[test]
fn encode_request_options_and_defaults() {
    let mut req = Request {
        model: "client-name".into(),
        system: vec!["one".into(), "two".into()],
        messages: vec![msg(Role::User, vec![text("q")])],
        tools: vec![Tool {
            name: "f".into(),
            description: None,
            parameters: json!({ "type": "object" }),
        }],
        parallel_tool_calls: Some(false),
        response_format: Some(ResponseFormat::JsonObject),
        thinking_budget: Some(2048),
        ..Request::default()
    };
    let wire = parse(&encode_request(&req, &opts("claude-upstream")));
    assert_eq!(wire["model"], "claude-upstream");
    assert_eq!(wire["max_tokens"], 4096);
    assert_eq!(
        wire["system"],
        json!([{ "type": "text", "text": "one" }, { "type": "text", "text": "two" }])
    );
    assert_eq!(
        wire["tools"],
        json!([{ "name": "f", "input_schema": { "type": "object" } }])
    );
    assert_eq!(
        wire["tool_choice"],
        json!({ "type": "auto", "disable_parallel_tool_use": true })
    );
    assert_eq!(
        wire["thinking"],
        json!({ "type": "enabled", "budget_tokens": 2048 })
    );
    for absent in [
        "response_format",
        "stream",
        "metadata",
        "temperature",
        "stop_sequences",
    ] {
        assert!(wire.get(absent).is_none(), "{absent}");
    }
    req.tool_choice = Some(ToolChoice::None);
    let wire = parse(&encode_request(&req, &opts("m")));
    assert_eq!(wire["tool_choice"], json!({ "type": "none" }));
    req.tool_choice = Some(ToolChoice::Tool("f".into()));
    req.parallel_tool_calls = Some(true);
    let wire = parse(&encode_request(&req, &opts("m")));
    assert_eq!(
        wire["tool_choice"],
        json!({ "type": "tool", "name": "f", "disable_parallel_tool_use": false })
    );
    // No tools: no tool_choice (Anthropic refuses one without tools).
    req.tools.clear();
    assert!(
        parse(&encode_request(&req, &opts("m")))
            .get("tool_choice")
            .is_none()
    );
}

#[test]
fn tool_arguments_become_an_input_object() {
    for (arguments, input) in [
        (r#"{"a":[1,2]}"#, json!({ "a": [1, 2] })),
        ("", json!({})),
        ("{\"a\":", json!({})),
        ("[1]", json!({})),
    ] {
        let req = Request {
            messages: vec![msg(
                Role::Assistant,
                vec![Part::ToolCall {
                    id: "t".into(),
                    name: "f".into(),
                    arguments: arguments.into(),
                }],
            )],
            ..Request::default()
        };
        let wire = parse(&encode_request(&req, &opts("m")));
        assert_eq!(
            wire["messages"][0]["content"][0]["input"], input,
            "{arguments:?}"
        );
    }
}
