//! `ServerVersion`: a published version string. Semver is recommended, not required (as upstream), but a
//! version must name one release: never `latest`, never a range.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::name::string_newtype_impls;

/// Longest version string accepted (official schema and database column).
pub const MAX_VERSION_LEN: usize = 255;

/// A version of a server as published: unique per server name and immutable once published.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServerVersion(String);

impl ServerVersion {
    pub fn parse(value: impl Into<String>) -> crate::Result<Self> {
        let value = value.into();
        match version_problem(&value) {
            Some(reason) => Err(Error::invalid_value("version", value, reason)),
            None => Ok(Self(value)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The version as semver 2.0, when it is one.
    pub fn semver(&self) -> Option<semver::Version> {
        semver::Version::parse(&self.0).ok()
    }
}

/// Which rule a version string breaks; the rule ids match the validator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionProblem {
    Empty,
    TooLong,
    Latest,
    Range,
}

impl VersionProblem {
    /// The validator's rule id for this problem.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Empty | Self::TooLong => "version-format",
            Self::Latest => "version-latest",
            Self::Range => "version-range",
        }
    }
}

/// Why `version` cannot be published, or `None` when it can.
pub fn version_problem(version: &str) -> Option<String> {
    classify_version_problem(version).map(|problem| match problem {
        VersionProblem::Empty => "must not be empty or blank".to_owned(),
        VersionProblem::TooLong => format!(
            "is {} characters long; at most {MAX_VERSION_LEN} are allowed",
            version.chars().count()
        ),
        VersionProblem::Latest => {
            "is reserved: publish a concrete version such as `1.0.0`".to_owned()
        }
        VersionProblem::Range => {
            "looks like a version range; publish one concrete version such as `1.2.3`".to_owned()
        }
    })
}

/// The structured form of [`version_problem`].
pub fn classify_version_problem(version: &str) -> Option<VersionProblem> {
    if version.trim().is_empty() {
        Some(VersionProblem::Empty)
    } else if version.chars().count() > MAX_VERSION_LEN {
        Some(VersionProblem::TooLong)
    } else if version.eq_ignore_ascii_case("latest") {
        Some(VersionProblem::Latest)
    } else if looks_like_range(version) {
        Some(VersionProblem::Range)
    } else {
        None
    }
}

/// The range shapes npm and cargo users write: comparison prefixes, hyphen ranges, `||` unions and
/// `x`/`*` wildcard components.
fn looks_like_range(version: &str) -> bool {
    let v = version.trim();
    if v.starts_with(['^', '~', '>', '<', '=']) {
        return true;
    }
    if v.contains("||") || v.contains(" - ") {
        return true;
    }
    // Wildcards only count before any pre-release or build suffix: `1.0.0-x` is a real pre-release.
    let core = v.split(['-', '+']).next().unwrap_or_default();
    core.split('.').any(|part| matches!(part, "x" | "X" | "*"))
}

string_newtype_impls!(ServerVersion);

impl PartialOrd for ServerVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ServerVersion {
    /// Text order: a stable total order for maps and keys. Precedence (which version is newer) is not
    /// decided here but by the registry's latest rule.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_concrete_versions() {
        for ok in [
            "1.0.0",
            "2025.8.4",
            "1.0.0-x.7",
            "1.0.0+build.5",
            "v1.2",
            "20240101",
            "0.1.0-rc.1",
        ] {
            assert!(ServerVersion::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            ServerVersion::parse("1.2.3").unwrap().semver(),
            Some(semver::Version::new(1, 2, 3))
        );
        assert_eq!(ServerVersion::parse("v1.2").unwrap().semver(), None);
    }

    #[test]
    fn rejects_latest_ranges_and_blanks() {
        for (bad, problem) in [
            ("latest", VersionProblem::Latest),
            ("LATEST", VersionProblem::Latest),
            ("^1.0.0", VersionProblem::Range),
            ("~1.2", VersionProblem::Range),
            (">=1.0.0", VersionProblem::Range),
            ("<2", VersionProblem::Range),
            ("=1.0.0", VersionProblem::Range),
            ("1.0.0 - 2.0.0", VersionProblem::Range),
            ("1.0.0 || 2.0.0", VersionProblem::Range),
            ("1.x", VersionProblem::Range),
            ("1.2.*", VersionProblem::Range),
            ("*", VersionProblem::Range),
            ("", VersionProblem::Empty),
            ("  ", VersionProblem::Empty),
        ] {
            assert_eq!(classify_version_problem(bad), Some(problem), "{bad:?}");
            let err = ServerVersion::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        assert_eq!(
            classify_version_problem(&"1".repeat(256)),
            Some(VersionProblem::TooLong)
        );
    }
}
