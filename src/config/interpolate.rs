//! `${VAR}` interpolation in every string value of a parsed TOML table (keys are untouched).
//! `$${` is a literal `${`. Every missing variable is reported with its key path.
//!
//! TOML dates and times become strings here too (no configuration field is a datetime), so
//! an unquoted `sunset_date = 2026-06-01` reads like the quoted one.
//!
//! [`bare_references`] finds `$VAR` written without braces (kept as written, not replaced): a
//! warning, read from the file before interpolation.

use toml::{Table, Value};

use super::path::{KeyPath, Segment};

/// The environment lookup: variable name → value.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Replaces `${VAR}` in all string values of `table`; returns one `(path, message)` per
/// missing variable or malformed reference.
pub(crate) fn interpolate_table(table: &mut Table, env: Env<'_>) -> Vec<(KeyPath, String)> {
    let mut problems = Vec::new();
    walk_table(table, &KeyPath::root(), env, &mut problems);
    problems
}

fn walk_table(table: &mut Table, path: &KeyPath, env: Env<'_>, out: &mut Vec<(KeyPath, String)>) {
    for (key, value) in table.iter_mut() {
        walk_value(value, &path.key(key.as_str()), env, out);
    }
}

fn walk_value(value: &mut Value, path: &KeyPath, env: Env<'_>, out: &mut Vec<(KeyPath, String)>) {
    match value {
        Value::String(s) => {
            if s.contains('$') {
                let (replaced, errors) = interpolate_str(s, env);
                *s = replaced;
                out.extend(errors.into_iter().map(|message| (path.clone(), message)));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_value(item, &path.index(i), env, out);
            }
        }
        Value::Table(table) => walk_table(table, path, env, out),
        Value::Datetime(datetime) => *value = Value::String(datetime.to_string()),
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) => {}
    }
}

/// One warning per string value of `table` that holds `$NAME` without braces. Names are not
/// echoed in values that may hold secrets (keys, tokens, URLs).
pub(crate) fn bare_references(table: &Table) -> Vec<(KeyPath, String)> {
    let mut out = Vec::new();
    find_bare(&Value::Table(table.clone()), &KeyPath::root(), &mut out);
    out
}

fn find_bare(value: &Value, path: &KeyPath, out: &mut Vec<(KeyPath, String)>) {
    match value {
        Value::String(s) => {
            let names = bare_names(s);
            if names.is_empty() {
                return;
            }
            let message = if may_be_secret(path) {
                "`$` before a name is kept as written: only `${NAME}` is replaced from the \
                 environment"
                    .to_string()
            } else {
                let written: Vec<String> = names.iter().map(|n| format!("`${n}`")).collect();
                let braced: Vec<String> = names.iter().map(|n| format!("`${{{n}}}`")).collect();
                format!(
                    "{} kept as written: only {} would be replaced from the environment",
                    written.join(", ") + if names.len() == 1 { " is" } else { " are" },
                    braced.join(", ")
                )
            };
            out.push((path.clone(), message));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_bare(item, &path.index(i), out);
            }
        }
        Value::Table(table) => {
            for (key, item) in table {
                find_bare(item, &path.key(key.as_str()), out);
            }
        }
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime(_) => {}
    }
}

/// The names written as `$NAME` (not `${NAME}`, not `$${`) in `s`.
fn bare_names(s: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos + 1..];
        // `${NAME}` is interpolation's; `$${` is its escape for a literal `${`.
        if after.starts_with('{') {
            rest = after;
            continue;
        }
        if let Some(skip) = after.strip_prefix("${") {
            rest = skip;
            continue;
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        if is_var_name(name) {
            names.push(name);
        }
        rest = &after[len..];
    }
    names
}

