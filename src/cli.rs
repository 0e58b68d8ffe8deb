//! Command-line arguments (seed 001 §10). Only definitions; `main.rs` dispatches them.
//!
//! The listen address comes from, in order: a flag of `serve`, the same flag before the
//! command, its environment variable (`LLM_GATEWAY_HOST`, `LLM_GATEWAY_PORT`; clap reads
//! them), then `[server]` in the config file.
//!
//! Depends on nothing else of the crate.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Self-hosted LLM gateway: one OpenAI- and Anthropic-compatible base URL for many providers.
#[derive(Debug, Parser)]
#[command(name = "llm-gateway", version, about)]
pub struct Cli {
    /// Path to the TOML config file.
    #[arg(short, long, default_value = "config.toml")]
    pub config: PathBuf,
    /// Listen address; overrides `[server] host`.
    #[arg(long, env = "LLM_GATEWAY_HOST")]
    pub host: Option<String>,
    /// Listen port; overrides `[server] port`.
    #[arg(short, long, env = "LLM_GATEWAY_PORT")]
    pub port: Option<u16>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the gateway server (the default when no command is given).
    Serve {
        /// Path to the TOML config file (overrides the one before `serve`).
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Listen address; overrides `[server] host` and LLM_GATEWAY_HOST.
        #[arg(long)]
        host: Option<String>,
        /// Listen port; overrides `[server] port` and LLM_GATEWAY_PORT.
        #[arg(short, long)]
        port: Option<u16>,
    },
    /// Exit 0 when the gateway answers `GET /health` with 200, else 1 (for container health
    /// checks). Without `--url`, probes the local gateway at the address `serve` would use.
    Health {
        /// The URL to probe (plain http).
        #[arg(long)]
        url: Option<String>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
    /// Validate a config file: print every problem with its key path and line.
    CheckConfig {
        /// The config file to check.
        path: PathBuf,
    },
    /// Print the JSON Schema of the config file.
    Schema,
    /// Self-update (not available in this build).
    Update {
        /// Only check for updates.
        #[arg(long)]
        check: bool,
    },
    /// Run the mock upstream provider (OpenAI, Anthropic and Gemini wire formats).
    MockUpstream {
        /// Port to listen on.
        #[arg(long, default_value_t = 8931)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Delay between streamed tokens, in milliseconds.
        #[arg(long, default_value_t = 0)]
        token_delay_ms: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let c = Cli::try_parse_from(["llm-gateway"]).unwrap();
        assert_eq!(c.config, PathBuf::from("config.toml"));
        assert!(c.command.is_none());
        let c = Cli::try_parse_from([
            "llm-gateway",
            "--config",
            "a.toml",
            "--port",
            "9000",
            "--host",
            "0.0.0.0",
        ])
        .unwrap();
        assert_eq!(
            (c.config.to_str(), c.port, c.host.as_deref()),
            (Some("a.toml"), Some(9000), Some("0.0.0.0"))
        );
        let c = Cli::try_parse_from(["llm-gateway", "serve", "-c", "b.toml", "-p", "1"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Serve { port: Some(1), .. })
        ));
        let c = Cli::try_parse_from(["llm-gateway", "serve", "--host", "::"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Serve { host: Some(h), .. }) if h == "::"
        ));
        let c = Cli::try_parse_from(["llm-gateway", "health"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Health {
                url: None,
                timeout_secs: 3
            })
        ));
        let c =
            Cli::try_parse_from(["llm-gateway", "health", "--url", "http://h:1/health"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Health { url: Some(_), .. })
        ));
        let c = Cli::try_parse_from(["llm-gateway", "check-config", "x.toml"]).unwrap();
        assert!(matches!(c.command, Some(Command::CheckConfig { .. })));
        let c = Cli::try_parse_from(["llm-gateway", "mock-upstream", "--port", "7000"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::MockUpstream { port: 7000, .. })
        ));
        assert!(Cli::try_parse_from(["llm-gateway", "update", "--check"]).is_ok());
        assert!(Cli::try_parse_from(["llm-gateway", "--bogus"]).is_err());
    }
}
