//! Which endpoint a request path names. Pure; entry point [`route`].
//!
//! OpenAI paths are accepted with and without `/v1`, Azure's
//! `/openai/deployments/{deployment}/...` too; Gemini's `models/{model}:generateContent` and
//! `:streamGenerateContent` with `/v1beta`, `/v1` or no prefix (the model percent-decoded).

use http::Method;

/// An endpoint of the mock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    OpenAiChat { deployment: Option<String> },
    OpenAiCompletions { deployment: Option<String> },
    OpenAiEmbeddings { deployment: Option<String> },
    OpenAiModerations,
    OpenAiImages,
    OpenAiModels,
    AnthropicMessages,
    Gemini { model: String, stream: bool },
    MockLog,
    Health,
    NotFound,
}

/// Whose error format an endpoint answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Route {
    pub(crate) fn family(&self) -> Family {
        match self {
            Route::AnthropicMessages => Family::Anthropic,
            Route::Gemini { .. } => Family::Gemini,
            Route::OpenAiChat { .. }
            | Route::OpenAiCompletions { .. }
            | Route::OpenAiEmbeddings { .. }
            | Route::OpenAiModerations
            | Route::OpenAiImages
            | Route::OpenAiModels
            | Route::MockLog
            | Route::Health
            | Route::NotFound => Family::OpenAi,
        }
    }

    /// Whether `method` is served on this endpoint.
    pub(crate) fn allows(&self, method: &Method) -> bool {
        match self {
            Route::OpenAiModels | Route::Health => method == Method::GET,
            Route::MockLog => method == Method::GET || method == Method::DELETE,
            Route::OpenAiChat { .. }
            | Route::OpenAiCompletions { .. }
            | Route::OpenAiEmbeddings { .. }
            | Route::OpenAiModerations
            | Route::OpenAiImages
            | Route::AnthropicMessages
            | Route::Gemini { .. } => method == Method::POST,
            Route::NotFound => true,
        }
    }
}

/// The endpoint a path names.
pub(crate) fn route(path: &str) -> Route {
    match path {
        "/_mock/log" => return Route::MockLog,
        "/health" => return Route::Health,
        "/v1/messages" | "/messages" => return Route::AnthropicMessages,
        "/v1/models" | "/models" => return Route::OpenAiModels,
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        let Some((deployment, tail)) = rest.split_once('/') else {
            return Route::NotFound;
        };
        return openai(tail, Some(crate::uri::decode(deployment)));
    }
    let unversioned = path
        .strip_prefix("/v1beta")
        .or_else(|| path.strip_prefix("/v1"))
        .unwrap_or(path);
    if let Some(rest) = unversioned.strip_prefix("/models/")
        && let Some((model, method)) = rest.rsplit_once(':')
    {
        let stream = match method {
            "generateContent" => false,
            "streamGenerateContent" => true,
            _ => return Route::NotFound,
        };
        return Route::Gemini {
            model: crate::uri::decode(model),
            stream,
        };
    }
    if path.starts_with("/v1beta") {
        return Route::NotFound;
    }
    openai(unversioned.trim_start_matches('/'), None)
}

fn openai(tail: &str, deployment: Option<String>) -> Route {
    match tail {
        "chat/completions" => Route::OpenAiChat { deployment },
        "completions" => Route::OpenAiCompletions { deployment },
        "embeddings" => Route::OpenAiEmbeddings { deployment },
        "moderations" => Route::OpenAiModerations,
        "images/generations" => Route::OpenAiImages,
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_paths_with_and_without_v1_and_azure() {
        let chat = Route::OpenAiChat { deployment: None };
        assert_eq!(route("/v1/chat/completions"), chat);
        assert_eq!(route("/chat/completions"), chat);
        assert_eq!(
            route("/completions"),
            Route::OpenAiCompletions { deployment: None }
        );
        assert_eq!(
            route("/v1/embeddings"),
            Route::OpenAiEmbeddings { deployment: None }
        );
        assert_eq!(route("/models"), Route::OpenAiModels);
        assert_eq!(
            route("/openai/deployments/my-gpt/chat/completions"),
            Route::OpenAiChat {
                deployment: Some("my-gpt".into())
            }
        );
        assert_eq!(
            route("/openai/deployments/emb/embeddings"),
            Route::OpenAiEmbeddings {
                deployment: Some("emb".into())
            }
        );
        assert_eq!(route("/openai/deployments/x"), Route::NotFound);
    }

    #[test]
    fn anthropic_gemini_and_control_paths() {
        assert_eq!(route("/v1/messages"), Route::AnthropicMessages);
        assert_eq!(
            route("/v1beta/models/echo;delay=5:streamGenerateContent"),
            Route::Gemini {
                model: "echo;delay=5".into(),
                stream: true
            }
        );
        assert_eq!(
            route("/models/mock%2Fstream-cut:generateContent"),
            Route::Gemini {
                model: "mock/stream-cut".into(),
                stream: false
            }
        );
        assert_eq!(route("/v1beta/models/x:countTokens"), Route::NotFound);
        assert_eq!(route("/_mock/log"), Route::MockLog);
        assert_eq!(route("/health"), Route::Health);
        assert_eq!(route("/nope"), Route::NotFound);
        assert_eq!(route("/v1beta/chat/completions"), Route::NotFound);
    }

    #[test]
    fn methods() {
        assert!(route("/v1/models").allows(&Method::GET));
        assert!(!route("/v1/messages").allows(&Method::GET));
        assert!(route("/_mock/log").allows(&Method::DELETE));
    }
}
