//! `mcp-reg init`: write a server.json from the project in the current directory (package.json,
//! pyproject.toml, Cargo.toml and the git remote), asking only for what cannot be inferred.

use std::path::{Path, PathBuf};
use std::process::Command;

use registry_schema::manifest::CURRENT_SCHEMA_URL;
use registry_schema::validate::validate_value;
use registry_schema::{Policy, Severity};
use serde_json::{Map, Value, json};

use crate::commands::Ctx;
use crate::output;
use crate::{ExitStatus, UserError};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  mcp-reg init                                   (asks for what it cannot infer)
  mcp-reg init --yes --name io.github.alice/weather --description \"Weather forecasts\"
  mcp-reg init --force                           (replace an existing server.json)

Reads package.json (npm), pyproject.toml (pypi) and Cargo.toml (cargo) in the current directory;
the name and repository come from the git remote `origin` when it is on GitHub.")]
pub struct InitArgs {
    /// The server name, e.g. `io.github.alice/weather` [default: from the GitHub remote `origin`].
    #[arg(long)]
    pub name: Option<String>,
    /// What the server does (at most 100 characters) [default: the package's description].
    #[arg(long)]
    pub description: Option<String>,
    /// The server version [default: the package's version].
    #[arg(long = "version", id = "server_version", value_name = "VERSION")]
    pub version: Option<String>,
    /// Never ask: take what can be inferred and the flags, fail naming the flag for the rest.
    #[arg(short, long)]
    pub yes: bool,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    /// Where to write.
    #[arg(short, long, value_name = "FILE", default_value = "server.json")]
    pub output: PathBuf,
}

/// What the project files say.
#[derive(Debug, Default)]
struct Inferred {
    name: Option<String>,
    description: Option<String>,
    version: Option<String>,
    repository: Option<Value>,
    packages: Vec<Value>,
    sources: Vec<&'static str>,
    hints: Vec<String>,
}

pub fn run(ctx: &Ctx, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let dir = std::env::current_dir()?;
    let output = dir.join(&args.output);
    if output.exists() && !args.force {
        return Err(
            UserError::new(format!("{} exists already", args.output.display()))
                .with_hint("pass --force to replace it, or --output FILE to write elsewhere")
                .into(),
        );
    }
    let mut found = Inferred::default();
    read_package_json(&dir, &mut found)?;
    read_pyproject(&dir, &mut found)?;
    read_cargo_toml(&dir, &mut found)?;
    let remote = git_origin(&dir);
    let github = remote.as_deref().and_then(github_repo);
    if let Some((owner, repo)) = &github {
        found
            .name
            .get_or_insert_with(|| format!("io.github.{owner}/{repo}"));
        found.repository = Some(json!({
            "url": format!("https://github.com/{owner}/{repo}"),
            "source": "github",
        }));
    }
    if found.sources.is_empty() {
        ctx.ui.info(
            "note: no package.json, pyproject.toml or Cargo.toml here; the server.json gets no packages",
        );
    } else {
        ctx.ui.info(&format!("read {}", found.sources.join(", ")));
    }

    let interactive = !args.yes && output::interactive();
    let name = value_of(
        args.name.as_ref().or(found.name.as_ref()),
        "name (e.g. io.github.OWNER/REPO)",
        "--name",
        interactive,
    )?;
    let description = value_of(
        args.description.as_ref().or(found.description.as_ref()),
        "description",
        "--description",
        interactive,
    )?;
    let version = value_of(
        args.version.as_ref().or(found.version.as_ref()),
        "version",
        "--version",
        interactive,
    )?;

    let mut server = Map::new();
    server.insert("$schema".into(), json!(CURRENT_SCHEMA_URL));
    server.insert("name".into(), json!(name));
    server.insert("description".into(), json!(description));
    server.insert("version".into(), json!(version));
    if let Some(repository) = found.repository {
        server.insert("repository".into(), repository);
    }
    if !found.packages.is_empty() {
        // A package whose own version is not a plain string (`version.workspace = true`) ships
        // as the server's version.
        for package in &mut found.packages {
            if let Some(package) = package.as_object_mut()
                && !package.contains_key("version")
            {
                package.insert("version".into(), json!(version));
            }
        }
        server.insert("packages".into(), Value::Array(found.packages));
    }
    let server = Value::Object(server);

    let report = validate_value(&server, &Policy::lenient());
    for issue in &report.issues {
        output::errln(&issue.to_string());
    }
    if !report.is_valid() {
        return Err(UserError::new(format!(
            "the inferred server.json is invalid; {} was not written",
            args.output.display()
        ))
        .with_hint(fix_hint(&report))
        .into());
    }
    let mut bytes = serde_json::to_vec_pretty(&server)?;
    bytes.push(b'\n');
    crate::install::atomic::replace(&output, &bytes, false).map_err(|err| {
        UserError::new(err.to_string()).with_hint("choose a writable path with --output FILE")
    })?;
    ctx.ui.info(&format!(
        "wrote {} ({name} {version})",
        args.output.display()
    ));
    for hint in found.hints.iter().map(|h| h.replace("{name}", &name)) {
        output::hint(&hint);
    }
    Ok(ExitStatus::Success)
}

