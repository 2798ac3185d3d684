#![allow(clippy::unwrap_used)]
//! `mcp-reg install`'s library against real files in temporary directories: every host format from
//! nothing and into hand-written files with comments, backups, atomicity, secrets, ownership, and the
//! whole conformance corpus.

use std::fs;
use std::path::{Path, PathBuf};

use registry_cli::install::launch::{self, Support};
use registry_cli::install::{
    Choice, Format, Host, HostEnv, InstallError, InstallOptions, Platform, RecordStore, Scope,
    Values, atomic, jsonc, plan_install, plan_uninstall, render, snippet, toml, yaml,
};
use registry_schema::ServerJson;
use serde_json::{Value, json};

struct Machine {
    _dir: tempfile::TempDir,
    env: HostEnv,
    records: RecordStore,
}

impl Machine {
    fn new(platform: Platform) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let project = dir.path().join("project");
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&project).unwrap();
        let env = HostEnv::new(platform, home).with_project(project);
        let records = RecordStore::new(dir.path().join("data"));
        Self {
            _dir: dir,
            env,
            records,
        }
    }

    fn linux() -> Self {
        Self::new(Platform::Linux)
    }

    fn path(&self, host: Host, scope: Scope) -> PathBuf {
        host.config_path(scope, &self.env).unwrap()
    }

    fn write(&self, host: Host, scope: Scope, text: &str) -> PathBuf {
        let path = self.path(host, scope);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn install(
        &self,
        server: &ServerJson,
        host: Host,
        scope: Scope,
        opts: &InstallOptions,
    ) -> Result<String, InstallError> {
        let plan = plan_install(server, host, scope, &self.env, opts, &self.records)?;
        plan.apply(&self.records)?;
        Ok(fs::read_to_string(&plan.path).unwrap())
    }

    fn uninstall(
        &self,
        host: Host,
        scope: Scope,
        name: &str,
        force: bool,
    ) -> Result<String, InstallError> {
        let plan = plan_uninstall(host, scope, &self.env, name, force, &self.records)?;
        plan.apply(&self.records)?;
        Ok(fs::read_to_string(&plan.path).unwrap_or_default())
    }
}

fn server(extra: &Value) -> ServerJson {
    let mut base =
        json!({"name": "io.github.acme/weather", "description": "Weather", "version": "1.2.3"});
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(base).unwrap()
}

/// An npm server with one plain env var.
fn npm_plain() -> ServerJson {
    server(&json!({"packages": [{
        "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.3",
        "transport": {"type": "stdio"},
        "environmentVariables": [{"name": "MODE", "default": "fast"}]
    }]}))
}

/// An npm server with a secret and a plain env var.
fn npm_secret() -> ServerJson {
    server(&json!({"packages": [{
        "registryType": "npm", "identifier": "@acme/weather", "version": "1.2.3",
        "transport": {"type": "stdio"},
        "environmentVariables": [
            {"name": "TOKEN", "description": "API token", "isSecret": true, "isRequired": true},
            {"name": "MODE", "default": "fast"}
        ]
    }]}))
}

fn remote_only() -> ServerJson {
    server(&json!({"remotes": [{
        "type": "streamable-http", "url": "https://mcp.acme.dev/mcp",
        "headers": [{"name": "Authorization", "value": "Bearer {token}",
                     "variables": {"token": {"description": "API token", "isSecret": true}}}]
    }]}))
}

/// The entry `name` of `host`'s config text, whatever the format and root.
fn read_entry(host: Host, text: &str, name: &str) -> Option<Value> {
    let profile = host.profile();
    match profile.format {
        Format::Toml => {
            let doc = toml::parse(text).unwrap();
            toml::get(&doc, profile.root[0], name).unwrap()
        }
        Format::Yaml => yaml::get(text, profile.root[0], profile.layout, name).unwrap(),
        Format::Json | Format::Jsonc => {
            let doc = jsonc::Document::parse(text).unwrap();
            let mut path = profile.root.to_vec();
            path.push(name);
            doc.value_at(&path)
        }
    }
}

