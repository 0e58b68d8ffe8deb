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
        [
            "database",
            "update",
            "sanitization",
            "cache",
            "rate_limit",
            "provider_quota",
            "model_routing.sticky_ttl_secs",
            "model_routing.deprecations",
            "redis"
        ]
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
