//! Command-line arguments.

use clap::{Parser, Subcommand};

use crate::commands::check::CheckArgs;
use crate::commands::validate::ValidateArgs;

/// Find, check, publish and install MCP servers.
#[derive(Debug, Parser)]
#[command(name = "mcp-reg", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a server.json locally against the official schema and registry rules.
    Validate(ValidateArgs),
    /// Compare two versions of a server's tool surface and report the semver bump they need
    /// (exit 0 compatible, 100 incompatible, 101 could not run).
    Check(CheckArgs),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
