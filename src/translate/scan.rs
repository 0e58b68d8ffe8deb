//! A strict, forward-only JSON reader for the stream decoders' fast paths.
//!
//! A decoder walks the JSON of an event itself (objects key by key, the strings it keeps, every
//! other value skipped) instead of handing it to serde, which costs most of the time a streamed
//! translation spends per event. The reader accepts only what `serde_json` accepts (JSON per
//! RFC 8259: the four whitespace bytes, numbers per the grammar, no trailing commas, no
//! control characters in strings, valid escapes, valid UTF-8), and is stricter where it is
//! simpler to be: the whole text must be valid UTF-8, no string, skipped or not, may hold a
//! lone surrogate escape, and values nest at most [`MAX_DEPTH`] deep. Any [`Invalid`] means the
//! caller declines and lets serde read the event, so being stricter costs only speed.
//!
//! It reads a `&str`: the caller checks the UTF-8 of the whole text at once (fast for the
//! mostly ASCII events), and strings are then cut from it without checking each again.
//!
//! Entry point: [`Scanner`]. Pure, no allocation except for strings with escapes; no input
//! makes it panic.

use std::borrow::Cow;

/// The input is not JSON the scanner accepts, or not the kind of value asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

pub type Result<T> = std::result::Result<T, Invalid>;

/// The deepest nesting [`Scanner::skip`] reads through (`serde_json` allows 128 in all).
pub const MAX_DEPTH: u32 = 64;

/// Reads one JSON text front to back.
#[derive(Debug)]
pub struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// Where a reader is in an object or array: before its first member or after one.
#[derive(Debug)]
pub struct Members {
    first: bool,
}

impl Members {
    /// The members after one already read (its value too): each must follow a `,`.
    pub fn after_one() -> Members {
        Members { first: false }
    }
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    /// The offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Skips whitespace; the next byte, if any.
    pub fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes `byte` (after whitespace).
    fn eat(&mut self, byte: u8) -> Result<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// Opens an object; read its members with [`Scanner::key`].
    pub fn object(&mut self) -> Result<Members> {
        self.eat(b'{')?;
        Ok(Members { first: true })
    }

