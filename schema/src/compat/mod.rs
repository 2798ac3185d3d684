//! Semver compatibility of tool surfaces and server manifests.
//!
//! [`check`] compares two versions of a server (its [`ToolSurface`] and, when given, the
//! runtime-relevant parts of its `server.json`) and returns a [`Report`]: one [`Finding`] per atomic
//! change, each with a stable rule id, a level (the semver bump it needs) and a direction.
//! [`gate`] adds the version policy: which published version is the baseline, whether the declared
//! bump is large enough, and the sandwich, transitive and metadata-republish checks.
//!
//! The rules follow `schema-compat.md` §3 (rule table) and §5 (version ordering):
//!
//! - `inputSchema` is what clients send, so it is **contravariant**: the new schema must accept every
//!   value the old one did (widening is minor, narrowing major). `outputSchema` is what clients
//!   receive, so it is **covariant** (narrowing minor, widening major).
//! - The *declared-properties assumption* is on: callers send, and servers emit, only declared
//!   properties, so an optional parameter added to an open object is minor. It never applies to
//!   map-like objects (`additionalProperties` is a schema).
//! - Annotations compare effective values with the MCP defaults (`readOnlyHint` false,
//!   `destructiveHint` true, `idempotentHint` false, `openWorldHint` true).
//! - Anything the checker cannot prove (a changed regex, an overlapping `oneOf` branch, `not`,
//!   cyclic `$ref`s, an exceeded budget) is *undecidable*: it counts as major and is listed, with its
//!   reason, in [`Report::undecided`]. A publisher may [acknowledge](Report::acknowledge) it.
//! - Every change of a string the model reads is flagged [`Flag::SecurityReview`] (the rug-pull
//!   vector): tool, prompt and resource names, titles and descriptions; every string inside
//!   `inputSchema`/`outputSchema` (`description`, `title`, `examples`, `default`, `$comment`,
//!   `enum`, `const`, `pattern`, property names added); annotations, `annotations.title`
//!   included; prompt arguments; server `instructions`; and new required parameters (a break *and*
//!   something to read). Text-only changes are patch-level.
//! - Both sides are also [reviewed](crate::review::review); what the new side newly triggers joins
//!   the report as `review-<rule>` findings (level `none`: no bump, a warning for the upgrader).
//!
//! # Where the surface of a `server.json` lives
//!
//! The official `server.json` has no tool list. mcp-reg carries the surface (in the capture format:
//! `serverInfo`, `protocolVersion`, `capabilities`, `tools`, ...) under
//! `_meta["dev.mcp-reg/surface"]` ([`SURFACE_META_KEY`]); [`surface_of`] reads it.
//!
//! # At publish
//!
//! Everything here is pure: no I/O, no clock, no database. At publish the registry loads every
//! version of the server **in publish order** as [`Publication`]s (version string, deleted flag,
//! surface, typed `server.json`), builds one for the new version, and calls
//! `gate(&history, &new, &GateOptions { acknowledged, ..Default::default() })`. On
//! [`Verdict::Reject`] it answers 409 with the [`GateReport`] (its `reasons` say why; `checks`
//! holds the full reports); on pass it stores the report (and any acknowledgements) with the
//! version. The CLI calls [`check`] on two files. So that publishing costs the same however long the
//! history, a registry may load only the contents [`gate_reads`] names, and hand publications whose
//! [`contract_key`]s are equal to [`gate_shared`] as one content: the answer is the same.
//!
//! # Rule ids beyond the §3 table
//!
//! `input-/output-schema-undecidable` (cyclic or non-local `$ref`, exceeded budget),
//! `input-/output-keyword-changed` (also for `$dynamicRef`/`$anchor`/nested `$id`), `output-map-widened`,
//! `output-keyword-added/-removed`, `prompt-meta-changed` (unmodelled prompt keys),
//! `protocol-version-changed` (patch + behaviour flag: a capture holds only the negotiated version,
//! so dropped support cannot be proved; `protocol-version-dropped/-added` apply when a surface lists
//! `supportedProtocolVersions`), `tool-name-duplicated` (a name listed twice, first in this
//! version: patch for identical copies, minor for a new name, major for a published one) and
//! `review-<rule>` (a [review rule](crate::review::RULES) newly triggered; level `none`).

