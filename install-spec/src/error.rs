//! Everything that can go wrong while rendering or installing an entry. The file-related variants are
//! produced by `mcp-reg install` (registry-cli), which edits files with this crate's renderers; the
//! renderers themselves only return [`InstallError::Unsupported`], [`InstallError::MissingInput`],
//! [`InstallError::SecretNeedsConsent`] and [`InstallError::InvalidName`].

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while installing; each message names the file or input concerned.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}")]
    Unsupported(String),
    #[error("a value is required for `{key}`{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    MissingInput {
        key: String,
        description: Option<String>,
    },
    #[error(
        "{host} has no way to keep the secret `{key}` out of its config file; allow writing it in plain \
         text explicitly, or pick a host that can reference secrets"
    )]
    SecretNeedsConsent { host: &'static str, key: String },
    #[error("cannot parse {}: line {line}, column {column}: {message}; the file was left untouched", .path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}; the file was left untouched", .path.display())]
    InvalidConfig { path: PathBuf, message: String },
    #[error("`{name}` in {} was not added by mcp-reg; use --force to replace or remove it", .path.display())]
    Foreign { name: String, path: PathBuf },
    #[error("`{name}` in {} was changed since mcp-reg added it; use --force to replace or remove it", .path.display())]
    Modified { name: String, path: PathBuf },
    #[error("there is no `{name}` in {}", .path.display())]
    NotFound { name: String, path: PathBuf },
    #[error("invalid entry name `{name}`: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("{} changed while mcp-reg was preparing its edit; nothing was written, run the command again", .path.display())]
    ConcurrentModification { path: PathBuf },
    #[error("{host} has no {scope}-scope config file")]
    ScopeUnsupported {
        host: &'static str,
        scope: &'static str,
    },
    #[error("{host}'s project scope needs a project directory")]
    NoProjectDir { host: &'static str },
    #[error("cannot find the home directory (HOME / USERPROFILE is not set)")]
    NoHome,
    #[error("install record {}: {message}", .path.display())]
    Record { path: PathBuf, message: String },
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl InstallError {
    /// An I/O failure on `path` (for the callers that touch files).
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
