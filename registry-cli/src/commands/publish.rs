//! `mcp-reg publish [server.json]`: validate locally, preview the compatibility check against the
//! registry's latest version, then publish. The registry's gate has the last word: a 409 refusal
//! carries its report, which is printed with what to do about it.

use std::io::Write;
use std::path::{Path, PathBuf};

use registry_schema::compat::{self, Report, Side, Verdict};
use registry_schema::validate::validate_bytes;
use registry_schema::{Policy, ServerJson, Severity, ToolSurface};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{Client, Published};
use crate::commands::{Ctx, JsonFlag, print_json};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg probe --manifest server.json -o surface.json
  mcp-reg publish server.json --surface surface.json
  mcp-reg publish --acknowledge 3f2a9c0d1e4b      (after reviewing that finding)

A breaking change needs a major version bump; the registry refuses it otherwise (exit 1).")]
pub struct PublishArgs {
    /// The server.json to publish.
    #[arg(default_value = "server.json")]
    pub file: PathBuf,
    /// A tool-surface capture (`mcp-reg probe` output) to embed under
    /// `_meta["dev.mcp-reg/surface"]`, so the registry can check tool compatibility.
    #[arg(long, value_name = "FILE")]
    pub surface: Option<PathBuf>,
    /// Fingerprint of an undecidable or warning finding you have reviewed (repeatable).
    #[arg(long = "acknowledge", value_name = "FINGERPRINT")]
    pub acknowledge: Vec<String>,
    /// Publish without a tool surface, silently (only the manifest is compared).
    #[arg(long)]
    pub no_probe: bool,
    #[command(flatten)]
    pub output: JsonFlag,
}

#[allow(clippy::too_many_lines)] // one linear flow: read, validate, preview, publish, report
pub fn run(ctx: &Ctx, args: &PublishArgs) -> anyhow::Result<ExitStatus> {
    let mut value = read_json(&args.file, "pass the path of your server.json")?;
    if let Some(path) = &args.surface {
        embed_surface(&mut value, path)?;
    }
    let bytes = serde_json::to_vec(&value)?;
    let (_, validation) = validate_bytes(&bytes, &Policy::lenient());
    for issue in &validation.issues {
        let level = if issue.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        let pointer = if issue.pointer.is_empty() {
            "/"
        } else {
            &issue.pointer
        };
        eprintln!("{level}[{}] {pointer}: {}", issue.rule, issue.message);
    }
    if !validation.is_valid() {
        return Err(UserError::new(format!(
            "{} is not a valid server.json; nothing was published",
            args.file.display()
        ))
        .with_hint("fix the errors above (`mcp-reg validate` shows them too)")
        .into());
    }
    let server = ServerJson::deserialize(&value).map_err(|err| {
        UserError::new(format!("{}: {err}", args.file.display()))
            .with_hint("run `mcp-reg validate` on it")
    })?;
    let surface = match compat::surface_of(&server) {
        Some(Ok(surface)) => Some(surface),
        Some(Err(err)) => {
            return Err(UserError::new(format!(
                "`_meta[\"{}\"]` is not a tool surface: {err}",
                compat::SURFACE_META_KEY
            ))
            .with_hint("embed `mcp-reg probe` output with --surface FILE")
            .into());
        }
        None => None,
    };
    if surface.is_none() && !args.no_probe {
        ctx.ui.info(&format!(
            "note: {} carries no tool surface, so only the manifest is compared; probing is skipped: run `mcp-reg probe --manifest {} -o surface.json` and pass `--surface surface.json` (or --no-probe to silence this)",
            args.file.display(),
            args.file.display()
        ));
    }

    let client = ctx.authed_client()?;
    let name = server.name.as_str().to_owned();
    let version = server.version.as_str().to_owned();
    preview(
        ctx,
        &client,
        &name,
        &server,
        surface.as_ref(),
        &args.acknowledge,
    )?;

    let outcome = {
        let _spinner = ctx.ui.spinner(&format!("publishing {name} {version}"));
        client.publish(&value, &args.acknowledge)?
    };
    match outcome {
        Published::Accepted(response) => {
            let link = client.version_link(&name, &version);
            if args.output.json {
                print_json(&json!({
                    "name": name,
                    "version": version,
                    "isLatest": response.official().is_latest,
                    "url": link,
                    "response": response,
                }))?;
            } else {
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "published {name} {version}")?;
                writeln!(
                    stdout,
                    "latest: {}",
                    if response.official().is_latest {
                        "yes"
                    } else {
                        "no"
                    }
                )?;
                writeln!(stdout, "url: {link}")?;
            }
            Ok(ExitStatus::Success)
        }
        Published::Refused { detail, report } => {
            if args.output.json {
                print_json(&report)?;
            } else {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(compat::render_text(&report).as_bytes())?;
                stdout.flush()?;
            }
            Err(UserError::new(format!(
                "the registry refused {name} {version}: {}",
                detail.replace(['\n', '\r'], " ")
            ))
            .with_hint(refusal_hint(&report, &version))
            .into())
        }
    }
}

