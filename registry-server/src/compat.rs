//! The compatibility gate at publish: glue between the stored history and
//! `registry_schema::compat::gate`, plus the report shape the API serves.
//!
//! The report kept with a version (and sent as problem+json extension members on a refusal) is the
//! primary comparison's report (`verdict`, `baseline_version`, `new_version`, `actual_bump`,
//! `required_bump`, `findings`, `undecided`) plus `scope` (what was compared), `reasons` (why the
//! gate decided as it did) and `checks` (every comparison it ran: baseline, sandwich, transitive,
//! republish).

use registry_schema::compat::{
    self, Bump, GateOptions, GateReport, Publication, Report, Side, Verdict,
};
use registry_schema::{Manifest, ServerJson, ToolSurface};
use serde::Serialize;
use serde_json::Value;

use crate::db::{CompatPolicy, GateDecision, GateHistory, PublishedVersion, Status};

/// What the gate compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Tool surfaces and manifests.
    Surface,
    /// The new version carries no tool surface: only the runtime parts of the manifests.
    ManifestOnly,
}

/// The gate's report in the API's shape.
#[derive(Debug, Clone, Serialize)]
pub struct CompatReport {
    pub verdict: Verdict,
    pub baseline_version: Option<String>,
    pub new_version: String,
    pub actual_bump: Option<Bump>,
    pub required_bump: Bump,
    pub findings: Vec<compat::Finding>,
    pub undecided: Vec<compat::Undecided>,
    pub scope: Scope,
    pub reasons: Vec<compat::GateReason>,
    pub checks: Vec<compat::GateCheck>,
    /// The policy the gate's verdict was applied under.
    pub policy: CompatPolicy,
    /// Set when the version was stored although the gate rejects it: under `advise`, or because the
    /// publisher accepted the breaks. Consumers must treat such a version as breaking whatever its
    /// number says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unannounced_break: Option<UnannouncedBreak>,
}

/// A break the version number does not announce, stored anyway.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct UnannouncedBreak {
    /// `advise` (the policy let it through) or `accepted` (the publisher accepted it under `enforce`).
    pub how: String,
    /// The token that published it, for `accepted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
    /// Fingerprints of the breaking findings (empty when the break is not a finding, e.g. a version
    /// that is not semver).
    pub fingerprints: Vec<String>,
    /// Why the gate rejects it, one sentence per reason.
    pub reasons: Vec<String>,
}

/// What the publisher said about provable breaks (`accept_breaking` in the publish envelope).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AcceptBreaking {
    /// Nothing: a break refuses the version under `enforce`.
    #[default]
    No,
    /// Every break of this version.
    All,
    /// Exactly these findings (12-hex-digit fingerprints); any other break still refuses.
    Fingerprints(Vec<String>),
}

/// The publisher's side of the gate for one publish.
#[derive(Debug, Clone, Default)]
pub struct GateRequest {
    pub acknowledged: Vec<String>,
    pub accept_breaking: AcceptBreaking,
    pub policy: CompatPolicy,
    /// Token id of the publisher, recorded when it accepts a break.
    pub publisher: String,
}

/// Reasons a publisher may accept: breaks between surfaces, and versions the gate cannot order.
const ACCEPTABLE_REASONS: &[&str] = &[
    "bump-too-small",
    "sandwich-break",
    "transitive-break",
    "republish-changed",
    "version-not-semver",
];

impl CompatReport {
    fn new(gate: GateReport, scope: Scope, policy: CompatPolicy) -> Self {
        let (findings, undecided) = gate
            .primary()
            .map(|report| (report.findings.clone(), report.undecided.clone()))
            .unwrap_or_default();
        Self {
            verdict: gate.verdict,
            baseline_version: gate.baseline_version,
            new_version: gate.new_version,
            actual_bump: gate.actual_bump,
            required_bump: gate.required_bump,
            findings,
            undecided,
            scope,
            reasons: gate.reasons,
            checks: gate.checks,
            policy,
            unannounced_break: None,
        }
    }

