#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected shapes")]
//! Breaks a release cannot renumber: `publish --accept-breaking`, how `show` flags such a version, and
//! `mcp-reg compat-policy`.

mod common;

use serde_json::{Value, json};

use common::{Registry, User, login, ok, text, write_json};

const NAME: &str = "io.github.acme/weather";

fn manifest(version: &str, tools: &[&str]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
        .collect();
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": NAME,
        "description": "Weather for agents",
        "version": version,
        "packages": [{
            "registryType": "npm",
            "identifier": "@acme/weather",
            "version": version,
            "transport": {"type": "stdio"}
        }],
        "_meta": {"dev.mcp-reg/surface": {
            "serverInfo": {"name": "weather", "version": version},
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "tools": tools
        }}
    })
}

#[test]
fn accepted_breaks_are_published_and_flagged() {
    let registry = Registry::start();
    let url = registry.url.as_str();
    let user = User::new();
    login(&user, &registry);
    let publish = |version: &str, tools: &[&str], extra: &[&str]| {
        let file = user.path(&format!("work/{version}/server.json"));
        write_json(&file, &manifest(version, tools));
        let mut args = vec!["publish", file.to_str().unwrap(), "--no-probe"];
        args.extend_from_slice(extra);
        user.run(url, &args)
    };
    ok(&publish("1.0.0", &["forecast", "alerts"], &[]));
    ok(&user.run(url, &["install", NAME, "--host", "cursor", "--yes"]));

    // Removing a tool in a patch release is refused, and the hint names the way out.
    let refused = publish("1.0.1", &["forecast"], &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("--accept-breaking"),
        "{}",
        text(&refused.stderr)
    );
    ok(&publish("1.0.1", &["forecast"], &["--accept-breaking"]));

    let shown = ok(&user.run(url, &["show", &format!("{NAME}@1.0.1")]));
    assert!(shown.contains("Breaking"), "{shown}");
    assert!(shown.contains("needs a major bump"), "{shown}");
    let before = ok(&user.run(url, &["show", &format!("{NAME}@1.0.0")]));
    assert!(!before.contains("Breaking"), "{before}");

    // `upgrade --yes` stops at a version that breaks callers; --allow-breaking goes ahead.
    let stopped = user.run(url, &["upgrade", "weather", "--yes"]);
    assert_eq!(stopped.status.code(), Some(1), "{}", text(&stopped.stderr));
    assert!(
        text(&stopped.stderr).contains("--allow-breaking"),
        "{}",
        text(&stopped.stderr)
    );
    let cursor = user.home().join(".cursor/mcp.json");
    assert!(
        std::fs::read_to_string(&cursor)
            .unwrap()
            .contains("@acme/weather@1.0.0")
    );
    ok(&user.run(url, &["upgrade", "weather", "--yes", "--allow-breaking"]));
    assert!(
        std::fs::read_to_string(&cursor)
            .unwrap()
            .contains("@acme/weather@1.0.1")
    );
}

#[test]
fn compat_policy_lists_and_needs_edit_to_change() {
    let registry = Registry::start();
    let url = registry.url.as_str();
    let user = User::new();
    let listed = ok(&user.run(url, &["compat-policy"]));
    assert_eq!(listed.trim(), "default: enforce");
    let json: Value =
        serde_json::from_str(&ok(&user.run(url, &["compat-policy", "--json"]))).unwrap();
    assert_eq!(json["overrides"], json!([]));

    // A change needs a login, then an `edit` grant (the test registry's token may only publish).
    let args = [
        "compat-policy",
        "--namespace",
        "io.github.acme",
        "--set",
        "advise",
    ];
    let out = user.run(url, &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not logged in"),
        "{}",
        text(&out.stderr)
    );
    login(&user, &registry);
    let out = user.run(url, &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("edit"), "{}", text(&out.stderr));
    // Half a request is a usage error with a hint, not a request.
    let out = user.run(url, &["compat-policy", "--namespace", "io.github.acme"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("hint:"), "{}", text(&out.stderr));
}
