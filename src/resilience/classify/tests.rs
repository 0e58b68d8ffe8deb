//! Table tests: (status, body in each provider's format, policy) → classification.

use super::*;

use FailureKind as K;
use Verdict as V;

fn openai(kind: &str, code: &str, message: &str) -> String {
    serde_json::json!({"error": {"message": message, "type": kind, "code": code, "param": null}})
        .to_string()
}

fn anthropic(kind: &str, message: &str) -> String {
    serde_json::json!({"type": "error", "error": {"type": kind, "message": message}}).to_string()
}

fn gemini(code: u16, status: &str, message: &str) -> String {
    serde_json::json!({"error": {"code": code, "message": message, "status": status}}).to_string()
}

fn no_429() -> RetryPolicy {
    RetryPolicy {
        retryable_statuses: vec![408, 500, 502, 503, 504],
        ..RetryPolicy::default()
    }
}

fn only_500() -> RetryPolicy {
    RetryPolicy {
        retryable_statuses: vec![500],
        ..RetryPolicy::default()
    }
}

fn c(kind: FailureKind, verdict: Verdict, trips_breaker: bool) -> Classified {
    Classified {
        kind,
        verdict,
        trips_breaker,
    }
}

#[test]
fn status_and_body_table() {
    let dflt = RetryPolicy::default();
    #[rustfmt::skip]
    let cases: Vec<(u16, String, RetryPolicy, Classified)> = vec![
        // 429: rate limit vs exhausted quota.
        (429, openai("requests", "rate_limit_exceeded", "Rate limit reached for gpt-4o on tokens per min (TPM). Please try again in 6ms."), dflt.clone(), c(K::RateLimited, V::Retry, true)),
        (429, anthropic("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), dflt.clone(), c(K::RateLimited, V::Retry, true)),
        (429, gemini(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."), dflt.clone(), c(K::RateLimited, V::Retry, true)),
        (429, openai("requests", "rate_limit_exceeded", "Rate limit reached"), no_429(), c(K::RateLimited, V::FailOver, true)),
        (429, "slow down!!".into(), no_429(), c(K::RateLimited, V::FailOver, true)),
        (429, String::new(), dflt.clone(), c(K::RateLimited, V::Retry, true)),
        (429, openai("insufficient_quota", "insufficient_quota", "You exceeded your current quota, please check your plan and billing details."), dflt.clone(), c(K::QuotaExhausted, V::FailOver, true)),
        (429, anthropic("rate_limit_error", "Your credit balance is too low to access the API."), dflt.clone(), c(K::QuotaExhausted, V::FailOver, true)),
        (429, gemini(429, "RESOURCE_EXHAUSTED", "Please check your plan and BILLING details."), no_429(), c(K::QuotaExhausted, V::FailOver, true)),
        // Overloaded.
        (529, anthropic("overloaded_error", "Overloaded"), dflt.clone(), c(K::Overloaded, V::Retry, true)),
        (529, "garbage \x00 not json".into(), dflt.clone(), c(K::Overloaded, V::Retry, true)),
        (529, anthropic("overloaded_error", "Overloaded"), only_500(), c(K::Overloaded, V::FailOver, true)),
        (503, gemini(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), dflt.clone(), c(K::Overloaded, V::Retry, true)),
        (500, anthropic("overloaded_error", "Overloaded"), dflt.clone(), c(K::Overloaded, V::Retry, true)),
        (503, openai("server_error", "", "The engine is currently overloaded"), only_500(), c(K::Overloaded, V::FailOver, true)),
        // Other 5xx.
        (500, openai("server_error", "", "The server had an error while processing your request."), dflt.clone(), c(K::ServerError, V::Retry, true)),
        (500, anthropic("api_error", "Internal server error"), dflt.clone(), c(K::ServerError, V::Retry, true)),
        (500, gemini(500, "INTERNAL", "An internal error has occurred."), dflt.clone(), c(K::ServerError, V::Retry, true)),
        (502, "<html><body>502 Bad Gateway</body></html>".into(), dflt.clone(), c(K::ServerError, V::Retry, true)),
        (501, String::new(), dflt.clone(), c(K::ServerError, V::FailOver, true)),
        (504, "{not json".into(), only_500(), c(K::ServerError, V::FailOver, true)),
        // Timeouts.
        (408, String::new(), dflt.clone(), c(K::Timeout, V::Retry, true)),
        (408, String::new(), only_500(), c(K::Timeout, V::FailOver, true)),
        // Context length.
        (400, openai("invalid_request_error", "context_length_exceeded", "This model's maximum context length is 8192 tokens."), dflt.clone(), c(K::ContextLength, V::FailOver, false)),
        (400, anthropic("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"), dflt.clone(), c(K::ContextLength, V::FailOver, false)),
        (400, gemini(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."), dflt.clone(), c(K::ContextLength, V::FailOver, false)),
        (422, "Too many tokens in the request".into(), dflt.clone(), c(K::ContextLength, V::FailOver, false)),
        (413, anthropic("request_too_large", "Request exceeds the maximum allowed number of bytes."), dflt.clone(), c(K::ContextLength, V::FailOver, false)),
        (413, "garbage".into(), dflt.clone(), c(K::ContextLength, V::FailOver, false)),
        // Content policy.
        (400, openai("invalid_request_error", "content_policy_violation", "Your request was rejected as a result of our safety system."), dflt.clone(), c(K::ContentPolicy, V::GiveUp, false)),
        (400, openai("invalid_request_error", "content_filter", "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."), dflt.clone(), c(K::ContentPolicy, V::GiveUp, false)),
        (400, anthropic("invalid_request_error", "Output blocked by content filtering policy"), dflt.clone(), c(K::ContentPolicy, V::GiveUp, false)),
        (400, gemini(400, "INVALID_ARGUMENT", "Request blocked: finishReason SAFETY"), dflt.clone(), c(K::ContentPolicy, V::GiveUp, false)),
        (400, "Your prompt was FLAGGED by moderation".into(), dflt.clone(), c(K::ContentPolicy, V::GiveUp, false)),
        // Quota or credit on other statuses.
        (400, anthropic("invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing."), dflt.clone(), c(K::QuotaExhausted, V::FailOver, true)),
        (402, "Insufficient credits".into(), dflt.clone(), c(K::QuotaExhausted, V::FailOver, true)),
        // Auth and not found.
        (401, openai("invalid_request_error", "invalid_api_key", "Incorrect API key provided"), dflt.clone(), c(K::Auth, V::FailOver, true)),
        (401, anthropic("authentication_error", "invalid x-api-key"), dflt.clone(), c(K::Auth, V::FailOver, true)),
        (403, gemini(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."), dflt.clone(), c(K::Auth, V::FailOver, true)),
        (404, openai("invalid_request_error", "model_not_found", "The model `gpt-9` does not exist"), dflt.clone(), c(K::NotFound, V::FailOver, true)),
        (404, anthropic("not_found_error", "model: claude-0"), dflt.clone(), c(K::NotFound, V::FailOver, true)),
        (404, gemini(404, "NOT_FOUND", "models/gemini-0 is not found"), dflt.clone(), c(K::NotFound, V::FailOver, true)),
        // Other client errors.
        (400, openai("invalid_request_error", "", "Invalid value for 'temperature'"), dflt.clone(), c(K::BadRequest, V::GiveUp, false)),
        (400, anthropic("invalid_request_error", "messages: field required"), dflt.clone(), c(K::BadRequest, V::GiveUp, false)),
        (400, gemini(400, "INVALID_ARGUMENT", "Invalid JSON payload received."), dflt.clone(), c(K::BadRequest, V::GiveUp, false)),
        (400, "\u{fffd}garbage{{".into(), dflt.clone(), c(K::BadRequest, V::GiveUp, false)),
        (422, anthropic("invalid_request_error", "bad role"), dflt.clone(), c(K::BadRequest, V::GiveUp, false)),
        (409, String::new(), dflt.clone(), c(K::BadRequest, V::GiveUp, false)),
        (409, String::new(), RetryPolicy { retryable_statuses: vec![409], ..dflt.clone() }, c(K::BadRequest, V::Retry, false)),
        // Signals only count on the statuses they belong to.
        (401, "billing overloaded prompt is too long".into(), dflt.clone(), c(K::Auth, V::FailOver, true)),
        (500, "prompt is too long".into(), dflt.clone(), c(K::ServerError, V::Retry, true)),
        // Not an error status: the backend misbehaved.
        (302, String::new(), dflt.clone(), c(K::ServerError, V::FailOver, true)),
    ];
    for (status, body, policy, want) in cases {
        let got = classify_status(status, body.as_bytes(), &policy);
        assert_eq!(
            got, want,
            "status {status}, body {body:?}, retryable {:?}",
            policy.retryable_statuses
        );
    }
}

#[test]
fn garbage_bytes_never_panic() {
    let dflt = RetryPolicy::default();
    let bodies: [&[u8]; 5] = [b"", b"\xff\xfe\xfd", b"{\"error\":", b"[1,2,3]", b"null"];
    for status in [0, 100, 200, 400, 401, 429, 500, 529, 599, 600, u16::MAX] {
        for body in bodies {
            let _ = classify_status(status, body, &dflt);
        }
    }
}

#[test]
fn transport_failures_retry_and_trip() {
    for kind in [K::Connect, K::ConnectionReset, K::Timeout, K::StreamBroken] {
        assert_eq!(classify_transport(kind), c(kind, V::Retry, true));
    }
    assert_eq!(classify_transport(K::ContentPolicy).verdict, V::GiveUp);
    assert_eq!(
        classify_transport(K::ContextLength),
        c(K::ContextLength, V::FailOver, false)
    );
}

#[test]
fn labels_are_distinct_snake_case() {
    let labels: Vec<&str> = FailureKind::ALL.iter().map(|k| label(*k)).collect();
    let mut unique = labels.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), labels.len());
    for l in labels {
        assert!(
            l.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
            "{l}"
        );
    }
    assert_eq!(label(K::RateLimited), "rate_limited");
    assert_eq!(verdict_label(V::FailOver), "fail_over");
}
