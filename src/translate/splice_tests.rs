//! The splice of a continued stream, at every cut: an upstream stream cut at every byte
//! offset (the continuation whole), the continuation split at every offset (the cut fixed),
//! and a few hundred random pairs, for every pair of provider formats, both client formats and
//! both ways of continuing (prefill, regenerate). The client must always receive one valid
//! stream of its format carrying exactly the full answer once.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::ir::{Event, FinishReason, Usage};
use super::relay::Relay;
use super::{Codec, Splice, continuation_relay, relay_for};
use crate::config::ApiFormat;

const TOKENS: &[&str] = &[
    "Hel", "lo", ", wö", "rld", "! ", "How", " are\n", "\n", "you", "?",
];
const FORMATS: [ApiFormat; 2] = [ApiFormat::Openai, ApiFormat::Anthropic];

fn full_text() -> String {
    TOKENS.concat()
}

/// An upstream stream of `format` streaming `tokens`, as a provider would send it.
fn upstream(format: ApiFormat, tokens: &[String], id: &str) -> Vec<u8> {
    let mut enc = Codec(format).stream_encoder(true, 7);
    let mut out = Vec::new();
    let usage = Usage {
        input_tokens: 11,
        output_tokens: tokens.len() as u64,
        ..Usage::default()
    };
    enc.encode_event(
        &Event::Start {
            id: id.into(),
            model: "m".into(),
        },
        &mut out,
    );
    enc.encode_event(
        &Event::Usage(Usage {
            output_tokens: 0,
            ..usage
        }),
        &mut out,
    );
    for t in tokens {
        enc.encode_event(&Event::TextDelta(t.clone()), &mut out);
    }
    enc.encode_event(&Event::Usage(usage), &mut out);
    enc.encode_event(
        &Event::Finish {
            reason: FinishReason::Stop,
            stop_sequence: None,
        },
        &mut out,
    );
    enc.finish(&mut out);
    out
}

/// The tokens of the full answer after its first `skip` bytes (the first one possibly
/// partial), as a provider continuing a prefill streams them.
fn tokens_after(skip: usize) -> Vec<String> {
    let mut at = 0;
    let mut out = Vec::new();
    for t in TOKENS {
        let end = at + t.len();
        if end > skip {
            out.push(t[skip.saturating_sub(at)..].to_string());
        }
        at = end;
    }
    out
}

fn all_tokens() -> Vec<String> {
    TOKENS.iter().map(|t| (*t).to_string()).collect()
}

#[derive(Clone, Copy, Debug)]
enum Way {
    Prefill,
    Regenerate,
}

/// What the client receives when the first stream (`u1`) is cut after `cut` bytes and the
/// second (`u2`) is pushed in two reads split at `split` (clamped).
fn run(
    u1: ApiFormat,
    u2: ApiFormat,
    client: ApiFormat,
    way: Way,
    cut: usize,
    split: usize,
) -> Vec<u8> {
    let first = upstream(u1, &all_tokens(), "first");
    let cut = cut.min(first.len());
    let mut r1 = relay_for(u1, client, false, true, 7, true, None);
    let mut out = r1.push(&first[..cut]).to_vec();
    let f = r1.finish();
    out.extend_from_slice(&f.tail);
    if f.completed {
        return out;
    }
    let push_split = |relay: &mut Box<dyn Relay>, bytes: &[u8], out: &mut Vec<u8>| {
        let at = split.min(bytes.len());
        out.extend_from_slice(&relay.push(&bytes[..at]));
        out.extend_from_slice(&relay.push(&bytes[at..]));
        let f = relay.finish();
        out.extend_from_slice(&f.tail);
        assert!(f.completed, "the continuation completes");
    };
    if !r1.status().content_seen {
        // Nothing reached the client: the walk fails over and the second stream is served
        // whole (the first one's bytes were held back, never sent).
        let second = upstream(u2, &all_tokens(), "second");
        let mut r2 = relay_for(u2, client, false, true, 7, true, None);
        let mut fresh = Vec::new();
        push_split(&mut r2, &second, &mut fresh);
        return fresh;
    }
    let point = r1
        .rescue()
        .unwrap_or_else(|| panic!("{u1:?} to {client:?} cut at {cut} can be continued"));
    assert!(full_text().starts_with(&point.text), "{:?}", point.text);
    let (second, splice) = match way {
        Way::Prefill => {
            let kept = point.text.trim_end();
            let left_out = &point.text[kept.len()..];
            (
                upstream(u2, &tokens_after(kept.len()), "second"),
                Splice::prefill(left_out, Usage::default()),
            )
        }
        Way::Regenerate => (
            upstream(u2, &all_tokens(), "second"),
            Splice::regenerate(&point.text, Usage::default()),
        ),
    };
    let mut r2 = continuation_relay(u2, client, &point, splice, None).expect("client format");
    push_split(&mut r2, &second, &mut out);
    out
}

