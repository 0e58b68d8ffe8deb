//! Tests of the warnings through the loader: each kind with its key path and line, what does
//! not warn, and warnings that come along with errors.

use crate::config::{Problem, load_str_checked};

fn env(name: &str) -> Option<String> {
    match name {
        "EMPTY" => Some(String::new()),
        "KEY" => Some("sk-1".into()),
        _ => None,
    }
}

/// The warnings of a text that loads, as (path, line, message).
fn warned(text: &str) -> Vec<(String, Option<usize>, String)> {
    match load_str_checked(text, "test.toml", &env) {
        Ok(loaded) => loaded
            .warnings
            .into_iter()
            .map(|w| (w.path, w.line, w.message))
            .collect(),
        Err(e) => panic!("loads with warnings only: {e}"),
    }
}

fn paths_and_lines(text: &str) -> Vec<(String, Option<usize>)> {
    warned(text).into_iter().map(|(p, l, _)| (p, l)).collect()
}

#[test]
fn providers_that_need_a_key_and_have_none() {
    let text = r#"
[[providers]]
id = "openai"
provider_type = "openai"

[[providers]]
id = "claude"
provider_type = "anthropic"
api_key = "${EMPTY}"

[[providers]]
id = "groq"
provider_type = "groq"
api_key = "${KEY}"

[[providers]]
id = "off"
provider_type = "mistral"
enabled = false

[[providers]]
id = "mock"
provider_type = "mock"

[[providers]]
id = "ollama"
provider_type = "local"
endpoint = "http://localhost:11434/v1"

[[providers]]
id = "mapped"
provider_type = "google"

[key_map.team]
google_key = "g-1"
"#;
    let found = warned(text);
    let at: Vec<(&str, Option<usize>)> = found.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
    assert_eq!(
        at,
        [
            ("providers[0].api_key", Some(2)),
            ("providers[1].api_key", Some(9))
        ],
        "{found:#?}"
    );
    assert!(
        found[0].2.starts_with(
            "`api_key` is not set: requests to provider `openai` (openai) will fail until it has one (e.g. `api_key = \"${OPENAI_API_KEY}\"`)"
        ),
        "{found:#?}"
    );
    assert!(found[1].2.starts_with("`api_key` is empty"), "{found:#?}");
}

#[test]
fn dollar_names_without_braces() {
    let text = "[server]\nhost = \"$HOST\"\n\n[[providers]]\nid = \"o\"\nprovider_type = \"openai\"\napi_key = \"$OPENAI_API_KEY\"\nendpoint = \"https://${KEY}.example.com/v1\"\n";
    let found = warned(text);
    let at: Vec<(&str, Option<usize>)> = found.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
    assert_eq!(
        at,
        [("server.host", Some(2)), ("providers[0].api_key", Some(7))],
        "a `$VAR` key is a key that is set, so no missing-key warning: {found:#?}"
    );
    assert_eq!(
        found[0].2,
        "`$HOST` is kept as written: only `${HOST}` would be replaced from the environment"
    );
    assert!(!found[1].2.contains("OPENAI"), "keys are not echoed");
}

#[test]
fn aliases_and_pool_members_nobody_serves() {
    let text = r#"
[[providers]]
id = "mock"
provider_type = "mock"

[[providers]]
id = "vllm"
provider_type = "local"
endpoint = "http://x"
models = ["llama"]
enabled = false

[model_routing.aliases]
fast = "mock/echo"
echo = "echo"
chat = "pool"
gone = "vllm/llama"
typo = "lama"

[[pools]]
name = "pool"
members = [
  { model = "mock/echo" },
  { model = "llama" },
  { model = "ghost/x" },
]
"#;
    let found = warned(text);
    let summary: Vec<(&str, Option<usize>)> =
        found.iter().map(|(p, l, _)| (p.as_str(), *l)).collect();
    assert_eq!(
        summary,
        [
            ("model_routing.aliases.gone", Some(17)),
            ("model_routing.aliases.typo", Some(18)),
            ("pools[0].members[1].model", Some(24)),
            ("pools[0].members[2].model", Some(25)),
        ],
        "{found:#?}"
    );
    let messages: Vec<&str> = found.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "alias `gone` points to `vllm/llama`, which nothing serves: provider `vllm` is disabled (`enabled = false`)",
            "alias `typo` points to `lama`, which nothing serves: no provider lists it (add it to a provider's `models`, or write `provider_id/model`)",
            "member `llama` of pool `pool` is served by no enabled provider: only disabled providers list it",
            "member `ghost/x` of pool `pool` is served by no enabled provider: no provider `ghost` is configured",
        ]
    );
}

#[test]
fn sections_accepted_but_not_active() {
    let text = "[update]\nmode = \"auto\"\n[rate_limit]\nenabled = false\n[redis]\nurl = \"redis://r\"\n[model_routing]\nsticky_ttl_secs = 60\naliases = {}\n[[model_routing.deprecations]]\nmodel = \"m\"\nsunset_date = \"2027-01-01\"\n[sanitization.extra]\n";
    let found = load_str_checked(text, "test.toml", &env);
    let problems: Vec<Problem> = match found {
        Ok(loaded) => loaded.warnings,
        Err(e) => e.problems,
    };
    let summary: Vec<(&str, Option<usize>)> =
        problems.iter().map(|p| (p.path.as_str(), p.line)).collect();
    assert_eq!(
        summary,
        [("update", Some(1)), ("sanitization.extra", Some(13)),],
        "`enabled = false` is left alone: {problems:#?}"
    );
    assert_eq!(
        problems[0].message,
        "this section is accepted but not active in this build: it has no effect yet"
    );
    assert!(
        problems[1].is_error(),
        "and an unknown key is still an error"
    );
}

#[test]
fn warnings_come_along_with_errors_and_never_stop_a_load() {
    let text = "[server]\nport = \"x\"\n[[providers]]\nid = \"o\"\nprovider_type = \"openai\"\n";
    let err = load_str_checked(text, "test.toml", &env).err();
    let problems = err.map(|e| e.problems).unwrap_or_default();
    let kinds: Vec<(bool, &str)> = problems
        .iter()
        .map(|p| (p.is_error(), p.path.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(true, "server.port"), (false, "providers[0].api_key")]
    );
    assert_eq!(paths_and_lines("[update]\n").len(), 1);
    assert!(paths_and_lines("").is_empty());
}
