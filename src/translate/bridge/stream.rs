//! The bridges' stream converter: reads the gateway's OpenAI chat stream (SSE, split
//! anywhere) and writes the client's stream — legacy completion chunks, or the Responses API's
//! typed events (`response.created`, `response.output_item.added`,
//! `response.output_text.delta`, `response.function_call_arguments.delta`, ...,
//! `response.completed`), each numbered by `sequence_number`. Pure.

use serde_json::{Value, json};

use super::{Bridge, completions, responses};
use crate::translate::sse::{SseFramer, event_data};

/// Converts one chat stream.
#[derive(Debug)]
pub struct BridgeStream {
    bridge: Bridge,
    framer: SseFramer,
    /// The client's request (the Responses envelope echoes its settings).
    request: Value,
    state: Responses,
}

/// What a Responses stream has said so far.
#[derive(Debug, Default)]
struct Responses {
    started: bool,
    done: bool,
    seq: u64,
    id: String,
    created: Value,
    model: Value,
    /// The next output index.
    next_index: u64,
    /// The open message item: its output index and text so far.
    message: Option<(u64, String)>,
    /// Function calls by the chat stream's tool index: output index, call id, name, arguments.
    calls: Vec<(u64, u64, String, String, String)>,
    /// Finished output items, in order.
    output: Vec<(u64, Value)>,
    usage: Value,
    finish_reason: Option<String>,
}

impl BridgeStream {
    pub fn new(bridge: Bridge, request: Value) -> BridgeStream {
        BridgeStream {
            bridge,
            framer: SseFramer::new(),
            request,
            state: Responses::default(),
        }
    }