/// Which flag fixes the first error.
fn fix_hint(report: &registry_schema::Report) -> String {
    let pointer = report
        .issues
        .iter()
        .find(|i| i.severity == Severity::Error)
        .map_or("", |i| i.pointer.as_str());
    match pointer {
        "/name" => "pass --name io.github.OWNER/REPO".to_owned(),
        "/description" => "pass --description TEXT (at most 100 characters)".to_owned(),
        "/version" => "pass --version VERSION (e.g. 1.0.0)".to_owned(),
        _ => "fix the project file the error points at, or pass --name/--description/--version"
            .to_owned(),
    }
}

/// The flag's or inferred value, else ask on a terminal, else fail naming the flag.
fn value_of(
    known: Option<&String>,
    what: &str,
    flag: &str,
    interactive: bool,
) -> anyhow::Result<String> {
    if let Some(value) = known.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        return Ok(value.to_owned());
    }
    if !interactive {
        return Err(UserError::new(format!("cannot infer the server's {what}"))
            .with_hint(format!("pass {flag} VALUE"))
            .into());
    }
    let line = output::prompt(&format!("{what}: "))?.trim().to_owned();
    if line.is_empty() {
        return Err(UserError::new(format!("no {what} given"))
            .with_hint(format!("pass {flag} VALUE"))
            .into());
    }
    Ok(line)
}

fn read_text(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(
            UserError::new(format!("cannot read {}: {err}", path.display()))
                .with_hint("check the file's permissions")
                .into(),
        ),
    }
}

