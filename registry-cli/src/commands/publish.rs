//! `mcp-reg publish [server.json]`: validate locally, preview the compatibility check against the
//! registry's latest version, then publish. The registry's gate has the last word: a 409 refusal
//! carries its report, which is printed with what to do about it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use registry_schema::compat::{self, Report, Side, Verdict};
use registry_schema::validate::validate_bytes;
use registry_schema::{Policy, ServerJson, Severity, ToolSurface};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{Client, Published};
use crate::commands::install::parse_pair;
use crate::commands::{Ctx, JsonFlag, print_json};
use crate::install::launch::{self, Choice, Platform, Support, Values};
use crate::probe::{ProbeOptions, ProbeTarget, probe};
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg probe --manifest server.json -o surface.json
  mcp-reg publish server.json --surface surface.json
  mcp-reg publish server.json --sign-key mcp-reg.key      (key-based provenance)
  mcp-reg publish server.json --prepare final.json        (CI: attest final.json, then)
  mcp-reg publish final.json --bundle final.json.sigstore.json
  mcp-reg publish --acknowledge 3f2a9c0d1e4b      (after reviewing that finding)
  mcp-reg publish --accept-breaking               (ship a break the version does not announce)

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
    /// Publish even though the version ships breaking changes its number does not announce (e.g. an npm
    /// release that cannot be renumbered). The registry keeps the version flagged as breaking, records
    /// who accepted it, and warns everyone who upgrades to it.
    #[arg(long)]
    pub accept_breaking: bool,
    /// Publish without a tool surface (only the manifest is compared). Without it and without
    /// --surface, the first package this machine can run is probed and its surface embedded.
    #[arg(long)]
    pub no_probe: bool,
    /// A value the probed package needs (env var, argument or `{variable}`); repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub env: Vec<(String, String)>,
    /// Give up probing after this many seconds (a first `npx`/`uvx` run may download).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub probe_timeout: u64,
    /// Sign the manifest with this private key (`mcp-reg keygen`; the public key must be registered
    /// for the namespace) and publish the provenance bundle with it.
    #[arg(long, value_name = "KEY", conflicts_with = "bundle")]
    pub sign_key: Option<PathBuf>,
    /// Publish with this Sigstore bundle (e.g. from `actions/attest-build-provenance` over the file
    /// `--prepare` wrote).
    #[arg(long, value_name = "FILE", conflicts_with = "surface")]
    pub bundle: Option<PathBuf>,
    /// Do not publish: write the final manifest (surface embedded) as RFC 8785 canonical JSON to FILE,
    /// the exact bytes a CI attestation signs, and print their digest.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sign_key", "bundle"])]
    pub prepare: Option<PathBuf>,
    #[command(flatten)]
    pub output: JsonFlag,
}

