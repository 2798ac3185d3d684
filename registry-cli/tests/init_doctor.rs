#![allow(clippy::unwrap_used)]
//! `init`, `doctor`, `upgrade`, `validate` against a registry, and `publish` probing by default: the
//! real `mcp-reg` binary in temp dirs, the real registry in-process on a loopback port, the fixture
//! MCP server behind a fake `npx`. Nothing reaches the internet.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use registry_schema::Policy;
use registry_schema::validate::validate_value;
use serde_json::{Value, json};

use common::{Registry, User, login, ok, script, text, write_json};

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/conformance/real-tools/server-memory@2026.7.4.json"
);
const NAME: &str = "io.github.acme/memory";

fn fails(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("hint: "), "{stderr}");
    stderr
}

/// `mcp-reg init ARGS` run in `dir`.
fn init(user: &User, dir: &Path, args: &[&str]) -> Output {
    user.cmd("http://127.0.0.1:1")
        .current_dir(dir)
        .arg("init")
        .args(args)
        .output()
        .unwrap()
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn assert_valid(server: &Value) {
    let report = validate_value(server, &Policy::lenient());
    assert!(report.is_valid(), "{report:?}");
}

fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn init_from_package_json_takes_the_name_from_the_github_remote() {
    let user = User::new();
    let dir = user.path("weather");
    write_json(
        &dir.join("package.json"),
        &json!({
            "name": "@alice/weather-mcp",
            "version": "1.2.3",
            "description": "Weather forecasts for agents",
        }),
    );
    git(&dir, &["init", "-q"]);
    git(
        &dir,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/alice/weather.git",
        ],
    );
    let out = init(&user, &dir, &["--yes"]);
    ok(&out);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(r#"hint: package.json needs `"mcpName": "io.github.alice/weather"`"#),
        "{stderr}"
    );
    let server = read(&dir.join("server.json"));
    assert_eq!(
        server["$schema"],
        "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
    );
    assert_eq!(server["name"], "io.github.alice/weather");
    assert_eq!(server["description"], "Weather forecasts for agents");
    assert_eq!(server["version"], "1.2.3");
    assert_eq!(
        server["repository"],
        json!({ "url": "https://github.com/alice/weather", "source": "github" })
    );
    assert_eq!(
        server["packages"],
        json!([{
            "registryType": "npm",
            "identifier": "@alice/weather-mcp",
            "version": "1.2.3",
            "transport": { "type": "stdio" },
        }])
    );
    assert_valid(&server);
    // The CLI's own validate agrees (locally: no registry is configured).
    ok(&user
        .cmd("http://127.0.0.1:1")
        .env_remove("MCP_REG_REGISTRY")
        .current_dir(&dir)
        .args(["validate", "server.json"])
        .output()
        .unwrap());

    // An existing server.json is kept unless --force.
    std::fs::write(dir.join("server.json"), "{\"keep\": true}").unwrap();
    let stderr = fails(&init(&user, &dir, &["--yes"]));
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(read(&dir.join("server.json")), json!({ "keep": true }));
    ok(&init(&user, &dir, &["--yes", "--force"]));
    assert_eq!(
        read(&dir.join("server.json"))["name"],
        "io.github.alice/weather"
    );
}

#[test]
fn init_from_package_json_prefers_mcp_name() {
    let user = User::new();
    let dir = user.path("p");
    write_json(
        &dir.join("package.json"),
        &json!({
            "name": "weather-mcp",
            "version": "0.1.0",
            "description": "Weather",
            "mcpName": "io.github.bob/weather",
            "repository": { "type": "git", "url": "git+https://github.com/bob/weather.git" },
        }),
    );
    let out = init(&user, &dir, &["--yes"]);
    ok(&out);
    assert!(
        !text(&out.stderr).contains("mcpName"),
        "{}",
        text(&out.stderr)
    );
    let server = read(&dir.join("server.json"));
    assert_eq!(server["name"], "io.github.bob/weather");
    assert_eq!(
        server["repository"]["url"],
        "https://github.com/bob/weather"
    );
    assert_valid(&server);
}

