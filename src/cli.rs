//! Command-line arguments (seed 001 §10). Only definitions; `main.rs` dispatches them.
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
    /// Override the listen port from the config.
    #[arg(short, long)]
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
        /// Override the listen port from the config.
        #[arg(short, long)]
        port: Option<u16>,
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
        let c =
            Cli::try_parse_from(["llm-gateway", "--config", "a.toml", "--port", "9000"]).unwrap();
        assert_eq!((c.config.to_str(), c.port), (Some("a.toml"), Some(9000)));
        let c = Cli::try_parse_from(["llm-gateway", "serve", "-c", "b.toml", "-p", "1"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Serve { port: Some(1), .. })
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
