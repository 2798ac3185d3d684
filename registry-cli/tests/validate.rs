//! `mcp-reg validate` as a real child process on real files.

#![allow(clippy::unwrap_used)] // Test helpers fail loudly; that is what a test should do.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn examples(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/official/examples")
        .join(kind)
}

fn mcp_reg() -> Command {
    Command::cargo_bin("mcp-reg").unwrap()
}

#[test]
fn valid_file_exits_zero() {
    let out = mcp_reg()
        .arg("validate")
        .arg(examples("valid").join("with-package.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("with-package.json: valid (0 warning(s))"),
        "{stdout}"
    );
}

#[test]
fn invalid_file_exits_one_and_lists_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.json");
    std::fs::write(
        &file,
        r#"{"name": "nope", "description": "d", "version": "latest",
            "packages": [{"registryType": "unknown", "identifier": "x", "transport": {"type": "stdio"}}]}"#,
    )
    .unwrap();
    let out = mcp_reg().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"error[version-latest] /version: version `latest` is reserved: publish a concrete version such as `1.0.0`"), "{stdout}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("error[name-format] /name: server name `nope`")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("warning[package-registry-type] /packages/0/registryType: ")),
        "{stdout}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .ends_with("invalid (2 error(s), 2 warning(s))"),
        "{stdout}"
    );
}

#[test]
fn json_output_has_the_documented_shape() {
    let out = mcp_reg()
        .args(["validate", "--json"])
        .arg(examples("invalid").join("description-too-long.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["valid"], false);
    let issues = body["issues"].as_array().unwrap();
    let issue = issues
        .iter()
        .find(|i| i["pointer"] == "/description")
        .unwrap();
    assert_eq!(issue["rule"], "schema.maxLength");
    assert_eq!(issue["severity"], "error");
    assert!(
        issue["message"]
            .as_str()
            .unwrap()
            .contains("deliberately exceeds")
    );
    let keys: Vec<&String> = issue.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["rule", "pointer", "severity", "message"]);
}

#[test]
fn warnings_pass_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.json");
    std::fs::write(
        &file,
        r#"{"name": "io.github.a/bb", "description": "d", "version": "1.0.0",
            "remotes": [{"type": "sse", "url": "http://localhost:9000/sse"}]}"#,
    )
    .unwrap();
    let lenient = mcp_reg()
        .args(["validate", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(lenient.status.code(), Some(0));
    let body: Value = serde_json::from_slice(&lenient.stdout).unwrap();
    assert_eq!(body["valid"], true);
    assert_eq!(body["issues"].as_array().unwrap().len(), 2, "{body}");
    let strict = mcp_reg()
        .args(["validate", "--strict"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn stdin_is_read_with_a_dash() {
    let text = std::fs::read(examples("valid").join("minimal.json")).unwrap();
    mcp_reg()
        .args(["validate", "-"])
        .write_stdin(text)
        .assert()
        .code(0);
    let out = mcp_reg()
        .args(["validate", "-"])
        .write_stdin("{not json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("error[json-syntax] /: not valid JSON")
    );
}

#[test]
fn missing_file_is_a_user_error_with_a_hint() {
    let out = mcp_reg()
        .args(["validate", "/definitely/not/here.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: cannot read `/definitely/not/here.json`"),
        "{stderr}"
    );
    assert!(lines[1].starts_with("hint: "), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_arguments_exit_two() {
    mcp_reg().args(["validate"]).assert().code(2);
    mcp_reg()
        .args(["validate", "--bogus", "x"])
        .assert()
        .code(2);
    mcp_reg().args(["--help"]).assert().code(0);
}

#[test]
fn unknown_keys_warn_with_a_suggestion_and_still_pass() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.json");
    std::fs::write(
        &file,
        r#"{"$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": "io.github.a/bb", "description": "d", "version": "1.0.0",
            "packages": [{"registryType": "npm", "identifier": "bb", "version": "1.0.0",
                          "transport": {"type": "stdio"}, "enviromentVariables": []}]}"#,
    )
    .unwrap();
    let out = mcp_reg().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.lines().any(|line| line
            == "warning[unknown-key] /packages/0/enviromentVariables: `enviromentVariables` is not a field of a package; did you mean `environmentVariables`?"),
        "{stdout}"
    );
    assert!(stdout.ends_with("valid (1 warning(s))\n"), "{stdout}");
}
