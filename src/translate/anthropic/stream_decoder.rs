//! Anthropic Messages SSE events (from a provider) → IR [`Event`]s.
//!
//! State carried across events: the usage counts reported so far (`message_start` has the
//! input side; a `message_delta` may report only `output_tokens`), a map from Anthropic's content
//! block index to the ordinal of each `tool_use` block among the tool calls (the IR's tool
//! index), and whether the stream ended properly. Events that cannot be read are skipped and
//! counted in [`StreamDecoder::malformed`]; event types this decoder does not know are
//! ignored, as Anthropic asks clients to do.
//!
//! Speed: each event's JSON is read in one pass into the borrowing structs of [`wire`], which
//! keep only the fields this decoder uses (strings borrowed from the event where they have no
//! escapes); only the strings the IR events hold are allocated. The structs read any JSON as
//! leniently as looking fields up in a `serde_json::Value` would: a field of the wrong type
//! counts as absent, a non-object where an object is expected has no fields, and of a
//! repeated key the last one counts.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{finish_from_wire, usage_from_counts};
use crate::sse::{event_data, event_name};
use crate::translate::StreamDecoder as Decode;
use crate::translate::ir::{ErrorInfo, Event, Usage};
use wire::{Block, Counts, Delta, Obj, Text, Wire};

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
    fn decode(&mut self, kind: &str, v: Wire<'_>, out: &mut Vec<Event>) -> Option<()> {
        match kind {
            "message_start" => {
                let message = v.message.required()?;
                out.push(Event::Start {
                    id: owned(message.id).unwrap_or_default(),
                    model: owned(message.model).unwrap_or_default(),
                });
                if let Obj::Object(usage) = &message.usage {
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
                if let Obj::Object(usage) = &v.usage {
                    // Cumulative counts; older responses restate only `output_tokens`.
                    self.usage.update(usage);
                    out.push(Event::Usage(self.usage.ir()));
                }
                let delta = v.delta.required()?;
                if let Some(reason) = delta.stop_reason.0 {
                    self.finished = true;
                    out.push(Event::Finish {
                        reason: finish_from_wire(&reason),
                        stop_sequence: owned(delta.stop_sequence),
                    });
                }
            }
            "message_stop" => self.stopped = true,
            "error" => {
                let error = v.error.object().unwrap_or_default();
                let code = error.kind.0;
                out.push(Event::Error(ErrorInfo {
                    status: if code.as_deref() == Some("overloaded_error") {
                        529
                    } else {
                        500
                    },
                    message: owned(error.message)
                        .unwrap_or_else(|| "the provider reported an error mid-stream".to_owned()),
                    code: code.map(Cow::into_owned),
                }));
            }
            // `ping`, `content_block_stop` and event types added later carry nothing to map.
            _ => {}
        }
        Some(())
    }

    fn block_start(&mut self, index: u64, block: Block<'_>, out: &mut Vec<Event>) -> Option<()> {
        match &*block.kind.0? {
            "text" => push_text(out, Event::TextDelta, block.text),
            "thinking" => {
                push_text(out, Event::ThinkingDelta, block.thinking);
                push_text(out, Event::ThinkingSignature, block.signature);
            }
            "tool_use" => {
                let id = owned(block.id)?;
                let name = owned(block.name)?;
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

    fn block_delta(&mut self, index: u64, delta: Delta<'_>, out: &mut Vec<Event>) -> Option<()> {
        match &*delta.kind.0? {
            "text_delta" => push_text(out, Event::TextDelta, Text(Some(delta.text.0?))),
            "thinking_delta" => {
                push_text(out, Event::ThinkingDelta, Text(Some(delta.thinking.0?)));
            }
            "signature_delta" => {
                push_text(
                    out,
                    Event::ThinkingSignature,
                    Text(Some(delta.signature.0?)),
                );
            }
            "input_json_delta" => {
                let fragment = delta.partial_json.0?;
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

impl Decode for StreamDecoder {
    fn decode_event(&mut self, event: &[u8], out: &mut Vec<Event>) {
        let Some(data) = event_data(event) else {
            return; // a comment or keep-alive
        };
        // Checked whole, as reading it into a `Value` would: strings skipped unread are
        // not checked by the parser.
        let Ok(json) = std::str::from_utf8(&data) else {
            self.malformed += 1;
            return;
        };
        let Ok(v) = serde_json::from_str::<Obj<Wire<'_>>>(json) else {
            self.malformed += 1;
            return;
        };
        let mut v = v.object().unwrap_or_default();
        // The JSON names its type; the `event:` line is the fallback.
        let typed = v.kind.0.take();
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

    fn finish(&mut self, _out: &mut Vec<Event>) -> bool {
        self.stopped || self.finished
    }

    fn malformed(&self) -> u64 {
        self.malformed
    }
}

/// A string field as an owned string.
fn owned(text: Text<'_>) -> Option<String> {
    text.0.map(Cow::into_owned)
}

/// Pushes `make(text)` when there is text.
fn push_text(out: &mut Vec<Event>, make: fn(String) -> Event, text: Text<'_>) {
    if let Some(text) = text.0.filter(|t| !t.is_empty()) {
        out.push(make(text.into_owned()));
    }
}

/// The arguments of a `tool_use` block's `input` sent whole: `Some(None)` when it is not an
/// object or an empty one, `None` when it cannot be read as a `Value` (which a valid JSON
/// text rarely fails, e.g. with a number out of range).
fn whole_input(input: &RawValue) -> Option<Option<String>> {
    let raw = input.get().trim();
    let Some(inner) = raw.strip_prefix('{') else {
        return Some(None); // not an object (Anthropic's `{}` is caught just below)
    };
    if inner.trim_start().starts_with('}') {
        return Some(None);
    }
    // Re-serialised compact and with its keys sorted, as passing on the `Value` did.
    let input: Map<String, Value> = serde_json::from_str(raw).ok()?;
    Some(Some(Value::Object(input).to_string()))
}

/// Borrowing, lenient views of the parts of Anthropic stream events this decoder reads.
mod wire {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::value::RawValue;

    /// An object read field by field; unknown fields are skipped.
    pub trait FromMap<'de>: Sized + Default {
        fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
    }

    /// A field that holds an object (read as `T`), some other value, or is missing.
    #[derive(Debug)]
    pub enum Obj<T> {
        Missing,
        Other,
        Object(T),
    }

    impl<T> Default for Obj<T> {
        fn default() -> Self {
            Self::Missing
        }
    }

    impl<T: Default> Obj<T> {
        /// The object; `None` when the field is missing or not an object.
        pub fn object(self) -> Option<T> {
            match self {
                Self::Object(t) => Some(t),
                Self::Missing | Self::Other => None,
            }
        }

        /// The object, one with no fields when the value is not an object; `None` when the
        /// field is missing.
        pub fn required(self) -> Option<T> {
            match self {
                Self::Object(t) => Some(t),
                Self::Other => Some(T::default()),
                Self::Missing => None,
            }
        }
    }

    /// A string field; `None` when missing or not a string. Borrowed unless it had escapes.
    #[derive(Debug, Default)]
    pub struct Text<'a>(pub Option<Cow<'a, str>>);

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

    /// `FromMap` for a struct: `"key" => field` for each field read; the last of a repeated
    /// key counts.
    macro_rules! from_map {
        ($de:lifetime, $ty:ty { $($key:literal => $field:ident),* $(,)? }) => {
            impl<$de> FromMap<$de> for $ty {
                fn from_map<A: MapAccess<$de>>(mut map: A) -> Result<Self, A::Error> {
                    let mut this = Self::default();
                    while let Some(key) = map.next_key::<Key<$de>>()? {
                        match &*key.0 {
                            $($key => this.$field = map.next_value()?,)*
                            _ => {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                    }
                    Ok(this)
                }
            }
        };
    }

    from_map!('de, Wire<'de> {
        "type" => kind,
        "index" => index,
        "message" => message,
        "content_block" => content_block,
        "delta" => delta,
        "usage" => usage,
        "error" => error,
    });
    from_map!('de, Message<'de> { "id" => id, "model" => model, "usage" => usage });
    from_map!('de, Block<'de> {
        "type" => kind,
        "text" => text,
        "thinking" => thinking,
        "signature" => signature,
        "id" => id,
        "name" => name,
        "input" => input,
    });
    from_map!('de, Delta<'de> {
        "type" => kind,
        "text" => text,
        "thinking" => thinking,
        "signature" => signature,
        "partial_json" => partial_json,
        "stop_reason" => stop_reason,
        "stop_sequence" => stop_sequence,
    });
    from_map!('de, Counts {
        "input_tokens" => input_tokens,
        "output_tokens" => output_tokens,
        "cache_read_input_tokens" => cache_read_input_tokens,
        "cache_creation_input_tokens" => cache_creation_input_tokens,
    });
    from_map!('de, ErrorBody<'de> { "type" => kind, "message" => message });

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

    /// Visitor methods that take any JSON value (arrays and objects read through) as
    /// `$other`, for the kinds of value listed.
    macro_rules! other_values {
        (@ bool $other:expr) => {
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok($other)
            }
        };
        (@ int $other:expr) => {
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok($other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok($other)
            }
        };
        (@ float $other:expr) => {
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok($other)
            }
        };
        (@ str $other:expr) => {
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok($other)
            }
        };
        (@ null $other:expr) => {
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok($other)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok($other)
            }
        };
        (@ array $other:expr) => {
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok($other)
            }
        };
        (@ object $other:expr) => {
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok($other)
            }
        };
        ($other:expr; $($kind:ident)*) => { $(other_values!(@ $kind $other);)* };
    }

    impl<'de, T: FromMap<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);
            impl<'de, T: FromMap<'de>> Visitor<'de> for V<T> {
                type Value = Obj<T>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                    T::from_map(map).map(Obj::Object)
                }
                other_values!(Obj::Other; bool int float str null array);
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }

    impl<'de> Deserialize<'de> for Text<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
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
                other_values!(Text(None); bool int float null array object);
            }
            d.deserialize_any(V)
        }
    }

    impl<'de> Deserialize<'de> for Count {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
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
                other_values!(Count(None); bool float str null array object);
            }
            d.deserialize_any(V)
        }
    }
}
