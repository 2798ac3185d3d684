//! `mcp-reg validate FILE`: the registry's validation, locally, plus the registry's own `/validate`
//! when one is named (`--registry`, `MCP_REG_REGISTRY`, the config file) and answers within 2 s, or
//! when `--remote` asks for it.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use registry_schema::validate::validate_bytes;
use registry_schema::{Policy, Report};
use serde::{Deserialize, Serialize};

use crate::commands::{Ctx, print_json};
use crate::{ExitStatus, UserError, config};

/// How long the registry's `/validate` may take before the local answer stands alone.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(2);

#[allow(clippy::struct_excessive_bools)] // independent command-line flags
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The server.json to check (`-` reads standard input).
    pub file: PathBuf,
    /// Print `{"valid", "issues": [...]}` as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Apply a public registry's rules: what is otherwise a warning (unknown package types, http
    /// remotes, flags with values in their names, a missing `$schema`) becomes an error.
    #[arg(long)]
    pub strict: bool,
    /// Also ask the registry's `/validate`, and fail when it cannot be reached [default: ask when
    /// a registry is configured, and skip it quietly when it does not answer within 2 s].
    #[arg(long, conflicts_with = "offline")]
    pub remote: bool,
    /// Validate locally only.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    valid: bool,
    issues: &'a [registry_schema::Issue],
    /// The registry whose `/validate` was merged in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<&'a str>,
}

pub fn run(ctx: &Ctx, args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let bytes = read_input(args)?;
    let policy = if args.strict {
        Policy::strict()
    } else {
        Policy::lenient()
    };
    let (_, mut report) = validate_bytes(&bytes, &policy);
    let mut asked = None;
    if let Some(url) = remote_registry(ctx, args)? {
        match remote_issues(&url, &bytes) {
            Ok(issues) => {
                merge(&mut report, issues);
                asked = Some(url);
            }
            Err(err) if args.remote => {
                return Err(UserError::new(format!(
                    "the registry at {url} did not validate the file: {err}"
                ))
                .with_hint("check --registry, or leave out --remote to validate locally only")
                .into());
            }
            Err(err) => ctx.ui.debug(&format!(
                "registry {url} not used ({err}); validated locally only"
            )),
        }
    }
    if args.json {
        let output = JsonOutput {
            valid: report.is_valid(),
            issues: &report.issues,
            registry: asked.as_deref(),
        };
        // Rendered first: serde_json's writer would hide a closed pipe's `BrokenPipe`.
        print_json(&output)?;
    } else {
        write_text(
            &mut crate::output::stdout(),
            &args.file.display().to_string(),
            &report,
        )?;
        if let Some(url) = &asked {
            ctx.ui
                .info(&format!("checked by the registry at {url} too"));
        }
    }
    Ok(if report.is_valid() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// The registry to ask: with `--remote` always; by default only one named by the flag, the
/// environment or the config file (not the built-in default).
fn remote_registry(ctx: &Ctx, args: &ValidateArgs) -> anyhow::Result<Option<String>> {
    if args.offline {
        return Ok(None);
    }
    if args.remote {
        return ctx.registry().map(Some);
    }
    let url = ctx.registry()?;
    let named = ctx.global.registry.is_some() || url != config::DEFAULT_REGISTRY;
    Ok(named.then_some(url))
}

#[derive(Deserialize)]
struct RemoteReport {
    issues: Vec<RemoteIssue>,
}

#[derive(Deserialize)]
struct RemoteIssue {
    rule: String,
    #[serde(default)]
    pointer: String,
    message: String,
    severity: String,
}

/// POSTs the bytes to `{registry}/v0.1/validate`.
fn remote_issues(registry: &str, bytes: &[u8]) -> anyhow::Result<Vec<registry_schema::Issue>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::builder()
        .connect_timeout(REMOTE_TIMEOUT)
        .timeout(REMOTE_TIMEOUT)
        .user_agent(concat!("mcp-reg/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let url = format!("{}/v0.1/validate", registry.trim_end_matches('/'));
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(bytes.to_vec())
        .send()?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("HTTP {status}");
    }
    let report: RemoteReport = response.json()?;
    Ok(report
        .issues
        .into_iter()
        .map(|issue| {
            let rule = issue.rule;
            if issue.severity == "error" {
                registry_schema::Issue::error(rule, issue.pointer, issue.message)
            } else {
                registry_schema::Issue::warning(rule, issue.pointer, issue.message)
            }
        })
        .collect())
}

/// Adds the registry's issues the local run did not find (same rule and place); a registry error
/// the local run saw only as a warning replaces the warning.
fn merge(report: &mut Report, remote: Vec<registry_schema::Issue>) {
    for issue in remote {
        let same = report
            .issues
            .iter_mut()
            .find(|local| local.rule == issue.rule && local.pointer == issue.pointer);
        match same {
            Some(local) => {
                if issue.severity == registry_schema::Severity::Error {
                    local.severity = registry_schema::Severity::Error;
                }
            }
            None => report.issues.push(issue),
        }
    }
}

fn read_input(args: &ValidateArgs) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        return Ok(bytes);
    }
    std::fs::File::open(&args.file)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|err| {
            UserError::new(format!("cannot read `{}`: {err}", args.file.display()))
                .with_hint("pass the path of a server.json file, or `-` to read standard input")
        })?;
    Ok(bytes)
}

fn write_text(out: &mut impl Write, name: &str, report: &Report) -> std::io::Result<()> {
    for issue in &report.issues {
        writeln!(out, "{issue}")?;
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    if errors == 0 {
        writeln!(out, "{name}: valid ({warnings} warning(s))")
    } else {
        writeln!(
            out,
            "{name}: invalid ({errors} error(s), {warnings} warning(s))"
        )
    }
}
