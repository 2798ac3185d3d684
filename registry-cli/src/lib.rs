//! `mcp-reg`: the command-line client of an mcp-reg registry.
//!
//! `main` parses arguments, runs one command and turns its outcome into an exit code:
//! 0 success; 1 a user error (invalid manifest, unreadable file, unreachable registry, refused
//! publish), printed with a `hint:` line; 2 a usage error (bad arguments); 3 `verify` found the
//! version unsigned; 100 `check`/`diff` found incompatible changes; 101 `check` could not run, or a
//! bug in mcp-reg.
//!
//! Every write to stdout (data) and stderr (messages, prompts, progress) goes through [`output`];
//! a closed stdout ends the command with exit 0 and no message.

// `output` owns the standard streams: no print macro anywhere else.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod install;
pub mod lan;
pub mod manual;
pub mod output;
pub mod probe;
pub mod provenance;
pub mod resolve;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

pub use error::{ExitStatus, UserError};

/// Runs `mcp-reg` with `args` (the first is the program name).
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::UsageError.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => report_error(&err).into(),
    }
}

/// Prints an error as one line plus hints, and picks the exit status.
fn report_error(err: &anyhow::Error) -> ExitStatus {
    if err.chain().any(is_broken_pipe) {
        // `mcp-reg search | head` closed our stdout: the reader wanted no more, not an error.
        return ExitStatus::Success;
    }
    output::error(&format!("{err:#}"));
    if let Some(user) = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
    {
        if let Some(hint) = &user.hint {
            output::hint(hint);
        }
        return ExitStatus::Failure;
    }
    output::hint("this looks like a bug in mcp-reg; please report it with the command you ran");
    ExitStatus::Bug
}

fn is_broken_pipe(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
