//! Security review of what a server puts into the model's context.
//!
//! An MCP server's tool, prompt and resource names, titles and descriptions, every string inside
//! its schemas, its annotations and its server `instructions` are read by the model, mostly
//! unseen by people. The attacks that matter live there: instructions aimed at the model (tool
//! poisoning, "line jumping"), one server's text changing how another server's tools are used
//! (shadowing), text hidden from people (Unicode tag characters, zero-width and bidi controls,
//! ANSI escapes), exfiltration through parameters, annotations that lie, look-alike names, and
//! risky combinations of capabilities.
//!
//! The reviewer is pure and deterministic (no network, no clock): [`review_surface`] walks a
//! [`ToolSurface`], [`review_manifest`] a `server.json` (and the surface it carries under
//! `_meta["dev.mcp-reg/surface"]`), [`review`] both sides of a [`Side`]. Each [`Finding`] names
//! a rule of [`RULES`] (id, category, default severity, rationale), the JSON Pointer of the
//! offending string, the excerpt (invisible characters made visible) and a message. Severity is
//! earned: a phrase that only *mentions* an attack (a security tool quoting one, an example after
//! "e.g.") is `low`, capability combinations are `low` (risk, not malice), and only text that
//! directs the model to act against the user is `high`. [`new_findings`] and [`newly_triggered`]
//! say what a new version adds, for compatibility reports.
//!
//! What this cannot catch: instructions phrased as ordinary documentation. It is a tripwire for
//! the known shapes of attack, not a proof of good intent (see `docs/security-review.md`).

mod fold;
mod hidden;
mod patterns;
mod rules;
mod structure;
mod text;
mod walk;

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::compat::{SURFACE_META_KEY, Side};
use crate::manifest::ServerJson;
use crate::tools::ToolSurface;

pub use hidden::visible;
pub use rules::{RULES, Rule, rule};

/// How much a finding should worry a reviewer. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look: a risk, a mention of an attack, or an unusual but plausible construct.
    Low,
    /// Probably not what a benign server would write; read it before trusting the server.
    Medium,
    /// Text that directs the model against the user, or hides text from people.
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Parses `low`, `medium` or `high`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The family a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Invisible or terminal-only text: tag characters, zero-width, bidi controls, ANSI escapes.
    HiddenText,
    /// Instructions aimed at the model: overrides, secrecy, coercion, commands to run.
    Instructions,
    /// Sensitive files and credentials the model is asked to read or hand over.
    SensitiveData,
    /// Data sent to an address, URL or number written into the text.
    Exfiltration,
    /// Text that changes how other tools or servers are used, or steers the model away from them.
    Shadowing,
    /// Parameters that collect data the tool has no business with (conversation, prompts, keys).
    Harvesting,
    /// Annotations contradicted by what the tool is.
    Annotations,
    /// Confusable, mixed-script and duplicate names.
    Names,
    /// Capability combinations that are risky together (reported as risk, never as malice).
    Capabilities,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HiddenText => "hidden-text",
            Self::Instructions => "instructions",
            Self::SensitiveData => "sensitive-data",
            Self::Exfiltration => "exfiltration",
            Self::Shadowing => "shadowing",
            Self::Harvesting => "harvesting",
            Self::Annotations => "annotations",
            Self::Names => "names",
            Self::Capabilities => "capabilities",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One thing the reviewer found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// Rule id from [`RULES`], e.g. `hidden-tag-characters`.
    pub rule: String,
    pub severity: Severity,
    pub category: Category,
    /// RFC 6901 pointer of the offending value in the reviewed document (`/tools/3/description`;
    /// `""` for the whole surface).
    pub pointer: String,
    /// Name of the tool, prompt, resource or template the finding is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The offending excerpt (at most about 120 characters), with invisible and control
    /// characters shown as `<U+200B>`.
    pub evidence: String,
    pub message: String,
}

/// The findings of one review, most severe first, and the highest severity among them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Review {
    pub findings: Vec<Finding>,
}

impl Review {
    /// The highest severity of any finding; `None` when there are none.
    pub fn highest(&self) -> Option<Severity> {
        highest(&self.findings)
    }

    /// Whether some finding is at least `severity`.
    pub fn reaches(&self, severity: Severity) -> bool {
        self.highest().is_some_and(|highest| highest >= severity)
    }

    /// How many findings have each severity: `(low, medium, high)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        (
            count(Severity::Low),
            count(Severity::Medium),
            count(Severity::High),
        )
    }

    fn from_findings(mut findings: Vec<Finding>) -> Self {
        sort(&mut findings);
        Self { findings }
    }
}

/// `{"findings": [...], "highest": "none|low|medium|high"}`.
impl Serialize for Review {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("Review", 2)?;
        state.serialize_field("findings", &self.findings)?;
        state.serialize_field("highest", highest_label(self.highest()))?;
        state.end()
    }
}

/// The highest severity among `findings`; `None` when there are none.
pub fn highest(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|finding| finding.severity).max()
}

/// `none`, `low`, `medium` or `high`.
pub fn highest_label(highest: Option<Severity>) -> &'static str {
    highest.map_or("none", Severity::as_str)
}

