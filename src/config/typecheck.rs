//! The type check: walks a parsed file against the expected [`Shape`] and reports every
//! unknown key, wrong type, value out of range, unknown choice and missing key, each with its
//! key path, in the user's words and with a "did you mean" where one is close.
//!
//! Each wrong value is then removed (its default applies) or, when the key is required,
//! replaced by a stand-in of the right type, so serde can still read the file and the semantic
//! checks and warnings can run on the rest of it. The paths whose values were changed are
//! returned as tainted: problems found later below them are follow-ups, not news.
//!
//! Entry point: [`check`].

use toml::{Table, Value};

use super::path::KeyPath;
use super::shape::{Others, Shape, Shapes, TableShape};
use super::suggest::closest;

/// What the type check found.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub problems: Vec<(KeyPath, String)>,
    /// Paths whose values were removed or stood in for.
    pub tainted: Vec<KeyPath>,
}

/// Checks `table` (the whole file) against `shapes` and repairs it in place.
pub(crate) fn check(table: &mut Table, shapes: &Shapes) -> Checked {
    let mut walk = Walk {
        shapes,
        found: Checked::default(),
    };
    if let Shape::Table(shape) = shapes.resolve(&shapes.root) {
        walk.table(table, shape, &KeyPath::root());
    }
    walk.found
}

struct Walk<'s> {
    shapes: &'s Shapes,
    found: Checked,
}

impl Walk<'_> {
    fn report(&mut self, path: KeyPath, message: String) {
        self.found.problems.push((path, message));
    }

    /// Checks one value; `Err` says why the value itself does not fit (the caller removes
    /// or replaces it). Problems inside lists and tables are reported and repaired here.
    fn value(&mut self, value: &mut Value, shape: &Shape, path: &KeyPath) -> Result<(), String> {
        let shape = self.shapes.resolve(shape);
        match (shape, &mut *value) {
            (Shape::Any | Shape::Named(_) | Shape::Null, _)
            | (Shape::Text, Value::String(_))
            | (Shape::Bool, Value::Boolean(_))
            | (Shape::Number, Value::Integer(_) | Value::Float(_)) => Ok(()),
            (Shape::Whole { min, max }, Value::Integer(n)) => {
                let n = i128::from(*n);
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    Err(out_of_range(n, *min, *max))
                } else {
                    Ok(())
                }
            }
            (Shape::Choice(choices), Value::String(s)) => {
                if choices.iter().any(|c| c == s) {
                    Ok(())
                } else {
                    Err(unknown_choice(s, choices))
                }
            }
            (Shape::List(item), Value::Array(items)) => {
                self.list(items, item, path);
                Ok(())
            }
            (Shape::Table(table_shape), Value::Table(table)) => {
                self.table(table, table_shape, path);
                Ok(())
            }
            (Shape::Either(alternatives), _) => self.either(value, alternatives, path),
            (expected, found) => Err(self.mismatch(expected, found, path)),
        }
    }

    fn list(&mut self, items: &mut [Value], item: &Shape, path: &KeyPath) {
        for (i, element) in items.iter_mut().enumerate() {
            let at = path.index(i);
            if let Err(message) = self.value(element, item, &at) {
                self.report(at.clone(), message);
                if let Some(stand_in) = self.shapes.placeholder(item, 0) {
                    *element = stand_in;
                }
                self.found.tainted.push(at);
            }
        }
    }

    fn table(&mut self, table: &mut Table, shape: &TableShape, path: &KeyPath) {
        let keys: Vec<String> = table.keys().cloned().collect();
        // Required keys a misspelled key was taken for: not reported missing as well.
        let mut suggested: Vec<String> = Vec::new();
        for key in keys {
            let at = path.key(key.as_str());
            let (known, required) = match shape.keys.get(&key) {
                Some(known) => (known, shape.required.contains(&key)),
                None => match &shape.others {
                    Others::Allowed => continue,
                    Others::Values(values) => (values.as_ref(), false),
                    Others::Denied => {
                        let (message, suggestion) = self.unknown_key(&key, shape, path);
                        suggested.extend(suggestion);
                        self.report(at, message);
                        table.remove(&key);
                        continue;
                    }
                },
            };
            let Some(value) = table.get_mut(&key) else {
                continue;
            };
            if let Err(message) = self.value(value, known, &at) {
                self.report(at.clone(), message);
                match self.shapes.placeholder(known, 0).filter(|_| required) {
                    Some(stand_in) => {
                        *value = stand_in;
                        self.found.tainted.push(path.clone());
                    }
                    None => {
                        table.remove(&key);
                        self.found.tainted.push(at);
                    }
                }
            }
        }
        for key in &shape.required {
            if table.contains_key(key) {
                continue;
            }
            if !suggested.contains(key) {
                self.report(
                    path.key(key.as_str()),
                    format!("missing required key `{key}`"),
                );
            }
            if let Some(stand_in) = shape
                .keys
                .get(key)
                .and_then(|k| self.shapes.placeholder(k, 0))
            {
                table.insert(key.clone(), stand_in);
            }
            self.found.tainted.push(path.clone());
        }
    }

    /// A value that may take one of several shapes: the first that fits wins; when none does,
    /// the one of the value's kind (table, list, ...) says what is wrong inside it.
    fn either(
        &mut self,
        value: &mut Value,
        alternatives: &[Shape],
        path: &KeyPath,
    ) -> Result<(), String> {
        for alternative in alternatives {
            let mut trial = Walk {
                shapes: self.shapes,
                found: Checked::default(),
            };
            let mut copy = value.clone();
            if trial.value(&mut copy, alternative, path).is_ok() && trial.found.problems.is_empty()
            {
                return Ok(());
            }
        }
        let same_kind: Vec<&Shape> = alternatives
            .iter()
            .filter(|a| kind(self.shapes.resolve(a)) == Some(value.type_str()))
            .collect();
        match same_kind.as_slice() {
            [only] => self.value(value, only, path),
            _ => Err(self.mismatch(&Shape::Either(alternatives.to_vec()), value, path)),
        }
    }

    /// The message for an unknown key, and the known key it suggests instead.
    fn unknown_key(
        &self,
        key: &str,
        shape: &TableShape,
        path: &KeyPath,
    ) -> (String, Option<String>) {
        let names: Vec<&str> = shape.keys.keys().map(String::as_str).collect();
        if let Some(name) = closest(key, &names) {
            let message = format!("unknown key `{key}`; did you mean `{name}`?");
            return (message, Some(name.to_string()));
        }
        let message = if let Some(home) = self.home_of(key, shape, path) {
            format!("unknown key `{key}` here; it belongs under {home}")
        } else if names.is_empty() {
            format!("unknown key `{key}`; this table takes no keys")
        } else {
            format!(
                "unknown key `{key}`; the keys here are: {}",
                names.join(", ")
            )
        };
        (message, None)
    }

    /// The section one level down that has `key`, written as its TOML header (`[server]`).
    fn home_of(&self, key: &str, shape: &TableShape, path: &KeyPath) -> Option<String> {
        shape.keys.iter().find_map(|(name, child)| {
            let (inner, list) = match self.shapes.resolve(child) {
                Shape::Table(t) => (t, false),
                Shape::List(item) => match self.shapes.resolve(item) {
                    Shape::Table(t) => (t, true),
                    _ => return None,
                },
                _ => return None,
            };
            inner.keys.contains_key(key).then(|| {
                let header = path.key(name.as_str()).to_string();
                if list {
                    format!("[[{header}]]")
                } else {
                    format!("[{header}]")
                }
            })
        })
    }

    fn mismatch(&self, expected: &Shape, found: &Value, path: &KeyPath) -> String {
        let mut message = format!(
            "expected {}, found {}",
            self.shapes.noun(expected),
            found_noun(found)
        );
        if let Some(hint) = self.hint(expected, found, path) {
            message.push_str("; ");
            message.push_str(&hint);
        }
        message
    }

    /// How to fix a common mix-up of types.
    fn hint(&self, expected: &Shape, found: &Value, path: &KeyPath) -> Option<String> {
        let expected = self.shapes.resolve(expected);
        let unquoted = match (expected, found) {
            (Shape::Whole { .. }, Value::String(s)) => s.trim().parse::<i64>().is_ok(),
            (Shape::Number, Value::String(s)) => s.trim().parse::<f64>().is_ok(),
            (Shape::Bool, Value::String(s)) => matches!(s.trim(), "true" | "false"),
            _ => false,
        };
        if unquoted {
            return Some("write it without quotes".into());
        }
        match (expected, found) {
            (Shape::Text, Value::Integer(_) | Value::Float(_) | Value::Boolean(_)) => {
                Some("put it in quotes".into())
            }
            (Shape::List(item), Value::Table(_))
                if matches!(self.shapes.resolve(item), Shape::Table(_))
                    && path
                        .segments()
                        .iter()
                        .all(|s| matches!(s, super::Segment::Key(_))) =>
            {
                Some(format!("write each entry as [[{path}]] (double brackets)"))
            }
            (Shape::List(item), Value::String(_) | Value::Integer(_) | Value::Float(_)) => {
                let example = match self.shapes.resolve(item) {
                    Shape::Text | Shape::Choice(_) => "[\"a\", \"b\"]",
                    Shape::Whole { .. } => "[1, 2]",
                    Shape::Number => "[0.5, 1]",
                    Shape::Table(_) => "[{ ... }, { ... }]",
                    _ => "[ ... ]",
                };
                Some(format!("write a list in brackets, e.g. {example}"))
            }
            (Shape::Table(_), Value::Array(_))
                if path
                    .segments()
                    .iter()
                    .all(|s| matches!(s, super::Segment::Key(_))) =>
            {
                Some(format!("write [{path}] (single brackets), once"))
            }
            _ => None,
        }
    }
}

