//! The golden-test matrix: each inbound format (OpenAI, Anthropic) × each provider format
//! (OpenAI, Anthropic, Gemini), per scenario in `tests/fixtures/golden/<scenario>/`, through the
//! codecs as the gateway runs them (`proxy::attempt`, `proxy::forward`). Inputs: `in.<in>.json`
//! (the client request) and `up.<p>.{json,sse,error.json}` (the provider's answer). Same-format
//! pairs are forwarded byte for byte, so only the other pairs have expected files:
//! `expect.<in>_to_<p>.request.json`, `expect.<p>_to_<in>.{response.json,stream.sse,error.json}`.
//!
//! `GOLDEN_UPDATE=1 cargo test --test it golden` writes the expected files that are missing or
//! differ (review them); without it those fail with a diff. JSON is compared parsed, SSE as
//! text; `"created":<digits>` reads as `"created":0` (the OpenAI encoder stamps the time).
//! Besides the goldens, each case checks that the meaning survives (the provider's and the
//! client's readings agree), the client stream's shape, the finish-reason mapping, and that a
//! stream cut in two at every byte offset translates the same.

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
    ($($name:ident),*) => { $( #[test] fn $name() { run(stringify!($name)); } )* };
}

scenarios! { plain_text, multi_turn_system, image_input, tool_call_single, tool_calls_parallel,
tool_result_round_trip, json_mode, max_tokens_stop, upstream_error }

/// `assert_eq!` naming the case and the expression.
macro_rules! same {
    ($ctx:expr, $a:expr, $b:expr) => {
        assert_eq!($a, $b, "{}: {}", $ctx, stringify!($a))
    };
}

fn run(scenario: &str) {
    let mut g = Golden::open(scenario);
    for inbound in INBOUND {
        for provider in PROVIDERS {
            let case = Case {
                scenario,
                inbound,
                provider,
            };
            check_request(&mut g, &case);
            if scenario == "upstream_error" {
                check_error(&mut g, &case);
            } else {
                check_response(&mut g, &case);
                check_stream(&mut g, &case);
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
}

impl Case<'_> {
    fn ctx(&self) -> String {
        let (i, p) = (name(self.inbound), name(self.provider));
        format!("{}: client {i}, provider {p}", self.scenario)
    }

    /// Every provider's answer: its finish reason, the OpenAI and Anthropic words for it, and
    /// how many tool calls it makes.
    fn outcome(&self) -> (FinishReason, [&'static str; 2], usize) {
        match self.scenario {
            "tool_call_single" => (FinishReason::ToolCalls, ["tool_calls", "tool_use"], 1),
            "tool_calls_parallel" => (FinishReason::ToolCalls, ["tool_calls", "tool_use"], 2),
            "max_tokens_stop" => (FinishReason::Length, ["length", "max_tokens"], 0),
            _ => (FinishReason::Stop, ["stop", "end_turn"], 0),
        }
    }

    /// The client's word for the finish reason.
    fn wire_finish(&self) -> &'static str {
        self.outcome().1[usize::from(self.inbound != Openai)]
    }

    /// `up.<provider>.<ext>`
    fn up(&self, ext: &str) -> String {
        format!("up.{}.{ext}", name(self.provider))
    }

    /// `expect.<from>_to_<to>.<kind>`: requests go to the provider, the rest to the client.
    fn expect(&self, kind: &str) -> String {
        let (i, p) = (name(self.inbound), name(self.provider));
        let (from, to) = if kind == "request.json" {
            (i, p)
        } else {
            (p, i)
        };
        format!("expect.{from}_to_{to}.{kind}")
    }
}

fn name(f: ApiFormat) -> String {
    format!("{f:?}").to_lowercase()
}

fn json_of(bytes: impl AsRef<[u8]>) -> Value {
    let text = String::from_utf8_lossy(bytes.as_ref()).into_owned();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The text parts, joined.
fn text_of(parts: &[Part]) -> String {
    let text = |p: &Part| {
        if let Part::Text(t) = p {
            t.as_str()
        } else {
            ""
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
    let ir = Codec(case.inbound).decode_request(v.to_string().as_bytes());
    let ir = ir.unwrap_or_else(|e| panic!("{}: {}", case.ctx(), e.message));
    same!(case.ctx(), ir.stream, stream);
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
    let (ctx, p) = (case.ctx(), case.provider);
    let (ir, streamed) = (
        client_request(g, case, false),
        client_request(g, case, true),
    );
    if case.inbound == p {
        return; // forwarded as the client sent it
    }
    let body = encode_for(p, &ir);
    g.check(&case.expect("request.json"), &body);
    // A streamed request differs only in how the format asks for a stream (Gemini: the URL).
    let mut want = json_of(&body);
    if p != Gemini {
        want["stream"] = json!(true);
    }
    if p == Openai {
        want["stream_options"] = json!({ "include_usage": true });
    }
    same!(ctx, json_of(encode_for(p, &streamed)), want);
    let up = Codec(p).decode_request(&body);
    same_request(
        &ctx,
        &ir,
        &up.unwrap_or_else(|e| panic!("{ctx}: {}", e.message)),
        p,
    );
    // Tool results keep their ids (in the call and in the result); for Gemini, which has no
    // ids, they are sent under the name of the function they answer.
    let text = String::from_utf8(body).unwrap();
    for (id, name) in results(&ir) {
        let found = match p {
            Gemini => text.contains(&format!(r#"{{"functionResponse":{{"name":"{name}""#)),
            _ => text.matches(&format!("\"{id}\"")).count() >= 2,
        };
        assert!(found, "{ctx}: the result for {id} ({name}) in {text}");
    }
}

/// `(id, function name)` of each tool result of a request.
fn results(req: &Request) -> Vec<(String, String)> {
    let parts = || req.messages.iter().flat_map(|m| &m.parts);
    let name = |id: &str| {
        let named = |p: &Part| match p {
            Part::ToolCall { id: c, name, .. } if c == id => Some(name.clone()),
            _ => None,
        };
        parts().find_map(named).unwrap_or_default()
    };
    let result = |p: &Part| match p {
        Part::ToolResult { id, .. } => Some((id.clone(), name(id))),
        _ => None,
    };
    parts().filter_map(result).collect()
}

/// The provider's reading of the translated request means what the client asked, for every
/// field the provider's format can carry.
fn same_request(ctx: &str, client: &Request, up: &Request, p: ApiFormat) {
    same!(ctx, turns(up, p), turns(client, p));
    let tools = |r: &Request| {
        let tool = |t: &llm_gateway::translate::ir::Tool| (t.name.clone(), t.description.clone());
        r.tools.iter().map(tool).collect::<Vec<_>>()
    };
    let knobs = |r: &Request| {
        (
            r.tool_choice.clone(),
            r.temperature,
            r.top_p,
            r.stop.clone(),
        )
    };
    same!(
        ctx,
        (&up.system, tools(up), knobs(up)),
        (&client.system, tools(client), knobs(client))
    );
    let (max, format) = match p {
        Anthropic => (Some(client.max_tokens.unwrap_or(4096)), None),
        _ => (client.max_tokens, client.response_format.clone()),
    };
    same!(
        ctx,
        (up.max_tokens, up.response_format.clone()),
        (max, format)
    );
    if p != Gemini {
        let extra = |r: &Request| (r.parallel_tool_calls, r.user.clone());
        same!(ctx, extra(up), extra(client));
    }
}

/// One turn: role, text, then images, calls `(id, name, arguments)` and results `(id, function
/// name, content)` in order. Ids are `None` for Gemini, which has none.
#[derive(Debug, PartialEq)]
struct Turn(&'static str, String, Vec<Item>);

#[derive(Debug, PartialEq)]
enum Item {
    Image(ImageSource),
    Call(Option<String>, String, Value),
    Result(Option<String>, String, Value),
}

/// The conversation as turns of alternating roles (consecutive messages of one role merged),
/// however a format splits it into messages and blocks.
fn turns(req: &Request, p: ApiFormat) -> Vec<Turn> {
    let names = results(req);
    let id = |id: &String| (p != Gemini).then(|| id.clone());
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
        text.push_str(&text_of(&m.parts));
        for part in &m.parts {
            items.push(match part {
                Part::Image(src) => Item::Image(src.clone()),
                Part::ToolCall {
                    id: c,
                    name,
                    arguments,
                } => Item::Call(id(c), name.clone(), json_of(arguments)),
                Part::ToolResult { id: r, content, .. } => {
                    let text = text_of(content);
                    let content = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    let name = names.iter().find(|n| &n.0 == r).map(|n| n.1.clone());
                    Item::Result(id(r), name.unwrap_or_default(), content)
                }
                _ => continue,
            });
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
    let mut a = Answer::default();
    (a.text, a.finish, a.completed) = (text_of(&r.parts), r.finish, true);
    a.calls = r.parts.iter().filter_map(call).collect();
    a.usage = Some((u.input_tokens, u.output_tokens, u.cached_input_tokens));
    a
}

/// Decodes a whole stream of `format` into what it says.
fn decode_stream(format: ApiFormat, bytes: &[u8]) -> Answer {
    let (mut framer, mut decoder) = (SseFramer::new(), Codec(format).stream_decoder());
    let mut events = Vec::new();
    framer.push(bytes);
    while let Some(event) = framer.next_event().or_else(|| framer.finish()) {
        decoder.decode_event(&event, &mut events);
    }
    let mut a = Answer::default();
    a.completed = decoder.finish(&mut events);
    let mut args: Vec<String> = Vec::new();
    for e in events {
        match e {
            Event::TextDelta(t) => a.text.push_str(&t),
            Event::ToolCallStart { id, name, .. } => {
                a.calls.push((id, name, Value::Null));
                args.push(String::new());
            }
            // The IR's tool index is the ordinal of the call.
            Event::ToolCallDelta { index, arguments } => args[index as usize].push_str(&arguments),
            Event::Usage(u) => {
                a.usage = Some((u.input_tokens, u.output_tokens, u.cached_input_tokens))
            }
            Event::Finish { reason, .. } => a.finish = Some(reason),
            Event::Error(e) => panic!("{format:?} stream reports an error: {e:?}"),
            _ => {}
        }
    }
    for (call, args) in a.calls.iter_mut().zip(args) {
        call.2 = json_of(args);
    }
    a
}

/// The answer's finish reason and number of calls are the scenario's.
fn check_outcome(case: &Case<'_>, a: &Answer) {
    let (finish, _, calls) = case.outcome();
    same!(
        case.ctx(),
        (a.completed, a.finish, a.calls.len()),
        (true, Some(finish), calls)
    );
}

fn check_response(g: &mut Golden, case: &Case<'_>) {
    let (ctx, inbound) = (case.ctx(), case.inbound);
    let body = g.read(&case.up("json"));
    let decoded = Codec(case.provider).decode_response(&body);
    let decoded = decoded.unwrap_or_else(|e| panic!("{ctx}: {}", e.message));
    let direct = answer_of(&decoded);
    check_outcome(case, &direct);
    let client = if inbound == case.provider {
        body // forwarded as the provider sent it
    } else {
        let out = Codec(inbound).encode_response(&decoded);
        g.check(&case.expect("response.json"), &out);
        out
    };
    let v = json_of(&client);
    let reason = [&v["choices"][0]["finish_reason"], &v["stop_reason"]];
    same!(
        ctx,
        reason[usize::from(inbound != Openai)],
        case.wire_finish()
    );
    let back = Codec(inbound).decode_response(&client);
    same!(
        ctx,
        answer_of(&back.unwrap_or_else(|e| panic!("{ctx}: {}", e.message))),
        direct
    );
}

/// What the client gets for a provider stream that arrives in two pieces, cut at `cut`.
fn translate(case: &Case<'_>, bytes: &[u8], cut: usize) -> Vec<u8> {
    let decoder = Codec(case.provider).stream_decoder();
    let mut t = StreamTranslator::new(decoder, Codec(case.inbound).stream_encoder(true));
    let mut out = t.push(&bytes[..cut]).to_vec();
    out.extend_from_slice(&t.push(&bytes[cut..]));
    out.extend_from_slice(&t.finish());
    out
}

fn check_stream(g: &mut Golden, case: &Case<'_>) {
    let (ctx, inbound) = (case.ctx(), case.inbound);
    let up = g.read(&case.up("sse"));
    let direct = decode_stream(case.provider, &up);
    check_outcome(case, &direct);
    let translated = translate(case, &up, up.len());
    // Cut in two at any byte offset, the stream translates the same.
    let whole = normalise(&translated);
    for cut in 0..up.len() {
        let split = normalise(&translate(case, &up, cut));
        assert!(
            split == whole,
            "{ctx}: cut at byte {cut}:\n{}",
            diff(&whole, &split)
        );
    }
    let client = if inbound == case.provider {
        // Forwarded as the provider sent it; translated anyway, it must mean the same.
        same!(ctx, decode_stream(inbound, &translated), direct);
        up
    } else {
        g.check(&case.expect("stream.sse"), &translated);
        translated
    };
    same!(ctx, decode_stream(inbound, &client), direct);
    let text = String::from_utf8(client).unwrap();
    let events: Vec<&str> = text.split_terminator("\n\n").collect();
    match inbound {
        Openai => openai_shape(case, &events),
        _ => anthropic_shape(case, &events),
    }
}

/// `role` first, one finish reason, each tool call announced once with id and name at the
/// next index (0, 1, ...), then the usage chunk and `[DONE]`.
fn openai_shape(case: &Case<'_>, events: &[&str]) {
    let ctx = case.ctx();
    let data: Vec<&str> = events
        .iter()
        .map(|e| e.strip_prefix("data: ").unwrap_or(e))
        .collect();
    let (done, chunks) = data.split_last().unwrap();
    let chunks: Vec<Value> = chunks.iter().map(json_of).collect();
    let (first, last) = (&chunks[0]["choices"][0]["delta"], chunks.last().unwrap());
    let usage = (&last["choices"], last["usage"].is_object());
    same!(
        ctx,
        (*done, &first["role"], usage),
        ("[DONE]", &json!("assistant"), (&json!([]), true))
    );
    let choices = chunks.iter().map(|c| &c["choices"][0]);
    let reasons: Vec<&Value> = choices
        .map(|c| &c["finish_reason"])
        .filter(|r| !r.is_null())
        .collect();
    same!(ctx, reasons, [case.wire_finish()]);
    let calls = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array());
    let announce = |c: &Value| (c["index"].as_u64(), c["function"]["name"].is_string());
    let announced: Vec<_> = calls
        .flatten()
        .filter(|c| c["id"].is_string())
        .map(announce)
        .collect();
    let n = case.outcome().2 as u64;
    same!(
        ctx,
        announced,
        (0..n).map(|i| (Some(i), true)).collect::<Vec<_>>()
    );
}

/// `message_start` first, `message_stop` last, each block started at the next index, given its
/// deltas, and stopped before the next starts; `stop_reason` in `message_delta`.
fn anthropic_shape(case: &Case<'_>, events: &[&str]) {
    let ctx = case.ctx();
    let (mut next, mut open, mut tools, mut names) = (0, None, 0, Vec::new());
    for event in events {
        let split = event
            .strip_prefix("event: ")
            .and_then(|e| e.split_once("\ndata: "));
        let (name, data) = split.unwrap_or_else(|| panic!("{ctx}: {event}"));
        let (data, index) = (json_of(data), json!(open));
        same!(ctx, data["type"], name);
        match name {
            "content_block_start" => {
                same!(ctx, (open, &data["index"]), (None, &json!(next)));
                (open, next) = (Some(next), next + 1);
                tools += usize::from(data["content_block"]["type"] == "tool_use");
            }
            "content_block_delta" => same!(ctx, data["index"], index),
            "content_block_stop" => same!(ctx, data["index"], json!(open.take())),
            "message_delta" => same!(
                ctx,
                (open, &data["delta"]["stop_reason"]),
                (None, &json!(case.wire_finish()))
            ),
            _ => {}
        }
        names.push(name);
    }
    let ends = (names[0], names[names.len() - 1], tools);
    same!(
        ctx,
        ends,
        ("message_start", "message_stop", case.outcome().2)
    );
}

fn check_error(g: &mut Golden, case: &Case<'_>) {
    let ctx = case.ctx();
    let status = match case.provider {
        Anthropic => 529, // overloaded
        _ => 429,         // OpenAI rate limit, Gemini RESOURCE_EXHAUSTED
    };
    let info = Codec(case.provider).decode_error(status, &g.read(&case.up("error.json")));
    let read = (info.status, info.code.is_some(), info.message.is_empty());
    same!(ctx, read, (status, true, false));
    if case.inbound == case.provider {
        return; // forwarded as the provider sent it
    }
    let out = Codec(case.inbound).encode_error(&info);
    g.check(&case.expect("error.json"), &out);
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
        let (checked, failures) = (BTreeSet::new(), Vec::new());
        Self {
            dir: dir.join(scenario),
            update,
            checked,
            failures,
        }
    }

    fn read(&self, file: &str) -> Vec<u8> {
        let path = self.dir.join(file);
        fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Compares `actual` with the expected file: JSON parsed (written pretty-printed), SSE as
    /// text, both with `created` made 0.
    fn check(&mut self, file: &str, actual: &[u8]) {
        self.checked.insert(file.to_owned());
        let path = self.dir.join(file);
        let expected = fs::read_to_string(&path).ok();
        let (actual, equal) = if file.ends_with(".json") {
            let mut v = json_of(actual);
            if let Some(created) = v.get_mut("created") {
                *created = json!(0);
            }
            let equal = expected.as_ref().is_some_and(|e| json_of(e) == v);
            (serde_json::to_string_pretty(&v).unwrap() + "\n", equal)
        } else {
            let actual = normalise(actual);
            (actual.clone(), expected.as_ref() == Some(&actual))
        };
        let why = match expected {
            _ if equal => return,
            _ if self.update => return fs::write(path, actual).unwrap(),
            Some(e) => format!("differs (-expected +actual):\n{}", diff(&e, &actual)),
            None => "is missing: run with GOLDEN_UPDATE=1, then review it".to_owned(),
        };
        self.failures.push(format!("{file} {why}"));
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
        out += head;
        out += if digits > 0 { "0" } else { "" };
        rest = &tail[digits..];
    }
    out + rest
}

/// The lines that differ (by longest common subsequence), numbered.
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
