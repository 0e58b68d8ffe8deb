//! `llm-gateway`: parses the command line and hands over to the library.
//!
//! Depends on the library's `app`, `cli`, `config`, `mock`, `observability` and `probe` only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc: measurably less CPU than the system allocator for the many small, short-lived
/// allocations of a request (see load-tests/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use llm_gateway::cli::{Cli, Command};
use llm_gateway::observability::access_log::AccessLog;
use llm_gateway::{app, config, mock, probe};

/// Where to listen: flags and environment (already merged by clap) over the file.
struct Listen {
    host: Option<String>,
    port: Option<u16>,
}

impl Listen {
    fn apply(self, server: &mut config::ServerConfig) {
        if let Some(h) = self.host {
            server.host = h;
        }
        if let Some(p) = self.port {
            server.port = p;
        }
    }
}

fn main() -> ExitCode {
    llm_gateway::app::limits::no_huge_pages();
    let cli = Cli::parse();
    let listen = Listen {
        host: cli.host,
        port: cli.port,
    };
    match cli.command {
        None => run_server(cli.config, listen),
        Some(Command::Serve { config, host, port }) => run_server(
            config.unwrap_or(cli.config),
            Listen {
                host: host.or(listen.host),
                port: port.or(listen.port),
            },
        ),
        Some(Command::Health { url, timeout_secs }) => {
            health(url, &cli.config, listen, timeout_secs)
        }
        Some(Command::CheckConfig { path }) => check_config(&path),
        Some(Command::Schema) => match serde_json::to_string_pretty(&config::json_schema()) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot render the schema: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Update { .. }) => {
            eprintln!(
                "Self-update is not available in this build. Download the latest release from the project's GitHub releases page, or rebuild from source with `cargo build --release`."
            );
            ExitCode::from(2)
        }
        Some(Command::MockUpstream {
            port,
            host,
            token_delay_ms,
        }) => {
            let addr = match format!("{host}:{port}").parse() {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("invalid --host/--port: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let opts = mock::MockOptions {
                token_delay: std::time::Duration::from_millis(token_delay_ms),
            };
            match mock::run_blocking(addr, opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mock upstream failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `check-config`: every problem of the file on stderr, errors and warnings in file order,
/// then a summary; the exit status is non-zero when there is an error.
fn check_config(path: &Path) -> ExitCode {
    let source = path.display().to_string();
    match config::load_file_checked(path) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{}", warning.render(&source));
            }
            let c = &loaded.config;
            let warned = match loaded.warnings.len() {
                0 => String::new(),
                n => format!(", {}", count(n, "warning")),
            };
            println!(
                "{source}: OK ({} providers, {} aliases, {} pools{warned})",
                c.providers.len(),
                c.model_routing.aliases.len(),
                c.pools.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            let errors = e.errors();
            let warned = match e.problems.len() - errors {
                0 => String::new(),
                n => format!(", {}", count(n, "warning")),
            };
            eprintln!("{source}: {}{warned}", count(errors, "error"));
            ExitCode::FAILURE
        }
    }
}

/// `llm-gateway health`: probes `url`, or the local gateway at the address `serve` would use
/// (the config file counts when it exists).
fn health(url: Option<String>, path: &std::path::Path, listen: Listen, timeout: u64) -> ExitCode {
    let url = match url {
        Some(u) => u,
        None => {
            let mut server = if path.exists() {
                match config::load_file(path) {
                    Ok(c) => c.server,
                    Err(e) => {
                        eprintln!("unhealthy: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                config::ServerConfig::default()
            };
            listen.apply(&mut server);
            probe::local_url(&server.host, server.port)
        }
    };
    match probe::check(&url, std::time::Duration::from_secs(timeout)) {
        Ok(status) => {
            println!("healthy: {url}: {status}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::FAILURE
        }
    }
}

/// "1 error", "3 warnings".
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Log lines (not access lines) waiting for the writer thread.
const LOG_LINES: usize = 4096;

fn run_server(path: PathBuf, listen: Listen) -> ExitCode {
    let source = path.display().to_string();
    let loaded = match config::load_file_checked(&path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = loaded.config;
    listen.apply(&mut config.server);
    // The log channel holds LOG_LINES lines (the default, 128,000, is a 4 MiB array written
    // through at start: a quarter of an idle gateway's memory); a burst beyond it is dropped.
    let (writer, _guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_LINES)
        .finish(std::io::stdout());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(llm_gateway::observability::redact::Redacting(writer))
        .try_init();
    for warning in &loaded.warnings {
        tracing::warn!("{}", warning.render(&source));
    }
    let (access_log, _access_guard) = match AccessLog::to_writer(std::io::stdout()) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("cannot start the access-log writer thread: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = app::build(config, access_log).and_then(|built| {
        // SIGHUP reads the file again (hot reload).
        let gateway = std::sync::Arc::downgrade(&built.gateway);
        built
            .gateway
            .tenancy
            .store
            .spawn(llm_gateway::api::reload::reload_on_sighup(
                gateway,
                path.clone(),
            ));
        app::serve(built)
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}
