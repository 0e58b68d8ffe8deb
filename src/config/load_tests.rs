//! Tests of the loader: defaults, syntax errors, interpolation, and one test per kind of
//! problem (each with its key path and line).

use super::*;
use crate::config::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn load(text: &str) -> Result<Config, ConfigError> {
    load_str_with_env(text, "test.toml", &no_env)
}

/// The errors of a text that must fail, as (path, line, message); warnings left out.
fn problems(text: &str) -> Vec<(String, Option<usize>, String)> {
    match load(text) {
        Ok(_) => Vec::new(),
        Err(e) => {
            assert_eq!(e.source, "test.toml");
            assert!(e.errors() > 0, "an error holds an error: {e}");
            e.problems
                .into_iter()
                .filter(Problem::is_error)
                .map(|p| (p.path, p.line, p.message))
                .collect()
        }
    }
}

/// Asserts exactly one error, at `path` and `line`, whose message contains every `needles`.
fn one_problem(text: &str, path: &str, line: usize, needles: &[&str]) {
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (p, l, message) = &found[0];
    assert_eq!((p.as_str(), *l), (path, Some(line)), "{message}");
    for needle in needles {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let c = load("").unwrap_or_default();
    assert_eq!((c.server.host.as_str(), c.server.port), ("127.0.0.1", 8930));
    assert_eq!(c.server.max_body_bytes, 10 * 1024 * 1024);
    let r = &c.resilience.default_retry_policy;
    assert_eq!(
        (r.max_attempts, r.base_delay_ms, r.max_delay_ms),
        (3, 200, 5000)
    );
    assert_eq!(r.retryable_statuses, [408, 429, 500, 502, 503, 504]);
    let b = &c.resilience.default_circuit_breaker;
    assert_eq!(
        (
            b.failure_threshold,
            b.failure_window_secs,
            b.open_duration_secs,
            b.half_open_max_concurrent
        ),
        (5, 60, 30, 1)
    );
    assert_eq!(c.resilience.hedge.hedge_delay_ms, 300);
    assert_eq!(
        (
            c.resilience.timeout.connect_ms,
            c.resilience.timeout.default_total_ms
        ),
        (5000, 300_000)
    );
    assert_eq!(
        (
            c.cache.max_entries,
            c.cache.ttl_secs,
            c.cache.temperature_threshold
        ),
        (1000, 3600, 0.3)
    );
    let l = &c.rate_limit.default_limits;
    assert_eq!(
        (l.rpm, l.tpm, l.rpd, l.concurrent),
        (60, 100_000, 10_000, 10)
    );
    assert_eq!(c.provider_quota.deprioritize_threshold, 0.9);
    assert_eq!(c.model_routing.sticky_ttl_secs, 900);
    assert_eq!(
        (c.database.max_connections, c.database.store_bodies),
        (5, true)
    );
    assert!(c.providers.is_empty() && c.redis.is_none() && c.server.admin_token.is_none());
    assert!(load("# only a comment\n").is_ok());
}

#[test]
fn syntax_error_has_the_parser_message_line_and_column() {
    let err = load("[server]\nport = 1\nhost = \n").err();
    let problem = err.as_ref().map(|e| e.problems.as_slice());
    let Some([p]) = problem else {
        panic!("one problem: {err:?}");
    };
    assert_eq!((p.path.as_str(), p.line, p.column), ("", Some(3), Some(8)));
    assert!(p.is_error() && !p.message.is_empty());
    let found = problems("[server]\nport = 1\n[server]\n");
    assert_eq!(found[0].1, Some(3), "{found:?}");
}

const TWO_PROVIDERS: &str = r#"[server]
port = 1234

[[providers]]
id = "a"
provider_type = "openai"

[[providers]]
id = "b"
provider_typ = "openai"
"#;

#[test]
fn unknown_key_in_second_provider() {
    one_problem(
        TWO_PROVIDERS,
        "providers[1].provider_typ",
        10,
        &["unknown key `provider_typ`; did you mean `provider_type`?"],
    );
}

#[test]
fn unknown_keys_in_sections_inline_tables_and_dotted_keys() {
    one_problem(
        "[server]\nport = 1\nprot = 2\n",
        "server.prot",
        3,
        &["unknown key `prot`; did you mean `port`?"],
    );
    one_problem(
        "[nonsense]\na = 1\n",
        "nonsense",
        1,
        &["unknown key `nonsense`; the keys here are: ", "server"],
    );
    one_problem(
        "resilience.hedge.enabld = true\n",
        "resilience.hedge.enabld",
        1,
        &["`enabled`"],
    );
    one_problem(
        "[[pools]]\nname = \"p\"\nmembers = [\n  { model = \"a/b\" },\n  { model = \"a/c\", wieght = 2 },\n]\n",
        "pools[0].members[1].wieght",
        5,
        &["unknown key `wieght`; did you mean `weight`?"],
    );
}

#[test]
fn missing_variable_is_reported_with_path_and_line() {
    let text = "[[providers]]\nid = \"a\"\nprovider_type = \"openai\"\n\n[[providers]]\nid = \"b\"\nprovider_type = \"anthropic\"\napi_key = \"${NOPE}\"\n";
    one_problem(text, "providers[1].api_key", 8, &["`NOPE`"]);
}

#[test]
fn every_missing_variable_is_reported() {
    let text = "[server]\nhost = \"${H}\"\n[redis]\nurl = \"${R1}${R2}\"\n";
    let found = problems(text);
    let summary: Vec<(&str, Option<usize>)> =
        found.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
    assert_eq!(
        summary,
        [
            ("server.host", Some(2)),
            ("redis.url", Some(4)),
            ("redis.url", Some(4))
        ],
        "{found:#?}"
    );
}

#[test]
fn variables_are_interpolated_and_double_dollar_is_literal() -> Result<(), ConfigError> {
    let env = |name: &str| (name == "KEY").then(|| "sk-secret".to_string());
    let text = "[[providers]]\nid = \"a\"\nprovider_type = \"openai\"\napi_key = \"${KEY}\"\n[key_map.\"$${KEEP}\"]\nlabel = \"$${X}\"\n";
    let c = load_str_with_env(text, "t", &env)?;
    assert_eq!(
        c.providers[0].api_key.as_ref().map(Secret::expose),
        Some("sk-secret")
    );
    let entry = c.key_map.get("$${KEEP}").map(|e| e.label.clone());
    assert_eq!(
        entry,
        Some(Some("${X}".to_string())),
        "keys untouched, values unescaped"
    );
    Ok(())
}

#[test]
fn bad_enum_value_names_the_allowed_values() {
    one_problem(
        "[[providers]]\nid = \"a\"\nprovider_type = \"foo\"\n",
        "providers[0].provider_type",
        3,
        &[
            "`foo` is not one of: openai, anthropic, google, azure_openai",
            "mock",
        ],
    );
    one_problem(
        "[update]\nmode = \"sometimes\"\n",
        "update.mode",
        2,
        &["`sometimes` is not one of: auto, manual"],
    );
    one_problem(
        "[update]\nmode = 1\n",
        "update.mode",
        2,
        &["expected one of: auto, manual, found a whole number"],
    );
    one_problem(
        "[[models]]\nid = \"m\"\ncapabilities = [\"tools\", true]\n",
        "models[0].capabilities[1]",
        3,
        &[
            "expected one of: streaming, tools, vision",
            "found a true/false value",
        ],
    );
}

#[test]
fn wrong_type_and_missing_required_key() {
    one_problem(
        "[server]\nport = \"80\"\n",
        "server.port",
        2,
        &["expected a whole number from 0 to 65535, found a string; write it without quotes"],
    );
    one_problem(
        "[server]\nport = 70000\n",
        "server.port",
        2,
        &["must be a whole number from 0 to 65535, not 70000"],
    );
    one_problem(
        "[[providers]]\nprovider_type = \"openai\"\n",
        "providers[0].id",
        1,
        &["missing required key `id`"],
    );
}

#[test]
fn a_number_from_a_variable_is_text() {
    let env = |name: &str| (name == "PORT").then(|| "8080".to_string());
    let err = load_str_with_env("[server]\nport = \"${PORT}\"\n", "t", &env).err();
    let message = err
        .map(|e| e.problems[0].message.clone())
        .unwrap_or_default();
    assert_eq!(
        message,
        "expected a whole number from 0 to 65535, found a string (from `${...}`, which fills in text only); write the value itself"
    );
}

#[test]
fn unquoted_toml_dates_are_read_as_strings() -> Result<(), ConfigError> {
    let c = load("[[model_routing.deprecations]]\nmodel = \"m\"\nsunset_date = 2026-06-01\n")?;
    assert_eq!(c.model_routing.deprecations[0].sunset_date, "2026-06-01");
    let text =
        "[[model_routing.deprecations]]\nmodel = \"m\"\nsunset_date = 2026-06-01T10:00:00Z\n";
    one_problem(
        text,
        "model_routing.deprecations[0].sunset_date",
        3,
        &["YYYY-MM-DD"],
    );
    Ok(())
}

#[test]
fn bad_url_duplicate_id_alias_and_date() {
    one_problem(
        "[[providers]]\nid = \"l\"\nprovider_type = \"local\"\nendpoint = \"localhost:8000\"\n",
        "providers[0].endpoint",
        4,
        &["URL"],
    );
    one_problem(
        "[[providers]]\nid = \"a\"\nprovider_type = \"openai\"\n[[providers]]\nid = \"a\"\nprovider_type = \"groq\"\n",
        "providers[1].id",
        5,
        &["duplicate provider id `a`"],
    );
    one_problem(
        "[model_routing.aliases]\nfast = \"groq/llama\"\n",
        "model_routing.aliases.fast",
        2,
        &["alias `fast` points to `groq/llama`, but no provider `groq` is configured"],
    );
    one_problem(
        "[[model_routing.deprecations]]\nmodel = \"x\"\nsunset_date = \"2026-02-30\"\n",
        "model_routing.deprecations[0].sunset_date",
        3,
        &["YYYY-MM-DD"],
    );
}

#[test]
fn several_problems_in_one_file_are_all_reported_in_file_order() {
    let text = r#"[server]
port = 8930
admin_token = "short"

[[providers]]
id = "x"
provider_type = "bedrock"

[[providers]]
id = "x"
provider_type = "azure_openai"

[[providers]]
id = "m"
provider_type = "mock"
api_key = "k"
api_format = "gemini"

[model_routing.aliases]
best = "nobody/model"

[redis]
url = "http://r"
"#;
    let found = problems(text);
    let summary: Vec<(&str, Option<usize>)> =
        found.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
    assert_eq!(
        summary,
        [
            ("server.admin_token", Some(3)),
            ("providers[0].provider_type", Some(7)),
            ("providers[1].endpoint", Some(9)),
            ("providers[1].id", Some(10)),
            ("providers[2].api_key", Some(16)),
            ("model_routing.aliases.best", Some(20)),
            ("redis.url", Some(23)),
        ],
        "{found:#?}"
    );
    assert!(
        found[1]
            .2
            .contains("provider_type bedrock is not supported in this build")
    );
    assert!(
        !found.iter().any(|(_, _, m)| m.contains("short")),
        "secrets are not echoed"
    );
}

#[test]
fn deserialization_errors_in_several_sections_are_all_reported() {
    let text = "[server]\nport = \"x\"\n[[providers]]\nid = \"a\"\nprovider_type = \"openai\"\n[[providers]]\nid = \"b\"\nkind = 1\n[cache]\nenabled = 3\n";
    let found = problems(text);
    let paths: Vec<&str> = found.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "server.port",
            "providers[1].provider_type",
            "providers[1].kind",
            "cache.enabled"
        ],
        "{found:#?}"
    );
}

#[test]
fn display_and_file_loading() {
    let err = load(TWO_PROVIDERS)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(
            "test.toml:4:1: warning: providers[0].api_key: `api_key` is not set: requests to provider `a` (openai) will fail"
        ) && err.contains("\ntest.toml:10:1: error: providers[1].provider_typ: unknown key"),
        "warnings and errors in file order, one a line: {err}"
    );
    let missing = load_file(std::path::Path::new("/nonexistent/llm-gateway.toml"));
    let err = missing.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.starts_with("/nonexistent/llm-gateway.toml: error: cannot read"),
        "{err}"
    );
}
