#![allow(clippy::unwrap_used)]
//! Golden files per host, all under a temporary HOME: a fresh file, a file with other servers and
//! comments (install, update, uninstall back to the original bytes), an unparsable file (refused,
//! untouched), plus byte-for-byte goldens for the YAML hosts and opencode, and host detection.

use std::fs;
use std::path::{Path, PathBuf};

use registry_cli::install::{
    Format, Host, HostEnv, InstallError, InstallOptions, Layout, Platform, RecordStore, Scope,
    atomic, install, installed, jsonc, plan_install, toml, uninstall, yaml,
};
use registry_schema::ServerJson;
use serde_json::{Value, json};

struct Machine {
    dir: tempfile::TempDir,
    env: HostEnv,
    records: RecordStore,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let project = dir.path().join("project");
        fs::create_dir_all(&home).unwrap();
        fs::create_dir_all(&project).unwrap();
        let env = HostEnv::new(Platform::Linux, home).with_project(project);
        let records = RecordStore::new(dir.path().join("data"));
        Self { dir, env, records }
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
    ) -> Result<String, InstallError> {
        let opts = InstallOptions {
            digest: Some("sha256:manifest".into()),
            surface_digest: Some("sha256:tools".into()),
            ..InstallOptions::default()
        };
        let (plan, _) = install(server, host, scope, &self.env, &opts, &self.records)?;
        Ok(fs::read_to_string(&plan.path).unwrap())
    }

    fn uninstall(&self, host: Host, scope: Scope) -> String {
        let (plan, _) = uninstall(host, scope, &self.env, "weather", false, &self.records).unwrap();
        fs::read_to_string(&plan.path).unwrap_or_default()
    }
}

fn server(version: &str) -> ServerJson {
    serde_json::from_value(json!({
        "name": "io.github.acme/weather", "description": "Weather", "version": version,
        "packages": [{
            "registryType": "npm", "identifier": "@acme/weather", "version": version,
            "transport": {"type": "stdio"},
            "environmentVariables": [{"name": "MODE", "default": "fast"}]
        }]
    }))
    .unwrap()
}

fn read_entry(host: Host, text: &str, name: &str) -> Option<Value> {
    let profile = host.profile();
    match profile.format {
        Format::Toml => toml::get(&toml::parse(text).unwrap(), profile.root[0], name).unwrap(),
        Format::Yaml => yaml::get(text, profile.root[0], profile.layout, name).unwrap(),
        Format::Json | Format::Jsonc => {
            let mut path = profile.root.to_vec();
            path.push(name);
            jsonc::Document::parse(text).unwrap().value_at(&path)
        }
    }
}

/// A hand-written file in `host`'s format with another server and comments.
fn before(host: Host) -> String {
    let profile = host.profile();
    match profile.format {
        Format::Json | Format::Jsonc => format!(
            "// my settings\n{{\n  \"theme\": \"dark\", // keep me\n  \"{}\": {{\n    /* mine */\n    \"mine\": {{ \"command\": \"node\", \"args\": [\"srv.js\"] }}\n  }}\n}}\n",
            profile.root[0]
        ),
        Format::Toml => {
            "# codex\nmodel = \"o3\" # keep me\n\n[mcp_servers.mine] # mine\ncommand = \"node\"\n"
                .to_owned()
        }
        Format::Yaml if matches!(profile.layout, Layout::List { .. }) => CONTINUE_BEFORE.to_owned(),
        Format::Yaml => GOOSE_BEFORE.to_owned(),
    }
}

fn broken(host: Host) -> &'static str {
    let profile = host.profile();
    match profile.format {
        Format::Json | Format::Jsonc => "{\n  \"x\": {\n    \"a\": 1\n    \"b\": 2\n  }\n}\n",
        Format::Toml => "model = \n",
        Format::Yaml if matches!(profile.layout, Layout::List { .. }) => {
            "mcpServers:\n  - name: a\n    args: [x, y\n"
        }
        Format::Yaml => "extensions:\n  mine:\n    args: [x, y\n",
    }
}

