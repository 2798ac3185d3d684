//! Version policy (§5): which published version a new one is checked against, how big the declared
//! bump is, and the checks beyond the baseline (sandwich, transitive, metadata republish).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Bump, Report, Side, Verdict, check};
use crate::manifest::ServerJson;
use crate::tools::ToolSurface;

/// One version of a server, published or about to be.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    /// The version string as published (any text; only semver versions take part).
    pub version: String,
    /// Deleted (yanked) versions are never a baseline; they still occupy their version number.
    pub deleted: bool,
    pub surface: Option<ToolSurface>,
    pub manifest: Option<ServerJson>,
}

impl Publication {
    fn side(&self) -> Side<'_> {
        Side {
            surface: self.surface.as_ref(),
            manifest: self.manifest.as_ref(),
        }
    }

    fn has_contract(&self) -> bool {
        self.surface.is_some() || self.manifest.is_some()
    }
}

/// Knobs of [`gate`].
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// Also check the new version against every earlier release of its compatibility line (catches
    /// a parameter removed in 1.1.0 and re-added with another type in 1.2.0). On by default.
    pub transitive: bool,
    /// Fingerprints the publisher acknowledged (see [`Report::acknowledge`]).
    pub acknowledged: Vec<String>,
}

impl Default for GateOptions {
    fn default() -> Self {
        Self {
            transitive: true,
            acknowledged: Vec::new(),
        }
    }
}

/// Which check a [`GateCheck`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Against the baseline: the declared bump must cover the changes.
    Baseline,
    /// From the new version to the next higher release of its line, which must stay compatible.
    Sandwich,
    /// Against an earlier release of the same line.
    Transitive,
    /// `X.Y.Z-N` against `X.Y.Z`: the tool surface must be identical.
    Republish,
}

/// One comparison the gate ran. For a sandwich check the report runs from the new version (as old)
/// to the higher one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    pub kind: CheckKind,
    pub against: String,
    pub report: Report,
}

/// Why the gate rejected a version (or, for `first-publish`/`no-surface`, why it had nothing to
/// compare).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateReason {
    /// `version-not-semver`, `version-duplicate`, `bump-too-small`, `sandwich-break`,
    /// `transitive-break`, `republish-changed`, `first-publish`, `no-surface`.
    pub id: String,
    pub message: String,
}

/// The gate's answer for one publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    pub verdict: Verdict,
    pub new_version: String,
    pub baseline_version: Option<String>,
    pub actual_bump: Option<Bump>,
    pub required_bump: Bump,
    /// Rejection reasons (empty on pass, except the informational `first-publish`/`no-surface`).
    pub reasons: Vec<GateReason>,
    pub checks: Vec<GateCheck>,
}

impl GateReport {
    /// The report against the baseline (or the republished version), when one ran.
    pub fn primary(&self) -> Option<&Report> {
        self.checks
            .iter()
            .find(|check| matches!(check.kind, CheckKind::Baseline | CheckKind::Republish))
            .map(|check| &check.report)
    }

    fn reject(&mut self, id: &str, message: String) {
        self.verdict = Verdict::Reject;
        self.reasons.push(GateReason {
            id: id.to_owned(),
            message,
        });
    }
}

/// The bump from `old` to `new` under Cargo's rules: a major change is major; in `0.y.z` a minor
/// change is major and a patch change minor; in `0.0.z` every change is major; a change of the
/// pre-release alone is major (pre-releases may break). `new` is expected above `old`.
pub fn actual_bump(old: &semver::Version, new: &semver::Version) -> Bump {
    if old.major != new.major {
        Bump::Major
    } else if old.minor != new.minor {
        if new.major == 0 {
            Bump::Major
        } else {
            Bump::Minor
        }
    } else if old.patch != new.patch {
        match (new.major, new.minor) {
            (0, 0) => Bump::Major,
            (0, _) => Bump::Minor,
            _ => Bump::Patch,
        }
    } else if old.pre != new.pre {
        Bump::Major
    } else {
        Bump::None
    }
}

/// Whether two versions are in the same compatibility line: same major, or same `0.y` for 0.x;
/// every `0.0.z` is its own line.
pub fn same_line(a: &semver::Version, b: &semver::Version) -> bool {
    match (a.major, b.major) {
        (0, 0) => a.minor == b.minor && a.minor != 0,
        (x, y) => x == y,
    }
}

/// The baseline among `history` for `new`: the highest non-deleted release with lower precedence,
/// else the highest such pre-release. Returns its index.
pub fn choose_baseline(history: &[Publication], new: &semver::Version) -> Option<usize> {
    let lower = |prerelease: bool| {
        history
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.deleted)
            .filter_map(|(i, p)| semver::Version::parse(&p.version).ok().map(|v| (i, v)))
            .filter(|(_, v)| v.cmp_precedence(new).is_lt() && v.pre.is_empty() != prerelease)
            .max_by(|(_, a), (_, b)| a.cmp_precedence(b))
            .map(|(i, _)| i)
    };
    lower(false).or_else(|| lower(true))
}

