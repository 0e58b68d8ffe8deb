//! `GET /openapi.json` (D5): the OpenAPI 3.1 document of every endpoint the gateway answers,
//! generated from the route tables (`ROUTES`, `ENDPOINTS`) and the schemas of the API types
//! (`utoipa`'s `ToSchema`), so a route cannot be left out: [`ops::describe`] matches every
//! `Op`. Admin operations carry the bearer security scheme of `server.admin_token`, key
//! operations that of a virtual key (or a JWT). Built once, on first request.

mod llm;
mod ops;
mod records;
mod registry;
mod types;

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr, Required, ResponseBuilder,
};

use super::{Access, Path, ROUTES, Reply};
use crate::inbound::endpoint::ENDPOINTS;
use ops::{Answer, Body, Query, Spec};
use registry::Registry;

/// `GET /openapi.json`.
pub(super) fn document() -> Reply {
    static DOC: OnceLock<Bytes> = OnceLock::new();
    let body = DOC
        .get_or_init(|| Bytes::from(serde_json::to_vec(&build()).unwrap_or_default()))
        .clone();
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Security scheme names.
const ADMIN: &str = "admin_token";
const KEY: &str = "virtual_key";
const KEY_HEADER: &str = "x_api_key";

/// The whole document.
pub fn build() -> OpenApi {
    let mut reg = Registry::default();
    let error = types::reg_error(&mut reg);
    let mut paths = PathsBuilder::new().build();
    for route in ROUTES {
        let spec = ops::describe(route.op);
        let (path, param) = match route.path {
            Path::Exact(all) => (all[0].to_string(), None),
            Path::Around {
                prefix,
                param,
                suffix,
            } => (
                format!("{prefix}{param}{suffix}"),
                Some(param.trim_matches(|c| c == '{' || c == '}')),
            ),
        };
        let aliases = match route.path {
            Path::Exact(all) if all.len() > 1 => {
                Some(format!("Also answered at `{}`.", all[1..].join("`, `")))
            }
            _ => None,
        };
        let op = operation(&mut reg, &spec, route.access, param, aliases, &error);
        paths.add_path_operation(path, vec![method(&route.method)], op);
    }
    for row in ENDPOINTS {
        let spec = llm::describe(row.endpoint.label);
        let aliases = (row.paths.len() > 1)
            .then(|| format!("Also answered at `{}`.", row.paths[1..].join("`, `")));
        let op = operation(&mut reg, &spec, Access::Key, None, aliases, &error);
        paths.add_path_operation(row.paths[0], vec![HttpMethod::Post], op);
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(reg.into_schemas())
        .security_scheme(
            ADMIN,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`server.admin_token`, as `Authorization: Bearer <token>`."))
                    .build(),
            ),
        )
        .security_scheme(
            KEY,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A virtual key (or an RS256 JWT with `[jwt]`), as `Authorization: Bearer <key>`. Needed once any key exists or `[jwt]` is set.",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            KEY_HEADER,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "A virtual key the Anthropic way.",
            ))),
        )
        .build();
    let tags = ops::TAGS.iter().map(|(name, about)| {
        TagBuilder::new()
            .name(*name)
            .description(Some(*about))
            .build()
    });
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("llm-gateway")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A self-hosted LLM gateway: the OpenAI and Anthropic APIs in front of many providers, with keys, limits, budgets, records, routing and a portal.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .tags(Some(tags))
        .build()
}

fn method(m: &Method) -> HttpMethod {
    match *m {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn operation(
    reg: &mut Registry,
    spec: &Spec,
    access: Access,
    param: Option<&str>,
    aliases: Option<String>,
    error: &RefOr<Schema>,
) -> utoipa::openapi::path::Operation {
    let description = match (spec.about, aliases) {
        ("", None) => None,
        (about, None) => Some(about.to_string()),
        ("", Some(a)) => Some(a),
        (about, Some(a)) => Some(format!("{about}\n\n{a}")),
    };
    let mut op = OperationBuilder::new()
        .operation_id(Some(spec.id))
        .summary(Some(spec.summary))
        .description(description)
        .tag(spec.tag);
    if let Some(name) = param {
        op = op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1)),
                ))
                .description(Some(spec.param)),
        );
    }
    for q in spec.query {
        op = op.parameter(query(q));
    }
    match &spec.body {
        Body::None => {}
        Body::Json(schema, required) => {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(schema(reg))).build(),
                    )
                    .required(Some(if *required {
                        Required::True
                    } else {
                        Required::False
                    }))
                    .build(),
            ));
        }
        Body::Toml => {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/toml",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            ));
        }
    }
    let (status, answer) = match &spec.answer {
        Answer::Json(status, schema) => (
            *status,
            ResponseBuilder::new()
                .description(spec.answered)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema(reg))).build(),
                )
                .build(),
        ),
        Answer::JsonOrStream(schema, event) => (
            200,
            ResponseBuilder::new()
                .description(spec.answered)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema(reg))).build(),
                )
                .content(
                    "text/event-stream",
                    ContentBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .description(Some(*event)),
                        ))
                        .build(),
                )
                .build(),
        ),
        Answer::Text(mime) => (
            200,
            ResponseBuilder::new()
                .description(spec.answered)
                .content(
                    *mime,
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build(),
                )
                .build(),
        ),
    };
    op = op.response(status.to_string(), answer);
    let failure = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(error.clone())).build(),
            )
            .build()
    };
    for (code, what) in spec.errors {
        op = op.response(code.to_string(), failure(what));
    }
    if !matches!(spec.body, Body::None) {
        op = op.response(
            "413",
            failure("The body is larger than the endpoint takes."),
        );
        if matches!(spec.body, Body::Json(..)) {
            op = op.response("415", failure("The body is not `application/json`."));
        }
    }
    match access {
        Access::Public => {}
        Access::Admin => {
            op = op
                .security(SecurityRequirement::new(ADMIN, Vec::<String>::new()))
                .response("401", failure("No admin token, or a wrong one."));
        }
        Access::Key => {
            op = op
                .security(SecurityRequirement::new(KEY, Vec::<String>::new()))
                .security(SecurityRequirement::new(KEY_HEADER, Vec::<String>::new()))
                .security(SecurityRequirement::default())
                .response(
                    "401",
                    failure("Keys are in use and none, or a revoked one, was sent."),
                );
        }
    }
    op.build()
}

fn query(q: &Query) -> utoipa::openapi::path::Parameter {
    let mut schema = ObjectBuilder::new().schema_type(q.kind.clone());
    if !q.values.is_empty() {
        schema = schema.enum_values(Some(q.values.iter().copied()));
    }
    if q.kind == Type::Integer {
        schema = schema.minimum(Some(q.min));
    }
    ParameterBuilder::new()
        .name(q.name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .schema(Some(schema))
        .description(Some(q.about))
        .build()
}

#[cfg(test)]
mod tests;