fn dir_entries(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const CLAUDE_DESKTOP_NEW: &str = r#"{
  "mcpServers": {
    "weather": {
      "command": "npx",
      "args": ["-y", "@acme/weather@1.2.3"],
      "env": {
        "MODE": "fast"
      }
    }
  }
}
"#;

#[test]
fn every_host_and_scope_from_a_missing_file() {
    let m = Machine::linux();
    let opts = InstallOptions::default();
    for host in Host::ALL {
        for &scope in host.scopes() {
            let text = m.install(&npm_plain(), host, scope, &opts).unwrap();
            let path = m.path(host, scope);
            assert!(
                dir_entries(&path)
                    .iter()
                    .all(|name| !name.contains(atomic::MARK)),
                "{host:?} {scope:?}: no temp file or backup for a new file"
            );
            let entry = read_entry(host, &text, "weather").unwrap();
            if host == Host::Opencode {
                assert_eq!(
                    entry["command"],
                    json!(["npx", "-y", "@acme/weather@1.2.3"]),
                    "{scope:?}"
                );
                assert_eq!(entry["environment"], json!({"MODE": "fast"}));
                continue;
            }
            let profile = host.profile();
            assert_eq!(
                entry[profile.stdio.command_key], "npx",
                "{host:?} {scope:?}"
            );
            assert_eq!(
                entry["args"],
                json!(["-y", "@acme/weather@1.2.3"]),
                "{host:?}"
            );
            assert_eq!(
                entry[profile.stdio.env_key],
                json!({"MODE": "fast"}),
                "{host:?}"
            );
        }
    }
    assert_eq!(
        fs::read_to_string(m.path(Host::ClaudeDesktop, Scope::User)).unwrap(),
        CLAUDE_DESKTOP_NEW
    );
    assert_eq!(
        fs::read_to_string(m.path(Host::Codex, Scope::User)).unwrap(),
        "[mcp_servers.weather]\ncommand = \"npx\"\nargs = [\"-y\", \"@acme/weather@1.2.3\"]\nenv = { MODE = \"fast\" }\n"
    );
    let vscode = fs::read_to_string(m.path(Host::VsCode, Scope::Project)).unwrap();
    assert!(
        vscode.starts_with("{\n  \"servers\": {\n    \"weather\": {\n      \"type\": \"stdio\",\n"),
        "{vscode}"
    );
    let zed = fs::read_to_string(m.path(Host::Zed, Scope::User)).unwrap();
    assert!(zed.starts_with("{\n  \"context_servers\": {\n"), "{zed}");
    let records = registry_cli::install::installed(&m.records, None).unwrap();
    // VS Code and VS Code Insiders share `.vscode/mcp.json`: one record for that file.
    assert_eq!(
        records.len(),
        Host::ALL.iter().map(|h| h.scopes().len()).sum::<usize>() - 1
    );
    assert_eq!(records[0].server, "io.github.acme/weather");
    assert_eq!(records[0].version, "1.2.3");
}

const VSCODE_BEFORE: &str = "// Workspace MCP servers\n{\n\t/* shared inputs */\n\t\"inputs\": [\n\t\t{ \"type\": \"promptString\", \"id\": \"gh\", \"password\": true }, // GitHub\n\t],\n\t\"servers\": {\n\t\t// my own server, hands off\n\t\t\"mine\": { \"command\": \"node\", \"args\": [\"srv.js\"], },\n\t},\n}\n";

