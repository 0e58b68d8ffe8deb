//! The path table of the LLM endpoints: which operation a path asks for and which wire format
//! its caller speaks. Pure.

use crate::config::ApiFormat;
use crate::errors::ErrorFormat;
use crate::runtime::provider::Operation;

/// An LLM endpoint: the operation and the wire format the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub op: Operation,
    pub format: ApiFormat,
    /// Label in metrics and the access log.
    pub label: &'static str,
}

impl Endpoint {
    /// The LLM endpoint served at `path`, if any.
    pub fn for_path(path: &str) -> Option<Endpoint> {
        let (op, format, label) = match path {
            "/v1/chat/completions" | "/chat/completions" => (
                Operation::ChatCompletions,
                ApiFormat::Openai,
                "chat_completions",
            ),
            "/v1/messages" | "/messages" => {
                (Operation::ChatCompletions, ApiFormat::Anthropic, "messages")
            }
            "/v1/completions" | "/completions" => {
                (Operation::Completions, ApiFormat::Openai, "completions")
            }
            "/v1/embeddings" | "/embeddings" => {
                (Operation::Embeddings, ApiFormat::Openai, "embeddings")
            }
            _ => return None,
        };
        Some(Endpoint { op, format, label })
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
