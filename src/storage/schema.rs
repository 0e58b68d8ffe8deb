//! The database schema and its migrations: one list of versions, each a few statements that
//! both SQLite and PostgreSQL accept (TEXT, BIGINT, DOUBLE PRECISION; booleans as 0/1), run in
//! order at start. The version reached is kept in `gateway_schema`; a database at a newer
//! version than this build knows is refused, never written to.

/// Every migration, in order: version `i + 1` is `MIGRATIONS[i]`.
pub const MIGRATIONS: &[&[&str]] = &[
    // 1: keys, teams, records, the admin audit log, breakers, idempotency.
    &[
        "CREATE TABLE IF NOT EXISTS gateway_meta (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    )",
        "CREATE TABLE IF NOT EXISTS teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        max_budget_usd DOUBLE PRECISION,
        budget_period TEXT,
        metadata TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
        "CREATE TABLE IF NOT EXISTS virtual_keys (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        hint TEXT NOT NULL,
        name TEXT NOT NULL,
        team TEXT,
        models TEXT NOT NULL,
        limits TEXT NOT NULL,
        max_budget_usd DOUBLE PRECISION,
        budget_period TEXT,
        max_request_cost_usd DOUBLE PRECISION,
        expires_at BIGINT,
        metadata TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        revoked_at BIGINT
    )",
        "CREATE TABLE IF NOT EXISTS request_records (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        key_id TEXT,
        team_id TEXT,
        endpoint TEXT NOT NULL,
        model_requested TEXT,
        provider TEXT,
        model TEXT,
        status BIGINT NOT NULL,
        error TEXT,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cached_tokens BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL,
        latency_ms BIGINT NOT NULL,
        ttft_ms BIGINT,
        attempts BIGINT NOT NULL,
        failovers BIGINT NOT NULL,
        cache_status TEXT,
        stream BIGINT NOT NULL,
        request_body TEXT,
        response_body TEXT,
        audit TEXT
    )",
        "CREATE INDEX IF NOT EXISTS request_records_created ON request_records (created_at)",
        "CREATE TABLE IF NOT EXISTS admin_audit (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL
    )",
        "CREATE INDEX IF NOT EXISTS admin_audit_created ON admin_audit (created_at)",
        "CREATE TABLE IF NOT EXISTS breaker_states (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
        "CREATE TABLE IF NOT EXISTS idempotency (
        tenant TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        status BIGINT NOT NULL,
        headers TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (tenant, idem_key)
    )",
    ],
    // 2: a kept answer remembers which request it answered.
    &["ALTER TABLE idempotency ADD COLUMN fingerprint TEXT NOT NULL DEFAULT ''"],
    // 3: a record of a model whose price is unknown says so (its `cost_usd` reads null).
    &["ALTER TABLE request_records ADD COLUMN cost_known BIGINT NOT NULL DEFAULT 1"],
    // 4: who asked (`x-source`) and for which project (`x-project`), for the analytics.
    &[
        "ALTER TABLE request_records ADD COLUMN source TEXT",
        "ALTER TABLE request_records ADD COLUMN project TEXT",
    ],
    // 5: quality signals clients report about models (O6).
    &[
        "CREATE TABLE IF NOT EXISTS quality_signals (
        id TEXT PRIMARY KEY,
        created_at BIGINT NOT NULL,
        model TEXT NOT NULL,
        task_type TEXT NOT NULL,
        signal_type TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        request_id TEXT,
        drained BIGINT NOT NULL DEFAULT 0
    )",
        "CREATE INDEX IF NOT EXISTS quality_signals_created ON quality_signals (created_at)",
    ],
    // 6: spend outlives the records it came from (cleared analytics, retention): per day,
    // key, team, model and provider.
    &[
        "CREATE TABLE IF NOT EXISTS spend_ledger (
        day BIGINT NOT NULL,
        key_id TEXT,
        team_id TEXT,
        model TEXT,
        provider TEXT,
        spend_usd DOUBLE PRECISION NOT NULL,
        requests BIGINT NOT NULL
    )",
        "CREATE INDEX IF NOT EXISTS spend_ledger_day ON spend_ledger (day)",
    ],
];

/// The schema version this build writes.
pub fn current() -> i64 {
    MIGRATIONS.len() as i64
}