mod manifest;
mod reads;
mod render;
mod schema;
mod security;
mod surface;
mod version;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::manifest::ServerJson;
use crate::tools::ToolSurface;

pub use reads::{GateReads, contract_key, gate_reads};
pub use render::{render_github, render_markdown, render_text};
/// The semver version type [`Report::with_versions`] and [`actual_bump`] take (re-exported so
/// callers need not depend on `semver` themselves).
pub use semver::Version;
pub use version::{
    CheckKind, GateCheck, GateOptions, GateReason, GateReport, Publication, actual_bump,
    choose_baseline, gate, gate_shared, same_line,
};

/// `_meta` key of a `server.json` under which mcp-reg keeps the server's tool surface.
pub const SURFACE_META_KEY: &str = "dev.mcp-reg/surface";

/// A semver bump, also used as the level of a finding (the smallest bump the change needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bump {
    /// No release needed (e.g. a `$ref` refactor that resolves to the same schema).
    None,
    Patch,
    Minor,
    Major,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Patch => "patch",
            Self::Minor => "minor",
            Self::Major => "major",
        }
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way values flow through the changed part, which decides whether widening breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Sent by clients (`inputSchema`, prompt arguments): widening is compatible.
    Input,
    /// Received by clients (`outputSchema`): narrowing is compatible.
    Output,
    /// Neither (identity, annotations, capabilities, metadata).
    None,
}

/// Extra axes beside the semver level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// Model-facing text or a risk claim changed: a human should read it (rug pull, poisoning).
    SecurityReview,
    /// Same schema, different behaviour (e.g. a changed default).
    BehaviourChange,
    /// Compatible by set semantics but probably unintended.
    Warning,
    /// The checker could not prove the change safe; counted as major.
    Undecidable,
    /// The publisher acknowledged this finding by fingerprint.
    Acknowledged,
}

/// The part of a server a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurfaceKind {
    Tool,
    Prompt,
    Resource,
    Template,
    Capability,
    /// Server-level facts: instructions, protocol version.
    Server,
    /// Runtime parts of `server.json`: packages, transports, remotes, required inputs.
    Manifest,
}

impl SurfaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
            Self::Template => "template",
            Self::Capability => "capability",
            Self::Server => "server",
            Self::Manifest => "manifest",
        }
    }
}

impl fmt::Display for SurfaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One atomic change between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule id, e.g. `input-required-property-added`.
    pub id: String,
    /// The smallest bump this change needs.
    pub level: Bump,
    pub direction: Direction,
    pub flags: Vec<Flag>,
    pub surface: SurfaceKind,
    /// Tool / prompt name, resource URI, template, capability path or package identifier.
    pub name: String,
    /// RFC 6901 pointer into the item (new side; old side for removals). Through a `$ref` it
    /// continues at the logical position, e.g. `/inputSchema/properties/to/properties/zip`.
    pub pointer: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub message: String,
    /// First 12 hex digits of SHA-256 over `id:surface:name:pointer`; stable across runs, used to
    /// acknowledge a finding.
    pub fingerprint: String,
}

impl Finding {
    /// Builds a finding and computes its fingerprint.
    #[allow(
        clippy::too_many_arguments,
        reason = "a finding's parts, all required; the checkers name them through their own structs"
    )]
    pub(crate) fn new(
        id: impl Into<String>,
        level: Bump,
        direction: Direction,
        flags: &[Flag],
        surface: SurfaceKind,
        name: &str,
        pointer: impl Into<String>,
        old: Option<Value>,
        new: Option<Value>,
        message: impl Into<String>,
    ) -> Self {
        let id = id.into();
        let pointer = pointer.into();
        let fingerprint = fingerprint(&id, surface, name, &pointer);
        Self {
            id,
            level,
            direction,
            flags: flags.to_vec(),
            surface,
            name: name.to_owned(),
            pointer,
            old,
            new,
            message: message.into(),
            fingerprint,
        }
    }

    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// Fingerprint of a finding: first 12 hex digits of SHA-256 over `id:surface:name:pointer`.
