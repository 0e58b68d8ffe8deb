//! The fast path of the OpenAI stream decoder: reads the chunks almost every stream is made
//! of, text and reasoning deltas and the finish, with [`crate::translate::scan`] instead of
//! serde.
//!
//! [`read`] takes a chunk whose only parts the decoder uses are `id`, `model` and one choice
//! with `delta.content`, `delta.reasoning_content` (strings or `null`) and `finish_reason`;
//! `usage` and `error` may be `null`. It declines (`None`) anything else, and the serde path
//! in `stream.rs` reads it: tool calls, a usage object, an error, more than one choice, a
//! key the serde structs know given twice (serde refuses those), a value of a type serde
//! refuses, and any JSON the scanner does not accept. Unknown keys are skipped as serde
//! skips them. So every chunk it accepts gives what the serde path would give.
//!
//! Quicker still, [`Template`]: the text chunks of one stream differ only in their text and
//! perhaps in strings the decoder skips (OpenAI's `obfuscation` padding); the id, `created`,
//! model and fingerprint stay the same. So once [`read`] has read one, its bytes are kept with
//! holes where those strings were, and a chunk made of the same bytes with other JSON strings
//! in the holes is that chunk with this text. JSON being context-free and a string one token,
//! such a chunk reads as the kept one does with its strings replaced: no need to read the
//! rest. A stream whose chunks keep missing (a `created` that changes) stops trying.

use std::borrow::Cow;

use crate::translate::scan::{Invalid, Result, Scanner};

/// The parts of a chunk the decoder uses.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Simple<'a> {
    pub id: Option<Cow<'a, str>>,
    pub model: Option<Cow<'a, str>>,
    /// The one choice, if `choices` has one.
    pub choice: Option<SimpleChoice<'a>>,
}

/// Spans (start, end) of the first few strings a chunk's reading skipped as values of
/// unknown keys.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Skipped {
    spans: [(usize, usize); 6],
    len: usize,
}

impl Skipped {
    /// Keeps `span`, if there is room (a string not kept is part of a template's constant
    /// bytes).
    fn push(&mut self, span: (usize, usize)) {
        if let Some(slot) = self.spans.get_mut(self.len) {
            *slot = span;
            self.len += 1;
        }
    }

    fn spans(&self) -> &[(usize, usize)] {
        self.spans.get(..self.len).unwrap_or_default()
    }
}

/// The choice of a [`Simple`] chunk; a missing or `null` delta has neither text.
#[derive(Debug, Default, PartialEq)]
pub(super) struct SimpleChoice<'a> {
    pub reasoning: Option<Cow<'a, str>>,
    pub content: Option<Cow<'a, str>>,
    pub finish_reason: Option<Cow<'a, str>>,
    /// Where the values of `reasoning_content` and `content` are in the chunk.
    pub reasoning_at: (usize, usize),
    pub content_at: (usize, usize),
}

/// Which text of a delta a [`Template`] varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Text {
    Content,
    Reasoning,
}

/// A stream's text chunk with holes for its strings that may vary (see the module doc).
#[derive(Debug, Default)]
pub(super) struct Template {
    /// The chunk's bytes outside the holes.
    constant: Vec<u8>,
    /// For each hole in order: the number of constant bytes before it, whether it is the text.
    holes: Vec<(usize, bool)>,
    /// `None`: no chunk kept.
    text: Option<Text>,
    /// Chunks that did not match since the last that did: a stream whose chunks differ in
    /// more than strings (a `created` that changes) stops trying after [`GIVE_UP`].
    misses: u8,
}

/// Misses in a row after which a stream's chunks are no longer matched or kept.
const GIVE_UP: u8 = 8;

impl Template {
    /// The text of a chunk that is the kept one with other strings in the holes.
    pub fn text<'a>(&mut self, chunk: &'a str) -> Option<(Text, Cow<'a, str>)> {
        let kind = self.text?;
        if self.misses >= GIVE_UP {
            return None;
        }
        match self.fill(chunk) {
            Some(text) => {
                self.misses = 0;
                Some((kind, text))
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// The string in the text hole of `chunk`, if it matches.
    fn fill<'a>(&self, chunk: &'a str) -> Option<Cow<'a, str>> {
        let mut s = Scanner::new(chunk);
        let mut constant = &self.constant[..];
        let mut text = None;
        for &(len, is_text) in &self.holes {
            let (before, rest) = constant.split_at_checked(len)?;
            s.literal(before).ok()?;
            constant = rest;
            let value = s.string().ok()?;
            if is_text {
                text = Some(value);
            }
        }
        s.literal(constant).ok()?;
        s.end().ok()?;
        text
    }

    /// Keeps `chunk` (read from `data`) when it has one text, the other `null` or missing,
    /// and no finish reason: the chunks of the same shape then give one text event each and
    /// change nothing else in the decoder, once started. Otherwise keeps what it had. The
    /// holes are the text and the strings the reading skipped.
    pub fn keep(&mut self, data: &str, chunk: &Simple<'_>, skipped: &Skipped) {
        let Some(choice) = &chunk.choice else {
            return;
        };
        if self.misses >= GIVE_UP {
            return;
        }
        let data = data.as_bytes();
        let (kind, text_at) = match (&choice.reasoning, &choice.content) {
            (None, Some(_)) => (Text::Content, choice.content_at),
            (Some(_), None) => (Text::Reasoning, choice.reasoning_at),
            _ => return,
        };
        if choice.finish_reason.is_some() {
            return;
        }
        let mut holes = [((0, 0), false); 7];
        let mut count = 0;
        for (slot, &span) in holes.iter_mut().zip(skipped.spans()) {
            *slot = (span, false);
            count += 1;
        }
        if let Some(slot) = holes.get_mut(count) {
            *slot = (text_at, true);
            count += 1;
        }
        let holes = holes.get_mut(..count).unwrap_or_default();
        holes.sort_unstable_by_key(|((start, _), _)| *start);
        self.text = None;
        self.constant.clear();
        self.holes.clear();
        let mut at = 0;
        for &((start, end), is_text) in holes.iter() {
            let Some(before) = data.get(at..start) else {
                return;
            };
            self.constant.extend_from_slice(before);
            self.holes.push((before.len(), is_text));
            at = end;
        }
        let Some(rest) = data.get(at..) else {
            return;
        };
        self.constant.extend_from_slice(rest);
        self.text = Some(kind);
    }
}

