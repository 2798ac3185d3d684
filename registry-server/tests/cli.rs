//! `registry-server` as a real child process: token creation, import, and serving over a real socket.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

mod common;
use common::PgDatabase;

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
    let (status, _, body) = http_with_head(address, method, path, token, body);
    (status, body)
}

/// Like [`http`], also returning the response head (status line and headers, lowercased).
fn http_with_head(
    address: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String, String) {
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
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

struct Running {
    child: Child,
    address: String,
    /// What `serve` said about where its data lives (`data: …`).
    data: String,
}

impl Running {
    fn start(data_dir: &Path) -> Self {
        Self::start_with(&["--data-dir", data_dir.to_str().unwrap()])
    }

    fn start_with(args: &[&str]) -> Self {
        Self::start_command(server(), args)
    }

    /// `command` (e.g. [`server`] with extra environment) running `serve` with `args`.
    fn start_command(mut command: Command, args: &[&str]) -> Self {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut next_line = || {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            // Logs to a pipe are plain text: no terminal colour codes.
            assert!(
                !line.contains('\u{1b}'),
                "ANSI escape in piped logs: {line:?}"
            );
            line
        };
        let address = loop {
            let line = next_line();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        let data = loop {
            let line = next_line();
            if let Some(rest) = line.strip_prefix("data: ") {
                break rest.to_owned();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            address,
            data,
        }
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
    assert_eq!(
        running.data,
        dir.path().join("registry.db").display().to_string(),
        "serve says where its data lives"
    );
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

    // Tokens are listed without their secrets and revoked from the command line, while it serves.
    let listed = run(&["token", "list", "--json"], dir.path());
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    let entry: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert!(
        !listed.contains(&token) && !listed.contains("sha256"),
        "{listed}"
    );
    assert_eq!(entry["revokedAt"], serde_json::Value::Null);
    let id = entry["id"].as_str().unwrap().to_owned();
    let table = run(&["token", "list"], dir.path());
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.starts_with("ID ") && table.contains("publish:io.github.alice/*"),
        "{table}"
    );
    let revoked = run(&["token", "revoke", &id], dir.path());
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let (status, _) = http(
        &running.address,
        "POST",
        "/v0.1/publish",
        Some(&token),
        &manifest.replace("1.0.0", "1.0.1"),
    );
    assert_eq!(status, 401, "a revoked token authenticates nothing");
    let unknown = run(&["token", "revoke", "nosuchid"], dir.path());
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("token list"));

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

fn manifest(name: &str, version: &str) -> String {
    format!(r#"{{"name":"{name}","description":"Replicated server","version":"{version}"}}"#)
}

/// Three server processes on one PostgreSQL database, as behind a load balancer.
#[test]
fn three_replicas_share_one_postgres() {
    let db = PgDatabase::create("mcpreg_replicas");
    let with_db = |args: &[&str]| {
        server()
            .args(args)
            .args(["--database-url", &db.url])
            .output()
            .unwrap()
    };
    let migrated = with_db(&["migrate"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let token = || {
        let created = with_db(&["token", "create", "--publish", "io.github.team/*"]);
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        String::from_utf8(created.stdout).unwrap().trim().to_owned()
    };
    let replicas: Vec<Running> = (0..3)
        .map(|_| {
            Running::start_with(&[
                "--database-url",
                &db.url,
                "--no-migrate",
                "--write-limit-per-token",
                "5",
                "--write-limit-per-ip",
                "0",
            ])
        })
        .collect();
    let addresses: Vec<String> = replicas.iter().map(|r| r.address.clone()).collect();

    // 3 servers x 8 versions, published concurrently and spread over the replicas, each version by a
    // token of its own (tokens are created once, in the database, and valid on every replica).
    let names = [
        "io.github.team/alpha",
        "io.github.team/beta",
        "io.github.team/gamma",
    ];
    let jobs: Vec<(String, String, String, String)> = names
        .iter()
        .flat_map(|name| (0..8).map(move |minor| (name.to_string(), format!("1.{minor}.0"))))
        .enumerate()
        .map(|(i, (name, version))| (addresses[i % 3].clone(), token(), name, version))
        .collect();
    let handles: Vec<_> = jobs
        .into_iter()
        .enumerate()
        .map(|(i, (address, token, name, version))| {
            let others: Vec<String> = (1..3).map(|k| addresses[(i + k) % 3].clone()).collect();
            std::thread::spawn(move || {
                let (status, body) = http(
                    &address,
                    "POST",
                    "/v0.1/publish",
                    Some(&token),
                    &manifest(&name, &version),
                );
                assert_eq!(status, 200, "{name} {version} via {address}: {body}");
                // Once acknowledged, the version is readable from every other replica at once.
                let path = format!(
                    "/v0.1/servers/{}/versions/{version}",
                    name.replace('/', "%2F")
                );
                for other in others {
                    let (status, body) = http(&other, "GET", &path, None, "");
                    assert_eq!(
                        status, 200,
                        "{name} {version} not visible on {other}: {body}"
                    );
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }

    // Exactly one latest per server, the highest version, whichever replica answers, at once: with
    // strict cache consistency (the default) no replica serves a page older than an acknowledged write.
    for address in &addresses {
        for name in names {
            let path = format!("/v0.1/servers/{}/versions", name.replace('/', "%2F"));
            let (status, body) = http(address, "GET", &path, None, "");
            assert_eq!(status, 200, "{body}");
            let list: serde_json::Value = serde_json::from_str(&body).unwrap();
            let servers = list["servers"].as_array().unwrap();
            let latest: Vec<&str> = servers
                .iter()
                .filter(|s| {
                    s["_meta"]["io.modelcontextprotocol.registry/official"]["isLatest"] == true
                })
                .map(|s| s["server"]["version"].as_str().unwrap())
                .collect();
            assert_eq!(servers.len(), 8, "{name} on {address}");
            assert_eq!(latest, ["1.7.0"], "{name} on {address}");
        }
    }

    // Read-after-write through warm caches: every replica caches the latest page, one replica takes a
    // write, and the very next read on each other replica shows it.
    let latest_path = "/v0.1/servers/io.github.team%2Falpha/versions/latest";
    let mut hits = 0;
    for round in 0..12_usize {
        for address in &addresses {
            http(address, "GET", latest_path, None, "");
            let (status, head, _) = http_with_head(address, "GET", latest_path, None, "");
            assert_eq!(status, 200);
            hits += usize::from(head.contains("x-cache: hit"));
        }
        let version = format!("1.{}.0", round + 8);
        let writer = &addresses[round % 3];
        let (status, body) = http(
            writer,
            "POST",
            "/v0.1/publish",
            Some(&token()),
            &manifest("io.github.team/alpha", &version),
        );
        assert_eq!(status, 200, "{body}");
        for address in &addresses {
            let (status, body) = http(address, "GET", latest_path, None, "");
            assert_eq!(status, 200, "{body}");
            let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                seen["server"]["version"],
                version.as_str(),
                "{address} right after {writer} acknowledged {version}"
            );
        }
    }
    assert!(
        hits >= 30,
        "the replicas served their warm pages from cache ({hits} of 36)"
    );

    // One token's write limit (5 per minute) holds across replicas. Start inside a minute window so
    // the count cannot be split by a window boundary.
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 50 {
        std::thread::sleep(std::time::Duration::from_secs(61 - into_minute));
    }
    let limited = token();
    let statuses: Vec<u16> = (0..7)
        .map(|i| {
            let version = format!("2.{i}.0");
            http(
                &addresses[i % 3],
                "POST",
                "/v0.1/publish",
                Some(&limited),
                &manifest("io.github.team/delta", &version),
            )
            .0
        })
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429, 429],
        "limit shared by the replicas"
    );

    for replica in replicas {
        assert!(replica.terminate().success());
    }
}

/// The serve flags of the ownership checks reach the running server (a package registry that cannot be
/// reached makes the publish a 503, not a silent pass).
#[test]
fn serve_flags_configure_package_ownership_checks() {
    let dir = tempfile::tempdir().unwrap();
    let created = run(
        &["token", "create", "--publish", "io.github.alice/*"],
        dir.path(),
    );
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let running = Running::start_with(&[
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--verify-packages",
        "npm",
        "--npm-registry-url",
        "http://127.0.0.1:9",
    ]);
    let manifest = r#"{"name":"io.github.alice/weather","description":"Weather","version":"1.0.0",
        "packages":[{"registryType":"npm","identifier":"@alice/weather","version":"1.0.0","transport":{"type":"stdio"}}]}"#;
    let (status, body) = http(
        &running.address,
        "POST",
        "/v0.1/publish",
        Some(&token),
        manifest,
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("npm"), "{body}");
    assert!(running.terminate().success());
}

/// An environment proxy must not carry the guarded ownership checks: through it the proxy would
/// resolve the publisher's host and the public-address check would only see the proxy. The image
/// names a registry on `localhost`; with every proxy variable pointing at a listener, the publish is
/// refused as a loopback fetch and the listener never sees a connection.
#[test]
fn guarded_ownership_checks_ignore_environment_proxies() {
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    // A host name, so the check has to resolve it (an IP literal is judged before any connection).
    let registry = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let registry_host = format!("localhost:{}", registry.local_addr().unwrap().port());

    let dir = tempfile::tempdir().unwrap();
    let created = run(
        &["token", "create", "--publish", "io.github.alice/*"],
        dir.path(),
    );
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let mut command = server();
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env(var, &proxy_url);
    }
    command.env_remove("NO_PROXY").env_remove("no_proxy");
    let running = Running::start_command(
        command,
        &[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--verify-packages",
            "oci",
            "--oci-allowed-registries",
            &registry_host,
        ],
    );
    let manifest = format!(
        r#"{{"name":"io.github.alice/weather","description":"Weather","version":"1.0.0",
        "packages":[{{"registryType":"oci","identifier":"{registry_host}/alice/weather:1.0.0","transport":{{"type":"stdio"}}}}]}}"#
    );
    let (status, body) = http(
        &running.address,
        "POST",
        "/v0.1/publish",
        Some(&token),
        &manifest,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("public addresses"), "{body}");
    assert!(
        proxy.accept().is_err(),
        "the guarded check went through the environment proxy"
    );
    assert!(running.terminate().success());
}
