//! Tests of the semantic checks: one config breaking every rule, and the accepted variants.

use super::*;

#[test]
fn dates() {
    for ok in ["2026-06-01", "2024-02-29", "2000-02-29", "1999-12-31"] {
        assert!(is_valid_date(ok), "{ok}");
    }
    for bad in [
        "2026-6-01",
        "2026-13-01",
        "2023-02-29",
        "1900-02-29",
        "2026-04-31",
        "2026-00-10",
        "x",
        "",
        "+026-01-01",
    ] {
        assert!(!is_valid_date(bad), "{bad}");
    }
}

#[test]
fn default_config_is_valid() {
    assert_eq!(validate(&Config::default()), Vec::new());
}

/// The paths of the problems of `text` (parsed without the loader), sorted.
fn paths(text: &str) -> Vec<String> {
    let config: Config = match toml::from_str(text) {
        Ok(c) => c,
        Err(e) => return vec![format!("does not parse: {e}")],
    };
    let mut paths: Vec<String> = validate(&config).into_iter().map(|p| p.path).collect();
    paths.sort();
    paths
}

const MANY: &str = r#"
    server = { max_body_bytes = 10, threads = 0, host = " " }
    database = { url = "mysql://x", max_connections = 0 }
    resilience.default_retry_policy = { base_delay_ms = 9000, retryable_statuses = [429, 700] }
    resilience.default_circuit_breaker = { half_open_max_concurrent = 0, initial_open_secs = 0 }
    cache.temperature_threshold = -0.1
    provider_quota = { deprioritize_threshold = 1.5, provider_limits = { ghost = {} } }
    model_routing.aliases = { chat = "pool", empty = "", ok1 = "mix/x", ok2 = "org/model", ok3 = "bare" }
    model_routing.deprecations = [{ model = "", sunset_date = "2026-1-1" }]
    key_map = { "" = {}, k = { provider_keys = { ghost = "s", a = "t" } } }
    redis = { url = "http://r" }

    [[providers]]
    id = "a"
    provider_type = "local"
    api_format = "anthropic"
    retry_policy = { max_attempts = 0, max_delay_ms = 10_000, retryable_statuses = [99] }
    circuit_breaker_config = { half_open_max_concurrent = 0, initial_open_secs = 0 }
    models = ["org/model", ""]

    [[providers]]
    id = ""
    provider_type = "azure_openai"
    endpoints = ["https://x"]
    api_format = "anthropic"

    [[providers]]
    id = "mk"
    provider_type = "mock"
    api_format = "gemini"

    [[models]]
    id = " "
    output_price_per_mtok = nan

    [[pools]]
    name = "mix"
    members = [{ model = "a/x", weight = 0 }]

    [[pools]]
    name = "mix"
    strategy = "round_robin"
    members = [{ model = "a/y" }]

    [[pools]]
    name = "chat"
    members = [{ model = "a/y" }]

    [[pools]]
    name = ""
    members = []
"#;

#[test]
fn every_rule_reports_its_path() {
    let expected = [
        "cache.temperature_threshold",
        "database.max_connections",
        "database.url",
        "key_map.\"\"",
        "key_map.k.provider_keys.ghost",
        "model_routing.aliases.empty",
        "model_routing.deprecations[0].model",
        "model_routing.deprecations[0].sunset_date",
        "models[0].id",
        "models[0].output_price_per_mtok",
        "pools[1].name",
        "pools[2].name",
        "pools[3].members",
        "pools[3].name",
        "provider_quota.deprioritize_threshold",
        "provider_quota.provider_limits.ghost",
        "providers[0].circuit_breaker_config.half_open_max_concurrent",
        "providers[0].circuit_breaker_config.initial_open_secs",
        "providers[0].endpoint",
        "providers[0].models[1]",
        "providers[0].retry_policy.max_attempts",
        "providers[0].retry_policy.retryable_statuses[0]",
        "providers[1].api_format",
        "providers[1].endpoint",
        "providers[1].id",
        "redis.url",
        "resilience.default_circuit_breaker.half_open_max_concurrent",
        "resilience.default_circuit_breaker.initial_open_secs",
        "resilience.default_retry_policy.base_delay_ms",
        "resilience.default_retry_policy.retryable_statuses[1]",
        "server.host",
        "server.max_body_bytes",
        "server.threads",
    ];
    assert_eq!(paths(MANY), expected);
}

#[test]
fn accepted_variants() {
    let text = r#"
        server.admin_token = "0123456789abcdef"
        database.url = "sqlite:gateway.db"
        redis.url = "rediss://cache:6380"
        model_routing.deprecations = [{ model = "m", sunset_date = "2028-02-29" }]
        [[providers]]
        id = "g"
        provider_type = "google"
        api_format = "gemini"
        endpoint = "https://example.com/v1beta"
        [[providers]]
        id = "az"
        provider_type = "azure_openai"
        endpoint = "https://x.openai.azure.com"
        [[pools]]
        name = "w"
        strategy = "weighted"
        members = [{ model = "g/gemini-2.0-flash", weight = 3 }]
    "#;
    assert_eq!(paths(text), Vec::<String>::new());
    assert_eq!(
        paths("server.admin_token = \"0123456789abcde\""),
        ["server.admin_token"]
    );
    assert_eq!(
        paths("database.url = \"postgresql://h/db\""),
        Vec::<String>::new()
    );
}

#[test]
fn jwt_and_retention_are_checked() {
    assert_eq!(
        paths(
            "database.retention_days = 0\njwt = { jwks_url = \"ftp://idp/keys\", jwks_cache_secs = 0, tenant_claim = \" \" }"
        ),
        [
            "database.retention_days",
            "jwt.jwks_cache_secs",
            "jwt.jwks_url",
            "jwt.tenant_claim"
        ]
    );
    assert_eq!(
        paths(
            "database.retention_days = 30\njwt = { jwks_url = \"https://idp.example/.well-known/jwks.json\" }"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn connection_limits_of_zero_are_refused() {
    let got = paths(
        r#"
        server = { keepalive_timeout_secs = 0, request_head_timeout_secs = 0, client_write_timeout_secs = 0, max_sse_line_bytes = 10, max_upstream_body_bytes = 0 }
        resilience = { timeout = { stream_idle_ms = 0, upstream_idle_ms = 0 } }
        "#,
    );
    assert_eq!(
        got,
        [
            "resilience.timeout.stream_idle_ms",
            "resilience.timeout.upstream_idle_ms",
            "server.client_write_timeout_secs",
            "server.keepalive_timeout_secs",
            "server.max_sse_line_bytes",
            "server.max_upstream_body_bytes",
            "server.request_head_timeout_secs",
        ]
    );
}
