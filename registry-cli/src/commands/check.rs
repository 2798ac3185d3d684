//! `mcp-reg check OLD NEW`: the registry's semver compatibility check, offline.
//!
//! OLD and NEW are tool-surface captures (`serverInfo`, `protocolVersion`, `capabilities`,
//! `tools`, ...) or `server.json` files carrying a surface under `_meta["dev.mcp-reg/surface"]`;
//! which one is decided by content. Exit status: 0 compatible, 100 incompatible, 101 could not run
//! (as cargo-semver-checks and buf do).

use std::path::{Path, PathBuf};

use registry_schema::compat::{self, Report, Side, Verdict};
use registry_schema::{ServerJson, ToolSurface};
use serde::Deserialize;
use serde_json::Value;

use crate::ExitStatus;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The earlier version: a tool-surface capture or a server.json carrying one.
    pub old: PathBuf,
    /// The later version, in either format.
    pub new: PathBuf,
    /// Semver version of OLD; with --new-version, turns the required bump into a verdict.
    #[arg(long, requires = "new_version", value_name = "VERSION")]
    pub old_version: Option<String>,
    /// Semver version of NEW.
    #[arg(long, requires = "old_version", value_name = "VERSION")]
    pub new_version: Option<String>,
    /// Output format of the report (stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Fingerprint of an undecidable or warning finding you have reviewed (repeatable).
    #[arg(long = "acknowledge", value_name = "FINGERPRINT")]
    pub acknowledge: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    /// GitHub Actions workflow commands (`::error ...`).
    #[value(alias = "github-actions")]
    Github,
}

/// Why the check could not run: printed as `error:` and `hint:` lines, exit 101.
struct CouldNotRun {
    message: String,
    hint: &'static str,
}

impl CouldNotRun {
    fn new(message: impl Into<String>, hint: &'static str) -> Self {
        Self {
            message: message.into().replace(['\n', '\r'], " "),
            hint,
        }
    }
}

/// One input file, read by content.
struct Input {
    surface: Option<ToolSurface>,
    manifest: Option<ServerJson>,
}

impl Input {
    fn side(&self) -> Side<'_> {
        Side {
            surface: self.surface.as_ref(),
            manifest: self.manifest.as_ref(),
        }
    }
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitStatus> {
    let report = match build_report(args) {
        Ok(report) => report,
        Err(failure) => {
            crate::output::error(&failure.message);
            crate::output::hint(failure.hint);
            return Ok(ExitStatus::CouldNotRun);
        }
    };
    let rendered = match args.format {
        Format::Text => compat::render_text(&report),
        Format::Markdown => compat::render_markdown(&report),
        Format::Github => compat::render_github(&report),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
    };
    crate::output::out(&rendered)?;
    Ok(match report.verdict {
        Verdict::Pass => ExitStatus::Success,
        Verdict::Reject => ExitStatus::Incompatible,
    })
}

fn build_report(args: &CheckArgs) -> Result<Report, CouldNotRun> {
    let old = load(&args.old)?;
    let new = load(&args.new)?;
    let comparable = (old.surface.is_some() && new.surface.is_some())
        || (old.manifest.is_some() && new.manifest.is_some());
    if !comparable {
        return Err(CouldNotRun::new(
            format!(
                "`{}` and `{}` have nothing in common to compare (a server.json without a surface against a capture)",
                args.old.display(),
                args.new.display()
            ),
            "compare two captures, two server.json files, or server.json files that carry a surface under `_meta[\"dev.mcp-reg/surface\"]`",
        ));
    }
    let mut report = compat::check(old.side(), new.side());
    if let (Some(old_version), Some(new_version)) = (&args.old_version, &args.new_version) {
        let old_version = semver(old_version)?;
        let new_version = semver(new_version)?;
        if !new_version.cmp_precedence(&old_version).is_gt() {
            return Err(CouldNotRun::new(
                format!(
                    "--new-version {new_version} is not higher than --old-version {old_version}"
                ),
                "pass the earlier file and version first",
            ));
        }
        report = report.with_versions(&old_version, &new_version);
    }
    if !args.acknowledge.is_empty() {
        for unmatched in report.acknowledge(&args.acknowledge) {
            crate::output::warning(&format!(
                "--acknowledge {unmatched} matches no undecidable or warning finding (provable breaks cannot be acknowledged)"
            ));
        }
    }
    Ok(report)
}

fn semver(version: &str) -> Result<compat::Version, CouldNotRun> {
    compat::Version::parse(version).map_err(|err| {
        CouldNotRun::new(
            format!("version `{version}` is not strict semver: {err}"),
            "use MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] without a leading `v`, e.g. 1.4.0",
        )
    })
}

fn load(path: &Path) -> Result<Input, CouldNotRun> {
    let bytes = std::fs::read(path).map_err(|err| {
        CouldNotRun::new(
            format!("cannot read `{}`: {err}", path.display()),
            "pass the paths of two tool-surface captures or server.json files",
        )
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|err| {
        CouldNotRun::new(
            format!("`{}` is not valid JSON: {err}", path.display()),
            "fix the JSON syntax; a tool surface is one JSON object",
        )
    })?;
    let Some(object) = value.as_object() else {
        return Err(CouldNotRun::new(
            format!("`{}` is not a JSON object", path.display()),
            "a tool surface or server.json is one JSON object",
        ));
    };
    if object.contains_key("serverInfo") || object.contains_key("protocolVersion") {
        let surface = ToolSurface::deserialize(&value).map_err(|err| {
            CouldNotRun::new(
                format!("`{}` is not a tool surface: {err}", path.display()),
                "a capture needs `serverInfo`, `protocolVersion` and `capabilities`, plus the lists (`tools`, ...)",
            )
        })?;
        return Ok(Input {
            surface: Some(surface),
            manifest: None,
        });
    }
    if object.contains_key("name") && object.contains_key("version") {
        let server = ServerJson::deserialize(&value).map_err(|err| {
            CouldNotRun::new(
                format!("`{}` is not a server.json: {err}", path.display()),
                "run `mcp-reg validate` on it for the full list of problems",
            )
        })?;
        let surface = match compat::surface_of(&server) {
            Some(Ok(surface)) => Some(surface),
            Some(Err(err)) => {
                return Err(CouldNotRun::new(
                    format!(
                        "`{}`: `_meta[\"{}\"]` is not a tool surface: {err}",
                        path.display(),
                        compat::SURFACE_META_KEY
                    ),
                    "the surface uses the capture format: `serverInfo`, `protocolVersion`, `capabilities`, `tools`, ...",
                ));
            }
            None => None,
        };
        return Ok(Input {
            surface,
            manifest: Some(server),
        });
    }
    Err(CouldNotRun::new(
        format!(
            "`{}` is neither a tool surface nor a server.json",
            path.display()
        ),
        "a capture has `serverInfo` and `protocolVersion`; a server.json has `name` and `version`",
    ))
}
