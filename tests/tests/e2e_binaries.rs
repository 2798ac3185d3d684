//! The CLI issue's end-to-end acceptance flow, through the real binaries only: `registry-server serve`
//! (embedded SQLite in a temp dir) on a loopback port, and `mcp-reg` run as a user whose config, data
//! and home dirs are temp dirs: login, init, probe, publish (probing the fixture MCP server), search,
//! show, install into three hosts, list, uninstall. Every program is a child process with a cleared
//! environment; nothing leaves 127.0.0.1.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use registry_tests::binaries::binaries;
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long one command may run before it is killed and the test fails (a hang, not a slow step:
/// every step takes well under a second on a debug build).
const STEP_DEADLINE: Duration = Duration::from_secs(90);
/// How long the registry may take to print its address.
const STARTUP_DEADLINE: Duration = Duration::from_mins(1);

/// The token's namespace and the fixture server published in it.
const NAMESPACE: &str = "io.github.e2e";
const NAME: &str = "io.github.e2e/weather-fixture";
/// The entry name the hosts' files get (the part after `/`).
const ENTRY: &str = "weather-fixture";
/// The npm package `init` takes from package.json, which the fake `npx` resolves to the fixture.
const PACKAGE: &str = "weather-fixture-mcp";

// ---------------------------------------------------------------------------------------------
// The binaries

// ---------------------------------------------------------------------------------------------
// Running commands

/// What one finished command left behind.
struct Run {
    step: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step `{}` exited with {:?}\n--- stdout\n{}--- stderr\n{}",
            self.step, self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Asserts exit 0.
    fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success: {self}");
        self
    }

    /// Asserts the user-error contract: exit 1, an `error:` line and a `hint:` line on stderr.
    fn user_error(self) -> Self {
        assert_eq!(self.code, Some(1), "expected a user error: {self}");
        assert!(
            self.stderr.lines().any(|l| l.starts_with("error: ")),
            "expected an `error:` line: {self}"
        );
        assert!(
            self.stderr.lines().any(|l| l.starts_with("hint: ")),
            "expected a `hint:` line: {self}"
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {self}"))
    }
}

/// Reads a pipe to its end on a thread; the receiver gets the text.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
        });
    }
    rx
}

/// Runs `command` with `stdin` as its input; kills it (and fails the test) after [`STEP_DEADLINE`].
fn run(step: &str, mut command: Command, stdin: &str) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("step `{step}`: cannot start {command:?}: {err}"));
    if let Some(mut input) = child.stdin.take() {
        // A command that never reads its input may close it first; that is not this test's concern.
        let _ = input.write_all(stdin.as_bytes());
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .unwrap_or_else(|err| panic!("step `{step}`: cannot wait for the child: {err}"))
        {
            break Some(status);
        }
        if started.elapsed() > STEP_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // A grandchild still holding a pipe must not hang the test either.
    let collect = |rx: &mpsc::Receiver<String>| {
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| "<output not closed>\n".to_owned())
    };
    let finished = Run {
        step: step.to_owned(),
        code: status.and_then(|s| s.code()),
        stdout: collect(&stdout),
        stderr: collect(&stderr),
    };
    assert!(
        status.is_some(),
        "step `{step}` did not finish within {STEP_DEADLINE:?} and was killed: {finished}"
    );
    finished
}

// ---------------------------------------------------------------------------------------------
// The registry

