//! The routing engine over real sockets: `auto` under several profiles picks the expected
//! model of a priced catalog; classification, capability, max-cost and context-window
//! refusals send nothing upstream; the dry run (`POST /v1/route`) names the chain a real
//! request then walks; sticky conversations; deprecations; deployments disabled and enabled;
//! the same-format capability correction; the profiles listing.

use reqwest::Client;
use serde_json::{Value, json};

use crate::harness::{Gateway, Mock, chat};

const ADMIN: &str = "admin-token-for-the-routing-tests";

/// Four priced models: `cheap`, `strong` (vision), `coder` at an OpenAI-format provider and
/// `thinker` (thinking, slow, no JSON mode) at an Anthropic one; `plain` is listed without
/// a card. `extra` is appended.
fn config(mock: &Mock, extra: &str) -> String {
    format!(
        r#"
[server]
admin_token = "{ADMIN}"
[resilience.default_retry_policy]
max_attempts = 1
[[providers]]
id = "oa"
provider_type = "openai"
endpoint = "{v1}"
api_key = "k"
models = ["cheap", "strong", "coder", "plain"]
[[providers]]
id = "an"
provider_type = "anthropic"
endpoint = "{base}"
api_key = "k"
models = ["thinker"]
[[models]]
id = "cheap"
input_price_per_mtok = 0.1
output_price_per_mtok = 0.4
capabilities = ["streaming", "tools", "json_mode"]
quality = {{ coding = 0.5, reasoning = 0.5, instruction_following = 0.6, arena_elo = 1200 }}
ttft_ms = 200
[[models]]
id = "strong"
input_price_per_mtok = 5.0
output_price_per_mtok = 20.0
capabilities = ["streaming", "tools", "json_mode", "vision"]
quality = {{ coding = 0.9, reasoning = 0.9, instruction_following = 0.9, arena_elo = 1450 }}
ttft_ms = 900
[[models]]
id = "coder"
input_price_per_mtok = 1.0
output_price_per_mtok = 4.0
capabilities = ["streaming", "tools", "json_mode"]
quality = {{ coding = 0.97, reasoning = 0.6, instruction_following = 0.7, arena_elo = 1300 }}
ttft_ms = 600
[[models]]
id = "thinker"
input_price_per_mtok = 3.0
output_price_per_mtok = 15.0
capabilities = ["streaming", "tools", "thinking"]
quality = {{ coding = 0.8, reasoning = 0.98, instruction_following = 0.85, arena_elo = 1420 }}
ttft_ms = 4000
{extra}
"#,
        v1 = mock.v1(),
        base = mock.base(),
    )
}

async fn send(gw: &Gateway, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = Client::new()
        .post(gw.url("/v1/chat/completions"))
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// Sends `body` and checks the refusal: its status, and a message naming `needle`.
async fn refused(
    gw: &Gateway,
    body: &Value,
    headers: &[(&str, &str)],
    status: u16,
    needle: &str,
) -> String {
    let resp = send(gw, body, headers).await;
    assert_eq!(resp.status(), status, "{body}");
    let id = header(&resp, "x-request-id").unwrap();
    let answer: Value = resp.json().await.unwrap();
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains(needle), "{answer}");
    id
}

