//! `ServerVersion`: a published version string. Semver is recommended, not required (as upstream), but a
//! version must name one release: never `latest`, never a range.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::name::string_newtype_impls;

mod order;
pub use order::{is_release_key, line_range, order_key};

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

/// The key two versions share when they have the same semver precedence: the version without build
/// metadata (`1.0.0+a` and `1.0.0+b` are the same release). Non-semver versions are their own key.
pub fn precedence_key(version: &str) -> String {
    match semver::Version::parse(version) {
        Ok(mut parsed) => {
            parsed.build = semver::BuildMetadata::EMPTY;
            parsed.to_string()
        }
        Err(_) => version.to_owned(),
    }
}

/// One published version, as the latest rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct LatestCandidate<'a> {
    pub version: &'a str,
    pub deleted: bool,
}

/// Which version is `latest`, given every version of a server **in publish order** (oldest first).
///
/// - Deleted versions are passed over, unless every version is deleted (then the rule runs over all of
///   them, as the official registry keeps the flag on the highest deleted one).
/// - Between two semver versions, a release beats any pre-release (a pre-release is latest only while the
///   server has no release, as npm and crates.io treat them), then higher precedence wins.
/// - When either of two versions is not semver, the one published later wins (the official registry's
///   documented rule: "a non-semver version published after semver ones will be marked as latest").
pub fn pick_latest(candidates: &[LatestCandidate<'_>]) -> Option<usize> {
    let any_live = candidates.iter().any(|candidate| !candidate.deleted);
    let mut best: Option<(usize, Option<semver::Version>)> = None;
    for (index, candidate) in candidates.iter().enumerate() {
        if any_live && candidate.deleted {
            continue;
        }
        let parsed = semver::Version::parse(candidate.version).ok();
        let wins = match (&best, &parsed) {
            (Some((_, Some(current))), Some(new)) => release_order(new, current).is_gt(),
            // The first candidate, or either is not semver (then the later publication wins).
            _ => true,
        };
        if wins {
            best = Some((index, parsed));
        }
    }
    best.map(|(index, _)| index)
}

/// Releases above pre-releases, then semver precedence (build metadata ignored).
fn release_order(a: &semver::Version, b: &semver::Version) -> std::cmp::Ordering {
    a.pre
        .is_empty()
        .cmp(&b.pre.is_empty())
        .then_with(|| a.cmp_precedence(b))
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

    fn latest(versions: &[(&str, bool)]) -> Option<&'static str> {
        let candidates: Vec<LatestCandidate<'_>> = versions
            .iter()
            .map(|&(version, deleted)| LatestCandidate { version, deleted })
            .collect();
        pick_latest(&candidates).map(|index| versions[index].0.to_owned().leak() as &str)
    }

    #[test]
    fn latest_is_the_highest_release() {
        assert_eq!(
            latest(&[("1.0.0", false), ("2.0.0", false), ("1.5.0", false)]),
            Some("2.0.0")
        );
        assert_eq!(
            latest(&[("1.10.0", false), ("1.9.0", false)]),
            Some("1.10.0")
        );
        assert_eq!(latest(&[]), None);
    }

    #[test]
    fn prereleases_are_latest_only_without_a_release() {
        assert_eq!(
            latest(&[("1.0.0", false), ("2.0.0-rc.1", false)]),
            Some("1.0.0")
        );
        assert_eq!(
            latest(&[("1.0.0-alpha", false), ("1.0.0-beta", false)]),
            Some("1.0.0-beta")
        );
        assert_eq!(
            latest(&[("1.0.0-alpha.2", false), ("1.0.0-alpha.10", false)]),
            Some("1.0.0-alpha.10")
        );
        assert_eq!(
            latest(&[("1.2.3", false), ("1.2.3-1", false)]),
            Some("1.2.3")
        );
    }

    #[test]
    fn deleted_versions_are_passed_over_unless_all_are_deleted() {
        assert_eq!(latest(&[("1.0.0", false), ("2.0.0", true)]), Some("1.0.0"));
        assert_eq!(latest(&[("1.0.0", true), ("2.0.0", true)]), Some("2.0.0"));
    }

    #[test]
    fn non_semver_follows_publication_order() {
        assert_eq!(
            latest(&[("1.0.0", false), ("2024-01", false)]),
            Some("2024-01")
        );
        assert_eq!(
            latest(&[("2024-01", false), ("1.0.0", false)]),
            Some("1.0.0")
        );
        assert_eq!(latest(&[("v2", false), ("v1", false)]), Some("v1"));
    }

    #[test]
    fn build_metadata_shares_precedence() {
        assert_eq!(precedence_key("1.0.0+build.1"), "1.0.0");
        assert_eq!(precedence_key("1.0.0+build.2"), precedence_key("1.0.0"));
        assert_ne!(precedence_key("1.0.0-rc.1"), precedence_key("1.0.0"));
        assert_eq!(precedence_key("v1"), "v1");
    }
}
