//! The official OpenAI Python SDK against the gateway: a chat and a streamed chat.
//! Needs `python3` with the `openai` package (`scripts/test.sh` installs it in `.venv`);
//! `LLMGW_PYTHON` names the interpreter.

use crate::harness::Gateway;

const DEMO: &str = include_str!("../../conf/demo.toml");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_python_sdk_chat_and_stream() {
    let gw = Gateway::start(DEMO).await;
    let python = std::env::var("LLMGW_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/openai_sdk.py");
    let base = gw.url("/v1");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(script)
            .arg(&base)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run python ({e}); run scripts/test.sh or set LLMGW_PYTHON"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "OpenAI SDK script failed (missing package? `pip install -r tests/sdk/requirements.txt`)\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("chat ok") && stdout.contains("stream ok"),
        "{stdout}"
    );
}
