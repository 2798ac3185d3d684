//! `mcp-reg probe` against a live MCP server: `examples/fixture_server.rs` (rmcp) serving the real
//! captures in `conformance/real-tools`, over stdio, streamable HTTP and legacy HTTP+SSE, and
//! misbehaving on request.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::fixture;
use registry_cli::install::launch::RemoteTransport;
use registry_cli::probe::{ProbeError, ProbeOptions, ProbeTarget, probe};
use registry_schema::ToolSurface;

const CAPTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/conformance/real-tools"
);

fn capture(name: &str) -> PathBuf {
    Path::new(CAPTURES).join(name)
}

fn load(name: &str) -> ToolSurface {
    ToolSurface::from_json(&std::fs::read(capture(name)).unwrap()).unwrap()
}

fn stdio_target(args: &[&str]) -> ProbeTarget {
    ProbeTarget::Command {
        program: fixture().display().to_string(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: Vec::new(),
    }
}

fn quick() -> ProbeOptions {
    ProbeOptions {
        timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(10),
        ..ProbeOptions::default()
    }
}

/// Whether a process with this pid still exists (`kill -0`); a zombie counts as existing.
fn alive(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Whether a process that is not our child still runs: its zombie is init's to reap, which a
/// container's init may never do, so a zombie counts as ended here.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => alive(pid),
    }
}

