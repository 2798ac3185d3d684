//! The install section: for each host, the config snippet exactly as
//! `mcp-reg install NAME@VERSION --host ID --print --placeholders` prints it, the `mcp-reg install`
//! command, and one-click deep links where hosts have them (VS Code `vscode:mcp/install?…`, Cursor
//! `cursor://anysphere.cursor-deeplink/mcp/install?…`).
//!
//! Snippets, refusals and deep-link payloads all come from `registry_install`, the renderer the CLI
//! writes config files with (one source of truth, issue 16): this module only lays them out and
//! URL-encodes the links.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use maud::{Markup, html};
use registry_install::{Host, Platform, SnippetOptions, deeplink};
use registry_schema::manifest::{Package, Transport};
use registry_schema::{ServerJson, ServerName, ServerVersion};
use serde_json::{Map, Value};

use super::layout::{copyable, is_web_url, query_value};

/// The hosts the page lists, in its order; the first four are shown open.
pub const HOSTS: [Host; 20] = [
    Host::ClaudeDesktop,
    Host::ClaudeCode,
    Host::Cursor,
    Host::VsCode,
    Host::VsCodeInsiders,
    Host::Windsurf,
    Host::Continue,
    Host::Zed,
    Host::Gemini,
    Host::Codex,
    Host::Cline,
    Host::Opencode,
    Host::Goose,
    Host::LmStudio,
    Host::AmazonQ,
    Host::JetBrains,
    Host::Kiro,
    Host::Antigravity,
    Host::CopilotCli,
    Host::KiloCode,
];

/// Snippets are those of macOS and Linux, which write the same entries (on Windows `mcp-reg install`
/// wraps `npx`/`uvx`/`dnx` in `cmd /c`).
pub const PLATFORM: Platform = Platform::Linux;

/// How the page renders snippets: as `mcp-reg install --print --placeholders` does, with no `--env`.
pub fn snippet_options() -> SnippetOptions {
    SnippetOptions {
        placeholders: true,
        ..SnippetOptions::default()
    }
}

/// The host's snippet for `server`, or why mcp-reg cannot install it there (the CLI's own message).
pub fn host_snippet(server: &ServerJson, host: Host) -> Result<String, String> {
    registry_install::snippet(server, host, PLATFORM, &snippet_options())
        .map_err(|err| err.to_string())
}

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

/// A deep-link payload that connects to anything but an http(s) URL is not offered.
fn web_only(config: &Value) -> bool {
    config
        .get("url")
        .and_then(Value::as_str)
        .is_none_or(is_web_url)
}

/// `vscode:mcp/install?{json}`: VS Code's entry as `mcp-reg install --host vscode` writes it, with its
/// name and the `inputs` its secrets refer to; `None` when the entry needs values nobody gave.
pub fn vscode_link(server: &ServerJson) -> Option<String> {
    let config = deeplink::vscode_config(server).ok()?;
    web_only(&config).then(|| format!("vscode:mcp/install?{}", query_value(&config.to_string())))
}

/// `cursor://anysphere.cursor-deeplink/mcp/install?name=…&config=<base64 JSON>`: Cursor's entry as
/// `mcp-reg install --host cursor` writes it (secrets as `${env:NAME}`).
pub fn cursor_link(server: &ServerJson) -> Option<String> {
    let (name, config) = deeplink::cursor_config(server).ok()?;
    web_only(&config).then(|| {
        format!(
            "cursor://anysphere.cursor-deeplink/mcp/install?name={}&config={}",
            query_value(&name),
            query_value(&STANDARD.encode(config.to_string()))
        )
    })
}

fn deep_links(server: &ServerJson) -> (Option<String>, Option<String>) {
    (vscode_link(server), cursor_link(server))
}

/// One host's row: its name, the command, and the snippet or the reason there is none.
fn host_row(index: usize, name: &str, version: Option<&str>, server: &ServerJson) -> Markup {
    let host = HOSTS[index];
    let id = host.id();
    let snippet_id = format!("snippet-{index}");
    html! {
        li data-host=(id) {
            span.host { (host.name()) }
            (copyable(&format!("install-{index}"), &command(name, version, id)))
            @match host_snippet(server, host) {
                Ok(text) => div.copyable.snippet {
                    pre { code id=(snippet_id) data-snippet=(id) { (text) } }
                    button.copy type="button" data-copy=(snippet_id) hidden { "Copy" }
                },
                Err(reason) => p.refusal {
                    "mcp-reg cannot install it here: " span data-refusal=(id) { (reason) }
                },
            }
        }
    }
}

