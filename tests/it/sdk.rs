//! The official Python SDKs against the gateway: OpenAI's SDK directly and across formats
//! (Anthropic- and Gemini-format providers), and Anthropic's SDK against an OpenAI-format
//! provider. Needs `python3` with `openai` and `anthropic` (`scripts/test.sh` installs them in
//! `.venv`); `LLMGW_PYTHON` names the interpreter.

use crate::harness::Gateway;

/// Mock providers speaking each wire format.
const FORMATS: &str = r#"
[[providers]]
id = "oa"
provider_type = "mock"
[[providers]]
id = "anth"
provider_type = "mock"
api_format = "anthropic"
[[providers]]
id = "gem"
provider_type = "mock"
api_format = "gemini"
"#;

async fn run_script(script: &str, args: &[String]) -> String {
    let python = std::env::var("LLMGW_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
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
        "{script} failed (missing package? `pip install -r tests/sdk/requirements.txt`)\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_chat_and_stream() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let out = run_script("openai_sdk.py", &[gw.url("/v1")]).await;
    assert!(
        out.contains("chat ok") && out.contains("stream ok"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_against_an_anthropic_provider() {
    let gw = Gateway::start(FORMATS).await;
    let out = run_script("openai_sdk_translate.py", &[gw.url("/v1"), "anth".into()]).await;
    assert!(out.contains("streamed parallel tool calls ok"), "{out}");
    let log = gw.mocks["anth"].log();
    assert!(log.iter().all(|e| e.path == "/v1/messages"), "{log:?}");
    assert!(
        log.iter()
            .all(|e| e.headers.contains_key("anthropic-version"))
    );
    // The tool result went back as a tool_result block with the same id.
    let round_trip = log
        .iter()
        .find(|e| {
            e.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("tool_result"))
        })
        .unwrap();
    let body = round_trip.body.as_ref().unwrap().to_string();
    let first_call = log.iter().find(|e| e.model == "tool-call").unwrap();
    assert!(first_call.body.as_ref().unwrap()["tools"][0]["input_schema"].is_object());
    assert!(body.contains("tool_use_id"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_against_a_gemini_provider() {
    let gw = Gateway::start(FORMATS).await;
    let out = run_script("openai_sdk_translate.py", &[gw.url("/v1"), "gem".into()]).await;
    assert!(out.contains("streamed parallel tool calls ok"), "{out}");
    let log = gw.mocks["gem"].log();
    assert!(
        log.iter()
            .any(|e| e.path.ends_with(":streamGenerateContent")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|e| e.path.ends_with(":generateContent")),
        "{log:?}"
    );
    let round_trip = log
        .iter()
        .find(|e| {
            e.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("functionResponse"))
        })
        .unwrap();
    assert!(
        round_trip
            .body
            .as_ref()
            .unwrap()
            .to_string()
            .contains("get_weather")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_python_sdk_against_an_openai_provider() {
    let gw = Gateway::start(FORMATS).await;
    let out = run_script("anthropic_sdk.py", &[gw.url(""), "oa".into()]).await;
    assert!(out.contains("streamed parallel tool use ok"), "{out}");
    let log = gw.mocks["oa"].log();
    assert!(
        log.iter().all(|e| e.path == "/v1/chat/completions"),
        "{log:?}"
    );
    let round_trip = log
        .iter()
        .find(|e| {
            e.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("\"tool\""))
        })
        .unwrap();
    assert!(
        round_trip
            .body
            .as_ref()
            .unwrap()
            .to_string()
            .contains("tool_call_id")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_raises_rate_limit_error() {
    let gw = Gateway::start(
        "[key_map.vk-limited]\nlabel = \"l\"\n[[providers]]\nid = \"mock\"\nprovider_type = \"mock\"\n[rate_limit]\nenabled = true\n[rate_limit.default_limits]\nrpm = 1\ntpm = 0\nrpd = 0\nconcurrent = 0\n",
    )
    .await;
    let out = run_script("openai_limits.py", &[gw.url("/v1"), "vk-limited".into()]).await;
    assert!(out.contains("limits ok"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_responses_api_against_openai_and_anthropic_providers() {
    let gw = Gateway::start(FORMATS).await;
    for provider in ["oa", "anth", "gem"] {
        let out = run_script("openai_responses.py", &[gw.url("/v1"), provider.into()]).await;
        for step in [
            "response ok",
            "streamed response ok",
            "function call round trip ok",
            "streamed function call ok",
            "completions ok",
        ] {
            assert!(out.contains(step), "{provider}: {out}");
        }
    }
}
