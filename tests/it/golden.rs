//! The golden-test matrix: every inbound format (OpenAI, Anthropic) × every provider format
//! (OpenAI, Anthropic, Gemini) for each scenario in `tests/fixtures/golden/<scenario>/`, run
//! through the codecs as the gateway runs them (`proxy::attempt`, `proxy::forward`). Inputs:
//! `in.<in>.json` (client request), `up.<p>.{json,sse,error.json}` (provider answer). Same-format
//! pairs are forwarded byte for byte and have no expected file; the others have
//! `expect.<in>_to_<p>.request.json` and `expect.<p>_to_<in>.{response.json,stream.sse,error.json}`.
//!
//! `GOLDEN_UPDATE=1 cargo test --test it golden` writes expected files that are missing or
//! differ (review them!); without it a missing or different file fails with a diff. JSON is
//! compared parsed, SSE as text, `"created":<digits>` read as `"created":0` (the OpenAI encoder
//! stamps the time). Each case also checks that the meaning survives (IR round trips), the
//! client stream's shape, the finish-reason mapping, and that a stream cut at any byte offset
//! translates the same.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use llm_gateway::config::ApiFormat::{self, Anthropic, Gemini, Openai};
use llm_gateway::sse::SseFramer;
use llm_gateway::translate::ir::{Event, FinishReason, ImageSource, Part, Request, Response, Role};
use llm_gateway::translate::{Codec, EncodeOptions, StreamTranslator};
use serde_json::{Value, json};

const INBOUND: [ApiFormat; 2] = [Openai, Anthropic];
const PROVIDERS: [ApiFormat; 3] = [Openai, Anthropic, Gemini];

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => { $( #[test] fn $name() { run(stringify!($name)); } )* };
}

/// `assert_eq!` naming the case and the expression.
macro_rules! same {
    ($ctx:expr, $a:expr, $b:expr) => {
        assert_eq!($a, $b, "{}: {}", $ctx, stringify!($a))
    };
}

scenarios!(
    plain_text,
    multi_turn_system,
    image_input,
    tool_call_single,
    tool_calls_parallel,
    tool_result_round_trip,
    json_mode,
    max_tokens_stop,
    upstream_error,
);

fn run(scenario: &str) {
    let mut g = Golden::open(scenario);
    for inbound in INBOUND {
        for provider in PROVIDERS {
            let ctx = format!(
                "{scenario}: client {}, provider {}",
                name(inbound),
                name(provider)
            );
            let case = Case {
                scenario,
                inbound,
                provider,
                ctx,
            };
            check_request(&mut g, &case);
            if scenario == "upstream_error" {
                check_error(&mut g, &case);
            } else {
                check_response(&mut g, &case);
                check_stream(&mut g, &case);
                check_splits(&g, &case);
            }
        }
    }
    g.finish();
}

/// One cell of the matrix.
struct Case<'a> {
    scenario: &'a str,
    inbound: ApiFormat,
    provider: ApiFormat,
    ctx: String,
}

impl Case<'_> {
    /// The finish reason and the number of tool calls of every provider's answer.
    fn outcome(&self) -> (Option<FinishReason>, usize) {
        match self.scenario {
            "tool_call_single" => (Some(FinishReason::ToolCalls), 1),
            "tool_calls_parallel" => (Some(FinishReason::ToolCalls), 2),
            "max_tokens_stop" => (Some(FinishReason::Length), 0),
            _ => (Some(FinishReason::Stop), 0),
        }
    }

    /// The client format's word for the finish reason.
    fn finish_wire(&self) -> &'static str {
        match (self.outcome().0, self.inbound) {
            (Some(FinishReason::ToolCalls), Openai) => "tool_calls",
            (Some(FinishReason::ToolCalls), _) => "tool_use",
            (Some(FinishReason::Length), Openai) => "length",
            (Some(FinishReason::Length), _) => "max_tokens",
            (_, Openai) => "stop",
            (_, _) => "end_turn",
        }
    }

    /// `up.<provider>.<ext>`
    fn up(&self, ext: &str) -> String {
        format!("up.{}.{ext}", name(self.provider))
    }

    /// `expect.<from>_to_<to>.<kind>`: requests go to the provider, the rest to the client.
    fn expect(&self, kind: &str) -> String {
        let (from, to) = match kind {
            "request.json" => (self.inbound, self.provider),
            _ => (self.provider, self.inbound),
        };
        format!("expect.{}_to_{}.{kind}", name(from), name(to))
    }
}