fn pid_of(file: &Path) -> u32 {
    std::fs::read_to_string(file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn stdio_round_trips_real_captures_with_pagination() {
    for (name, page_size) in [
        ("server-everything@2026.8.31.json", "2"),
        ("server-memory@2026.8.31.json", "4"),
        ("server-everything@0.6.2.json", "1"),
        ("server-memory@0.6.2.json", "100"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let path = capture(name);
        let target = stdio_target(&[
            "--capture",
            path.to_str().unwrap(),
            "--page-size",
            page_size,
            "--pid-file",
            pid_file.to_str().unwrap(),
        ]);
        let surface = probe(target, &quick()).await.unwrap();
        let expected = load(name);
        // The capture format has no run-specific fields, so the whole surface must match.
        assert_eq!(surface, expected, "{name}");
        assert_eq!(surface.digest().unwrap(), expected.digest().unwrap());
        assert_eq!(
            surface.to_value(),
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap()).unwrap(),
            "{name}: byte-level JSON value"
        );
        assert!(
            !alive(pid_of(&pid_file)),
            "{name}: the server outlived the probe"
        );
    }
}

#[tokio::test]
async fn capabilities_decide_what_is_listed() {
    // server-memory@0.6.2 has only `tools`: no prompts/resources keys may appear.
    let path = capture("server-memory@0.6.2.json");
    let surface = probe(
        stdio_target(&["--capture", path.to_str().unwrap()]),
        &quick(),
    )
    .await
    .unwrap();
    assert!(surface.tools.is_some());
    assert!(surface.prompts.is_none());
    assert!(surface.resources.is_none() && surface.resource_templates.is_none());
}

/// Starts the fixture in HTTP mode and returns it with its URL.
fn http_fixture(extra: &[&str], name: &str) -> (std::process::Child, String) {
    served_fixture("--http", extra, name)
}

/// Starts the fixture in `mode` (`--http` or `--sse`) and returns it with its URL.
fn served_fixture(mode: &str, extra: &[&str], name: &str) -> (std::process::Child, String) {
    let path = capture(name);
    let mut child = Command::new(fixture())
        .args([
            mode,
            "--capture",
            path.to_str().unwrap(),
            "--page-size",
            "3",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

#[tokio::test]
async fn streamable_http_on_loopback_json_and_sse() {
    let name = "server-everything@2026.1.26.json";
    for extra in [&[][..], &["--sse-responses"][..]] {
        let (mut server, url) = http_fixture(extra, name);
        let target = ProbeTarget::Url {
            url,
            transport: RemoteTransport::StreamableHttp,
            headers: vec![("X-Test".to_owned(), "1".to_owned())],
        };
        let result = probe(target, &quick()).await;
        server.kill().unwrap();
        server.wait().unwrap();
        assert_eq!(result.unwrap(), load(name), "{extra:?}");
    }
}

#[tokio::test]
async fn http_status_errors_are_reported_with_status_and_body() {
    let (mut server, url) = http_fixture(&["--http-status", "401"], "server-memory@0.6.2.json");
    let target = ProbeTarget::Url {
        url: url.clone(),
        transport: RemoteTransport::StreamableHttp,
        headers: Vec::new(),
    };
    let err = probe(target, &quick()).await.unwrap_err();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        matches!(err, ProbeError::HttpStatus { status: 401, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("401") && message.contains("access denied"),
        "{message}"
    );
    assert!(err.hint().is_some());
}

#[tokio::test]
async fn legacy_sse_round_trips_real_captures_with_headers() {
    for name in [
        "server-everything@2026.1.26.json",
        "server-everything@0.6.2.json",
        "server-memory@2026.8.31.json",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let closed = dir.path().join("closed");
        let (mut server, url) = served_fixture(
            "--sse",
            &[
                "--require-header",
                "X-Test=1",
                "--closed-file",
                closed.to_str().unwrap(),
            ],
            name,
        );
        assert!(url.ends_with("/sse"), "{url}");
        let target = ProbeTarget::Url {
            url: url.clone(),
            transport: RemoteTransport::Sse,
            headers: vec![("X-Test".to_owned(), "1".to_owned())],
        };
        let result = probe(target, &quick()).await;
        // The probe closed its event stream when it was done.
        let deadline = Instant::now() + Duration::from_secs(3);
        while !closed.exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stream_closed = closed.exists();
        // Without the header the stream itself is refused, with the status and body.
        let bare = ProbeTarget::Url {
            url,
            transport: RemoteTransport::Sse,
            headers: Vec::new(),
        };
        let refused = probe(bare, &quick()).await;
        server.kill().unwrap();
        server.wait().unwrap();
        let surface = result.unwrap();
        assert!(stream_closed, "{name}: the event stream stayed open");
        let expected = load(name);
        assert_eq!(surface, expected, "{name}");
        assert_eq!(surface.digest().unwrap(), expected.digest().unwrap());
        let err = refused.unwrap_err();
        assert!(
            matches!(err, ProbeError::HttpStatus { status: 401, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("header X-Test missing"), "{err}");
    }
}

#[tokio::test]
async fn legacy_sse_refuses_a_cross_origin_endpoint() {
    // Same host, another port: a different origin, so no message (or header) may go there.
    let (mut server, url) = served_fixture(
        "--sse",
        &["--endpoint-origin", "http://127.0.0.1:1"],
        "server-memory@0.6.2.json",
    );
    let target = ProbeTarget::Url {
        url: url.clone(),
        transport: RemoteTransport::Sse,
        headers: vec![("Authorization".to_owned(), "Bearer secret".to_owned())],
    };
    let started = Instant::now();
    let err = probe(target, &quick()).await.unwrap_err();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(matches!(err, ProbeError::Protocol { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("http://127.0.0.1:1/messages"), "{message}");
    assert!(message.contains("refusing"), "{message}");
    assert!(!message.contains('\n'));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn legacy_sse_without_endpoint_times_out() {
    let (mut server, url) = served_fixture("--sse", &["--no-endpoint"], "server-memory@0.6.2.json");
    let options = ProbeOptions {
        timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(1),
        ..ProbeOptions::default()
    };
    let target = ProbeTarget::Url {
        url,
        transport: RemoteTransport::Sse,
        headers: Vec::new(),
    };
    let started = Instant::now();
    let err = probe(target, &options).await.unwrap_err();
    let elapsed = started.elapsed();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        matches!(err, ProbeError::Timeout { overall: false, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "timed out after 1s waiting for the SSE `endpoint` event"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn unreachable_urls_fail_clearly() {
    for transport in [RemoteTransport::StreamableHttp, RemoteTransport::Sse] {
        let refused = ProbeTarget::Url {
            url: "http://127.0.0.1:1/mcp".to_owned(),
            transport,
            headers: Vec::new(),
        };
        let err = probe(refused, &quick()).await.unwrap_err();
        assert!(matches!(err, ProbeError::Connect { .. }), "{err:?}");
    }
    let bad = ProbeTarget::Url {
        url: "ftp://127.0.0.1/sse".to_owned(),
        transport: RemoteTransport::Sse,
        headers: Vec::new(),
    };
    let err = probe(bad, &quick()).await.unwrap_err();
    assert!(matches!(err, ProbeError::InvalidTarget(_)), "{err:?}");
}

/// Probes a misbehaving fixture, checks the error and that no process is left.
async fn misbehaving(flag: &str, options: &ProbeOptions) -> (ProbeError, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let path = capture("server-memory@2026.8.31.json");
    let target = stdio_target(&[
        "--capture",
        path.to_str().unwrap(),
        flag,
        "--pid-file",
        pid_file.to_str().unwrap(),
    ]);
    let started = Instant::now();
    let err = probe(target, options).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        !alive(pid_of(&pid_file)),
        "{flag}: the server outlived the probe"
    );
    (err, elapsed)
}

#[tokio::test]
async fn the_servers_own_children_are_stopped_too() {
    let dir = tempfile::tempdir().unwrap();
    let grandchild = dir.path().join("grandchild");
    let path = capture("server-memory@0.6.2.json");
    for flag in ["--page-size", "--hang"] {
        let mut args = vec![
            "--capture",
            path.to_str().unwrap(),
            "--grandchild-pid-file",
            grandchild.to_str().unwrap(),
        ];
        if flag == "--hang" {
            args.push("--hang");
        } else {
            args.extend([flag, "3"]);
        }
        let options = ProbeOptions {
            timeout: Duration::from_secs(if flag == "--hang" { 2 } else { 20 }),
            shutdown_grace: Duration::from_millis(300),
            ..ProbeOptions::default()
        };
        let result = probe(stdio_target(&args), &options).await;
        assert_eq!(result.is_ok(), flag != "--hang", "{flag}: {result:?}");
        let pid = pid_of(&grandchild);
        // SIGKILL went to the whole group before probe returned; allow the kernel a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        while running(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !running(pid),
            "{flag}: the server's child {pid} outlived the probe"
        );
    }
}

#[tokio::test]
async fn crash_during_initialize_quotes_stderr() {
    let (err, _) = misbehaving("--crash-on-initialize", &quick()).await;
    let message = err.to_string();
    assert!(matches!(err, ProbeError::Exited { .. }), "{err:?}");
    assert!(message.contains("during initialize"), "{message}");
    assert!(message.contains("exit code 3"), "{message}");
    assert!(message.contains("cannot open database"), "{message}");
    assert!(!message.contains('\n'));
}

#[tokio::test]
async fn garbage_on_stdout_is_invalid_json_rpc() {
    let (err, elapsed) = misbehaving("--garbage", &quick()).await;
    assert!(matches!(err, ProbeError::InvalidJsonRpc { .. }), "{err:?}");
    assert!(err.to_string().contains("not JSON-RPC"), "{err}");
    assert!(err.hint().unwrap().contains("stderr"));
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn hang_times_out_naming_the_step_and_kills_the_server() {
    let options = ProbeOptions {
        timeout: Duration::from_secs(2),
        shutdown_grace: Duration::from_millis(300),
        ..ProbeOptions::default()
    };
    let (err, elapsed) = misbehaving("--hang", &options).await;
    assert!(matches!(err, ProbeError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("waiting for initialize"), "{err}");
    // 2 s timeout + 0.3 s grace + 1 s after SIGTERM, with slack for a loaded machine.
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
}

#[tokio::test]
async fn repeated_cursor_stops_pagination() {
    let (err, _) = misbehaving("--repeat-cursor", &quick()).await;
    assert!(matches!(err, ProbeError::Pagination { .. }), "{err:?}");
    assert!(err.to_string().contains("twice"), "{err}");
    let options = ProbeOptions {
        max_pages: 1,
        ..quick()
    };
    let path = capture("server-everything@2026.8.31.json");
    let target = stdio_target(&["--capture", path.to_str().unwrap(), "--page-size", "1"]);
    let err = probe(target, &options).await.unwrap_err();
    assert!(err.to_string().contains("more than 1 pages"), "{err}");
}

#[tokio::test]
async fn missing_command_has_an_install_hint() {
    let target = ProbeTarget::Command {
        program: "npx-surely-not-installed-here".to_owned(),
        args: Vec::new(),
        env: Vec::new(),
    };
    let err = probe(target, &quick()).await.unwrap_err();
    assert!(matches!(err, ProbeError::CommandNotFound { .. }), "{err:?}");
    assert!(err.hint().unwrap().contains("PATH"));
    let npx = ProbeError::CommandNotFound {
        program: "npx".to_owned(),
    };
    assert!(npx.hint().unwrap().contains("Node.js"));
}

#[test]
fn cli_writes_a_surface_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("surface.json");
    let path = capture("server-everything@2025.11.25.json");
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-reg"))
        .args(["probe", "--timeout", "30", "-o"])
        .arg(&out)
        .arg("--")
        .arg(fixture())
        .args(["--capture", path.to_str().unwrap(), "--page-size", "4"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains("11 tools"), "{stderr}");
    let written = ToolSurface::from_json(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(written, load("server-everything@2025.11.25.json"));
}

#[test]
fn cli_prints_to_stdout_and_fails_with_exit_1() {
    let path = capture("server-memory@2025.9.25.json");
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-reg"))
        .args(["probe", "--"])
        .arg(fixture())
        .args(["--capture", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        ToolSurface::from_json(&output.stdout).unwrap(),
        load("server-memory@2025.9.25.json")
    );
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-reg"))
        .args(["probe", "--"])
        .arg(fixture())
        .arg("--crash-on-initialize")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: the server exited during initialize"),
        "{stderr}"
    );
}

#[test]
fn cli_manifest_with_unmappable_package_exits_1_with_hint() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("server.json");
    std::fs::write(
        &manifest,
        r#"{
  "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
  "name": "io.github.acme/bundle",
  "description": "A bundle-only server",
  "version": "1.0.0",
  "packages": [{"registryType": "mcpb", "identifier": "https://example.com/b.mcpb",
                "version": "1.0.0", "fileSha256": "00", "transport": {"type": "stdio"}}]
}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-reg"))
        .args(["probe", "--manifest"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: cannot probe"), "{stderr}");
    assert!(stderr.contains("mcpb"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    // A missing input names the flag that supplies it.
    std::fs::write(
        &manifest,
        r#"{"name": "io.github.acme/weather", "description": "d", "version": "1.0.0",
  "packages": [{"registryType": "npm", "identifier": "@acme/w", "version": "1.0.0",
                "transport": {"type": "stdio"},
                "packageArguments": [{"type": "positional", "valueHint": "dir", "isRequired": true}]}]}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-reg"))
        .args(["probe", "--manifest"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("hint: pass --env dir=VALUE"), "{stderr}");
}

#[test]
fn cli_usage_and_user_errors() {
    // Nothing to probe is a usage error (clap, exit 2); an unreadable manifest is the user's to fix
    // (exit 1 with a hint).
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-reg"))
        .args(["probe"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-reg"))
        .args(["probe", "--manifest", "/nonexistent/server.json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
}