    /// Fingerprints of the findings that make a rejecting check reject: those needing more than the
    /// bump the version number declares.
    fn breaking_fingerprints(&self) -> Vec<String> {
        let mut fingerprints: Vec<String> = self
            .checks
            .iter()
            .filter(|check| check.report.verdict == Verdict::Reject)
            .flat_map(|check| {
                let declared = check.report.actual_bump.unwrap_or(Bump::None);
                check
                    .report
                    .findings
                    .iter()
                    .filter(move |finding| finding.level > declared)
                    .map(|finding| finding.fingerprint.clone())
            })
            .collect();
        fingerprints.sort();
        fingerprints.dedup();
        fingerprints
    }

    /// Whether the rejection may be stored anyway, and how.
    fn unannounced(&self, request: &GateRequest) -> Option<UnannouncedBreak> {
        let fingerprints = self.breaking_fingerprints();
        let reasons = || {
            self.reasons
                .iter()
                .filter(|reason| !matches!(reason.id.as_str(), "first-publish" | "no-surface"))
                .map(|reason| reason.message.clone())
                .collect()
        };
        if request.policy == CompatPolicy::Advise {
            return Some(UnannouncedBreak {
                how: "advise".to_owned(),
                accepted_by: None,
                fingerprints,
                reasons: reasons(),
            });
        }
        let acceptable = self.reasons.iter().all(|reason| {
            matches!(reason.id.as_str(), "first-publish" | "no-surface")
                || ACCEPTABLE_REASONS.contains(&reason.id.as_str())
        });
        // Undecided findings are acknowledged, not accepted: the publisher vouches they are no break.
        let covered = match &request.accept_breaking {
            AcceptBreaking::No => false,
            AcceptBreaking::All => self.undecided.is_empty(),
            AcceptBreaking::Fingerprints(accepted) => {
                self.undecided.is_empty()
                    && !fingerprints.is_empty()
                    && fingerprints.iter().all(|fp| accepted.contains(fp))
                    && self
                        .reasons
                        .iter()
                        .all(|reason| reason.id != "version-not-semver")
            }
        };
        (acceptable && covered).then(|| UnannouncedBreak {
            how: "accepted".to_owned(),
            accepted_by: Some(request.publisher.clone()),
            fingerprints,
            reasons: reasons(),
        })
    }

    /// One sentence for problem+json `detail`.
    pub fn summary(&self) -> String {
        let reasons: Vec<&str> = self
            .reasons
            .iter()
            .filter(|reason| !matches!(reason.id.as_str(), "first-publish" | "no-surface"))
            .map(|reason| reason.message.as_str())
            .collect();
        if reasons.is_empty() {
            format!(
                "version {} is incompatible with earlier versions",
                self.new_version
            )
        } else {
            format!(
                "version {} breaks compatibility: {}",
                self.new_version,
                reasons.join("; ")
            )
        }
    }
}

/// A refused publish: the report to send back.
#[derive(Debug, Clone)]
pub struct Refusal(pub Box<CompatReport>);

/// Runs the gate for `manifest` over the server's stored `history` (manifests of the versions the gate
/// reads, the others by version and status; see [`PublishedVersion`]) and applies the policy. `Ok(Some(json))`
/// is the report to keep; `Ok(None)` leaves the decision to the store (a duplicate version, which is a
/// plain 409). Under `advise`, or when the publisher accepted every break, a rejected version is kept with
/// the report saying so (`unannounced_break`). A rejection over a summary of the history asks for all of
/// it, as the report names every release the new version breaks with.
pub fn gate_publish(
    manifest: &Manifest,
    history: GateHistory<'_>,
    request: &GateRequest,
) -> GateDecision<Refusal> {
    let publications: Vec<Publication> = history.versions.iter().map(publication).collect();
    let same_as: Vec<Option<usize>> = history
        .versions
        .iter()
        .map(|stored| stored.same_as)
        .collect();
    let new_surface = surface(manifest.server());
    let scope = if new_surface.is_some() {
        Scope::Surface
    } else {
        Scope::ManifestOnly
    };
    let new = Publication {
        version: manifest.version().as_str().to_owned(),
        deleted: false,
        surface: new_surface,
        manifest: Some(manifest.server().clone()),
    };
    let options = GateOptions {
        acknowledged: request.acknowledged.clone(),
        ..GateOptions::default()
    };
    let gate = compat::gate_shared(&publications, &same_as, &new, &options);
    if gate
        .reasons
        .iter()
        .any(|reason| reason.id == "version-duplicate")
    {
        return GateDecision::Decided(Ok(None));
    }
    if gate.verdict == Verdict::Reject && !history.complete {
        return GateDecision::NeedsEveryVersion;
    }
    let mut report = CompatReport::new(gate, scope, request.policy);
    if report.verdict == Verdict::Reject {
        match report.unannounced(request) {
            Some(unannounced) => report.unannounced_break = Some(unannounced),
            None => return GateDecision::Decided(Err(Refusal(Box::new(report)))),
        }
    }
    // Serializing plain data cannot fail; were it to, the version is still published, without report.
    GateDecision::Decided(Ok(serde_json::to_string(&report).ok()))
}