#[test]
fn init_from_pyproject_needs_a_name_without_a_github_remote() {
    let user = User::new();
    let dir = user.path("py");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[project]\nname = \"weather-mcp\"\nversion = \"0.4.0\"\ndescription = \"Weather over MCP\"\n",
    )
    .unwrap();
    // Not a terminal and no --name: fail naming the flag, write nothing.
    let stderr = fails(&init(&user, &dir, &["--yes"]));
    assert!(stderr.contains("--name"), "{stderr}");
    assert!(!dir.join("server.json").exists());

    ok(&init(
        &user,
        &dir,
        &["--yes", "--name", "io.github.alice/weather-py"],
    ));
    let server = read(&dir.join("server.json"));
    assert_eq!(server["name"], "io.github.alice/weather-py");
    assert_eq!(server["version"], "0.4.0");
    assert_eq!(server["description"], "Weather over MCP");
    assert_eq!(
        server["packages"],
        json!([{
            "registryType": "pypi",
            "identifier": "weather-mcp",
            "version": "0.4.0",
            "transport": { "type": "stdio" },
        }])
    );
    assert!(server.get("repository").is_none());
    assert_valid(&server);
}

#[test]
fn init_from_cargo_toml_with_flags() {
    let user = User::new();
    let dir = user.path("rs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"weather-mcp\"\nversion.workspace = true\nedition = \"2024\"\n\
         description = \"Weather in Rust\"\nrepository = \"https://github.com/alice/weather-rs\"\n",
    )
    .unwrap();
    // The version is not a string here: it must come from the flag.
    let stderr = fails(&init(
        &user,
        &dir,
        &["--yes", "--name", "io.github.alice/w"],
    ));
    assert!(stderr.contains("--version"), "{stderr}");

    ok(&init(
        &user,
        &dir,
        &[
            "--yes",
            "--name",
            "io.github.alice/weather-rs",
            "--version",
            "2.0.0",
            "--description",
            "Forecasts",
            "-o",
            "out/server.json",
        ],
    ));
    let server = read(&dir.join("out/server.json"));
    assert_eq!(server["version"], "2.0.0");
    assert_eq!(server["description"], "Forecasts");
    assert_eq!(server["packages"][0]["registryType"], "cargo");
    assert_eq!(server["packages"][0]["identifier"], "weather-mcp");
    assert_eq!(server["packages"][0]["version"], "2.0.0");
    assert_eq!(
        server["repository"]["url"],
        "https://github.com/alice/weather-rs"
    );
}

#[test]
fn init_refuses_to_write_an_invalid_manifest() {
    let user = User::new();
    let dir = user.path("bad");
    write_json(
        &dir.join("package.json"),
        &json!({ "name": "x", "version": "1.0.0", "description": "d" }),
    );
    let stderr = fails(&init(&user, &dir, &["--yes", "--name", "no-slash"]));
    assert!(stderr.contains("error["), "{stderr}");
    assert!(!dir.join("server.json").exists());
}

// ---------------------------------------------------------------------------------------------
// doctor

fn doctor(user: &User, path: &Path, json: bool) -> Output {
    let mut cmd = user.cmd("http://127.0.0.1:1");
    cmd.env("PATH", path).arg("doctor");
    if json {
        cmd.arg("--json");
    }
    cmd.output().unwrap()
}

