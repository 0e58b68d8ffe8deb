//! Anthropic Messages SSE events (from a provider) → IR [`Event`]s.
//!
//! State carried across events: the usage counts reported so far (`message_start` has the
//! input side; a `message_delta` may report only `output_tokens`), a map from Anthropic's content
//! block index to the ordinal of each `tool_use` block among the tool calls (the IR's tool
//! index), and whether the stream ended properly. Events that cannot be read are skipped and
//! counted in [`StreamDecoder::malformed`]; event types this decoder does not know are
//! ignored, as Anthropic asks clients to do.
//!
//! Speed: each event's JSON is read in one pass, in place, into the borrowing structs of
//! `wire`, which keep only the fields this decoder uses (strings borrowed from the event
//! where they have no escapes); only the strings the IR events hold are allocated. The structs
//! read any JSON as leniently as looking fields up in a `serde_json::Value` did: a field of
//! the wrong type counts as absent, a non-object where an object is expected has no fields,
//! and of a repeated key the last one counts. (Only JSON that a `Value` refuses though the
//! syntax is right, a number out of `f64` range or a lone surrogate escape, in a field this
//! decoder skips no longer makes the event malformed.)
//!
//! Faster still: the text and thinking deltas, pings and stops that make up almost every
//! stream are read by `stream_fast` without serde; it declines whatever it cannot read exactly
//! as `wire` would, and `wire` reads that.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::fields::{finish_from_wire, usage_from_counts};
use super::stream_fast::{self, Simple};
use crate::translate::contract::StreamDecoder as Decode;
use crate::translate::ir::{ErrorInfo, Event, Usage};
use crate::translate::sse::{event_data, event_name};
use wire::{Block, Counts, Delta, Obj, Wire};

/// Decodes one Anthropic stream.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// Events skipped because they could not be read (bad JSON, missing fields).
    pub malformed: u64,
    /// Anthropic usage counts so far: `message_start`'s, overwritten by each `message_delta`'s.
    usage: UsageSoFar,
    /// `(content block index, tool ordinal)` of each `tool_use` block, in order.
    tools: Vec<(u64, u32)>,
    /// Ordinal of the next `tool_use` block.
    next_tool: u32,
    /// A `message_delta` with a `stop_reason` was seen.
    finished: bool,
    /// `message_stop` was seen.
    stopped: bool,
}

/// The Anthropic usage fields the IR maps, `0` when not reported (or not a count).
#[derive(Debug, Default, Clone, Copy)]
struct UsageSoFar {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_creation: u64,
}

impl UsageSoFar {
    /// `message_start`'s usage: replaces everything reported before.
    fn replace(&mut self, usage: &Counts) {
        *self = Self::default();
        self.update(usage);
    }

    /// A `message_delta`'s usage: the counts it restates overwrite the earlier ones.
    fn update(&mut self, usage: &Counts) {
        let fields = [
            (&mut self.input, usage.input_tokens),
            (&mut self.output, usage.output_tokens),
            (&mut self.cache_read, usage.cache_read_input_tokens),
            (&mut self.cache_creation, usage.cache_creation_input_tokens),
        ];
        for (field, count) in fields {
            if let Some(count) = count.0 {
                *field = count;
            }
        }
    }