/// `registry-server serve` on a loopback port; killed when dropped.
struct Registry {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Registry {
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(&binaries().server)
            .env_clear()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("step `start registry`: registry-server starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        // Reads the address, then keeps draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let registry = |child, url| Self {
            child,
            url,
            log: Arc::clone(&log),
        };
        match rx.recv_timeout(STARTUP_DEADLINE) {
            Ok(address) => registry(child, format!("http://{address}")),
            Err(err) => {
                let mut failed = registry(child, String::new());
                let _ = failed.child.kill();
                let status = failed.child.wait();
                panic!(
                    "step `start registry`: no `listening on http://` line ({err}); exit {status:?}; stderr:\n{}",
                    failed.log()
                );
            }
        }
    }

    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The user

/// A machine with nothing on it: home, config and data dirs in a temp dir, and a `PATH` holding
/// only a fake `npx` that runs the fixture server (recording its arguments).
struct User {
    root: TempDir,
    registry: String,
}

impl User {
    fn new(registry: &str) -> Self {
        let user = Self {
            root: tempfile::tempdir().expect("a temp dir for the user"),
            registry: registry.to_owned(),
        };
        std::fs::create_dir_all(user.home()).expect("the home dir is created");
        user
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// `mcp-reg --registry URL ARGS` in the home dir, with a cleared environment.
    fn mcp_reg(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&binaries().cli);
        command
            .env_clear()
            .env("PATH", self.path("bin"))
            .env("HOME", self.home())
            .env("MCP_REG_CONFIG_DIR", self.path("config"))
            .env("MCP_REG_DATA_DIR", self.path("data"))
            .env("NO_COLOR", "1")
            .current_dir(self.home())
            .arg("--registry")
            .arg(&self.registry)
            .args(args);
        command
    }

    fn run(&self, step: &str, args: &[&str]) -> Run {
        run(step, self.mcp_reg(args), "")
    }

    /// The argument lines the fake `npx` was started with, one per start.
    fn npx_starts(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("npx.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(unix)]
fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("a parent dir")).expect("the dir is created");
    std::fs::write(path, text).expect("the script is written");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("the script is made executable");
}

fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().expect("a parent dir")).expect("the dir is created");
    std::fs::write(
        path,
        serde_json::to_vec_pretty(value).expect("JSON serializes"),
    )
    .expect("the file is written");
}

/// Reads and parses a JSON file, failing with the step and the text.
fn read_json(step: &str, path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("step `{step}`: cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| {
        panic!(
            "step `{step}`: {} does not parse as JSON ({err}):\n{text}",
            path.display()
        )
    })
}

