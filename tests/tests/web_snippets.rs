//! Issue 16, "Snippet test": for every server of the conformance corpus and every host the server
//! page lists, the page's snippet (HTML-unescaped, from `<code data-snippet="HOST">`) is byte for byte
//! what `mcp-reg install NAME@VERSION --host HOST --print --placeholders` prints, and where the CLI
//! refuses, the page shows the CLI's reason (`<span data-refusal="HOST">`).
//!
//! Every pair goes through `registry_cli::install::snippet`, the function the CLI's `--print` calls,
//! on the manifest the registry's API serves; a sample of servers (one per shape: placeholders,
//! references, remotes, containers, refusals) × every host goes through the real `mcp-reg` binary
//! against the same registry on a loopback port, proving the CLI path is that function.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use registry_cli::install::{Host, InstallOptions, Platform, snippet};
use registry_schema::ServerJson;
use registry_server::config::ServerConfig;
use registry_server::{AppState, serve};
use registry_tests::app::{TestApp, encode};
use registry_tests::conformance_dir;
use registry_tests::db::TestDb;
use serde_json::Value;

/// What the page shows for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Snippet(String),
    Refusal(String),
}

fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The text of the element that opens with `open` (up to `close`).
fn element<'a>(page: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = page.find(open)? + open.len();
    let end = page[start..].find(close)?;
    Some(&page[start..start + end])
}

fn shown(page: &str, host: Host) -> Shown {
    let id = host.id();
    if let Some(text) = element(page, &format!("data-snippet=\"{id}\">"), "</code>") {
        return Shown::Snippet(unescape(text));
    }
    match element(page, &format!("data-refusal=\"{id}\">"), "</span>") {
        Some(text) => Shown::Refusal(unescape(text)),
        None => panic!("the page shows neither a snippet nor a refusal for {id}"),
    }
}

/// What the CLI's `--print --placeholders` path renders (no `--env`, macOS/Linux).
fn cli_path(server: &ServerJson, host: Host) -> Shown {
    let opts = InstallOptions {
        placeholders: true,
        ..InstallOptions::default()
    };
    match snippet(server, host, Platform::Linux, &opts) {
        Ok(text) => Shown::Snippet(text),
        Err(err) => Shown::Refusal(err.to_string()),
    }
}

