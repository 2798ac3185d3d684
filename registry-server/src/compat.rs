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

use crate::db::{PublishedVersion, Status};

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
}

impl CompatReport {
    fn new(gate: GateReport, scope: Scope) -> Self {
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
        }
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

/// Runs the gate for `manifest` over the server's stored `history`. `Ok(Some(json))` is the report to
/// keep; `Ok(None)` leaves the decision to the store (a duplicate version, which is a plain 409).
pub fn gate_publish(
    manifest: &Manifest,
    history: &[PublishedVersion],
    acknowledged: &[String],
) -> Result<Option<String>, Refusal> {
    let publications: Vec<Publication> = history.iter().map(publication).collect();
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
        acknowledged: acknowledged.to_vec(),
        ..GateOptions::default()
    };
    let gate = compat::gate(&publications, &new, &options);
    if gate
        .reasons
        .iter()
        .any(|reason| reason.id == "version-duplicate")
    {
        return Ok(None);
    }
    let report = CompatReport::new(gate, scope);
    if report.verdict == Verdict::Reject {
        return Err(Refusal(Box::new(report)));
    }
    // Serializing plain data cannot fail; were it to, the version is still published, without report.
    Ok(serde_json::to_string(&report).ok())
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
    let server = Manifest::from_stored(stored.manifest.as_str()).ok();
    Publication {
        version: stored.version.clone(),
        deleted: stored.status == Status::Deleted,
        surface: server.as_ref().and_then(|m| surface(m.server())),
        manifest: server.map(|m| m.server().clone()),
    }
}
