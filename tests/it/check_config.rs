//! `llm-gateway check-config` and startup, as the real binary: a bad file is reported whole on
//! stderr with a non-zero exit, warnings alone exit 0, every shipped `conf/*.toml` is OK, and
//! the server logs the same warnings once at startup and refuses a bad file with the same
//! report. The files are `tests/fixtures/config/` (also the corpus of `src/config/tests.rs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_llm-gateway");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

/// Runs `check-config` on `path`: (exit 0?, stdout, stderr).
fn check(path: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_file_with_several_mistakes_is_reported_whole() {
    let path = fixture("several_mistakes.toml");
    let src = path.display().to_string();
    let (ok, stdout, stderr) = check(&path);
    assert!(!ok, "exit status is non-zero");
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 17, "{stderr}");
    assert_eq!(
        lines[0],
        format!(
            "{src}:5:1: error: server.port: expected a whole number from 0 to 65535, found a string; write it without quotes"
        )
    );
    for expected in [
        "6:1: error: server.prot: unknown key `prot`; did you mean `port`?",
        "12:1: warning: providers[0].api_key: `$` before a name is kept as written",
        "14:1: warning: providers[1].api_key: `api_key` is not set",
        "34:48: error: pools[0].members[0].wieght: unknown key `wieght`; did you mean `weight`?",
        "36:2: warning: update: this section is accepted but not active in this build",
    ] {
        let wanted = format!("{src}:{expected}");
        assert!(
            lines.iter().any(|l| l.starts_with(&wanted)),
            "{wanted}\nnot in:\n{stderr}"
        );
    }
    assert_eq!(lines[16], format!("{src}: 11 errors, 5 warnings"));
}

#[test]
fn warnings_alone_exit_zero() {
    let path = fixture("warnings_only.toml");
    let (ok, stdout, stderr) = check(&path);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "{}: OK (2 providers, 3 aliases, 0 pools, 4 warnings)\n",
            path.display()
        )
    );
    assert_eq!(stderr.lines().count(), 4, "{stderr}");
    assert!(
        stderr.lines().all(|l| l.contains(": warning: ")),
        "{stderr}"
    );
}

#[test]
fn every_shipped_config_is_ok() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let (ok, stdout, stderr) = check(&path);
        assert!(ok, "{}: {stderr}", path.display());
        assert!(stdout.contains(": OK ("), "{stdout}");
        assert!(
            stderr.lines().all(|l| l.contains(": warning: ")),
            "only warnings: {stderr}"
        );
        checked += 1;
    }
    assert!(checked >= 2, "conf/ holds the example and the demo");
}

#[test]
fn startup_refuses_a_bad_file_with_the_check_config_report() {
    let path = fixture("several_mistakes.toml");
    let out = Command::new(BIN).arg("-c").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let (_, _, report) = check(&path);
    let lines: Vec<&str> = report.lines().collect();
    let without_summary = lines[..lines.len() - 1].join("\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        without_summary
    );
}

#[test]
fn startup_logs_the_warnings_once_at_warn_level() {
    let path = fixture("warnings_only.toml");
    let (_, _, report) = check(&path);
    let mut child = Command::new(BIN)
        .arg("-c")
        .arg(&path)
        .args(["-p", "0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut warned: Vec<String> = Vec::new();
    // The warnings are logged when the file is loaded, before the server says it listens.
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.contains("llm-gateway listening") {
            break;
        }
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["level"] == "WARN" {
            warned.push(
                entry["fields"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let expected: Vec<&str> = report.lines().collect();
    assert_eq!(warned, expected);
}
