//! `mcp-reg check` as a real child process on real files.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly; that is what a test should do.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

fn real(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/real-tools")
        .join(file)
}

fn mcp_reg() -> Command {
    Command::cargo_bin("mcp-reg").unwrap()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn check(args: &[&std::ffi::OsStr]) -> Run {
    let out = mcp_reg().arg("check").args(args).output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// `server-everything` 2025.8.18 → 2025.9.12 removes the `startElicitation` tool.
fn breaking_pair() -> (PathBuf, PathBuf) {
    (
        real("server-everything@2025.8.18.json"),
        real("server-everything@2025.9.12.json"),
    )
}

#[test]
fn identical_surfaces_exit_zero_with_no_changes() {
    let file = real("server-memory@2026.7.4.json");
    let run = check(&[file.as_os_str(), file.as_os_str()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("no changes"), "{}", run.stdout);
    assert!(run.stdout.contains("required bump: none"), "{}", run.stdout);
}

#[test]
fn breaking_change_without_versions_exits_100_and_json_has_the_shape() {
    let (old, new) = breaking_pair();
    let run = check(&[old.as_os_str(), new.as_os_str(), os("--format"), os("json")]);
    assert_eq!(run.code, Some(100), "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["required_bump"], "major");
    assert_eq!(report["verdict"], "reject");
    assert_eq!(report["actual_bump"], Value::Null);
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"tool-removed"), "{ids:?}");
    let removed = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "tool-removed")
        .unwrap();
    assert_eq!(removed["name"], "startElicitation");
    assert_eq!(removed["level"], "major");
    assert_eq!(removed["fingerprint"].as_str().unwrap().len(), 12);
    assert!(report["undecided"].as_array().unwrap().is_empty());
}

#[test]
fn compatible_change_exits_zero_and_reports_the_minor_bump() {
    let run = check(&[
        real("server-everything@2025.9.25.json").as_os_str(),
        real("server-everything@2025.11.25.json").as_os_str(),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["required_bump"], "minor");
    assert_eq!(report["findings"][0]["id"], "tool-added");
}

#[test]
fn versions_turn_the_bump_into_a_verdict() {
    let (old, new) = breaking_pair();
    let minor = check(&[
        old.as_os_str(),
        new.as_os_str(),
        os("--old-version"),
        os("1.4.0"),
        os("--new-version"),
        os("1.5.0"),
    ]);
    assert_eq!(minor.code, Some(100));
    assert!(
        minor
            .stdout
            .contains("verdict: reject (1.4.0 → 1.5.0 is a minor bump)"),
        "{}",
        minor.stdout
    );
    assert!(minor.stdout.contains("--- tool startElicitation ---"));

    let major = check(&[
        old.as_os_str(),
        new.as_os_str(),
        os("--old-version"),
        os("1.4.0"),
        os("--new-version"),
        os("2.0.0"),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(major.code, Some(0), "{}", major.stderr);
    let report: Value = serde_json::from_str(&major.stdout).unwrap();
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["actual_bump"], "major");
    assert_eq!(report["baseline_version"], "1.4.0");
    assert_eq!(report["new_version"], "2.0.0");
}

#[test]
fn markdown_and_github_formats() {
    let (old, new) = breaking_pair();
    let markdown = check(&[
        old.as_os_str(),
        new.as_os_str(),
        os("--format"),
        os("markdown"),
    ]);
    assert_eq!(markdown.code, Some(100));
    assert!(markdown.stdout.starts_with("## Compatibility report"));
    assert!(
        markdown
            .stdout
            .contains("| major | `tool-removed` | `startElicitation` |")
    );

    let github = check(&[
        old.as_os_str(),
        new.as_os_str(),
        os("--format"),
        os("github"),
    ]);
    assert_eq!(github.code, Some(100));
    let first = github.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("::error title=tool-removed ("),
        "{}",
        github.stdout
    );
    // `github-actions` is accepted too.
    let alias = check(&[
        old.as_os_str(),
        new.as_os_str(),
        os("--format"),
        os("github-actions"),
    ]);
    assert_eq!(alias.stdout, github.stdout);
}

#[test]
fn server_json_files_carry_their_surface_under_meta() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = |version: &str, tools: Value, env_required: bool| {
        json!({
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": "io.github.example/weather",
            "description": "Weather",
            "version": version,
            "packages": [{
                "registryType": "npm",
                "identifier": "@example/weather",
                "version": version,
                "transport": {"type": "stdio"},
                "environmentVariables": [{"name": "API_KEY", "isRequired": env_required}]
            }],
            "_meta": {"dev.mcp-reg/surface": {
                "serverInfo": {"name": "weather", "version": version},
                "protocolVersion": "2025-06-18",
                "capabilities": {"tools": {}},
                "tools": tools
            }}
        })
    };
    let tool = json!({"name": "forecast", "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}});
    let old = dir.path().join("old.json");
    let new = dir.path().join("new.json");
    std::fs::write(&old, manifest("1.0.0", json!([tool]), false).to_string()).unwrap();
    std::fs::write(&new, manifest("1.1.0", json!([]), true).to_string()).unwrap();
    let run = check(&[old.as_os_str(), new.as_os_str(), os("--format"), os("json")]);
    assert_eq!(run.code, Some(100), "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["surface"].as_str().unwrap()))
        .collect();
    assert!(ids.contains(&("tool-removed", "tool")), "{ids:?}");
    assert!(
        ids.contains(&("manifest-runtime-changed", "manifest")),
        "{ids:?}"
    );

    // A capture and a server.json with a surface compare by surface.
    let capture = dir.path().join("capture.json");
    std::fs::write(
        &capture,
        manifest("1.0.0", json!([tool]), false)["_meta"]["dev.mcp-reg/surface"].to_string(),
    )
    .unwrap();
    let mixed = check(&[capture.as_os_str(), old.as_os_str()]);
    assert_eq!(mixed.code, Some(0), "{}{}", mixed.stdout, mixed.stderr);
}

#[test]
fn bad_inputs_exit_101_with_error_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"serverInfo\": ").unwrap();
    let good = real("server-memory@2026.7.4.json");
    let missing = dir.path().join("missing.json");
    let not_a_surface = dir.path().join("other.json");
    std::fs::write(&not_a_surface, "{\"hello\": 1}").unwrap();
    for (old, new, needle) in [
        (broken.as_path(), good.as_path(), "is not valid JSON"),
        (good.as_path(), missing.as_path(), "cannot read"),
        (
            not_a_surface.as_path(),
            good.as_path(),
            "neither a tool surface nor a server.json",
        ),
    ] {
        let run = check(&[old.as_os_str(), new.as_os_str()]);
        assert_eq!(run.code, Some(101), "{needle}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{}", run.stderr);
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(needle),
            "{}",
            run.stderr
        );
        assert!(lines[1].starts_with("hint: "), "{}", run.stderr);
    }
    let bad_version = check(&[
        good.as_os_str(),
        good.as_os_str(),
        os("--old-version"),
        os("v1.0.0"),
        os("--new-version"),
        os("1.0.1"),
    ]);
    assert_eq!(bad_version.code, Some(101));
    assert!(bad_version.stderr.contains("not strict semver"));
    let backwards = check(&[
        good.as_os_str(),
        good.as_os_str(),
        os("--old-version"),
        os("2.0.0"),
        os("--new-version"),
        os("1.0.0"),
    ]);
    assert_eq!(backwards.code, Some(101));
}