pub fn fingerprint(id: &str, surface: SurfaceKind, name: &str, pointer: &str) -> String {
    let digest = Sha256::digest(format!("{id}:{surface}:{name}:{pointer}").as_bytes());
    let mut hex_digits = hex::encode(digest);
    hex_digits.truncate(12);
    hex_digits
}

/// Something the checker could not prove; the matching finding (same fingerprint) counts as major.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undecided {
    /// Rule id of the matching finding.
    pub id: String,
    pub surface: SurfaceKind,
    pub name: String,
    /// The JSON Schema keyword (or `$ref`, `budget`) that could not be decided.
    pub keyword: String,
    pub pointer: String,
    pub reason: String,
    pub fingerprint: String,
}

/// Pass or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Reject,
}

/// The result of comparing two versions.
///
/// Without versions ([`check`]), `verdict` is `reject` exactly when the changes need a major bump;
/// [`Report::with_versions`] replaces that with the real rule: reject iff `actual_bump <
/// required_bump`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub verdict: Verdict,
    pub baseline_version: Option<String>,
    pub new_version: Option<String>,
    pub actual_bump: Option<Bump>,
    /// Highest level over the findings (`none` when there are none).
    pub required_bump: Bump,
    pub findings: Vec<Finding>,
    pub undecided: Vec<Undecided>,
}

/// One side of a comparison: a tool surface, a manifest, or both.
#[derive(Debug, Clone, Copy, Default)]
pub struct Side<'a> {
    pub surface: Option<&'a ToolSurface>,
    pub manifest: Option<&'a ServerJson>,
}

impl<'a> Side<'a> {
    pub fn surface(surface: &'a ToolSurface) -> Self {
        Self {
            surface: Some(surface),
            manifest: None,
        }
    }
}

/// Findings collected during one comparison.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    pub findings: Vec<Finding>,
    pub undecided: Vec<Undecided>,
}

impl Sink {
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Records an undecidable change: a major finding flagged `undecidable` plus its reason.
    #[allow(
        clippy::too_many_arguments,
        reason = "a finding's parts plus the keyword and the reason it is undecidable"
    )]
    pub fn undecidable(
        &mut self,
        id: impl Into<String>,
        direction: Direction,
        surface: SurfaceKind,
        name: &str,
        keyword: &str,
        pointer: impl Into<String>,
        old: Option<Value>,
        new: Option<Value>,
        reason: &str,
    ) {
        let pointer = pointer.into();
        let finding = Finding::new(
            id,
            Bump::Major,
            direction,
            &[Flag::Undecidable],
            surface,
            name,
            pointer.clone(),
            old,
            new,
            format!("cannot prove `{keyword}` compatible: {reason}"),
        );
        self.undecided.push(Undecided {
            id: finding.id.clone(),
            surface,
            name: name.to_owned(),
            keyword: keyword.to_owned(),
            pointer,
            reason: reason.to_owned(),
            fingerprint: finding.fingerprint.clone(),
        });
        self.findings.push(finding);
    }
}

/// Compares two versions of a server and returns every change, unversioned (see [`Report`]).
///
/// Surfaces are compared when both sides have one, manifests when both sides have one. Both sides
/// are also [reviewed](crate::review::review) once each: every review finding the new side
/// triggers and the old one did not becomes a `review-<rule>` finding of level `none`, flagged
/// `security-review` (a warning for the person upgrading; it requires no bump).
pub fn check(old: Side<'_>, new: Side<'_>) -> Report {
    let mut sink = Sink::default();
    if let (Some(old), Some(new)) = (old.surface, new.surface) {
        surface::compare(old, new, &mut sink);
    }
    if let (Some(old), Some(new)) = (old.manifest, new.manifest) {
        manifest::compare(old, new, &mut sink);
    }
    security::compare(old, new, &mut sink);
    Report::from_sink(sink)
}

/// Shorthand for [`check`] on two tool surfaces.
pub fn check_surfaces(old: &ToolSurface, new: &ToolSurface) -> Report {
    check(Side::surface(old), Side::surface(new))
}