    fn ir(&self) -> Usage {
        usage_from_counts(
            self.input,
            self.output,
            self.cache_read,
            self.cache_creation,
        )
    }
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one event's JSON; `None` when a required field is missing.
    fn decode(&mut self, kind: &str, v: &mut Wire<'_>, out: &mut Vec<Event>) -> Option<()> {
        match kind {
            "message_start" => {
                let message = v.message.required()?;
                out.push(Event::Start {
                    id: message.id.owned().unwrap_or_default(),
                    model: message.model.owned().unwrap_or_default(),
                });
                if let Some(usage) = message.usage.object() {
                    self.usage.replace(usage);
                    out.push(Event::Usage(self.usage.ir()));
                }
            }
            "content_block_start" => {
                let index = v.index.0?;
                self.block_start(index, v.content_block.object()?, out)?;
            }
            "content_block_delta" => {
                let index = v.index.0?;
                self.block_delta(index, v.delta.object()?, out)?;
            }
            "message_delta" => {
                if let Some(usage) = v.usage.object() {
                    // Cumulative counts; older responses restate only `output_tokens`.
                    self.usage.update(usage);
                    out.push(Event::Usage(self.usage.ir()));
                }
                let delta = v.delta.required()?;
                if let Some(reason) = &delta.stop_reason.0 {
                    self.finished = true;
                    out.push(Event::Finish {
                        reason: finish_from_wire(reason),
                        stop_sequence: delta.stop_sequence.owned(),
                    });
                }
            }
            "message_stop" => self.stopped = true,
            "error" => {
                let (code, message) = match v.error.object() {
                    Some(error) => (error.kind.take(), error.message.owned()),
                    None => (None, None),
                };
                out.push(Event::Error(ErrorInfo {
                    status: if code.as_deref() == Some("overloaded_error") {
                        529
                    } else {
                        500
                    },
                    message: message
                        .unwrap_or_else(|| "the provider reported an error mid-stream".to_owned()),
                    code: code.map(Cow::into_owned),
                }));
            }
            // `ping`, `content_block_stop` and event types added later carry nothing to map.
            _ => {}
        }
        Some(())
    }

    fn block_start(
        &mut self,
        index: u64,
        block: &mut Block<'_>,
        out: &mut Vec<Event>,
    ) -> Option<()> {
        match block.kind.0.as_deref()? {
            "text" => push_text(out, Event::TextDelta, block.text.take()),
            "thinking" => {
                push_text(out, Event::ThinkingDelta, block.thinking.take());
                push_text(out, Event::ThinkingSignature, block.signature.take());
            }
            "tool_use" => {
                let id = block.id.owned()?;
                let name = block.name.owned()?;
                // Anthropic starts with `input: {}` and streams the arguments; a provider that
                // sends them whole in the start still has them passed on.
                let arguments = match block.input {
                    Some(input) => whole_input(input)?,
                    None => None,
                };
                let ordinal = self.next_tool;
                self.next_tool = ordinal.checked_add(1)?;
                self.tools.retain(|(i, _)| *i != index);
                self.tools.push((index, ordinal));
                out.push(Event::ToolCallStart {
                    index: ordinal,
                    id,
                    name,
                });
                if let Some(arguments) = arguments {
                    out.push(Event::ToolCallDelta {
                        index: ordinal,
                        arguments,
                    });
                }
            }
            // `redacted_thinking` (the IR has no stream event for it), server-tool blocks.
            _ => {}
        }
        Some(())
    }

    fn block_delta(
        &mut self,
        index: u64,
        delta: &mut Delta<'_>,
        out: &mut Vec<Event>,
    ) -> Option<()> {
        match delta.kind.0.as_deref()? {
            "text_delta" => push_text(out, Event::TextDelta, Some(delta.text.take()?)),
            "thinking_delta" => {
                push_text(out, Event::ThinkingDelta, Some(delta.thinking.take()?));
            }
            "signature_delta" => {
                push_text(out, Event::ThinkingSignature, Some(delta.signature.take()?));
            }
            "input_json_delta" => {
                let fragment = delta.partial_json.take()?;
                let ordinal = self.tools.iter().find(|(i, _)| *i == index)?.1;
                if !fragment.is_empty() {
                    out.push(Event::ToolCallDelta {
                        index: ordinal,
                        arguments: fragment.into_owned(),
                    });
                }
            }
            // `citations_delta` and later delta types.
            _ => {}
        }
        Some(())
    }
}

impl StreamDecoder {
    /// One event's JSON: the fast path for the common events, the `wire` reader for the rest.
    pub(super) fn decode_json(&mut self, event: &[u8], json: &str, out: &mut Vec<Event>) {
        match stream_fast::read(json) {
            Some(Simple::Text(text)) => push_text(out, Event::TextDelta, Some(text)),
            Some(Simple::Thinking(text)) => push_text(out, Event::ThinkingDelta, Some(text)),
            Some(Simple::Stop) => self.stopped = true,
            Some(Simple::Nothing) => {}
            None => self.decode_wire(event, json, out),
        }
    }

