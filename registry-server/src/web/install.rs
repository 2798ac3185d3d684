//! The install section: the `mcp-reg install` command for each host the CLI supports, and one-click
//! deep links where hosts have them (VS Code `vscode:mcp/install?…`, Cursor
//! `cursor://anysphere.cursor-deeplink/mcp/install?…`).
//!
//! Issue 16, second part (not here yet): each host's config snippet, byte for byte as
//! `mcp-reg install --dry-run` writes it, from the one shared source of truth. Its place on the page is
//! [`host_snippet`]; the launch configs below only feed the two deep links.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use maud::{Markup, html};
use registry_schema::manifest::{Package, Transport, TransportType};
use serde_json::{Map, Value, json};

use super::layout::{copyable, query_value};

/// The CLI's hosts (`registry-cli/src/install/hosts.rs`, `PROFILES`): `--host` id and display name.
pub const HOSTS: &[(&str, &str)] = &[
    ("claude-desktop", "Claude Desktop"),
    ("claude-code", "Claude Code"),
    ("cursor", "Cursor"),
    ("vscode", "VS Code"),
    ("vscode-insiders", "VS Code Insiders"),
    ("windsurf", "Windsurf"),
    ("continue", "Continue"),
    ("zed", "Zed"),
    ("gemini", "Gemini CLI"),
    ("codex", "Codex"),
    ("cline", "Cline"),
    ("opencode", "opencode"),
    ("goose", "Goose"),
    ("lmstudio", "LM Studio"),
    ("amazon-q", "Amazon Q"),
    ("jetbrains", "JetBrains (Junie)"),
    ("kiro", "Kiro"),
    ("antigravity", "Antigravity"),
];

/// `mcp-reg install NAME[@VERSION] --host HOST`. Server names hold only `[A-Za-z0-9._/-]` and the
/// argument is quoted when a version holds anything else, so the command is safe to paste into a shell.
pub fn command(name: &str, version: Option<&str>, host: &str) -> String {
    match version {
        Some(version) => format!(
            "mcp-reg install {} --host {host}",
            shell_quote(&format!("{name}@{version}"))
        ),
        None => format!("mcp-reg install {name} --host {host}"),
    }
}

fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-+/@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// How a host would start the server, for the deep links: the first package with a pinned version of
/// a registry type with a known runner, else the first remote whose URL needs no variables.
#[derive(Debug, Clone, PartialEq)]
pub enum Launch {
    Stdio {
        command: &'static str,
        args: Vec<String>,
        /// Required environment variables: `(name, description, secret)`.
        env: Vec<(String, Option<String>, bool)>,
    },
    Remote {
        /// `http` or `sse`.
        kind: &'static str,
        url: String,
    },
}

pub fn launch(packages: &[Package], remotes: &[Transport]) -> Option<Launch> {
    for package in packages {
        let Some(version) = package.version.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        if package.transport.r#type != TransportType::Stdio {
            continue;
        }
        let id = package.identifier.as_str();
        let (command, args) = match package.registry_type.as_str() {
            "npm" => ("npx", vec!["-y".to_owned(), format!("{id}@{version}")]),
            "pypi" => ("uvx", vec![format!("{id}=={version}")]),
            "nuget" => ("dnx", vec![format!("{id}@{version}"), "--yes".to_owned()]),
            "oci" => (
                "docker",
                vec![
                    "run".to_owned(),
                    "-i".to_owned(),
                    "--rm".to_owned(),
                    if id.contains(':') || id.contains('@') {
                        id.to_owned()
                    } else {
                        format!("{id}:{version}")
                    },
                ],
            ),
            _ => continue,
        };
        // Arguments that need a value from the user are left to the install command.
        if package
            .runtime_arguments()
            .iter()
            .chain(package.package_arguments())
            .any(|argument| argument.input.is_required() && argument.input.value.is_none())
        {
            continue;
        }
        let env = package
            .environment_variables()
            .iter()
            .filter(|var| var.input.is_required())
            .map(|var| {
                (
                    var.name.clone(),
                    var.input.description.clone(),
                    var.input.is_secret(),
                )
            })
            .collect();
        return Some(Launch::Stdio { command, args, env });
    }
    remotes.iter().find_map(|remote| {
        let url = remote.url.as_deref()?;
        let kind = match remote.r#type {
            TransportType::StreamableHttp => "http",
            TransportType::Sse => "sse",
            TransportType::Stdio => return None,
        };
        let required_header = remote
            .headers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|header| header.input.is_required());
        (super::layout::is_web_url(url) && !url.contains('{') && !required_header).then(|| {
            Launch::Remote {
                kind,
                url: url.to_owned(),
            }
        })
    })
}

/// `vscode:mcp/install?{json}`: VS Code's own config shape, secrets through its `inputs`.
pub fn vscode_link(local_name: &str, launch: &Launch) -> String {
    let mut config = Map::new();
    config.insert("name".to_owned(), json!(local_name));
    match launch {
        Launch::Stdio { command, args, env } => {
            config.insert("type".to_owned(), json!("stdio"));
            config.insert("command".to_owned(), json!(command));
            config.insert("args".to_owned(), json!(args));
            if !env.is_empty() {
                let vars: Map<String, Value> = env
                    .iter()
                    .map(|(name, _, _)| (name.clone(), json!(format!("${{input:{name}}}"))))
                    .collect();
                let inputs: Vec<Value> = env
                    .iter()
                    .map(|(name, description, secret)| {
                        json!({
                            "type": "promptString",
                            "id": name,
                            "description": description.clone().unwrap_or_else(|| name.clone()),
                            "password": secret,
                        })
                    })
                    .collect();
                config.insert("env".to_owned(), Value::Object(vars));
                config.insert("inputs".to_owned(), Value::Array(inputs));
            }
        }
        Launch::Remote { kind, url } => {
            config.insert("type".to_owned(), json!(kind));
            config.insert("url".to_owned(), json!(url));
        }
    }
    format!(
        "vscode:mcp/install?{}",
        query_value(&Value::Object(config).to_string())
    )
}