    /// The client's bytes for a piece of the chat stream.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.framer.push(chunk);
        let mut out = Vec::new();
        while let Some(event) = self.framer.next_event() {
            let Some(data) = event_data(&event) else {
                continue;
            };
            if data.trim_ascii() == b"[DONE]" {
                self.done(&mut out);
                continue;
            }
            let Ok(value) = serde_json::from_slice::<Value>(&data) else {
                continue;
            };
            match self.bridge {
                Bridge::Completions => {
                    let chunk = if value.get("error").is_some() {
                        Some(value)
                    } else {
                        completions::chunk_from_chat(&value)
                    };
                    if let Some(c) = chunk {
                        out.extend_from_slice(b"data: ");
                        out.extend_from_slice(c.to_string().as_bytes());
                        out.extend_from_slice(b"\n\n");
                    }
                }
                Bridge::Responses => self.responses_event(&value, &mut out),
            }
        }
        out
    }

    /// What is left to say when the chat stream ended (the closing events if `[DONE]` never
    /// came).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.done(&mut out);
        out
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        match self.bridge {
            Bridge::Completions => {
                if !self.state.done {
                    self.state.done = true;
                    out.extend_from_slice(b"data: [DONE]\n\n");
                }
            }
            Bridge::Responses => {
                if self.state.started && !self.state.done {
                    self.close_items(out);
                    let incomplete = self.state.finish_reason.as_deref() == Some("length");
                    let status = if incomplete {
                        "incomplete"
                    } else {
                        "completed"
                    };
                    let response = self.envelope(status);
                    let kind = if incomplete {
                        "response.incomplete"
                    } else {
                        "response.completed"
                    };
                    self.emit(out, kind, json!({ "response": response }));
                    self.state.done = true;
                }
            }
        }
    }

    fn responses_event(&mut self, chunk: &Value, out: &mut Vec<u8>) {
        if self.state.done {
            return;
        }
        if let Some(error) = chunk.get("error") {
            if !self.state.started {
                self.start(chunk, out);
            }
            let mut response = self.envelope("failed");
            response["error"] = json!({
                "code": error["code"].as_str().or(error["type"].as_str()).unwrap_or("server_error"),
                "message": error["message"],
            });
            self.emit(out, "response.failed", json!({ "response": response }));
            self.state.done = true;
            return;
        }
        if !self.state.started {
            self.start(chunk, out);
        }
        if !chunk["usage"].is_null() {
            self.state.usage = responses::usage(&chunk["usage"]);
        }
        let Some(choice) = chunk["choices"].get(0) else {
            return;
        };
        if let Some(text) = choice["delta"]["content"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            self.text(text, out);
        }
        if let Some(calls) = choice["delta"]["tool_calls"].as_array() {
            for call in calls {
                self.call_delta(call, out);
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.state.finish_reason = Some(reason.to_string());
        }
    }

    fn start(&mut self, chunk: &Value, out: &mut Vec<u8>) {
        let s = &mut self.state;
        s.started = true;
        s.id = responses::response_id(chunk["id"].as_str());
        s.created = chunk["created"].clone();
        s.model = chunk["model"].clone();
        let response = self.envelope("in_progress");
        self.emit(
            out,
            "response.created",
            json!({ "response": response.clone() }),
        );
        self.emit(out, "response.in_progress", json!({ "response": response }));
    }

    fn message_id(&self) -> String {
        format!("msg_{}", self.state.id.trim_start_matches("resp_"))
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        let id = self.message_id();
        let index = match &mut self.state.message {
            Some((index, so_far)) => {
                so_far.push_str(text);
                *index
            }
            None => {
                let index = self.state.next_index;
                self.state.next_index += 1;
                self.state.message = Some((index, text.to_string()));
                let item = json!({ "type": "message", "id": id, "status": "in_progress", "role": "assistant", "content": [] });
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({ "output_index": index, "item": item }),
                );
                self.emit(
                    out,
                    "response.content_part.added",
                    json!({ "item_id": id, "output_index": index, "content_index": 0, "part": { "type": "output_text", "text": "", "annotations": [] } }),
                );
                index
            }
        };
        self.emit(
            out,
            "response.output_text.delta",
            json!({ "item_id": id, "output_index": index, "content_index": 0, "delta": text }),
        );
    }

    fn call_delta(&mut self, call: &Value, out: &mut Vec<u8>) {
        let tool_index = call["index"].as_u64().unwrap_or(0);
        let known = self.state.calls.iter().position(|c| c.1 == tool_index);
        let pos = match known {
            Some(pos) => pos,
            None => {
                self.close_message(out);
                let index = self.state.next_index;
                self.state.next_index += 1;
                let call_id = call["id"].as_str().unwrap_or_default().to_string();
                let name = call["function"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let item = responses::call_item(&call_id, &name, "", "in_progress");
                self.emit(
                    out,
                    "response.output_item.added",
                    json!({ "output_index": index, "item": item }),
                );
                self.state
                    .calls
                    .push((index, tool_index, call_id, name, String::new()));
                self.state.calls.len() - 1
            }
        };
        if let Some(args) = call["function"]["arguments"]
            .as_str()
            .filter(|a| !a.is_empty())
        {
            let (index, _, call_id, _, so_far) = &mut self.state.calls[pos];
            so_far.push_str(args);
            let (index, item_id) = (*index, format!("fc_{call_id}"));
            self.emit(
                out,
                "response.function_call_arguments.delta",
                json!({ "item_id": item_id, "output_index": index, "delta": args }),
            );
        }
    }

    fn close_message(&mut self, out: &mut Vec<u8>) {
        let Some((index, text)) = self.state.message.take() else {
            return;
        };
        let id = self.message_id();
        self.emit(
            out,
            "response.output_text.done",
            json!({ "item_id": id, "output_index": index, "content_index": 0, "text": text }),
        );
        self.emit(
            out,
            "response.content_part.done",
            json!({ "item_id": id, "output_index": index, "content_index": 0, "part": { "type": "output_text", "text": text, "annotations": [] } }),
        );
        let item = responses::message_item(&id, &text, "completed");
        self.emit(
            out,
            "response.output_item.done",
            json!({ "output_index": index, "item": item.clone() }),
        );
        self.state.output.push((index, item));
    }

    fn close_items(&mut self, out: &mut Vec<u8>) {
        self.close_message(out);
        for (index, _, call_id, name, args) in std::mem::take(&mut self.state.calls) {
            let item_id = format!("fc_{call_id}");
            self.emit(
                out,
                "response.function_call_arguments.done",
                json!({ "item_id": item_id, "output_index": index, "arguments": args }),
            );
            let item = responses::call_item(&call_id, &name, &args, "completed");
            self.emit(
                out,
                "response.output_item.done",
                json!({ "output_index": index, "item": item.clone() }),
            );
            self.state.output.push((index, item));
        }
        self.state.output.sort_by_key(|(i, _)| *i);
    }

    fn envelope(&self, status: &str) -> Value {
        let s = &self.state;
        let output = s.output.iter().map(|(_, item)| item.clone()).collect();
        responses::envelope(
            &s.id,
            &s.created,
            &s.model,
            &self.request,
            status,
            (output, s.usage.clone()),
        )
    }

    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.state.seq);
        self.state.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(data.to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "data: {\"id\":\"chatcmpl-7\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-7\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-7\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"a\\\"\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-7\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n\
data: {\"id\":\"chatcmpl-7\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"total_tokens\":5}}\n\n\
data: [DONE]\n\n";

    fn events(out: &[u8]) -> Vec<Value> {
        let text = String::from_utf8(out.to_vec()).unwrap();
        text.split("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }

    #[test]
    fn a_chat_stream_becomes_responses_events_whatever_the_split() {
        let whole = {
            let mut s = Bridge::Responses.stream(json!({ "model": "m" }));
            let mut out = s.push(CHAT.as_bytes());
            out.extend(s.finish());
            out
        };
        for size in [1, 7, 64] {
            let mut s = Bridge::Responses.stream(json!({ "model": "m" }));
            let mut out = Vec::new();
            for piece in CHAT.as_bytes().chunks(size) {
                out.extend(s.push(piece));
            }
            out.extend(s.finish());
            assert_eq!(out, whole, "split by {size}");
        }
        let ev = events(&whole);
        let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            vec![
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        let seq: Vec<u64> = ev
            .iter()
            .map(|e| e["sequence_number"].as_u64().unwrap())
            .collect();
        assert_eq!(seq, (0..15).collect::<Vec<_>>());
        let done = &ev[14]["response"];
        assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
        assert_eq!(done["output"][1]["arguments"], "{\"a\":1}");
        assert_eq!(done["usage"]["total_tokens"], 5);
        assert_eq!(done["id"], "resp_7");
    }

    #[test]
    fn a_chat_stream_becomes_completion_chunks() {
        let mut s = Bridge::Completions.stream(json!({}));
        let mut out = s.push(CHAT.as_bytes());
        out.extend(s.finish());
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("data: [DONE]\n\n"));
        assert_eq!(text.matches("data: [DONE]").count(), 1);
        let ev = events(text.as_bytes());
        assert_eq!(ev[0]["object"], "text_completion");
        assert_eq!(ev[0]["choices"][0]["text"], "Hel");
        assert!(ev.iter().any(|e| e["usage"]["total_tokens"] == 5));
    }

    #[test]
    fn a_broken_stream_fails_the_response() {
        let mut s = Bridge::Responses.stream(json!({}));
        let mut out = s.push(b"data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"error\":{\"message\":\"upstream stream broke\",\"type\":\"server_error\"}}\n\n");
        out.extend(s.finish());
        let ev = events(&out);
        assert_eq!(ev.last().unwrap()["type"], "response.failed");
        assert_eq!(
            ev.last().unwrap()["response"]["error"]["message"],
            "upstream stream broke"
        );
    }
}
