//! Loading a configuration file: TOML syntax check, `${VAR}` interpolation, strict
//! deserialization with key paths (`serde_path_to_error`), semantic validation, and a line
//! number for every problem found.

use std::path::Path;

use toml::{Table, Value};

use super::interpolate::interpolate_table;
use super::model::Config;
use super::path::{KeyPath, LineIndex, Segment, line_of_offset};
use super::problem::{ConfigError, Problem};
use super::validate::check;

/// Loads and validates the file at `path`, interpolating `${VAR}` from the process environment.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    #[expect(
        clippy::disallowed_methods,
        reason = "config interpolation is where the environment is read"
    )]
    load_file_with_env(path, &|name| std::env::var(name).ok())
}

/// [`load_file`] with an injectable environment lookup.
pub fn load_file_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::whole_file(&source, format!("cannot read the configuration file: {e}"))
    })?;
    load_str_with_env(&text, &source, env)
}

/// Loads and validates configuration text; `source` names it in messages.
pub fn load_str(text: &str, source: &str) -> Result<Config, ConfigError> {
    #[expect(
        clippy::disallowed_methods,
        reason = "config interpolation is where the environment is read"
    )]
    load_str_with_env(text, source, &|name| std::env::var(name).ok())
}

/// [`load_str`] with an injectable environment lookup.
pub fn load_str_with_env(
    text: &str,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut table: Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            let line = e.span().map(|span| line_of_offset(text, span.start));
            let message = e.message().trim().replace('\n', "; ");
            return Err(ConfigError {
                source: source.to_string(),
                problems: vec![Problem::new("", line, message)],
            });
        }
    };
    let mut found = interpolate_table(&mut table, env);
    // Values with a broken `${...}` would only cause follow-up noise: skip problems below them.
    let tainted: Vec<KeyPath> = found.iter().map(|(path, _)| path.clone()).collect();
    let later = match deserialize(table) {
        Ok(config) => {
            let problems = check(&config);
            if found.is_empty() && problems.is_empty() {
                return Ok(config);
            }
            problems
        }
        Err(problems) => problems,
    };
    found.extend(
        later
            .into_iter()
            .filter(|(path, _)| !tainted.iter().any(|t| path.starts_with(t))),
    );
    Err(to_error(text, source, found))
}

/// Attaches lines, sorts the problems into file order and builds the error.
fn to_error(text: &str, source: &str, found: Vec<(KeyPath, String)>) -> ConfigError {
    let lines = LineIndex::new(text);
    let mut problems: Vec<Problem> = found
        .into_iter()
        .map(|(path, message)| Problem::new(path.to_string(), lines.line(&path), message))
        .collect();
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    ConfigError {
        source: source.to_string(),
        problems,
    }
}

fn deserialize_one(value: Value) -> Result<Config, (KeyPath, String)> {
    let (path, message) = match serde_path_to_error::deserialize(value.clone()) {
        Ok(config) => return Ok(config),
        Err(e) => convert(&e),
    };
    // A non-string where an enum is expected: name the allowed values, found by retrying
    // with a string no enum accepts.
    if message.ends_with("expected string only") {
        let mut probe = value;
        if let Some(slot) = value_at(&mut probe, &path) {
            *slot = Value::String("\u{1}".into());
            if let Err(e) = serde_path_to_error::deserialize::<_, Config>(probe) {
                let (probe_path, probe_message) = convert(&e);
                if let Some((_, list)) = probe_message.split_once(", expected ") {
                    if probe_path == path {
                        return Err((path, format!("invalid type: expected a string, {list}")));
                    }
                }
            }
        }
    }
    Err((path, message))
}

/// The value at `path` inside `value`, if there is one.
fn value_at<'v>(value: &'v mut Value, path: &KeyPath) -> Option<&'v mut Value> {
    let mut current = value;
    for segment in path.segments() {
        current = match (segment, current) {
            (Segment::Key(key), Value::Table(table)) => table.get_mut(key)?,
            (Segment::Index(index), Value::Array(items)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Deserializes the whole table; on failure, retries each top-level section (and each element
/// of a top-level array) alone so that errors in several sections are all reported.
fn deserialize(table: Table) -> Result<Config, Vec<(KeyPath, String)>> {
    let first = match deserialize_one(Value::Table(table.clone())) {
        Ok(config) => return Ok(config),
        Err(problem) => problem,
    };
    let mut problems = Vec::new();
    for (key, value) in table {
        let single = |v: Value| {
            let mut t = Table::new();
            t.insert(key.clone(), v);
            deserialize_one(Value::Table(t)).err()
        };
        match value {
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    if let Some((mut path, message)) = single(Value::Array(vec![item])) {
                        if let Some(Segment::Index(index)) = path.segments_mut().get_mut(1) {
                            *index = i;
                        }
                        problems.push((path, message));
                    }
                }
            }
            other => problems.extend(single(other)),
        }
    }
    if problems.is_empty() {
        problems.push(first);
    }
    Err(problems)
}

/// The names between backticks in a serde message (`a`, `b` → ["a", "b"]).
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// "unknown key `x`, expected one of `a`, `b`" from serde's list of expected names.
fn expected_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => "this table takes no keys".to_string(),
        [one] => format!("expected {one}"),
        _ => format!("expected one of {}", quoted.join(", ")),
    }
}

/// A deserialization error as (key path, readable message).
fn convert(e: &serde_path_to_error::Error<toml::de::Error>) -> (KeyPath, String) {
    let mut path = KeyPath::root();
    for segment in e.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => path.push(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => path.push(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => {
                path.push(Segment::Key(variant.clone()))
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    let raw = e.inner().message().trim().to_string();
    let with_key = |mut path: KeyPath, key: &str| {
        if path.segments().last() != Some(&Segment::Key(key.to_string())) {
            path.push(Segment::Key(key.to_string()));
        }
        path
    };
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let names = backticked(rest);
        if let Some((field, expected)) = names.split_first() {
            let message = format!("unknown key `{field}`, {}", expected_list(expected));
            return (with_key(path, field), message);
        }
    }
    if let Some(rest) = raw.strip_prefix("unknown variant ") {
        let names = backticked(rest);
        if let Some((value, expected)) = names.split_first() {
            return (
                path,
                format!("invalid value `{value}`, {}", expected_list(expected)),
            );
        }
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        if let Some(field) = backticked(rest).first() {
            return (
                with_key(path, field),
                format!("missing required key `{field}`"),
            );
        }
    }
    (path, raw.replace('\n', "; "))
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
