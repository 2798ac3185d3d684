//! The one error type this crate returns.

use crate::validate::Report;

/// Everything that can go wrong in `registry-schema`. Messages are lowercase and quote the bad value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not JSON at all (or not the JSON shape a type needs).
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// The manifest parsed as JSON but breaks the schema or the registry's rules.
    #[error("invalid server.json: {0}")]
    Invalid(Report),

    /// A server name, namespace, version or other newtype value was rejected.
    #[error("invalid {kind} `{value}`: {reason}")]
    InvalidValue {
        kind: &'static str,
        value: String,
        reason: String,
    },

    /// A number cannot be canonicalized without silently changing its value (RFC 8785 uses IEEE 754 doubles).
    #[error(
        "number {number} at `{pointer}` is outside ±2^53 and cannot be canonicalized exactly; send it as a string"
    )]
    NumberOutOfRange { pointer: String, number: String },
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid_value(
        kind: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidValue {
            kind,
            value: value.into(),
            reason: reason.into(),
        }
    }
}