#[cfg(unix)]
#[test]
fn doctor_reports_runtimes_and_unparsable_host_files() {
    let user = User::new();
    let bin = user.path("bin");
    let npx = script(&bin, "npx", "exit 0");
    let cursor = user.home().join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().unwrap()).unwrap();
    std::fs::write(&cursor, "{ \"mcpServers\": { broken").unwrap();

    let out = doctor(&user, &bin, false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("ok    runtime npx: {}", npx.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("warn  runtime uvx: not on PATH"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "fail  host cursor: {} does not parse",
            cursor.display()
        )),
        "{stdout}"
    );

    // JSON: one object per check.
    let out = doctor(&user, &bin, true);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let checks = report["checks"].as_array().unwrap();
    let find = |name: &str| checks.iter().find(|c| c["check"] == name).unwrap().clone();
    assert_eq!(find("runtime npx")["status"], "ok");
    assert_eq!(find("runtime docker")["status"], "warn");
    assert_eq!(find("host cursor")["status"], "fail");

    // Fixed, with a disabled entry, and without npx: warnings only, exit 0.
    std::fs::write(
        &cursor,
        r#"{ "mcpServers": { "memory": { "command": "npx", "disabled": true } } }"#,
    )
    .unwrap();
    let empty = user.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = doctor(&user, &empty, false);
    let stdout = ok(&out);
    assert!(
        stdout.contains("warn  runtime npx: not on PATH"),
        "{stdout}"
    );
    assert!(stdout.contains("disabled entries: memory"), "{stdout}");
    assert!(
        stdout.contains("ok    install record: 0 entries"),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// registry: validate --remote, upgrade, publish probing

/// A server.json for `NAME` at `version` (npm package, stdio, one required env var).
fn manifest(version: &str) -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": NAME,
        "description": "Knowledge-graph memory for agents",
        "version": version,
        "packages": [{
            "registryType": "npm",
            "identifier": "@modelcontextprotocol/server-memory",
            "version": version,
            "transport": { "type": "stdio" },
            "environmentVariables": [{
                "name": "MEMORY_DIR",
                "description": "Where the graph is stored",
                "isRequired": true
            }]
        }]
    })
}

fn manifest_file(user: &User, version: &str) -> PathBuf {
    let file = user.path(&format!("work/{version}/server.json"));
    write_json(&file, &manifest(version));
    file
}

#[test]
fn validate_merges_the_registry_and_falls_back_to_local() {
    let registry = Registry::start();
    let user = User::new();
    let file = manifest_file(&user, "1.0.0");
    let file = file.to_str().unwrap();

    let out = user.run(&registry.url, &["validate", file, "--json"]);
    let report: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["registry"], registry.url.as_str());

    // A registry that does not answer: the local result stands (exit 0)...
    let out = user.run("http://127.0.0.1:1", &["validate", file, "--json"]);
    let report: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert!(report.get("registry").is_none());
    // ...unless --remote asks for it.
    let stderr = fails(&user.run("http://127.0.0.1:1", &["validate", file, "--remote"]));
    assert!(stderr.contains("did not validate"), "{stderr}");
    // --offline never asks.
    let out = user.run(&registry.url, &["validate", file, "--json", "--offline"]);
    let report: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert!(report.get("registry").is_none());
}

