//! Test support: JSON documents written many ways from one description (random whitespace,
//! key order and string escapes), random strings, and byte mutations. The stream decoders'
//! fast-path property tests (`*/tests/stream_fast.rs`) and the scanner's tests build their events with it.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// A JSON value to write.
#[derive(Debug, Clone)]
pub enum J {
    Str(String),
    /// Written as is: a number, `true`, `false`, `null`.
    Raw(&'static str),
    /// Written as is: any text.
    Verbatim(String),
    Arr(Vec<J>),
    /// Members in the order given (shuffled when written, if asked).
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn obj(members: Vec<(&str, J)>) -> J {
        J::Obj(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }

    pub fn str(s: &str) -> J {
        J::Str(s.to_owned())
    }
}

/// Numbers in all the forms the JSON grammar allows, and the other literals.
pub const SCALARS: &[&str] = &[
    "0",
    "-0",
    "1",
    "1732000000",
    "-12",
    "0.5",
    "-0.0e0",
    "1e400",
    "1E+2",
    "2.5e-3",
    "18446744073709551616",
    "true",
    "false",
    "null",
];

/// A random source for the tests, from a proptest-chosen seed.
pub struct Gen {
    pub rng: StdRng,
    /// Sometimes write a lone surrogate escape into a string (which serde skips but does not
    /// read).
    pub lone_surrogates: bool,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            lone_surrogates: false,
        }
    }