/// Sorted tool names of a surface.
fn tool_names(surface: &Value) -> Vec<String> {
    let mut names: Vec<String> = surface["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The fixture's tool surface: two tools, one described with a word found nowhere else.
fn capture() -> Value {
    json!({
        "serverInfo": { "name": "e2e-fixture", "version": "1.0.0" },
        "protocolVersion": "2025-06-18",
        "capabilities": { "tools": {} },
        "tools": [
            {
                "name": "read_barometer",
                "description": "Read the barometric pressure at a weather station",
                "inputSchema": {
                    "type": "object",
                    "properties": { "station": { "type": "string" } },
                    "required": ["station"]
                }
            },
            {
                "name": "list_stations",
                "description": "List the weather stations",
                "inputSchema": { "type": "object" }
            }
        ]
    })
}

// ---------------------------------------------------------------------------------------------
// The flow

/// Where each host keeps its user-scope config under HOME (Linux paths), and the key of its servers.
const HOSTS: [(&str, &str, &str); 3] = [
    ("cursor", ".cursor/mcp.json", "mcpServers"),
    ("claude-code", ".claude.json", "mcpServers"),
    ("vscode", ".config/Code/User/mcp.json", "servers"),
];

#[cfg(unix)]
#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one flow, step after step, as the acceptance point reads"
)]
fn publish_search_show_install_list_uninstall_through_the_binaries() {
    let bins = binaries();

    // The operator: a publish token for the namespace, in the embedded database of a temp dir.
    let data = tempfile::tempdir().expect("a temp dir for the registry");
    let mut token_create = Command::new(&bins.server);
    token_create
        .env_clear()
        .args([
            "token",
            "create",
            "--publish",
            &format!("{NAMESPACE}/*"),
            "--description",
            "e2e",
            "--data-dir",
        ])
        .arg(data.path());
    let created = run("token create", token_create, "").ok();
    let token = created.stdout.trim().to_owned();
    assert!(
        token.starts_with("mcpr_") && !token.contains(char::is_whitespace),
        "step `token create`: stdout holds only the secret: {created}"
    );
    assert!(
        !created.stderr.contains(&token),
        "step `token create`: the secret goes to stdout only: {created}"
    );
    assert!(
        data.path().join("registry.db").is_file(),
        "step `token create`: the embedded SQLite database is in --data-dir"
    );

    let registry = Registry::start(data.path());
    let user = User::new(&registry.url);

    // The fake `npx` records how it was started, then becomes the fixture server (two tools, one
    // per page, so the probe has to follow a cursor).
    let capture_file = user.path("capture.json");
    write_json(&capture_file, &capture());
    write_executable(
        &user.path("bin/npx"),
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' --capture '{}' --page-size 1\n",
            user.path("npx.log").display(),
            bins.fixture.display(),
            capture_file.display()
        ),
    );

    // login: the token on standard input, never echoed.
    let login = run("login", user.mcp_reg(&["login"]), &format!("{token}\n")).ok();
    assert!(
        !login.stdout.contains(&token) && !login.stderr.contains(&token),
        "step `login`: the token is not printed: {login}"
    );
    let credentials = read_json("login", &user.path("config/credentials.json"));
    assert_eq!(
        credentials["registries"][&registry.url]["token"], token,
        "step `login`: the token is stored for this registry"
    );

    // init: server.json from the project's package.json.
    let project = user.path("project");
    write_json(
        &project.join("package.json"),
        &json!({
            "name": PACKAGE,
            "version": "1.0.0",
            "description": "Weather readings for the end-to-end test",
            "mcpName": NAME,
        }),
    );
    let mut init = user.mcp_reg(&["init", "--yes"]);
    init.current_dir(&project);
    run("init", init, "").ok();
    let manifest_file = project.join("server.json");
    let manifest = read_json("init", &manifest_file);
    assert_eq!(manifest["name"], NAME, "step `init`: {manifest}");
    assert_eq!(manifest["version"], "1.0.0", "step `init`: {manifest}");
    assert_eq!(
        manifest["packages"][0]["registryType"], "npm",
        "step `init`: {manifest}"
    );
    assert_eq!(
        manifest["packages"][0]["identifier"], PACKAGE,
        "step `init`: {manifest}"
    );
    assert_eq!(
        manifest["packages"][0]["transport"]["type"], "stdio",
        "step `init`: {manifest}"
    );
    let manifest_arg = manifest_file.to_str().expect("a UTF-8 temp path");

    // probe: runs the package (the fake npx) and writes its surface.
    let surface_file = user.path("surface.json");
    let probe = user.run(
        "probe",
        &[
            "probe",
            "--manifest",
            manifest_arg,
            "-o",
            surface_file.to_str().expect("a UTF-8 temp path"),
            "--timeout",
            "60",
        ],
    );
    let probe = probe.ok();
    let probed = read_json("probe", &surface_file);
    assert_eq!(
        tool_names(&probed),
        ["list_stations", "read_barometer"],
        "step `probe`: both pages of tools are captured: {probe}"
    );
    assert_eq!(
        probed["serverInfo"]["name"], "e2e-fixture",
        "step `probe`: {probed}"
    );
    assert_eq!(
        user.npx_starts(),
        [format!("-y {PACKAGE}@1.0.0")],
        "step `probe`: the package ran once, as npx -y PACKAGE@VERSION"
    );

    // A user error: a name outside the token's namespace is refused, with a hint.
    let foreign = user.path("foreign/server.json");
    let mut foreign_manifest = manifest.clone();
    foreign_manifest["name"] = json!("io.github.someone-else/weather-fixture");
    write_json(&foreign, &foreign_manifest);
    let refused = user
        .run(
            "publish outside the namespace",
            &[
                "publish",
                foreign.to_str().expect("a UTF-8 temp path"),
                "--no-probe",
            ],
        )
        .user_error();
    assert!(
        refused.stderr.contains("token"),
        "step `publish outside the namespace`: the error names the token: {refused}"
    );

    // publish: probes the package itself (no --surface) and embeds the surface.
    let published = user
        .run(
            "publish",
            &["publish", manifest_arg, "--probe-timeout", "60"],
        )
        .ok();
    assert!(
        published
            .stdout
            .contains(&format!("published {NAME} 1.0.0")),
        "step `publish`: {published}"
    );
    assert!(
        published.stdout.contains("latest: yes"),
        "step `publish`: {published}"
    );
    assert_eq!(
        user.npx_starts().len(),
        2,
        "step `publish`: publish probed the package again"
    );

    // search: by name (table), by a word only the probed tools contain (JSON), and a miss.
    let found = user.run("search by name", &["search", ENTRY]).ok();
    let mut lines = found.stdout.lines();
    assert!(
        lines.next().is_some_and(|l| l.starts_with("NAME")),
        "step `search by name`: a table with a header: {found}"
    );
    let row = lines.next().unwrap_or_default();
    assert!(
        row.starts_with(NAME) && row.contains("1.0.0") && row.contains("npm"),
        "step `search by name`: the server's row: {found}"
    );
    assert!(
        !found.stdout.contains("someone-else"),
        "step `search by name`: the refused publish stored nothing: {found}"
    );
    let by_tool = user
        .run("search by tool text", &["search", "barometric", "--json"])
        .ok();
    let names: Vec<Value> = by_tool.json()["servers"]
        .as_array()
        .map(|servers| {
            servers
                .iter()
                .map(|s| s["server"]["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        names,
        [json!(NAME)],
        "step `search by tool text`: the surface is searchable: {by_tool}"
    );
    let miss = user
        .run(
            "search without a match",
            &["search", "no-such-server-anywhere"],
        )
        .ok();
    assert!(
        miss.stdout.is_empty(),
        "step `search without a match`: {miss}"
    );

    // show: the package, the probed tools and the versions.
    let shown = user.run("show", &["show", NAME]).ok();
    for needle in [
        format!("{NAME} 1.0.0 (latest"),
        format!("npm {PACKAGE} 1.0.0 (stdio)"),
        "Tools (2)".to_owned(),
        "read_barometer".to_owned(),
        "list_stations".to_owned(),
        "Versions: 1.0.0 (latest)".to_owned(),
    ] {
        assert!(
            shown.stdout.contains(&needle),
            "step `show`: missing {needle:?}: {shown}"
        );
    }
    let shown_json = user.run("show --json", &["show", NAME, "--json"]).ok();
    assert_eq!(
        tool_names(&shown_json.json()["surface"]),
        tool_names(&probed),
        "step `show --json`: the registry keeps the probed surface: {shown_json}"
    );

    // A user error: an unknown server.
    let unknown = user
        .run(
            "show unknown",
            &["show", &format!("{NAMESPACE}/no-such-server")],
        )
        .user_error();
    assert!(
        unknown.stdout.is_empty() && unknown.stderr.contains("no server"),
        "step `show unknown`: {unknown}"
    );

    // install into three hosts; Cursor's file already has an entry of the user's own.
    let home = user.home();
    write_json(
        &home.join(HOSTS[0].1),
        &json!({ "mcpServers": { "mine": { "command": "my-own-server" } } }),
    );
    let installed = user
        .run(
            "install",
            &[
                "install",
                NAME,
                "--host",
                "cursor",
                "--host",
                "claude-code",
                "--host",
                "vscode",
                "--yes",
            ],
        )
        .ok();
    for (host, file, root) in HOSTS {
        let config = read_json("install", &home.join(file));
        let entry = &config[root][ENTRY];
        assert_eq!(
            entry["command"], "npx",
            "step `install`: {host}'s entry runs npx: {config}\n{installed}"
        );
        let args: Vec<&str> = entry["args"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(
            args.contains(&format!("{PACKAGE}@1.0.0").as_str()),
            "step `install`: {host}'s entry pins the version: {config}"
        );
    }
    let cursor = read_json("install", &home.join(HOSTS[0].1));
    assert_eq!(
        cursor["mcpServers"]["mine"],
        json!({ "command": "my-own-server" }),
        "step `install`: the user's own Cursor entry is kept"
    );
    for (host, file, root) in &HOSTS[1..] {
        let config = read_json("install", &home.join(file));
        assert_eq!(
            config[root][ENTRY]["type"], "stdio",
            "step `install`: {host} gets a typed stdio entry: {config}"
        );
    }
    assert_eq!(
        user.npx_starts().len(),
        2,
        "step `install`: installing writes config and runs nothing"
    );

    // list: three installs, as JSON and as a table.
    let listed = user.run("list --json", &["list", "--json"]).ok();
    let rows = listed.json();
    let rows = rows.as_array().cloned().unwrap_or_default();
    let hosts: BTreeSet<&str> = rows.iter().filter_map(|r| r["host"].as_str()).collect();
    assert_eq!(
        hosts,
        BTreeSet::from(["claude-code", "cursor", "vscode"]),
        "step `list --json`: {listed}"
    );
    assert_eq!(rows.len(), 3, "step `list --json`: {listed}");
    for row in &rows {
        let host = row["host"].as_str().unwrap_or_default();
        let (_, file, _) = HOSTS
            .iter()
            .find(|(id, _, _)| *id == host)
            .expect("a host of the install");
        assert_eq!(row["server"], NAME, "step `list --json`: {row}");
        assert_eq!(row["version"], "1.0.0", "step `list --json`: {row}");
        assert_eq!(row["entry"], ENTRY, "step `list --json`: {row}");
        assert_eq!(
            row["config"].as_str().map(PathBuf::from),
            Some(home.join(file)),
            "step `list --json`: {row}"
        );
        assert!(
            row["surface_digest"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:")),
            "step `list --json`: the install pins the probed surface: {row}"
        );
        assert_eq!(
            row["drift"]["state"], "unchanged",
            "step `list --json`: {row}"
        );
    }
    let table = user.run("list", &["list"]).ok();
    assert!(
        table.stdout.starts_with("SERVER"),
        "step `list`: a table with a header: {table}"
    );
    assert_eq!(
        table.stdout.lines().filter(|l| l.starts_with(NAME)).count(),
        3,
        "step `list`: one row per host: {table}"
    );

    // uninstall: every entry mcp-reg wrote goes, the files stay valid, the user's entry stays.
    user.run("uninstall", &["uninstall", NAME]).ok();
    for (host, file, root) in HOSTS {
        let config = read_json("uninstall", &home.join(file));
        assert!(
            config[root].get(ENTRY).is_none(),
            "step `uninstall`: {host}'s entry is gone: {config}"
        );
    }
    let cursor = read_json("uninstall", &home.join(HOSTS[0].1));
    assert_eq!(
        cursor["mcpServers"]["mine"],
        json!({ "command": "my-own-server" }),
        "step `uninstall`: the user's own Cursor entry is kept"
    );
    let record = read_json("uninstall", &user.path("data/installed.json"));
    assert_eq!(
        record["installs"],
        json!([]),
        "step `uninstall`: the install record is empty"
    );
    let listed = user.run("list after uninstall", &["list", "--json"]).ok();
    assert_eq!(
        listed.json(),
        json!([]),
        "step `list after uninstall`: {listed}"
    );
    let again = user
        .run("uninstall again", &["uninstall", NAME])
        .user_error();
    assert!(
        again.stderr.contains("mcp-reg list"),
        "step `uninstall again`: the hint points at list: {again}"
    );

    // The registry served the whole flow without dying or panicking.
    let mut registry = registry;
    let alive = registry.child.try_wait().map(|status| status.is_none());
    assert!(
        matches!(alive, Ok(true)),
        "step `registry`: still running after the flow ({alive:?}); log:\n{}",
        registry.log()
    );
    assert!(
        !registry.log().contains("panicked"),
        "step `registry`: no panic in the log:\n{}",
        registry.log()
    );
}
