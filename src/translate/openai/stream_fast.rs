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

/// The choice of a [`Simple`] chunk; a missing or `null` delta has neither text.
#[derive(Debug, Default, PartialEq)]
pub(super) struct SimpleChoice<'a> {
    pub reasoning: Option<Cow<'a, str>>,
    pub content: Option<Cow<'a, str>>,
    pub finish_reason: Option<Cow<'a, str>>,
}

/// The chunk, if it is one of the common shapes (see the module doc).
pub(super) fn read(data: &[u8]) -> Option<Simple<'_>> {
    // Checked whole at once: quicker than string by string. (Serde does not check the
    // strings it skips; such a chunk is left to it.)
    let text = std::str::from_utf8(data).ok()?;
    let mut scanner = Scanner::new(text);
    let chunk = chunk(&mut scanner).ok()?;
    scanner.end().ok()?;
    Some(chunk)
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

fn chunk<'a>(s: &mut Scanner<'a>) -> Result<Simple<'a>> {
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
                chunk.choice = choices(s)?;
            }
            "usage" | "error" => {
                seen.first(if &*key == "usage" { 8 } else { 16 })?;
                if !s.null() {
                    return Err(Invalid);
                }
            }
            _ => s.skip()?,
        }
    }
    Ok(chunk)
}

/// `choices` with none or one choice.
fn choices<'a>(s: &mut Scanner<'a>) -> Result<Option<SimpleChoice<'a>>> {
    let mut members = s.array()?;
    let mut first = None;
    while s.element(&mut members)? {
        if first.is_some() {
            return Err(Invalid);
        }
        first = Some(choice(s)?);
    }
    Ok(first)
}

fn choice<'a>(s: &mut Scanner<'a>) -> Result<SimpleChoice<'a>> {
    let mut choice = SimpleChoice::default();
    let mut seen = Seen::default();
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        match &*key {
            "delta" => {
                seen.first(1)?;
                if !s.null() {
                    delta(s, &mut choice)?;
                }
            }
            "finish_reason" => {
                seen.first(2)?;
                choice.finish_reason = optional_string(s)?;
            }
            _ => s.skip()?,
        }
    }
    Ok(choice)
}

/// A delta's texts, into `choice`.
fn delta<'a>(s: &mut Scanner<'a>, choice: &mut SimpleChoice<'a>) -> Result<()> {
    let mut seen = Seen::default();
    let mut members = s.object()?;
    while let Some(key) = s.key(&mut members)? {
        match &*key {
            "content" => {
                seen.first(1)?;
                choice.content = optional_string(s)?;
            }
            "reasoning_content" => {
                seen.first(2)?;
                choice.reasoning = optional_string(s)?;
            }
            "tool_calls" => return Err(Invalid),
            _ => s.skip()?,
        }
    }
    Ok(())
}

/// A string or `null`.
fn optional_string<'a>(s: &mut Scanner<'a>) -> Result<Option<Cow<'a, str>>> {
    if s.null() {
        Ok(None)
    } else {
        s.string().map(Some)
    }
}
