//! Gemini `Part` objects ⇄ IR parts, shared by requests, responses and streams: text,
//! thoughts and their signatures, images, `functionCall` and `functionResponse`.
//!
//! [`PartReader`] names the calls Gemini leaves unnamed and pairs each result with its call;
//! [`PartWriter`] remembers call names so a result can be sent under its function's name.
//! Field names are read in both spellings the Google API accepts (`inlineData` and
//! `inline_data`) and written in camelCase.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::super::ir::{ImageSource, Part};

/// `v[camel]`, or `v[snake]` (the REST API accepts both spellings of every field).
pub(super) fn field<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| v.get(snake))
}

/// The string at `v[camel]` / `v[snake]`.
pub(super) fn str_field<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a str> {
    field(v, camel, snake).and_then(Value::as_str)
}

/// A call of the latest model turn, waiting for its result.
struct OpenCall {
    id: String,
    name: String,
    answered: bool,
}

/// Reads parts in order, numbering function calls across everything it reads.
pub(super) struct PartReader {
    /// `responseId` of a response or stream, so ids stay unique across turns.
    prefix: Option<String>,
    calls: u32,
    open: Vec<OpenCall>,
}

impl PartReader {
    pub(super) fn new(prefix: Option<&str>) -> Self {
        Self {
            prefix: prefix.filter(|p| !p.is_empty()).map(str::to_owned),
            calls: 0,
            open: Vec::new(),
        }
    }

    /// A model turn begins: the results that follow answer the calls it makes.
    pub(super) fn begin_model_turn(&mut self) {
        self.open.clear();
    }

    /// Appends the IR parts `part` means (none for parts the IR cannot carry). A signature on
    /// a part that is not a thought becomes an empty signed thought just before it.
    pub(super) fn read(&mut self, part: &Value, out: &mut Vec<Part>) {
        let signature = str_field(part, "thoughtSignature", "thought_signature").map(str::to_owned);
        let text = part.get("text").and_then(Value::as_str);
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            let text = text.unwrap_or_default();
            if !text.is_empty() || signature.is_some() {
                out.push(Part::Thinking {
                    text: text.to_owned(),
                    signature,
                });
            }
            return;
        }
        if signature.is_some() {
            out.push(Part::Thinking {
                text: String::new(),
                signature,
            });
        }
        if let Some(text) = text {
            if !text.is_empty() {
                out.push(Part::Text(text.to_owned()));
            }
        } else if let Some(call) = field(part, "functionCall", "function_call") {
            out.push(self.call(call));
        } else if let Some(result) = field(part, "functionResponse", "function_response") {
            out.push(self.result(result));
        } else if let Some(image) = read_image(part) {
            out.push(Part::Image(image));
        }
        // executableCode, codeExecutionResult, videoMetadata, ...: nothing in the IR.
    }

    fn call(&mut self, call: &Value) -> Part {
        let n = self.calls;
        self.calls += 1;
        let name = call
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = match call.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => match &self.prefix {
                Some(prefix) => format!("call_{prefix}_{n}"),
                None => format!("call_{n}"),
            },
        };
        let arguments = match call.get("args") {
            Some(args) if !args.is_null() => args.to_string(),
            _ => "{}".to_owned(),
        };
        self.open.push(OpenCall {
            id: id.clone(),
            name: name.clone(),
            answered: false,
        });
        Part::ToolCall {
            id,
            name,
            arguments,
        }
    }

    fn result(&mut self, result: &Value) -> Part {
        let name = result
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let given = result
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());
        let id = match given {
            Some(id) => id.to_owned(),
            None => match self.open.iter_mut().find(|c| !c.answered && c.name == name) {
                Some(call) => {
                    call.answered = true;
                    call.id.clone()
                }
                // A result for no call we saw: its name is the best handle there is.
                None => name.to_owned(),
            },
        };
        let (text, is_error) = result_text(result.get("response"));
        let mut content = Vec::new();
        if !text.is_empty() {
            content.push(Part::Text(text));
        }
        // Multimodal function responses carry their media in `parts`.
        if let Some(parts) = result.get("parts").and_then(Value::as_array) {
            for part in parts {
                self.read(part, &mut content);
            }
        }
        Part::ToolResult {
            id,
            content,
            is_error,
        }
    }
}

/// The text of a `functionResponse.response` and whether it reports an error: a lone
/// `error`, `result` or `output` key is unwrapped, anything else is kept as JSON text.
fn result_text(response: Option<&Value>) -> (String, bool) {
    let Some(response) = response.filter(|r| !r.is_null()) else {
        return (String::new(), false);
    };
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(obj) = response.as_object()
        && obj.len() == 1
        && let Some((key, value)) = obj.iter().next()
    {
        match key.as_str() {
            "error" => return (as_text(value), true),
            "result" | "output" => return (as_text(value), false),
            _ => {}
        }
    }
    (as_text(response), false)
}