const VSCODE_AFTER: &str = "// Workspace MCP servers\n{\n\t/* shared inputs */\n\t\"inputs\": [\n\t\t{ \"type\": \"promptString\", \"id\": \"gh\", \"password\": true }, // GitHub\n\t\t{\n\t\t\t\"type\": \"promptString\",\n\t\t\t\"id\": \"weather-TOKEN\",\n\t\t\t\"description\": \"API token\",\n\t\t\t\"password\": true\n\t\t},\n\t],\n\t\"servers\": {\n\t\t// my own server, hands off\n\t\t\"mine\": { \"command\": \"node\", \"args\": [\"srv.js\"], },\n\t\t\"weather\": {\n\t\t\t\"type\": \"stdio\",\n\t\t\t\"command\": \"npx\",\n\t\t\t\"args\": [\"-y\", \"@acme/weather@1.2.3\"],\n\t\t\t\"env\": {\n\t\t\t\t\"TOKEN\": \"${input:weather-TOKEN}\",\n\t\t\t\t\"MODE\": \"fast\"\n\t\t\t}\n\t\t},\n\t},\n}\n";

#[test]
fn vscode_jsonc_keeps_comments_and_routes_secrets_through_inputs() {
    let m = Machine::linux();
    let path = m.write(Host::VsCode, Scope::Project, VSCODE_BEFORE);
    let plan = plan_install(
        &npm_secret(),
        Host::VsCode,
        Scope::Project,
        &m.env,
        &InstallOptions::default(),
        &m.records,
    )
    .unwrap();
    // Dry run: a diff and the new text, nothing written.
    let shown = path.display();
    assert_eq!(
        plan.diff(),
        format!(
            "--- {shown}\n+++ {shown}\n@@ -3,9 +3,24 @@\n \t/* shared inputs */\n \t\"inputs\": [\n \t\t{{ \"type\": \"promptString\", \"id\": \"gh\", \"password\": true }}, // GitHub\n+\t\t{{\n+\t\t\t\"type\": \"promptString\",\n+\t\t\t\"id\": \"weather-TOKEN\",\n+\t\t\t\"description\": \"API token\",\n+\t\t\t\"password\": true\n+\t\t}},\n \t],\n \t\"servers\": {{\n \t\t// my own server, hands off\n \t\t\"mine\": {{ \"command\": \"node\", \"args\": [\"srv.js\"], }},\n+\t\t\"weather\": {{\n+\t\t\t\"type\": \"stdio\",\n+\t\t\t\"command\": \"npx\",\n+\t\t\t\"args\": [\"-y\", \"@acme/weather@1.2.3\"],\n+\t\t\t\"env\": {{\n+\t\t\t\t\"TOKEN\": \"${{input:weather-TOKEN}}\",\n+\t\t\t\t\"MODE\": \"fast\"\n+\t\t\t}}\n+\t\t}},\n \t}},\n }}\n"
        )
    );
    assert_eq!(plan.new_text(), VSCODE_AFTER);
    assert_eq!(fs::read_to_string(&path).unwrap(), VSCODE_BEFORE);
    let applied = plan.apply(&m.records).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), VSCODE_AFTER);
    let backup = applied.backup.unwrap();
    assert_eq!(fs::read_to_string(&backup).unwrap(), VSCODE_BEFORE);
    let entries = dir_entries(&path);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(
        entries[1].starts_with("mcp.json.mcp-reg-") && entries[1].ends_with("Z.bak"),
        "{entries:?}"
    );
    assert_eq!(atomic::backups(&path), std::slice::from_ref(&backup));
    // Installing again is a no-op.
    let again = plan_install(
        &npm_secret(),
        Host::VsCode,
        Scope::Project,
        &m.env,
        &InstallOptions::default(),
        &m.records,
    )
    .unwrap();
    assert!(!again.changes_file());
    // Uninstall gives back the original bytes: our input and entry go, the user's stay.
    assert_eq!(
        m.uninstall(Host::VsCode, Scope::Project, "weather", false)
            .unwrap(),
        VSCODE_BEFORE
    );
    assert!(
        registry_cli::install::installed(&m.records, None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn trailing_commas_and_comments_in_strict_json_hosts_survive() {
    let m = Machine::linux();
    let before = "{\n  \"globalShortcut\": \"Ctrl+Space\", // keep me\n  \"mcpServers\": {\n    \"mine\": {\"command\": \"x\"},\n  },\n}\n";
    let path = m.write(Host::ClaudeDesktop, Scope::User, before);
    let text = m
        .install(
            &npm_plain(),
            Host::ClaudeDesktop,
            Scope::User,
            &InstallOptions::default(),
        )
        .unwrap();
    assert_eq!(
        text,
        "{\n  \"globalShortcut\": \"Ctrl+Space\", // keep me\n  \"mcpServers\": {\n    \"mine\": {\"command\": \"x\"},\n    \"weather\": {\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"@acme/weather@1.2.3\"],\n      \"env\": {\n        \"MODE\": \"fast\"\n      }\n    },\n  },\n}\n"
    );
    assert_eq!(
        fs::read_to_string(&atomic::backups(&path)[0]).unwrap(),
        before
    );
    assert_eq!(
        m.uninstall(Host::ClaudeDesktop, Scope::User, "weather", false)
            .unwrap(),
        before
    );
}

#[test]
fn codex_toml_keeps_comments_and_forwards_secrets() {
    let m = Machine::linux();
    let before = "# Codex config\nmodel = \"o3\" # fast\n\n[mcp_servers.mine] # mine\ncommand = \"node\"\nargs = [\"srv.js\"]\n";
    m.write(Host::Codex, Scope::User, before);
    let text = m
        .install(
            &npm_secret(),
            Host::Codex,
            Scope::User,
            &InstallOptions::default(),
        )
        .unwrap();
    assert_eq!(
        text,
        format!(
            "{before}\n[mcp_servers.weather]\ncommand = \"npx\"\nargs = [\"-y\", \"@acme/weather@1.2.3\"]\nenv = {{ MODE = \"fast\" }}\nenv_vars = [\"TOKEN\"]\n"
        )
    );
    let text = m
        .install(
            &remote_only(),
            Host::Codex,
            Scope::User,
            &InstallOptions {
                entry_name: Some("acme-remote".into()),
                ..InstallOptions::default()
            },
        )
        .unwrap();
    assert!(text.ends_with("[mcp_servers.acme-remote]\nurl = \"https://mcp.acme.dev/mcp\"\nbearer_token_env_var = \"TOKEN\"\n"), "{text}");
    m.uninstall(Host::Codex, Scope::User, "acme-remote", false)
        .unwrap();
    assert_eq!(
        m.uninstall(Host::Codex, Scope::User, "weather", false)
            .unwrap(),
        before
    );
    // Names Codex would reject are refused up front.
    let err = m
        .install(
            &npm_plain(),
            Host::Codex,
            Scope::User,
            &InstallOptions {
                entry_name: Some("a.b".into()),
                ..InstallOptions::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, InstallError::InvalidName { .. }), "{err}");
}

#[test]
fn secrets_use_each_hosts_indirection_or_need_consent() {
    let m = Machine::linux();
    let opts = InstallOptions::default();
    let text = m
        .install(&npm_secret(), Host::Cursor, Scope::User, &opts)
        .unwrap();
    assert!(text.contains("\"TOKEN\": \"${env:TOKEN}\""), "{text}");
    let text = m
        .install(&npm_secret(), Host::ClaudeCode, Scope::Project, &opts)
        .unwrap();
    assert!(text.contains("\"TOKEN\": \"${TOKEN}\""), "{text}");
    let text = m
        .install(&remote_only(), Host::Windsurf, Scope::User, &opts)
        .unwrap();
    assert!(
        text.contains("\"serverUrl\": \"https://mcp.acme.dev/mcp\""),
        "{text}"
    );
    assert!(
        text.contains("\"Authorization\": \"Bearer ${env:TOKEN}\""),
        "{text}"
    );
    let text = m
        .install(&remote_only(), Host::VsCode, Scope::User, &opts)
        .unwrap();
    assert!(
        text.contains("\"Authorization\": \"Bearer ${input:weather-token}\""),
        "{text}"
    );
    assert!(text.contains("\"type\": \"http\""), "{text}");

    // Claude Desktop has no indirection: refuse, then write only with consent and a value.
    let path = m.path(Host::ClaudeDesktop, Scope::User);
    let err = m
        .install(&npm_secret(), Host::ClaudeDesktop, Scope::User, &opts)
        .unwrap_err();
    assert!(
        matches!(err, InstallError::SecretNeedsConsent { .. }),
        "{err}"
    );
    assert!(!path.exists());
    let consent = InstallOptions {
        allow_plaintext_secrets: true,
        ..InstallOptions::default()
    };
    let err = m
        .install(&npm_secret(), Host::ClaudeDesktop, Scope::User, &consent)
        .unwrap_err();
    assert!(
        matches!(err, InstallError::MissingInput { ref key, .. } if key == "TOKEN"),
        "{err}"
    );
    let with_value = InstallOptions {
        values: Values::from([("TOKEN".to_owned(), "s3cr3t".to_owned())]),
        ..consent
    };
    let plan = plan_install(
        &npm_secret(),
        Host::ClaudeDesktop,
        Scope::User,
        &m.env,
        &with_value,
        &m.records,
    )
    .unwrap();
    assert_eq!(plan.plaintext_secrets, ["TOKEN"]);
    plan.apply(&m.records).unwrap();
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .contains("\"TOKEN\": \"s3cr3t\"")
    );
    // A remote cannot go into Claude Desktop's file.
    let err = m
        .install(&remote_only(), Host::ClaudeDesktop, Scope::User, &opts)
        .unwrap_err();
    assert!(matches!(err, InstallError::Unsupported(_)), "{err}");
}

#[test]
fn foreign_and_modified_entries_are_left_alone_without_force() {
    let m = Machine::linux();
    let before = "{\n  \"mcpServers\": {\n    \"weather\": { \"command\": \"my-own\" }\n  }\n}\n";
    let path = m.write(Host::Cursor, Scope::User, before);
    let opts = InstallOptions::default();
    let err = m
        .install(&npm_plain(), Host::Cursor, Scope::User, &opts)
        .unwrap_err();
    assert!(matches!(err, InstallError::Foreign { .. }), "{err}");
    assert!(err.to_string().contains("was not added by mcp-reg"));
    let err = m
        .uninstall(Host::Cursor, Scope::User, "weather", false)
        .unwrap_err();
    assert!(matches!(err, InstallError::Foreign { .. }), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    assert_eq!(dir_entries(&path), ["mcp.json"]);

    // --force replaces it; from then on it is ours.
    let forced = InstallOptions {
        force: true,
        ..InstallOptions::default()
    };
    let text = m
        .install(&npm_plain(), Host::Cursor, Scope::User, &forced)
        .unwrap();
    assert!(text.contains("\"command\": \"npx\""));
    // The user edits our entry: it is theirs now.
    fs::write(&path, text.replace("fast", "slow")).unwrap();
    let err = m
        .install(&npm_plain(), Host::Cursor, Scope::User, &opts)
        .unwrap_err();
    assert!(matches!(err, InstallError::Modified { .. }), "{err}");
    let err = m
        .uninstall(Host::Cursor, Scope::User, "weather", false)
        .unwrap_err();
    assert!(matches!(err, InstallError::Modified { .. }), "{err}");
    let err = m
        .uninstall(Host::Cursor, Scope::User, "nothing", false)
        .unwrap_err();
    assert!(matches!(err, InstallError::NotFound { .. }), "{err}");
}

#[test]
fn unparsable_config_is_reported_and_untouched() {
    let m = Machine::linux();
    let before = "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\"}\n    \"b\": 1\n  }\n}\n";
    let path = m.write(Host::ClaudeCode, Scope::Project, before);
    let err = m
        .install(
            &npm_plain(),
            Host::ClaudeCode,
            Scope::Project,
            &InstallOptions::default(),
        )
        .unwrap_err();
    let InstallError::Parse { line, column, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!((*line, *column), (4, 5));
    assert!(
        err.to_string().contains(".mcp.json: line 4, column 5"),
        "{err}"
    );
    assert!(err.to_string().contains("left untouched"));
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    assert_eq!(dir_entries(&path), [".mcp.json"]);

    let toml_path = m.write(Host::Codex, Scope::User, "model = \n");
    let err = m
        .install(
            &npm_plain(),
            Host::Codex,
            Scope::User,
            &InstallOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, InstallError::Parse { line: 1, .. }), "{err}");
    assert_eq!(fs::read_to_string(&toml_path).unwrap(), "model = \n");

    // The root key holding something else is an error too, not a reason to start over.
    let wrong = m.write(Host::Cursor, Scope::User, "{\"mcpServers\": []}");
    let err = m
        .install(
            &npm_plain(),
            Host::Cursor,
            Scope::User,
            &InstallOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, InstallError::InvalidConfig { .. }), "{err}");
    assert_eq!(fs::read_to_string(&wrong).unwrap(), "{\"mcpServers\": []}");
}

#[test]
fn a_file_changed_after_planning_is_not_overwritten() {
    let m = Machine::linux();
    let path = m.write(Host::Cursor, Scope::User, "{}");
    let plan = plan_install(
        &npm_plain(),
        Host::Cursor,
        Scope::User,
        &m.env,
        &InstallOptions::default(),
        &m.records,
    )
    .unwrap();
    fs::write(&path, "{\"other\": 1}").unwrap();
    let err = plan.apply(&m.records).unwrap_err();
    assert!(
        matches!(err, InstallError::ConcurrentModification { .. }),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"other\": 1}");
}

#[cfg(unix)]
#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let m = Machine::linux();
    let path = m.write(Host::ClaudeCode, Scope::User, "{\"numStartups\": 3}\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let text = m
        .install(
            &npm_plain(),
            Host::ClaudeCode,
            Scope::User,
            &InstallOptions::default(),
        )
        .unwrap();
    assert!(text.starts_with("{\"numStartups\": 3,"), "{text}");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn windows_wraps_shims_in_cmd() {
    let m = Machine::new(Platform::Windows);
    let text = m
        .install(
            &npm_plain(),
            Host::ClaudeDesktop,
            Scope::User,
            &InstallOptions::default(),
        )
        .unwrap();
    assert!(text.contains("\"command\": \"cmd\",\n      \"args\": [\"/c\", \"npx\", \"-y\", \"@acme/weather@1.2.3\"]"), "{text}");
    assert!(
        m.path(Host::ClaudeDesktop, Scope::User)
            .ends_with("AppData/Roaming/Claude/claude_desktop_config.json")
    );
}

#[test]
fn print_mode_snippets() {
    let opts = InstallOptions::default();
    assert_eq!(
        snippet(&npm_plain(), Host::ClaudeDesktop, Platform::Linux, &opts).unwrap(),
        CLAUDE_DESKTOP_NEW
    );
    let vscode = snippet(&npm_secret(), Host::VsCode, Platform::Linux, &opts).unwrap();
    let value: Value = serde_json::from_str(&vscode).unwrap();
    assert_eq!(value["inputs"][0]["id"], "weather-TOKEN");
    assert_eq!(
        value["servers"]["weather"]["env"]["TOKEN"],
        "${input:weather-TOKEN}"
    );
    let codex = snippet(&remote_only(), Host::Codex, Platform::Linux, &opts).unwrap();
    assert_eq!(
        codex,
        "[mcp_servers.weather]\nurl = \"https://mcp.acme.dev/mcp\"\nbearer_token_env_var = \"TOKEN\"\n"
    );
}

#[test]
fn registry_types_map_to_pinned_command_lines() {
    let s = server(&json!({"packages": [
        {"registryType": "npm", "identifier": "@a/b", "version": "1.0.0", "transport": {"type": "stdio"}},
        {"registryType": "pypi", "identifier": "b-mcp", "version": "0.2.0", "transport": {"type": "stdio"}},
        {"registryType": "oci", "identifier": "docker.io/a/b:1.0.2", "transport": {"type": "stdio"}},
        {"registryType": "nuget", "identifier": "A.B", "version": "3.0.0", "transport": {"type": "stdio"}},
        {"registryType": "mcpb", "identifier": "https://x/b.mcpb", "fileSha256": "ab", "transport": {"type": "stdio"}}
    ], "remotes": [{"type": "sse", "url": "https://a/sse"}]}));
    let line = |index| {
        let r =
            launch::resolve(&s, Choice::Package(index), &Values::new(), Platform::Linux).unwrap();
        let e = render::entry(Host::Cursor, &r.spec, "b", false).unwrap();
        format!(
            "{} {}",
            e.value["command"].as_str().unwrap(),
            e.value["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    assert_eq!(line(0), "npx -y @a/b@1.0.0");
    assert_eq!(line(1), "uvx b-mcp==0.2.0");
    assert_eq!(line(2), "docker run -i --rm docker.io/a/b:1.0.2");
    assert_eq!(line(3), "dnx A.B@3.0.0 --yes");
    let err = launch::resolve(&s, Choice::Package(4), &Values::new(), Platform::Linux).unwrap_err();
    assert!(err.to_string().contains("mcpb"), "{err}");
    let r = launch::resolve(&s, Choice::Remote(0), &Values::new(), Platform::Linux).unwrap();
    let e = render::entry(Host::ClaudeCode, &r.spec, "b", false).unwrap();
    assert_eq!(e.value, json!({"type": "sse", "url": "https://a/sse"}));
}

#[test]
fn corpus_maps_or_says_unsupported() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/corpus/servers-2025-12-11.json");
    let Ok(bytes) = fs::read(&path) else {
        eprintln!("corpus not found at {}; skipped", path.display());
        return;
    };
    let servers: Vec<ServerJson> = serde_json::from_slice(&bytes).unwrap();
    assert!(servers.len() > 400);
    let (mut ok, mut unsupported, mut missing) = (0, 0, 0);
    for server in &servers {
        let mut choices: Vec<Choice> = (0..server.packages().len()).map(Choice::Package).collect();
        choices.extend((0..server.remotes().len()).map(Choice::Remote));
        choices.push(Choice::Auto);
        for choice in choices {
            let result = launch::select(server, choice, Support::ALL).and_then(|source| {
                launch::resolve(server, source, &Values::new(), Platform::Windows)
            });
            match result {
                Ok(resolved) => {
                    ok += 1;
                    for host in Host::ALL {
                        match render::entry(host, &resolved.spec, "x", false) {
                            Ok(_)
                            | Err(
                                InstallError::Unsupported(_)
                                | InstallError::SecretNeedsConsent { .. },
                            ) => {}
                            Err(other) => panic!("{}: {host:?}: {other}", server.name),
                        }
                    }
                }
                Err(InstallError::Unsupported(message)) => {
                    assert!(!message.is_empty());
                    unsupported += 1;
                }
                Err(InstallError::MissingInput { key, .. }) => {
                    assert!(!key.is_empty());
                    missing += 1;
                }
                Err(other) => panic!("{}: unexpected error {other}", server.name),
            }
        }
    }
    assert!(
        ok > 100,
        "{ok} ok, {unsupported} unsupported, {missing} missing"
    );
    assert!(
        unsupported > 300,
        "{ok} ok, {unsupported} unsupported, {missing} missing"
    );
}

#[test]
fn uninstall_of_an_entry_the_user_already_removed_only_forgets_it() {
    let m = Machine::linux();
    let opts = InstallOptions::default();
    let text = m
        .install(&npm_plain(), Host::Cursor, Scope::User, &opts)
        .unwrap();
    assert!(text.contains("\"weather\""));
    let path = m.write(Host::Cursor, Scope::User, "{\"mcpServers\": {}}\n");
    let plan = plan_uninstall(
        Host::Cursor,
        Scope::User,
        &m.env,
        "weather",
        false,
        &m.records,
    )
    .unwrap();
    assert!(!plan.changes_file());
    assert_eq!(plan.diff(), "");
    let applied = plan.apply(&m.records).unwrap();
    assert!(!applied.changed);
    assert_eq!(applied.backup, None);
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"mcpServers\": {}}\n");
    assert!(
        registry_cli::install::installed(&m.records, Some(Host::Cursor))
            .unwrap()
            .is_empty()
    );
}

/// GitHub Copilot CLI writes what its own `copilot mcp add` writes (checked against `@github/copilot`
/// 1.0.102: `type: local`, `${VAR}` references, `http` remotes with headers), honours `COPILOT_HOME`,
/// and tells the user about the folder-trust step of its project file; Kilo Code gets `${env:NAME}`.
#[test]
fn copilot_cli_and_kilo_code() {
    let m = Machine::linux();
    let opts = InstallOptions::default();
    let user = m.path(Host::CopilotCli, Scope::User);
    assert!(
        user.ends_with(".copilot/mcp-config.json"),
        "{}",
        user.display()
    );
    let text = m
        .install(&npm_secret(), Host::CopilotCli, Scope::User, &opts)
        .unwrap();
    let entry = read_entry(Host::CopilotCli, &text, "weather").unwrap();
    assert_eq!(
        entry,
        json!({"type": "local", "command": "npx", "args": ["-y", "@acme/weather@1.2.3"],
               "env": {"TOKEN": "${TOKEN}", "MODE": "fast"}})
    );
    let text = m
        .install(&remote_only(), Host::CopilotCli, Scope::Project, &opts)
        .unwrap();
    assert!(
        m.path(Host::CopilotCli, Scope::Project)
            .ends_with("project/.github/mcp.json")
    );
    let entry = read_entry(Host::CopilotCli, &text, "weather").unwrap();
    assert_eq!(entry["type"], "http");
    assert_eq!(entry["url"], "https://mcp.acme.dev/mcp");
    assert_eq!(entry["headers"]["Authorization"], "Bearer ${TOKEN}");
    assert!(
        Host::CopilotCli
            .notes(Scope::Project)
            .iter()
            .any(|note| note.contains("trusted folder")),
        "the trust step is explained"
    );
    let moved = HostEnv {
        copilot_home: Some(PathBuf::from("/elsewhere/copilot")),
        ..m.env.clone()
    };
    assert_eq!(
        Host::CopilotCli.config_path(Scope::User, &moved).unwrap(),
        PathBuf::from("/elsewhere/copilot/mcp-config.json")
    );

    let kilo = m
        .install(&npm_secret(), Host::KiloCode, Scope::User, &opts)
        .unwrap();
    assert!(
        m.path(Host::KiloCode, Scope::User)
            .ends_with("Code/User/globalStorage/kilocode.kilo-code/settings/mcp_settings.json")
    );
    let entry = read_entry(Host::KiloCode, &kilo, "weather").unwrap();
    assert_eq!(entry["env"]["TOKEN"], "${env:TOKEN}");
    let kilo = m
        .install(&remote_only(), Host::KiloCode, Scope::Project, &opts)
        .unwrap();
    assert!(
        m.path(Host::KiloCode, Scope::Project)
            .ends_with("project/.kilocode/mcp.json")
    );
    let entry = read_entry(Host::KiloCode, &kilo, "weather").unwrap();
    assert_eq!(entry["type"], "streamable-http");

    for host in [Host::Codex, Host::Gemini] {
        assert!(
            host.notes(Scope::Project)
                .iter()
                .any(|note| note.contains("trust")),
            "{host:?}: the trust step is explained"
        );
    }
    assert!(
        Host::Continue
            .notes(Scope::Project)
            .iter()
            .any(|note| note.contains("--scope user")),
        "Continue's CLI does not read project blocks: say so"
    );
}
