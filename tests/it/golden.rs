//! The golden-test matrix: each inbound × each provider format, per scenario in
//! `tests/fixtures/golden/<scenario>/`, through the codecs as `proxy::{attempt,forward}` run
//! them: `in.<in>.json` and `up.<p>.{json,sse,error.json}` give `expect.<in>_to_<p>.request.json`
//! and `expect.<p>_to_<in>.{response.json,stream.sse,error.json}` (none if in == p: forwarded
//! as is). Also checked: the meaning survives, stream shapes, finish reasons, streams cut at
//! every offset. `GOLDEN_UPDATE=1 cargo test --test it golden` writes expected files that are
//! missing or differ (review them!); without it they fail.

use std::fs;
use std::path::PathBuf;

use llm_gateway::config::ApiFormat::{self, Anthropic, Gemini, Openai};
use llm_gateway::translate::ir::{Event, FinishReason, Message, Part, Request, Role, Usage};
use llm_gateway::translate::sse::SseFramer;
use llm_gateway::translate::{Codec, EncodeOptions, StreamTranslator};
use serde_json::{Value, json};

const INBOUND: [ApiFormat; 2] = [Openai, Anthropic];
const PROVIDERS: [ApiFormat; 3] = [Openai, Anthropic, Gemini];
/// The provider model ids (`EncodeOptions::model`), in the order of `PROVIDERS`.
const MODELS: [&str; 3] = ["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash"];

macro_rules! scenarios {
    ($($name:ident),*) => { $( #[test] fn $name() { run(stringify!($name)); } )* };
}

scenarios! { plain_text, multi_turn_system, image_input, tool_call_single, tool_calls_parallel,
tool_result_round_trip, json_mode, max_tokens_stop, upstream_error }

fn run(scenario: &str) {
    let mut g = Golden::open(scenario);
    for inbound in INBOUND {
        for provider in PROVIDERS {
            let c = Case {
                scenario,
                inbound,
                provider,
            };
            check_request(&mut g, &c);
            if scenario == "upstream_error" {
                check_error(&mut g, &c);
            } else {
                check_response(&mut g, &c);
                check_stream(&mut g, &c);
            }
        }
    }
    g.finish();
}

/// One cell of the matrix; named in the output when a check fails.
struct Case<'a> {
    scenario: &'a str,
    inbound: ApiFormat,
    provider: ApiFormat,
}

impl Drop for Case<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let (s, i, p) = (self.scenario, self.inbound, self.provider);
            eprintln!("golden case failed: {s}, client {i:?}, provider {p:?}");
        }
    }
}

impl Case<'_> {
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

    fn up(&self, ext: &str) -> String {
        format!("up.{}.{ext}", name(self.provider))
    }

    /// `expect.<from>_to_<to>.<kind>`: requests go to the provider, the rest to the client.
    fn expect(&self, kind: &str) -> String {
        let mut pair = [name(self.provider), name(self.inbound)];
        if kind == "request.json" {
            pair.reverse();
        }
        format!("expect.{}_to_{}.{kind}", pair[0], pair[1])
    }
}

fn name(f: ApiFormat) -> String {
    format!("{f:?}").to_lowercase()
}