/// The TOML kind a shape accepts, named as `Value::type_str` names it.
fn kind(shape: &Shape) -> Option<&'static str> {
    match shape {
        Shape::Text | Shape::Choice(_) => Some("string"),
        Shape::Whole { .. } => Some("integer"),
        Shape::Number => Some("float"),
        Shape::Bool => Some("boolean"),
        Shape::List(_) => Some("array"),
        Shape::Table(_) => Some("table"),
        Shape::Any | Shape::Either(_) | Shape::Named(_) | Shape::Null => None,
    }
}

/// What was found, in words; values are not echoed (they may be secrets).
fn found_noun(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a decimal number",
        Value::Boolean(_) => "a true/false value",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

fn out_of_range(n: i128, min: Option<i128>, max: Option<i128>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("must be a whole number from {min} to {max}, not {n}"),
        (Some(min), None) => format!("must be {min} or more, not {n}"),
        (None, Some(max)) => format!("must be at most {max}, not {n}"),
        (None, None) => format!("{n} is out of range"),
    }
}

fn unknown_choice(value: &str, choices: &[String]) -> String {
    let names: Vec<&str> = choices.iter().map(String::as_str).collect();
    let mut message = format!("`{value}` is not one of: {}", names.join(", "));
    if let Some(name) = closest(value, &names) {
        message.push_str(&format!("; did you mean `{name}`?"));
    }
    message
}

#[cfg(test)]
#[path = "typecheck_tests.rs"]
mod tests;
