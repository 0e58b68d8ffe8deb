//! Runtime view of a configured provider: where it lives (parsed endpoint), how it
//! authenticates, which wire format it speaks, and the upstream path of each operation.
//!
//! Pure: building a [`Provider`] does no I/O (DNS happens per attempt in `upstream::dns`).

use crate::config::{
    ApiFormat, CircuitBreakerConfig, ProviderConfig, ProviderType, RetryPolicy, Secret,
};
use crate::resilience;

/// Default Azure OpenAI `api-version` when the config has none.
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

/// The `anthropic-version` header sent to Anthropic-format providers.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A parsed upstream base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing `/` (e.g. `/v1`).
    pub base_path: String,
    /// Value of the `Host` header (with the port when it is not the scheme's default).
    pub host_header: String,
}

impl Endpoint {
    /// Parses an absolute `http://` or `https://` URL.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let parsed =
            url::Url::parse(url).map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
        let tls = match parsed.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("`{url}`: scheme `{other}` is not http or https")),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(format!("`{url}` has no host")),
        };
        let default_port = if tls { 443 } else { 80 };
        let port = parsed.port().unwrap_or(default_port);
        let host_header = match (parsed.host(), parsed.port()) {
            (Some(url::Host::Ipv6(ip)), Some(p)) => format!("[{ip}]:{p}"),
            (Some(url::Host::Ipv6(ip)), None) => format!("[{ip}]"),
            (_, Some(p)) => format!("{host}:{p}"),
            (_, None) => host.clone(),
        };
        let base_path = parsed.path().trim_end_matches('/').to_string();
        Ok(Endpoint {
            tls,
            host,
            port,
            base_path,
            host_header,
        })
    }
}

/// What a request asks a provider to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ChatCompletions,
    Completions,
    Embeddings,
    /// `/moderations`, passed to an OpenAI-format provider as sent.
    Moderations,
    /// `/images/generations`, passed to an OpenAI-format provider as sent.
    ImageGenerations,
}

impl Operation {
    fn openai_suffix(self) -> &'static str {
        match self {
            Self::ChatCompletions => "/chat/completions",
            Self::Completions => "/completions",
            Self::Embeddings => "/embeddings",
            Self::Moderations => "/moderations",
            Self::ImageGenerations => "/images/generations",
        }
    }

    /// Label used in metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            Self::ChatCompletions => "chat_completions",
            Self::Completions => "completions",
            Self::Embeddings => "embeddings",
            Self::Moderations => "moderations",
            Self::ImageGenerations => "images_generations",
        }
    }
}

/// A provider ready for the request path.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    pub provider_type: ProviderType,
    pub format: ApiFormat,
    pub endpoint: Endpoint,
    pub api_key: Option<Secret>,
    pub deployment: Option<String>,
    pub api_version: String,
    pub retry: resilience::policy::RetryPolicy,
    pub breaker: resilience::policy::BreakerPolicy,
    pub ttft_ms: Option<u64>,
    /// `max_tokens` for formats that require it when the request has none.
    pub default_max_tokens: Option<u32>,
    /// Continues an answer given as a trailing assistant message (mid-stream rescue).
    pub supports_prefill: bool,
    /// The config lists its `models` (catalog sync never changes them).
    pub lists_models: bool,
}

/// The default base URL of a provider type (seed 001), if it has one.
pub fn default_endpoint(t: ProviderType, format: ApiFormat) -> Option<&'static str> {
    match (t, format) {
        (ProviderType::Openai, _) => Some("https://api.openai.com/v1"),
        (ProviderType::Anthropic, _) => Some("https://api.anthropic.com"),
        (ProviderType::Google, ApiFormat::Gemini) => {
            Some("https://generativelanguage.googleapis.com/v1beta")
        }
        (ProviderType::Google, _) => {
            Some("https://generativelanguage.googleapis.com/v1beta/openai")
        }
        (ProviderType::DeepInfra, _) => Some("https://api.deepinfra.com/v1/openai"),
        (ProviderType::Groq, _) => Some("https://api.groq.com/openai/v1"),
        (ProviderType::Mistral, _) => Some("https://api.mistral.ai/v1"),
        (ProviderType::Meta, _) => Some("https://api.llama.com/compat/v1"),
        (ProviderType::AzureOpenai | ProviderType::Local | ProviderType::Bedrock, _) => None,
        (ProviderType::Mock, _) => None,
    }
}

