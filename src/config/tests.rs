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
