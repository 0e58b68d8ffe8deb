//! The fast path of the Anthropic stream decoder: reads the events almost every stream is made
//! of with [`crate::translate::scan`] instead of serde.
//!
//! [`read`] takes `content_block_delta` events with a `text_delta` or `thinking_delta`, and
//! `ping`, `content_block_stop` and `message_stop`, when the JSON names the type. It declines
//! (`None`) everything else, and the lenient serde reader in `stream_decoder.rs` reads it: other
//! event and delta types, a missing `type`, `index` or delta text, a key the decoder reads
//! given twice (the serde reader takes the last), a value of a type the serde reader would
//! count as absent, an `index` that is not a plain unsigned integer, the keys whose values
//! the serde reader checks more closely than skipping does (`message`, `content_block`,
//! `usage`, `error` and the delta's other fields), and any JSON the scanner does not accept.
//! Unknown keys are skipped as serde skips them. So every event it accepts gives what the
//! serde path would give.

use std::borrow::Cow;

use crate::translate::scan::{Invalid, Result, Scanner};

/// What an event the fast path read means.
#[derive(Debug, PartialEq)]
pub(super) enum Simple<'a> {
    Text(Cow<'a, str>),
    Thinking(Cow<'a, str>),
    /// `message_stop`: the stream ended properly.
    Stop,
    /// `ping`, `content_block_stop`: nothing to map.
    Nothing,
}

/// The event, if it is one of the common shapes (see the module doc).
pub(super) fn read(json: &str) -> Option<Simple<'_>> {
    delta_as_sent(json).or_else(|| by_keys(json))
}

/// Any layout, key by key.
pub(super) fn by_keys(json: &str) -> Option<Simple<'_>> {
    let mut scanner = Scanner::new(json);
    let event = event(&mut scanner).ok()?;
    scanner.end().ok()?;
    let delta = event.delta;
    match &*event.kind? {
        "content_block_delta" => {
            event.index?;
            let delta = delta?;
            match &*delta.kind? {
                "text_delta" => delta.text.map(Simple::Text),
                "thinking_delta" => delta.thinking.map(Simple::Thinking),
                _ => None,
            }
        }
        "ping" | "content_block_stop" => Some(Simple::Nothing),
        "message_stop" => Some(Simple::Stop),
        _ => None,
    }
}

/// A text or thinking delta written exactly as Anthropic writes them (keys in this order, no
/// whitespace, nothing else), read with a few comparisons and one string. Any other layout
/// is left to the key-by-key reading, which accepts this one too and reads it alike.
pub(super) fn delta_as_sent(json: &str) -> Option<Simple<'_>> {
    let mut s = Scanner::new(json);
    s.literal(br#"{"type":"content_block_delta","index":"#)
        .ok()?;
    s.unsigned().ok()?;
    let thinking = if s
        .literal(br#","delta":{"type":"text_delta","text":"#)
        .is_ok()
    {
        false
    } else {
        s.literal(br#","delta":{"type":"thinking_delta","thinking":"#)
            .ok()?;
        true
    };
    let text = s.string().ok()?;
    s.literal(b"}}").ok()?;
    s.end().ok()?;
    Some(if thinking {
        Simple::Thinking(text)
    } else {
        Simple::Text(text)
    })
}

/// The fields of an event the fast path reads.
#[derive(Default)]
struct Fields<'a> {
    kind: Option<Cow<'a, str>>,
    index: Option<u64>,
    delta: Option<DeltaFields<'a>>,
}

#[derive(Default)]
struct DeltaFields<'a> {
    kind: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    thinking: Option<Cow<'a, str>>,
}

fn event<'a>(s: &mut Scanner<'a>) -> Result<Fields<'a>> {
    let mut fields = Fields::default();
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        match &*key {
            "type" => once(&mut fields.kind, s.string()?)?,
            "index" => once(&mut fields.index, s.unsigned()?)?,
            "delta" => once(&mut fields.delta, delta(s)?)?,
            "message" | "content_block" | "usage" | "error" => return Err(Invalid),
            _ => s.skip()?,
        }
    }
    Ok(fields)
}

fn delta<'a>(s: &mut Scanner<'a>) -> Result<DeltaFields<'a>> {
    let mut fields = DeltaFields::default();
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        match &*key {
            "type" => once(&mut fields.kind, s.string()?)?,
            "text" => once(&mut fields.text, s.string()?)?,
            "thinking" => once(&mut fields.thinking, s.string()?)?,
            "signature" | "partial_json" | "stop_reason" | "stop_sequence" => return Err(Invalid),
            _ => s.skip()?,
        }
    }
    Ok(fields)
}

/// Sets a field read once; a key given twice declines.
fn once<T>(field: &mut Option<T>, value: T) -> Result<()> {
    if field.is_some() {
        return Err(Invalid);
    }
    *field = Some(value);
    Ok(())
}