    /// The next key of the object (its `:` consumed; the value must be read next), or `None`
    /// at its end (`}` consumed).
    pub fn key(&mut self, members: &mut Members) -> Result<Option<Cow<'a, str>>> {
        if !self.next_member(members, b'}')? {
            return Ok(None);
        }
        let key = self.string()?;
        self.eat(b':')?;
        Ok(Some(key))
    }

    /// Consumes the `:` after a key read with [`Scanner::string`] (for a reader that starts
    /// inside an object, at one of its keys).
    pub fn colon(&mut self) -> Result<()> {
        self.eat(b':')
    }

    /// Opens an array; read its elements with [`Scanner::element`].
    pub fn array(&mut self) -> Result<Members> {
        self.eat(b'[')?;
        Ok(Members { first: true })
    }

    /// Whether another element follows (it must be read next); `false` at the array's end
    /// (`]` consumed).
    pub fn element(&mut self, members: &mut Members) -> Result<bool> {
        self.next_member(members, b']')
    }

    /// Consumes the `,` before a member, or the closing bracket (`false`).
    fn next_member(&mut self, members: &mut Members, close: u8) -> Result<bool> {
        let next = self.peek();
        if next == Some(close) {
            self.pos += 1;
            return Ok(false);
        }
        if members.first {
            members.first = false;
            Ok(true)
        } else if next == Some(b',') {
            self.pos += 1;
            Ok(true)
        } else {
            Err(Invalid)
        }
    }

    /// Consumes a `null` if one is next.
    pub fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal(b"null").is_ok()
    }

    /// A string, borrowed when it has no escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.pos;
        let end = self.plain_run(start);
        match self.bytes.get(end) {
            Some(b'"') => {
                let text = self.cut(start, end)?;
                self.pos = end + 1;
                Ok(Cow::Borrowed(text))
            }
            Some(b'\\') => self.unescape(start, end).map(Cow::Owned),
            // A control character, or the end of the input.
            _ => Err(Invalid),
        }
    }

    /// The text from `start` to `end`, offsets of ASCII bytes (or the end), so on character
    /// boundaries.
    fn cut(&self, start: usize, end: usize) -> Result<&'a str> {
        self.text.get(start..end).ok_or(Invalid)
    }

    /// The end of the run of plain string bytes starting at `from`: the offset of the first
    /// `"`, `\\` or control character, or the end of the input.
    fn plain_run(&self, from: usize) -> usize {
        let mut i = from;
        while let Some(rest) = self.bytes.get(i..) {
            // Eight bytes at a time; past the end, `"` stops the run.
            let word = match rest.first_chunk::<8>() {
                Some(word) => *word,
                None => {
                    let mut word = [b'"'; 8];
                    for (slot, &b) in word.iter_mut().zip(rest) {
                        *slot = b;
                    }
                    word
                }
            };
            let stops = special_bytes(u64::from_le_bytes(word));
            if stops != 0 {
                let at = i + (stops.trailing_zeros() / 8) as usize;
                return at.min(self.bytes.len());
            }
            i += 8;
        }
        self.bytes.len()
    }

    /// The rest of a string with escapes: `start` is where its text starts, `at` the first
    /// backslash.
    fn unescape(&mut self, start: usize, mut at: usize) -> Result<String> {
        let mut text = String::with_capacity(at - start + 16);
        let mut run = start;
        loop {
            text.push_str(self.cut(run, at)?);
            match self.bytes.get(at) {
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(text);
                }
                Some(b'\\') => run = self.escape(at + 1, &mut text)?,
                _ => return Err(Invalid),
            }
            at = self.plain_run(run);
        }
    }

    /// Appends the character of the escape whose letter is at `at`; the offset after it.
    fn escape(&self, at: usize, text: &mut String) -> Result<usize> {
        let c = match self.bytes.get(at).ok_or(Invalid)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let (c, len) = self.unicode_escape(at + 1)?;
                text.push(c);
                return Ok(at + 1 + len);
            }
            _ => return Err(Invalid),
        };
        text.push(c);
        Ok(at + 1)
    }

    /// The character of the hex digits after a `\u` at `at` (a surrogate pair takes a second
    /// `\uXXXX`; a lone surrogate is refused, as serde does for strings it reads); the number
    /// of bytes read.
    fn unicode_escape(&self, at: usize) -> Result<(char, usize)> {
        let high = self.hex4(at)?;
        let (code, len) = match high {
            0xD800..=0xDBFF => {
                if self.bytes.get(at + 4) != Some(&b'\\') || self.bytes.get(at + 5) != Some(&b'u') {
                    return Err(Invalid);
                }
                let low = self.hex4(at + 6)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(Invalid);
                }
                (0x1_0000 + ((high - 0xD800) << 10) + (low - 0xDC00), 10)
            }
            0xDC00..=0xDFFF => return Err(Invalid),
            _ => (high, 4),
        };
        Ok((char::from_u32(code).ok_or(Invalid)?, len))
    }

    /// Four hex digits at `at`.
    fn hex4(&self, at: usize) -> Result<u32> {
        let digits = self.bytes.get(at..at + 4).ok_or(Invalid)?;
        digits.iter().try_fold(0, |n, &d| {
            let v = char::from(d).to_digit(16).ok_or(Invalid)?;
            Ok(n << 4 | v)
        })
    }

    /// A non-negative integer that fits a `u64`, written without fraction or exponent.
    pub fn unsigned(&mut self) -> Result<u64> {
        self.peek();
        let start = self.pos;
        let mut n: u64 = 0;
        let mut end = start;
        while let Some(&d @ b'0'..=b'9') = self.bytes.get(end) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
                .ok_or(Invalid)?;
            end += 1;
        }
        let leading_zero = end - start > 1 && self.bytes.get(start) == Some(&b'0');
        let float = matches!(self.bytes.get(end), Some(b'.' | b'e' | b'E'));
        if end == start || leading_zero || float {
            return Err(Invalid);
        }
        self.pos = end;
        Ok(n)
    }

    /// Skips one value of any kind, checking it.
    pub fn skip(&mut self) -> Result<()> {
        // One bit per open container, the innermost lowest: 1 for an object, 0 for an array.
        let mut open: u64 = 0;
        let mut depth: u32 = 0;
        loop {
            // A value starts here.
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                    } else {
                        if depth == MAX_DEPTH {
                            return Err(Invalid);
                        }
                        open = open << 1 | 1;
                        depth += 1;
                        self.member_key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                    } else {
                        if depth == MAX_DEPTH {
                            return Err(Invalid);
                        }
                        open <<= 1;
                        depth += 1;
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(Invalid),
            }
            // A value ended: close the containers it completes, then on to the next value.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let in_object = open & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if in_object {
                            self.member_key()?;
                        }
                        break;
                    }
                    Some(b'}') if in_object => self.pos += 1,
                    Some(b']') if !in_object => self.pos += 1,
                    _ => return Err(Invalid),
                }
                open >>= 1;
                depth -= 1;
            }
        }
    }

    /// A key and its `:`, checked and dropped.
    fn member_key(&mut self) -> Result<()> {
        self.string()?;
        self.eat(b':')
    }

    /// Consumes exactly `text` at the current offset (no whitespace skipped first): a
    /// literal (`true`, `false`, `null`), or JSON in a layout a caller knows.
    pub fn literal(&mut self, text: &[u8]) -> Result<()> {
        let end = self.pos + text.len();
        if self.bytes.get(self.pos..end) == Some(text) {
            self.pos = end;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// A number per the JSON grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<()> {
        let b = self.bytes;
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(b, i + 1),
            _ => return Err(Invalid),
        }
        if b.get(i) == Some(&b'.') {
            i = some_digits(b, i + 1)?;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            i = some_digits(b, i)?;
        }
        self.pos = i;
        Ok(())
    }

    /// Only whitespace is left.
    pub fn end(mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Invalid),
        }
    }
}

/// The high bit of each byte of `w` (little-endian) that is a `"`, a `\\` or below 0x20; the
/// lowest one set is the first such byte. (A byte below 0x20 sets its high bit in `w - 0x20`
/// where `w`'s is clear, a byte equal to `c` in `(w ^ c) - 1`; the borrows flag bytes above
/// a match only, never below it.)
fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGH
}

/// The offset after the digits starting at `i`.
fn digits(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b'0'..=b'9')) {
        i += 1;
    }
    i
}

/// The offset after the digits starting at `i`, of which there must be one at least.
fn some_digits(b: &[u8], i: usize) -> Result<usize> {
    let end = digits(b, i);
    if end == i { Err(Invalid) } else { Ok(end) }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
