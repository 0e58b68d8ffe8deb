//! The path table of the LLM endpoints ([`ENDPOINTS`]): which operation a path asks for and
//! which wire format its caller speaks. Pure.

use crate::config::ApiFormat;
use crate::errors::ErrorFormat;
use crate::runtime::provider::Operation;
use crate::translate::bridge::Bridge;

/// An LLM endpoint: the operation and the wire format the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub op: Operation,
    pub format: ApiFormat,
    /// Label in metrics and the access log.
    pub label: &'static str,
    /// Served through a bridge to Chat Completions (the Responses API).
    pub bridge: Option<Bridge>,
}

/// One row of the LLM endpoint table: the paths that serve it (the `/v1` one first).
#[derive(Debug, Clone, Copy)]
pub struct EndpointRoute {
    pub paths: &'static [&'static str],
    pub endpoint: Endpoint,
}

const fn row(
    paths: &'static [&'static str],
    op: Operation,
    format: ApiFormat,
    label: &'static str,
) -> EndpointRoute {
    EndpointRoute {
        paths,
        endpoint: Endpoint {
            op,
            format,
            label,
            bridge: None,
        },
    }
}

/// Every LLM endpoint (all `POST`). `GET /` lists them from here.
pub const ENDPOINTS: &[EndpointRoute] = &[
    row(
        &["/v1/chat/completions", "/chat/completions"],
        Operation::ChatCompletions,
        ApiFormat::Openai,
        "chat_completions",
    ),
    row(
        &["/v1/messages", "/messages"],
        Operation::ChatCompletions,
        ApiFormat::Anthropic,
        "messages",
    ),
    row(
        &["/v1/completions", "/completions"],
        Operation::Completions,
        ApiFormat::Openai,
        "completions",
    ),
    row(
        &["/v1/embeddings", "/embeddings"],
        Operation::Embeddings,
        ApiFormat::Openai,
        "embeddings",
    ),
    row(
        &["/v1/moderations", "/moderations"],
        Operation::Moderations,
        ApiFormat::Openai,
        "moderations",
    ),
    row(
        &["/v1/images/generations", "/images/generations"],
        Operation::ImageGenerations,
        ApiFormat::Openai,
        "images_generations",
    ),
    EndpointRoute {
        paths: &["/v1/responses", "/responses"],
        endpoint: Endpoint {
            op: Operation::ChatCompletions,
            format: ApiFormat::Openai,
            label: "responses",
            bridge: Some(Bridge::Responses),
        },
    },
];

impl Endpoint {
    /// The LLM endpoint served at `path`, if any.
    pub fn for_path(path: &str) -> Option<Endpoint> {
        ENDPOINTS
            .iter()
            .find(|r| r.paths.contains(&path))
            .map(|r| r.endpoint)
    }

    /// How errors are rendered to this endpoint's callers.
    pub fn error_format(self) -> ErrorFormat {
        match self.format {
            ApiFormat::Anthropic => ErrorFormat::Anthropic,
            ApiFormat::Openai | ApiFormat::Gemini => ErrorFormat::OpenAi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let ep = Endpoint::for_path("/v1/messages").unwrap();
        assert_eq!((ep.format, ep.label), (ApiFormat::Anthropic, "messages"));
        assert_eq!(ep.error_format(), ErrorFormat::Anthropic);
        assert_eq!(
            Endpoint::for_path("/embeddings").unwrap().op,
            Operation::Embeddings
        );
        assert!(Endpoint::for_path("/v1/models").is_none());
    }
}
