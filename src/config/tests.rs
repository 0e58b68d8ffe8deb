//! Tests of the module as a whole: the error report format and the shipped `conf/*.toml` files.

use super::*;

fn load(text: &str) -> Result<Config, ConfigError> {
    load_str_with_env(text, "test.toml", &|_| None)
}

#[test]
fn display_lists_every_problem_one_per_line() {
    let err = ConfigError {
        source: "config.toml".into(),
        problems: vec![
            Problem::new("providers[1].id", Some(12), "duplicate provider id `a`"),
            Problem::new("redis.url", None, "must start with redis://"),
            Problem::new("", None, "cannot read file"),
            Problem::warning("cache", "not active").at(Some((30, 2))),
        ],
    };
    assert_eq!(
        err.to_string(),
        "config.toml:12: error: providers[1].id: duplicate provider id `a`\n\
         config.toml: error: redis.url: must start with redis://\n\
         config.toml: error: cannot read file\n\
         config.toml:30:2: warning: cache: not active"
    );
    assert_eq!(err.errors(), 3);
}

fn warnings_of(text: &str) -> Vec<String> {
    match load_str_checked(text, "test.toml", &|_| None) {
        Ok(loaded) => loaded.warnings.iter().map(|w| w.path.clone()).collect(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn shipped_configs_warn_only_about_what_is_not_active_yet() {
    assert_eq!(
        warnings_of(include_str!("../../conf/demo.toml")),
        Vec::<String>::new()
    );
    assert_eq!(
        warnings_of(include_str!("../../conf/config.example.toml")),
        ["update"]
    );
}

#[test]
fn shipped_example_loads() -> Result<(), ConfigError> {
    let c = load(include_str!("../../conf/config.example.toml"))?;
    assert_eq!(c.providers.len(), 7);
    assert_eq!(
        c.providers[5].endpoint.as_deref(),
        Some("http://localhost:11434/v1")
    );
    assert_eq!(c.providers[6].endpoints.len(), 2);
    assert_eq!(c.providers[6].api_format, Some(ApiFormat::Openai));
    assert_eq!(c.sanitization.max_classification, Some(Classification::Cui));
    assert_eq!(
        c.rate_limit
            .tenant_limits
            .get("premium-team")
            .map(|l| l.rpm),
        Some(300)
    );
    assert_eq!(c.models.len(), 1);
    assert_eq!(
        c.models[0].quality.as_ref().and_then(|q| q.arena_elo),
        Some(1250.0)
    );
    assert_eq!(c.pools[0].members.len(), 2);
    assert_eq!(c.pools[0].strategy, PoolStrategy::Weighted);
    assert!(c.server.admin_token.is_some() && c.redis.is_some());
    assert_eq!(
        c.key_map
            .get("team-alpha-key")
            .and_then(|k| k.label.as_deref()),
        Some("Team Alpha")
    );
    Ok(())
}

#[test]
fn shipped_demo_loads() -> Result<(), ConfigError> {
    let c = load(include_str!("../../conf/demo.toml"))?;
    assert_eq!((c.server.host.as_str(), c.server.port), ("127.0.0.1", 8930));
    assert_eq!(c.providers.len(), 1);
    assert_eq!(
        (c.providers[0].id.as_str(), c.providers[0].provider_type),
        ("mock", ProviderType::Mock)
    );
    assert!(c.providers[0].api_key.is_none() && c.providers[0].endpoint.is_none());
    assert_eq!(
        c.model_routing.aliases.get("fast").map(String::as_str),
        Some("mock/echo")
    );
    assert_eq!(
        c.model_routing.aliases.get("tools").map(String::as_str),
        Some("mock/tool-call")
    );
    Ok(())
}

/// Bad configurations shared with the integration test of `check-config`.
const CORPUS: &[(&str, &str)] = &[
    (
        "several_mistakes",
        include_str!("../../tests/fixtures/config/several_mistakes.toml"),
    ),
    (
        "wrong_types",
        include_str!("../../tests/fixtures/config/wrong_types.toml"),
    ),
    (
        "bad_references",
        include_str!("../../tests/fixtures/config/bad_references.toml"),
    ),
    (
        "syntax_error",
        include_str!("../../tests/fixtures/config/syntax_error.toml"),
    ),
    (
        "warnings_only",
        include_str!("../../tests/fixtures/config/warnings_only.toml"),
    ),
];

/// The words of `message` that are Rust's rather than a user's: type names (`u64`, `Vec`,
/// `struct`), serde's words (`sequence`, `variant`) and CamelCase names (`ProviderType`).
/// What is between backticks is the user's own (a key or value quoted from the file).
fn rust_words(message: &str) -> Vec<&str> {
    const RUST: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "str", "String", "Vec", "Option", "HashMap", "BTreeMap", "Box",
        "struct", "enum", "variant", "sequence", "map", "Secret", "None", "Some",
    ];
    message
        .split('`')
        .step_by(2)
        .flat_map(|unquoted| unquoted.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|word| {
            let camel = word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && word.chars().any(|c| c.is_ascii_lowercase());
            RUST.contains(word) || camel
        })
        .collect()
}

fn report(text: &str) -> Vec<Problem> {
    match load_str_checked(text, "test.toml", &|_| None) {
        Ok(loaded) => loaded.warnings,
        Err(e) => e.problems,
    }
}

#[test]
fn no_message_of_the_corpus_speaks_rust() {
    assert_eq!(
        rust_words("expected u32, found struct ProviderConfig"),
        ["u32", "struct", "ProviderConfig"]
    );
    assert_eq!(
        rust_words("Openai and Vec<String>"),
        ["Openai", "Vec", "String"]
    );
    assert!(rust_words("`Auto` is not one of: auto, manual").is_empty());
    assert!(
        rust_words("expected a whole number, `${OPENAI_API_KEY}`, YYYY-MM-DD, HTTP").is_empty()
    );
    let mut total = 0;
    for (name, text) in CORPUS {
        let problems = report(text);
        assert!(!problems.is_empty(), "{name} has problems");
        for p in &problems {
            let line = p.render(name);
            assert!(rust_words(&p.message).is_empty(), "Rust words in {line}");
            assert!(
                p.line.is_some() && p.column.is_some(),
                "no position: {line}"
            );
            total += 1;
        }
    }
    assert!(
        total >= 50,
        "the corpus covers every kind of problem ({total})"
    );
}

#[test]
fn several_mistakes_are_reported_together_at_their_lines() {
    let problems = report(CORPUS[0].1);
    let found: Vec<(char, &str, usize)> = problems
        .iter()
        .map(|p| {
            let kind = if p.is_error() { 'E' } else { 'W' };
            (kind, p.path.as_str(), p.line.unwrap_or(0))
        })
        .collect();
    assert_eq!(
        found,
        [
            ('E', "server.port", 5),
            ('E', "server.prot", 6),
            ('E', "server.max_body_bytes", 7),
            ('E', "providers[0].provider_type", 11),
            ('W', "providers[0].api_key", 12),
            ('W', "providers[1].api_key", 14),
            ('E', "providers[1].endpont", 17),
            ('E', "providers[2].endpoint", 22),
            ('E', "providers[2].models", 23),
            ('E', "providers[2].enabled", 24),
            ('W', "model_routing.aliases.smart", 28),
            ('E', "model_routing.aliases.best", 29),
            ('E', "pools[0].strategy", 33),
            ('E', "pools[0].members[0].wieght", 34),
            ('W', "pools[0].members[1].model", 34),
            ('W', "update", 36),
        ]
    );
    let suggestions: Vec<&str> = problems
        .iter()
        .filter_map(|p| p.message.split_once("did you mean ").map(|(_, s)| s))
        .collect();
    assert_eq!(
        suggestions,
        [
            "`port`?",
            "`openai`?",
            "`endpoint`?",
            "`claude`?",
            "`weight`?"
        ]
    );
    assert_eq!(
        (problems[13].line, problems[13].column, problems[14].column),
        (Some(34), Some(48), Some(64)),
        "inline tables: the column of each key"
    );
}