/// An admin GET polled until it answers 200 (records are written in the background).
/// The model that served a successful answer.
async fn served(gw: &Gateway, body: &Value, headers: &[(&str, &str)]) -> String {
    let resp = send(gw, body, headers).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    header(&resp, "x-gateway-model").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_the_expected_model_under_each_profile() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let body = chat("auto", "hi");
    for (profile, expected) in [
        ("cost_optimized", "cheap"),
        ("quality_optimized", "strong"),
        ("code", "coder"),
        ("reasoning", "thinker"),
        ("realtime", "cheap"),
    ] {
        let model = served(&gw, &body, &[("x-routing-profile", profile)]).await;
        assert_eq!(model, expected, "{profile}");
    }
    // The Anthropic-format model was reached through translation.
    assert!(
        mock.log()
            .iter()
            .any(|e| e.path.ends_with("/messages") && e.model == "thinker")
    );
    // `auto` answers carry the smart-router bucket and score.
    let resp = send(&gw, &body, &[]).await;
    assert_eq!(
        header(&resp, "x-gateway-route-bucket").as_deref(),
        Some("simple")
    );
    let score: f64 = header(&resp, "x-gateway-route-score")
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..0.5).contains(&score), "{score}");
    let hard = chat(
        "auto",
        "Design a sharded job scheduler, compare leader election options, analyze the failure \
         modes step by step and prove that no job runs twice.",
    );
    let resp = send(&gw, &hard, &[]).await;
    assert_eq!(
        header(&resp, "x-gateway-route-bucket").as_deref(),
        Some("complex")
    );
    // A named model carries no bucket.
    let resp = send(&gw, &chat("cheap", "hi"), &[]).await;
    assert!(header(&resp, "x-gateway-route-bucket").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classification_capability_and_cost_refusals_send_nothing() {
    let mock = Mock::start().await;
    let extra = "[[models]]\nid = \"strong\"\nmax_classification = \"cui\"\n";
    let gw = Gateway::start(&config(&mock, extra)).await;
    // Only `strong` is cleared for CUI.
    let model = served(
        &gw,
        &chat("auto", "hi"),
        &[("x-data-classification", "cui")],
    )
    .await;
    assert_eq!(model, "strong");
    let before = mock.log().len();
    // Nothing is cleared for ITAR: 403 naming it, for `auto` and for a named model.
    let itar = [("x-data-classification", "itar")];
    let mut refused_id = String::new();
    for model in ["auto", "cheap", "oa/strong"] {
        refused_id = refused(&gw, &chat(model, "hi"), &itar, 403, "`itar`").await;
    }
    // The audit trail keeps every elimination with its layer and reason.
    let audit = gw
        .admin_poll(ADMIN, &format!("/v1/audit/{refused_id}"))
        .await;
    let gone = &audit["decision"]["eliminated"][0];
    assert_eq!(gone["model"], "oa/strong", "{audit}");
    assert_eq!(gone["layer"], "classification", "{audit}");
    assert!(
        gone["reason"].as_str().unwrap().contains("`cui`"),
        "{audit}"
    );
    // JSON mode would be dropped in translation to the Anthropic `thinker`: 400.
    let mut json_mode = chat("an/thinker", "hi");
    json_mode["response_format"] = json!({ "type": "json_object" });
    refused(&gw, &json_mode, &[], 400, "json_mode").await;
    // A cost cap below every estimate: 400 naming the cap.
    let tiny = [("x-gateway-max-cost-usd", "0.00000001")];
    refused(&gw, &chat("auto", "hi"), &tiny, 400, "$0.00000001").await;
    // A cap that only `cheap` meets (1000 output tokens assumed: $0.0004 vs $0.004).
    let model = served(
        &gw,
        &chat("auto", "hi"),
        &[
            ("x-gateway-max-cost-usd", "0.001"),
            ("x-routing-profile", "quality_optimized"),
        ],
    )
    .await;
    assert_eq!(model, "cheap");
    assert_eq!(
        mock.log().len(),
        before + 1,
        "refused requests reached the mock"
    );
    // A bad header is a 400 naming it.
    let resp = send(
        &gw,
        &chat("auto", "hi"),
        &[("x-data-classification", "secret")],
    )
    .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_names_the_chain_a_real_request_walks() {
    let mock = Mock::start().await;
    // Three failing-then-serving models priced so cost_optimized tries them in this order.
    let extra = r#"
[[providers]]
id = "f"
provider_type = "openai"
endpoint = "MOCK"
api_key = "k"
models = ["fail-500", "fail-503", "echo"]
[[models]]
id = "fail-500"
input_price_per_mtok = 0.01
output_price_per_mtok = 0.01
[[models]]
id = "fail-503"
input_price_per_mtok = 0.02
output_price_per_mtok = 0.02
[[models]]
id = "echo"
input_price_per_mtok = 0.03
output_price_per_mtok = 0.03
"#
    .replace("MOCK", &mock.v1());
    let gw = Gateway::start(&config(&mock, &extra)).await;
    let dry = Client::new()
        .post(gw.url("/v1/route"))
        .header("x-routing-profile", "cost_optimized")
        .json(&chat("auto", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status(), 200);
    let dry: Value = dry.json().await.unwrap();
    let chain: Vec<String> = dry["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["provider"].as_str().unwrap(),
                c["model"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(chain, vec!["f/fail-500", "f/fail-503", "f/echo"], "{dry}");
    let layers = dry["layers"].as_array().unwrap();
    let names: Vec<&str> = layers
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["classification", "capability", "quality", "cost", "latency"]
    );
    assert_eq!(dry["profile"], "cost_optimized");
    assert_eq!(mock.log().len(), 0, "the dry run called a provider");
    // The real request walks the same chain.
    let resp = send(
        &gw,
        &chat("auto", "hi"),
        &[("x-routing-profile", "cost_optimized")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let tried: Vec<String> = mock
        .log()
        .iter()
        .map(|e| format!("f/{}", e.model))
        .collect();
    assert_eq!(tried, chain);
    // Eliminations carry reasons: the slow `thinker` under realtime.
    let dry: Value = Client::new()
        .post(gw.url("/v1/route"))
        .json(&json!({ "model": "auto", "profile": "realtime", "messages": [] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let latency = &dry["layers"][4];
    assert!(
        latency["eliminated"].as_array().unwrap().iter().any(
            |e| e["model"] == "an/thinker" && e["reason"].as_str().unwrap().contains("4000 ms")
        ),
        "{dry}"
    );
    // A refusal is reported, not raised.
    let dry: Value = Client::new()
        .post(gw.url("/v1/route"))
        .json(&json!({ "model": "auto", "classification": "classified" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dry["chain"], json!([]));
    assert_eq!(dry["refusal"]["status"], 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_stick_to_their_model() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let turn = |profile: &'static str, conversation: &'static str| {
        let gw = &gw;
        async move {
            let headers = [
                ("x-routing-profile", profile),
                ("x-gateway-conversation-id", conversation),
            ];
            served(gw, &chat("auto", "hi"), &headers).await
        }
    };
    assert_eq!(turn("cost_optimized", "conv-1").await, "cheap");
    // Another profile would choose `strong`; the conversation keeps `cheap`.
    assert_eq!(turn("quality_optimized", "conv-1").await, "cheap");
    assert_eq!(turn("quality_optimized", "conv-2").await, "strong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecations_warn_then_redirect() {
    let mock = Mock::start().await;
    let extra = r#"
[model_routing.aliases]
legacy = "oa/coder"
[[model_routing.deprecations]]
model = "oa/coder"
sunset_date = "2999-01-01"
replacement = "oa/strong"
[[model_routing.deprecations]]
model = "cheap"
sunset_date = "2001-01-01"
replacement = "oa/strong"
[[model_routing.deprecations]]
model = "plain"
sunset_date = "2001-01-01"
"#;
    let gw = Gateway::start(&config(&mock, extra)).await;
    let resp = send(&gw, &chat("legacy", "hi"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-gateway-model").as_deref(), Some("coder"));
    let warning = header(&resp, "x-gateway-deprecation").unwrap();
    assert!(
        warning.contains("sunset=\"2999-01-01\"") && warning.contains("oa/strong"),
        "{warning}"
    );
    let resp = send(&gw, &chat("cheap", "hi"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-gateway-model").as_deref(), Some("strong"));
    let note = header(&resp, "x-gateway-deprecation").unwrap();
    assert!(note.contains("redirected=\"oa/strong\""), "{note}");
    let resp = send(&gw, &chat("plain", "hi"), &[]).await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_prompt_is_413_and_nothing_is_sent() {
    let mock = Mock::start().await;
    let extra = "[[models]]\nid = \"cheap\"\ncontext_window = 1000\n[[models]]\nid = \"coder\"\ncontext_window = 2000\n";
    let gw = Gateway::start(&config(&mock, extra)).await;
    let long = "lorem ipsum dolor sit amet ".repeat(400);
    let resp = send(&gw, &chat("cheap", &long), &[]).await;
    assert_eq!(resp.status(), 413);
    assert_eq!(
        header(&resp, "x-context-window-limit").as_deref(),
        Some("1000")
    );
    // `auto` skips the small windows and serves from a larger one.
    let model = served(
        &gw,
        &chat("auto", &long),
        &[("x-routing-profile", "cost_optimized")],
    )
    .await;
    assert_ne!(model, "cheap");
    let huge = "lorem ipsum dolor sit amet ".repeat(40_000);
    let resp = send(&gw, &chat("oa/coder", &huge), &[]).await;
    assert_eq!(resp.status(), 413);
    assert_eq!(
        header(&resp, "x-context-window-limit").as_deref(),
        Some("2000")
    );
    assert_eq!(mock.log().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_can_be_disabled_and_enabled() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let admin = |path: &str, body: Option<Value>| {
        let url = gw.url(path);
        async move {
            let c = Client::new();
            let req = match body {
                Some(b) => c.post(url).json(&b),
                None => c.get(url),
            };
            req.bearer_auth(ADMIN).send().await.unwrap()
        }
    };
    let list: Value = admin("/admin/deployments", None)
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"oa/cheap") && ids.contains(&"an/thinker"),
        "{list}"
    );
    let resp = admin(
        "/admin/deployments/disable",
        Some(json!({ "deployment": "oa/cheap" })),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let list: Value = admin("/admin/deployments", None)
        .await
        .json()
        .await
        .unwrap();
    let cheap = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "oa/cheap")
        .unwrap()
        .clone();
    assert_eq!(cheap["enabled"], false);
    let profile = [("x-routing-profile", "cost_optimized")];
    assert_ne!(served(&gw, &chat("auto", "hi"), &profile).await, "cheap");
    // The only deployment of a named model is disabled: 503, nothing sent.
    let before = mock.log().len();
    let resp = send(&gw, &chat("oa/cheap", "hi"), &[]).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(mock.log().len(), before);
    admin(
        "/admin/deployments/enable",
        Some(json!({ "deployment": "oa/cheap" })),
    )
    .await;
    assert_eq!(served(&gw, &chat("auto", "hi"), &profile).await, "cheap");
    let resp = admin(
        "/admin/deployments/disable",
        Some(json!({ "deployment": "oa/nope" })),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let resp = Client::new()
        .post(gw.url("/admin/deployments/disable"))
        .json(&json!({ "deployment": "oa/cheap" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_format_request_keeps_what_the_card_does_not_list() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    // `plain` has no card (streaming and tools assumed); its provider speaks OpenAI, so the
    // response_format reaches it untouched instead of a 400.
    let mut body = chat("plain", "hi");
    body["response_format"] = json!({ "type": "json_object" });
    let resp = send(&gw, &body, &[]).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nine_profiles_are_listed() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(
        &mock,
        "[model_routing]\ndefault_profile = \"code\"\n",
    ))
    .await;
    let list: Value = gw.get("/v1/routing-profiles").await.json().await.unwrap();
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 9);
    let code = data.iter().find(|p| p["name"] == "code").unwrap();
    assert_eq!(code["default"], true);
    assert_eq!(code["quality_weight"], 0.9);
    assert_eq!(code["max_ttft_ms"], 2000);
    // The default profile applies without a header.
    assert_eq!(served(&gw, &chat("auto", "hi"), &[]).await, "coder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_sync_reads_the_providers_model_lists() {
    let mock = Mock::start().await;
    let cfg = format!(
        r#"
[server]
admin_token = "{ADMIN}"
[[providers]]
id = "s"
provider_type = "openai"
endpoint = "{v1}"
api_key = "k"
[[providers]]
id = "fixed"
provider_type = "openai"
endpoint = "{v1}"
api_key = "k"
models = ["echo"]
[[providers]]
id = "down"
provider_type = "groq"
endpoint = "http://127.0.0.1:1/v1"
api_key = "k"
"#,
        v1 = mock.v1()
    );
    let gw = Gateway::start(&cfg).await;
    let admin = Client::new();
    let status: Value = gw
        .get("/v1/catalog/sync-status")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["last_synced"], Value::Null);
    assert_eq!(status["sync_interval_secs"], Value::Null);
    let before = status["model_count"].as_u64().unwrap();
    // Built-in `gpt-5` is served; the mock's `tokens` is not known yet.
    assert_eq!(send(&gw, &chat("gpt-5", "hi"), &[]).await.status(), 200);
    assert_eq!(send(&gw, &chat("tokens", "hi"), &[]).await.status(), 404);
    let resp = admin.post(gw.url("/v1/catalog/sync")).send().await.unwrap();
    assert_eq!(resp.status(), 401, "sync is an admin operation");
    let report: Value = admin
        .post(gw.url("/v1/catalog/sync"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let of = |id: &str| {
        report["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["provider"] == id)
            .unwrap()
            .clone()
    };
    let s = of("s");
    let builtin_openai = 21;
    assert_eq!(s["discovered"], 15, "{report}");
    assert_eq!(
        (s["added"].as_u64(), s["retired"].as_u64()),
        (Some(15), Some(builtin_openai))
    );
    assert_eq!(s["unchanged"], 0);
    assert_eq!(s["error"], Value::Null);
    assert_eq!(of("fixed")["skipped"], true);
    assert_eq!(of("fixed")["added"], 0);
    assert!(
        of("down")["error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{report}"
    );
    // Now `tokens` is served by `s` (its price unknown: no cost header) and `gpt-5` is gone
    // from `s`; the listed provider kept its list.
    let resp = send(&gw, &chat("tokens", "hi"), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-gateway-provider").as_deref(), Some("s"));
    assert!(header(&resp, "x-gateway-cost-usd").is_none());
    // Its record says the cost is unknown (written in the background: polled).
    let id = header(&resp, "x-request-id").unwrap();
    let record = gw.admin_poll(ADMIN, &format!("/v1/requests/{id}")).await;
    assert_eq!(record["model"], "tokens", "{record}");
    assert_eq!(record["cost_usd"], Value::Null, "{record}");
    let resp = send(&gw, &chat("s/gpt-5", "hi"), &[]).await;
    assert_eq!(
        resp.status(),
        200,
        "a pin still reaches any model the provider serves"
    );
    let catalog: Value = gw.get("/v1/catalog").await.json().await.unwrap();
    let cards = catalog["data"].as_array().unwrap();
    let tokens = cards
        .iter()
        .find(|c| c["provider"] == "s" && c["id"] == "tokens")
        .unwrap();
    assert_eq!(tokens["source"], "sync");
    assert_eq!(tokens["price_known"], false);
    assert!(
        !cards
            .iter()
            .any(|c| c["provider"] == "s" && c["id"] == "gpt-5")
    );
    assert!(
        cards
            .iter()
            .any(|c| c["provider"] == "fixed" && c["id"] == "echo")
    );
    let status: Value = gw
        .get("/v1/catalog/sync-status")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        status["last_synced"].as_str().unwrap().ends_with('Z'),
        "{status}"
    );
    assert_ne!(status["model_count"].as_u64().unwrap(), before);
    // Scores: set, seen in the catalog, rolled back.
    let set: Value = admin
        .post(gw.url("/v1/catalog/tokens/scores"))
        .bearer_auth(ADMIN)
        .json(&json!({ "coding_score": 0.9, "arena_elo": 1300 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["updated"]["coding"], 0.9, "{set}");
    assert_eq!(set["previous"]["coding"], Value::Null);
    assert_eq!(set["history"].as_array().unwrap().len(), 1);
    let catalog: Value = gw.get("/v1/catalog").await.json().await.unwrap();
    let tokens = catalog["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "tokens")
        .unwrap()
        .clone();
    assert_eq!(tokens["quality"]["coding"], 0.9);
    let back: Value = admin
        .post(gw.url("/v1/catalog/tokens/scores"))
        .bearer_auth(ADMIN)
        .json(&json!({ "rollback": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(back["updated"]["coding"], Value::Null, "{back}");
    let bad = admin
        .post(gw.url("/v1/catalog/tokens/scores"))
        .bearer_auth(ADMIN)
        .json(&json!({ "coding_score": 7 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // A key with a budget may not use a model whose price is unknown: 402.
    let key: Value = admin
        .post(gw.url("/admin/keys"))
        .bearer_auth(ADMIN)
        .json(&json!({ "name": "budgeted", "max_budget_usd": 10.0 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = Client::new()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key["key"].as_str().unwrap())
        .json(&chat("s/tokens", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 402);
}