/// Whether a provider type continues a trailing assistant message unless `supports_prefill`
/// says otherwise: Anthropic does; self-hosted OpenAI-compatible servers (`local`) and the
/// mock usually do; OpenAI, Azure, Gemini and the hosted OpenAI-compatible services refuse it
/// or start a new turn.
pub fn prefill_by_default(t: ProviderType, format: ApiFormat) -> bool {
    matches!(
        t,
        ProviderType::Anthropic | ProviderType::Local | ProviderType::Mock
    ) || format == ApiFormat::Anthropic
}

/// The wire format a provider type speaks unless `api_format` says otherwise.
pub fn default_format(t: ProviderType) -> ApiFormat {
    match t {
        ProviderType::Anthropic => ApiFormat::Anthropic,
        _ => ApiFormat::Openai,
    }
}

impl Provider {
    /// Builds the runtime provider. `endpoint_override` is used for `mock` providers, whose
    /// address is only known once the in-process mock is bound.
    pub fn from_config(
        p: &ProviderConfig,
        default_retry: &RetryPolicy,
        endpoint_override: Option<&str>,
    ) -> Result<Provider, String> {
        Self::with_breaker(
            p,
            default_retry,
            &CircuitBreakerConfig::default(),
            endpoint_override,
        )
    }

    /// [`Provider::from_config`] with the config's default circuit breaker.
    pub fn with_breaker(
        p: &ProviderConfig,
        default_retry: &RetryPolicy,
        default_breaker: &CircuitBreakerConfig,
        endpoint_override: Option<&str>,
    ) -> Result<Provider, String> {
        if p.provider_type == ProviderType::Mock && endpoint_override.is_none() {
            return Err(format!(
                "mock provider `{}` has no running mock upstream",
                p.id
            ));
        }
        let format = p
            .api_format
            .unwrap_or_else(|| default_format(p.provider_type));
        let url = endpoint_override
            .or(p.endpoint.as_deref())
            .or(p.endpoints.first().map(String::as_str))
            .or(default_endpoint(p.provider_type, format))
            .ok_or_else(|| format!("provider `{}` needs an `endpoint`", p.id))?;
        let endpoint = Endpoint::parse(url)?;
        Ok(Provider {
            id: p.id.clone(),
            provider_type: p.provider_type,
            format,
            endpoint,
            api_key: p.api_key.clone().filter(|k| !k.is_empty()),
            deployment: p.deployment.clone(),
            api_version: p
                .api_version
                .clone()
                .unwrap_or_else(|| AZURE_DEFAULT_API_VERSION.into()),
            retry: resilience::policy::RetryPolicy::from(
                &p.retry_policy
                    .as_ref()
                    .map_or_else(|| default_retry.clone(), |o| default_retry.with_override(o)),
            ),
            breaker: resilience::policy::BreakerPolicy::from(&match &p.circuit_breaker_config {
                Some(o) => CircuitBreakerConfig {
                    failure_threshold: o
                        .failure_threshold
                        .unwrap_or(default_breaker.failure_threshold),
                    failure_window_secs: o
                        .failure_window_secs
                        .unwrap_or(default_breaker.failure_window_secs),
                    open_duration_secs: o
                        .open_duration_secs
                        .unwrap_or(default_breaker.open_duration_secs),
                    initial_open_secs: o
                        .initial_open_secs
                        .unwrap_or(default_breaker.initial_open_secs),
                    half_open_max_concurrent: o
                        .half_open_max_concurrent
                        .unwrap_or(default_breaker.half_open_max_concurrent),
                },
                None => default_breaker.clone(),
            }),
            ttft_ms: p.ttft_ms,
            default_max_tokens: p.default_max_tokens,
            supports_prefill: p
                .supports_prefill
                .unwrap_or_else(|| prefill_by_default(p.provider_type, format)),
            lists_models: p.models.is_some(),
        })
    }

