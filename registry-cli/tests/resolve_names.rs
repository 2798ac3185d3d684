#![allow(clippy::unwrap_used)]
//! Short names resolve the way people mean them (issue 20), against a real registry holding the
//! 464-server conformance corpus plus GitHub's own manifest as GitHub ships it.
//!
//! What a person means, read off the corpus (every name in it starts with the `io.github.`
//! boilerplate, which is why the old resolver called `github` ambiguous with every server):
//!
//! - `github`: GitHub's own server, `io.github.github/github-mcp-server` — its namespace owner is
//!   `github` and its name is `github` plus the usual `-mcp-server`. `github-actions-mcp-server`
//!   and `github-enterprise-mcp` (other people's) only contain the word.
//! - `filesystem`: `io.github.mark3labs/mcp-filesystem-server`, the one server whose name is
//!   `filesystem` between MCP affixes; `rust-mcp-filesystem` is a Rust variant named so, and nothing
//!   else has the word in its name.
//! - `slack`: `io.github.korotovsky/slack-mcp-server`, the corpus's only Slack server.
//! - `postgres` and `time`: the MCP reference servers of that name, which the corpus does not
//!   have. Without them, `postgres` matches nothing, and `time` must not become GreptimeDB (whose
//!   name merely contains "time") or a server whose description says "real-time": the resolver
//!   refuses and lists those as near candidates. Once the registry holds the reference servers
//!   (`tests/fixtures/reference-servers.json`), both resolve to them.

mod common;

use std::path::Path;
use std::process::Output;

use registry_server::config::ServerConfig;
use serde_json::Value;

use common::{Registry, User, login, ok, text};

const GITHUB: &str = "io.github.github/github-mcp-server";

fn conformance(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance")
        .join(rel)
}

/// The corpus, one manifest text each, plus GitHub's manifest.
fn manifests() -> Vec<String> {
    let corpus: Vec<Value> = serde_json::from_slice(
        &std::fs::read(conformance("corpus/servers-2025-12-11.json")).unwrap(),
    )
    .unwrap();
    let mut out: Vec<String> = corpus
        .iter()
        .map(|server| serde_json::to_string(server).unwrap())
        .collect();
    out.push(
        std::fs::read_to_string(conformance(
            "real-manifests/io.github.github-github-mcp-server.json",
        ))
        .unwrap(),
    );
    out
}

/// The name `show QUERY --json` resolved to.
fn shown(user: &User, url: &str, query: &str) -> String {
    let out = user.run(url, &["show", query, "--json"]);
    let json: Value = serde_json::from_str(&ok(&out)).unwrap();
    json["server"]["name"].as_str().unwrap().to_owned()
}

fn refused(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    text(&out.stderr)
}

