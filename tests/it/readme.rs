//! The README's examples, run as a new user would run them against the demo config: its
//! OpenAI and Anthropic SDK snippets (with `python`, `LLMGW_PYTHON`) and its curl commands,
//! each taken from README.md as written, only the address changed to the test gateway's.

use crate::harness::Gateway;

const README: &str = include_str!("../../README.md");

/// The fenced code blocks of `lang` in the README section titled `heading`.
fn blocks(heading: &str, lang: &str) -> Vec<String> {
    let start = README
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section `{heading}`"));
    let section = &README[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let fence = format!("```{lang}\n");
    section
        .split(&fence)
        .skip(1)
        .map(|rest| rest[..rest.find("```").expect("closed block")].to_string())
        .collect()
}

fn run(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_examples_run_unchanged_against_the_demo() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let base = format!("http://{}", gw.addr());
    let python = std::env::var("LLMGW_PYTHON").unwrap_or_else(|_| "python3".into());
    for heading in ["With the OpenAI SDK", "With the Anthropic SDK"] {
        let snippets = blocks(heading, "python");
        assert!(!snippets.is_empty(), "{heading}: no python example");
        for code in snippets {
            let code = code.replace("http://localhost:8930", &base);
            let python = python.clone();
            let out = tokio::task::spawn_blocking(move || run(&python, &["-c", &code]))
                .await
                .unwrap();
            assert!(
                !out.trim().is_empty(),
                "{heading}: the example printed nothing"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_curl_examples_run_against_the_demo() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let commands = blocks("The two commands", "sh");
    let curl = commands
        .iter()
        .find(|b| b.contains("curl "))
        .expect("a block of curl commands")
        .replace("localhost:8930", &gw.addr().to_string());
    let out = tokio::task::spawn_blocking(move || run("sh", &["-ec", &curl]))
        .await
        .unwrap();
    assert!(out.contains("Hello!"), "the echo example: {out}");
    assert!(out.contains("data: [DONE]"), "the stream example: {out}");
    assert!(
        out.contains("gateway_requests_total"),
        "the metrics example: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_example_runs_against_the_demo() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let script = blocks("Endpoints", "sh")
        .into_iter()
        .find(|b| b.contains("/v1/route"))
        .expect("the dry-run example")
        .replace("localhost:8930", &gw.addr().to_string());
    let out = tokio::task::spawn_blocking(move || run("sh", &["-ec", &script]))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["profile"], "cost_optimized", "{out}");
    assert!(!v["chain"].as_array().unwrap().is_empty(), "{out}");
    assert_eq!(v["layers"].as_array().unwrap().len(), 5, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_examples_run_against_the_demo() {
    let demo_db = crate::db::Db::sqlite();
    let gw = Gateway::start(&crate::harness::demo(&demo_db)).await;
    let blocks = blocks("Keys, budgets and records", "sh");
    assert_eq!(blocks.len(), 1);
    let script = blocks[0].replace("localhost:8930", &gw.addr().to_string());
    // In a folder of its own: the example writes (and removes) key.json.
    let dir = std::env::temp_dir().join(format!("llmgw-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cwd = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("sh")
            .args(["-ec", &script])
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .unwrap();
    assert!(
        out.contains("Hello, records!"),
        "the call with the new key: {out}"
    );
    assert!(out.contains("\"max_budget_usd\":10.0"), "the change: {out}");
    assert!(out.contains("\"by_key\""), "the spend rollup: {out}");
    assert!(out.contains("\"revoked\":true"), "the revocation: {out}");
    assert!(!dir.join("key.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_first_provider_config_is_valid_and_complete() {
    let blocks = blocks("Your first real provider", "toml");
    assert_eq!(blocks.len(), 1);
    assert!(blocks[0].lines().count() <= 5, "{}", blocks[0]);
    let env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-test".to_string());
    let loaded = llm_gateway::config::load_str_checked(&blocks[0], "README.md", &env)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        loaded.warnings.is_empty(),
        "warnings for the README's config"
    );
    assert_eq!(loaded.config.providers.len(), 1);
}
