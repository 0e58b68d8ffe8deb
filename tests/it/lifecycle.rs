//! The process, driven as a user drives it: the real binary started with a config file, flags
//! and environment, stopped with signals. A listener that cannot bind is an error; flags beat
//! the environment, which beats the file; SIGTERM exits as soon as nothing is in flight and
//! waits for a stream that is; the open-files limit is raised; `llm-gateway health` probes.

use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit};
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::binary::{Child, ConfigFile, START, bin, free_port};

/// A mock provider and a port.
fn config(host: &str, port: u16, grace_secs: u64) -> ConfigFile {
    ConfigFile::new(&format!(
        "[server]\nhost = \"{host}\"\nport = {port}\nshutdown_grace_secs = {grace_secs}\n\
         [[providers]]\nid = \"mock\"\nprovider_type = \"mock\"\n"
    ))
}

/// The gateway binary (grace period `grace_secs`) with a stream of `model` open and its first
/// chunk read: the config file (kept while the process runs), the process, the response and
/// the text so far.
async fn streaming(grace_secs: u64, model: &str) -> (ConfigFile, Child, reqwest::Response, String) {
    let port = free_port();
    let cfg = config("127.0.0.1", port, grace_secs);
    let mut gw = Child::run(&["-c", cfg.path()], &[]);
    gw.listening();
    let body = serde_json::json!({
        "model": model,
        "stream": true,
        "messages": [{"role": "user", "content": "hi"}],
    });
    let mut resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let first = resp.chunk().await.unwrap().unwrap();
    let text = std::str::from_utf8(&first).unwrap().to_string();
    (cfg, gw, resp, text)
}

/// `/health` of a gateway on `port`.
async fn health(port: u16) -> Value {
    reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_is_an_error_that_names_it_and_exits() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let cfg = config("127.0.0.1", port, 30);
    let mut gw = Child::run(&["-c", cfg.path()], &[]);
    let status = gw
        .exit_within(Duration::from_secs(5))
        .expect("the gateway exits within 5 s");
    assert!(!status.success());
    let stderr = gw.stderr();
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    assert!(stderr.contains("in use"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_this_machine_lacks_is_an_error() {
    let port = free_port();
    let cfg = config("127.0.0.1", port, 30);
    // TEST-NET-1: no machine has it.
    let mut gw = Child::run(&["-c", cfg.path(), "--host", "192.0.2.1"], &[]);
    let status = gw.exit_within(Duration::from_secs(5)).expect("exits");
    assert!(!status.success());
    let stderr = gw.stderr();
    assert!(
        stderr.contains(&format!("cannot listen on 192.0.2.1:{port}: ")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_beat_the_environment_which_beats_the_file() {
    // The file names an address no machine has: starting at all proves it was overridden.
    let (file_port, env_port, flag_port) = (free_port(), free_port(), free_port());
    let cfg = config("192.0.2.1", file_port, 0);
    let env = [
        ("LLM_GATEWAY_HOST", "127.0.0.1"),
        ("LLM_GATEWAY_PORT", &env_port.to_string()),
    ];
    let mut gw = Child::run(&["-c", cfg.path()], &env);
    gw.listening();
    assert_eq!(health(env_port).await["port"], env_port);
    gw.signal(Signal::SIGINT);
    gw.exit_within(START).unwrap();

    let flag = flag_port.to_string();
    let env = [
        ("LLM_GATEWAY_HOST", "192.0.2.1"),
        ("LLM_GATEWAY_PORT", &env_port.to_string()),
    ];
    let mut gw = Child::run(
        &[
            "-c",
            cfg.path(),
            "serve",
            "--host",
            "127.0.0.1",
            "-p",
            &flag,
        ],
        &env,
    );
    gw.listening();
    assert_eq!(health(flag_port).await["port"], flag_port);
    // The probe finds the gateway where `serve` would put it: flags and environment first.
    let probe = Command::new(bin())
        .args([
            "-c",
            cfg.path(),
            "--host",
            "127.0.0.1",
            "--port",
            &flag,
            "health",
        ])
        .output()
        .unwrap();
    assert!(probe.status.success(), "{probe:?}");
    gw.signal(Signal::SIGINT);
    gw.exit_within(START).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_nothing_in_flight_exits_at_once() {
    let port = free_port();
    let cfg = config("127.0.0.1", port, 30);
    let mut gw = Child::run(&["-c", cfg.path()], &[]);
    gw.listening();
    assert_eq!(health(port).await["status"], "ok");
    let sent = Instant::now();
    gw.signal(Signal::SIGTERM);
    let status = gw
        .exit_within(Duration::from_secs(5))
        .expect("exits well within the 30 s grace period");
    assert!(status.success(), "{status:?}");
    assert!(sent.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_the_stream_in_flight_then_exits() {
    let (_cfg, mut gw, mut resp, mut text) = streaming(30, "mock/tokens;n=8;delay=100").await;
    gw.signal(Signal::SIGTERM);
    gw.line_with("waiting for the requests in flight", START);
    while let Some(chunk) = resp.chunk().await.unwrap() {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let ended = Instant::now();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let status = gw
        .exit_within(Duration::from_secs(5))
        .expect("exits once the stream is done");
    assert!(status.success(), "{status:?}");
    assert!(ended.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soft_open_files_limit_is_raised_to_the_hard_limit() {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let low = 256.min(hard);
    let port = free_port();
    let cfg = config("127.0.0.1", port, 0);
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        &format!("ulimit -S -n {low} && exec \"$0\" \"$@\""),
        bin(),
        "-c",
        cfg.path(),
    ]);
    let mut gw = Child::spawn(cmd);
    let line = gw.line_with("open-files limit", START);
    let logged: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(logged["fields"]["soft_before"], low);
    assert_eq!(logged["fields"]["soft"], hard);
    assert_eq!(logged["fields"]["hard"], hard);
    gw.listening();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", gw.pid)).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(open_files[3], hard.to_string(), "soft limit: {limits}");
    gw.signal(Signal::SIGINT);
    gw.exit_within(START).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_command_exits_zero_only_for_a_healthy_gateway() {
    let port = free_port();
    let cfg = config("127.0.0.1", port, 0);
    let mut gw = Child::run(&["-c", cfg.path()], &[]);
    gw.listening();
    let probe = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .env_remove("LLM_GATEWAY_HOST")
            .env_remove("LLM_GATEWAY_PORT")
            .output()
            .unwrap()
    };
    let url = format!("http://127.0.0.1:{port}/health");
    let ok = probe(&["health", "--url", &url]);
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("200"));
    // Without --url: the address from the config file.
    assert!(probe(&["-c", cfg.path(), "health"]).status.success());
    gw.signal(Signal::SIGINT);
    gw.exit_within(START).unwrap();
    let down = probe(&["health", "--url", &url, "--timeout-secs", "2"]);
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    assert!(String::from_utf8_lossy(&down.stderr).starts_with("unhealthy: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_the_grace_period_ends_with_an_error_event() {
    let (_cfg, mut gw, mut resp, mut text) = streaming(1, "mock/tokens;n=100;delay=200").await;
    let signalled = Instant::now();
    gw.signal(Signal::SIGTERM);
    while let Ok(Some(chunk)) = resp.chunk().await {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    // A 20-second stream, a 1-second grace period: it ends with an error event, not a cut.
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    assert!(text.contains("\"shutting_down\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    let status = gw.exit_within(Duration::from_secs(5)).expect("exits");
    assert!(status.success(), "{status:?}");
}