fn name(f: ApiFormat) -> &'static str {
    match f {
        Openai => "openai",
        Anthropic => "anthropic",
        Gemini => "gemini",
    }
}

fn json_of(bytes: impl AsRef<[u8]>) -> Value {
    let bytes = bytes.as_ref();
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// The text parts of `parts`, joined.
fn text_of(parts: &[Part]) -> String {
    let text = |p: &Part| {
        if let Part::Text(t) = p {
            t.clone()
        } else {
            String::new()
        }
    };
    parts.iter().map(text).collect()
}

// ---- requests ---------------------------------------------------------------------------------

/// The client's request decoded; a streaming one sets `stream` (OpenAI: with usage, as SDKs do).
fn client_request(g: &Golden, case: &Case<'_>, stream: bool) -> Request {
    let mut v = json_of(g.read(&format!("in.{}.json", name(case.inbound))));
    if stream {
        v["stream"] = json!(true);
        if case.inbound == Openai {
            v["stream_options"] = json!({ "include_usage": true });
        }
    }
    let body = serde_json::to_vec(&v).unwrap();
    let ir = Codec(case.inbound).decode_request(&body);
    let ir = ir.unwrap_or_else(|e| panic!("{}: {}", case.ctx, e.message));
    same!(case.ctx, ir.stream, stream);
    ir
}

/// The upstream body, encoded as `proxy::attempt` does.
fn encode_for(provider: ApiFormat, ir: &Request) -> Vec<u8> {
    let model = match provider {
        Openai => "gpt-4o",
        Anthropic => "claude-sonnet-4-5",
        Gemini => "gemini-2.5-flash",
    };
    let opts = EncodeOptions {
        model: model.into(),
        default_max_tokens: 4096,
        include_usage: true,
    };
    Codec(provider).encode_request(ir, &opts)
}

fn check_request(g: &mut Golden, case: &Case<'_>) {
    let (ctx, provider) = (&case.ctx, case.provider);
    let (ir, streamed) = (
        client_request(g, case, false),
        client_request(g, case, true),
    );
    if case.inbound == provider {
        return; // forwarded as the client sent it
    }
    let body = encode_for(provider, &ir);
    g.check_json(&case.expect("request.json"), &body);
    let up = json_of(&body);
    // A streamed request differs only in how the provider's format asks for a stream.
    let mut want = up.clone();
    match provider {
        Openai => {
            want["stream"] = json!(true);
            want["stream_options"] = json!({ "include_usage": true });
        }
        Anthropic => want["stream"] = json!(true),
        Gemini => {} // the URL says it (`streamGenerateContent?alt=sse`)
    }
    same!(ctx, json_of(encode_for(provider, &streamed)), want);
    let back = Codec(provider).decode_request(&body);
    same_request(
        ctx,
        &ir,
        &back.unwrap_or_else(|e| panic!("{ctx}: {}", e.message)),
        provider,
    );
    // Shapes the IR comparison cannot see: JSON mode, Anthropic's required `max_tokens`,
    // Gemini's `systemInstruction`.
    let json_mode = ir.wants_json();
    match provider {
        Openai => same!(ctx, up.get("response_format").is_some(), json_mode),
        Anthropic => same!(ctx, up["max_tokens"], json!(ir.max_tokens.unwrap_or(4096))),
        Gemini => {
            let mime = &up["generationConfig"]["responseMimeType"];
            same!(ctx, mime == "application/json", json_mode);
            let system = up.pointer("/systemInstruction/parts/0/text");
            same!(
                ctx,
                system.and_then(Value::as_str),
                ir.system.first().map(String::as_str)
            );
        }
    }
    // Tool results keep their ids (in the call and the result), or for Gemini, which has no
    // ids, are sent under the name of the function they answer.
    let text = String::from_utf8(body).unwrap();
    for (id, name) in results(&ir) {
        let found = match provider {
            Gemini => text.contains(&format!(r#"{{"functionResponse":{{"name":"{name}""#)),
            _ => text.matches(&format!("\"{id}\"")).count() >= 2,
        };
        assert!(found, "{ctx}: the result for {id} ({name}) in {text}");
    }
}

/// `(id, function name)` of each tool result of a request.
fn results(req: &Request) -> Vec<(String, String)> {
    let parts = || req.messages.iter().flat_map(|m| &m.parts);
    let call_name = |id: &str| {
        let name = |p: &Part| match p {
            Part::ToolCall { id: c, name, .. } if c == id => Some(name.clone()),
            _ => None,
        };
        parts().find_map(name).unwrap_or_default()
    };
    let result = |p: &Part| match p {
        Part::ToolResult { id, .. } => Some((id.clone(), call_name(id))),
        _ => None,
    };
    parts().filter_map(result).collect()
}

/// The provider's reading of the translated request means what the client asked, for every
/// field the provider's format can carry.
fn same_request(ctx: &str, client: &Request, up: &Request, provider: ApiFormat) {
    same!(ctx, up.system, client.system);
    same!(ctx, turns(up, provider), turns(client, provider));
    let tools = |r: &Request| {
        let tool = |t: &llm_gateway::translate::ir::Tool| (t.name.clone(), t.description.clone());
        r.tools.iter().map(tool).collect::<Vec<_>>()
    };
    same!(ctx, tools(up), tools(client));
    same!(ctx, up.tool_choice, client.tool_choice);
    same!(
        ctx,
        (up.temperature, up.top_p, &up.stop),
        (client.temperature, client.top_p, &client.stop)
    );
    if provider == Anthropic {
        same!(ctx, up.max_tokens, Some(client.max_tokens.unwrap_or(4096)));
        same!(ctx, up.response_format, None);
    } else {
        same!(ctx, up.max_tokens, client.max_tokens);
        same!(ctx, up.response_format, client.response_format);
    }
    if provider != Gemini {
        same!(ctx, up.parallel_tool_calls, client.parallel_tool_calls);
        same!(ctx, up.user, client.user);
    }
}

/// One turn: role, its text, then images, calls `(id, name, arguments)` and results
/// `(id, function name, content)` in order. Ids are `None` for Gemini, which has none.
#[derive(Debug, PartialEq)]
struct Turn(&'static str, String, Vec<Item>);

#[derive(Debug, PartialEq)]
enum Item {
    Image(ImageSource),
    Call(Option<String>, String, Value),
    Result(Option<String>, String, Value),
}

/// The conversation as turns of alternating roles (consecutive messages of one role merged),
/// whatever the messages and blocks a format splits them into.
fn turns(req: &Request, provider: ApiFormat) -> Vec<Turn> {
    let names = results(req);
    let id = |id: &String| (provider != Gemini).then(|| id.clone());
    let mut out: Vec<Turn> = Vec::new();
    for m in &req.messages {
        let role = if m.role == Role::Assistant {
            "assistant"
        } else {
            "user"
        };
        if out.last().is_none_or(|t| t.0 != role) {
            out.push(Turn(role, String::new(), Vec::new()));
        }
        let Turn(_, text, items) = out.last_mut().unwrap();
        for p in &m.parts {
            match p {
                Part::Text(t) => text.push_str(t),
                Part::Image(src) => items.push(Item::Image(src.clone())),
                Part::ToolCall {
                    id: c,
                    name,
                    arguments,
                } => {
                    items.push(Item::Call(id(c), name.clone(), json_of(arguments)));
                }
                Part::ToolResult { id: r, content, .. } => {
                    let text = text_of(content);
                    let content = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    let name = names.iter().find(|(i, _)| i == r).map(|n| n.1.clone());
                    items.push(Item::Result(id(r), name.unwrap_or_default(), content));
                }
                Part::Thinking { .. } | Part::RedactedThinking { .. } => {}
            }
        }
    }
    out
}

// ---- responses, streams, errors ---------------------------------------------------------------

/// What an answer says: text, tool calls `(id, name, arguments)`, finish reason, usage
/// `(input, output, cached input)`, and whether it ended properly.
#[derive(Debug, Default, PartialEq)]
struct Answer {
    text: String,
    calls: Vec<(String, String, Value)>,
    finish: Option<FinishReason>,
    usage: Option<(u64, u64, u64)>,
    completed: bool,
}

fn answer_of(r: &Response) -> Answer {
    let call = |p: &Part| match p {
        Part::ToolCall {
            id,
            name,
            arguments,
        } => Some((id.clone(), name.clone(), json_of(arguments))),
        _ => None,
    };
    let u = r.usage;
    Answer {
        text: text_of(&r.parts),
        calls: r.parts.iter().filter_map(call).collect(),
        finish: r.finish,
        usage: Some((u.input_tokens, u.output_tokens, u.cached_input_tokens)),
        completed: true,
    }
}

/// Decodes a whole stream of `format` into what it says.
fn decode_stream(format: ApiFormat, bytes: &[u8]) -> Answer {
    let (mut framer, mut decoder) = (SseFramer::new(), Codec(format).stream_decoder());
    let mut events = Vec::new();
    framer.push(bytes);
    while let Some(event) = framer.next_event() {
        decoder.decode_event(&event, &mut events);
    }
    if let Some(tail) = framer.finish() {
        decoder.decode_event(&tail, &mut events);
    }
    let mut a = Answer {
        completed: decoder.finish(&mut events),
        ..Answer::default()
    };
    let mut calls: Vec<(u32, String, String, String)> = Vec::new();
    for e in events {
        match e {
            Event::TextDelta(t) => a.text.push_str(&t),
            Event::ToolCallStart { index, id, name } => {
                calls.push((index, id, name, String::new()))
            }
            Event::ToolCallDelta { index, arguments } => {
                let call = calls.iter_mut().find(|c| c.0 == index);
                call.unwrap_or_else(|| panic!("{format:?}: no call {index}"))
                    .3
                    .push_str(&arguments);
            }
            Event::Usage(u) => {
                a.usage = Some((u.input_tokens, u.output_tokens, u.cached_input_tokens))
            }
            Event::Finish { reason, .. } => a.finish = Some(reason),
            Event::Error(e) => panic!("{format:?} stream reports an error: {e:?}"),
            Event::Start { .. } | Event::ThinkingDelta(_) | Event::ThinkingSignature(_) => {}
        }
    }
    a.calls = calls
        .into_iter()
        .map(|(_, id, name, args)| (id, name, json_of(args)))
        .collect();
    a
}

fn check_response(g: &mut Golden, case: &Case<'_>) {
    let (ctx, inbound) = (&case.ctx, case.inbound);
    let body = g.read(&case.up("json"));
    let decoded = Codec(case.provider).decode_response(&body);
    let decoded = decoded.unwrap_or_else(|e| panic!("{ctx}: {}", e.message));
    let direct = answer_of(&decoded);
    same!(ctx, (direct.finish, direct.calls.len()), case.outcome());
    let client = if inbound == case.provider {
        body // forwarded as the provider sent it
    } else {
        let out = Codec(inbound).encode_response(&decoded);
        g.check_json(&case.expect("response.json"), &out);
        out
    };
    let v = json_of(&client);
    let reason = if inbound == Openai {
        &v["choices"][0]["finish_reason"]
    } else {
        &v["stop_reason"]
    };
    same!(ctx, reason, case.finish_wire());
    let back = Codec(inbound).decode_response(&client);
    same!(
        ctx,
        answer_of(&back.unwrap_or_else(|e| panic!("{ctx}: {}", e.message))),
        direct
    );
}

/// What the gateway sends the client for a provider stream that arrives in two pieces, cut at
/// `cut`.
fn translate(case: &Case<'_>, bytes: &[u8], cut: usize) -> Vec<u8> {
    let decoder = Codec(case.provider).stream_decoder();
    let mut t = StreamTranslator::new(decoder, Codec(case.inbound).stream_encoder(true));
    let mut out = t.push(&bytes[..cut]).to_vec();
    out.extend_from_slice(&t.push(&bytes[cut..]));
    out.extend_from_slice(&t.finish());
    out
}

fn check_stream(g: &mut Golden, case: &Case<'_>) {
    let (ctx, inbound) = (&case.ctx, case.inbound);
    let up = g.read(&case.up("sse"));
    let direct = decode_stream(case.provider, &up);
    same!(
        ctx,
        (direct.completed, direct.finish, direct.calls.len()),
        (true, case.outcome().0, case.outcome().1)
    );
    let translated = translate(case, &up, up.len());
    let client = if inbound == case.provider {
        // Forwarded as the provider sent it; translated anyway, it must mean the same.
        same!(ctx, decode_stream(inbound, &translated), direct);
        up
    } else {
        g.check_sse(&case.expect("stream.sse"), &translated);
        translated
    };
    same!(ctx, decode_stream(inbound, &client), direct);
    let text = String::from_utf8(client).unwrap();
    match inbound {
        Openai => openai_shape(case, &text),
        _ => anthropic_shape(case, &text),
    }
}

/// `role` first, one finish reason, tool calls at indexes 0, 1, ... each announced with id and
/// name, the usage chunk, `[DONE]` last.
fn openai_shape(case: &Case<'_>, text: &str) {
    let ctx = &case.ctx;
    let data = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: "));
    let data: Vec<&str> = data
        .map(|d| d.unwrap_or_else(|| panic!("{ctx}: {text}")))
        .collect();
    let (done, chunks) = data.split_last().unwrap();
    same!(ctx, *done, "[DONE]");
    let chunks: Vec<Value> = chunks.iter().map(json_of).collect();
    same!(ctx, chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let reasons = chunks.iter().map(|c| &c["choices"][0]["finish_reason"]);
    same!(
        ctx,
        reasons.filter(|r| !r.is_null()).collect::<Vec<_>>(),
        [case.finish_wire()]
    );
    let last = chunks.last().unwrap();
    same!(
        ctx,
        (&last["choices"], last["usage"].is_object()),
        (&json!([]), true)
    );
    let mut indexes = Vec::new();
    let calls = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array());
    for call in calls.flatten() {
        let index = call["index"].as_u64().unwrap();
        if !indexes.contains(&index) {
            assert!(
                call["id"].is_string() && call["function"]["name"].is_string(),
                "{ctx}: {call}"
            );
            indexes.push(index);
        }
    }
    same!(
        ctx,
        indexes,
        (0..case.outcome().1 as u64).collect::<Vec<_>>()
    );
}

/// `message_start` first, `message_stop` last, each block started at the next index before its
/// deltas and stopped before the next one starts, `stop_reason` in `message_delta`.
fn anthropic_shape(case: &Case<'_>, text: &str) {
    let ctx = &case.ctx;
    let event = |e: &str| {
        let e = e
            .strip_prefix("event: ")
            .and_then(|e| e.split_once("\ndata: "));
        let (name, data) = e.unwrap_or_else(|| panic!("{ctx}: {text}"));
        (name.to_owned(), json_of(data))
    };
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(event)
        .collect();
    same!(
        ctx,
        (events[0].0.as_str(), events.last().unwrap().0.as_str()),
        ("message_start", "message_stop")
    );
    let (mut next, mut open, mut tools) = (0, None, 0);
    for (name, data) in &events {
        same!(ctx, data["type"], name.as_str());
        let index = data["index"].as_u64();
        match name.as_str() {
            "content_block_start" => {
                assert!(
                    open.is_none() && index == Some(next),
                    "{ctx}: block {index:?} starts in order"
                );
                (open, next) = (index, next + 1);
                tools += usize::from(data["content_block"]["type"] == "tool_use");
            }
            "content_block_delta" => assert!(index.is_some() && index == open, "{ctx}: {data}"),
            "content_block_stop" => same!(ctx, open.take(), index),
            "message_delta" => {
                same!(ctx, open, None);
                same!(ctx, data["delta"]["stop_reason"], case.finish_wire());
            }
            _ => {}
        }
    }
    same!(ctx, tools, case.outcome().1);
}

/// The provider stream cut in two at every byte offset translates exactly as when whole.
fn check_splits(g: &Golden, case: &Case<'_>) {
    let up = g.read(&case.up("sse"));
    let whole = normalise(&translate(case, &up, up.len()));
    for cut in 0..up.len() {
        let split = normalise(&translate(case, &up, cut));
        assert!(
            split == whole,
            "{}: cut at byte {cut}:\n{}",
            case.ctx,
            diff(&whole, &split)
        );
    }
}

fn check_error(g: &mut Golden, case: &Case<'_>) {
    let ctx = &case.ctx;
    let status = match case.provider {
        Anthropic => 529, // overloaded
        _ => 429,         // OpenAI rate limit, Gemini RESOURCE_EXHAUSTED
    };
    let info = Codec(case.provider).decode_error(status, &g.read(&case.up("error.json")));
    assert!(
        info.status == status && info.code.is_some() && !info.message.is_empty(),
        "{ctx}: {info:?}"
    );
    if case.inbound == case.provider {
        return; // forwarded as the provider sent it
    }
    let out = Codec(case.inbound).encode_error(&info);
    g.check_json(&case.expect("error.json"), &out);
    let back = Codec(case.inbound).decode_error(status, &out);
    same!(ctx, (back.status, &back.message), (status, &info.message));
}

// ---- expected files ---------------------------------------------------------------------------

/// The expected files of one scenario: compared, or written under `GOLDEN_UPDATE=1`.
struct Golden {
    dir: PathBuf,
    update: bool,
    checked: BTreeSet<String>,
    failures: Vec<String>,
}

impl Golden {
    fn open(scenario: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden");
        let update = std::env::var("GOLDEN_UPDATE").is_ok_and(|v| v == "1");
        Self {
            dir: dir.join(scenario),
            update,
            checked: BTreeSet::new(),
            failures: Vec::new(),
        }
    }

    fn read(&self, file: &str) -> Vec<u8> {
        let path = self.dir.join(file);
        fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// JSON compared parsed, written pretty-printed.
    fn check_json(&mut self, file: &str, actual: &[u8]) {
        let mut actual = json_of(actual);
        if let Some(created) = actual.get_mut("created") {
            *created = json!(0);
        }
        let expected = fs::read(self.dir.join(file)).ok().map(json_of);
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap() + "\n";
        let equal = expected.as_ref() == Some(&actual);
        self.settle(file, equal, pretty(&actual), expected.as_ref().map(pretty));
    }

    /// SSE compared as text.
    fn check_sse(&mut self, file: &str, actual: &[u8]) {
        let actual = normalise(actual);
        let expected = fs::read_to_string(self.dir.join(file)).ok();
        self.settle(
            file,
            expected.as_deref() == Some(actual.as_str()),
            actual,
            expected,
        );
    }

    fn settle(&mut self, file: &str, equal: bool, actual: String, expected: Option<String>) {
        self.checked.insert(file.to_owned());
        if equal {
            return;
        }
        let failure = match expected {
            _ if self.update => return fs::write(self.dir.join(file), actual).unwrap(),
            Some(e) => format!("{file} differs (-expected +actual):\n{}", diff(&e, &actual)),
            None => format!("{file} is missing: run with GOLDEN_UPDATE=1, then review it"),
        };
        self.failures.push(failure);
    }

    /// Fails with every difference found, and with expected files no case produced.
    fn finish(mut self) {
        for entry in fs::read_dir(&self.dir).unwrap() {
            let file = entry.unwrap().file_name().to_string_lossy().into_owned();
            if file.starts_with("expect.") && !self.checked.contains(&file) {
                self.failures
                    .push(format!("{file} is produced by no case: delete it"));
            }
        }
        let dir = self.dir.display();
        assert!(
            self.failures.is_empty(),
            "{dir}:\n{}",
            self.failures.join("\n\n")
        );
    }
}

/// The text of `bytes` with every `"created":<digits>` made `"created":0`.
fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let (key, mut out, mut rest) = ("\"created\":", String::new(), text.as_str());
    while let Some(at) = rest.find(key) {
        let (head, tail) = rest.split_at(at + key.len());
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(head);
        out.push_str(if digits > 0 { "0" } else { "" });
        rest = &tail[digits..];
    }
    out + rest
}

/// The lines that differ (longest common subsequence), with their line numbers.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut lcs = vec![vec![0usize; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            let skip = lcs[i + 1][j].max(lcs[i][j + 1]);
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                skip
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            (i, j) = (i + 1, j + 1);
        } else if j < a.len() && (i == e.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!("+{:>4} {}\n", j + 1, a[j]);
            j += 1;
        } else {
            out += &format!("-{:>4} {}\n", i + 1, e[i]);
            i += 1;
        }
    }
    out
}