fn json_of(bytes: impl AsRef<[u8]>) -> Value {
    let text = String::from_utf8_lossy(bytes.as_ref()).into_owned();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `(id, name, arguments)` of a tool call, the arguments in canonical form.
fn call_of(part: &Part) -> Option<(String, String, String)> {
    let Part::ToolCall {
        id,
        name,
        arguments,
    } = part
    else {
        return None;
    };
    Some((id.clone(), name.clone(), json_of(arguments).to_string()))
}

/// The client's request decoded; a streaming one sets `stream` (OpenAI: with usage, as SDKs do).
fn client_request(g: &Golden, c: &Case<'_>, stream: bool) -> Request {
    let mut v = json_of(g.read(&format!("in.{}.json", name(c.inbound))));
    v["stream"] = json!(stream);
    if stream && c.inbound == Openai {
        v["stream_options"] = json!({ "include_usage": true });
    }
    let body = v.to_string();
    let ir = Codec(c.inbound).decode_request(body.as_bytes()).unwrap();
    assert_eq!(ir.stream, stream);
    ir
}

/// The upstream body, encoded as `proxy::attempt` does.
fn encode_for(p: ApiFormat, ir: &Request) -> Vec<u8> {
    let model = MODELS[PROVIDERS.iter().position(|f| *f == p).unwrap()];
    let opts = EncodeOptions {
        model: model.into(),
        default_max_tokens: 4096,
        include_usage: true,
    };
    Codec(p).encode_request(ir, &opts)
}

fn check_request(g: &mut Golden, c: &Case<'_>) {
    let (ir, p) = (client_request(g, c, false), c.provider);
    let streamed = client_request(g, c, true);
    if c.inbound == p {
        return; // forwarded as the client sent it
    }
    let body = encode_for(p, &ir);
    g.check(&c.expect("request.json"), &body);
    // A streamed request differs only in how the format asks for a stream (Gemini: the URL).
    let mut want = json_of(&body);
    if p != Gemini {
        want["stream"] = json!(true);
    }
    if p == Openai {
        want["stream_options"] = json!({ "include_usage": true });
    }
    assert_eq!(json_of(encode_for(p, &streamed)), want);
    let back = Codec(p).decode_request(&body).unwrap();
    assert_eq!(carried(&back, p), carried(&ir, p));
    // Tool results keep their ids (in the call and in the result); for Gemini, which has no
    // ids, they go under the name of the function they answer.
    let text = String::from_utf8(body).unwrap();
    for (id, name) in results(&ir) {
        let found = match p {
            Gemini => text.contains(&format!(r#"{{"functionResponse":{{"name":"{name}""#)),
            _ => text.matches(&format!("\"{id}\"")).count() >= 2,
        };
        assert!(found, "the result for {id} ({name}) in {text}");
    }
}

/// `(id, function name)` of each tool result of a request.
fn results(req: &Request) -> Vec<(String, String)> {
    let parts = || req.messages.iter().flat_map(|m| &m.parts);
    let calls: Vec<_> = parts().filter_map(call_of).collect();
    let name = |id: &String| calls.iter().find(|c| &c.0 == id).map(|c| c.1.clone());
    let result = |p: &Part| match p {
        Part::ToolResult { id, .. } => Some((id.clone(), name(id).unwrap_or_default())),
        _ => None,
    };
    parts().filter_map(result).collect()
}

/// `req` as a provider's format can carry it, so that the provider's reading of the translated
/// request equals the client's: one message per turn (tool results are user turns), JSON in
/// canonical form, no ids for Gemini (a result names its function), Anthropic's `max_tokens`.
fn carried(req: &Request, p: ApiFormat) -> Request {
    let mut out = req.clone();
    (out.messages, out.model) = (Vec::new(), String::new());
    match p {
        Anthropic => (out.response_format, out.max_tokens) = (None, out.max_tokens.or(Some(4096))),
        Gemini => (out.user, out.parallel_tool_calls) = (None, None),
        Openai => {}
    }
    for m in &req.messages {
        let role = [Role::User, Role::Assistant][usize::from(m.role == Role::Assistant)];
        let mut parts = m.parts.clone();
        for part in &mut parts {
            canonical(part);
            match part {
                Part::ToolCall { id, .. } if p == Gemini => id.clear(),
                Part::ToolResult { id, .. } if p == Gemini => {
                    *id = results(req).into_iter().find(|n| &n.0 == id).unwrap().1;
                }
                _ => {}
            }
        }
        match out.messages.last_mut() {
            Some(last) if last.role == role => last.parts.append(&mut parts),
            _ => out.messages.push(Message { role, parts }),
        }
    }
    out
}

/// JSON text (in text, arguments and results) in canonical form.
fn canonical(part: &mut Part) {
    match part {
        Part::Text(t) | Part::ToolCall { arguments: t, .. } => {
            if let Ok(v) = serde_json::from_str::<Value>(t) {
                *t = v.to_string();
            }
        }
        Part::ToolResult { content, .. } => content.iter_mut().for_each(canonical),
        _ => {}
    }
}

/// What an answer says: text, tool calls `(id, name, arguments)`, finish reason, usage, and
/// whether it ended properly.
#[derive(Debug, Default, PartialEq)]
struct Answer {
    text: String,
    calls: Vec<(String, String, String)>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    completed: bool,
}

/// The answer ended properly, with the scenario's finish reason and number of calls.
fn check_outcome(c: &Case<'_>, a: &Answer) {
    let (finish, _, calls) = c.outcome();
    let got = (a.completed, a.finish, a.calls.len());
    assert_eq!(got, (true, Some(finish), calls));
}

/// Decodes a whole response of `format`.
fn decode_response(format: ApiFormat, body: &[u8]) -> Answer {
    let r = Codec(format).decode_response(body).unwrap();
    Answer {
        text: r.text(),
        calls: r.parts.iter().filter_map(call_of).collect(),
        finish: r.finish,
        usage: Some(r.usage),
        completed: true,
    }
}

/// Decodes a whole stream of `format`.
fn decode_stream(format: ApiFormat, bytes: &[u8]) -> Answer {
    let (mut framer, mut decoder) = (SseFramer::new(), Codec(format).stream_decoder());
    let mut events = Vec::new();
    framer.push(bytes);
    while let Some(event) = framer.next_event().or_else(|| framer.finish()) {
        decoder.decode_event(&event, &mut events);
    }
    let (completed, mut a) = (decoder.finish(&mut events), Answer::default());
    for e in events {
        match e {
            Event::TextDelta(t) => a.text.push_str(&t),
            Event::ToolCallStart { id, name, .. } => a.calls.push((id, name, String::new())),
            Event::ToolCallDelta { index, arguments } => a.calls[index as usize].2 += &arguments,
            Event::Usage(u) => a.usage = Some(u),
            Event::Finish { reason, .. } => a.finish = Some(reason),
            Event::Error(e) => panic!("{format:?} stream reports an error: {e:?}"),
            _ => {}
        }
    }
    for call in &mut a.calls {
        call.2 = json_of(&call.2).to_string();
    }
    a.completed = completed;
    a
}

fn check_response(g: &mut Golden, c: &Case<'_>) {
    let (body, inbound) = (g.read(&c.up("json")), c.inbound);
    let direct = decode_response(c.provider, &body);
    check_outcome(c, &direct);
    let client = if inbound == c.provider {
        body // forwarded as the provider sent it
    } else {
        let decoded = Codec(c.provider).decode_response(&body).unwrap();
        let out = Codec(inbound).encode_response(&decoded);
        g.check(&c.expect("response.json"), &out);
        out
    };
    let v = json_of(&client);
    let reason = [&v["choices"][0]["finish_reason"], &v["stop_reason"]];
    assert_eq!(reason[usize::from(inbound != Openai)], c.wire_finish());
    assert_eq!(decode_response(inbound, &client), direct);
}

/// What the client gets for a provider stream that arrives in two pieces, cut at `cut`.
fn translate(c: &Case<'_>, bytes: &[u8], cut: usize) -> Vec<u8> {
    let decoder = Codec(c.provider).stream_decoder();
    let mut t = StreamTranslator::new(
        decoder,
        Codec(c.inbound).stream_encoder(true, 1_732_000_000),
    );
    let mut out = t.push(&bytes[..cut]).to_vec();
    out.extend_from_slice(&t.push(&bytes[cut..]));
    out.extend_from_slice(&t.finish());
    out
}

fn check_stream(g: &mut Golden, c: &Case<'_>) {
    let (up, inbound) = (g.read(&c.up("sse")), c.inbound);
    let direct = decode_stream(c.provider, &up);
    check_outcome(c, &direct);
    let translated = translate(c, &up, up.len());
    let whole = normalise(&translated);
    for cut in 0..up.len() {
        let split = normalise(&translate(c, &up, cut));
        assert!(split == whole, "cut at {cut}: {}", diff(&whole, &split));
    }
    let client = if inbound == c.provider {
        // Forwarded as the provider sent it; translated anyway, it must mean the same.
        assert_eq!(decode_stream(inbound, &translated), direct);
        up
    } else {
        g.check(&c.expect("stream.sse"), &translated);
        translated
    };
    assert_eq!(decode_stream(inbound, &client), direct);
    let text = String::from_utf8(client).unwrap();
    let events: Vec<&str> = text.split_terminator("\n\n").collect();
    match inbound {
        Openai => openai_shape(c, &events),
        _ => anthropic_shape(c, &events),
    }
}

/// `role` first, one finish reason, each tool call announced once with id and name at the
/// next index (0, 1, ...), then the usage chunk and `[DONE]`.
fn openai_shape(c: &Case<'_>, events: &[&str]) {
    let (done, chunks) = events.split_last().unwrap();
    assert_eq!(*done, "data: [DONE]");
    let chunks: Vec<Value> = chunks.iter().map(|e| json_of(&e[6..])).collect();
    let choices: Vec<&Value> = chunks.iter().map(|c| &c["choices"][0]).collect();
    let deltas: Vec<&Value> = choices.iter().map(|c| &c["delta"]).collect();
    assert_eq!(deltas[0]["role"], "assistant");
    let reasons = choices.iter().map(|c| &c["finish_reason"]);
    let reasons: Vec<_> = reasons.filter(|r| !r.is_null()).collect();
    assert_eq!(reasons, [c.wire_finish()]);
    let last = chunks.last().unwrap();
    let usage = (&last["choices"], last["usage"].is_object());
    assert_eq!(usage, (&json!([]), true));
    let calls = deltas.iter().filter_map(|d| d["tool_calls"].as_array());
    let start = |c: &Value| (c["index"].as_u64(), c["function"]["name"].is_string());
    let started = calls.flatten().filter(|c| c["id"].is_string());
    let started: Vec<_> = started.map(start).collect();
    let want: Vec<_> = (0..c.outcome().2 as u64).map(|i| (Some(i), true)).collect();
    assert_eq!(started, want);
}

/// `message_start` first, `message_stop` last, each block started at the next index, given its
/// deltas, and stopped before the next starts; `stop_reason` in `message_delta`.
fn anthropic_shape(c: &Case<'_>, events: &[&str]) {
    let (mut next, mut open, mut tools, mut names) = (0, None, 0, Vec::new());
    for event in events {
        let (name, data) = event[7..].split_once("\ndata: ").unwrap();
        let (data, index) = (json_of(data), json!(open));
        assert_eq!(data["type"], name);
        match name {
            "content_block_start" => {
                assert_eq!((open, &data["index"]), (None, &json!(next)));
                (open, next) = (Some(next), next + 1);
                tools += usize::from(data["content_block"]["type"] == "tool_use");
            }
            "content_block_delta" => assert_eq!(data["index"], index),
            "content_block_stop" => assert_eq!(data["index"], json!(open.take())),
            "message_delta" => {
                let reason = &data["delta"]["stop_reason"];
                assert_eq!((open, reason), (None, &json!(c.wire_finish())));
            }
            _ => {}
        }
        names.push(name);
    }
    let ends = (names[0], names[names.len() - 1], tools);
    assert_eq!(ends, ("message_start", "message_stop", c.outcome().2));
}

fn check_error(g: &mut Golden, c: &Case<'_>) {
    let status = if c.provider == Anthropic { 529 } else { 429 }; // overloaded / rate limit
    let info = Codec(c.provider).decode_error(status, &g.read(&c.up("error.json")));
    assert!(info.status == status && info.code.is_some() && !info.message.is_empty());
    if c.inbound == c.provider {
        return; // forwarded as the provider sent it
    }
    let out = Codec(c.inbound).encode_error(&info);
    g.check(&c.expect("error.json"), &out);
    let back = Codec(c.inbound).decode_error(status, &out);
    assert_eq!((back.status, &back.message), (status, &info.message));
}

/// The expected files of one scenario: compared, or written under `GOLDEN_UPDATE=1`.
#[derive(Default)]
struct Golden {
    dir: PathBuf,
    update: bool,
    checked: Vec<String>,
    failures: Vec<String>,
}

impl Golden {
    fn open(scenario: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden");
        let update = std::env::var("GOLDEN_UPDATE").is_ok_and(|v| v == "1");
        Self {
            dir: dir.join(scenario),
            update,
            ..Self::default()
        }
    }

    fn read(&self, file: &str) -> Vec<u8> {
        let path = self.dir.join(file);
        fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Compares `actual` with the expected file: JSON parsed (written pretty-printed), SSE as
    /// text, both with `created` made 0.
    fn check(&mut self, file: &str, actual: &[u8]) {
        self.checked.push(file.to_owned());
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
                self.failures.push(format!("{file}: no case makes it"));
            }
        }
        let (dir, failures) = (self.dir.display(), self.failures.join("\n\n"));
        assert!(failures.is_empty(), "{dir}:\n{failures}");
    }
}

/// The text of `bytes` with every `"created":<digits>` made `"created":0`.
fn normalise(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut pieces = text.split("\"created\":");
    let mut out = pieces.next().unwrap_or_default().to_owned();
    for piece in pieces {
        let rest = piece.trim_start_matches(|c: char| c.is_ascii_digit());
        let zero = if rest.len() < piece.len() { "0" } else { "" };
        out = out + "\"created\":" + zero + rest;
    }
    out
}

/// The first line that differs, with two lines around it.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let same = |i: &usize| e.get(*i) == a.get(*i);
    let at = (0..e.len().max(a.len())).find(|i| !same(i)).unwrap_or(0);
    let mut out = format!("first difference at line {}:\n", at + 1);
    for i in at.saturating_sub(2)..at + 3 {
        let (x, y, n) = (e.get(i).unwrap_or(&""), a.get(i).unwrap_or(&""), i + 1);
        out += &format!("{}{n:>4} {x}\n", if same(&i) { ' ' } else { '-' });
        if !same(&i) {
            out += &format!("+{n:>4} {y}\n");
        }
    }
    out
}