    /// `true` once in `n` times.
    pub fn one_in(&mut self, n: u32) -> bool {
        self.rng.gen_range(0..n) == 0
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())].clone()
    }

    /// A short string: ASCII, characters JSON must escape, accented and astral characters.
    pub fn text(&mut self) -> String {
        const CHARS: &[char] = &[
            'a', 'b', 'Z', ' ', '0', '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{8}', '\u{c}',
            '\u{1f}', '\u{7f}', 'é', 'ß', '€', '\u{2028}', '\u{fffd}', '\u{ffff}', '😀', '𝄞',
        ];
        let len = self.rng.gen_range(0..10);
        (0..len)
            .map(|_| {
                if self.one_in(8) {
                    self.rng.r#gen::<char>()
                } else {
                    self.pick(CHARS)
                }
            })
            .collect()
    }

    /// Any small value, nested up to `depth`.
    pub fn value(&mut self, depth: u32) -> J {
        match self.rng.gen_range(0..if depth == 0 { 2 } else { 4 }) {
            0 => J::Raw(self.pick(SCALARS)),
            1 => J::Str(self.text()),
            2 => J::Arr(
                (0..self.rng.gen_range(0..3))
                    .map(|_| self.value(depth - 1))
                    .collect(),
            ),
            _ => J::Obj(
                (0..self.rng.gen_range(0..3))
                    .map(|_| (self.text(), self.value(depth - 1)))
                    .collect(),
            ),
        }
    }

    /// A generator that also writes lone surrogates in escapes (for the decoders).
    pub fn hostile(seed: u64) -> Self {
        let mut g = Gen::new(seed);
        g.lone_surrogates = true;
        g
    }

    /// One to seven items made by `make`.
    pub fn some<T>(&mut self, mut make: impl FnMut(&mut Gen) -> T) -> Vec<T> {
        let count = self.rng.gen_range(1..8);
        (0..count).map(|_| make(self)).collect()
    }

    /// `members` plus the odd extra key, as an object.
    pub fn object(&mut self, mut members: Vec<(String, J)>) -> J {
        self.extras(&mut members);
        J::Obj(members)
    }

    /// One time in twenty, any value at all (a decoder must not trip on it).
    pub fn odd_value(&mut self) -> Option<J> {
        if self.one_in(20) {
            Some(self.value(3))
        } else {
            None
        }
    }

    /// Adds unknown keys to an object's members, and sometimes repeats a key.
    pub fn extras(&mut self, members: &mut Vec<(String, J)>) {
        for _ in 0..self.rng.gen_range(0..3) {
            let key = self.text();
            members.push((key, self.value(2)));
        }
        if !members.is_empty() && self.one_in(15) {
            let repeated = self.pick(members);
            members.push(repeated);
        }
    }

    /// `value` written with random whitespace, key order (when `shuffle`) and escapes.
    pub fn write(&mut self, value: &J, shuffle: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_value(&mut out, value, shuffle);
        self.space(&mut out);
        out
    }

    fn write_value(&mut self, out: &mut Vec<u8>, value: &J, shuffle: bool) {
        self.space(out);
        match value {
            J::Str(s) => self.string(out, s),
            J::Raw(r) => out.extend_from_slice(r.as_bytes()),
            J::Verbatim(v) => out.extend_from_slice(v.as_bytes()),
            J::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.space(out);
                        out.push(b',');
                    }
                    self.write_value(out, item, shuffle);
                }
                self.space(out);
                out.push(b']');
            }
            J::Obj(members) => {
                let mut members: Vec<&(String, J)> = members.iter().collect();
                if shuffle {
                    members.shuffle(&mut self.rng);
                }
                out.push(b'{');
                for (i, (key, item)) in members.into_iter().enumerate() {
                    if i > 0 {
                        self.space(out);
                        out.push(b',');
                    }
                    self.space(out);
                    self.string(out, key);
                    self.space(out);
                    out.push(b':');
                    self.write_value(out, item, shuffle);
                }
                self.space(out);
                out.push(b'}');
            }
        }
    }

    /// Usually nothing, sometimes JSON whitespace.
    fn space(&mut self, out: &mut Vec<u8>) {
        if self.one_in(6) {
            for _ in 0..self.rng.gen_range(1..3) {
                out.push(self.pick(b" \n\r\t"));
            }
        }
    }

    /// A JSON string, each character written as is, with its short escape or as `\uXXXX`
    /// (a surrogate pair beyond the BMP, hex digits in either case).
    fn string(&mut self, out: &mut Vec<u8>, s: &str) {
        // 0: many `\u` escapes; 1: `/` escaped too; otherwise escapes only where needed.
        let style = self.rng.gen_range(0..4);
        out.push(b'"');
        if self.lone_surrogates && self.one_in(40) {
            let unit = self.pick(&["\\ud83d", "\\uDE00", "\\udbff\\u0041"]);
            out.extend_from_slice(unit.as_bytes());
        }
        for c in s.chars() {
            let must = c == '"' || c == '\\' || c < ' ';
            if (style == 0 && self.one_in(2)) || (must && self.one_in(3)) {
                let upper = self.one_in(2);
                let mut units = [0; 2];
                for unit in c.encode_utf16(&mut units) {
                    let hex = if upper {
                        format!("\\u{unit:04X}")
                    } else {
                        format!("\\u{unit:04x}")
                    };
                    out.extend_from_slice(hex.as_bytes());
                }
            } else if must {
                let escaped = serde_json::to_string(&c.to_string()).unwrap_or_default();
                out.extend_from_slice(&escaped.as_bytes()[1..escaped.len() - 1]);
            } else if style == 1 && c == '/' {
                out.extend_from_slice(b"\\/");
            } else {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
        out.push(b'"');
    }

    /// Sometimes (one in `n`) damages `bytes`: cuts, drops, inserts, replaces or repeats bytes.
    pub fn mutate(&mut self, bytes: &mut Vec<u8>, n: u32) {
        const BYTES: &[u8] = b"{}[],:\"\\ \n0-.eE+un/\x00\x1f\x7f\x80\xbf\xc3\xe2\xed\xf0\xff";
        if bytes.is_empty() || !self.one_in(n) {
            return;
        }
        let at = self.rng.gen_range(0..bytes.len());
        match self.rng.gen_range(0..5) {
            0 => bytes.truncate(at),
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, self.pick(BYTES)),
            3 => bytes[at] = self.pick(BYTES),
            _ => {
                let end = self.rng.gen_range(at..=bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(end..end, copy);
            }
        }
    }
}
