//! Key paths into a configuration file (`providers[1].api_key`) and the map from a key path to
//! the line and column of the original text where that key (or its nearest existing ancestor)
//! is defined.

use std::fmt;

use toml_edit::{ImDocument, Item, Table, TableLike, Value};

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A table key.
    Key(String),
    /// An array index (0-based).
    Index(usize),
}

/// A path to a value in the configuration, e.g. `providers[1].api_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The empty path (the whole file).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Self(segments)
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &KeyPath) -> bool {
        self.0.starts_with(&other.0)
    }
}

impl From<Vec<Segment>> for KeyPath {
    fn from(segments: Vec<Segment>) -> Self {
        Self(segments)
    }
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(key) {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of a byte offset into `text`.
pub(crate) fn position_of_offset(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&c| c == b'\n').count() + 1;
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Maps key paths to lines of the original text (spans kept by `toml_edit`).
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

/// A position in the document tree: the three shapes `toml_edit` hands out.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn table_like(self) -> Option<&'a dyn TableLike> {
        match self {
            Node::Item(item) => item.as_table_like(),
            Node::Table(table) => Some(table),
            Node::Value(value) => value.as_inline_table().map(|t| t as &dyn TableLike),
        }
    }

    fn element(self, index: usize) -> Option<Node<'a>> {
        match self {
            Node::Item(Item::ArrayOfTables(array)) => array.get(index).map(Node::Table),
            Node::Item(Item::Value(Value::Array(array))) | Node::Value(Value::Array(array)) => {
                array.get(index).map(Node::Value)
            }
            _ => None,
        }
    }

    fn span_start(self) -> Option<usize> {
        match self {
            Node::Item(item) => item.span(),
            Node::Table(table) => table.span(),
            Node::Value(value) => value.span(),
        }
        .map(|r| r.start)
    }
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`; a text that does not parse yields no lines.
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// The line where the key at `path` is defined, or where its nearest existing ancestor is.
    #[cfg(test)]
    pub(crate) fn line(&self, path: &KeyPath) -> Option<usize> {
        self.position(path).map(|(line, _)| line)
    }

    /// The line and column where the key at `path` is defined, or where its nearest existing
    /// ancestor is.
    pub(crate) fn position(&self, path: &KeyPath) -> Option<(usize, usize)> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Item(doc.as_item());
        let mut best: Option<usize> = None;
        for segment in path.segments() {
            let (next, start) = match segment {
                Segment::Key(key) => {
                    let Some((k, item)) = node.table_like().and_then(|t| t.get_key_value(key))
                    else {
                        break;
                    };
                    let next = Node::Item(item);
                    (
                        next,
                        k.span().map(|r| r.start).or_else(|| next.span_start()),
                    )
                }
                Segment::Index(index) => {
                    let Some(next) = node.element(*index) else {
                        break;
                    };
                    (next, next.span_start())
                }
            };
            if start.is_some() {
                best = start;
            }
            node = next;
        }
        best.map(|offset| position_of_offset(self.text, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segments: &[&str]) -> KeyPath {
        let mut path = KeyPath::root();
        for s in segments {
            match s.parse::<usize>() {
                Ok(i) => path.push(Segment::Index(i)),
                Err(_) => path.push(Segment::Key((*s).to_string())),
            }
        }
        path
    }

    #[test]
    fn display() {
        assert_eq!(
            p(&["providers", "1", "api_key"]).to_string(),
            "providers[1].api_key"
        );
        assert_eq!(
            p(&["key_map", "team-a", "label"]).to_string(),
            "key_map.team-a.label"
        );
        assert_eq!(p(&["aliases", "a.b"]).to_string(), "aliases.\"a.b\"");
        assert_eq!(KeyPath::root().to_string(), "");
    }

    const TEXT: &str = r#"# comment
[server]
port = 1

[[providers]]
id = "a"

[[providers]]
id = "b"
retry_policy = { max_attempts = 0, retryable_statuses = [1, 2] }
endpoints = [
  "http://x",
  "http://y",
]

[resilience.timeout]
connect_ms = 5

[key_map.team-a]
label = "x"
cache.enabled = true
"#;

    #[test]
    fn lines_for_keys_tables_arrays_inline_and_dotted() {
        let index = LineIndex::new(TEXT);
        let line = |s: &[&str]| index.line(&p(s));
        assert_eq!(line(&["server"]), Some(2));
        assert_eq!(line(&["server", "port"]), Some(3));
        assert_eq!(
            line(&["server", "host"]),
            Some(2),
            "missing key: nearest ancestor"
        );
        assert_eq!(line(&["providers", "0"]), Some(5));
        assert_eq!(line(&["providers", "1"]), Some(8));
        assert_eq!(line(&["providers", "1", "id"]), Some(9));
        assert_eq!(line(&["providers", "1", "nope"]), Some(8));
        assert_eq!(
            line(&["providers", "1", "retry_policy", "max_attempts"]),
            Some(10)
        );
        assert_eq!(
            line(&["providers", "1", "retry_policy", "retryable_statuses", "1"]),
            Some(10)
        );
        assert_eq!(line(&["providers", "1", "endpoints", "1"]), Some(13));
        assert_eq!(line(&["resilience", "timeout", "connect_ms"]), Some(17));
        assert_eq!(line(&["resilience", "timeout"]), Some(16));
        assert_eq!(line(&["key_map", "team-a"]), Some(19));
        assert_eq!(line(&["key_map", "team-a", "cache", "enabled"]), Some(21));
        assert_eq!(line(&[]), None);
    }

    #[test]
    fn unparsable_text_has_no_lines() {
        assert_eq!(LineIndex::new("a = ").line(&p(&["a"])), None);
        assert_eq!(position_of_offset("a\nb\nc", 4), (3, 1));
        assert_eq!(position_of_offset("a", 99), (1, 2));
        assert_eq!(
            position_of_offset("ab\n  cé d", 9),
            (2, 6),
            "columns count characters"
        );
        assert_eq!(position_of_offset("é", 1), (1, 1), "inside a character");
        let _ = ImDocument::parse(TEXT).expect("parses");
    }
}