/// The chunk, if it is one of the common shapes (see the module doc); where the strings it
/// skipped were into `skipped`. The caller checks the UTF-8 of the whole chunk at once,
/// quicker than string by string (serde does not check the strings it skips: a chunk with
/// one that is not UTF-8 is left to it).
pub(super) fn read<'a>(chunk: &'a str, skipped: &mut Skipped) -> Option<Simple<'a>> {
    let mut scanner = Scanner::new(chunk);
    *skipped = Skipped::default();
    let simple = read_chunk(&mut scanner, skipped).ok()?;
    scanner.end().ok()?;
    Some(simple)
}

/// Keys of one object already read (one bit each): serde refuses a known key given twice.
#[derive(Default)]
struct Seen(u8);

impl Seen {
    fn first(&mut self, bit: u8) -> Result<()> {
        if self.0 & bit != 0 {
            return Err(Invalid);
        }
        self.0 |= bit;
        Ok(())
    }
}

fn read_chunk<'a>(s: &mut Scanner<'a>, skipped: &mut Skipped) -> Result<Simple<'a>> {
    let mut chunk = Simple::default();
    let mut seen = Seen::default();
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        match &*key {
            "id" => {
                seen.first(1)?;
                chunk.id = optional_string(s)?;
            }
            "model" => {
                seen.first(2)?;
                chunk.model = optional_string(s)?;
            }
            "choices" => {
                seen.first(4)?;
                chunk.choice = choices(s, skipped)?;
            }
            "usage" | "error" => {
                seen.first(if &*key == "usage" { 8 } else { 16 })?;
                if !s.null() {
                    return Err(Invalid);
                }
            }
            _ => skip(s, skipped)?,
        }
    }
    Ok(chunk)
}

/// `choices` with none or one choice.
fn choices<'a>(s: &mut Scanner<'a>, skipped: &mut Skipped) -> Result<Option<SimpleChoice<'a>>> {
    let mut members = s.array()?;
    let mut first = None;
    while s.element(&mut members)? {
        if first.is_some() {
            return Err(Invalid);
        }
        first = Some(choice(s, skipped)?);
    }
    Ok(first)
}

fn choice<'a>(s: &mut Scanner<'a>, skipped: &mut Skipped) -> Result<SimpleChoice<'a>> {
    let mut choice = SimpleChoice::default();
    let mut seen = Seen::default();
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        match &*key {
            "delta" => {
                seen.first(1)?;
                if !s.null() {
                    delta(s, &mut choice, skipped)?;
                }
            }
            "finish_reason" => {
                seen.first(2)?;
                choice.finish_reason = optional_string(s)?;
            }
            // Read by the pass-through, not the decoder: only known to serde.
            "text" => {
                seen.first(4)?;
                skip(s, skipped)?;
            }
            _ => skip(s, skipped)?,
        }
    }
    Ok(choice)
}

/// A delta's texts, into `choice`.
fn delta<'a>(
    s: &mut Scanner<'a>,
    choice: &mut SimpleChoice<'a>,
    skipped: &mut Skipped,
) -> Result<()> {
    let mut seen = Seen::default();
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        match &*key {
            "content" => {
                seen.first(1)?;
                s.peek();
                let start = s.offset();
                choice.content = optional_string(s)?;
                choice.content_at = (start, s.offset());
            }
            "reasoning_content" => {
                seen.first(2)?;
                s.peek();
                let start = s.offset();
                choice.reasoning = optional_string(s)?;
                choice.reasoning_at = (start, s.offset());
            }
            "tool_calls" => return Err(Invalid),
            // Read by the pass-through, not the decoder: only known to serde.
            "refusal" => {
                seen.first(4)?;
                skip(s, skipped)?;
            }
            _ => skip(s, skipped)?,
        }
    }
    Ok(())
}

/// Skips a value; a string's span is kept (a template may vary it).
fn skip(s: &mut Scanner<'_>, skipped: &mut Skipped) -> Result<()> {
    if s.peek() == Some(b'"') {
        let start = s.offset();
        s.string()?;
        skipped.push((start, s.offset()));
        Ok(())
    } else {
        s.skip()
    }
}

/// A string or `null`.
fn optional_string<'a>(s: &mut Scanner<'a>) -> Result<Option<Cow<'a, str>>> {
    if s.null() {
        Ok(None)
    } else {
        s.string().map(Some)
    }
}