async fn import_corpus(app: &TestApp) -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(conformance_dir().join("corpus/servers-2025-12-11.json")).unwrap();
    let corpus: Vec<Value> = serde_json::from_str(&text).unwrap();
    let entries = registry_server::import::read_entries(&text).unwrap();
    let report = registry_server::import::import_entries(
        &app.store,
        &entries,
        &registry_schema::Policy::lenient(),
        |_| {},
    )
    .await
    .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.inserted, 464);
    corpus
        .iter()
        .map(|server| {
            (
                server["name"].as_str().unwrap().to_owned(),
                server["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_corpus_snippet_is_what_the_cli_prints() {
    let app = TestApp::new(TestDb::sqlite().await).await;
    let servers = import_corpus(&app).await;
    let mut pairs = 0;
    let mut refusals = 0;
    let mut placeholders = 0;
    let mut seen: Vec<(ServerJson, Vec<Shown>)> = Vec::new();
    let mut reasons: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (name, version) in &servers {
        let api = app
            .get(&format!(
                "/v0.1/servers/{}/versions/{}",
                encode(name),
                encode(version)
            ))
            .await
            .ok();
        let server: ServerJson = serde_json::from_value(api["server"].clone()).unwrap();
        let uri = format!("/servers/{name}/versions/{}", encode(version));
        let response = app.get_with_headers(&uri, &[("accept", "text/html")]).await;
        assert!(response.status.is_success(), "{uri}: {}", response.status);
        let page = response.text();
        assert_eq!(
            page.matches("<li data-host=").count(),
            Host::ALL.len(),
            "{uri}: every host once"
        );
        let mut row = Vec::new();
        for host in Host::ALL {
            let on_page = shown(&page, host);
            assert_eq!(
                on_page,
                cli_path(&server, host),
                "{name} {version} on {}",
                host.id()
            );
            pairs += 1;
            match &on_page {
                Shown::Refusal(reason) => {
                    refusals += 1;
                    let kind: String = reason.chars().take(48).collect();
                    *reasons.entry(kind).or_default() += 1;
                }
                Shown::Snippet(text) if text.contains("\"<") || text.contains("= \"<") => {
                    placeholders += 1;
                }
                Shown::Snippet(_) => {}
            }
            row.push(on_page);
        }
        seen.push((server, row));
    }
    assert_eq!(pairs, 464 * Host::ALL.len());
    eprintln!(
        "{pairs} server × host pairs equal the CLI's --print ({refusals} refusals, \
         {placeholders} with placeholders)"
    );

    let mut common: Vec<(usize, String)> = reasons.into_iter().map(|(k, n)| (n, k)).collect();
    common.sort_unstable_by(|a, b| b.cmp(a));
    for (count, reason) in common.iter().take(6) {
        eprintln!("  {count:5} × {reason}…");
    }

    let sample = sample(&seen);
    assert!(sample.len() >= 5, "{}", sample.len());
    through_the_binary(&app, &sample).await;
}

/// Whether a server (and what the page shows for it, in `Host::ALL` order) has some shape.
type Want = dyn Fn(&ServerJson, &[Shown]) -> bool;

/// One server per shape the install section can take, so the real binary sees each of them.
fn sample(seen: &[(ServerJson, Vec<Shown>)]) -> Vec<(ServerJson, Vec<Shown>)> {
    let wants: [&Want; 6] = [
        &|_, _| true,
        &|_, row| row.iter().any(|s| matches!(s, Shown::Refusal(_))),
        &|_, row| matches!(&row[2], Shown::Snippet(t) if t.contains("\"<")),
        &|_, row| matches!(&row[3], Shown::Snippet(t) if t.contains("${input:")),
        &|server, _| !server.remotes().is_empty(),
        &|server, _| server.packages().iter().any(|p| p.registry_type == "oci"),
    ];
    let mut out: Vec<(ServerJson, Vec<Shown>)> = Vec::new();
    for want in wants {
        if let Some(found) = seen.iter().find(|(server, row)| {
            want(server, row) && !out.iter().any(|(s, _)| s.name == server.name)
        }) {
            out.push(found.clone());
        }
    }
    out
}

/// `mcp-reg install NAME@VERSION --host HOST --print --placeholders` as a child process against the
/// registry served on a loopback port: stdout's snippet (`--json`) or stderr's refusal equals the page.
async fn through_the_binary(app: &TestApp, sample: &[(ServerJson, Vec<Shown>)]) {
    let cli = mcp_reg();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(app.store.clone(), ServerConfig::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    let home = tempfile::tempdir().unwrap();
    let mut runs = 0;
    let mut dry_runs = 0;
    for (manifest, row) in sample {
        let target = format!("{}@{}", manifest.name.as_str(), manifest.version.as_str());
        for (host, expected) in Host::ALL.into_iter().zip(row) {
            let (run_cli, run_origin) = (cli.clone(), origin.clone());
            let root = home.path().to_path_buf();
            let arg = target.clone();
            let output = tokio::task::spawn_blocking(move || {
                Command::new(run_cli)
                    .env_clear()
                    .env("HOME", root.join("home"))
                    .env("MCP_REG_CONFIG_DIR", root.join("config"))
                    .env("MCP_REG_DATA_DIR", root.join("data"))
                    .env("NO_COLOR", "1")
                    .args(["--registry", &run_origin, "install", &arg, "--host"])
                    .arg(host.id())
                    .args([
                        "--print",
                        "--placeholders",
                        "--json",
                        "--yes",
                        "--allow-risk",
                    ])
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            match expected {
                Shown::Snippet(text) => {
                    assert!(output.status.success(), "{target} {}: {stderr}", host.id());
                    let printed: Value = serde_json::from_str(&stdout).unwrap();
                    assert_eq!(
                        printed["hosts"][0]["snippet"].as_str(),
                        Some(text.as_str()),
                        "{target} {}",
                        host.id()
                    );
                    // Where the snippet needs no value (no `<KEY>`), `--dry-run` on a machine without
                    // the host's file writes exactly it: the diff from nothing adds these lines.
                    if !text.contains('<') {
                        let written =
                            dry_run_writes(&cli, &origin, home.path(), &target, host).await;
                        // A new file starts with the host's own header (Continue's), then the entry.
                        let header = host.profile().new_user_file.unwrap_or_default();
                        assert_eq!(
                            written.trim_end(),
                            format!("{header}{text}").trim_end(),
                            "{target} {}: --dry-run writes what the page shows",
                            host.id()
                        );
                        dry_runs += 1;
                    }
                }
                Shown::Refusal(reason) => {
                    assert_eq!(output.status.code(), Some(1), "{target} {}", host.id());
                    assert!(
                        stderr.contains(&format!("{}: {reason}", host.name())),
                        "{target} {}: the CLI says {stderr}, the page {reason}",
                        host.id()
                    );
                }
            }
            runs += 1;
        }
    }
    let _ = stop.send(());
    let _ = server.await;
    eprintln!(
        "{runs} runs of the mcp-reg binary ({} servers × {} hosts) print the page's snippets; \
         {dry_runs} --dry-runs write them",
        sample.len(),
        Host::ALL.len()
    );
    assert!(dry_runs > 0, "the sample has snippets that need no value");
}

/// What `mcp-reg install TARGET --host HOST --dry-run` would write on a machine without the host's file:
/// the lines its diff (from nothing) adds.
async fn dry_run_writes(cli: &Path, origin: &str, root: &Path, target: &str, host: Host) -> String {
    let (cli, origin, root, target) = (
        cli.to_path_buf(),
        origin.to_owned(),
        root.to_path_buf(),
        target.to_owned(),
    );
    let dry = tokio::task::spawn_blocking(move || {
        Command::new(cli)
            .env_clear()
            .env("HOME", root.join("home"))
            .env("MCP_REG_CONFIG_DIR", root.join("config"))
            .env("MCP_REG_DATA_DIR", root.join("data"))
            .env("NO_COLOR", "1")
            .args(["--registry", &origin, "install", &target, "--host"])
            .arg(host.id())
            .args(["--dry-run", "--json", "--yes", "--allow-risk"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let out: Value = serde_json::from_slice(&dry.stdout).unwrap_or(Value::Null);
    let diff = out["hosts"][0]["diff"].as_str().unwrap_or_default();
    let mut written = String::new();
    for line in diff.lines() {
        if let Some(added) = line.strip_prefix('+').filter(|_| !line.starts_with("+++")) {
            written.push_str(added);
            written.push('\n');
        }
    }
    written
}

/// The `mcp-reg` binary of this build.
fn mcp_reg() -> PathBuf {
    registry_tests::binaries::binaries().cli.clone()
}