/// What to do about a refusal: the bump the changes need, or the findings to acknowledge.
fn refusal_hint(report: &Report, version: &str) -> String {
    let bump = report.required_bump.as_str();
    let baseline = report
        .baseline_version
        .as_deref()
        .unwrap_or("the latest version");
    let mut hint = format!(
        "these changes need a {bump} version bump over {baseline}; raise `version` (now {version}) accordingly and publish again"
    );
    if !report.undecided.is_empty() {
        hint.push_str(
            ", or, after reviewing the undecidable findings, pass --acknowledge FINGERPRINT for each",
        );
    }
    hint
}

/// Runs the same comparison the registry will, against its latest version, and shows it.
fn preview(
    ctx: &Ctx,
    client: &Client,
    name: &str,
    server: &ServerJson,
    surface: Option<&ToolSurface>,
    acknowledge: &[String],
) -> anyhow::Result<()> {
    let (latest, latest_surface) = {
        let _spinner = ctx.ui.spinner("fetching the latest published version");
        let latest = client.version(name, "latest")?;
        let latest_surface = match &latest {
            Some(latest) => client.surface(name, latest.version())?,
            None => None,
        };
        (latest, latest_surface)
    };
    let Some(latest) = latest else {
        ctx.ui.info(&format!(
            "{name} is new to this registry: nothing to compare"
        ));
        return Ok(());
    };
    if latest.version() == server.version.as_str() {
        ctx.ui.warn(&format!(
            "{name} {} is already the latest version; published versions are immutable",
            latest.version()
        ));
        return Ok(());
    }
    let Ok(old_server) = ServerJson::deserialize(&latest.server) else {
        ctx.ui
            .warn("the latest version's manifest is unreadable here; skipping the preview");
        return Ok(());
    };
    let old_surface = latest_surface.and_then(|s| ToolSurface::deserialize(&s).ok());
    let mut report = compat::check(
        Side {
            surface: old_surface.as_ref(),
            manifest: Some(&old_server),
        },
        Side {
            surface,
            manifest: Some(server),
        },
    );
    if let (Ok(old), Ok(new)) = (
        compat::Version::parse(latest.version()),
        compat::Version::parse(server.version.as_str()),
    ) && new.cmp_precedence(&old).is_gt()
    {
        report = report.with_versions(&old, &new);
    }
    if !acknowledge.is_empty() {
        for unmatched in report.acknowledge(acknowledge) {
            ctx.ui.warn(&format!(
                "--acknowledge {unmatched} matches no undecidable or warning finding"
            ));
        }
    }
    if ctx.ui.quiet {
        return Ok(());
    }
    if report.verdict == Verdict::Reject {
        // The registry's own report follows with its answer; one copy is enough.
        ctx.ui.warn(&format!(
            "compared with {} the changes need a {} bump; the registry will most likely refuse this version",
            latest.version(),
            report.required_bump.as_str()
        ));
        return Ok(());
    }
    eprintln!("compatibility with {} {}:", name, latest.version());
    for line in compat::render_text(&report).lines() {
        eprintln!("  {line}");
    }
    Ok(())
}

fn read_json(path: &Path, hint: &str) -> anyhow::Result<Value> {
    let bytes = std::fs::read(path).map_err(|err| {
        UserError::new(format!("cannot read `{}`: {err}", path.display())).with_hint(hint)
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|err| {
        UserError::new(format!("`{}` is not valid JSON: {err}", path.display())).with_hint(hint)
    })?;
    if !value.is_object() {
        return Err(
            UserError::new(format!("`{}` is not a JSON object", path.display()))
                .with_hint(hint.to_owned())
                .into(),
        );
    }
    Ok(value)
}

/// Puts the capture at `_meta["dev.mcp-reg/surface"]` (replacing one already there).
fn embed_surface(server: &mut Value, path: &Path) -> anyhow::Result<()> {
    let hint = "pass the output of `mcp-reg probe` (a JSON object with serverInfo, protocolVersion, tools, ...)";
    let surface = read_json(path, hint)?;
    ToolSurface::deserialize(&surface).map_err(|err| {
        UserError::new(format!("`{}` is not a tool surface: {err}", path.display())).with_hint(hint)
    })?;
    let Some(object) = server.as_object_mut() else {
        return Ok(());
    };
    let meta = object
        .entry("_meta")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(UserError::new("`_meta` in server.json is not an object")
            .with_hint("make `_meta` an object (or remove it)")
            .into());
    };
    meta.insert(compat::SURFACE_META_KEY.to_owned(), surface);
    Ok(())
}