#[allow(clippy::too_many_lines)] // one linear flow: read, validate, preview, publish, report
pub fn run(ctx: &Ctx, args: &PublishArgs) -> anyhow::Result<ExitStatus> {
    let mut value = read_json(&args.file, "pass the path of your server.json")?;
    if let Some(path) = &args.surface {
        embed_surface(&mut value, path)?;
    } else if !args.no_probe && args.bundle.is_none() && !has_surface(&value) {
        // (With --bundle the file is published exactly as attested: probing would change it.)
        probe_and_embed(ctx, args, &mut value)?;
    }
    let bytes = serde_json::to_vec(&value)?;
    let (_, validation) = validate_bytes(&bytes, &Policy::lenient());
    for issue in &validation.issues {
        let level = if issue.severity == Severity::Error {
            crate::output::paint(crate::output::ERROR, "error")
        } else {
            crate::output::paint(crate::output::WARNING, "warning")
        };
        let pointer = if issue.pointer.is_empty() {
            "/"
        } else {
            &issue.pointer
        };
        crate::output::errln(&format!(
            "{level}[{}] {pointer}: {}",
            issue.rule, issue.message
        ));
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

    let name = server.name.as_str().to_owned();
    let version = server.version.as_str().to_owned();
    if let Some(path) = &args.prepare {
        return prepare(ctx, &value, path, args.output.json);
    }
    let bundle = provenance_bundle(args, &value, &name, &version)?;
    let client = ctx.authed_client()?;
    // Before the preview: its report would be wasted on a publish that cannot be sent.
    client.require_token()?;
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
        client.publish(
            &value,
            &args.acknowledge,
            args.accept_breaking,
            bundle.as_ref(),
        )?
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
                let mut stdout = crate::output::stdout();
                writeln!(stdout, "published {name} {version}")?;
                if ctx.ui.quiet {
                    return Ok(ExitStatus::Success);
                }
                if let Some(line) = crate::commands::show::provenance_line(&response) {
                    writeln!(stdout, "provenance: {line}")?;
                }
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
                crate::output::out(&compat::render_text(&report))?;
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

/// `--prepare`: the canonical bytes a CI attestation signs, and their digest.
fn prepare(ctx: &Ctx, value: &Value, path: &Path, json: bool) -> anyhow::Result<ExitStatus> {
    let bytes = registry_schema::canonicalize(value).map_err(|err| {
        UserError::new(format!("the manifest cannot be canonicalized: {err}"))
            .with_hint("numbers must be integers or doubles within ±2^53")
    })?;
    let digest = registry_schema::Digest::of_bytes(&bytes);
    std::fs::write(path, &bytes).map_err(|err| {
        UserError::new(format!("cannot write {}: {err}", path.display()))
            .with_hint("pick a writable path for --prepare")
    })?;
    if json {
        print_json(&json!({ "file": path, "digest": digest.to_string() }))?;
    } else {
        crate::output::outln!("{digest}  {}", path.display())?;
        ctx.ui.info(&format!(
            "attest {} (e.g. actions/attest-build-provenance with subject-path), then: mcp-reg publish {} --bundle BUNDLE",
            path.display(),
            path.display()
        ));
    }
    Ok(ExitStatus::Success)
}

/// The bundle to publish with: signed here with `--sign-key`, or read from `--bundle`.
fn provenance_bundle(
    args: &PublishArgs,
    value: &Value,
    name: &str,
    version: &str,
) -> anyhow::Result<Option<Value>> {
    if let Some(path) = &args.sign_key {
        let key = crate::commands::keygen::read_signing_key(path)?;
        let bundle =
            registry_provenance::sign_with_key(value, name, version, &key).map_err(|err| {
                UserError::new(format!("cannot sign the manifest: {err}"))
                    .with_hint("numbers in server.json must be integers or doubles within ±2^53")
            })?;
        return Ok(Some(bundle));
    }
    match &args.bundle {
        Some(path) => Ok(Some(read_json(
            path,
            "pass the Sigstore bundle (JSON) that attests this exact manifest",
        )?)),
        None => Ok(None),
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
    hint.push_str(
        "; if this release cannot be renumbered, publish it with --accept-breaking (it stays flagged as breaking)",
    );
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
    if surface.is_none() {
        ctx.ui.warn(
            "tool surface: not checked (no probe and no surface in `_meta`); only the manifest is compared, \
             and the registry marks this version manifest-only",
        );
    }
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
    let mut text = format!("compatibility with {} {}:\n", name, latest.version());
    for line in compat::render_text(&report).lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    crate::output::err(&text);
    Ok(())
}

fn has_surface(server: &Value) -> bool {
    server
        .get("_meta")
        .and_then(|meta| meta.get(compat::SURFACE_META_KEY))
        .is_some()
}

/// Runs the manifest's first package this machine can run and embeds its tool surface; a failure is
/// the user's to resolve (exit 1), with the two ways around probing in the hint.
fn probe_and_embed(ctx: &Ctx, args: &PublishArgs, value: &mut Value) -> anyhow::Result<()> {
    let around = "pass --surface FILE (from `mcp-reg probe`), or --no-probe to publish without a tool surface";
    let Ok(server) = ServerJson::deserialize(&*value) else {
        // Validation, next, reports what is wrong with it.
        return Ok(());
    };
    let values: Values = args.env.iter().cloned().collect();
    // Packages first (the brief of `publish`: what this machine can run), then remotes.
    let choices = (0..server.packages().len())
        .map(Choice::Package)
        .chain((0..server.remotes().len()).map(Choice::Remote));
    let mut reasons = Vec::new();
    let mut missing = None;
    let mut target = None;
    for choice in choices {
        let label = match choice {
            Choice::Package(index) => format!("package #{index}"),
            Choice::Remote(index) => format!("remote #{index}"),
            Choice::Auto => continue,
        };
        let resolved = launch::select(&server, choice, Support::ALL)
            .and_then(|choice| launch::resolve(&server, choice, &values, Platform::current()));
        let spec = match resolved {
            Ok(resolved) => resolved.spec,
            Err(err) => {
                if let crate::install::InstallError::MissingInput { key, .. } = &err {
                    missing.get_or_insert_with(|| key.clone());
                }
                reasons.push(format!("{label}: {err}"));
                continue;
            }
        };
        if let launch::LaunchSpec::Stdio { command, .. } = &spec
            && !on_path(command)
        {
            reasons.push(format!("{label}: `{command}` is not on PATH"));
            continue;
        }
        match ProbeTarget::from_launch(&spec) {
            Ok(found) => {
                target = Some(found);
                break;
            }
            Err(err) => reasons.push(format!("{label}: {err}")),
        }
    }
    let Some(target) = target else {
        let why = if reasons.is_empty() {
            "it has no packages and no remotes".to_owned()
        } else {
            reasons.join("; ")
        };
        return Err(UserError::new(format!(
            "cannot probe {} for its tool surface: {why}",
            args.file.display()
        ))
        .with_hint(match missing {
            Some(key) => format!("pass --env {key}=VALUE to run it, or {around}"),
            None => around.to_owned(),
        })
        .into());
    };
    ctx.ui.info(&format!("probing {}", target.describe()));
    let options = ProbeOptions {
        timeout: Duration::from_secs(args.probe_timeout),
        ..ProbeOptions::default()
    };
    let result = {
        let _spinner = ctx.ui.spinner("capturing the tool surface");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        runtime.block_on(probe(target, &options))
    };
    let surface = result.map_err(|err| {
        let hint = match err.hint() {
            Some(hint) => format!("{hint}; or {around}"),
            None => around.to_owned(),
        };
        UserError::new(format!("probing the server failed: {err}")).with_hint(hint)
    })?;
    ctx.ui.info(&format!(
        "captured the tool surface of {} {}",
        surface.server_info.name, surface.server_info.version
    ));
    if let Some(object) = value.as_object_mut() {
        let meta = object
            .entry("_meta")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        let Some(meta) = meta.as_object_mut() else {
            return Err(UserError::new("`_meta` in server.json is not an object")
                .with_hint("make `_meta` an object (or remove it)")
                .into());
        };
        meta.insert(compat::SURFACE_META_KEY.to_owned(), surface.to_value());
    }
    Ok(())
}

/// Whether `program` can be started: a path that exists, or a name found on `PATH`.
fn on_path(program: &str) -> bool {
    let path = Path::new(program);
    if path.components().count() > 1 {
        return path.is_file();
    }
    let Some(dirs) = std::env::var_os("PATH") else {
        return false;
    };
    let exts: &[&str] = if cfg!(windows) {
        &["", ".exe", ".cmd", ".bat"]
    } else {
        &[""]
    };
    std::env::split_paths(&dirs).any(|dir| {
        exts.iter()
            .any(|ext| dir.join(format!("{program}{ext}")).is_file())
    })
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