/// `cursor://anysphere.cursor-deeplink/mcp/install?name=…&config=<base64 JSON>`; secrets as
/// `${env:NAME}`, read from the user's environment.
pub fn cursor_link(local_name: &str, launch: &Launch) -> String {
    let config = match launch {
        Launch::Stdio { command, args, env } => {
            let mut config = json!({"command": command, "args": args});
            if !env.is_empty() {
                let vars: Map<String, Value> = env
                    .iter()
                    .map(|(name, _, _)| (name.clone(), json!(format!("${{env:{name}}}"))))
                    .collect();
                config["env"] = Value::Object(vars);
            }
            config
        }
        Launch::Remote { url, .. } => json!({"url": url}),
    };
    format!(
        "cursor://anysphere.cursor-deeplink/mcp/install?name={}&config={}",
        query_value(local_name),
        query_value(&STANDARD.encode(config.to_string()))
    )
}

/// Issue 16, second part: the host's config snippet (byte for byte as `mcp-reg install --dry-run`
/// writes it) goes here, from the shared install-snippet library. Until then, none.
fn host_snippet(_host: &str) -> Option<Markup> {
    None
}

/// The install section of a server or version page.
pub fn section(
    name: &str,
    version: Option<&str>,
    packages: &[Package],
    remotes: &[Transport],
) -> Markup {
    let local_name = name.split_once('/').map_or(name, |(_, local)| local);
    let launch = launch(packages, remotes);
    let (first, rest) = HOSTS.split_at(4);
    let row = |(index, (host, label)): (usize, &(&str, &str))| {
        html! {
            li {
                span.host { (label) }
                (copyable(&format!("install-{index}"), &command(name, version, host)))
                @if let Some(snippet) = host_snippet(host) { (snippet) }
            }
        }
    };
    html! {
        section #install aria-labelledby="install-title" {
            h2 #install-title { "Install" }
            @if let Some(launch) = &launch {
                p.deeplinks {
                    a.button href=(vscode_link(local_name, launch)) { "Install in VS Code" }
                    " "
                    a.button href=(cursor_link(local_name, launch)) { "Install in Cursor" }
                }
            }
            p { "With the " code { "mcp-reg" } " CLI, which pins the version and routes secrets through each host's own mechanism:" }
            ul.hosts {
                @for item in first.iter().enumerate() { (row(item)) }
            }
            details {
                summary { "More hosts (" (rest.len()) ")" }
                ul.hosts {
                    @for (index, host) in rest.iter().enumerate() { (row((index + first.len(), host))) }
                }
            }
        }
    }
}

/// The deep-link buttons alone, for result rows.
pub fn quick_links(name: &str, packages: &[Package], remotes: &[Transport]) -> Markup {
    let local_name = name.split_once('/').map_or(name, |(_, local)| local);
    let Some(launch) = launch(packages, remotes) else {
        return html! {};
    };
    html! {
        a.button.small href=(vscode_link(local_name, &launch)) aria-label={ "Install " (name) " in VS Code" } { "VS Code" }
        a.button.small href=(cursor_link(local_name, &launch)) aria-label={ "Install " (name) " in Cursor" } { "Cursor" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(json: Value) -> Package {
        serde_json::from_value(json).expect("package")
    }

    #[test]
    fn npm_launch_and_links() {
        let packages = [package(json!({
            "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.0",
            "transport": {"type": "stdio"},
            "environmentVariables": [{"name": "API_KEY", "isRequired": true, "isSecret": true, "description": "key"}]
        }))];
        let launch = launch(&packages, &[]).expect("launch");
        assert_eq!(
            launch,
            Launch::Stdio {
                command: "npx",
                args: vec!["-y".into(), "@acme/weather@1.2.0".into()],
                env: vec![("API_KEY".into(), Some("key".into()), true)],
            }
        );
        let vscode = vscode_link("weather", &launch);
        assert!(vscode.starts_with("vscode:mcp/install?%7B%22name%22%3A%22weather%22"));
        let cursor = cursor_link("weather", &launch);
        let config = cursor.split("config=").nth(1).expect("config");
        let decoded = STANDARD
            .decode(
                percent_encoding::percent_decode_str(config)
                    .decode_utf8_lossy()
                    .as_bytes(),
            )
            .expect("base64");
        let config: Value = serde_json::from_slice(&decoded).expect("json");
        assert_eq!(config["env"]["API_KEY"], "${env:API_KEY}");
    }

    #[test]
    fn commands_quote_odd_versions() {
        assert_eq!(
            command("io.x/y", None, "cursor"),
            "mcp-reg install io.x/y --host cursor"
        );
        assert_eq!(
            command("io.x/y", Some("1.0.0 beta"), "zed"),
            "mcp-reg install 'io.x/y@1.0.0 beta' --host zed"
        );
    }
}