/// The `data:` payloads of an SSE stream, with their event names.
fn events(bytes: &[u8]) -> Vec<(Option<String>, String)> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    assert!(text.ends_with("\n\n"), "the stream ends with a whole event");
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut name = None;
            let mut data = String::new();
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = Some(n.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                } else {
                    panic!("unexpected line {line:?}");
                }
            }
            (name, data)
        })
        .collect()
}

/// Checks that `bytes` is one valid OpenAI stream and returns its text.
fn openai_text(bytes: &[u8]) -> String {
    let evs = events(bytes);
    let (last, body) = evs.split_last().expect("events");
    assert_eq!(last.1, "[DONE]");
    let (mut text, mut id, mut finishes, mut usage_chunks) = (String::new(), None, 0, 0);
    for (i, (_, data)) in body.iter().enumerate() {
        let v: Value = serde_json::from_str(data).expect("json chunk");
        assert!(v.get("error").is_none(), "error event: {data}");
        let this_id = v["id"].as_str().expect("id").to_string();
        assert_eq!(
            id.get_or_insert_with(|| this_id.clone()),
            &this_id,
            "one id"
        );
        let choices = v["choices"].as_array().expect("choices");
        if choices.is_empty() {
            usage_chunks += 1;
            assert!(finishes == 1 && i == body.len() - 1, "usage chunk last");
            continue;
        }
        let delta = &choices[0]["delta"];
        assert_eq!(
            delta.get("role").is_some(),
            i == 0,
            "role only first: {data}"
        );
        if let Some(t) = delta.get("content").and_then(Value::as_str) {
            assert_eq!(finishes, 0, "text after the finish");
            text.push_str(t);
        }
        if !choices[0]["finish_reason"].is_null() {
            finishes += 1;
        }
    }
    // (A stream cut between its finish and its usage chunk is complete without usage.)
    assert!(
        finishes == 1 && usage_chunks <= 1,
        "{finishes} finishes, {usage_chunks} usage chunks"
    );
    text
}

