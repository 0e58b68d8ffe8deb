//! The real `llm-gateway` binary as a child process: its config in a temporary file, its stdout
//! read line by line (the JSON log), its stderr kept, its exit awaited with a deadline.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Long enough for a debug build to start on a busy machine.
pub const START: Duration = Duration::from_secs(30);

/// A config file that is removed when dropped.
pub struct ConfigFile(pub PathBuf);

impl ConfigFile {
    pub fn new(text: &str) -> ConfigFile {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "llm-gateway-it-{}-{}.toml",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap();
        ConfigFile(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A port nobody listens on (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_llm-gateway")
}

/// A running (or exited) child.
pub struct Child {
    pub pid: Pid,
    lines: Receiver<String>,
    exit: Receiver<ExitStatus>,
    exited: Option<ExitStatus>,
    stderr: Option<JoinHandle<String>>,
}

impl Child {
    /// Starts `cmd` with its output piped.
    pub fn spawn(mut cmd: Command) -> Child {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (line_tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if line_tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let (exit_tx, exit) = channel();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = exit_tx.send(status);
            }
        });
        Child {
            pid,
            lines,
            exit,
            exited: None,
            stderr: Some(stderr),
        }
    }

    /// The binary with these arguments.
    pub fn run(args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env_remove("LLM_GATEWAY_HOST")
            .env_remove("LLM_GATEWAY_PORT")
            .env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Child::spawn(cmd)
    }

    /// Waits for a stdout line containing `text` and returns it.
    pub fn line_with(&mut self, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("no line with {text:?} within {within:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "the gateway exited before logging {text:?}: {}",
                        self.stderr()
                    )
                }
            }
        }
    }

    /// Waits until the gateway logs that it listens.
    pub fn listening(&mut self) {
        self.line_with("llm-gateway listening", START);
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid, signal).unwrap();
    }

    /// The exit status, when the child exits within `within`.
    pub fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.exit.recv_timeout(within).ok();
        }
        self.exited
    }

    /// Everything the child wrote to stderr (waits for it to exit).
    pub fn stderr(&mut self) -> String {
        self.exit_within(START);
        self.stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Not yet reaped (the waiter thread reaps it), so the pid is still this child's.
        if self.exit_within(Duration::ZERO).is_none() {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = self.exit.recv_timeout(START);
        }
    }
}
