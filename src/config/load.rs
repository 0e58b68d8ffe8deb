//! Loading a configuration file, every problem found in one pass: TOML syntax, `${VAR}`
//! interpolation, the type check against the shape of [`Config`] (unknown keys, wrong types,
//! values out of range, with "did you mean"), deserialization, semantic validation, then the
//! warnings; each problem with its key path, line and column, in file order.
//!
//! Entry points: [`load_file_checked`] / [`load_str_checked`] (the configuration and its
//! warnings, or every problem) and [`load_file`] / [`load_str`] (the configuration only).

use std::path::Path;

use toml::{Table, Value};

use super::interpolate::{bare_references, interpolate_table};
use super::model::Config;
use super::path::{KeyPath, LineIndex, Segment, position_of_offset};
use super::problem::{ConfigError, Problem};
use super::shape::Shapes;
use super::typecheck;
use super::validate::{check, inactive, warnings};

/// A configuration that loaded, and what it may not do as its author meant.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// In file order.
    pub warnings: Vec<Problem>,
}

/// Loads and validates the file at `path`, interpolating `${VAR}` from the process environment.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    load_file_checked(path).map(|loaded| loaded.config)
}

/// [`load_file`] with its warnings.
pub fn load_file_checked(path: &Path) -> Result<Loaded, ConfigError> {
    #[expect(
        clippy::disallowed_methods,
        reason = "config interpolation is where the environment is read"
    )]
    load_file_checked_with_env(path, &|name| std::env::var(name).ok())
}

/// [`load_file`] with an injectable environment lookup.
pub fn load_file_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    load_file_checked_with_env(path, env).map(|loaded| loaded.config)
}

fn load_file_checked_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::whole_file(&source, format!("cannot read the configuration file: {e}"))
    })?;
    load_str_checked(&text, &source, env)
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
    load_str_checked(text, source, env).map(|loaded| loaded.config)
}

/// Loads configuration text with its warnings, or reports every problem (errors and
/// warnings) found in it; `source` names it in messages.
pub fn load_str_checked(
    text: &str,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let mut table: Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            let position = e.span().map(|span| position_of_offset(text, span.start));
            let message = e.message().trim().replace('\n', "; ");
            return Err(ConfigError {
                source: source.to_string(),
                problems: vec![Problem::new("", None, message).at(position)],
            });
        }
    };
    let mut warned = bare_references(&table);
    let written = table.clone();
    let mut errors = interpolate_table(&mut table, env);
    // Values with a broken `${...}` or a wrong type were replaced: what is found below them
    // later is a follow-up, not news.
    let mut tainted: Vec<KeyPath> = errors.iter().map(|(path, _)| path.clone()).collect();
    let typed = typecheck::check(&mut table, &Shapes::of_config());
    errors.extend(
        fresh(typed.problems, &tainted)
            .into_iter()
            .map(|(path, message)| from_variable(&written, path, message)),
    );
    tainted.extend(typed.tainted);
    warned.extend(inactive(&table));
    match serde_path_to_error::deserialize::<_, Config>(Value::Table(table)) {
        Ok(config) => {
            errors.extend(fresh(check(&config), &tainted));
            warned.extend(fresh(warnings(&config), &tainted));
            if errors.is_empty() {
                let lines = LineIndex::new(text);
                let mut warnings = positioned(&lines, warned, Problem::warning);
                sort(&mut warnings);
                return Ok(Loaded { config, warnings });
            }
        }
        Err(e) => {
            let unforeseen = convert(&e);
            if errors.is_empty() || !tainted.iter().any(|t| unforeseen.0.starts_with(t)) {
                errors.push(unforeseen);
            }
        }
    }
    let lines = LineIndex::new(text);
    let mut problems = positioned(&lines, errors, |path, message| {
        Problem::new(path, None, message)
    });
    problems.extend(positioned(&lines, warned, Problem::warning));
    sort(&mut problems);
    Err(ConfigError {
        source: source.to_string(),
        problems,
    })
}

/// A number or true/false written as `"${VAR}"`: the variable fills in text, so the hint to
/// drop the quotes cannot be followed.
fn from_variable(written: &Table, path: KeyPath, message: String) -> (KeyPath, String) {
    let Some(stem) = message.strip_suffix("; write it without quotes") else {
        return (path, message);
    };
    let mut value = Some(Value::Table(written.clone()));
    for segment in path.segments() {
        value = match (segment, value) {
            (Segment::Key(key), Some(Value::Table(mut t))) => t.remove(key),
            (Segment::Index(i), Some(Value::Array(mut items))) if *i < items.len() => {
                Some(items.swap_remove(*i))
            }
            _ => None,
        };
    }
    match value {
        Some(Value::String(s)) if s.contains("${") => {
            let message = format!(
                "{stem} (from `${{...}}`, which fills in text only); write the value itself"
            );
            (path, message)
        }
        _ => (path, message),
    }
}

/// The problems not below a tainted path.
fn fresh(found: Vec<(KeyPath, String)>, tainted: &[KeyPath]) -> Vec<(KeyPath, String)> {
    found
        .into_iter()
        .filter(|(path, _)| !tainted.iter().any(|t| path.starts_with(t)))
        .collect()
}

fn positioned(
    lines: &LineIndex<'_>,
    found: Vec<(KeyPath, String)>,
    make: fn(String, String) -> Problem,
) -> Vec<Problem> {
    found
        .into_iter()
        .map(|(path, message)| make(path.to_string(), message).at(lines.position(&path)))
        .collect()
}

/// File order; problems without a line last. Stable: one line keeps the order found.
fn sort(problems: &mut [Problem]) {
    problems.sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.column.unwrap_or(0)));
}

/// A deserialization error the type check did not foresee (the shape read from the schema
/// and the structs disagree): its key path and serde's message in plain words.
fn convert(e: &serde_path_to_error::Error<toml::de::Error>) -> (KeyPath, String) {
    let mut path = KeyPath::root();
    for segment in e.path().iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => path.push(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key }
            | serde_path_to_error::Segment::Enum { variant: key } => {
                path.push(Segment::Key(key.clone()))
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    (path, plain(e.inner().message().trim()))
}

/// Serde's words for types (`u32`, `a sequence`, `struct ProviderConfig`) in a user's.
fn plain(message: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut words = message.split_whitespace();
    while let Some(word) = words.next() {
        let core = word.trim_end_matches([',', ';', ':', '.']);
        let tail = &word[core.len()..];
        let replaced = match core {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
            | "i128" | "isize" => "a whole number".to_string(),
            "f32" | "f64" => "a number".to_string(),
            "sequence" => "list".to_string(),
            "map" => "table".to_string(),
            "boolean" => "true/false value".to_string(),
            "struct" | "enum" => {
                let name = words.next().unwrap_or_default();
                let name_tail = name.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
                let noun = if core == "struct" {
                    "a table"
                } else {
                    "a choice"
                };
                out.push(format!("{noun}{name_tail}"));
                continue;
            }
            _ => core.to_string(),
        };
        out.push(format!("{replaced}{tail}"));
    }
    out.join(" ").replace("a a ", "a ").replace("an a ", "a ")
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
