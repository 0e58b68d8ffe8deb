//! `llm-gateway`: parses the command line and hands over to the library.
//!
//! Depends on the library's `app`, `cli`, `config`, `mock` and `observability` only.

use std::process::ExitCode;

/// mimalloc: measurably less CPU than the system allocator for the many small, short-lived
/// allocations of a request (see load-tests/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use llm_gateway::cli::{Cli, Command};
use llm_gateway::observability::access_log::AccessLog;
use llm_gateway::{app, config, mock};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run_server(cli.config, cli.port),
        Some(Command::Serve { config, port }) => {
            run_server(config.unwrap_or(cli.config), port.or(cli.port))
        }
        Some(Command::CheckConfig { path }) => match config::load_file(&path) {
            Ok(c) => {
                println!(
                    "{}: OK ({} providers, {} aliases, {} pools)",
                    path.display(),
                    c.providers.len(),
                    c.model_routing.aliases.len(),
                    c.pools.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
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

fn run_server(path: std::path::PathBuf, port: Option<u16>) -> ExitCode {
    let mut config = match config::load_file(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(p) = port {
        config.server.port = p;
    }
    let (writer, _guard) = tracing_appender::non_blocking(std::io::stdout());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
    let (access_log, _access_guard) = match AccessLog::to_writer(std::io::stdout()) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("cannot start the access-log writer thread: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = app::build(config, access_log).and_then(app::serve);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}