/// Checks that `bytes` is one valid Anthropic stream and returns its text.
fn anthropic_text(bytes: &[u8]) -> String {
    let evs = events(bytes);
    let names: Vec<&str> = evs
        .iter()
        .map(|(n, _)| n.as_deref().expect("event name"))
        .collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    let (mut text, mut started, mut open, mut deltas_done) = (String::new(), 0u64, None, false);
    for (i, (name, data)) in evs.iter().enumerate() {
        let v: Value = serde_json::from_str(data).expect("json event");
        match name.as_deref().unwrap_or_default() {
            "message_start" => assert_eq!(i, 0),
            "ping" => {}
            "content_block_start" => {
                assert!(
                    open.is_none() && !deltas_done,
                    "a block opens after another closed"
                );
                assert_eq!(
                    v["index"].as_u64(),
                    Some(started),
                    "blocks are numbered in order"
                );
                open = Some(started);
                started += 1;
            }
            "content_block_delta" => {
                assert_eq!(v["index"].as_u64(), open, "delta to the open block");
                text.push_str(v["delta"]["text"].as_str().expect("text delta"));
            }
            "content_block_stop" => {
                assert_eq!(v["index"].as_u64(), open);
                open = None;
            }
            "message_delta" => {
                assert!(
                    open.is_none() && !deltas_done,
                    "one message_delta after the blocks"
                );
                deltas_done = true;
            }
            "message_stop" => assert!(deltas_done && i == evs.len() - 1),
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    text
}

fn client_text(client: ApiFormat, bytes: &[u8]) -> String {
    match client {
        ApiFormat::Openai => openai_text(bytes),
        _ => anthropic_text(bytes),
    }
}

fn check(u1: ApiFormat, u2: ApiFormat, client: ApiFormat, way: Way, cut: usize, split: usize) {
    let out = run(u1, u2, client, way, cut, split);
    let case = format!("{u1:?}→{u2:?} client {client:?} {way:?} cut {cut} split {split}");
    let text = std::panic::catch_unwind(|| client_text(client, &out))
        .unwrap_or_else(|_| panic!("{case}: invalid stream:\n{}", String::from_utf8_lossy(&out)));
    assert_eq!(text, full_text(), "{case}");
}

fn combos() -> Vec<(ApiFormat, ApiFormat, ApiFormat, Way)> {
    let mut out = Vec::new();
    for u1 in FORMATS {
        for u2 in FORMATS {
            for client in FORMATS {
                for way in [Way::Prefill, Way::Regenerate] {
                    out.push((u1, u2, client, way));
                }
            }
        }
    }
    out
}

#[test]
fn every_cut_of_the_first_stream() {
    for (u1, u2, client, way) in combos() {
        let len = upstream(u1, &all_tokens(), "first").len();
        for cut in 0..=len {
            check(u1, u2, client, way, cut, usize::MAX);
        }
    }
}

#[test]
fn every_split_of_the_continuation() {
    for (u1, u2, client, way) in combos() {
        let first = upstream(u1, &all_tokens(), "first");
        // Cut in the middle of the answer's text.
        let cut = first.len() / 2;
        let len = upstream(u2, &all_tokens(), "second").len();
        for split in 0..=len {
            check(u1, u2, client, way, cut, split);
        }
    }
}

#[test]
fn random_pairs_of_cuts_and_splits() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for (u1, u2, client, way) in combos() {
        let (l1, l2) = (
            upstream(u1, &all_tokens(), "first").len(),
            upstream(u2, &all_tokens(), "second").len(),
        );
        for _ in 0..40 {
            check(
                u1,
                u2,
                client,
                way,
                rng.gen_range(0..=l1),
                rng.gen_range(0..=l2),
            );
        }
    }
}

#[test]
fn a_regenerated_answer_that_differs_ends_with_an_error_event() {
    for client in FORMATS {
        let first = upstream(ApiFormat::Openai, &all_tokens(), "first");
        let mut r1 = relay_for(ApiFormat::Openai, client, false, true, 7, true, None);
        let mut out = r1.push(&first[..first.len() / 2]).to_vec();
        assert!(!r1.finish().completed);
        let point = r1.rescue().unwrap();
        let other: Vec<String> = vec!["Good".into(), "bye".into()];
        let second = upstream(ApiFormat::Anthropic, &other, "second");
        let splice = Splice::regenerate(&point.text, Usage::default());
        let mut r2 =
            continuation_relay(ApiFormat::Anthropic, client, &point, splice, None).unwrap();
        out.extend_from_slice(&r2.push(&second));
        assert!(r2.status().diverged);
        assert!(r2.rescue().is_none());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("stream_rescue_diverged") || text.contains("could not be continued"),
            "{text}"
        );
        assert!(!text.contains("Good"), "no mismatched text: {text}");
    }
}

#[test]
fn a_tool_call_or_thinking_cannot_be_continued() {
    let mut enc = Codec(ApiFormat::Anthropic).stream_encoder(true, 7);
    let mut s = Vec::new();
    enc.encode_event(
        &Event::Start {
            id: "x".into(),
            model: "m".into(),
        },
        &mut s,
    );
    enc.encode_event(&Event::TextDelta("Let me look.".into()), &mut s);
    enc.encode_event(
        &Event::ToolCallStart {
            index: 0,
            id: "c".into(),
            name: "f".into(),
        },
        &mut s,
    );
    enc.encode_event(
        &Event::ToolCallDelta {
            index: 0,
            arguments: "{\"a\":".into(),
        },
        &mut s,
    );
    for client in FORMATS {
        let mut r = relay_for(ApiFormat::Anthropic, client, false, true, 7, true, None);
        r.push(&s);
        assert!(r.status().content_seen);
        assert!(r.rescue().is_none(), "{client:?}");
    }
}