    /// The path of the provider's model list (catalog sync); `None` where there is none to
    /// read (Azure lists deployments, not models; Bedrock is not listed).
    pub fn models_path(&self) -> Option<String> {
        let base = &self.endpoint.base_path;
        match (self.provider_type, self.format) {
            (ProviderType::AzureOpenai | ProviderType::Bedrock, _) => None,
            (_, ApiFormat::Anthropic) if !base.ends_with("/v1") => {
                Some(format!("{base}/v1/models"))
            }
            _ => Some(format!("{base}/models")),
        }
    }

    /// Whether requests to this provider need an API key.
    pub fn needs_key(&self) -> bool {
        self.provider_type.needs_key()
    }

    /// The catalog model a pinned `model` is priced as when it is not listed itself: the
    /// mock's models take options after `;` (`tokens;n=3` is priced as `tokens`). The runtime's
    /// mock special cases live here and in [`Provider::with_breaker`].
    pub fn card_model<'m>(&self, model: &'m str) -> Option<&'m str> {
        if self.provider_type == ProviderType::Mock {
            model.split(';').next()
        } else {
            None
        }
    }

    /// Upstream path (with query) for an OpenAI-format operation on `model`.
    pub fn openai_path(&self, op: Operation, model: &str) -> String {
        let base = &self.endpoint.base_path;
        if self.provider_type != ProviderType::AzureOpenai {
            return format!("{base}{}", op.openai_suffix());
        }
        let version = &self.api_version;
        let suffix = op.openai_suffix();
        if base.contains("/openai/deployments/") {
            format!("{base}{suffix}?api-version={version}")
        } else {
            // The deployment defaults to the client's model: encoded, never a path of its own.
            let deployment =
                crate::uri::encode_segment(self.deployment.as_deref().unwrap_or(model));
            let version = crate::uri::encode_segment(version);
            format!("{base}/openai/deployments/{deployment}{suffix}?api-version={version}")
        }
    }

    /// Upstream path of an Anthropic Messages call (`/v1/messages` under the base URL, unless
    /// the base already ends in `/v1`).
    pub fn anthropic_path(&self) -> String {
        let base = &self.endpoint.base_path;
        if base.ends_with("/v1") {
            format!("{base}/messages")
        } else {
            format!("{base}/v1/messages")
        }
    }

    /// Upstream path of a native Gemini call; the model goes in the path.
    pub fn gemini_path(&self, model: &str, stream: bool) -> String {
        let base = &self.endpoint.base_path;
        let model = crate::uri::encode_segment(model);
        if stream {
            format!("{base}/models/{model}:streamGenerateContent?alt=sse")
        } else {
            format!("{base}/models/{model}:generateContent")
        }
    }

    /// Headers a wire format needs besides authentication.
    pub fn format_headers(&self) -> &'static [(&'static str, &'static str)] {
        match self.format {
            ApiFormat::Anthropic => &[("anthropic-version", ANTHROPIC_VERSION)],
            ApiFormat::Openai | ApiFormat::Gemini => &[],
        }
    }

    /// The authentication header for `key`, as this provider expects it.
    pub fn auth_header(&self, key: &Secret) -> (&'static str, String) {
        match (self.provider_type, self.format) {
            (ProviderType::AzureOpenai, _) => ("api-key", key.expose().to_string()),
            (_, ApiFormat::Anthropic) => ("x-api-key", key.expose().to_string()),
            (_, ApiFormat::Gemini) => ("x-goog-api-key", key.expose().to_string()),
            (_, ApiFormat::Openai) => ("authorization", format!("Bearer {}", key.expose())),
        }
    }
}

/// `[provider_quota]`, as the snapshot holds it (enforced by `limits::quota`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSettings {
    pub threshold: f64,
    /// Per provider id: its requests and tokens per minute (0: not limited).
    pub providers: std::collections::HashMap<String, (u64, u64)>,
}

