//! What the document says about each route: summary, tag, parameters, body and answer. The
//! match in [`describe`] is exhaustive, so a new `Op` does not build until it is described.

use utoipa::openapi::schema::Type;

use super::super::Op;
use super::records as r;
use super::registry::{SchemaFn, reg};
use super::types as t;

/// One operation.
pub(super) struct Spec {
    pub id: &'static str,
    pub summary: &'static str,
    /// Markdown, or empty.
    pub about: &'static str,
    pub tag: &'static str,
    /// What the path parameter is (routes with one).
    pub param: &'static str,
    pub query: &'static [Query],
    pub body: Body,
    pub answer: Answer,
    /// The success answer's description.
    pub answered: &'static str,
    pub errors: &'static [(u16, &'static str)],
}

pub(super) enum Body {
    None,
    /// JSON of this schema; required or optional.
    Json(SchemaFn, bool),
    /// A whole configuration file.
    Toml,
}

pub(super) enum Answer {
    /// JSON of this schema, with this status.
    Json(u16, SchemaFn),
    /// JSON, or a stream of server-sent events (`stream: true`) described by the text.
    JsonOrStream(SchemaFn, &'static str),
    /// Text of this media type.
    Text(&'static str),
}

/// A query parameter.
pub(super) struct Query {
    pub name: &'static str,
    pub kind: Type,
    pub values: &'static [&'static str],
    pub min: f64,
    pub about: &'static str,
}

const fn q(name: &'static str, about: &'static str) -> Query {
    Query {
        name,
        kind: Type::String,
        values: &[],
        min: 0.0,
        about,
    }
}

const FROM: Query = q("from", "Start (inclusive): Unix seconds or RFC 3339.");
const TO: Query = q("to", "End (exclusive): Unix seconds or RFC 3339.");
const LIMIT: Query = Query {
    kind: Type::Integer,
    min: 1.0,
    ..q("limit", "At most this many (1 to 1000, default 50).")
};
const MODEL: Query = q(
    "model",
    "The model requested or served (`provider/model` too).",
);
const PROVIDER: Query = q("provider", "A provider id.");
const PROJECT: Query = q("project", "An `x-project` value.");
const SOURCE: Query = q("source", "An `x-source` value.");
const RANGE: &[Query] = &[FROM, TO];
const FILTERS: &[Query] = &[FROM, TO, MODEL, PROVIDER, PROJECT, SOURCE];
const ANALYTICS: &[Query] = &[FROM, TO, MODEL, PROVIDER, PROJECT, SOURCE, BUCKET];
const BUCKET: Query = Query {
    values: &["minute", "hour", "day", "week"],
    ..q(
        "bucket",
        "The series' bucket (default: hour up to two days, else day).",
    )
};
const USAGE: &[Query] = &[FROM, TO, MODEL, BUCKET];
const BEFORE: &[Query] = &[q(
    "before",
    "Clear only what is older: Unix seconds or RFC 3339 (default: everything).",
)];
const RECORDS: &[Query] = &[
    MODEL,
    Query {
        kind: Type::Integer,
        min: 100.0,
        ..q("status", "An HTTP status (100 to 599).")
    },
    q("key", "A virtual key's id."),
    FROM,
    TO,
    LIMIT,
    q("cursor", "`next_cursor` of the previous page."),
];

/// Tags, in the order the viewer shows them.
pub(super) const TAGS: &[(&str, &str)] = &[
    (
        "LLM",
        "The OpenAI- and Anthropic-format endpoints applications call.",
    ),
    (
        "Models",
        "The models callers may name, the catalog, token counts.",
    ),
    (
        "Routing",
        "Routing profiles, the dry run, deployments, catalog sync and scores.",
    ),
    ("Keys", "Virtual keys and teams, with limits and budgets."),
    (
        "Records",
        "Request records, routing decisions, spend and statistics.",
    ),
    (
        "Analytics",
        "Traffic over time and by model, provider, key, team, project and source.",
    ),
    (
        "Quality",
        "Quality signals from callers, their aggregates and degradation alerts.",
    ),
    (
        "Operations",
        "Providers, circuits, replicas and the running configuration.",
    ),
    (
        "Service",
        "Health, readiness, metrics, this document and the portal.",
    ),
];

const NOT_FOUND: &[(u16, &str)] = &[(404, "No such item.")];
const BAD: &[(u16, &str)] = &[(400, "A field is missing or wrong (named in `param`).")];
const BAD_OR_MISSING: &[(u16, &str)] = &[
    (400, "A field is missing or wrong (named in `param`)."),
    (404, "No such item."),
];
const STORE: &[(u16, &str)] = &[
    (400, "A query parameter is wrong (named in `param`)."),
    (503, "The database did not answer."),
];
const CONFIG: &[(u16, &str)] = &[
    (
        400,
        "Invalid TOML or configuration (line and key named), or a change only a restart applies; the running configuration stays.",
    ),
    (413, "Larger than 1 MiB."),
    (415, "Not `application/toml`."),
];

#[allow(clippy::too_many_lines)]
pub(super) fn describe(op: Op) -> Spec {
    let spec = |id, summary, tag, answer| Spec {
        id,
        summary,
        about: "",
        tag,
        param: "",
        query: &[],
        body: Body::None,
        answer,
        answered: "OK",
        errors: &[],
    };
    let ok = |s: SchemaFn| Answer::Json(200, s);
    match op {
        Op::Index => Spec {
            about: "With `Accept: text/html` (a browser) the portal's page instead.",
            ..spec(
                "index",
                "What the gateway answers",
                "Service",
                ok(reg::<t::Index>),
            )
        },
        Op::Health => spec("health", "Liveness", "Service", ok(reg::<t::Health>)),
        Op::Ready => Spec {
            errors: &[(503, "No provider can take a request (the body says why).")],
            ..spec(
                "ready",
                "Readiness: some provider can serve",
                "Service",
                ok(reg::<t::Ready>),
            )
        },
        Op::Metrics => spec(
            "metrics",
            "Prometheus metrics",
            "Service",
            Answer::Text("text/plain"),
        ),
        Op::OpenApi => spec(
            "openapi",
            "This document (OpenAPI 3.1)",
            "Service",
            Answer::Text("application/json"),
        ),
        Op::Docs => spec(
            "docs",
            "The interactive API viewer",
            "Service",
            Answer::Text("text/html"),
        ),
        Op::Asset => Spec {
            param: "A file of the portal or the viewer.",
            errors: NOT_FOUND,
            ..spec(
                "asset",
                "A portal file",
                "Service",
                Answer::Text("application/octet-stream"),
            )
        },
        Op::Models => spec(
            "list_models",
            "Models a caller may name",
            "Models",
            ok(reg::<t::ModelList>),
        ),
        Op::Model => Spec {
            param: "A model id, `provider/model`, alias, pool or `auto`.",
            errors: NOT_FOUND,
            ..spec("get_model", "One model", "Models", ok(reg::<t::ModelEntry>))
        },
        Op::Catalog => spec(
            "catalog",
            "The model catalog with prices, limits and scores",
            "Models",
            ok(reg::<t::Catalog>),
        ),
        Op::CountTokens => Spec {
            body: Body::Json(reg::<r::CountTokens>, true),
            errors: BAD,
            about: "Counts a Messages request's input tokens without calling a provider.",
            ..spec(
                "count_tokens",
                "Count input tokens",
                "Models",
                ok(reg::<r::TokenCount>),
            )
        },
        Op::Providers => spec(
            "admin_providers",
            "Providers as running",
            "Operations",
            ok(reg::<t::Providers>),
        ),
        Op::Backends => spec(
            "backends",
            "Circuit breakers",
            "Operations",
            ok(reg::<t::Backends>),
        ),
        Op::ResetBackend => Spec {
            param: "`provider/model`, or a provider id (all its breakers).",
            errors: NOT_FOUND,
            ..spec(
                "reset_backend",
                "Close a circuit",
                "Operations",
                ok(reg::<t::Reset>),
            )
        },
        Op::ListEndpoints => Spec {
            param: "A provider with a replica pool.",
            errors: NOT_FOUND,
            ..spec(
                "list_replicas",
                "A provider's replicas",
                "Operations",
                ok(reg::<t::Pool>),
            )
        },
        Op::ChangeEndpoints => Spec {
            param: "A provider with a replica pool.",
            body: Body::Json(reg::<t::PoolChange>, true),
            errors: BAD_OR_MISSING,
            ..spec(
                "change_replicas",
                "Add or remove a replica",
                "Operations",
                ok(reg::<t::Pool>),
            )
        },
        Op::CreateKey => Spec {
            body: Body::Json(reg::<t::NewKey>, true),
            errors: BAD,
            about: "`name` is required. The answer holds the secret (`key`); it is shown this once and only its hash is kept.",
            answered: "Created",
            ..spec(
                "create_key",
                "Create a virtual key",
                "Keys",
                Answer::Json(201, reg::<t::CreatedKey>),
            )
        },
        Op::ListKeys => spec(
            "list_keys",
            "Virtual keys (not revoked)",
            "Keys",
            ok(reg::<t::KeyList>),
        ),
        Op::GetKey => Spec {
            param: "A key id.",
            errors: NOT_FOUND,
            ..spec("get_key", "A virtual key", "Keys", ok(reg::<t::Key>))
        },
        Op::PatchKey => Spec {
            param: "A key id.",
            body: Body::Json(reg::<t::KeyFields>, true),
            errors: BAD_OR_MISSING,
            about: "A field sent replaces the stored one, `null` clears it; applies from the next request.",
            ..spec(
                "update_key",
                "Change a virtual key",
                "Keys",
                ok(reg::<t::Key>),
            )
        },
        Op::DeleteKey => Spec {
            param: "A key id.",
            errors: NOT_FOUND,
            ..spec(
                "revoke_key",
                "Revoke a virtual key (at once)",
                "Keys",
                ok(reg::<t::Revoked>),
            )
        },
        Op::CreateTeam => Spec {
            body: Body::Json(reg::<t::NewTeam>, true),
            errors: BAD,
            answered: "Created",
            ..spec(
                "create_team",
                "Create a team",
                "Keys",
                Answer::Json(201, reg::<t::Team>),
            )
        },
        Op::ListTeams => spec("list_teams", "Teams", "Keys", ok(reg::<t::TeamList>)),
        Op::GetTeam => Spec {
            param: "A team id.",
            errors: NOT_FOUND,
            ..spec("get_team", "A team", "Keys", ok(reg::<t::Team>))
        },
        Op::PatchTeam => Spec {
            param: "A team id.",
            body: Body::Json(reg::<t::TeamFields>, true),
            errors: BAD_OR_MISSING,
            ..spec("update_team", "Change a team", "Keys", ok(reg::<t::Team>))
        },
        Op::DeleteTeam => Spec {
            param: "A team id.",
            errors: NOT_FOUND,
            about: "Its keys stay, without a team.",
            ..spec(
                "delete_team",
                "Delete a team",
                "Keys",
                ok(reg::<t::Deleted>),
            )
        },
        Op::AuditLog => Spec {
            query: &[LIMIT],
            errors: STORE,
            ..spec(
                "admin_audit_log",
                "Admin actions, newest first",
                "Records",
                ok(reg::<t::AdminLog>),
            )
        },
        Op::Spend => Spec {
            query: RANGE,
            errors: STORE,
            ..spec(
                "spend",
                "Spend by key, team, model and provider",
                "Records",
                ok(reg::<r::Spend>),
            )
        },
        Op::Requests => Spec {
            query: RECORDS,
            errors: STORE,
            ..spec(
                "list_requests",
                "Request records, newest first",
                "Records",
                ok(reg::<r::RecordPage>),
            )
        },
        Op::Request => Spec {
            param: "A request id (`x-request-id`).",
            errors: NOT_FOUND,
            ..spec(
                "get_request",
                "A request record (with bodies when stored)",
                "Records",
                ok(reg::<r::Record>),
            )
        },
        Op::Stats => Spec {
            query: RANGE,
            errors: STORE,
            ..spec(
                "stats",
                "Totals over the records",
                "Records",
                ok(reg::<r::Stats>),
            )
        },
        Op::Audits => Spec {
            query: RECORDS,
            errors: STORE,
            ..spec(
                "list_decisions",
                "Routing decisions, newest first",
                "Records",
                ok(reg::<r::AuditPage>),
            )
        },
        Op::Audit => Spec {
            param: "A request id.",
            errors: NOT_FOUND,
            ..spec(
                "get_decision",
                "A request's routing decision",
                "Records",
                ok(reg::<r::Audit>),
            )
        },
        Op::Analytics => Spec {
            query: ANALYTICS,
            errors: STORE,
            about: "Defaults to the last 24 hours.",
            ..spec(
                "analytics",
                "Traffic over time and by group",
                "Analytics",
                ok(reg::<r::Analytics>),
            )
        },
        Op::ClearAnalytics => Spec {
            query: BEFORE,
            errors: STORE,
            about: "Deletes request records (with their audit trails) and quality signals. Their spend is kept, so budgets and `GET /admin/spend` still count it.",
            ..spec(
                "clear_analytics",
                "Clear the analytics data",
                "Analytics",
                ok(reg::<r::Cleared>),
            )
        },
        Op::Usage => Spec {
            query: USAGE,
            errors: STORE,
            about: "For a key holder: only the calling key's records (a JWT's tenant's), and the spend of its key and team budgets in their current period. Defaults to the last 24 hours.",
            ..spec(
                "own_usage",
                "The calling key's own usage and budgets",
                "Analytics",
                ok(reg::<r::Usage>),
            )
        },
        Op::AnalyticsErrors => Spec {
            query: FILTERS,
            errors: STORE,
            ..spec(
                "analytics_errors",
                "Failures a caller saw vs those failover hid",
                "Analytics",
                ok(reg::<r::ErrorAnalytics>),
            )
        },
        Op::Requesters => Spec {
            query: FILTERS,
            errors: STORE,
            ..spec(
                "requesters",
                "Traffic by requester (`x-source`)",
                "Analytics",
                ok(reg::<r::Requesters>),
            )
        },
        Op::Projects => Spec {
            query: FILTERS,
            errors: STORE,
            ..spec(
                "projects",
                "Traffic by project (`x-project`)",
                "Analytics",
                ok(reg::<r::Requesters>),
            )
        },
        Op::ReportSignal => Spec {
            body: Body::Json(reg::<r::NewSignal>, true),
            errors: BAD_OR_MISSING,
            answered: "Recorded",
            ..spec(
                "report_signal",
                "Report a quality signal",
                "Quality",
                Answer::Json(201, reg::<r::SignalRecorded>),
            )
        },
        Op::DrainSignals => Spec {
            errors: STORE,
            about: "Each signal is handed out once (up to 1000 a call, oldest first).",
            ..spec(
                "drain_signals",
                "Take pending signals",
                "Quality",
                ok(reg::<r::SignalList>),
            )
        },
        Op::Quality => Spec {
            query: RANGE,
            errors: STORE,
            ..spec(
                "quality",
                "Signal aggregates by model and task",
                "Quality",
                ok(reg::<r::Quality>),
            )
        },
        Op::ModelQuality => Spec {
            param: "A model id or `provider/model`.",
            query: RANGE,
            errors: STORE,
            ..spec(
                "model_quality",
                "One model's signals by day",
                "Quality",
                ok(reg::<r::ModelQuality>),
            )
        },
        Op::Alerts => Spec {
            body: Body::Json(reg::<r::AlertOptions>, false),
            errors: BAD,
            ..spec(
                "alerts",
                "Models whose signals dropped against their baseline",
                "Quality",
                ok(reg::<r::Alerts>),
            )
        },
        Op::ShowConfig => spec(
            "show_config",
            "The running configuration, secrets masked",
            "Operations",
            ok(reg::<t::RunningConfig>),
        ),
        Op::ReplaceConfig => Spec {
            body: Body::Toml,
            errors: CONFIG,
            about: "Validated like a file at start and swapped in at once; streams in flight finish on the old one.",
            ..spec(
                "replace_config",
                "Reload with a new configuration",
                "Operations",
                ok(reg::<t::Reloaded>),
            )
        },
        Op::ValidateConfig => Spec {
            body: Body::Toml,
            errors: CONFIG,
            ..spec(
                "validate_config",
                "Check a configuration, applying nothing",
                "Operations",
                ok(reg::<t::Reloaded>),
            )
        },
        Op::ListRuntimeProviders => spec(
            "list_providers",
            "Providers (never a key)",
            "Operations",
            ok(reg::<t::Providers>),
        ),
        Op::AddProvider => Spec {
            body: Body::Json(reg::<t::ProviderTable>, true),
            errors: &[
                (400, "The provider is not valid (the field named)."),
                (409, "A provider with this id runs already."),
            ],
            answered: "Added",
            ..spec(
                "add_provider",
                "Add a provider at run time",
                "Operations",
                Answer::Json(201, reg::<t::Added>),
            )
        },
        Op::RemoveProvider => Spec {
            param: "A provider id.",
            errors: BAD_OR_MISSING,
            ..spec(
                "remove_provider",
                "Remove a provider",
                "Operations",
                ok(reg::<t::Deleted>),
            )
        },
        Op::Profiles => spec(
            "routing_profiles",
            "Routing profiles",
            "Routing",
            ok(reg::<r::Profiles>),
        ),
        Op::RouteDryRun => Spec {
            body: Body::Json(reg::<r::RouteQuery>, true),
            errors: &[
                (400, "Malformed JSON or a routing header."),
                (401, "Keys are in use and none was sent."),
            ],
            about: "Runs the routing pipeline without calling a provider: each layer's eliminations and the chain a real request would try. A request routing would refuse is described in `refusal`.",
            ..spec(
                "route",
                "Routing dry run",
                "Routing",
                ok(reg::<r::RouteAnswer>),
            )
        },
        Op::Deployments => spec(
            "deployments",
            "Deployments routing may use",
            "Routing",
            ok(reg::<t::Deployments>),
        ),
        Op::DisableDeployment => Spec {
            body: Body::Json(reg::<t::DeploymentName>, true),
            errors: BAD_OR_MISSING,
            ..spec(
                "disable_deployment",
                "Take a deployment out of routing",
                "Routing",
                ok(reg::<t::Deployment>),
            )
        },
        Op::EnableDeployment => Spec {
            body: Body::Json(reg::<t::DeploymentName>, true),
            errors: BAD_OR_MISSING,
            ..spec(
                "enable_deployment",
                "Put a deployment back",
                "Routing",
                ok(reg::<t::Deployment>),
            )
        },
        Op::CatalogSync => spec(
            "catalog_sync",
            "Sync the catalog from the providers now",
            "Routing",
            ok(reg::<r::SyncReport>),
        ),
        Op::SyncStatus => spec(
            "catalog_sync_status",
            "When the catalog last synced",
            "Routing",
            ok(reg::<r::SyncStatus>),
        ),
        Op::Scores => Spec {
            param: "A model id or `provider/model`.",
            body: Body::Json(reg::<r::ScoreChange>, true),
            errors: BAD_OR_MISSING,
            ..spec(
                "set_scores",
                "Set or roll back a model's quality scores",
                "Routing",
                ok(reg::<r::Scores>),
            )
        },
    }
}