/// `_meta["dev.mcp-reg/compat"]` of a version whose kept report (JSON text) records a break its version
/// number does not announce; `None` for every other version.
pub fn unannounced_break_meta(report: &str) -> Option<Value> {
    let report: Value = serde_json::from_str(report).ok()?;
    let unannounced = report.get("unannounced_break")?;
    Some(serde_json::json!({
        "breaking": true,
        "how": unannounced.get("how").cloned().unwrap_or(Value::Null),
        "requiredBump": report.get("required_bump").cloned().unwrap_or(Value::Null),
        "baselineVersion": report.get("baseline_version").cloned().unwrap_or(Value::Null),
        "reasons": unannounced.get("reasons").cloned().unwrap_or(Value::Null),
    }))
}

/// Whether a kept report (JSON text) records a break the publisher accepted.
pub fn accepts_break(report: &str) -> bool {
    serde_json::from_str::<Value>(report).is_ok_and(|report| {
        report
            .pointer("/unannounced_break/how")
            .and_then(Value::as_str)
            == Some("accepted")
    })
}

/// Compares two stored versions in either order (`GET …/diff`).
pub fn diff(from: &Manifest, to: &Manifest) -> Value {
    let (from_server, to_server) = (from.server(), to.server());
    let (from_surface, to_surface) = (surface(from_server), surface(to_server));
    let mut report: Report = compat::check(
        Side {
            surface: from_surface.as_ref(),
            manifest: Some(from_server),
        },
        Side {
            surface: to_surface.as_ref(),
            manifest: Some(to_server),
        },
    );
    let versions = (
        compat::Version::parse(from.version().as_str()),
        compat::Version::parse(to.version().as_str()),
    );
    if let (Ok(old), Ok(new)) = versions
        && old.cmp_precedence(&new).is_lt()
    {
        report = report.with_versions(&old, &new);
    } else {
        report.baseline_version = Some(from.version().as_str().to_owned());
        report.new_version = Some(to.version().as_str().to_owned());
    }
    let scope = if from_surface.is_some() && to_surface.is_some() {
        Scope::Surface
    } else {
        Scope::ManifestOnly
    };
    let mut value = serde_json::to_value(&report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "scope".to_owned(),
            serde_json::to_value(scope).unwrap_or(Value::Null),
        );
    }
    value
}

/// The tool surface a manifest carries; an unreadable one counts as none (validation refuses those at
/// publish, so only imported data can have one).
pub fn surface(server: &ServerJson) -> Option<ToolSurface> {
    compat::surface_of(server).and_then(Result::ok)
}

fn publication(stored: &PublishedVersion) -> Publication {
    let server = stored
        .manifest
        .as_deref()
        .and_then(|text| Manifest::from_stored(text).ok());
    Publication {
        version: stored.version.clone(),
        deleted: stored.status == Status::Deleted,
        surface: server.as_ref().and_then(|m| surface(m.server())),
        manifest: server.map(|m| m.server().clone()),
    }
}
