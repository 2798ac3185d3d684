//! `mcp-reg review FILE`: the security review of what a server puts into the model's context.
//!
//! FILE is a tool-surface capture or a `server.json` (its descriptions, and the surface it carries
//! under `_meta["dev.mcp-reg/surface"]`), decided by content. Exit status: 0 when the highest
//! finding is below `--fail-on` (default `high`), 100 when it reaches it, 1 on bad input.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use registry_schema::ToolSurface;
use registry_schema::review::{self, Review, Severity};
use serde::Deserialize;
use serde_json::Value;

use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 below --fail-on, 100 at or above it, 1 bad input.\nRules and examples: docs/security-review.md"
)]
pub struct ReviewArgs {
    /// A tool-surface capture, or a server.json (with or without a surface under
    /// `_meta["dev.mcp-reg/surface"]`).
    pub file: PathBuf,
    /// Output format of the findings (stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 100 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::High, value_name = "SEVERITY")]
    pub fail_on: FailOn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
}

impl From<FailOn> for Severity {
    fn from(fail_on: FailOn) -> Self {
        match fail_on {
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
        }
    }
}

pub fn run(args: &ReviewArgs) -> anyhow::Result<ExitStatus> {
    let review = load(&args.file)?;
    let rendered = match args.format {
        Format::Text => render_text(&review),
        Format::Json => serde_json::to_string_pretty(&review)? + "\n",
    };
    crate::output::out(&rendered)?;
    Ok(if review.reaches(args.fail_on.into()) {
        ExitStatus::Incompatible
    } else {
        ExitStatus::Success
    })
}

/// Reviews a file by content: a capture has `serverInfo`/`protocolVersion`, a server.json
/// `name` and `version`.
fn load(path: &Path) -> anyhow::Result<Review> {
    let hint = "pass a tool-surface capture (from `mcp-reg probe`) or a server.json";
    let bytes = std::fs::read(path).map_err(|err| {
        UserError::new(format!("cannot read `{}`: {err}", path.display())).with_hint(hint)
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|err| {
        UserError::new(format!("`{}` is not valid JSON: {err}", path.display())).with_hint(hint)
    })?;
    let Some(object) = value.as_object() else {
        return Err(
            UserError::new(format!("`{}` is not a JSON object", path.display()))
                .with_hint(hint)
                .into(),
        );
    };
    if object.contains_key("serverInfo") || object.contains_key("protocolVersion") {
        let surface = ToolSurface::deserialize(&value).map_err(|err| {
            UserError::new(format!("`{}` is not a tool surface: {err}", path.display()))
                .with_hint("a capture needs `serverInfo`, `protocolVersion` and `capabilities`, plus the lists (`tools`, ...)")
        })?;
        return Ok(review::review_surface(&surface));
    }
    if object.contains_key("name") && object.contains_key("version") {
        if let Some(surface) = object
            .get("_meta")
            .and_then(|meta| meta.get(registry_schema::compat::SURFACE_META_KEY))
            && let Err(err) = ToolSurface::deserialize(surface)
        {
            return Err(UserError::new(format!(
                "`{}`: `_meta[\"{}\"]` is not a tool surface: {err}",
                path.display(),
                registry_schema::compat::SURFACE_META_KEY
            ))
            .with_hint("the surface uses the capture format: `serverInfo`, `protocolVersion`, `capabilities`, `tools`, ...")
            .into());
        }
        return Ok(review::review_manifest_value(&value));
    }
    Err(UserError::new(format!(
        "`{}` is neither a tool surface nor a server.json",
        path.display()
    ))
    .with_hint(
        "a capture has `serverInfo` and `protocolVersion`; a server.json has `name` and `version`",
    )
    .into())
}

/// One block per finding, most severe first, then a summary line. Everything printed is made
/// visible (no raw control or invisible characters reach the terminal).
pub fn render_text(review: &Review) -> String {
    let mut out = String::new();
    for finding in &review.findings {
        let owner = finding
            .tool
            .as_deref()
            .map(|tool| format!(" ({})", review::visible(tool)))
            .unwrap_or_default();
        let pointer = if finding.pointer.is_empty() {
            "(surface)".to_owned()
        } else {
            review::visible(&finding.pointer)
        };
        let _ = writeln!(
            out,
            "{:<6} {} at {pointer}{owner}\n       {}\n       evidence: {}",
            finding.severity,
            finding.rule,
            review::visible(&finding.message),
            finding.evidence
        );
    }
    out.push_str(&summary(review));
    out.push('\n');
    out
}

/// `3 findings (1 high, 2 low); highest: high`, or `no findings`.
pub fn summary(review: &Review) -> String {
    if review.findings.is_empty() {
        return "no findings; highest: none".to_owned();
    }
    let (low, medium, high) = review.counts();
    let parts: Vec<String> = [(high, "high"), (medium, "medium"), (low, "low")]
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, label)| format!("{count} {label}"))
        .collect();
    format!(
        "{} finding{} ({}); highest: {}",
        review.findings.len(),
        if review.findings.len() == 1 { "" } else { "s" },
        parts.join(", "),
        review::highest_label(review.highest())
    )
}

/// What `mcp-reg probe` prints after a capture: the review, on stderr.
pub fn print_after_probe(surface: &ToolSurface) {
    let review = review::review_surface(surface);
    if review.findings.is_empty() {
        crate::output::errln("review: no findings");
        return;
    }
    crate::output::err(&format!("review:\n{}", render_text(&review)));
}
