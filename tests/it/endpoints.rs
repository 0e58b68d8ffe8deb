//! The OpenAI endpoints passed through as sent (`/v1/moderations`, `/v1/images/generations`)
//! to the OpenAI-format provider serving the model, `GET /v1/models/{id}` and
//! `POST /v1/messages/count_tokens`.

use serde_json::{Value, json};

use crate::harness::{Gateway, Mock};

fn config(mock: &Mock) -> String {
    format!(
        r#"
[model_routing.aliases]
fast = "oa/gpt-4o-mini"
[[providers]]
id = "oa"
provider_type = "openai"
endpoint = "{v1}"
api_key = "k"
[[providers]]
id = "an"
provider_type = "anthropic"
endpoint = "{base}"
api_key = "k"
"#,
        v1 = mock.v1(),
        base = mock.base()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderations_and_images_pass_through_to_an_openai_provider() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    // No model: OpenAI's default moderation model, served by `oa`'s built-in list.
    let resp = gw
        .post(
            "/v1/moderations",
            &json!({ "input": ["fine", "flag-me now"] }),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-gateway-provider"], "oa");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["results"][0]["flagged"], false);
    assert_eq!(body["results"][1]["flagged"], true);
    let log = mock.log();
    assert_eq!(log[0].path, "/v1/moderations");
    assert_eq!(log[0].model, "omni-moderation-latest");
    // Images: priced per image, so no cost header.
    let resp = gw
        .post(
            "/v1/images/generations",
            &json!({ "model": "gpt-image-1", "prompt": "a lighthouse", "n": 2 }),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let resp = gw
        .post("/v1/images/generations", &json!({ "prompt": "a cat" }))
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-gateway-cost-usd").is_none());
    assert_eq!(mock.log()[2].model, "dall-e-2");
    // An Anthropic provider has no such endpoint; `auto` is for chat.
    let before = mock.log().len();
    let resp = gw
        .post(
            "/v1/moderations",
            &json!({ "model": "an/omni-moderation-latest", "input": "x" }),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = gw
        .post("/v1/moderations", &json!({ "model": "auto", "input": "x" }))
        .await;
    assert_eq!(resp.status(), 400);
    let resp = gw
        .post("/v1/images/generations", &json!({ "model": "gpt-image-1" }))
        .await;
    assert_eq!(resp.status(), 400, "prompt is required");
    assert_eq!(mock.log().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_model_and_token_counts() {
    let mock = Mock::start().await;
    let gw = Gateway::start(&config(&mock)).await;
    for (id, owner) in [
        ("gpt-4o", "oa"),
        ("oa/gpt-4o", "oa"),
        ("claude-sonnet-4-5", "an"),
        ("fast", "alias"),
    ] {
        let resp = gw.get(&format!("/v1/models/{id}")).await;
        assert_eq!(resp.status(), 200, "{id}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            (body["id"].as_str(), body["owned_by"].as_str()),
            (Some(id), Some(owner))
        );
    }
    let resp = gw.get("/v1/models/no-such-model").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "model_not_found");
    let count = |model: &str| {
        let gw = &gw;
        let body = json!({
            "model": model,
            "system": "You are terse.",
            "messages": [{ "role": "user", "content": "How many tokens is this sentence, roughly?" }]
        });
        async move {
            let resp = gw.post("/v1/messages/count_tokens", &body).await;
            assert_eq!(resp.status(), 200);
            let v: Value = resp.json().await.unwrap();
            v["input_tokens"].as_u64().unwrap()
        }
    };
    let claude = count("claude-sonnet-4-5").await;
    let gpt = count("gpt-4o").await;
    assert!((10..60).contains(&gpt), "{gpt}");
    assert!(
        claude > gpt,
        "Claude's count is scaled up: {claude} vs {gpt}"
    );
    assert!(mock.log().is_empty(), "counting sends nothing upstream");
    let resp = gw
        .post("/v1/messages/count_tokens", &json!({ "model": "x" }))
        .await;
    assert_eq!(resp.status(), 400);
}