fn dir_names(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_host_keeps_other_servers_and_comments_through_install_update_uninstall() {
    let m = Machine::new();
    for host in Host::ALL {
        for &scope in host.scopes() {
            if host == Host::VsCodeInsiders && scope == Scope::Project {
                continue; // the same file as VS Code's
            }
            let text = before(host);
            let path = m.write(host, scope, &text);
            let mine = read_entry(host, &text, "mine").unwrap();
            let v1 = m.install(&server("1.2.3"), host, scope).unwrap();
            assert_eq!(read_entry(host, &v1, "mine").unwrap(), mine, "{host:?}");
            let entry = read_entry(host, &v1, "weather").unwrap();
            assert!(
                entry.to_string().contains("@acme/weather@1.2.3"),
                "{host:?} {entry}"
            );
            for line in text.lines().filter(|l| l.contains('#') || l.contains("//")) {
                assert!(v1.contains(line), "{host:?} {scope:?} lost {line:?}:\n{v1}");
            }
            // An update changes only our entry, in place.
            let v2 = m.install(&server("1.3.0"), host, scope).unwrap();
            assert_eq!(v2, v1.replace("1.2.3", "1.3.0"), "{host:?} {scope:?}");
            // Uninstall gives back the original bytes.
            assert_eq!(m.uninstall(host, scope), text, "{host:?} {scope:?}");
            let backups = atomic::backups(&path);
            assert_eq!(backups.len(), 3, "{host:?} {scope:?}");
            assert_eq!(fs::read_to_string(&backups[0]).unwrap(), text);
            assert_eq!(fs::read_to_string(&backups[2]).unwrap(), v2);
        }
    }
    // The record pins both digests while installed.
    let m = Machine::new();
    m.install(&server("1.2.3"), Host::Goose, Scope::User)
        .unwrap();
    let records = installed(&m.records, Some(Host::Goose)).unwrap();
    assert_eq!(records[0].digest.as_deref(), Some("sha256:manifest"));
    assert_eq!(records[0].surface_digest.as_deref(), Some("sha256:tools"));
    let raw = fs::read_to_string(m.dir.path().join("data/installed.json")).unwrap();
    assert!(
        raw.contains("\"surface_digest\": \"sha256:tools\""),
        "{raw}"
    );
}

#[test]
fn every_host_refuses_an_unparsable_file_and_leaves_it_untouched() {
    let m = Machine::new();
    for host in Host::ALL {
        for &scope in host.scopes() {
            let path = m.write(host, scope, broken(host));
            let names = dir_names(&path);
            let err = m.install(&server("1.2.3"), host, scope).unwrap_err();
            assert!(
                matches!(err, InstallError::Parse { .. }),
                "{host:?} {scope:?}: {err}"
            );
            assert!(err.to_string().contains("left untouched"), "{err}");
            assert_eq!(fs::read_to_string(&path).unwrap(), broken(host));
            assert_eq!(dir_names(&path), names, "{host:?}");
            fs::remove_file(&path).unwrap();
        }
    }
}

const CONTINUE_BEFORE: &str = "# Continue config\nname: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels: [] # none yet\nmcpServers:\n  # my own server\n  - name: mine\n    command: node\n    args: [\"srv.js\"] # flow kept\n\ncontext:\n  - provider: code\n";

const CONTINUE_AFTER: &str = "# Continue config\nname: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels: [] # none yet\nmcpServers:\n  # my own server\n  - name: mine\n    command: node\n    args: [\"srv.js\"] # flow kept\n  - name: \"weather\"\n    type: \"stdio\"\n    command: \"npx\"\n    args:\n      - \"-y\"\n      - \"@acme/weather@1.2.3\"\n    env:\n      MODE: \"fast\"\n\ncontext:\n  - provider: code\n";

const CONTINUE_FRESH_PROJECT: &str = "name: mcp-reg servers\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: \"weather\"\n    type: \"stdio\"\n    command: \"npx\"\n    args:\n      - \"-y\"\n      - \"@acme/weather@1.2.3\"\n    env:\n      MODE: \"fast\"\n";

const GOOSE_BEFORE: &str = "# goose\nGOOSE_PROVIDER: openai\nextensions:\n  developer:\n    bundled: true\n    enabled: true # built-in\n    name: developer\n    type: builtin\n  mine:\n    cmd: node\n    args: [srv.js]\nGOOSE_MODEL: gpt-4o # keep\n";

const GOOSE_AFTER: &str = "# goose\nGOOSE_PROVIDER: openai\nextensions:\n  developer:\n    bundled: true\n    enabled: true # built-in\n    name: developer\n    type: builtin\n  mine:\n    cmd: node\n    args: [srv.js]\n  weather:\n    name: \"weather\"\n    type: \"stdio\"\n    cmd: \"npx\"\n    args:\n      - \"-y\"\n      - \"@acme/weather@1.2.3\"\n    envs:\n      MODE: \"fast\"\n    enabled: true\n    timeout: 300\nGOOSE_MODEL: gpt-4o # keep\n";

#[test]
fn continue_and_goose_yaml_goldens() {
    let m = Machine::new();
    m.write(Host::Continue, Scope::User, CONTINUE_BEFORE);
    let after = m
        .install(&server("1.2.3"), Host::Continue, Scope::User)
        .unwrap();
    assert_eq!(after, CONTINUE_AFTER);
    assert_eq!(m.uninstall(Host::Continue, Scope::User), CONTINUE_BEFORE);

    let fresh = m
        .install(&server("1.2.3"), Host::Continue, Scope::Project)
        .unwrap();
    assert_eq!(fresh, CONTINUE_FRESH_PROJECT);
    assert_eq!(
        m.uninstall(Host::Continue, Scope::Project),
        "name: mcp-reg servers\nversion: 0.0.1\nschema: v1\n"
    );

    m.write(Host::Goose, Scope::User, GOOSE_BEFORE);
    let after = m
        .install(&server("1.2.3"), Host::Goose, Scope::User)
        .unwrap();
    assert_eq!(after, GOOSE_AFTER);
    assert_eq!(m.uninstall(Host::Goose, Scope::User), GOOSE_BEFORE);

    // Flow style at the key is refused with its line, not rewritten.
    let flow = "extensions: {developer: {enabled: true}}\n";
    m.write(Host::Goose, Scope::User, flow);
    let err = m
        .install(&server("1.2.3"), Host::Goose, Scope::User)
        .unwrap_err();
    assert!(matches!(err, InstallError::Parse { line: 1, .. }), "{err}");
    assert!(err.to_string().contains("flow style"), "{err}");
}

#[test]
fn continue_secrets_and_remote_shape() {
    let m = Machine::new();
    let secret: ServerJson = serde_json::from_value(json!({
        "name": "io.github.acme/weather", "description": "W", "version": "1.0.0",
        "packages": [{"registryType": "npm", "identifier": "w", "version": "1.0.0",
            "transport": {"type": "stdio"},
            "environmentVariables": [{"name": "TOKEN", "isSecret": true, "isRequired": true}]}],
    }))
    .unwrap();
    let text = m.install(&secret, Host::Continue, Scope::User).unwrap();
    assert!(text.contains("TOKEN: \"${{ secrets.TOKEN }}\""), "{text}");
    let text = m.install(&secret, Host::Opencode, Scope::User).unwrap();
    assert!(text.contains("\"TOKEN\": \"{env:TOKEN}\""), "{text}");
    let remote: ServerJson = serde_json::from_value(json!({
        "name": "io.github.acme/remote", "description": "R", "version": "1.0.0",
        "remotes": [{"type": "streamable-http", "url": "https://x/mcp"}]
    }))
    .unwrap();
    let text = m.install(&remote, Host::Continue, Scope::User).unwrap();
    assert!(
        text.ends_with(
            "  - name: \"remote\"\n    type: \"streamable-http\"\n    url: \"https://x/mcp\"\n"
        ),
        "{text}"
    );
    let text = m.install(&remote, Host::Goose, Scope::User).unwrap();
    assert!(
        text.contains("    type: \"streamable_http\"\n    uri: \"https://x/mcp\"\n"),
        "{text}"
    );
    // JetBrains (Junie) takes stdio only.
    let err = m
        .install(&remote, Host::JetBrains, Scope::User)
        .unwrap_err();
    assert!(matches!(err, InstallError::Unsupported(_)), "{err}");
}

const OPENCODE_V1_BEFORE: &str = "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  // MCP servers\n  \"mcp\": {\n    \"mine\": { \"type\": \"local\", \"command\": [\"node\", \"srv.js\"] },\n  },\n}\n";

const OPENCODE_V1_AFTER: &str = "{\n  \"$schema\": \"https://opencode.ai/config.json\",\n  // MCP servers\n  \"mcp\": {\n    \"mine\": { \"type\": \"local\", \"command\": [\"node\", \"srv.js\"] },\n    \"weather\": {\n      \"type\": \"local\",\n      \"command\": [\"npx\", \"-y\", \"@acme/weather@1.2.3\"],\n      \"environment\": {\n        \"MODE\": \"fast\"\n      },\n      \"enabled\": true\n    },\n  },\n}\n";

const OPENCODE_V2_BEFORE: &str = "{\n  \"mcp\": {\n    \"servers\": {\n      \"mine\": { \"type\": \"remote\", \"url\": \"https://m/mcp\" }\n    }\n  }\n}\n";

const OPENCODE_V2_AFTER: &str = "{\n  \"mcp\": {\n    \"servers\": {\n      \"mine\": { \"type\": \"remote\", \"url\": \"https://m/mcp\" },\n      \"weather\": {\n        \"type\": \"local\",\n        \"command\": [\"npx\", \"-y\", \"@acme/weather@1.2.3\"],\n        \"environment\": {\n          \"MODE\": \"fast\"\n        }\n      }\n    }\n  }\n}\n";

#[test]
fn opencode_v1_and_v2_goldens() {
    let m = Machine::new();
    m.write(Host::Opencode, Scope::Project, OPENCODE_V1_BEFORE);
    let after = m
        .install(&server("1.2.3"), Host::Opencode, Scope::Project)
        .unwrap();
    assert_eq!(after, OPENCODE_V1_AFTER);
    assert_eq!(
        m.uninstall(Host::Opencode, Scope::Project),
        OPENCODE_V1_BEFORE
    );

    m.write(Host::Opencode, Scope::User, OPENCODE_V2_BEFORE);
    let after = m
        .install(&server("1.2.3"), Host::Opencode, Scope::User)
        .unwrap();
    assert_eq!(after, OPENCODE_V2_AFTER);
    assert_eq!(m.uninstall(Host::Opencode, Scope::User), OPENCODE_V2_BEFORE);

    // An existing `.jsonc` wins over the default `.json`.
    let jsonc = m.env.home.join(".config/opencode/opencode.jsonc");
    fs::write(&jsonc, "{}\n").unwrap();
    let plan = plan_install(
        &server("1.2.3"),
        Host::Opencode,
        Scope::User,
        &m.env,
        &InstallOptions::default(),
        &m.records,
    )
    .unwrap();
    assert_eq!(plan.path, jsonc);
}

#[test]
fn detection_follows_config_files_and_directories() {
    let m = Machine::new();
    assert_eq!(Host::detect(&m.env), []);
    let home = &m.env.home;
    fs::create_dir_all(home.join(".cursor")).unwrap();
    fs::create_dir_all(home.join(".continue")).unwrap();
    fs::create_dir_all(home.join(".config/goose")).unwrap();
    fs::write(home.join(".claude.json"), "{}").unwrap();
    fs::create_dir_all(home.join(".config/Code/User")).unwrap();
    assert_eq!(
        Host::detect(&m.env),
        [
            Host::ClaudeCode,
            Host::Cursor,
            Host::VsCode,
            Host::Continue,
            Host::Goose
        ]
    );
    // XDG_CONFIG_HOME moves the XDG hosts.
    let mut env = m.env.clone();
    env.xdg_config_home = Some(m.dir.path().join("xdg"));
    fs::create_dir_all(m.dir.path().join("xdg/zed")).unwrap();
    assert_eq!(
        Host::detect(&env),
        [Host::ClaudeCode, Host::Cursor, Host::Continue, Host::Zed]
    );
}
