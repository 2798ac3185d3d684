//! `registry-server` as a real child process: token creation, import, and serving over a real socket.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_registry-server"));
    // Keep tests off the developer's real config and data.
    command
        .env_remove("REGISTRY_DATABASE_URL")
        .env_remove("REGISTRY_DATA_DIR");
    command
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/corpus/servers-2025-12-11.json")
}

fn run(args: &[&str], data_dir: &Path) -> Output {
    server()
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap()
}

/// One HTTP/1.1 request over a plain socket: (status, body).
fn http(address: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

struct Running {
    child: Child,
    address: String,
}

impl Running {
    fn start(data_dir: &Path) -> Self {
        let mut child = server()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, address }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn import_token_serve_publish_and_shut_down() {
    let dir = tempfile::tempdir().unwrap();
    let imported = run(&["import", corpus().to_str().unwrap()], dir.path());
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(
        String::from_utf8_lossy(&imported.stderr)
            .contains("imported 464 version(s), 0 already present, 0 rejected")
    );
    // Importing again changes nothing.
    let again = run(&["import", corpus().to_str().unwrap()], dir.path());
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("imported 0 version(s), 464 already present")
    );

    let created = run(
        &["token", "create", "--publish", "io.github.alice/*"],
        dir.path(),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(
        token.starts_with("mcpr_") && !token.contains('\n'),
        "the secret alone goes to stdout: {token}"
    );

    let running = Running::start(dir.path());
    let (status, body) = http(&running.address, "GET", "/v0.1/servers?limit=5", None, "");
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["metadata"]["count"], 5);

    let manifest =
        r#"{"name":"io.github.alice/weather","description":"Weather","version":"1.0.0"}"#;
    let (status, body) = http(
        &running.address,
        "POST",
        "/v0.1/publish",
        Some(&token),
        manifest,
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(
        &running.address,
        "POST",
        "/v0.1/publish",
        Some(&token),
        &manifest.replace("alice", "bob"),
    );
    assert_eq!(status, 403);
    let (status, _) = http(
        &running.address,
        "GET",
        "/v0.1/servers/io.github.alice%2Fweather/versions/latest",
        None,
        "",
    );
    assert_eq!(status, 200);

    let exit = running.terminate();
    assert!(exit.success(), "graceful shutdown on SIGTERM: {exit:?}");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let no_patterns = run(&["token", "create"], dir.path());
    assert_eq!(no_patterns.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_patterns.stderr).contains("--publish"));

    let bad_pattern = run(&["token", "create", "--publish", "io.*.x/*"], dir.path());
    assert_eq!(bad_pattern.status.code(), Some(1));

    let file = dir.path().join("list.json");
    std::fs::write(&file, r#"[{"name":"io.github.a/ok","description":"d","version":"1.0.0"},{"name":"bad","description":"d","version":"latest"}]"#).unwrap();
    let partial = run(&["import", file.to_str().unwrap()], dir.path());
    assert_eq!(partial.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&partial.stderr);
    assert!(
        stderr.contains("entry 1 rejected: error[name-format]"),
        "{stderr}"
    );
    assert!(stderr.contains("imported 1 version(s)"), "{stderr}");

    let missing = run(&["import", "/no/such/file.json"], dir.path());
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("reading `/no/such/file.json`"));

    let bad_url = server()
        .args(["migrate", "--database-url", "mysql://u:secret@h/db"])
        .output()
        .unwrap();
    assert_eq!(bad_url.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad_url.stderr);
    assert!(
        stderr.contains("must start with postgres:// or sqlite:") && !stderr.contains("secret"),
        "{stderr}"
    );
}

#[test]
fn openapi_command_prints_the_spec() {
    let output = server().arg("openapi").output().unwrap();
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
}