/// The tool surface a `server.json` carries under [`SURFACE_META_KEY`], if any.
pub fn surface_of(server: &ServerJson) -> Option<crate::Result<ToolSurface>> {
    let value = server.meta.as_ref()?.get(SURFACE_META_KEY)?;
    Some(ToolSurface::deserialize(value).map_err(crate::Error::from))
}

impl Report {
    fn from_sink(sink: Sink) -> Self {
        let Sink {
            mut findings,
            mut undecided,
        } = sink;
        findings.sort_by(|a, b| {
            (a.surface, &a.name, &a.pointer, &a.id).cmp(&(b.surface, &b.name, &b.pointer, &b.id))
        });
        undecided.sort_by(|a, b| {
            (a.surface, &a.name, &a.pointer).cmp(&(b.surface, &b.name, &b.pointer))
        });
        let mut report = Self {
            verdict: Verdict::Pass,
            baseline_version: None,
            new_version: None,
            actual_bump: None,
            required_bump: Bump::None,
            findings,
            undecided,
        };
        report.recompute();
        report
    }

    /// Sets the versions and the verdict: reject iff the bump from `baseline` to `new` is smaller
    /// than the changes require (0.x and pre-release rules per [`actual_bump`]).
    #[must_use]
    pub fn with_versions(mut self, baseline: &Version, new: &Version) -> Self {
        self.baseline_version = Some(baseline.to_string());
        self.new_version = Some(new.to_string());
        self.actual_bump = Some(actual_bump(baseline, new));
        self.recompute();
        self
    }

    /// Recomputes `required_bump` and `verdict` from the findings.
    fn recompute(&mut self) {
        self.required_bump = self
            .findings
            .iter()
            .map(|finding| finding.level)
            .max()
            .unwrap_or(Bump::None);
        let allowed = self.actual_bump.unwrap_or(Bump::Minor);
        self.verdict = if self.required_bump > allowed {
            Verdict::Reject
        } else {
            Verdict::Pass
        };
    }

    /// Applies a publisher's acknowledgements (fingerprints).
    ///
    /// An acknowledged undecidable finding drops to minor (the publisher vouches that it is a
    /// compatible change; it is still a change) and leaves `undecided`; an acknowledged warning keeps
    /// its level but loses the warning. Provable breaks and findings without either flag are never
    /// downgraded. Returns the fingerprints that matched nothing acknowledgeable, so the caller can
    /// tell the publisher.
    pub fn acknowledge<S: AsRef<str>>(&mut self, fingerprints: &[S]) -> Vec<String> {
        let wanted: BTreeSet<&str> = fingerprints.iter().map(AsRef::as_ref).collect();
        let mut used = BTreeSet::new();
        for finding in &mut self.findings {
            if !wanted.contains(finding.fingerprint.as_str()) {
                continue;
            }
            let undecidable = finding.has_flag(Flag::Undecidable);
            let warning = finding.has_flag(Flag::Warning);
            if !undecidable && !warning {
                continue;
            }
            if undecidable {
                finding.level = finding.level.min(Bump::Minor);
            }
            finding
                .flags
                .retain(|flag| !matches!(flag, Flag::Undecidable | Flag::Warning));
            finding.flags.push(Flag::Acknowledged);
            used.insert(finding.fingerprint.clone());
        }
        self.undecided
            .retain(|item| !used.contains(item.fingerprint.as_str()));
        self.recompute();
        wanted
            .into_iter()
            .filter(|fingerprint| !used.contains(*fingerprint))
            .map(str::to_owned)
            .collect()
    }

    /// Findings that are flagged for security review.
    pub fn security_review(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.has_flag(Flag::SecurityReview))
    }
}

/// Escapes one reference token of a JSON Pointer (RFC 6901).
pub(crate) fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `base` + `/` + escaped `token`.
pub(crate) fn child(base: &str, token: &str) -> String {
    let mut pointer = String::with_capacity(base.len() + token.len() + 1);
    pointer.push_str(base);
    pointer.push('/');
    pointer.push_str(&escape_token(token));
    pointer
}