fn str_of(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn read_package_json(dir: &Path, found: &mut Inferred) -> anyhow::Result<()> {
    let Some(text) = read_text(&dir.join("package.json"))? else {
        return Ok(());
    };
    let value: Value = serde_json::from_str(&text).map_err(|err| {
        UserError::new(format!("package.json is not valid JSON: {err}"))
            .with_hint("fix package.json, or move it away and pass the values as flags")
    })?;
    found.sources.push("package.json");
    let mcp_name = str_of(&value, "mcpName");
    if found.name.is_none() {
        found.name.clone_from(&mcp_name);
    }
    fill(
        found,
        str_of(&value, "description"),
        str_of(&value, "version"),
    );
    if found.repository.is_none() {
        let url = match value.get("repository") {
            Some(Value::String(url)) => Some(url.clone()),
            Some(repo) => str_of(repo, "url"),
            None => None,
        };
        if let Some((owner, repo)) = url.as_deref().and_then(github_repo) {
            found.repository = Some(json!({
                "url": format!("https://github.com/{owner}/{repo}"),
                "source": "github",
            }));
        }
    }
    if let Some(identifier) = str_of(&value, "name") {
        found.packages.push(package(
            "npm",
            &identifier,
            str_of(&value, "version").as_deref(),
        ));
        if mcp_name.is_none() {
            found.hints.push(
                "package.json needs `\"mcpName\": \"{name}\"` so the registry can verify you own the npm package"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

fn read_pyproject(dir: &Path, found: &mut Inferred) -> anyhow::Result<()> {
    let Some(text) = read_text(&dir.join("pyproject.toml"))? else {
        return Ok(());
    };
    let doc = parse_toml(&text, "pyproject.toml")?;
    found.sources.push("pyproject.toml");
    let Some(project) = doc
        .get("project")
        .or_else(|| doc.get("tool").and_then(|tool| tool.get("poetry")))
    else {
        return Ok(());
    };
    let get = |key: &str| {
        project
            .get(key)
            .and_then(toml_edit::Item::as_str)
            .map(str::to_owned)
    };
    fill(found, get("description"), get("version"));
    if let Some(identifier) = get("name") {
        found
            .packages
            .push(package("pypi", &identifier, get("version").as_deref()));
        found.hints.push(
            "the package's README on PyPI needs a line `mcp-name: {name}` so the registry can verify you own it"
                .to_owned(),
        );
    }
    Ok(())
}

fn read_cargo_toml(dir: &Path, found: &mut Inferred) -> anyhow::Result<()> {
    let Some(text) = read_text(&dir.join("Cargo.toml"))? else {
        return Ok(());
    };
    let doc = parse_toml(&text, "Cargo.toml")?;
    found.sources.push("Cargo.toml");
    let Some(package_table) = doc.get("package") else {
        return Ok(());
    };
    // `version.workspace = true` and the like are not strings: left to --version.
    let get = |key: &str| {
        package_table
            .get(key)
            .and_then(toml_edit::Item::as_str)
            .map(str::to_owned)
    };
    fill(found, get("description"), get("version"));
    if found.repository.is_none()
        && let Some((owner, repo)) = get("repository").as_deref().and_then(github_repo)
    {
        found.repository = Some(json!({
            "url": format!("https://github.com/{owner}/{repo}"),
            "source": "github",
        }));
    }
    if let Some(identifier) = get("name") {
        found
            .packages
            .push(package("cargo", &identifier, get("version").as_deref()));
    }
    Ok(())
}

fn parse_toml(text: &str, file: &str) -> anyhow::Result<toml_edit::DocumentMut> {
    text.parse::<toml_edit::DocumentMut>().map_err(|err| {
        UserError::new(format!(
            "{file} is not valid TOML: {}",
            err.to_string().trim()
        ))
        .with_hint(format!(
            "fix {file}, or pass the values as flags from another directory"
        ))
        .into()
    })
}

/// The first project file's description and version win.
fn fill(found: &mut Inferred, description: Option<String>, version: Option<String>) {
    if found.description.is_none() {
        found.description = description;
    }
    if found.version.is_none() {
        found.version = version;
    }
}

fn package(registry_type: &str, identifier: &str, version: Option<&str>) -> Value {
    let mut package = Map::new();
    package.insert("registryType".into(), json!(registry_type));
    package.insert("identifier".into(), json!(identifier));
    if let Some(version) = version {
        package.insert("version".into(), json!(version));
    }
    package.insert("transport".into(), json!({ "type": "stdio" }));
    Value::Object(package)
}

/// The URL of the git remote `origin`, when `dir` is in a git work tree that has one.
fn git_origin(dir: &Path) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["remote", "get-url", "origin"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let url = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!url.is_empty()).then_some(url)
}

/// `(owner, repo)` of a GitHub URL: `https://github.com/o/r(.git)`, `git@github.com:o/r.git`,
/// `ssh://git@github.com/o/r`, `git+https://github.com/o/r.git`, `github:o/r`.
pub fn github_repo(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let rest = if let Some(rest) = url.strip_prefix("github:") {
        rest
    } else if let Some(rest) = url.strip_prefix("git@github.com:") {
        rest
    } else {
        let without_scheme = url.split_once("://").map(|(_, rest)| rest)?;
        let without_user = without_scheme
            .split_once('@')
            .filter(|(user, _)| !user.contains('/'))
            .map_or(without_scheme, |(_, host)| host);
        let (host, path) = without_user.split_once('/')?;
        let host = host.split(':').next().unwrap_or(host);
        if !host.eq_ignore_ascii_case("github.com") && !host.eq_ignore_ascii_case("www.github.com")
        {
            return None;
        }
        path
    };
    let mut parts = rest.trim_end_matches('/').splitn(3, '/');
    let owner = parts.next()?;
    let repo = parts.next()?;
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (valid(owner) && valid(repo)).then(|| (owner.to_owned(), repo.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::github_repo;

    #[test]
    fn github_urls_in_every_spelling() {
        let want = Some(("alice".to_owned(), "weather".to_owned()));
        for url in [
            "https://github.com/alice/weather.git",
            "https://github.com/alice/weather",
            "git@github.com:alice/weather.git",
            "ssh://git@github.com/alice/weather.git",
            "git+https://github.com/alice/weather.git",
            "github:alice/weather",
            "https://token@github.com/alice/weather/",
        ] {
            assert_eq!(github_repo(url), want, "{url}");
        }
        assert_eq!(github_repo("https://gitlab.com/alice/weather.git"), None);
        assert_eq!(github_repo("/srv/git/weather.git"), None);
    }
}