    /// Any event's JSON, read with the lenient serde reader (the tests' reference for the fast
    /// path).
    pub(super) fn decode_wire(&mut self, event: &[u8], json: &str, out: &mut Vec<Event>) {
        let mut v = Obj::<Wire<'_>>::default();
        if wire::read(json, &mut v).is_err() {
            self.malformed += 1;
            return;
        }
        // Not an object: no fields.
        let v = &mut v.fields;
        // The JSON names its type; the `event:` line is the fallback.
        let typed = v.kind.take();
        let kind = match &typed {
            Some(kind) => Some(&**kind),
            None => event_name(event)
                .and_then(|n| std::str::from_utf8(n).ok())
                .map(str::trim),
        };
        let Some(kind) = kind else {
            self.malformed += 1;
            return;
        };
        if self.decode(kind, v, out).is_none() {
            self.malformed += 1;
        }
    }
}

impl Decode for StreamDecoder {
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>) {
        let Some(data) = data(event) else {
            return; // a comment or keep-alive
        };
        // Checked whole, as reading it into a `Value` did: the parser does not check the
        // strings it skips.
        let Ok(json) = std::str::from_utf8(&data) else {
            self.malformed += 1;
            return;
        };
        self.decode_json(event, json, out);
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> bool {
        self.stopped || self.finished
    }

    fn malformed(&self) -> u64 {
        self.malformed
    }
}

/// The data of an event, as [`event_data`] reads it; without looking at each byte for the
/// usual `event: <type>\ndata: <json>\n\n` (or with `\r\n` line ends).
fn data(event: &[u8]) -> Option<Cow<'_, [u8]>> {
    let simple = memchr::memchr(b'\n', event)
        .filter(|_| event.starts_with(b"event:"))
        .and_then(|end| event[end + 1..].strip_prefix(b"data: "))
        .and_then(|rest| {
            rest.strip_suffix(b"\r\n\r\n")
                .or_else(|| rest.strip_suffix(b"\n\n"))
        })
        .filter(|data| memchr::memchr2(b'\n', b'\r', data).is_none());
    match simple {
        Some(data) => Some(Cow::Borrowed(data)),
        None => event_data(event),
    }
}

/// Pushes `make(text)` when there is text.
fn push_text(out: &mut Vec<Event>, make: fn(String) -> Event, text: Option<Cow<'_, str>>) {
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        out.push(make(text.into_owned()));
    }
}

/// The arguments of a `tool_use` block's `input` sent whole: `Some(None)` when it is not an
/// object or an empty one, `None` when it cannot be read as a `Value` (which a valid JSON
/// text rarely fails, e.g. with a number out of range).
fn whole_input(input: &RawValue) -> Option<Option<String>> {
    let raw = input.get().trim();
    let Some(inner) = raw.strip_prefix('{') else {
        return Some(None); // not an object
    };
    if inner.trim_start().starts_with('}') {
        return Some(None); // `{}`, as Anthropic sends it
    }
    // Re-serialised compact and with its keys sorted, as passing on the `Value` did.
    let input: Map<String, Value> = serde_json::from_str(raw).ok()?;
    Some(Some(Value::Object(input).to_string()))
}

/// Borrowing, lenient views of the parts of Anthropic stream events this decoder reads,
/// filled in place (the structs are large; moving them costs more than reading the JSON).
mod wire {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{
        self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };
    use serde_json::value::RawValue;