fn read_image(part: &Value) -> Option<ImageSource> {
    if let Some(inline) = field(part, "inlineData", "inline_data") {
        return Some(ImageSource::Base64 {
            media_type: str_field(inline, "mimeType", "mime_type")
                .unwrap_or_default()
                .to_owned(),
            data: inline
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    let file = field(part, "fileData", "file_data")?;
    let uri = str_field(file, "fileUri", "file_uri")?;
    Some(ImageSource::Url(uri.to_owned()))
}

/// Writes IR parts as Gemini parts, remembering the name of every call it writes.
#[derive(Default)]
pub(super) struct PartWriter {
    names: HashMap<String, String>,
}

impl PartWriter {
    /// The Gemini parts of one message. An empty signed thought carries its signature over
    /// to the part that follows it (where Gemini puts signatures); redacted thinking, which
    /// Gemini has no form for, is dropped.
    pub(super) fn write(&mut self, parts: &[Part]) -> Vec<Value> {
        let mut out = Vec::new();
        let mut pending: Option<&str> = None;
        for part in parts {
            let mut written = match part {
                Part::Text(text) if text.is_empty() => continue,
                Part::Text(text) => vec![json!({ "text": text })],
                Part::Thinking { text, signature } if text.is_empty() => {
                    if let Some(sig) = signature
                        && let Some(earlier) = pending.replace(sig)
                    {
                        out.push(signature_part(earlier));
                    }
                    continue;
                }
                Part::Thinking { text, signature } => {
                    let mut p = json!({ "text": text, "thought": true });
                    if let Some(sig) = signature {
                        p["thoughtSignature"] = json!(sig);
                    }
                    vec![p]
                }
                Part::RedactedThinking { .. } => continue,
                Part::Image(image) => vec![write_image(image)],
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    self.names.insert(id.clone(), name.clone());
                    vec![json!({ "functionCall": { "name": name, "args": call_args(arguments) } })]
                }
                Part::ToolResult {
                    id,
                    content,
                    is_error,
                } => self.result(id, content, *is_error),
            };
            if let Some(sig) = pending.take()
                && let Some(Value::Object(first)) = written.first_mut()
            {
                if first.contains_key("thoughtSignature") {
                    out.push(signature_part(sig));
                } else {
                    first.insert("thoughtSignature".into(), json!(sig));
                }
            }
            out.append(&mut written);
        }
        if let Some(sig) = pending {
            out.push(signature_part(sig));
        }
        out
    }

    /// A `functionResponse` under the name of the call `id` answers (the id itself when no
    /// such call was written), then the result's images as parts of their own.
    fn result(&self, id: &str, content: &[Part], is_error: bool) -> Vec<Value> {
        let name = self.names.get(id).map_or(id, String::as_str);
        let text: Vec<&str> = content
            .iter()
            .filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        let text = text.join("\n");
        let parsed = serde_json::from_str::<Value>(&text)
            .ok()
            .filter(Value::is_object);
        let response = match (is_error, parsed) {
            (true, Some(obj)) => json!({ "error": obj }),
            (true, None) => json!({ "error": text }),
            (false, Some(obj)) => obj,
            (false, None) => json!({ "result": text }),
        };
        let mut out = vec![json!({ "functionResponse": { "name": name, "response": response } })];
        out.extend(content.iter().filter_map(|p| match p {
            Part::Image(image) => Some(write_image(image)),
            _ => None,
        }));
        out
    }
}

/// A bare signature: an empty thought that carries it.
pub(super) fn signature_part(signature: &str) -> Value {
    json!({ "text": "", "thought": true, "thoughtSignature": signature })
}

/// A call's arguments as the object Gemini wants (`{}` when they are not a JSON object).
pub(super) fn call_args(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ => Value::Object(Map::new()),
    }
}

/// `inlineData` for base64 (and `data:` URLs), `fileData` for other URLs.
pub(super) fn write_image(image: &ImageSource) -> Value {
    match image {
        ImageSource::Base64 { media_type, data } => {
            json!({ "inlineData": { "mimeType": media_type, "data": data } })
        }
        ImageSource::Url(url) => match data_url(url) {
            Some((mime, data)) => json!({ "inlineData": { "mimeType": mime, "data": data } }),
            None => json!({ "fileData": { "mimeType": mime_from_url(url), "fileUri": url } }),
        },
    }
}

/// `(media type, base64 data)` of a `data:<type>;base64,<data>` URL.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let (header, data) = url.strip_prefix("data:")?.split_once(',')?;
    let header = header.strip_suffix(";base64")?;
    let mime = header
        .split(';')
        .next()
        .filter(|m| !m.is_empty())
        .unwrap_or("image/jpeg");
    Some((mime, data))
}

/// The media type a URL's file extension suggests (`image/jpeg` when it suggests none).
pub(super) fn mime_from_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default();
    let ext = file
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("heic") => "image/heic",
        Some("heif") => "image/heif",
        Some("pdf") => "application/pdf",
        _ => "image/jpeg",
    }
}