/// Reviews every model-facing string and the structure of a tool surface. Pointers are relative
/// to the surface.
pub fn review_surface(surface: &ToolSurface) -> Review {
    Review::from_findings(surface_findings(surface, ""))
}

/// Reviews a `server.json`: its descriptions and input descriptions, and the tool surface it
/// carries under `_meta["dev.mcp-reg/surface"]`, if any (pointers then start with
/// `/_meta/dev.mcp-reg~1surface`).
pub fn review_manifest(server: &ServerJson) -> Review {
    match serde_json::to_value(server) {
        Ok(value) => review_manifest_value(&value),
        Err(_) => Review::default(),
    }
}

/// [`review_manifest`] on the raw JSON of a `server.json` (which need not fit the typed model).
pub fn review_manifest_value(server: &Value) -> Review {
    let mut findings = manifest_findings(server);
    if let Some(surface) = embedded_surface(server) {
        findings.extend(surface_findings(&surface, &embedded_prefix()));
    }
    Review::from_findings(findings)
}

/// Reviews both sides of a version: the manifest's texts and the surface. The surface is
/// `side.surface`, else the one the manifest carries; when a manifest is given, surface pointers
/// start with `/_meta/dev.mcp-reg~1surface`, where `mcp-reg publish` stores it.
pub fn review(side: Side<'_>) -> Review {
    let mut findings = Vec::new();
    let embedded;
    let surface = match (side.surface, side.manifest) {
        (Some(surface), _) => Some(surface),
        (None, Some(server)) => {
            embedded = serde_json::to_value(server)
                .ok()
                .and_then(|value| embedded_surface(&value));
            embedded.as_ref()
        }
        (None, None) => None,
    };
    let prefix = if side.manifest.is_some() {
        embedded_prefix()
    } else {
        String::new()
    };
    if let Some(server) = side.manifest
        && let Ok(value) = serde_json::to_value(server)
    {
        findings.extend(manifest_findings(&value));
    }
    if let Some(surface) = surface {
        findings.extend(surface_findings(surface, &prefix));
    }
    Review::from_findings(findings)
}

/// Findings of `new` whose rule and location were not found in `old`.
///
/// The location is the pointer with list positions replaced by the item's name, so a tool that
/// merely moved in its list is not new; evidence and message are not compared.
pub fn new_findings(old: &[Finding], new: &[Finding]) -> Vec<Finding> {
    let before: HashSet<(String, String)> = old.iter().map(stable_key).collect();
    new.iter()
        .filter(|finding| !before.contains(&stable_key(finding)))
        .cloned()
        .collect()
}

/// The findings the new surface triggers that the old one did not ([`new_findings`] of the two
/// reviews).
pub fn newly_triggered(old: &ToolSurface, new: &ToolSurface) -> Vec<Finding> {
    new_findings(&review_surface(old).findings, &review_surface(new).findings)
}

fn surface_findings(surface: &ToolSurface, prefix: &str) -> Vec<Finding> {
    let names = walk::Names::of(surface);
    let mut findings = Vec::new();
    walk::surface_texts(surface, prefix, |text| {
        text::review_text(&text, &names, &mut findings);
    });
    let mut structural = Vec::new();
    structure::review(surface, &mut structural);
    for finding in &mut structural {
        finding.pointer.insert_str(0, prefix);
    }
    findings.extend(structural);
    dedup(findings)
}

fn manifest_findings(server: &Value) -> Vec<Finding> {
    let names = walk::Names::default();
    let mut findings = Vec::new();
    walk::manifest_texts(server, |text| {
        text::review_text(&text, &names, &mut findings);
    });
    dedup(findings)
}

fn embedded_surface(server: &Value) -> Option<ToolSurface> {
    let surface = server.get("_meta")?.get(SURFACE_META_KEY)?;
    ToolSurface::deserialize(surface).ok()
}

fn embedded_prefix() -> String {
    format!("/_meta/{}", walk::escape(SURFACE_META_KEY))
}

/// One finding per rule and pointer (the first, which is the most severe after sorting).
fn dedup(mut findings: Vec<Finding>) -> Vec<Finding> {
    sort(&mut findings);
    let mut seen = HashSet::new();
    findings.retain(|finding| seen.insert((finding.rule.clone(), finding.pointer.clone())));
    findings
}

/// Most severe first, then by pointer and rule: deterministic whatever the walk order.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.pointer.cmp(&b.pointer))
            .then_with(|| a.rule.cmp(&b.rule))
    });
}

/// `(rule, pointer)` with the list index after `tools`, `prompts`, `resources` or
/// `resourceTemplates` replaced by the item's name.
fn stable_key(finding: &Finding) -> (String, String) {
    let pointer = match &finding.tool {
        Some(name) => {
            let mut parts: Vec<String> = finding.pointer.split('/').map(str::to_owned).collect();
            if let Some(at) = parts.iter().position(|part| walk::is_listing(part))
                && let Some(index) = parts.get_mut(at + 1)
                && index.bytes().all(|b| b.is_ascii_digit())
            {
                *index = format!("[{}]", walk::escape(name));
            }
            parts.join("/")
        }
        None => finding.pointer.clone(),
    };
    (finding.rule.clone(), pointer)
}
