//! One module per subcommand, each owning its `Args` and `run`.

pub mod check;
pub mod validate;

use crate::ExitStatus;
use crate::cli::{Cli, Command};

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Check(args) => check::run(&args),
    }
}
