//! `mcp-reg announce` / `discover` / `discover --watch --sync` end to end, each test inside its own
//! network namespace (`registry_discovery::testing`): loopback only, or two namespaces joined by a
//! veth pair for the cross-host case. mDNS runs on port 5454 on the namespace's interfaces only;
//! nothing ever touches the machine's real interfaces. Waits are upper bounds, not assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use registry_cli::lan::serve::{File, FileServer, MANIFEST_PATH};
use registry_discovery::testing::{self, TEST_PORT};
use registry_discovery::{Announcer, MdnsConfig, ServiceSpec};
use registry_schema::ServerName;
use registry_schema::discovery::{LanTransport, RegistryTxt, ServerTxt, Txt};
use serde_json::{Value, json};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);
const PORT: &str = "5454";

/// A user with temp config, data and home dirs.
struct User {
    root: TempDir,
}

impl User {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        Self { root }
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn cursor_config(&self) -> PathBuf {
        self.home().join(".cursor").join("mcp.json")
    }

    fn records(&self) -> Vec<Value> {
        match std::fs::read(self.root.path().join("data").join("installed.json")) {
            Ok(bytes) => serde_json::from_slice::<Value>(&bytes).unwrap()["installs"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    fn write(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        path
    }

    /// `mcp-reg ARGS` with this user's dirs and mDNS on `interface`, port 5454.
    fn cmd(&self, interface: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-reg"));
        cmd.args(args)
            .env("MCP_REG_CONFIG_DIR", self.root.path().join("config"))
            .env("MCP_REG_DATA_DIR", self.root.path().join("data"))
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("MCP_REG_MDNS_INTERFACE", interface)
            .env("MCP_REG_MDNS_PORT", PORT)
            .env("MCP_REG_NO_LAN_OFFER", "1")
            .env_remove("MCP_REG_REGISTRY")
            .current_dir(self.home());
        cmd
    }
}

/// A running `mcp-reg` whose stdout JSON lines are collected; killed when dropped.
struct Proc {
    child: Option<Child>,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Proc {
    fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Self {
            child: Some(child),
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// The next line `pick` accepts (lines before it are kept in `seen`).
    fn expect(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if pick(&line) => return line,
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("no {what} within {WAIT:?}; saw {:#?}", self.seen)
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the process ended before {what}; saw {:#?}", self.seen)
                }
            }
        }
    }

    /// Every line until the process ends.
    fn rest(&mut self) -> Vec<Value> {
        self.lines.iter().collect()
    }

    /// SIGTERM (as Ctrl-C would), then the exit status.
    fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn manifest(name: &str, version: &str, remote: &str) -> Value {
    json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": name,
        "description": "A test server",
        "title": name.rsplit('/').next().unwrap(),
        "version": version,
        "remotes": [{ "type": "streamable-http", "url": remote }],
    })
}

fn is_event(name: &'static str) -> impl Fn(&Value) -> bool {
    move |line| line["event"] == name
}

fn announce(user: &User, interface: &str, manifest: &Path, serve_on: &str) -> Proc {
    let mut announcer = Proc::spawn(user.cmd(
        interface,
        &[
            "announce",
            "--manifest",
            manifest.to_str().unwrap(),
            "--remote",
            "0",
            "--serve-on",
            serve_on,
            "--json",
        ],
    ));
    announcer.expect("announced", is_event("announced"));
    announcer
}

#[test]
fn announce_then_discover_servers_and_registries() {
    if !testing::enter_netns("announce_then_discover_servers_and_registries") {
        return;
    }
    let user = User::new();
    let weather = user.write(
        "weather.json",
        &manifest(
            "io.github.acme/weather",
            "1.2.0",
            "http://127.0.0.1:9000/mcp",
        ),
    );
    let mut server = announce(&user, "lo", &weather, "127.0.0.1:0");
    let registry = Announcer::start(
        &MdnsConfig {
            interfaces: vec!["lo".into()],
            port: TEST_PORT,
            ..MdnsConfig::default()
        },
        ServiceSpec {
            instance: "mcp-reg on test".into(),
            host_name: Some("registry-host.local.".into()),
            port: 8080,
            addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            txt: Txt::Registry(RegistryTxt {
                path: "/v0.1".into(),
                tls: false,
                name: Some("mcp-reg".into()),
                version: Some("0.1.0".into()),
            }),
        },
    )
    .unwrap();

    let output = user
        .cmd("lo", &["discover", "--timeout", "4", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed["v"], 1);
    let services = listed["services"].as_array().unwrap();
    let server_entry = services.iter().find(|s| s["kind"] == "server").unwrap();
    assert_eq!(server_entry["name"], "io.github.acme/weather");
    assert_eq!(server_entry["version"], "1.2.0");
    assert_eq!(server_entry["transport"], "streamable-http");
    assert_eq!(server_entry["port"], 9000);
    assert_eq!(server_entry["endpoint"], "http://127.0.0.1:9000/mcp");
    let digest = registry_schema::canonical::digest(
        &serde_json::from_slice::<Value>(&std::fs::read(&weather).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(server_entry["digest"], digest.to_string());
    assert!(
        server_entry["instance"]
            .as_str()
            .unwrap()
            .starts_with("weather (io.github.acme/weather) on ")
    );
    // The announced manifest URL serves the manifest.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fetched = reqwest::blocking::get(server_entry["manifest"].as_str().unwrap())
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(fetched["name"], "io.github.acme/weather");
    let registry_entry = services.iter().find(|s| s["kind"] == "registry").unwrap();
    assert_eq!(registry_entry["instance"], "mcp-reg on test");
    assert_eq!(registry_entry["endpoint"], "http://127.0.0.1:8080/v0.1");
    assert_eq!(registry_entry["transport"], Value::Null);

    assert!(server.terminate().success());
    assert!(
        server.rest().iter().any(is_event("withdrawn")),
        "announce reports the goodbye"
    );
    registry.stop().unwrap();
}

#[test]
fn goodbye_is_a_left_event_in_the_json_stream() {
    if !testing::enter_netns("goodbye_is_a_left_event_in_the_json_stream") {
        return;
    }
    let user = User::new();
    let mut watch = Proc::spawn(user.cmd("lo", &["discover", "--watch", "--json"]));
    let mut announcer = Proc::spawn(user.cmd(
        "lo",
        &[
            "announce",
            "--url",
            "http://127.0.0.1:9100/mcp",
            "--name",
            "io.github.acme/clock",
            "--json",
        ],
    ));
    let started = announcer.expect("announced", is_event("announced"));
    let appeared = watch.expect("appeared", is_event("appeared"));
    assert_eq!(appeared["v"], 1);
    assert_eq!(appeared["fullname"], started["fullname"]);
    assert_eq!(appeared["name"], "io.github.acme/clock");
    assert_eq!(
        appeared["manifest"],
        Value::Null,
        "--url announces no manifest"
    );
    assert!(announcer.terminate().success());
    let left = watch.expect("left", is_event("left"));
    assert_eq!(left["fullname"], started["fullname"]);
    assert_eq!(left["kind"], "server");
    assert_eq!(left["instance"], appeared["instance"]);
    assert!(watch.terminate().success());
}

#[test]
fn a_digest_mismatch_is_not_installed() {
    if !testing::enter_netns("a_digest_mismatch_is_not_installed") {
        return;
    }
    let user = User::new();
    let real = manifest(
        "io.github.acme/weather",
        "1.2.0",
        "http://127.0.0.1:9000/mcp",
    );
    let files = FileServer::start(
        "127.0.0.1:0".parse().unwrap(),
        vec![File {
            path: MANIFEST_PATH,
            body: serde_json::to_vec(&real).unwrap().into(),
        }],
    )
    .unwrap();
    let mut watch = Proc::spawn(user.cmd(
        "lo",
        &[
            "discover",
            "--watch",
            "--json",
            "--sync",
            "cursor",
            "--trust",
            "io.github.acme/weather",
        ],
    ));
    // A record whose sha256 is not the served manifest's (as a spoofer or a stale record would be).
    let announcer = Announcer::start(
        &MdnsConfig {
            interfaces: vec!["lo".into()],
            port: TEST_PORT,
            ..MdnsConfig::default()
        },
        ServiceSpec {
            instance: "Spoofed weather".into(),
            host_name: Some("spoofer.local.".into()),
            port: 9000,
            addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            txt: Txt::Server(ServerTxt {
                path: "/mcp".into(),
                transport: LanTransport::StreamableHttp,
                tls: false,
                name: ServerName::parse("io.github.acme/weather").unwrap(),
                version: Some("1.2.0".into()),
                manifest: Some(format!(
                    "http://127.0.0.1:{}{MANIFEST_PATH}",
                    files.local_addr().port()
                )),
                sha256: Some(registry_schema::Digest::of_bytes(b"something else")),
                bundle: None,
            }),
        },
    )
    .unwrap();
    let skipped = watch.expect("skipped", is_event("skipped"));
    assert_eq!(skipped["action"], "install");
    assert_eq!(skipped["instance"], "Spoofed weather");
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("digest mismatch"),
        "{skipped}"
    );
    assert!(watch.seen.iter().all(|l| l["event"] != "installed"));
    assert!(!user.cursor_config().exists(), "nothing was written");
    assert!(user.records().is_empty());
    announcer.stop().unwrap();
    assert!(watch.terminate().success());
}

#[test]
#[allow(clippy::too_many_lines)] // one story: install, refuse twice, remove only ours
fn sync_installs_and_removes_only_its_own_entries() {
    if !testing::enter_netns("sync_installs_and_removes_only_its_own_entries") {
        return;
    }
    let user = User::new();
    // The user's own entries: one unrelated, one with the name a LAN server will want.
    std::fs::create_dir_all(user.cursor_config().parent().unwrap()).unwrap();
    let own = json!({ "mcpServers": {
        "mine": { "url": "http://127.0.0.1:1/mcp" },
        "notes": { "url": "http://127.0.0.1:2/mcp" },
    }});
    std::fs::write(
        user.cursor_config(),
        serde_json::to_vec_pretty(&own).unwrap(),
    )
    .unwrap();
    let weather = user.write(
        "weather.json",
        &manifest(
            "io.github.acme/weather",
            "1.2.0",
            "http://127.0.0.1:9000/mcp",
        ),
    );
    let notes = user.write(
        "notes.json",
        &manifest("io.github.acme/notes", "0.3.0", "http://127.0.0.1:9001/mcp"),
    );
    let untrusted = user.write(
        "untrusted.json",
        &manifest(
            "io.github.mallory/stealer",
            "1.0.0",
            "http://127.0.0.1:9002/mcp",
        ),
    );
    let mut watch = Proc::spawn(user.cmd(
        "lo",
        &[
            "discover",
            "--watch",
            "--json",
            "--sync",
            "cursor",
            "--trust",
            "io.github.acme/weather",
            "--trust",
            "io.github.acme/notes",
        ],
    ));
    let mut weather_announcer = announce(&user, "lo", &weather, "127.0.0.1:0");
    let installed = watch.expect("installed", is_event("installed"));
    assert_eq!(installed["name"], "io.github.acme/weather");
    assert_eq!(installed["host"], "cursor");
    assert_eq!(installed["entry"], "weather");
    assert_eq!(installed["trust"], "trusted-name");
    let config: Value =
        serde_json::from_slice(&std::fs::read(user.cursor_config()).unwrap()).unwrap();
    assert_eq!(
        config["mcpServers"]["weather"]["url"],
        "http://127.0.0.1:9000/mcp"
    );
    let records = user.records();
    assert_eq!(records.len(), 1);
    assert!(records[0]["origin"].as_str().unwrap().starts_with("lan:"));

    // Same entry name as the user's own `notes`: refused, the user's entry stays.
    let mut notes_announcer = announce(&user, "lo", &notes, "127.0.0.1:0");
    let skipped = watch.expect("skipped notes", |l| {
        l["event"] == "skipped" && l["name"] == "io.github.acme/notes"
    });
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("not added by mcp-reg"),
        "{skipped}"
    );

    // Not trusted and not signed: refused by the provenance policy.
    let mut untrusted_announcer = announce(&user, "lo", &untrusted, "127.0.0.1:0");
    let refused = watch.expect("skipped untrusted", |l| {
        l["event"] == "skipped" && l["name"] == "io.github.mallory/stealer"
    });
    assert!(
        refused["reason"].as_str().unwrap().contains("trusted"),
        "{refused}"
    );

    // Leaving: only the entry sync added goes.
    assert!(notes_announcer.terminate().success());
    assert!(untrusted_announcer.terminate().success());
    assert!(weather_announcer.terminate().success());
    let removed = watch.expect("removed", is_event("removed"));
    assert_eq!(removed["entry"], "weather");
    assert_eq!(removed["fullname"], installed["fullname"]);
    let config: Value =
        serde_json::from_slice(&std::fs::read(user.cursor_config()).unwrap()).unwrap();
    assert_eq!(
        config["mcpServers"], own["mcpServers"],
        "the user's entries are untouched"
    );
    assert!(user.records().is_empty());
    assert!(watch.terminate().success());
    let rest = watch.rest();
    assert!(
        watch
            .seen
            .iter()
            .chain(&rest)
            .filter(|l| l["event"] == "removed")
            .count()
            == 0,
        "no removal besides weather's: {rest:#?}"
    );
}

#[test]
fn two_announcers_with_the_same_name_get_distinct_instances() {
    if !testing::enter_netns("two_announcers_with_the_same_name_get_distinct_instances") {
        return;
    }
    let user = User::new();
    let start = |port: &str| {
        let url = format!("http://127.0.0.1:{port}/mcp");
        let mut proc = Proc::spawn(user.cmd(
            "lo",
            &[
                "announce",
                "--url",
                &url,
                "--name",
                "io.github.acme/twin",
                "--instance",
                "Twin",
                "--json",
            ],
        ));
        proc.expect("announced", is_event("announced"));
        proc
    };
    let mut first = start("9201");
    let mut second = start("9202");
    let output = user
        .cmd(
            "lo",
            &["discover", "--timeout", "4", "--json", "--only", "servers"],
        )
        .output()
        .unwrap();
    assert!(output.status.success());
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let services = listed["services"].as_array().unwrap();
    let mut instances: Vec<&str> = services
        .iter()
        .map(|s| s["instance"].as_str().unwrap())
        .collect();
    instances.sort_unstable();
    assert_eq!(instances.len(), 2, "{services:#?}");
    assert_ne!(instances[0], instances[1]);
    assert!(instances.contains(&"Twin"), "{instances:?}");
    let mut ports: Vec<u64> = services
        .iter()
        .map(|s| s["port"].as_u64().unwrap())
        .collect();
    ports.sort_unstable();
    assert_eq!(ports, [9201, 9202]);
    assert!(first.terminate().success());
    assert!(second.terminate().success());
    // The one that was renamed said so (before or after its `announced` line).
    let mut lines = first.rest();
    lines.extend(second.rest());
    lines.extend(first.seen.drain(..).chain(second.seen.drain(..)));
    let renamed: Vec<&Value> = lines.iter().filter(|l| l["event"] == "renamed").collect();
    assert_eq!(renamed.len(), 1, "{lines:#?}");
    assert!(instances.contains(&renamed[0]["instance"].as_str().unwrap()));
}

#[test]
fn sync_across_a_veth_pair() {
    let Some(veth) = testing::enter_veth("sync_across_a_veth_pair") else {
        return;
    };
    let user = User::new();
    let remote = format!("http://{}:9300/mcp", veth.peer_addr);
    let weather = user.write(
        "weather.json",
        &manifest("io.github.acme/weather", "1.2.0", &remote),
    );
    let mut watch = Proc::spawn(user.cmd(
        &veth.ifname,
        &[
            "discover",
            "--watch",
            "--json",
            "--sync",
            "cursor",
            "--trust",
            "io.github.acme/weather",
        ],
    ));
    // The announcer runs on the other host, serving the manifest on its veth address.
    let mut cmd = veth.in_peer(env!("CARGO_BIN_EXE_mcp-reg"));
    let peer_cmd = user.cmd("vb", &[]);
    for (key, value) in peer_cmd.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd.args([
        "announce",
        "--manifest",
        weather.to_str().unwrap(),
        "--serve-on",
        &format!("{}:0", veth.peer_addr),
        "--json",
    ]);
    let mut announcer = Proc::spawn(cmd);
    announcer.expect("announced", is_event("announced"));
    let appeared = watch.expect("appeared", is_event("appeared"));
    assert_eq!(appeared["addresses"], json!([veth.peer_addr.to_string()]));
    assert_eq!(appeared["endpoint"], remote);
    let installed = watch.expect("installed", is_event("installed"));
    assert_eq!(installed["entry"], "weather");
    let config: Value =
        serde_json::from_slice(&std::fs::read(user.cursor_config()).unwrap()).unwrap();
    assert_eq!(config["mcpServers"]["weather"]["url"], remote);
    assert!(announcer.terminate().success());
    let removed = watch.expect("removed", is_event("removed"));
    assert_eq!(removed["entry"], "weather");
    assert!(watch.terminate().success());
}
