//! Validation of `[[providers]]`: ids, endpoints, what each provider type requires, the
//! api_format each type may speak, and the retry / circuit-breaker overrides.

use std::collections::HashMap;

use super::{Checker, root};
use crate::config::model::{ApiFormat, ProviderType};

impl Checker<'_> {
    pub(super) fn providers(&mut self) {
        let config = self.config;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, p) in config.providers.iter().enumerate() {
            let at = root("providers").index(i);
            if p.id.trim().is_empty() {
                self.add(at.key("id"), "provider id must not be empty");
            } else if p.id.contains('/') {
                self.add(
                    at.key("id"),
                    format!("provider id `{}` must not contain `/`", p.id),
                );
            } else if let Some(first) = seen.insert(p.id.as_str(), i) {
                self.add(
                    at.key("id"),
                    format!(
                        "duplicate provider id `{}` (already used by providers[{first}])",
                        p.id
                    ),
                );
            }
            if let Some(endpoint) = &p.endpoint {
                self.url(at.key("endpoint"), endpoint);
            }
            for (j, endpoint) in p.endpoints.iter().enumerate() {
                self.url(at.key("endpoints").index(j), endpoint);
            }
            if p.endpoint.is_some() && !p.endpoints.is_empty() {
                self.add(
                    at.key("endpoints"),
                    "set either `endpoint` or `endpoints`, not both",
                );
            }
            let ty = p.provider_type;
            match ty {
                ProviderType::Local if p.endpoint.is_none() && p.endpoints.is_empty() => {
                    self.add(
                        at.key("endpoint"),
                        "provider_type local needs `endpoint` or `endpoints`",
                    );
                }
                ProviderType::AzureOpenai if p.endpoint.is_none() => {
                    self.add(
                        at.key("endpoint"),
                        "provider_type azure_openai needs `endpoint`",
                    );
                }
                ProviderType::Bedrock => {
                    self.add(
                        at.key("provider_type"),
                        "provider_type bedrock is not supported in this build",
                    );
                }
                ProviderType::Mock if p.api_key.is_some() => {
                    self.add(at.key("api_key"), "provider_type mock takes no `api_key`");
                }
                _ => {}
            }
            if p.health_check_interval_ms.is_some_and(|ms| ms < 50) {
                self.add(
                    at.key("health_check_interval_ms"),
                    "must be at least 50 (milliseconds)",
                );
            }
            if p.health_check_interval_ms.is_some() && p.endpoints.len() < 2 {
                self.add(
                    at.key("health_check_interval_ms"),
                    "only applies to a provider with several `endpoints`",
                );
            }
            // (format name, allowed?, the provider types that may speak it)
            let format_rule = match p.api_format {
                Some(ApiFormat::Gemini) => Some((
                    "gemini",
                    matches!(ty, ProviderType::Google | ProviderType::Mock),
                    "google or mock",
                )),
                Some(ApiFormat::Anthropic) => Some((
                    "anthropic",
                    matches!(
                        ty,
                        ProviderType::Anthropic | ProviderType::Mock | ProviderType::Local
                    ),
                    "anthropic, mock or local",
                )),
                Some(ApiFormat::Openai) | None => None,
            };
            if let Some((name, false, allowed)) = format_rule {
                self.add(
                    at.key("api_format"),
                    format!(
                        "api_format {name} is only available for provider_type {allowed}, not {}",
                        ty.as_str()
                    ),
                );
            }
            if let Some(o) = &p.retry_policy {
                let merged = config.resilience.default_retry_policy.with_override(o);
                let set = |field: &str| match field {
                    "max_attempts" => o.max_attempts.is_some(),
                    "base_delay_ms" => o.base_delay_ms.is_some(),
                    "max_delay_ms" => o.max_delay_ms.is_some(),
                    "retryable_statuses" => o.retryable_statuses.is_some(),
                    _ => false,
                };
                self.retry(&at.key("retry_policy"), &merged, &set);
            }
            if let Some(o) = &p.circuit_breaker_config {
                self.breaker(
                    &at.key("circuit_breaker_config"),
                    o.failure_threshold,
                    o.half_open_max_concurrent,
                    o.initial_open_secs,
                );
            }
            for (j, model) in p.models.iter().flatten().enumerate() {
                if model.trim().is_empty() {
                    self.add(at.key("models").index(j), "model id must not be empty");
                }
            }
        }
    }
}