/// `X.Y.Z-N` (a single numeric pre-release identifier): the official registry's metadata
/// republish of `X.Y.Z`.
pub(super) fn republish_of(version: &semver::Version) -> Option<semver::Version> {
    let pre = version.pre.as_str();
    if pre.is_empty() || !pre.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(semver::Version::new(
        version.major,
        version.minor,
        version.patch,
    ))
}

/// Decides whether `new` may be published after `history` (in publish order, oldest first).
///
/// Pure: the caller loads the history (with surfaces and manifests) and stores the result.
pub fn gate(history: &[Publication], new: &Publication, options: &GateOptions) -> GateReport {
    gate_shared(history, &[], new, options)
}

/// [`gate`] over a history whose publications may share their contents: `same_as[i] == Some(j)` says
/// publication `i` has exactly the surface and manifest of publication `j` (so `i`'s own may be left
/// out), whatever their versions. Each distinct content is compared with the new version once, so a
/// long line of releases that did not change their contract costs one comparison, not one each. The
/// answer is the one [`gate`] gives over the history with every content filled in. `same_as` may be
/// shorter than `history` (missing entries are `None`); a `j` must not point on.
#[allow(
    clippy::too_many_lines,
    reason = "the publish policy as one decision, step by step, as the spec states it"
)]
pub fn gate_shared(
    history: &[Publication],
    same_as: &[Option<usize>],
    new: &Publication,
    options: &GateOptions,
) -> GateReport {
    // Where publication `i`'s contents are, and the comparisons from such contents already run.
    let owner = |i: usize| same_as.get(i).copied().flatten().unwrap_or(i);
    let content = |i: usize| &history[owner(i)];
    let mut compared: HashMap<usize, Report> = HashMap::new();
    let mut report = GateReport {
        verdict: Verdict::Pass,
        new_version: new.version.clone(),
        baseline_version: None,
        actual_bump: None,
        required_bump: Bump::None,
        reasons: Vec::new(),
        checks: Vec::new(),
    };
    let Ok(version) = semver::Version::parse(&new.version) else {
        if new.surface.is_some() {
            report.reject(
                "version-not-semver",
                format!(
                    "version `{}` is not strict semver (MAJOR.MINOR.PATCH, no leading `v`), so its tool surface cannot be checked; publish a semver version",
                    new.version
                ),
            );
        } else {
            report.reasons.push(GateReason {
                id: "no-surface".to_owned(),
                message: "non-semver version without a tool surface: nothing to check".to_owned(),
            });
        }
        return report;
    };
    let parsed: Vec<Option<semver::Version>> = history
        .iter()
        .map(|p| semver::Version::parse(&p.version).ok())
        .collect();
    if let Some(existing) = history.iter().zip(&parsed).find(|(_, v)| {
        v.as_ref()
            .is_some_and(|v| v.cmp_precedence(&version).is_eq())
    }) {
        report.reject(
            "version-duplicate",
            format!(
                "version `{}` has the same precedence as the existing `{}` (build metadata is ignored); versions are immutable",
                new.version, existing.0.version
            ),
        );
        return report;
    }
    let run =
        |old: &Publication, new_pub: &Publication, from: &semver::Version, to: &semver::Version| {
            let mut result = check(old.side(), new_pub.side()).with_versions(from, to);
            result.acknowledge(&options.acknowledged);
            result
        };
    // Publication `i` (as old) against the new version, acknowledgements applied but no versions set,
    // kept in `compared` under the returned key: `check` is pure, so publications sharing their
    // contents share it; only the versions (and so the verdict) differ. (Acknowledging and setting
    // versions commute: each recomputes the verdict from the findings and the bump.)
    let compare_once = |compared: &mut HashMap<usize, Report>, i: usize| -> usize {
        compared.entry(owner(i)).or_insert_with(|| {
            let mut result = check(content(i).side(), new.side());
            result.acknowledge(&options.acknowledged);
            result
        });
        owner(i)
    };

    // Metadata republish: `X.Y.Z-N` after `X.Y.Z`.
    if let Some(base) = republish_of(&version)
        && let Some(index) = history.iter().zip(&parsed).position(|(p, v)| {
            !p.deleted && v.as_ref().is_some_and(|v| v.cmp_precedence(&base).is_eq())
        })
    {
        let original = &history[index];
        let key = compare_once(&mut compared, index);
        let result = compared[&key].clone().with_versions(&base, &version);
        report.baseline_version = Some(original.version.clone());
        report.required_bump = result.required_bump;
        report.actual_bump = Some(Bump::Patch);
        let surface_changed = match (&content(index).surface, &new.surface) {
            (Some(a), Some(b)) => a.canonical_value() != b.canonical_value(),
            (None, None) => false,
            _ => true,
        };
        let runtime_changed = result
            .findings
            .iter()
            .any(|f| f.surface == super::SurfaceKind::Manifest && f.level > Bump::Patch);
        if surface_changed || runtime_changed {
            report.reject(
                "republish-changed",
                format!(
                    "`{}` republishes `{}` (metadata only), so its tool surface and runtime must be identical; publish a new version instead",
                    new.version, original.version
                ),
            );
        }
        report.checks.push(GateCheck {
            kind: CheckKind::Republish,
            against: original.version.clone(),
            report: result,
        });
        return report;
    }

    let Some(baseline_index) = choose_baseline(history, &version) else {
        report.reasons.push(GateReason {
            id: "first-publish".to_owned(),
            message: "no earlier version to compare with".to_owned(),
        });
        return report;
    };
    let baseline = &history[baseline_index];
    let Some(baseline_version) = parsed[baseline_index].clone() else {
        return report;
    };
    report.baseline_version = Some(baseline.version.clone());
    let actual = actual_bump(&baseline_version, &version);
    report.actual_bump = Some(actual);
    if new.has_contract() && content(baseline_index).has_contract() {
        let key = compare_once(&mut compared, baseline_index);
        let result = compared[&key]
            .clone()
            .with_versions(&baseline_version, &version);
        report.required_bump = result.required_bump;
        if result.verdict == Verdict::Reject {
            report.reject(
                "bump-too-small",
                format!(
                    "the changes since {} need a {} bump, but {} → {} is a {actual} bump",
                    baseline.version, result.required_bump, baseline.version, new.version
                ),
            );
        }
        report.checks.push(GateCheck {
            kind: CheckKind::Baseline,
            against: baseline.version.clone(),
            report: result,
        });
    } else {
        report.reasons.push(GateReason {
            id: "no-surface".to_owned(),
            message: format!(
                "{} or {} carries no surface or manifest to compare",
                baseline.version, new.version
            ),
        });
    }
    if !new.has_contract() {
        return report;
    }

    // Sandwich: the next higher release of the same line must stay compatible with the new one.
    if version.pre.is_empty() {
        let next = history
            .iter()
            .zip(&parsed)
            .enumerate()
            .filter_map(|(i, (p, v))| v.as_ref().map(|v| (i, p, v)))
            .filter(|(i, p, v)| {
                !p.deleted
                    && v.pre.is_empty()
                    && v.cmp_precedence(&version).is_gt()
                    && same_line(v, &version)
                    && content(*i).has_contract()
            })
            .min_by(|(_, _, a), (_, _, b)| a.cmp_precedence(b));
        if let Some((higher_index, higher, higher_version)) = next {
            let result = run(new, content(higher_index), &version, higher_version);
            if result.verdict == Verdict::Reject {
                report.reject(
                    "sandwich-break",
                    format!(
                        "{} already exists; going from {} to it needs a {} bump but is a {} bump, so users who take {} would break on upgrade",
                        higher.version,
                        new.version,
                        result.required_bump,
                        actual_bump(&version, higher_version),
                        new.version
                    ),
                );
            }
            report.checks.push(GateCheck {
                kind: CheckKind::Sandwich,
                against: higher.version.clone(),
                report: result,
            });
        }
    }

    // Transitive: every earlier release of the same line.
    if options.transitive {
        for (index, (older, older_version)) in history
            .iter()
            .zip(&parsed)
            .enumerate()
            .filter_map(|(i, (p, v))| v.as_ref().map(|v| (i, (p, v))))
        {
            if index == baseline_index
                || older.deleted
                || !older_version.pre.is_empty()
                || !older_version.cmp_precedence(&version).is_lt()
                || !same_line(older_version, &version)
                || !content(index).has_contract()
            {
                continue;
            }
            // Only a rejection goes into the report, and a comparison rejects exactly when the changes
            // need more than the bump (`Report::with_versions`): decided before building the report,
            // as a long line has many releases that pass.
            let key = compare_once(&mut compared, index);
            let actual = actual_bump(older_version, &version);
            if compared[&key].required_bump <= actual {
                continue;
            }
            let result = compared[&key]
                .clone()
                .with_versions(older_version, &version);
            report.reject(
                "transitive-break",
                format!(
                    "compared with the earlier release {}, the changes need a {} bump but {} → {} is a {actual} bump",
                    older.version, result.required_bump, older.version, new.version,
                ),
            );
            report.checks.push(GateCheck {
                kind: CheckKind::Transitive,
                against: older.version.clone(),
                report: result,
            });
        }
    }
    report
}