/// The install section of a server or version page: `name` as in the URL, `version` when the page
/// is one version's, `server` the manifest shown.
pub fn section(name: &str, version: Option<&str>, server: &ServerJson) -> Markup {
    let (vscode, cursor) = deep_links(server);
    let open = 4;
    html! {
        section #install aria-labelledby="install-title" {
            h2 #install-title { "Install" }
            @if vscode.is_some() || cursor.is_some() {
                p.deeplinks {
                    @if let Some(link) = &vscode { a.button href=(link) { "Install in VS Code" } }
                    " "
                    @if let Some(link) = &cursor { a.button href=(link) { "Install in Cursor" } }
                }
            }
            p {
                "With the " code { "mcp-reg" } " CLI, which pins the version and routes secrets through each host's own mechanism; "
                "or paste the entry into the host's config file. " code { "<KEY>" } " marks a value to fill in. "
                "Entries are those of macOS and Linux (on Windows, " code { "npx" } ", " code { "uvx" } " and " code { "dnx" } " run through " code { "cmd /c" } ")."
            }
            ul.hosts {
                @for index in 0..open { (host_row(index, name, version, server)) }
            }
            details {
                summary { "More hosts (" (HOSTS.len() - open) ")" }
                ul.hosts {
                    @for index in open..HOSTS.len() { (host_row(index, name, version, server)) }
                }
            }
        }
    }
}

/// A manifest with what a result row knows (the deep links need only its packages and remotes).
fn listing_server(
    name: &str,
    version: &str,
    packages: &[Package],
    remotes: &[Transport],
) -> Option<ServerJson> {
    Some(ServerJson {
        schema: None,
        name: ServerName::parse(name).ok()?,
        description: String::new(),
        version: ServerVersion::parse(version).ok()?,
        title: None,
        website_url: None,
        repository: None,
        icons: None,
        packages: Some(packages.to_vec()),
        remotes: Some(remotes.to_vec()),
        meta: None,
        extra: Map::new(),
    })
}

/// The deep-link buttons alone, for result rows.
pub fn quick_links(
    name: &str,
    version: &str,
    packages: &[Package],
    remotes: &[Transport],
) -> Markup {
    let Some(server) = listing_server(name, version, packages, remotes) else {
        return html! {};
    };
    let (vscode, cursor) = deep_links(&server);
    html! {
        @if let Some(link) = &vscode {
            a.button.small href=(link) aria-label={ "Install " (name) " in VS Code" } { "VS Code" }
        }
        @if let Some(link) = &cursor {
            a.button.small href=(link) aria-label={ "Install " (name) " in Cursor" } { "Cursor" }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn server(extra: &Value) -> ServerJson {
        let mut base =
            json!({"name": "io.github.acme/weather", "description": "d", "version": "1.2.0"});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(base).expect("server")
    }

    #[test]
    fn links_come_from_the_cli_entries() {
        let npm = server(&json!({"packages": [{
            "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.0",
            "transport": {"type": "stdio"},
            "environmentVariables": [{"name": "API_KEY", "isRequired": true, "isSecret": true, "description": "key"}]
        }]}));
        let vscode = vscode_link(&npm).expect("vscode");
        assert!(vscode.starts_with("vscode:mcp/install?%7B%22name%22%3A%22weather%22"));
        let cursor = cursor_link(&npm).expect("cursor");
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
        assert_eq!(config["args"], json!(["-y", "@acme/weather@1.2.0"]));

        // A required value nobody gave: a placeholder in the snippet, no one-click link.
        let needs_dir = server(&json!({"packages": [{
            "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.0",
            "transport": {"type": "stdio"},
            "packageArguments": [{"type": "positional", "valueHint": "dir", "isRequired": true}]
        }]}));
        assert_eq!(vscode_link(&needs_dir), None);
        let snippet = host_snippet(&needs_dir, Host::Cursor).expect("snippet");
        assert!(snippet.contains("\"<dir>\""), "{snippet}");

        // A remote that is not http(s) gets no link; a server with nothing to run, the CLI's reason.
        let odd = server(
            &json!({"remotes": [{"type": "streamable-http", "url": "javascript:alert(1)"}]}),
        );
        assert_eq!(cursor_link(&odd), None);
        let empty = server(&json!({}));
        assert_eq!(
            host_snippet(&empty, Host::Cursor),
            Err("the server has no packages and no remotes".to_owned())
        );
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

    #[test]
    fn the_page_lists_every_host_once() {
        for host in Host::ALL {
            assert_eq!(HOSTS.iter().filter(|h| **h == host).count(), 1, "{host:?}");
        }
    }
}
