#![allow(clippy::unwrap_used, dead_code)] // shared by several test binaries, each using a part
//! Test scaffolding shared by the end-to-end tests: the real registry (embedded SQLite in a temp dir)
//! on a loopback port, and a user whose config, data and home dirs are temp dirs.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use registry_server::auth::{Action, Permission, issue_token};
use registry_server::config::ServerConfig;
use registry_server::db::{DatabaseConfig, Store};
use registry_server::{AppState, serve};
use serde_json::Value;
use tempfile::TempDir;

/// A running registry; stops when dropped.
pub struct Registry {
    pub url: String,
    pub token: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _runtime: tokio::runtime::Runtime,
    data: TempDir,
}

impl Registry {
    pub fn start() -> Self {
        Self::start_with(ServerConfig::default())
    }

    /// The registry's embedded SQLite file (for tests that play an attacker with database access).
    pub fn database_path(&self) -> PathBuf {
        self.data.path().join("registry.db")
    }
}

/// The user's machine: config, data and home dirs.
pub struct User {
    pub root: TempDir,
}

impl User {
    pub fn new() -> Self {
        Self {
            root: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn cmd(&self, registry: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-reg"));
        std::fs::create_dir_all(self.home()).unwrap();
        cmd.env("MCP_REG_CONFIG_DIR", self.path("config"))
            .env("MCP_REG_DATA_DIR", self.path("data"))
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("MCP_REG_REGISTRY", registry)
            .current_dir(self.home());
        for var in [
            "XDG_DATA_HOME",
            "CLAUDE_CONFIG_DIR",
            "CODEX_HOME",
            "COPILOT_HOME",
            "OPENCODE_CONFIG",
            "APPDATA",
            "LOCALAPPDATA",
            "NO_COLOR",
            "CLICOLOR_FORCE",
            "COLUMNS",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    pub fn run(&self, registry: &str, args: &[&str]) -> Output {
        self.cmd(registry).args(args).output().unwrap()
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

pub fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

/// Stores the registry's publish token for `user`.
pub fn login(user: &User, registry: &Registry) {
    let out = user
        .cmd(&registry.url)
        .arg("login")
        .write_stdin(format!("{}\n", registry.token))
        .output()
        .unwrap();
    ok(&out);
    assert!(!text(&out.stderr).contains(&registry.token), "token leaked");
}

/// The fixture MCP server binary (`examples/fixture_server.rs`). `cargo test --workspace` builds it
/// with the tests; only a narrower run (`--test probe`) lacks it, and then it is built here once. An
/// unconditional build would resolve features for `-p registry-cli` alone and compile every dependency
/// a second time.
pub fn fixture() -> &'static Path {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        // target/<profile>/deps/<test>-<hash> -> target/<profile>/examples/fixture_server
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap();
        let path = profile_dir.join("examples").join("fixture_server");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fixture_server.rs");
        let stale = match (path.metadata(), source.metadata()) {
            (Ok(bin), Ok(src)) => bin.modified().unwrap() < src.modified().unwrap(),
            _ => true,
        };
        if stale {
            let mut build = std::process::Command::new(env!("CARGO"));
            build.args(["build", "-p", "registry-cli", "--example", "fixture_server"]);
            if profile_dir
                .file_name()
                .is_some_and(|name| name == "release")
            {
                build.arg("--release");
            }
            let target_dir = profile_dir.parent().unwrap();
            let status = build.arg("--target-dir").arg(target_dir).status().unwrap();
            assert!(status.success(), "building the fixture server failed");
        }
        path
    })
}

/// Writes an executable shell script `dir/name`.
#[cfg(unix)]
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

impl Registry {
    /// A registry with `config` (e.g. `ServerConfig { auth: …, ..Default::default() }` for the
    /// `/v0.1/auth/*` exchanges); `token` is an operator token that may publish anything.
    pub fn start_with(config: ServerConfig) -> Self {
        Self::start_with_servers(config, &[])
    }

    /// A registry that starts with `manifests` (server.json texts) imported, as
    /// `registry-server import` would (every one must validate under the lenient policy).
    pub fn start_with_servers(config: ServerConfig, manifests: &[String]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let data_dir = data.path().to_path_buf();
        let (url, token) = runtime.block_on(async move {
            let store = Store::connect(&DatabaseConfig {
                database_url: None,
                data_dir: Some(data_dir),
                max_connections: 4,
                min_connections: 0,
                acquire_timeout: Duration::from_secs(5),
            })
            .await
            .unwrap();
            store.migrate().await.unwrap();
            if !manifests.is_empty() {
                let list = format!("[{}]", manifests.join(","));
                let entries = registry_server::import::read_entries(&list).unwrap();
                let report = registry_server::import::import_entries(
                    &store,
                    &entries,
                    &registry_schema::Policy::lenient(),
                    |_| {},
                )
                .await
                .unwrap();
                assert!(report.rejected.is_empty(), "{:?}", report.rejected);
                assert_eq!(report.inserted, manifests.len() as u64);
            }
            let issued = issue_token(&[Permission::new(Action::Publish, "*")], None).unwrap();
            store.insert_token(&issued.record).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let state = AppState::new(store, config);
            tokio::spawn(serve(listener, state, async {
                let _ = rx.await;
            }));
            (format!("http://{address}"), issued.secret)
        });
        Self {
            url,
            token,
            _shutdown: tx,
            _runtime: runtime,
            data,
        }
    }
}

/// A loopback address where connecting is refused: the socket is bound but never listens. Holding
/// it keeps another process from taking the port while the test runs, which a port that was merely
/// "free a moment ago" cannot promise when tests run in parallel.
pub fn refused_address() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let address = socket.local_addr().unwrap();
    (socket, address)
}
