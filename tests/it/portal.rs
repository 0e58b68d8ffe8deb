//! The portal, `/docs` and `/openapi.json` over sockets. A gateway with the in-process mock,
//! SQLite records and seeded traffic (successes from two requesters, a failover, failures that
//! open a circuit); then `tests/web/openapi_check.py` validates the document as OpenAPI 3.1
//! and fuzzes the admin and records operations from it (schemathesis: no 5xx, answers match
//! their schemas), and `tests/web/portal_browser.py` drives headless Chromium through every
//! screen, writing screenshots to `target/portal-screenshots/`. Needs the packages of
//! `tests/sdk/requirements.txt` and Debian's `chromium` and `chromium-driver`
//! (`scripts/test.sh` installs them).

use std::time::Duration;

use reqwest::Client;
use serde_json::Value;

use crate::db::Db;
use crate::harness::{Gateway, chat};

const ADMIN: &str = "portal-admin-token";

fn config(db: &Db) -> String {
    format!(
        r#"[server]
admin_token = "{ADMIN}"
{db}
[resilience.default_circuit_breaker]
failure_threshold = 2
open_duration_secs = 600

[[providers]]
id = "m"
provider_type = "mock"
models = ["echo", "fail-503"]
retry_policy = {{ max_attempts = 1 }}

[[models]]
id = "echo"
provider = "m"
input_price_per_mtok = 3.0
output_price_per_mtok = 15.0

[[pools]]
name = "chain"
strategy = "priority"
fallback = true
members = [{{ model = "m/fail-503" }}, {{ model = "m/echo" }}]
"#,
        db = db.section(),
    )
}

/// Traffic for the screens: answered calls from two requesters (one streamed), a failover
/// through `chain`, and failures that open the circuit of `m/fail-503`.
async fn seed(gw: &Gateway) {
    let client = Client::new();
    for (source, n) in [("billing", 3), ("search", 2)] {
        for i in 0..n {
            let mut body = chat("m/echo", &format!("hello {i}"));
            body["stream"] = Value::Bool(i == 0);
            let r = client
                .post(gw.url("/v1/chat/completions"))
                .header("x-source", source)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
        }
    }
    for _ in 0..3 {
        let r = gw
            .post("/v1/chat/completions", &chat("m/fail-503", "x"))
            .await;
        assert!(r.status().is_server_error(), "{}", r.status());
    }
    let r = gw
        .post("/v1/chat/completions", &chat("chain", "failover"))
        .await;
    assert_eq!(r.status(), 200);
    // Records arrive within the writer's flush interval.
    let client = Client::new();
    for _ in 0..200 {
        let stats: Value = client
            .get(gw.url("/v1/stats"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats["total_requests"].as_u64() >= Some(9) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the seeded records never arrived");
}

async fn run(script: &str, args: &[String]) -> String {
    let python = std::env::var("LLMGW_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = format!("{}/tests/web/{script}", env!("CARGO_MANIFEST_DIR"));
    let args = args.to_vec();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(&path)
            .args(&args)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run python ({e}); run scripts/test.sh or set LLMGW_PYTHON"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_portal_screen_in_headless_chromium() {
    let db = Db::sqlite();
    let gw = Gateway::start(&config(&db)).await;
    seed(&gw).await;
    let shots = format!("{}/target/portal-screenshots", env!("CARGO_MANIFEST_DIR"));
    let out = run(
        "portal_browser.py",
        &[gw.url(""), ADMIN.into(), shots.clone()],
    )
    .await;
    for screen in [
        "login",
        "overview",
        "providers",
        "keys",
        "requests",
        "request",
        "simulator",
        "playground",
        "config",
        "docs",
    ] {
        assert!(out.contains(&format!("screen {screen} ok")), "{out}");
        assert!(
            std::path::Path::new(&format!("{shots}/{screen}.png")).exists(),
            "no screenshot of {screen}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_validates_and_the_admin_api_survives_its_fuzzer() {
    let db = Db::sqlite();
    let gw = Gateway::start(&config(&db)).await;
    seed(&gw).await;
    let out = run("openapi_check.py", &[gw.url(""), ADMIN.into()]).await;
    assert!(out.contains("openapi 3.1 valid"), "{out}");
    assert!(out.contains("fuzz ok"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_the_portal_and_api_clients_the_index() {
    let gw = Gateway::start("[[providers]]\nid = \"m\"\nprovider_type = \"mock\"\n").await;
    let client = Client::new();
    let html = client
        .get(gw.url("/"))
        .header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    let csp = html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(html.text().await.unwrap().contains("/assets/app.js"));
    let index: Value = client
        .get(gw.url("/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        index["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "GET /openapi.json")
    );
    let js = client
        .get(gw.url("/assets/screens/simulator.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    for missing in [
        "/assets/nope.js",
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
    ] {
        let r = client.get(gw.url(missing)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{missing}");
    }
    let docs = client.get(gw.url("/docs")).send().await.unwrap();
    assert!(docs.text().await.unwrap().contains("/assets/docs.js"));
    let doc: Value = client
        .get(gw.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["paths"]["/admin/keys"]["post"]["security"][0],
        serde_json::json!({ "admin_token": [] })
    );
}
