//! `mcp-reg show NAME[@VERSION]`: what a user needs before installing: how it runs, what it asks
//! for, what tools it exposes, which versions exist and how this one relates to the previous one.

use std::fmt::Write as _;

use registry_schema::compat::{self, Report};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ExitStatus;
use crate::client::ServerResponse;
use crate::commands::search::text;
use crate::commands::{Ctx, JsonFlag, print_json, split_name_version, truncate};
use crate::resolve::{self, Ask};

/// The registry's provenance status of a version, in the response's `_meta`.
const PROVENANCE_META: &str = "dev.mcp-reg/provenance";

/// The registry's `_meta` provenance entry of a version, when it reports one.
fn response_provenance(response: &ServerResponse) -> Option<&Value> {
    response.meta.as_ref()?.get(PROVENANCE_META)
}

/// One line: `verified: keyless, https://github.com/… (repo @ commit)`, `unsigned`, or `None` when the
/// registry does not report provenance (e.g. the official registry).
pub fn provenance_line(response: &ServerResponse) -> Option<String> {
    let meta = response_provenance(response)?;
    match meta["status"].as_str()? {
        "verified" => {
            let mode = meta["mode"].as_str().unwrap_or("signed");
            let who = match (meta["repository"].as_str(), meta["commit"].as_str()) {
                (Some(repo), Some(commit)) => {
                    format!("{repo} @ {}", commit.get(..12).unwrap_or(commit))
                }
                (Some(repo), None) => repo.to_owned(),
                _ => meta["identity"]
                    .as_str()
                    .unwrap_or("unknown signer")
                    .to_owned(),
            };
            Some(format!(
                "verified by the registry ({mode}): {}",
                one_line(&who)
            ))
        }
        "unsigned" => Some("unsigned (published without a provenance bundle)".to_owned()),
        other => Some(one_line(other)),
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg show io.github.acme/memory
  mcp-reg show github                        (a short name, resolved like `install` does)
  mcp-reg show io.github.acme/memory@1.2.0 --json")]
pub struct ShowArgs {
    /// NAME or NAME@VERSION (default: the latest version); NAME is the full name or a short one.
    pub server: String,
    #[command(flatten)]
    pub output: JsonFlag,
}

#[allow(clippy::too_many_lines)] // one section after the other, in display order
pub fn run(ctx: &Ctx, args: &ShowArgs) -> anyhow::Result<ExitStatus> {
    let (query, version) = split_name_version(&args.server);
    let version = version.unwrap_or("latest");
    let client = ctx.client()?;
    let name = resolve::registry_name(&client, query, Ask::new("show", false), &ctx.ui)?;
    let name = name.as_str();
    let spinner = ctx.ui.spinner("fetching the server");
    let response = resolve::version(&client, name, version)?;
    let exact = response.version().to_owned();
    spinner.set_message("fetching tools, versions and compatibility");
    let surface = client.surface(name, &exact)?;
    let versions = client
        .versions(name)?
        .map(|l| l.servers)
        .unwrap_or_default();
    let report = client.compat_report(name, &exact)?;
    drop(spinner);

    if args.output.json {
        // The registry's `{server, _meta}` shape, not nested: `.server.name`, `.server.version`.
        print_json(&json!({
            "server": response.server,
            "_meta": response.meta,
            "surface": surface,
            "versions": versions.iter().map(|v| json!({
                "version": v.version(),
                "status": v.official().status,
                "isLatest": v.official().is_latest,
                "publishedAt": v.official().published_at,
            })).collect::<Vec<_>>(),
            "compat": report,
        }))?;
        return Ok(ExitStatus::Success);
    }

    let server = &response.server;
    let official = response.official();
    let mut out = String::new();
    let mut flags = Vec::new();
    if official.is_latest {
        flags.push("latest".to_owned());
    }
    if let Some(status) = &official.status {
        flags.push(status.clone());
    }
    let _ = writeln!(
        out,
        "{} {} ({})",
        ctx.ui.bold(name),
        exact,
        flags.join(", ")
    );
    if let Some(message) = &official.status_message {
        let _ = writeln!(out, "  status: {}", one_line(message));
    }
    if let Some(title) = server["title"].as_str() {
        let _ = writeln!(out, "  {}", one_line(title));
    }
    let _ = writeln!(out, "  {}", one_line(text(server, "description")));
    if let Some(url) = server["websiteUrl"].as_str() {
        let _ = writeln!(out, "  website: {}", one_line(url));
    }
    if let Some(url) = server["repository"]["url"].as_str() {
        let _ = writeln!(out, "  repository: {}", one_line(url));
    }
    if let Some(at) = &official.published_at {
        let _ = writeln!(out, "  published: {at}");
    }

    let packages = server["packages"].as_array().cloned().unwrap_or_default();
    if !packages.is_empty() {
        let _ = writeln!(out, "\n{}", ctx.ui.bold("Packages"));
        for package in &packages {
            let version = package["version"]
                .as_str()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}{} ({})",
                one_line(text(package, "registryType")),
                one_line(text(package, "identifier")),
                one_line(&version),
                one_line(text(&package["transport"], "type")),
            );
        }
    }
    let remotes = server["remotes"].as_array().cloned().unwrap_or_default();
    if !remotes.is_empty() {
        let _ = writeln!(out, "\n{}", ctx.ui.bold("Remotes"));
        for remote in &remotes {
            let _ = writeln!(
                out,
                "  {} {}",
                one_line(text(remote, "type")),
                one_line(text(remote, "url"))
            );
        }
    }

    let inputs = required_inputs(&packages, &remotes);
    if !inputs.is_empty() {
        let _ = writeln!(out, "\n{}", ctx.ui.bold("Required configuration"));
        for (name, description, secret) in inputs {
            let _ = writeln!(
                out,
                "  {name}{}{}",
                if secret { " (secret)" } else { "" },
                if description.is_empty() {
                    String::new()
                } else {
                    format!(": {}", one_line(&description))
                }
            );
        }
    }

    if let Some(surface) = &surface {
        let tools = surface["tools"].as_array().cloned().unwrap_or_default();
        let _ = writeln!(out, "\n{} ({})", ctx.ui.bold("Tools"), tools.len());
        let width = tools
            .iter()
            .map(|t| text(t, "name").chars().count())
            .max()
            .unwrap_or(0);
        for tool in &tools {
            let description = text(tool, "description")
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim();
            let _ = writeln!(
                out,
                "  {:<width$}  {}",
                one_line(text(tool, "name")),
                truncate(description, 100)
            );
        }
        for (kind, label) in [("prompts", "Prompts"), ("resources", "Resources")] {
            if let Some(items) = surface[kind].as_array().filter(|i| !i.is_empty()) {
                let _ = writeln!(out, "{label}: {}", items.len());
            }
        }
    } else {
        let _ = writeln!(
            out,
            "\n{}",
            ctx.ui
                .dim("Tools: not published with this version (no tool surface)")
        );
    }

    if !versions.is_empty() {
        let list: Vec<String> = versions
            .iter()
            .map(|v| {
                let o = v.official();
                let mut label = v.version().to_owned();
                let mut notes = Vec::new();
                if o.is_latest {
                    notes.push("latest".to_owned());
                }
                if let Some(status) = o.status.filter(|s| s != "active") {
                    notes.push(status);
                }
                if !notes.is_empty() {
                    let _ = write!(label, " ({})", notes.join(", "));
                }
                label
            })
            .collect();
        let _ = writeln!(out, "\n{}: {}", ctx.ui.bold("Versions"), list.join(", "));
    }

    if let Some(note) = response.unannounced_break() {
        let _ = writeln!(out, "\n{}: {note}", ctx.ui.bold("Breaking"));
    }
    if let Some(report) = report.as_ref().and_then(|r| Report::deserialize(r).ok()) {
        let against = report
            .baseline_version
            .as_deref()
            .map_or_else(|| "first version".to_owned(), |b| format!("against {b}"));
        let _ = writeln!(out, "\n{} ({against})", ctx.ui.bold("Compatibility"));
        for line in compat::render_text(&report).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }

    let _ = writeln!(
        out,
        "\n{}: {}",
        ctx.ui.bold("Provenance"),
        provenance_line(&response)
            .unwrap_or_else(|| "unknown (the registry does not report it)".to_owned())
    );
    if let Some(meta) = response_provenance(&response).filter(|m| m["status"] == "verified") {
        for (label, key) in [
            ("issuer", "issuer"),
            ("identity", "identity"),
            ("repository", "repository"),
            ("commit", "commit"),
            ("workflow", "workflow"),
            ("log index", "logIndex"),
            ("signed at", "signedAt"),
            ("key id", "keyId"),
        ] {
            let value = match &meta[key] {
                Value::String(text) => one_line(text),
                Value::Number(number) => number.to_string(),
                _ => continue,
            };
            let _ = writeln!(out, "  {label:<11} {value}");
        }
        let _ = writeln!(
            out,
            "  {}",
            ctx.ui
                .dim(&format!("check it yourself: mcp-reg verify {name}@{exact}"))
        );
    }

    // The registry's stored review when it keeps one, else the same review made here.
    let (review, source) = match client.review(name, &exact).ok().flatten() {
        Some(value) => match registry_schema::review::Review::deserialize(&value) {
            Ok(review) => (review, "the registry's review"),
            Err(_) => (
                registry_schema::review::review_manifest_value(&response.server),
                "reviewed here",
            ),
        },
        None => (
            registry_schema::review::review_manifest_value(&response.server),
            "reviewed here",
        ),
    };
    let _ = writeln!(
        out,
        "\n{}: {} {}",
        ctx.ui.bold("Security review"),
        crate::commands::review::summary(&review),
        ctx.ui.dim(&format!("({source})"))
    );
    if !review.findings.is_empty() {
        for line in crate::commands::review::render_text(&review).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }

    crate::output::out(&out)?;
    Ok(ExitStatus::Success)
}

/// Required environment variables and headers without a fixed value: `(name, description, secret)`.
fn required_inputs(packages: &[Value], remotes: &[Value]) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = Vec::new();
    let items = packages
        .iter()
        .flat_map(|p| p["environmentVariables"].as_array().into_iter().flatten())
        .chain(
            remotes
                .iter()
                .flat_map(|r| r["headers"].as_array().into_iter().flatten()),
        );
    for item in items {
        let required = item["isRequired"].as_bool().unwrap_or(false);
        if !required || item.get("value").is_some() {
            continue;
        }
        let name = one_line(text(item, "name"));
        if out.iter().any(|(n, _, _)| *n == name) {
            continue;
        }
        out.push((
            name,
            text(item, "description").to_owned(),
            item["isSecret"].as_bool().unwrap_or(false),
        ));
    }
    out
}

/// Registry text is untrusted: no control characters reach the terminal.
fn one_line(text: &str) -> String {
    truncate(text, usize::MAX)
}