    /// Reads the JSON text `json` into `v`.
    pub fn read<'de>(json: &'de str, v: &mut Obj<Wire<'de>>) -> serde_json::Result<()> {
        let mut de = serde_json::Deserializer::from_str(json);
        v.fill(&mut de)?;
        de.end()
    }

    /// A value read in place.
    trait Fill<'de> {
        fn fill<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error>;
    }

    /// An object read field by field into `self`; unknown fields are skipped.
    trait FillMap<'de>: Default {
        fn fill_map<A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error>;
    }

    /// Reads a value into the field it borrows.
    struct Slot<'s, T>(&'s mut T);

    impl<'de, T: Fill<'de>> DeserializeSeed<'de> for Slot<'_, T> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            self.0.fill(d)
        }
    }

    /// What a field that should hold an object held.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub enum Seen {
        #[default]
        Missing,
        Other,
        Object,
    }

    /// A field that should hold an object: `fields` are the object's, or have their default
    /// values when the field is missing or not an object.
    #[derive(Debug, Default)]
    pub struct Obj<T> {
        pub seen: Seen,
        pub fields: T,
    }

    impl<T> Obj<T> {
        /// The object; `None` when the field is missing or not an object.
        pub fn object(&mut self) -> Option<&mut T> {
            (self.seen == Seen::Object).then_some(&mut self.fields)
        }

        /// The object, with no fields when the value is not an object; `None` when the field
        /// is missing.
        pub fn required(&mut self) -> Option<&mut T> {
            (self.seen != Seen::Missing).then_some(&mut self.fields)
        }
    }

    /// A string field; `None` when missing or not a string. Borrowed unless it had escapes.
    #[derive(Debug, Default)]
    pub struct Text<'a>(pub Option<Cow<'a, str>>);

    impl<'a> Text<'a> {
        pub fn take(&mut self) -> Option<Cow<'a, str>> {
            self.0.take()
        }

        pub fn owned(&mut self) -> Option<String> {
            self.0.take().map(Cow::into_owned)
        }
    }

    /// A count field; `None` when missing or not an unsigned integer.
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Count(pub Option<u64>);

    /// An event's JSON.
    #[derive(Debug, Default)]
    pub struct Wire<'a> {
        pub kind: Text<'a>,
        pub index: Count,
        pub message: Obj<Message<'a>>,
        pub content_block: Obj<Block<'a>>,
        /// A `content_block_delta`'s or a `message_delta`'s `delta`.
        pub delta: Obj<Delta<'a>>,
        pub usage: Obj<Counts>,
        pub error: Obj<ErrorBody<'a>>,
    }

    /// `message_start`'s `message`.
    #[derive(Debug, Default)]
    pub struct Message<'a> {
        pub id: Text<'a>,
        pub model: Text<'a>,
        pub usage: Obj<Counts>,
    }

    /// `content_block_start`'s `content_block`.
    #[derive(Debug, Default)]
    pub struct Block<'a> {
        pub kind: Text<'a>,
        pub text: Text<'a>,
        pub thinking: Text<'a>,
        pub signature: Text<'a>,
        pub id: Text<'a>,
        pub name: Text<'a>,
        /// A `tool_use` block's `input`, unread; `None` when missing or `null`.
        pub input: Option<&'a RawValue>,
    }

    /// The `delta` of a `content_block_delta` (`type` and its field) or of a `message_delta`
    /// (the stop fields).
    #[derive(Debug, Default)]
    pub struct Delta<'a> {
        pub kind: Text<'a>,
        pub text: Text<'a>,
        pub thinking: Text<'a>,
        pub signature: Text<'a>,
        pub partial_json: Text<'a>,
        pub stop_reason: Text<'a>,
        pub stop_sequence: Text<'a>,
    }

    /// A `usage` object.
    #[derive(Debug, Default)]
    pub struct Counts {
        pub input_tokens: Count,
        pub output_tokens: Count,
        pub cache_read_input_tokens: Count,
        pub cache_creation_input_tokens: Count,
    }

    /// An `error` event's `error`.
    #[derive(Debug, Default)]
    pub struct ErrorBody<'a> {
        pub kind: Text<'a>,
        pub message: Text<'a>,
    }

    /// `FillMap` for a struct: `"key" => field` for each field read.
    macro_rules! fill_map {
        ($de:lifetime, $ty:ty { $($key:literal => $field:ident),* $(,)? }) => {
            impl<$de> FillMap<$de> for $ty {
                fn fill_map<A: MapAccess<$de>>(&mut self, mut map: A) -> Result<(), A::Error> {
                    while let Some(key) = map.next_key::<Key<$de>>()? {
                        match &*key.0 {
                            $($key => map.next_value_seed(Slot(&mut self.$field))?,)*
                            _ => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                    }
                    Ok(())
                }
            }
        };
    }

    fill_map!('de, Wire<'de> {
        "type" => kind,
        "index" => index,
        "message" => message,
        "content_block" => content_block,
        "delta" => delta,
        "usage" => usage,
        "error" => error,
    });
    fill_map!('de, Message<'de> { "id" => id, "model" => model, "usage" => usage });
    fill_map!('de, Block<'de> {
        "type" => kind,
        "text" => text,
        "thinking" => thinking,
        "signature" => signature,
        "id" => id,
        "name" => name,
        "input" => input,
    });
    fill_map!('de, Delta<'de> {
        "type" => kind,
        "text" => text,
        "thinking" => thinking,
        "signature" => signature,
        "partial_json" => partial_json,
        "stop_reason" => stop_reason,
        "stop_sequence" => stop_sequence,
    });
    fill_map!('de, Counts {
        "input_tokens" => input_tokens,
        "output_tokens" => output_tokens,
        "cache_read_input_tokens" => cache_read_input_tokens,
        "cache_creation_input_tokens" => cache_creation_input_tokens,
    });
    fill_map!('de, ErrorBody<'de> { "type" => kind, "message" => message });

    /// Small values are read whole and replace the field (the last of a repeated key counts).
    macro_rules! fill_by_value {
        ($de:lifetime, $($ty:ty),*) => {
            $(impl<$de> Fill<$de> for $ty {
                fn fill<D: Deserializer<$de>>(&mut self, d: D) -> Result<(), D::Error> {
                    *self = Deserialize::deserialize(d)?;
                    Ok(())
                }
            })*
        };
    }

    fill_by_value!('de, Text<'de>, Count, Option<&'de RawValue>);

    /// Visitor methods that take any JSON value of the kinds listed (arrays and objects read
    /// through) as the visitor's `other()`.
    macro_rules! other_values {
        (@ bool) => {
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(self.other())
            }
        };
        (@ int) => {
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(self.other())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(self.other())
            }
        };
        (@ float) => {
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(self.other())
            }
        };
        (@ str) => {
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(self.other())
            }
        };
        (@ null) => {
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(self.other())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(self.other())
            }
        };
        (@ array) => {
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(self.other())
            }
        };
        (@ object) => {
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(self.other())
            }
        };
        ($($kind:ident)*) => { $(other_values!(@ $kind);)* };
    }
    impl<'de, T: FillMap<'de>> Fill<'de> for Obj<T> {
        fn fill<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
            struct V<'s, T>(&'s mut Obj<T>);
            impl<'s, 'de, T: FillMap<'de>> V<'s, T> {
                /// Records what the field held; a repeated key starts over.
                fn seen(self, seen: Seen) -> &'s mut T {
                    if self.0.seen != Seen::Missing {
                        self.0.fields = T::default();
                    }
                    self.0.seen = seen;
                    &mut self.0.fields
                }

                fn other(self) {
                    self.seen(Seen::Other);
                }
            }
            impl<'de, T: FillMap<'de>> Visitor<'de> for V<'_, T> {
                type Value = ();
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
                    self.seen(Seen::Object).fill_map(map)
                }
                other_values!(bool int float str null array);
            }
            d.deserialize_any(V(self))
        }
    }

    /// An object key, borrowed unless it had escapes.
    struct Key<'a>(Cow<'a, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v)))
                }
            }
            d.deserialize_str(V)
        }
    }

    impl<'de> Deserialize<'de> for Text<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl V {
                fn other<'de>(self) -> Text<'de> {
                    Text(None)
                }
            }
            impl<'de> Visitor<'de> for V {
                type Value = Text<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                    Ok(Text(Some(Cow::Borrowed(v))))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                    Ok(Text(Some(Cow::Owned(v.to_owned()))))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                    Ok(Text(Some(Cow::Owned(v))))
                }
                other_values!(bool int float null array object);
            }
            d.deserialize_any(V)
        }
    }

    impl<'de> Deserialize<'de> for Count {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl V {
                fn other(self) -> Count {
                    Count(None)
                }
            }
            impl<'de> Visitor<'de> for V {
                type Value = Count;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                    Ok(Count(Some(v)))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                    Ok(Count(u64::try_from(v).ok()))
                }
                other_values!(bool float str null array object);
            }
            d.deserialize_any(V)
        }
    }
}