/// Whether the value at `path` may be a secret, whose content is never echoed.
fn may_be_secret(path: &KeyPath) -> bool {
    path.segments().iter().any(|segment| match segment {
        Segment::Key(key) => {
            key.ends_with("key") || key.ends_with("keys") || key.contains("token") || key == "url"
        }
        Segment::Index(_) => false,
    })
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Interpolates one string. Missing variables are replaced by nothing and reported.
pub(crate) fn interpolate_str(s: &str, env: Env<'_>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(s.len());
    let mut errors = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                errors.push("unterminated `${` (write `$${` for a literal `${`)".to_string());
                out.push_str(tail);
                rest = "";
                break;
            };
            let name = &after[..end];
            if !is_var_name(name) {
                errors.push(format!(
                    "`${{{name}}}` is not a valid variable reference (write `$${{` for a literal `${{`)"
                ));
            } else if let Some(value) = env(name) {
                out.push_str(&value);
            } else {
                errors.push(format!("environment variable `{name}` is not set"));
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    (out, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("sk-123".into()),
            "HOST" => Some("example.com".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(s: &str) -> (String, Vec<String>) {
        interpolate_str(s, &env)
    }

    #[test]
    fn replaces_variables() {
        assert_eq!(run("${KEY}"), ("sk-123".into(), vec![]));
        assert_eq!(
            run("https://${HOST}/v1?k=${KEY}"),
            ("https://example.com/v1?k=sk-123".into(), vec![])
        );
        assert_eq!(run("a${EMPTY}b"), ("ab".into(), vec![]));
        assert_eq!(
            run("no vars $ here $5"),
            ("no vars $ here $5".into(), vec![])
        );
    }

    #[test]
    fn double_dollar_is_literal() {
        assert_eq!(run("$${X}"), ("${X}".into(), vec![]));
        assert_eq!(run("$${KEY} ${KEY}"), ("${KEY} sk-123".into(), vec![]));
        assert_eq!(run("$$x"), ("$$x".into(), vec![]));
    }

    #[test]
    fn reports_every_missing_variable() {
        let (out, errors) = run("${NOPE}-${KEY}-${ALSO_NOPE}");
        assert_eq!(out, "-sk-123-");
        assert_eq!(errors.len(), 2);
        assert!(errors[0].contains("`NOPE`"), "{errors:?}");
        assert!(errors[1].contains("`ALSO_NOPE`"), "{errors:?}");
    }

    #[test]
    fn malformed_references() {
        assert_eq!(run("${KEY").1.len(), 1);
        assert_eq!(run("${}").1.len(), 1);
        assert_eq!(run("${a b}").1.len(), 1);
    }

    #[test]
    fn bare_dollar_names() {
        assert_eq!(bare_names("$HOME/x"), ["HOME"]);
        assert_eq!(bare_names("a $B and $c_1."), ["B", "c_1"]);
        assert!(bare_names("${A} $${B} $ $5 $").is_empty());
        assert_eq!(
            bare_names("$$X"),
            ["X"],
            "`$$` is no escape: `$X` stays as written"
        );
    }

    #[test]
    fn bare_references_name_the_variable_unless_secret() {
        let table: Table = toml::from_str(
            "host = \"$HOST\"\nok = \"${HOST}\"\n[[providers]]\napi_key = \"$OPENAI_KEY\"\nendpoints = [\"http://x\", \"http://$H:$P\"]\n",
        )
        .unwrap_or_default();
        let found = bare_references(&table);
        let paths: Vec<String> = found.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            paths,
            ["host", "providers[0].api_key", "providers[0].endpoints[1]"]
        );
        assert!(
            found[0]
                .1
                .starts_with("`$HOST` is kept as written: only `${HOST}`"),
            "{found:?}"
        );
        assert!(!found[1].1.contains("OPENAI"), "{found:?}");
        assert!(found[2].1.contains("`$H`, `$P` are kept"), "{found:?}");
    }

    #[test]
    fn walks_tables_and_arrays_with_paths() {
        let mut table: Table = toml::from_str(
            r#"
            top = "${NOPE}"
            [[providers]]
            id = "a"
            [[providers]]
            api_key = "${KEY}"
            endpoints = ["http://${HOST}", "http://${MISSING}"]
            [x]
            inline = { deep = "${GONE}", "${NOTAKEY}" = 1 }
            "#,
        )
        .unwrap_or_default();
        let problems = interpolate_table(&mut table, &env);
        let mut paths: Vec<String> = problems.iter().map(|(p, _)| p.to_string()).collect();
        paths.sort();
        assert_eq!(paths, ["providers[1].endpoints[1]", "top", "x.inline.deep"]);
        let providers = table
            .get("providers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            providers[1].get("api_key").and_then(Value::as_str),
            Some("sk-123")
        );
    }
}