impl QuotaSettings {
    pub fn from_config(c: &crate::config::model::ProviderQuotaConfig) -> Option<QuotaSettings> {
        c.enabled.then(|| QuotaSettings {
            threshold: c.deprioritize_threshold,
            providers: c
                .provider_limits
                .iter()
                .map(|(id, l)| (id.clone(), (u64::from(l.rpm), u64::from(l.tpm))))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> ProviderConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("https://api.openai.com/v1/").unwrap();
        assert_eq!(
            (e.tls, e.port, e.base_path.as_str(), e.host_header.as_str()),
            (true, 443, "/v1", "api.openai.com")
        );
        let e = Endpoint::parse("http://127.0.0.1:8000").unwrap();
        assert_eq!(
            (e.tls, e.port, e.base_path.as_str(), e.host_header.as_str()),
            (false, 8000, "", "127.0.0.1:8000")
        );
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("nope").is_err());
    }

    #[test]
    fn openai_paths_and_auth() {
        let p = Provider::from_config(
            &cfg("id='o'\nprovider_type='openai'\napi_key='sk'"),
            &RetryPolicy::default(),
            None,
        )
        .unwrap();
        assert_eq!(
            p.openai_path(Operation::ChatCompletions, "gpt-4o"),
            "/v1/chat/completions"
        );
        assert_eq!(
            p.auth_header(&Secret::new("sk")),
            ("authorization", "Bearer sk".to_string())
        );
        let g = Provider::from_config(
            &cfg("id='g'\nprovider_type='groq'"),
            &RetryPolicy::default(),
            None,
        )
        .unwrap();
        assert_eq!(
            g.openai_path(Operation::Embeddings, "x"),
            "/openai/v1/embeddings"
        );
    }

    #[test]
    fn azure_paths() {
        let a = Provider::from_config(
            &cfg("id='az'\nprovider_type='azure_openai'\nendpoint='https://r.openai.azure.com'\ndeployment='prod-4o'\napi_version='2024-08-01-preview'"),
            &RetryPolicy::default(),
            None,
        )
        .unwrap();
        assert_eq!(
            a.openai_path(Operation::ChatCompletions, "gpt-4o"),
            "/openai/deployments/prod-4o/chat/completions?api-version=2024-08-01-preview"
        );
        assert_eq!(a.auth_header(&Secret::new("k")).0, "api-key");
        let b = Provider::from_config(
            &cfg("id='az'\nprovider_type='azure_openai'\nendpoint='https://r.openai.azure.com/openai/deployments/d1'"),
            &RetryPolicy::default(),
            None,
        )
        .unwrap();
        assert_eq!(
            b.openai_path(Operation::ChatCompletions, "gpt-4o"),
            format!(
                "/openai/deployments/d1/chat/completions?api-version={AZURE_DEFAULT_API_VERSION}"
            )
        );
    }

    #[test]
    fn anthropic_and_gemini_paths() {
        let a = Provider::from_config(
            &cfg("id='a'\nprovider_type='anthropic'"),
            &RetryPolicy::default(),
            None,
        )
        .unwrap();
        assert_eq!(a.anthropic_path(), "/v1/messages");
        assert_eq!(a.auth_header(&Secret::new("k")).0, "x-api-key");
        let m = Provider::from_config(
            &cfg("id='m'\nprovider_type='mock'\napi_format='anthropic'"),
            &RetryPolicy::default(),
            Some("http://127.0.0.1:1/v1"),
        )
        .unwrap();
        assert_eq!(m.anthropic_path(), "/v1/messages");
        let g = Provider::from_config(
            &cfg("id='g'\nprovider_type='google'\napi_format='gemini'"),
            &RetryPolicy::default(),
            None,
        )
        .unwrap();
        assert_eq!(
            g.gemini_path("gemini-2.5-flash", true),
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            g.gemini_path("echo;n=2", false),
            "/v1beta/models/echo%3Bn%3D2:generateContent"
        );
        assert_eq!(g.auth_header(&Secret::new("k")).0, "x-goog-api-key");
    }

    #[test]
    fn local_needs_endpoint() {
        assert!(
            Provider::from_config(
                &cfg("id='l'\nprovider_type='local'"),
                &RetryPolicy::default(),
                None
            )
            .is_err()
        );
    }
}