#[test]
fn upgrade_shows_the_report_asks_and_reinstalls() {
    let registry = Registry::start();
    let url = registry.url.as_str();
    let user = User::new();
    login(&user, &registry);
    let v1 = manifest_file(&user, "1.0.0");
    ok(&user.run(url, &["publish", v1.to_str().unwrap(), "--no-probe"]));
    ok(&user.run(
        url,
        &[
            "install",
            NAME,
            "--host",
            "cursor",
            "--env",
            "MEMORY_DIR=/data/mem",
            "--yes",
        ],
    ));
    let cursor = user.home().join(".cursor/mcp.json");
    assert!(
        std::fs::read_to_string(&cursor)
            .unwrap()
            .contains("server-memory@1.0.0")
    );

    // Nothing newer yet.
    let out = user.run(url, &["upgrade", "memory"]);
    ok(&out);
    assert!(
        text(&out.stderr).contains("up to date"),
        "{}",
        text(&out.stderr)
    );

    let v2 = manifest_file(&user, "1.1.0");
    ok(&user.run(url, &["publish", v2.to_str().unwrap(), "--no-probe"]));

    // No terminal and no --yes: the report, then exit 1 with a hint; the file is untouched.
    let out = user.run(url, &["upgrade", "memory", "--host", "cursor"]);
    let stderr = fails(&out);
    assert!(stderr.contains("--yes"), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{NAME} 1.0.0 -> 1.1.0 (cursor)")),
        "{stdout}"
    );
    assert!(
        std::fs::read_to_string(&cursor)
            .unwrap()
            .contains("server-memory@1.0.0")
    );

    let out = user.run(
        url,
        &["upgrade", NAME, "--yes", "--env", "MEMORY_DIR=/data/mem"],
    );
    ok(&out);
    let config = std::fs::read_to_string(&cursor).unwrap();
    assert!(config.contains("server-memory@1.1.0"), "{config}");
    assert!(config.contains("/data/mem"), "{config}");
    let list: Value = serde_json::from_str(&ok(&user.run(url, &["list", "--json"]))).unwrap();
    assert!(list.to_string().contains("\"1.1.0\""), "{list}");
    assert!(!list.to_string().contains("\"1.0.0\""), "{list}");

    // Unknown servers are a user error.
    let stderr = fails(&user.run(url, &["upgrade", "nothing-here", "--yes"]));
    assert!(stderr.contains("mcp-reg list"), "{stderr}");

    // --all upgrades every installed server.
    let v3 = manifest_file(&user, "1.2.0");
    ok(&user.run(url, &["publish", v3.to_str().unwrap(), "--no-probe"]));
    ok(&user.run(
        url,
        &["upgrade", "--all", "--yes", "--env", "MEMORY_DIR=/data/mem"],
    ));
    let config = std::fs::read_to_string(&cursor).unwrap();
    assert!(config.contains("server-memory@1.2.0"), "{config}");
    let out = user.run(url, &["upgrade", "--all", "--yes"]);
    assert!(
        text(&out.stderr).contains("up to date"),
        "{}",
        text(&out.stderr)
    );
    // A name and --all together are a usage error.
    assert_eq!(
        user.run(url, &["upgrade", "memory", "--all"]).status.code(),
        Some(2)
    );
}

#[cfg(unix)]
#[test]
fn publish_probes_the_first_runnable_package_by_default() {
    let registry = Registry::start();
    let url = registry.url.as_str();
    let user = User::new();
    login(&user, &registry);
    let bin = user.path("bin");
    // `npx -y @modelcontextprotocol/server-memory@1.0.0` runs the fixture server with the capture.
    script(
        &bin,
        "npx",
        &format!(
            "exec '{}' --capture '{CAPTURE}'",
            common::fixture().display()
        ),
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let file = manifest_file(&user, "1.0.0");

    // The required input has no value: exit 1 naming the flag and the two ways around probing.
    let out = user
        .cmd(url)
        .env("PATH", &path)
        .args(["publish", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = fails(&out);
    assert!(stderr.contains("MEMORY_DIR"), "{stderr}");
    assert!(
        stderr.contains("--surface") && stderr.contains("--no-probe"),
        "{stderr}"
    );

    let out = user
        .cmd(url)
        .env("PATH", &path)
        .args([
            "publish",
            file.to_str().unwrap(),
            "--env",
            "MEMORY_DIR=/tmp/mem",
        ])
        .output()
        .unwrap();
    ok(&out);
    assert!(
        text(&out.stderr).contains("captured the tool surface"),
        "{}",
        text(&out.stderr)
    );
    let shown: Value =
        serde_json::from_str(&ok(&user.run(url, &["show", NAME, "--json"]))).unwrap();
    let expected: Value = serde_json::from_slice(&std::fs::read(CAPTURE).unwrap()).unwrap();
    let tools = |v: &Value| -> Vec<String> {
        v["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(tools(&shown["surface"]), tools(&expected));

    // A server that dies: exit 1, nothing published.
    script(&bin, "npx", "echo boom >&2; exit 3");
    let file = manifest_file(&user, "1.1.0");
    let out = user
        .cmd(url)
        .env("PATH", &path)
        .args([
            "publish",
            file.to_str().unwrap(),
            "--env",
            "MEMORY_DIR=/tmp/mem",
        ])
        .output()
        .unwrap();
    let stderr = fails(&out);
    assert!(stderr.contains("probing the server failed"), "{stderr}");
    assert!(stderr.contains("--no-probe"), "{stderr}");
    let versions = ok(&user.run(url, &["versions", NAME]));
    assert!(!versions.contains("1.1.0"), "{versions}");
}
