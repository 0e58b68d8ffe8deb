//! Tests of the type check on its own: everything wrong in one table is reported at once, each
//! in user words, and the repaired table is what serde can read.

use super::*;
use crate::config::model::Config;
use crate::config::shape::TableShape;

fn run(text: &str) -> (Table, Checked) {
    let mut table: Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    let checked = check(&mut table, &Shapes::of_config());
    (table, checked)
}

fn problems(text: &str) -> Vec<(String, String)> {
    run(text)
        .1
        .problems
        .into_iter()
        .map(|(path, message)| (path.to_string(), message))
        .collect()
}

#[test]
fn every_wrong_value_of_one_table_is_reported() {
    let text = r#"
        [[providers]]
        id = 7
        provider_type = "openai"
        enabled = "yes"
        ttft_ms = -1
        models = ["a", 2, "c"]
        retry_policy = { max_attempts = "3", jitter = 1 }
        colour = "blue"
    "#;
    let found = problems(text);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "providers[0].colour",
            "providers[0].enabled",
            "providers[0].id",
            "providers[0].models[1]",
            "providers[0].retry_policy.jitter",
            "providers[0].retry_policy.max_attempts",
            "providers[0].ttft_ms",
        ],
        "{found:#?}"
    );
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert!(messages[0].starts_with("unknown key `colour`; the keys here are: api_format, "));
    assert_eq!(messages[1], "expected true or false, found a string");
    assert_eq!(
        messages[2],
        "expected a string, found a whole number; put it in quotes"
    );
    assert_eq!(
        messages[3],
        "expected a string, found a whole number; put it in quotes"
    );
    assert_eq!(messages[4], "expected true or false, found a whole number");
    assert_eq!(
        messages[5],
        "expected a whole number from 0 to 4294967295, found a string; write it without quotes"
    );
    assert_eq!(messages[6], "must be 0 or more, not -1");
}

#[test]
fn the_repaired_table_reads_and_says_what_was_replaced() {
    let text = r#"
        server = { port = "80", host = "0.0.0.0" }
        [[providers]]
        id = "a"
        provider_type = "opnai"
        models = ["a", 2]
    "#;
    let (table, checked) = run(text);
    let tainted: Vec<String> = checked.tainted.iter().map(ToString::to_string).collect();
    assert_eq!(
        tainted,
        ["providers[0].models[1]", "providers[0]", "server.port"]
    );
    let config: Config = match Value::Table(table).try_into() {
        Ok(config) => config,
        Err(e) => panic!("the repaired table reads: {e}"),
    };
    assert_eq!(
        config.server.port, 8930,
        "a wrong optional value takes its default"
    );
    assert_eq!(config.server.host, "0.0.0.0", "the rest is kept");
    assert_eq!(config.providers[0].id, "a");
    assert_eq!(
        config.providers[0].models.as_deref(),
        Some(&["a".to_string(), String::new()][..])
    );
}

#[test]
fn choices_suggest_the_closest_value() {
    let found = problems(
        "[[providers]]\nid = \"a\"\nprovider_type = \"OpenAI\"\napi_format = \"antropic\"\n\
         [[pools]]\nname = \"p\"\nstrategy = \"round-robin\"\nmembers = []\n\
         [[models]]\nid = \"m\"\ncapabilities = [\"tool\", \"json\"]\n",
    );
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`tool` is not one of: streaming, tools, vision, json_mode, thinking, embeddings, citations, batch; did you mean `tools`?",
            "`json` is not one of: streaming, tools, vision, json_mode, thinking, embeddings, citations, batch; did you mean `json_mode`?",
            "`round-robin` is not one of: priority, latency, cost, weighted, round_robin, auto; did you mean `round_robin`?",
            "`antropic` is not one of: openai, anthropic, gemini; did you mean `anthropic`?",
            "`OpenAI` is not one of: openai, anthropic, google, azure_openai, groq, deep_infra, mistral, meta, local, bedrock, mock; did you mean `openai`?",
        ]
    );
}

#[test]
fn a_misspelled_required_key_is_not_also_missing() {
    let found = problems("[[providers]]\nid = \"a\"\nprovider-type = \"openai\"\n");
    assert_eq!(
        found,
        [(
            "providers[0].provider-type".to_string(),
            "unknown key `provider-type`; did you mean `provider_type`?".to_string()
        )]
    );
    let missing = problems("[[providers]]\nid = \"a\"\n");
    assert_eq!(missing[0].1, "missing required key `provider_type`");
}

#[test]
fn a_key_in_the_wrong_place_names_its_section() {
    let found = problems("port = 8080\napi_key = \"k\"\n[resilience]\nconnect_ms = 1\n");
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unknown key `api_key` here; it belongs under [[providers]]",
            "unknown key `port` here; it belongs under [server]",
            "unknown key `connect_ms` here; it belongs under [resilience.timeout]",
        ]
    );
}

#[test]
fn hints_for_common_mix_ups() {
    let found = problems(
        "[providers]\nid = \"a\"\n[[server]]\nport = 1\n[cache]\nenabled = \"true\"\n\
         temperature_threshold = \"0.5\"\n[[models]]\nid = \"m\"\ncapabilities = \"tools\"\n",
    );
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "expected true or false, found a string; write it without quotes",
            "expected a number, found a string; write it without quotes",
            "expected a list of values, each one of: streaming, tools, vision, json_mode, thinking, embeddings, citations, batch, found a string; write a list in brackets, e.g. [\"a\", \"b\"]",
            "expected a list of tables, found a table; write each entry as [[providers]] (double brackets)",
            "expected a table, found a list; write [server] (single brackets), once",
        ]
    );
}

#[test]
fn either_takes_the_first_shape_that_fits() {
    let shapes = Shapes::of_config();
    let text_or_list = Shape::Either(vec![Shape::Text, Shape::List(Box::new(Shape::Text))]);
    let table = Shape::Table(TableShape {
        keys: [("x".to_string(), text_or_list)].into_iter().collect(),
        required: Default::default(),
        others: Others::Denied,
    });
    let check_one = |value: Value| {
        let mut walk = Walk {
            shapes: &shapes,
            found: Checked::default(),
        };
        let mut t = Table::new();
        t.insert("x".into(), value);
        let mut v = Value::Table(t);
        let result = walk.value(&mut v, &table, &KeyPath::root());
        assert!(result.is_ok());
        walk.found.problems
    };
    assert!(check_one(Value::String("a".into())).is_empty());
    assert!(check_one(Value::Array(vec![Value::String("a".into())])).is_empty());
    let inside = check_one(Value::Array(vec![Value::Integer(1)]));
    assert_eq!(
        inside[0].0.to_string(),
        "x[0]",
        "the list shape explains: {inside:?}"
    );
    let neither = check_one(Value::Boolean(true));
    assert_eq!(
        neither[0].1,
        "expected a string or a list of strings, found a true/false value"
    );
}
