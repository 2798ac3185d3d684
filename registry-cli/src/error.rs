//! Exit statuses and the marker for errors that are the user's to fix.

use std::fmt;
use std::process::ExitCode;

/// How `mcp-reg` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done.
    Success,
    /// 1: the command ran and its answer is "no" (e.g. the manifest is invalid), or the user's input
    /// or environment is wrong (unreadable file, unreachable registry, refused publish): a [`UserError`].
    Failure,
    /// 2: the command line itself is wrong (clap's usage errors).
    UsageError,
    /// 3: `verify` found no provenance bundle (the version is unsigned); not 2, which scripts read
    /// as "bad arguments".
    Unsigned,
    /// 101: a bug in mcp-reg (the code Rust uses for a panic).
    Bug,
    /// 100: `check` ran and the changes are incompatible with the versions (buf and
    /// cargo-semver-checks use 100 too).
    Incompatible,
    /// 101: `check` could not run (unreadable file, undecodable JSON, non-semver version).
    CouldNotRun,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::UsageError => 2,
            ExitStatus::Unsigned => 3,
            ExitStatus::Incompatible => 100,
            ExitStatus::Bug | ExitStatus::CouldNotRun => 101,
        })
    }
}

/// An error caused by the user's input or environment; `hint` says what to do about it.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}