/// Candidate lines of an error (indented, after the headline).
fn candidates(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("  ") && !l.trim_start().starts_with('…'))
        .collect()
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one table of names and what a person means by each"
)]
fn short_names_resolve_in_the_corpus_with_githubs_manifest() {
    let registry = Registry::start_with_servers(ServerConfig::default(), &manifests());
    let url = registry.url.as_str();
    let user = User::new();

    for (query, expected) in [
        ("github", GITHUB),
        ("GitHub", GITHUB),
        ("github-mcp-server", GITHUB),
        ("io.github.github", GITHUB),
        ("filesystem", "io.github.mark3labs/mcp-filesystem-server"),
        (
            "server-filesystem",
            "io.github.mark3labs/mcp-filesystem-server",
        ),
        ("slack", "io.github.korotovsky/slack-mcp-server"),
    ] {
        assert_eq!(shown(&user, url, query), expected, "show {query}");
    }

    // install, verify and the not-yet-installed upgrade/uninstall paths share the resolver.
    let out = user.run(
        url,
        &[
            "install",
            "github",
            "--host",
            "cursor",
            "--print",
            "--env",
            "token=ghp_x",
        ],
    );
    let snippet = ok(&out);
    assert!(
        text(&out.stderr).contains(&format!("`github` is {GITHUB}")),
        "{}",
        text(&out.stderr)
    );
    let entry: Value = serde_json::from_str(&snippet).unwrap();
    let entry = &entry["mcpServers"]["github-mcp-server"];
    assert_eq!(entry["command"], "docker", "{snippet}");
    assert_eq!(
        entry["args"],
        serde_json::json!([
            "run",
            "-i",
            "--rm",
            "-e",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "ghcr.io/github/github-mcp-server:0.20.1"
        ]),
        "{snippet}"
    );
    assert!(
        !snippet.contains("ghp_x"),
        "the token is not written: {snippet}"
    );
    let out = user.run(url, &["verify", "github"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&format!("{GITHUB} 0.20.1")));

    // `postgres`: nothing in the corpus is about Postgres at all.
    let stderr = refused(&user.run(url, &["show", "postgres"]));
    assert!(stderr.contains("no server matches `postgres`"), "{stderr}");
    assert!(candidates(&stderr).is_empty(), "{stderr}");

    // `time`: only mentions; offered, never picked.
    let stderr = refused(&user.run(url, &["install", "time", "--host", "cursor", "--yes"]));
    assert!(stderr.contains("no server is called `time`"), "{stderr}");
    let listed = candidates(&stderr);
    assert!((1..=5).contains(&listed.len()), "{stderr}");
    assert!(
        listed
            .iter()
            .any(|l| l.contains("io.github.greptimeteam/greptimedb")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: use the full name, e.g. `mcp-reg install io.github."));

    // The boilerplate alone names nothing (it is in all 465 names).
    for boilerplate in ["io.github.", "io.github", "com."] {
        let stderr = refused(&user.run(url, &["show", boilerplate]));
        assert!(stderr.contains("namespace boilerplate"), "{stderr}");
        assert!(candidates(&stderr).is_empty(), "{stderr}");
    }

    // Ambiguous: at most five candidates, with descriptions, best first, and how many more.
    let stderr = refused(&user.run(url, &["show", "awesome-mcp-servers"]));
    assert!(
        stderr.contains("`awesome-mcp-servers` is ambiguous"),
        "{stderr}"
    );
    let listed = candidates(&stderr);
    assert_eq!(listed.len(), 3, "{stderr}");
    for owner in ["appcypher", "punkpeye", "wong2"] {
        assert!(
            listed
                .iter()
                .any(|l| l.contains(&format!("io.github.{owner}/awesome-mcp-servers"))),
            "{stderr}"
        );
    }
    assert!(
        listed
            .iter()
            .any(|l| l.contains("A collection of MCP servers.")),
        "descriptions are shown: {stderr}"
    );
    assert!(
        stderr.contains("hint: use the full name, e.g. `mcp-reg show io.github."),
        "{stderr}"
    );
    // Six servers have the word `agent` in their names (none is called that): five are listed.
    let stderr = refused(&user.run(url, &["install", "agent", "--host", "cursor"]));
    assert!(stderr.contains("`agent` is ambiguous"), "{stderr}");
    assert_eq!(candidates(&stderr).len(), 5, "{stderr}");
    assert!(stderr.contains("… and 1 more"), "{stderr}");

    // A typo: "did you mean".
    let stderr = refused(&user.run(url, &["show", "githb"]));
    assert!(stderr.contains(GITHUB), "{stderr}");
    let stderr = refused(&user.run(url, &["show", "io.github.github/github-mcp-servr"]));
    assert!(
        stderr.contains(&format!("did you mean `{GITHUB}`")),
        "{stderr}"
    );

    // Once the registry holds the reference servers, `postgres` and `time` mean them.
    login(&user, &registry);
    let fixtures: Vec<Value> = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-servers.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for manifest in &fixtures {
        let file = user.path(&format!(
            "work/{}.json",
            manifest["name"].as_str().unwrap().replace('/', "_")
        ));
        common::write_json(&file, manifest);
        ok(&user.run(url, &["publish", file.to_str().unwrap(), "--no-probe"]));
    }
    assert_eq!(
        shown(&user, url, "postgres"),
        "io.github.modelcontextprotocol/server-postgres"
    );
    assert_eq!(
        shown(&user, url, "time"),
        "io.github.modelcontextprotocol/server-time"
    );
    assert_eq!(shown(&user, url, "github"), GITHUB);
}

#[test]
fn installed_names_resolve_for_upgrade_and_uninstall() {
    let registry = Registry::start_with_servers(ServerConfig::default(), &manifests());
    let url = registry.url.as_str();
    let user = User::new();
    ok(&user.run(
        url,
        &[
            "install",
            "github",
            "--host",
            "cursor",
            "--env",
            "token=ghp_x",
            "--yes",
        ],
    ));
    let cursor = user.home().join(".cursor/mcp.json");
    let before = std::fs::read_to_string(&cursor).unwrap();
    assert!(
        before.contains("ghcr.io/github/github-mcp-server:0.20.1"),
        "{before}"
    );

    // upgrade: already the latest; the short name finds the installed server.
    let out = user.run(url, &["upgrade", "github", "--yes"]);
    assert!(
        text(&out.stderr).contains(&format!("{GITHUB} is up to date")),
        "{}",
        text(&out.stderr)
    );
    ok(&out);
    let stderr = refused(&user.run(url, &["upgrade", "slack", "--yes"]));
    assert!(stderr.contains("`slack` is not installed"), "{stderr}");

    // uninstall --dry-run shows the change and writes nothing; then the short name removes it.
    let out = user.run(url, &["uninstall", "GitHub", "--dry-run"]);
    let diff = ok(&out);
    assert!(
        diff.contains('-') && diff.contains("github-mcp-server"),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), before);
    ok(&user.run(url, &["uninstall", "github", "--yes"]));
    // The last entry goes without leaving an empty object spread over two lines.
    let after = std::fs::read_to_string(&cursor).unwrap();
    assert_eq!(after.trim_end(), "{\n  \"mcpServers\": {}\n}", "{after:?}");
}
