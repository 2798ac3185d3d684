//! `mcp-reg doctor`: one line per check of this machine (runtimes on PATH, host config files that
//! do not parse, Claude Desktop's MSIX path, disabled entries, the install record); exit 1 when a
//! check fails.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::commands::install::records;
use crate::commands::{JsonFlag, out, paint, print_json};
use crate::install::hosts::CLAUDE_MSIX_PACKAGE;
use crate::install::{Format, Host, HostEnv, Layout, Platform, Scope, jsonc, toml, yaml};
use crate::output;
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg doctor
  mcp-reg doctor --json

Exit status: 0 when no check fails (warnings allowed), 1 otherwise.")]
pub struct DoctorArgs {
    #[command(flatten)]
    pub output: JsonFlag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub status: Status,
    pub check: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Check {
    fn new(status: Status, check: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status,
            check: check.into(),
            detail: detail.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Runtimes the registry's package types launch with, and where to get each.
const RUNTIMES: &[(&str, &str, &str)] = &[
    (
        "npx",
        "npm",
        "install Node.js (it provides npx): https://nodejs.org",
    ),
    (
        "uvx",
        "pypi",
        "install uv (it provides uvx): https://docs.astral.sh/uv/",
    ),
    (
        "docker",
        "oci",
        "install Docker and make sure `docker` is on PATH",
    ),
    ("dnx", "nuget", "install the .NET 10 SDK (it provides dnx)"),
];

pub fn run(args: &DoctorArgs) -> anyhow::Result<ExitStatus> {
    let env = HostEnv::from_process(None)
        .map_err(|_| UserError::new("neither HOME nor USERPROFILE is set").with_hint("set HOME"))?;
    let mut checks = Vec::new();
    runtime_checks(&mut checks);
    host_checks(&env, &mut checks);
    msix_check(&env, &mut checks);
    record_check(&mut checks);

    let failed = checks.iter().any(|c| c.status == Status::Fail);
    if args.output.json {
        print_json(&serde_json::json!({ "ok": !failed, "checks": checks }))?;
    } else {
        let mut text = String::new();
        for check in &checks {
            let (label, style) = match check.status {
                Status::Ok => ("ok", output::SUCCESS),
                Status::Warn => ("warn", output::WARNING),
                Status::Fail => ("fail", output::ERROR),
            };
            let label = paint(style, &format!("{label:<4}"));
            let _ = writeln!(text, "{label}  {}: {}", check.check, check.detail);
            if let Some(hint) = &check.hint {
                let _ = writeln!(text, "      hint: {hint}");
            }
        }
        let (warns, fails) = (
            checks.iter().filter(|c| c.status == Status::Warn).count(),
            checks.iter().filter(|c| c.status == Status::Fail).count(),
        );
        let _ = writeln!(
            text,
            "{} checks: {fails} failed, {warns} warning(s)",
            checks.len()
        );
        out(&text)?;
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn runtime_checks(checks: &mut Vec<Check>) {
    for (program, registry_type, install) in RUNTIMES {
        let name = format!("runtime {program}");
        match find_on_path(program) {
            Some(path) => {
                let mut check = Check::new(Status::Ok, name, path.display().to_string());
                if path.components().any(|c| c.as_os_str() == ".nvm") {
                    check = Check::new(
                        Status::Warn,
                        format!("runtime {program}"),
                        format!(
                            "{} is under nvm; apps started from the desktop may not see it",
                            path.display()
                        ),
                    )
                    .hint("put the absolute path in the entry's command, or install Node.js system-wide");
                }
                checks.push(check);
            }
            None => checks.push(
                Check::new(
                    Status::Warn,
                    name,
                    format!("not on PATH: {registry_type} packages cannot run here"),
                )
                .hint(*install),
            ),
        }
    }
}

/// The first executable `program` in `PATH` (with `PATHEXT` on Windows).
pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let exts: Vec<String> = if cfg!(windows) {
        std::env::var("PATHEXT")
            .unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".to_owned())
            .split(';')
            .map(str::to_owned)
            .collect()
    } else {
        vec![String::new()]
    };
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| {
            exts.iter()
                .map(move |ext| dir.join(format!("{program}{ext}")))
        })
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

fn host_checks(env: &HostEnv, checks: &mut Vec<Check>) {
    let mut seen: Vec<PathBuf> = Vec::new();
    for host in Host::ALL {
        let Ok(path) = host.config_path(Scope::User, env) else {
            continue;
        };
        if seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        let name = format!("host {}", host.id());
        let text = match std::fs::read(&path) {
            Ok(bytes) => {
                if let Ok(text) = String::from_utf8(bytes) {
                    text
                } else {
                    checks.push(
                        Check::new(
                            Status::Fail,
                            name,
                            format!("{} is not UTF-8", path.display()),
                        )
                        .hint("fix the file; mcp-reg never rewrites a file it cannot parse"),
                    );
                    continue;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                checks.push(
                    Check::new(
                        Status::Fail,
                        name,
                        format!("cannot read {}: {err}", path.display()),
                    )
                    .hint("fix the file's permissions"),
                );
                continue;
            }
        };
        match parse_entries(host, &text) {
            Err(message) => checks.push(
                Check::new(
                    Status::Fail,
                    name,
                    format!("{} does not parse: {message}", path.display()),
                )
                .hint(format!(
                    "fix the file ({} will not read it, and mcp-reg never rewrites a file it cannot parse)",
                    host.name()
                )),
            ),
            Ok(disabled) if disabled.is_empty() => {
                checks.push(Check::new(Status::Ok, name, path.display().to_string()));
            }
            Ok(disabled) => checks.push(
                Check::new(
                    Status::Warn,
                    name,
                    format!(
                        "{}: disabled entries: {}",
                        path.display(),
                        disabled.join(", ")
                    ),
                )
                .hint(format!("enable them in {} if you expect them to run", host.name())),
            ),
        }
    }
}

/// Parses a host file; the names of the entries it marks disabled.
fn parse_entries(host: Host, text: &str) -> Result<Vec<String>, String> {
    let profile = host.profile();
    let mut disabled = Vec::new();
    match profile.format {
        Format::Json | Format::Jsonc => {
            let doc = jsonc::Document::parse(text)
                .map_err(|e| format!("line {}, column {}: {}", e.line, e.column, e.message))?;
            let roots = std::iter::once(profile.root).chain(profile.alt_root.map(|a| a.root));
            for root in roots {
                match (doc.value_at(root), profile.layout) {
                    (Some(Value::Object(map)), Layout::Map) => {
                        for (entry, value) in &map {
                            if is_disabled(value) {
                                disabled.push(entry.clone());
                            }
                        }
                    }
                    (Some(Value::Array(items)), Layout::List { name_key }) => {
                        for value in &items {
                            if is_disabled(value) {
                                disabled.push(value[name_key].as_str().unwrap_or("?").to_owned());
                            }
                        }
                    }
                    _ => {}
                }
            }
            if host == Host::ClaudeCode
                && let Some(Value::Object(projects)) = doc.value_at(&["projects"])
            {
                for (project, settings) in &projects {
                    for key in ["disabledMcpServers", "disabledMcpjsonServers"] {
                        for name in settings[key].as_array().into_iter().flatten() {
                            if let Some(name) = name.as_str() {
                                disabled.push(format!("{name} (in {project})"));
                            }
                        }
                    }
                }
            }
        }
        Format::Toml => {
            let doc = toml::parse(text)
                .map_err(|e| format!("line {}, column {}: {}", e.line, e.column, e.message))?;
            if let Some(table) = profile
                .root
                .first()
                .and_then(|root| doc.get(root))
                .and_then(toml_edit::Item::as_table_like)
            {
                for (entry, item) in table.iter() {
                    let flag = |key: &str| item.get(key).and_then(toml_edit::Item::as_bool);
                    if flag("enabled") == Some(false) || flag("disabled") == Some(true) {
                        disabled.push(entry.to_owned());
                    }
                }
            }
        }
        Format::Yaml => {
            let root = profile.root.first().copied().unwrap_or_default();
            yaml::check(text, root, profile.layout)
                .map_err(|e| format!("line {}: {}", e.line, e.message))?;
        }
    }
    Ok(disabled)
}

fn is_disabled(entry: &Value) -> bool {
    entry.get("disabled") == Some(&Value::Bool(true))
        || entry.get("enabled") == Some(&Value::Bool(false))
}

/// Claude Desktop from the Microsoft Store reads its config from a virtualized path; a file at the
/// usual `%APPDATA%` path is then ignored.
fn msix_check(env: &HostEnv, checks: &mut Vec<Check>) {
    if env.platform != Platform::Windows {
        return;
    }
    let local = env
        .local_appdata
        .clone()
        .unwrap_or_else(|| env.home.join("AppData").join("Local"));
    let package = local.join("Packages").join(CLAUDE_MSIX_PACKAGE);
    if !package.is_dir() {
        return;
    }
    let virtualized = package
        .join("LocalCache")
        .join("Roaming")
        .join("Claude")
        .join("claude_desktop_config.json");
    let roaming = env
        .appdata
        .clone()
        .unwrap_or_else(|| env.home.join("AppData").join("Roaming"))
        .join("Claude")
        .join("claude_desktop_config.json");
    if roaming.is_file() && !virtualized.is_file() {
        checks.push(
            Check::new(
                Status::Warn,
                "claude-desktop msix",
                format!(
                    "Claude Desktop is the Store (MSIX) build and reads {}, not {}",
                    virtualized.display(),
                    roaming.display()
                ),
            )
            .hint("install again with `mcp-reg install NAME --host claude-desktop`; it writes the MSIX path"),
        );
    } else {
        checks.push(Check::new(
            Status::Ok,
            "claude-desktop msix",
            format!("Store (MSIX) build; config at {}", virtualized.display()),
        ));
    }
}

fn record_check(checks: &mut Vec<Check>) {
    let store = match records() {
        Ok(store) => store,
        Err(err) => {
            checks.push(Check::new(
                Status::Fail,
                "install record",
                format!("{err:#}"),
            ));
            return;
        }
    };
    match store.load() {
        Ok(installs) => checks.push(Check::new(
            Status::Ok,
            "install record",
            format!(
                "{} entr{} ({})",
                installs.len(),
                if installs.len() == 1 { "y" } else { "ies" },
                store.path().display()
            ),
        )),
        Err(err) => checks.push(
            Check::new(Status::Fail, "install record", err.to_string())
                .hint("fix or remove the file; `mcp-reg list` and `uninstall` depend on it"),
        ),
    }
}
