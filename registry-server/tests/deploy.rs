//! The deployment recipes in `deploy/` (Dockerfile, compose.yaml, k8s/), checked without Docker or
//! Kubernetes: each recipe is parsed, cross-checked against the flags the binary really has, and its
//! commands are run with the real binary and the recipe's own arguments and environment. Only what a
//! test machine cannot provide is swapped: loopback ports, temporary storage, a test database.

#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

mod common;
use common::PgDatabase;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use registry_server::testing::postgres::client_command;
// YAML is read into JSON values: compose and Kubernetes manifests only have string keys.
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_registry-server");

/// The image's binary name: ENTRYPOINT and HEALTHCHECK must both run it.
const PROGRAM: &str = "registry-server";

type Env = BTreeMap<String, String>;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn deploy_dir() -> PathBuf {
    repo_root().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

struct Instruction {
    keyword: String,
    args: String,
}

struct Stage {
    image: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
            .map(|i| i.args.as_str())
    }

    fn last<'a>(&'a self, keyword: &'a str) -> Option<&'a str> {
        self.all(keyword).last()
    }

    /// ENV of this stage, later assignments winning.
    fn env(&self) -> Env {
        self.all("ENV").flat_map(parse_env).collect()
    }
}

struct Dockerfile {
    stages: Vec<Stage>,
}

/// Logical instructions: `\` continuations joined, comment lines dropped (also between continued
/// lines, as Docker does), `${ARG}` in FROM expanded from the ARGs declared before the first FROM.
fn parse_dockerfile(text: &str) -> Dockerfile {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head.trim_end());
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    assert!(
        current.is_empty(),
        "the Dockerfile ends inside a `\\` continuation"
    );

    let mut global_args = Env::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.trim().to_owned();
        if keyword == "FROM" {
            let words: Vec<&str> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, r#as, name] if r#as.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                [_] => None,
                _ => panic!("unreadable FROM: {args}"),
            };
            stages.push(Stage {
                image: expand_args(words[0], &global_args),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(Instruction { keyword, args });
        } else {
            assert_eq!(keyword, "ARG", "only ARG may come before the first FROM");
            let (name, default) = args.split_once('=').unwrap_or((&args, ""));
            global_args.insert(name.to_owned(), default.trim_matches('"').to_owned());
        }
    }
    Dockerfile { stages }
}

/// `$NAME` and `${NAME}` from the build ARGs (unknown ones expand to nothing, as in Docker).
fn expand_args(text: &str, args: &Env) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            braced
                .split_once('}')
                .unwrap_or_else(|| panic!("unclosed ${{ in `{text}`"))
        } else {
            after.split_at(identifier_len(after))
        };
        out.push_str(args.get(name).map_or("", String::as_str));
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn identifier_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len())
}

/// Words as a shell splits them (quotes and backslash escapes), enough for ENV and compose commands.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => {
                word.extend(chars.next());
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unclosed quote in `{text}`");
    if in_word {
        words.push(word);
    }
    words
}

fn parse_env(args: &str) -> Vec<(String, String)> {
    let words = shell_words(args);
    if words.first().is_some_and(|w| !w.contains('=')) {
        // Legacy `ENV KEY value with spaces`.
        let (key, value) = args.split_once(char::is_whitespace).unwrap();
        return vec![(key.to_owned(), value.trim().to_owned())];
    }
    words
        .into_iter()
        .map(|word| {
            let (key, value) = word.split_once('=').unwrap();
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// The JSON-array (exec) form of CMD, ENTRYPOINT and HEALTHCHECK CMD.
fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args)
        .unwrap_or_else(|err| panic!("`{args}` is not the exec (JSON array) form: {err}"))
}

struct Healthcheck {
    options: Env,
    argv: Vec<String>,
}

fn parse_healthcheck(args: &str) -> Healthcheck {
    let mut rest = args.trim();
    let mut options = Env::new();
    while let Some(option) = rest.strip_prefix("--") {
        let (word, tail) = option
            .split_once(char::is_whitespace)
            .unwrap_or((option, ""));
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        options.insert(key.to_owned(), value.to_owned());
        rest = tail.trim_start();
    }
    let command = rest
        .strip_prefix("CMD")
        .unwrap_or_else(|| panic!("HEALTHCHECK without CMD: {args}"));
    Healthcheck {
        options,
        argv: exec_form(command.trim()),
    }
}

/// A Docker duration such as `5s`, `1m30s` or `500ms`.
fn docker_duration(text: &str) -> Duration {
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: u64 = rest[..digits]
            .parse()
            .unwrap_or_else(|_| panic!("bad duration `{text}`"));
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        total += match &rest[..unit] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number * 60),
            "h" => Duration::from_secs(number * 3600),
            other => panic!("unknown unit `{other}` in duration `{text}`"),
        };
        rest = &rest[unit..];
    }
    total
}

fn port_of(address: &str) -> u16 {
    address
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("`{address}` has no port"))
}

/// `http://host:port/path` as (host, port, path).
fn split_url(url: &str) -> (String, u16, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("`{url}` is not an http:// URL"));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "80"));
    (host.to_owned(), port.parse().unwrap(), path.to_owned())
}

/// What a container started from the image gets: the runtime stage's ENV, ENTRYPOINT, CMD, WORKDIR
/// and HEALTHCHECK.
struct Image {
    env: Env,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    workdir: Option<String>,
    volumes: Vec<String>,
    healthcheck: Healthcheck,
}

fn dockerfile() -> Dockerfile {
    parse_dockerfile(&read(&deploy_dir().join("Dockerfile")))
}

fn image() -> Image {
    let file = dockerfile();
    let runtime = file.stages.last().expect("the Dockerfile has no FROM");
    Image {
        env: runtime.env(),
        entrypoint: exec_form(runtime.last("ENTRYPOINT").expect("no ENTRYPOINT")),
        cmd: runtime.last("CMD").map(exec_form).unwrap_or_default(),
        workdir: runtime.last("WORKDIR").map(str::to_owned),
        volumes: runtime
            .all("VOLUME")
            .flat_map(|args| {
                if args.starts_with('[') {
                    exec_form(args)
                } else {
                    shell_words(args)
                }
            })
            .collect(),
        healthcheck: parse_healthcheck(runtime.last("HEALTHCHECK").expect("no HEALTHCHECK")),
    }
}

impl Image {
    /// Arguments for the binary when the container runs `command` (CMD when empty): the ENTRYPOINT
    /// must be the binary itself, so the rest is what the binary gets.
    fn args_for(&self, command: &[String]) -> Vec<String> {
        assert_eq!(
            program_name(&self.entrypoint[0]),
            PROGRAM,
            "ENTRYPOINT must run the binary"
        );
        let command = if command.is_empty() {
            &self.cmd
        } else {
            command
        };
        self.entrypoint[1..]
            .iter()
            .chain(command)
            .cloned()
            .collect()
    }

    /// The container's environment on this machine: the image ENV overlaid by the recipe's, with the
    /// listen address on loopback and the data directory (and HOME, the image user's home) in `data`.
    fn container_env(&self, recipe: &Env, data: &Path) -> Env {
        let mut env = self.env.clone();
        env.extend(recipe.clone());
        env.insert("REGISTRY_LISTEN".to_owned(), "127.0.0.1:0".to_owned());
        env.insert(
            "REGISTRY_DATA_DIR".to_owned(),
            data.to_str().unwrap().to_owned(),
        );
        env.insert("HOME".to_owned(), data.to_str().unwrap().to_owned());
        env
    }

    /// The port the image's server listens on inside the container.
    fn listen_port(&self, recipe: &Env) -> u16 {
        let listen = recipe
            .get("REGISTRY_LISTEN")
            .or_else(|| self.env.get("REGISTRY_LISTEN"))
            .expect("the image sets REGISTRY_LISTEN (the binary's default is loopback only)");
        port_of(listen)
    }
}

fn program_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The binary as the container runs it: nothing inherited from the test's environment.
fn container_command(args: &[String], env: &Env, cwd: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdin(Stdio::null());
    command
}

/// The runtime stage's `COPY --from=…` of the binary: the stage it copies from, source, destination.
struct BinaryCopy<'a> {
    builder: &'a Stage,
    source: String,
    destination: String,
}

fn binary_copy(file: &Dockerfile) -> BinaryCopy<'_> {
    let (runtime, earlier) = file.stages.split_last().expect("no FROM");
    let copy = runtime
        .all("COPY")
        .map(shell_words)
        .find(|words| words.iter().any(|w| w.starts_with("--from=")))
        .expect("the runtime stage copies nothing from another stage");
    let from = copy.iter().find_map(|w| w.strip_prefix("--from=")).unwrap();
    let builder = earlier
        .iter()
        .enumerate()
        .find_map(|(index, stage)| {
            (stage.name.as_deref() == Some(from) || index.to_string() == from).then_some(stage)
        })
        .unwrap_or_else(|| panic!("COPY --from={from}: no earlier stage has that name"));
    let paths: Vec<&String> = copy.iter().filter(|w| !w.starts_with("--")).collect();
    let [source, destination] = paths.as_slice() else {
        panic!("expected one source and one destination in COPY {copy:?}");
    };
    BinaryCopy {
        builder,
        source: (*source).clone(),
        destination: (*destination).clone(),
    }
}

/// The HEALTHCHECK's URL: its index in the argv, host, port and path.
fn healthcheck_url(image: &Image) -> (usize, String, u16, String) {
    let argv = &image.healthcheck.argv;
    let index = argv
        .iter()
        .position(|a| a.starts_with("http://"))
        .expect("the HEALTHCHECK names no http:// URL");
    let (host, port, path) = split_url(&argv[index]);
    (index, host, port, path)
}

#[test]
fn dockerfile_builds_the_binary_in_an_earlier_stage() {
    let file = dockerfile();
    assert!(
        file.stages.len() >= 2,
        "builder and runtime stages expected, found {}",
        file.stages.len()
    );
    // The binary comes out of a path that is part of the builder stage's image: a cache mount's
    // contents are not.
    let BinaryCopy {
        builder, source, ..
    } = binary_copy(&file);
    let runs: Vec<&str> = builder.all("RUN").collect();
    assert!(
        runs.iter().any(|run| run.contains(source.as_str())),
        "no RUN in the builder stage produces {source}"
    );
    for run in &runs {
        for mount in run.split_whitespace().filter(|w| w.contains("type=cache")) {
            let target = mount
                .split(',')
                .find_map(|part| part.strip_prefix("target="))
                .unwrap_or_default();
            assert!(
                target.is_empty() || !source.starts_with(target),
                "{source} is inside the cache mount {target}, which is not part of the stage's image"
            );
        }
    }
    assert!(
        runs.iter()
            .any(|run| run.contains("cargo build") && run.contains("--locked")),
        "the builder must build with the committed Cargo.lock (--locked)"
    );

    // The toolchain rust-toolchain.toml pins (otherwise rustup in the image fetches another one, or
    // the image is built by an older compiler than CI).
    let toolchain = read(&repo_root().join("rust-toolchain.toml"));
    let channel = toolchain
        .lines()
        .find_map(|line| line.trim().strip_prefix("channel"))
        .and_then(|rest| rest.split('"').nth(1))
        .expect("rust-toolchain.toml has no channel");
    let tag = builder.image.split_once(':').map_or("", |(_, tag)| tag);
    assert!(
        tag.starts_with(channel),
        "builder image {} does not match the pinned toolchain {channel}",
        builder.image
    );
}

#[test]
fn dockerfile_runtime_stage_is_non_root_with_entrypoint_and_healthcheck() {
    let file = dockerfile();
    let runtime = file.stages.last().unwrap();
    let copy = binary_copy(&file);
    let image = image();

    // Non-root, by number (Kubernetes' runAsNonRoot can only verify a numeric user), and that user is
    // the one the stage creates and gives the data directory to.
    let user = runtime.last("USER").expect("the runtime stage has no USER");
    let (uid, gid) = user.split_once(':').unwrap_or((user, ""));
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER {user} is not numeric"));
    assert_ne!(uid, 0, "the image must not run as root");
    assert!(gid.is_empty() || gid.parse::<u32>().is_ok_and(|gid| gid != 0));
    let runs = runtime.all("RUN").collect::<Vec<_>>().join("\n");
    assert!(
        runs.contains(&format!("--uid {uid}")),
        "USER {uid} is not the user the image creates"
    );
    let data_dir = image
        .env
        .get("REGISTRY_DATA_DIR")
        .expect("no REGISTRY_DATA_DIR");
    assert!(
        runs.contains("chown") && runs.contains(data_dir.as_str()),
        "{data_dir} must belong to the image user"
    );
    // The embedded SQLite default lives on a volume, so it outlives the container.
    assert!(
        image.volumes.contains(data_dir),
        "REGISTRY_DATA_DIR={data_dir} is not a VOLUME {:?}",
        image.volumes
    );

    // ENTRYPOINT is the copied binary, found on the PATH by its own name.
    let entry = &image.entrypoint;
    assert_eq!(entry.len(), 1, "ENTRYPOINT is the bare binary: {entry:?}");
    let (install_dir, binary_name) = copy.destination.rsplit_once('/').unwrap();
    assert_eq!(binary_name, PROGRAM);
    if entry[0].starts_with('/') {
        assert_eq!(entry[0], copy.destination);
    } else {
        // Debian's default PATH, which the image inherits.
        let path = [
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ];
        assert_eq!(entry[0], PROGRAM);
        assert!(
            path.contains(&install_dir),
            "{} is not on the PATH",
            copy.destination
        );
    }
    assert_eq!(image.cmd.first().map(String::as_str), Some("serve"));

    // It listens on every interface, on the port it exposes and health-checks.
    let listen = image
        .env
        .get("REGISTRY_LISTEN")
        .expect("no REGISTRY_LISTEN: the binary's default listens on loopback only");
    assert!(
        listen.starts_with("0.0.0.0:") || listen.starts_with("[::]:"),
        "REGISTRY_LISTEN={listen} is unreachable from outside the container"
    );
    let port = port_of(listen);
    let exposed: Vec<String> = runtime.all("EXPOSE").flat_map(shell_words).collect();
    assert!(
        exposed
            .iter()
            .any(|e| e.split('/').next() == Some(&port.to_string())),
        "EXPOSE {exposed:?} does not include the listen port {port}"
    );
    assert_eq!(
        image.healthcheck.argv.first(),
        Some(&entry[0]),
        "the HEALTHCHECK must run the image's own binary (the image has no curl)"
    );
    let (_, host, url_port, _) = healthcheck_url(&image);
    assert!(
        host == "127.0.0.1" || host == "localhost",
        "the HEALTHCHECK runs inside the container: {host}"
    );
    assert_eq!(url_port, port, "HEALTHCHECK port vs REGISTRY_LISTEN");
}

#[test]
fn dockerfile_command_serves_and_its_healthcheck_tells_up_from_down() {
    let image = image();
    let data = tempfile::tempdir().unwrap();
    let env = image.container_env(&Env::new(), data.path());
    let cwd = if image.workdir == image.env.get("REGISTRY_DATA_DIR").cloned() {
        data.path()
    } else {
        Path::new("/")
    };
    let (url_index, host, _, path) = healthcheck_url(&image);
    let mut server = Server::start(&image.args_for(&[]), &env, cwd);
    let (status, body) = http(&server.address, "GET", &path, None, "");
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["database"], "sqlite", "the image's default storage");
    assert!(
        std::fs::read_dir(data.path()).unwrap().next().is_some(),
        "the SQLite database was not created in REGISTRY_DATA_DIR"
    );

    // The HEALTHCHECK's own command line, pointed at this server's port.
    let mut argv = image.healthcheck.argv.clone();
    argv[url_index] = format!("http://{host}:{}{path}", port_of(&server.address));
    let timeout = docker_duration(
        image
            .healthcheck
            .options
            .get("timeout")
            .map_or("30s", String::as_str),
    );
    let check = || {
        let started = Instant::now();
        let output = container_command(&argv[1..], &env, cwd).output().unwrap();
        (output, started.elapsed())
    };
    let (healthy, took) = check();
    assert_success("the HEALTHCHECK of a serving container", &healthy);
    assert!(
        took < timeout,
        "the HEALTHCHECK took {took:?}, over its --timeout"
    );

    // `docker stop`: SIGTERM, then SIGKILL after 10 s.
    let stopped = server.terminate(Duration::from_secs(10));
    assert!(stopped.success(), "SIGTERM exit: {stopped}");
    let (unhealthy, _) = check();
    assert!(
        !unhealthy.status.success(),
        "the HEALTHCHECK passed with no server"
    );
    assert_json_logs(&server.logs(), Warnings::Allowed);
}

/// `COPY . .` needs everything `cargo build --locked -p registry-server` reads: the workspace
/// manifests, the toolchain file, every member (cargo loads them all) and the migrations it embeds.
#[test]
fn docker_build_context_keeps_what_the_build_needs() {
    let root = repo_root();
    // BuildKit prefers `<Dockerfile>.dockerignore` next to the Dockerfile over the context's.
    let ignore_file = [
        deploy_dir().join("Dockerfile.dockerignore"),
        root.join(".dockerignore"),
    ]
    .into_iter()
    .find(|path| path.exists());
    let patterns: Vec<(bool, String)> = ignore_file
        .map(|path| read(&path))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (keep, pattern) = line.strip_prefix('!').map_or((false, line), |p| (true, p));
            let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
            (keep, pattern.to_owned())
        })
        .collect();
    let excluded = |path: &str| {
        let mut excluded = false;
        for (keep, pattern) in &patterns {
            // A pattern that matches a parent folder excludes everything in it.
            let mut prefix = String::new();
            for segment in path.split('/') {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(segment);
                if glob(pattern, &prefix) {
                    excluded = !keep;
                    break;
                }
            }
        }
        excluded
    };
    // The matcher itself, on what the file says it keeps out.
    if patterns.iter().any(|(_, p)| p == "target") {
        assert!(excluded("target/debug/registry-server"));
    }

    let manifest = read(&root.join("Cargo.toml"));
    let members: Vec<String> = manifest
        .lines()
        .find(|line| line.trim_start().starts_with("members"))
        .expect("no workspace members")
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(members.iter().any(|m| m == "registry-server"));
    let mut needed: Vec<String> = ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"]
        .map(str::to_owned)
        .to_vec();
    for folder in members.iter().map(String::as_str).chain(["migrations"]) {
        files_under(&root, folder, &mut needed);
    }
    let dropped: Vec<&String> = needed.iter().filter(|path| excluded(path)).collect();
    assert!(
        dropped.is_empty(),
        "the build context leaves out files the build needs: {dropped:?}"
    );
}

/// Relative paths of the files under `folder` (no build output, no hidden editor files).
fn files_under(root: &Path, folder: &str, out: &mut Vec<String>) {
    let entries = std::fs::read_dir(root.join(folder))
        .unwrap_or_else(|err| panic!("{folder}: {err}"))
        .map(Result::unwrap);
    for entry in entries {
        let name = entry.file_name().into_string().unwrap();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let path = format!("{folder}/{name}");
        if entry.file_type().unwrap().is_dir() {
            files_under(root, &path, out);
        } else {
            out.push(path);
        }
    }
}

/// `.dockerignore` matching: `*` and `?` within one path segment, `**` across any number of them.
fn glob(pattern: &str, path: &str) -> bool {
    fn segments(pattern: &[&str], path: &[&str]) -> bool {
        match (pattern.first(), path.first()) {
            (None, None) => true,
            (Some(&"**"), _) => {
                segments(&pattern[1..], path) || (!path.is_empty() && segments(pattern, &path[1..]))
            }
            (Some(p), Some(s)) => {
                segment(p.as_bytes(), s.as_bytes()) && segments(&pattern[1..], &path[1..])
            }
            _ => false,
        }
    }
    fn segment(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                segment(&pattern[1..], text) || (!text.is_empty() && segment(pattern, &text[1..]))
            }
            (Some(b'?'), Some(_)) => segment(&pattern[1..], &text[1..]),
            (Some(p), Some(t)) => p == t && segment(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    segments(&pattern, &path)
}

// ---------------------------------------------------------------------------------------------
// compose.yaml
// ---------------------------------------------------------------------------------------------

fn yaml_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn yaml_str(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, found {value:?}"))
}

/// A list of strings, or a string split like a shell (compose's two forms of `command`).
fn yaml_words(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(|v| yaml_str(v).to_owned()).collect(),
        Value::String(s) => shell_words(s),
        Value::Null => Vec::new(),
        other => panic!("expected a command, found {other:?}"),
    }
}

/// Compose's variable interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
/// `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, nested in defaults too. `given` is
/// the whole environment compose would see.
fn interpolate(text: &str, given: &Env) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let mut depth = 1;
            let end = inner
                .char_indices()
                .find_map(|(i, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(i)
                })
                .unwrap_or_else(|| panic!("unclosed ${{ in `{text}`"));
            out.push_str(&expand_braced(&inner[..end], given));
            rest = &inner[end + 1..];
        } else {
            let (name, tail) = after.split_at(identifier_len(after));
            if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(given.get(name).map_or("", String::as_str));
            }
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

fn expand_braced(inner: &str, given: &Env) -> String {
    let (name, operation) = inner.split_at(identifier_len(inner));
    let value = given.get(name);
    let non_empty = value.filter(|v| !v.is_empty());
    let unset_or_empty =
        |fallback: &str| non_empty.map_or_else(|| interpolate(fallback, given), Clone::clone);
    if operation.is_empty() {
        value.cloned().unwrap_or_default()
    } else if let Some(default) = operation.strip_prefix(":-") {
        unset_or_empty(default)
    } else if let Some(default) = operation.strip_prefix('-') {
        value.map_or_else(|| interpolate(default, given), Clone::clone)
    } else if let Some(message) = operation.strip_prefix(":?") {
        non_empty
            .unwrap_or_else(|| panic!("compose refuses to start without {name}: {message}"))
            .clone()
    } else if let Some(message) = operation.strip_prefix('?') {
        value
            .unwrap_or_else(|| panic!("compose refuses to start without {name}: {message}"))
            .clone()
    } else if let Some(alternative) = operation.strip_prefix(":+") {
        non_empty.map_or_else(String::new, |_| interpolate(alternative, given))
    } else if let Some(alternative) = operation.strip_prefix('+') {
        value.map_or_else(String::new, |_| interpolate(alternative, given))
    } else {
        panic!("unsupported interpolation ${{{inner}}}")
    }
}

/// Names compose must be given (`${NAME:?…}` / `${NAME?…}`).
fn required_variables(text: &str) -> BTreeSet<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| {
            let (name, tail) = rest.split_at(identifier_len(rest));
            (tail.starts_with(":?") || tail.starts_with('?')).then(|| name.to_owned())
        })
        .collect()
}

/// A service's `environment`, interpolated (map or `KEY=VALUE` list form). A key without a value is
/// taken from the host by compose; none is set here.
fn compose_env(service: &Value, given: &Env) -> Env {
    match &service["environment"] {
        Value::Null => Env::new(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(key, value)| {
                let value = yaml_scalar(value)?;
                Some((key.clone(), interpolate(&value, given)))
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let (key, value) = yaml_str(item).split_once('=')?;
                Some((key.to_owned(), interpolate(value, given)))
            })
            .collect(),
        other => panic!("unreadable environment: {other:?}"),
    }
}

/// A test value for each variable compose insists on; the rest stays unset so defaults apply.
fn compose_variables(text: &str, jwt_seed: &str) -> Env {
    required_variables(text)
        .into_iter()
        .map(|name| {
            let value = match name.as_str() {
                "REGISTRY_JWT_KEY" => jwt_seed.to_owned(),
                other => panic!("no test value for the required compose variable {other}"),
            };
            (name, value)
        })
        .collect()
}

fn load_compose() -> (String, Value) {
    let text = read(&deploy_dir().join("compose.yaml"));
    // serde-saphyr applies merge keys (`<<:`) while parsing.
    let compose: Value = serde_saphyr::from_str(&text).unwrap();
    (text, compose)
}

/// `postgres://user:password@host:port/db` as its parts.
struct PgUrl {
    user: String,
    password: String,
    host: String,
    port: u16,
    database: String,
}

fn parse_pg_url(url: &str) -> PgUrl {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .unwrap_or_else(|| panic!("`{url}` is not a postgres:// URL"));
    let (userinfo, rest) = rest.rsplit_once('@').unwrap_or(("", rest));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "5432"));
    PgUrl {
        user: user.to_owned(),
        password: password.to_owned(),
        host: host.to_owned(),
        port: port.parse().unwrap(),
        database: database.split('?').next().unwrap_or_default().to_owned(),
    }
}

fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).unwrap();
    hex::encode(random)
}

/// compose.yaml with merge keys applied, and the variables it insists on set to test values.
struct Compose {
    root: Value,
    given: Env,
}

impl Compose {
    fn load() -> Self {
        let (text, root) = load_compose();
        Self {
            given: compose_variables(&text, &random_hex(32)),
            root,
        }
    }

    fn service(&self, name: &str) -> &Value {
        self.root["services"]
            .get(name)
            .unwrap_or_else(|| panic!("no `{name}` service"))
    }

    /// The services running `serve`.
    fn replicas(&self) -> Vec<(String, &Value)> {
        let replicas: Vec<(String, &Value)> = self.root["services"]
            .as_object()
            .expect("compose.yaml has no services")
            .iter()
            .filter(|(_, s)| yaml_words(&s["command"]).first().map(String::as_str) == Some("serve"))
            .map(|(name, s)| (name.clone(), s))
            .collect();
        assert!(
            replicas.len() >= 2,
            "at least two replicas expected, found {}",
            replicas.len()
        );
        replicas
    }

    fn env(&self, service: &Value) -> Env {
        compose_env(service, &self.given)
    }
}

#[test]
fn compose_starts_postgres_then_migrate_then_replicas() {
    let compose = Compose::load();
    let postgres = compose.service("postgres");
    assert!(
        yaml_str(&postgres["image"]).starts_with("postgres"),
        "the postgres service runs {:?}",
        postgres["image"]
    );
    assert!(
        !yaml_words(&postgres["healthcheck"]["test"]).is_empty(),
        "postgres has no healthcheck, so `service_healthy` never comes"
    );

    let migrate = compose.service("migrate");
    assert_eq!(yaml_words(&migrate["command"]), ["migrate"]);
    assert_eq!(
        migrate["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    // A one-shot: restarting it after success would rerun it forever and block the replicas.
    let restart = migrate["restart"].as_str().unwrap_or("no");
    assert!(
        restart == "no" || restart == "on-failure",
        "migrate has restart: {restart}"
    );

    let image = image();
    let mut host_ports = BTreeSet::new();
    for (name, replica) in compose.replicas() {
        let command = yaml_words(&replica["command"]);
        assert!(
            command.iter().any(|a| a == "--no-migrate"),
            "{name}: {command:?}"
        );
        assert_eq!(
            replica["depends_on"]["migrate"]["condition"].as_str(),
            Some("service_completed_successfully"),
            "{name} must wait for the migrations"
        );
        assert_eq!(
            replica["image"], migrate["image"],
            "{name} runs another image than migrate"
        );
        let env = compose.env(replica);
        // A token from /auth/* is signed by one replica and checked by another.
        assert!(
            env.get("REGISTRY_JWT_KEY")
                .or_else(|| env.get("REGISTRY_JWT_KEY_FILE"))
                .is_some_and(|v| !v.is_empty()),
            "{name}: replicas need one shared REGISTRY_JWT_KEY"
        );
        let ports = replica["ports"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} publishes no port"));
        for port in ports {
            let mapping = interpolate(&yaml_scalar(port).unwrap(), &compose.given);
            let (host, container) = mapping
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("{name}: port `{mapping}` has no host side"));
            assert_eq!(
                container.split('/').next().unwrap().parse::<u16>().unwrap(),
                image.listen_port(&env),
                "{name}: `{mapping}` does not reach the port the server listens on"
            );
            assert!(
                host_ports.insert(host.to_owned()),
                "host port {host} is published twice"
            );
        }
    }

    // The build context is the repository (Cargo.lock at its root), the Dockerfile the one above.
    let build = &migrate["build"];
    let context = deploy_dir().join(yaml_str(&build["context"]));
    assert_eq!(
        context.canonicalize().unwrap(),
        repo_root().canonicalize().unwrap()
    );
    assert_eq!(
        context
            .join(yaml_str(&build["dockerfile"]))
            .canonicalize()
            .unwrap(),
        deploy_dir().join("Dockerfile").canonicalize().unwrap()
    );
}

/// The default database URL reaches the postgres service with the role, password and database it is
/// created with, and its healthcheck waits for that same role and database.
#[test]
fn compose_database_url_matches_the_postgres_service() {
    let compose = Compose::load();
    let pg_env = compose.env(compose.service("postgres"));
    let url = parse_pg_url(&compose.env(compose.service("migrate"))["REGISTRY_DATABASE_URL"]);
    assert_eq!(
        url.host, "postgres",
        "the database host is the service name"
    );
    assert_eq!(url.port, 5432);
    assert_eq!(Some(&url.user), pg_env.get("POSTGRES_USER"));
    assert_eq!(Some(&url.password), pg_env.get("POSTGRES_PASSWORD"));
    assert_eq!(Some(&url.database), pg_env.get("POSTGRES_DB"));
    let probe = yaml_words(&compose.service("postgres")["healthcheck"]["test"]).join(" ");
    assert!(probe.contains("pg_isready"), "{probe}");
    for expected in [format!("-U {}", url.user), format!("-d {}", url.database)] {
        assert!(
            probe.contains(&expected),
            "pg_isready checks another role or database than the registry uses: {probe}"
        );
    }
}

/// The services' commands in compose's order, each with its environment, on a fresh database.
#[test]
fn compose_services_run_on_postgresql() {
    let compose = Compose::load();
    let image = image();
    let db = PgDatabase::create("mcpreg_deploy");
    let data = tempfile::tempdir().unwrap();
    let github = fake_github();
    let run_env = |service: &Value| {
        let mut env = image.container_env(&compose.env(service), data.path());
        env.insert("REGISTRY_DATABASE_URL".to_owned(), db.url.clone());
        env
    };
    let migrate = compose.service("migrate");
    let migrate_args = image.args_for(&yaml_words(&migrate["command"]));
    let run_migrate = || {
        let output = container_command(&migrate_args, &run_env(migrate), data.path())
            .output()
            .unwrap();
        assert_success("migrate", &output);
        assert_json_logs(&output_lines(&output), Warnings::Refused);
        applied_migrations(&db)
    };
    let applied = run_migrate();
    let migration_files = std::fs::read_dir(repo_root().join("migrations/postgres"))
        .unwrap()
        .filter(|entry| {
            let path = entry.as_ref().unwrap().path();
            path.extension().is_some_and(|ext| ext == "sql")
        })
        .count();
    assert_eq!(applied, migration_files, "migrate applied every migration");

    let mut servers: Vec<Server> = compose
        .replicas()
        .into_iter()
        .map(|(_, replica)| {
            let mut env = run_env(replica);
            // The one external service, GitHub's API, is faked on loopback.
            env.insert("REGISTRY_GITHUB_API_URL".to_owned(), github.clone());
            Server::start(
                &image.args_for(&yaml_words(&replica["command"])),
                &env,
                data.path(),
            )
        })
        .collect();
    for server in &servers {
        let (status, body) = http(&server.address, "GET", "/v0.1/health", None, "");
        assert_eq!(status, 200, "{body}");
        let health: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(health["database"], "postgres");
    }

    // A registry token from one replica publishes through another, as behind a load balancer.
    let (status, body) = http(
        &servers[0].address,
        "POST",
        "/v0.1/auth/github-at",
        None,
        r#"{"github_token":"gho_deploytest"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).unwrap();
    let token = token["registry_token"].as_str().unwrap();
    let manifest = r#"{"name":"io.github.deploytest/demo","description":"Published through the second replica","version":"1.0.0"}"#;
    let (status, body) = http(
        &servers[1].address,
        "POST",
        "/v0.1/publish",
        Some(token),
        manifest,
    );
    assert_eq!(
        status, 200,
        "a token issued by one replica is refused by another: {body}"
    );
    let (status, body) = http(
        &servers[0].address,
        "GET",
        "/v0.1/servers/io.github.deploytest%2Fdemo/versions/1.0.0",
        None,
        "",
    );
    assert_eq!(status, 200, "{body}");

    // `migrate` again, with the replicas serving: nothing left to apply, and success.
    assert_eq!(run_migrate(), applied);

    for server in &mut servers {
        let stopped = server.terminate(Duration::from_secs(10));
        assert!(stopped.success(), "SIGTERM exit: {stopped}");
        assert_json_logs(&server.logs(), Warnings::Refused);
    }
    assert!(
        std::fs::read_dir(data.path()).unwrap().next().is_none(),
        "on PostgreSQL nothing may be written to the data directory"
    );
}

// ---------------------------------------------------------------------------------------------
// Variable names
// ---------------------------------------------------------------------------------------------

fn help(args: &[&str]) -> String {
    let output = Command::new(BIN).args(args).env_clear().output().unwrap();
    assert_success(&args.join(" "), &output);
    // clap wraps lines anywhere between words, `[env:` and the name included.
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The variables a `--help` text names (`[env: NAME=]`, or `[env: NAME]` for hidden values).
fn help_env_names(help: &str) -> BTreeSet<String> {
    help.split("[env: ")
        .skip(1)
        .map(|rest| rest[..identifier_len(rest)].to_owned())
        .collect()
}

/// The default a `--help` text gives for the option read from `variable`.
fn help_default(help: &str, variable: &str) -> String {
    let after = help
        .split(&format!("[env: {variable}"))
        .nth(1)
        .unwrap_or_else(|| panic!("the help names no {variable}"));
    after
        .split_once("] [default: ")
        .filter(|(between, _)| !between.contains('['))
        .and_then(|(_, rest)| rest.split(']').next())
        .unwrap_or_else(|| panic!("{variable} has no default"))
        .to_owned()
}

/// Every `REGISTRY_…` word of a text.
fn registry_words(text: &str) -> BTreeSet<String> {
    text.match_indices("REGISTRY_")
        .filter(|&(at, _)| {
            !text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(at, _)| text[at..at + identifier_len(&text[at..])].to_owned())
        .collect()
}

#[test]
fn every_registry_variable_is_one_the_binary_reads() {
    let serve = help_env_names(&help(&["serve", "--help"]));
    let migrate = help_env_names(&help(&["migrate", "--help"]));
    assert!(serve.contains("REGISTRY_LISTEN") && serve.contains("REGISTRY_DATABASE_URL"));
    assert!(migrate.contains("REGISTRY_DATABASE_URL") && !migrate.contains("REGISTRY_LISTEN"));
    let known_by = |command: &str| match command {
        "serve" => &serve,
        "migrate" => &migrate,
        other => panic!("no variable check for `{other}`"),
    };
    let mut unknown = Vec::new();
    let mut check = |origin: String, name: &str, known: &BTreeSet<String>| {
        if name.starts_with("REGISTRY_") && !known.contains(name) {
            unknown.push(format!("{origin}: {name}"));
        }
    };

    // The image's ENV, for its CMD.
    let image = image();
    for name in image.env.keys() {
        check(
            format!("Dockerfile ENV ({})", image.cmd[0]),
            name,
            known_by(&image.cmd[0]),
        );
    }

    // Compose: each service's environment, for its command; the block shared through `<<:` also
    // reaches `migrate`, so what `serve` reads is accepted there too.
    let (compose_text, compose) = load_compose();
    let given = compose_variables(&compose_text, "00");
    let mut compose_keys = BTreeSet::new();
    for (name, service) in compose["services"].as_object().unwrap() {
        let command = yaml_words(&service["command"]);
        let Some(subcommand) = command.first() else {
            continue;
        };
        for variable in compose_env(service, &given).into_keys() {
            let known: BTreeSet<String> = known_by(subcommand).union(&serve).cloned().collect();
            check(format!("compose {name} ({subcommand})"), &variable, &known);
            compose_keys.insert(variable);
        }
    }

    // Kubernetes: each container's env, for its args.
    for (file, document) in k8s_documents() {
        let Some(spec) = pod_spec(&document) else {
            continue;
        };
        for container in spec["containers"].as_array().unwrap() {
            let args = yaml_words(&container["args"]);
            let subcommand = args.first().unwrap_or(&image.cmd[0]);
            for variable in k8s_env(container).keys() {
                check(
                    format!("{file} ({subcommand})"),
                    variable,
                    known_by(subcommand),
                );
            }
        }
    }

    // And every REGISTRY_ word anywhere, comments included, except compose's own variables
    // (`${REGISTRY_IMAGE}` picks the image; the container never sees it).
    let compose_only: BTreeSet<String> = compose_text
        .split("${")
        .skip(1)
        .map(|rest| rest[..identifier_len(rest)].to_owned())
        .filter(|name| !compose_keys.contains(name))
        .collect();
    let everything: BTreeSet<String> = serve.union(&migrate).cloned().collect();
    let mut files = vec![
        deploy_dir().join("Dockerfile"),
        deploy_dir().join("compose.yaml"),
    ];
    files.extend(k8s_files());
    for path in files {
        for word in registry_words(&read(&path)) {
            if !compose_only.contains(&word) {
                check(path.display().to_string(), &word, &everything);
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "variables the binary does not read (typos?): {unknown:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------

fn k8s_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir().join("k8s"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

/// Every document of every manifest, with its file name.
fn k8s_documents() -> Vec<(String, Value)> {
    let mut documents = Vec::new();
    for path in k8s_files() {
        let text = read(&path);
        let values: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        for value in values {
            if !value.is_null() {
                documents.push((file_name(&path), value));
            }
        }
    }
    documents
}

fn one_of_kind<'a>(documents: &'a [(String, Value)], kind: &str) -> &'a Value {
    let found: Vec<&Value> = documents
        .iter()
        .filter(|(_, d)| d["kind"].as_str() == Some(kind))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind}");
    found[0]
}

fn pod_spec(document: &Value) -> Option<&Value> {
    let spec = &document["spec"]["template"]["spec"];
    spec["containers"].is_array().then_some(spec)
}

enum EnvSource {
    Value(String),
    Secret { name: String, key: String },
}

fn k8s_env(container: &Value) -> BTreeMap<String, EnvSource> {
    let Some(items) = container["env"].as_array() else {
        return BTreeMap::new();
    };
    items
        .iter()
        .map(|item| {
            let name = yaml_str(&item["name"]).to_owned();
            let secret = &item["valueFrom"]["secretKeyRef"];
            let source = if secret.is_object() {
                EnvSource::Secret {
                    name: yaml_str(&secret["name"]).to_owned(),
                    key: yaml_str(&secret["key"]).to_owned(),
                }
            } else {
                let value = yaml_scalar(&item["value"])
                    .unwrap_or_else(|| panic!("{name}: no value and no secretKeyRef"));
                EnvSource::Value(value)
            };
            (name, source)
        })
        .collect()
}

/// Each label of `selector` is on `labels` with the same value.
fn selects(selector: &Value, labels: &Value) -> bool {
    let selector = selector.as_object().expect("a selector must be a mapping");
    !selector.is_empty()
        && selector
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
}

/// A Kubernetes memory quantity in bytes.
fn quantity_bytes(value: &Value) -> u64 {
    let text = yaml_scalar(value).unwrap_or_else(|| panic!("no quantity: {value:?}"));
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number: u64 = text[..digits].parse().unwrap();
    let unit = match &text[digits..] {
        "" => 1,
        "k" => 1000,
        "M" => 1000_u64.pow(2),
        "G" => 1000_u64.pow(3),
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        other => panic!("unknown quantity unit `{other}` in {text}"),
    };
    number * unit
}

/// Whether the pod or the container says runAsNonRoot.
fn runs_as_non_root(spec: &Value, container: &Value) -> bool {
    let pod = &spec["securityContext"];
    let own = &container["securityContext"];
    let non_root = own["runAsNonRoot"]
        .as_bool()
        .or(pod["runAsNonRoot"].as_bool())
        == Some(true);
    let user = own["runAsUser"].as_u64().or(pod["runAsUser"].as_u64());
    non_root && user != Some(0)
}

/// Values the test gives a Secret-backed variable (the example Secret holds placeholders only).
fn secret_value(variable: &str, database_url: &str, jwt_seed: &str) -> String {
    match variable {
        "REGISTRY_DATABASE_URL" => database_url.to_owned(),
        "REGISTRY_JWT_KEY" => jwt_seed.to_owned(),
        other => panic!("no test value for the Secret-backed {other}"),
    }
}

/// Every document of deploy/k8s, looked up by kind.
struct K8s {
    documents: Vec<(String, Value)>,
}

impl K8s {
    fn load() -> Self {
        Self {
            documents: k8s_documents(),
        }
    }

    fn kind(&self, kind: &str) -> &Value {
        one_of_kind(&self.documents, kind)
    }

    /// The pod spec and its single container of the workload of `kind`.
    fn workload(&self, kind: &str) -> (&Value, &Value) {
        let spec =
            pod_spec(self.kind(kind)).unwrap_or_else(|| panic!("{kind} has no pod template"));
        let containers = spec["containers"].as_array().unwrap();
        assert_eq!(containers.len(), 1, "{kind}: one container expected");
        (spec, &containers[0])
    }

    fn pod_labels(&self, kind: &str) -> &Value {
        &self.kind(kind)["spec"]["template"]["metadata"]["labels"]
    }

    /// Secret name → keys, as secret.example.yaml shows them.
    fn example_secrets(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.documents
            .iter()
            .filter(|(file, d)| {
                file == "secret.example.yaml" && d["kind"].as_str() == Some("Secret")
            })
            .map(|(_, secret)| {
                let keys = ["stringData", "data"]
                    .iter()
                    .filter_map(|field| secret[*field].as_object())
                    .flat_map(|map| map.keys().cloned())
                    .collect();
                (yaml_str(&secret["metadata"]["name"]).to_owned(), keys)
            })
            .collect()
    }
}

/// The container's literal env values (Secret references left out).
fn plain_env(container: &Value) -> Env {
    k8s_env(container)
        .into_iter()
        .filter_map(|(name, source)| match source {
            EnvSource::Value(value) => Some((name, value)),
            EnvSource::Secret { .. } => None,
        })
        .collect()
}

/// A container port by name (or number).
fn container_port(container: &Value, port: &Value) -> u64 {
    match port {
        Value::String(name) => container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str() == Some(name.as_str()))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("no container port named {name}")),
        Value::Number(n) => n.as_u64().unwrap(),
        other => panic!("unreadable port {other:?}"),
    }
}

/// The setting read from `variable`: the container's value, else the binary's default.
fn setting(env: &Env, serve_help: &str, variable: &str) -> u64 {
    let value = env
        .get(variable)
        .cloned()
        .unwrap_or_else(|| help_default(serve_help, variable));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{variable}={value} is not a number"))
}

#[test]
fn kubernetes_deployment_is_replicated_non_root_and_bounded() {
    let k8s = K8s::load();
    let deployment = k8s.kind("Deployment");
    let (spec, container) = k8s.workload("Deployment");
    assert!(
        deployment["spec"]["replicas"].as_u64().unwrap_or(1) >= 2,
        "one replica is not highly available"
    );
    assert!(
        selects(
            &deployment["spec"]["selector"]["matchLabels"],
            k8s.pod_labels("Deployment")
        ),
        "the Deployment's selector does not match its own pods"
    );
    assert!(
        container["command"].is_null(),
        "`command` would replace the image's ENTRYPOINT"
    );
    let args = yaml_words(&container["args"]);
    assert_eq!(args.first().map(String::as_str), Some("serve"));
    assert!(args.iter().any(|a| a == "--no-migrate"), "{args:?}");
    assert!(runs_as_non_root(spec, container));

    let resources = &container["resources"];
    for field in ["requests.cpu", "requests.memory", "limits.memory"] {
        let (group, resource) = field.split_once('.').unwrap();
        assert!(
            !resources[group][resource].is_null(),
            "resources.{field} is not set"
        );
    }
    let env = plain_env(container);
    let serve_help = help(&["serve", "--help"]);
    let cache_mb = setting(&env, &serve_help, "REGISTRY_CACHE_MB");
    assert!(
        quantity_bytes(&resources["limits"]["memory"]) > cache_mb << 20,
        "the memory limit leaves no room beyond the {cache_mb} MiB response cache"
    );
    let request_timeout = setting(&env, &serve_help, "REGISTRY_REQUEST_TIMEOUT");
    let grace = spec["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    assert!(
        grace > request_timeout,
        "terminationGracePeriodSeconds {grace} cuts off requests still inside their {request_timeout} s timeout"
    );
}

#[test]
fn kubernetes_secret_references_resolve_to_the_example_secrets() {
    let k8s = K8s::load();
    let secrets = k8s.example_secrets();
    for kind in ["Deployment", "Job"] {
        let (_, container) = k8s.workload(kind);
        for (variable, source) in k8s_env(container) {
            if let EnvSource::Secret { name, key } = source {
                assert!(
                    secrets.get(&name).is_some_and(|keys| keys.contains(&key)),
                    "{kind} {variable}: Secret {name} key {key} is not in secret.example.yaml"
                );
            }
        }
        assert!(
            matches!(
                k8s_env(container).get("REGISTRY_DATABASE_URL"),
                Some(EnvSource::Secret { .. })
            ),
            "{kind}: the database URL (it holds the password) must come from a Secret"
        );
    }
    let env = k8s_env(k8s.workload("Deployment").1);
    assert!(
        matches!(
            env.get("REGISTRY_JWT_KEY")
                .or(env.get("REGISTRY_JWT_KEY_FILE")),
            Some(EnvSource::Secret { .. })
        ),
        "replicas need one shared REGISTRY_JWT_KEY, from a Secret"
    );
}

#[test]
fn kubernetes_probes_service_pdb_and_hpa_agree_with_the_deployment() {
    let k8s = K8s::load();
    let (_, container) = k8s.workload("Deployment");
    let pod_labels = k8s.pod_labels("Deployment");
    let job_labels = k8s.pod_labels("Job");
    let listen_port = u64::from(image().listen_port(&plain_env(container)));

    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        assert!(get.is_object(), "no {probe}.httpGet");
        assert!(get["path"].is_string(), "{probe} has no path");
        assert_eq!(
            container_port(container, &get["port"]),
            listen_port,
            "{probe} checks a port the server does not listen on"
        );
    }

    let service = k8s.kind("Service");
    assert!(
        selects(&service["spec"]["selector"], pod_labels),
        "the Service selects no API pod"
    );
    assert!(
        !selects(&service["spec"]["selector"], job_labels),
        "the Service would also route to the migration Job's pod"
    );
    for port in service["spec"]["ports"].as_array().unwrap() {
        assert_eq!(container_port(container, &port["targetPort"]), listen_port);
    }

    let hpa = k8s.kind("HorizontalPodAutoscaler");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(target["kind"].as_str(), Some("Deployment"));
    assert_eq!(target["apiVersion"].as_str(), Some("apps/v1"));
    assert_eq!(
        target["name"],
        k8s.kind("Deployment")["metadata"]["name"],
        "the HPA scales another Deployment"
    );
    let min_replicas = hpa["spec"]["minReplicas"].as_u64().unwrap_or(1);
    assert!(min_replicas >= 2, "the HPA may scale down to one replica");
    assert!(hpa["spec"]["maxReplicas"].as_u64().unwrap() >= min_replicas);

    let pdb = k8s.kind("PodDisruptionBudget");
    let selector = &pdb["spec"]["selector"]["matchLabels"];
    assert!(selects(selector, pod_labels));
    assert!(!selects(selector, job_labels));
    let replicas = k8s.kind("Deployment")["spec"]["replicas"]
        .as_u64()
        .unwrap_or(1);
    match (
        pdb["spec"]["minAvailable"].as_u64(),
        pdb["spec"]["maxUnavailable"].as_u64(),
    ) {
        // Below the smallest replica count, or a node drain could never evict a pod.
        (Some(min), None) => assert!(
            (1..replicas.min(min_replicas)).contains(&min),
            "minAvailable {min} with {replicas} replicas"
        ),
        (None, Some(max)) => assert!(max >= 1),
        other => panic!("the PDB needs an integer minAvailable or maxUnavailable: {other:?}"),
    }
}

#[test]
fn kubernetes_job_migrates_with_the_release_image() {
    let k8s = K8s::load();
    let (spec, container) = k8s.workload("Job");
    assert_eq!(yaml_words(&container["args"]), ["migrate"]);
    assert!(container["command"].is_null());
    assert!(runs_as_non_root(spec, container));
    assert!(
        matches!(spec["restartPolicy"].as_str(), Some("Never" | "OnFailure")),
        "a Job's pods must not restart Always"
    );
    assert_eq!(
        container["image"],
        k8s.workload("Deployment").1["image"],
        "the migrations must come from the release being rolled out"
    );
}

/// Every manifest but the example Secret (which says it is left out, so a real Secret is never
/// overwritten with placeholders), and the image rename reaches every pod.
#[test]
fn kubernetes_kustomization_applies_every_manifest_but_the_example_secret() {
    let k8s = K8s::load();
    let kustomization = k8s.kind("Kustomization");
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| yaml_str(r).to_owned())
        .collect();
    let mut expected = BTreeSet::new();
    for path in k8s_files() {
        let file = file_name(&path);
        let left_out = read(&path)
            .to_ascii_lowercase()
            .contains("not listed in kustomization.yaml");
        if file != "kustomization.yaml" && !left_out {
            expected.insert(file);
        }
    }
    assert!(!listed.contains("secret.example.yaml"));
    assert_eq!(listed, expected, "kustomization.yaml resources");

    let renamed: BTreeSet<&str> = kustomization["images"]
        .as_array()
        .map(|images| images.iter().map(|i| yaml_str(&i["name"])).collect())
        .unwrap_or_default();
    for kind in ["Deployment", "Job"] {
        let reference = yaml_str(&k8s.workload(kind).1["image"]);
        let repository = reference
            .rsplit_once(':')
            .map_or(reference, |(repo, _)| repo);
        assert!(
            renamed.is_empty() || renamed.contains(repository),
            "{kind}: image {repository} escapes kustomization.yaml's images"
        );
    }
}

/// The Job migrates, then a replica serves with the Deployment's args and env on the same database
/// (SQLite here) and answers both probes.
#[test]
fn kubernetes_job_then_deployment_serve_and_answer_the_probes() {
    let k8s = K8s::load();
    let image = image();
    let data = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/registry.db", store.path().display());
    let jwt_seed = random_hex(32);
    let resolved = |container: &Value| -> Env {
        let env = k8s_env(container)
            .into_iter()
            .map(|(variable, source)| {
                let value = match source {
                    EnvSource::Value(value) => value,
                    EnvSource::Secret { .. } => secret_value(&variable, &database_url, &jwt_seed),
                };
                (variable, value)
            })
            .collect();
        image.container_env(&env, data.path())
    };

    let (_, job) = k8s.workload("Job");
    let migrated = container_command(
        &image.args_for(&yaml_words(&job["args"])),
        &resolved(job),
        data.path(),
    )
    .output()
    .unwrap();
    assert_success("the migration Job", &migrated);
    assert_json_logs(&output_lines(&migrated), Warnings::Refused);

    let (spec, container) = k8s.workload("Deployment");
    let args = yaml_words(&container["args"]);
    let mut server = Server::start(&image.args_for(&args), &resolved(container), data.path());
    for probe in ["readinessProbe", "livenessProbe"] {
        let path = yaml_str(&container[probe]["httpGet"]["path"]);
        let (status, body) = http(&server.address, "GET", path, None, "");
        assert_eq!(status, 200, "{probe} {path}: {body}");
    }
    let grace = spec["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    let stopped = server.terminate(Duration::from_secs(grace));
    assert!(stopped.success(), "SIGTERM exit: {stopped}");
    assert_json_logs(&server.logs(), Warnings::Refused);
    // The root filesystem is read-only and nothing is mounted at the image's data directory.
    assert!(
        std::fs::read_dir(data.path()).unwrap().next().is_none(),
        "the pod wrote to its read-only data directory"
    );
}

// ---------------------------------------------------------------------------------------------
// Processes, HTTP, PostgreSQL
// ---------------------------------------------------------------------------------------------

/// A running `registry-server`; killed when dropped, so a failing test leaves nothing behind.
struct Server {
    child: Child,
    address: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the binary as a container would and waits until it listens.
    fn start(args: &[String], env: &Env, cwd: &Path) -> Self {
        let mut child = container_command(args, env, cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = mpsc::channel();
        let outputs: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for output in outputs {
            let logs = Arc::clone(&logs);
            let found = found.clone();
            // Drained to the end, so the server never blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let end = rest
                            .find(|c: char| c.is_whitespace() || c == '"')
                            .unwrap_or(rest.len());
                        let _ = found.send(rest[..end].to_owned());
                    }
                    logs.lock().unwrap().push(line);
                }
            });
        }
        drop(found);
        let mut server = Self {
            child,
            address: String::new(),
            logs,
        };
        match listening.recv_timeout(Duration::from_mins(1)) {
            Ok(address) => server.address = address,
            Err(mpsc::RecvTimeoutError::Timeout | mpsc::RecvTimeoutError::Disconnected) => panic!(
                "`registry-server {}` did not start listening:\n{}",
                args.join(" "),
                server.logs().join("\n")
            ),
        }
        server
    }

    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// SIGTERM, as `docker stop` and Kubernetes send, and the exit status within `grace`.
    fn terminate(&mut self, grace: Duration) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running {grace:?} after SIGTERM (it would be killed)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn output_lines(output: &Output) -> Vec<String> {
    [&output.stdout, &output.stderr]
        .iter()
        .flat_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Warnings {
    /// A single container on its defaults may warn (a random token key, for example).
    Allowed,
    /// A recipe's configuration is complete: nothing it starts warns.
    Refused,
}

/// With REGISTRY_LOG_FORMAT=json a log collector gets one JSON object per line.
fn assert_json_logs(lines: &[String], warnings: Warnings) {
    let mut plain = Vec::new();
    for line in lines.iter().filter(|line| !line.trim().is_empty()) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            plain.push(line);
            continue;
        };
        let level = event["level"]
            .as_str()
            .unwrap_or_else(|| panic!("no level: {line}"));
        assert!(
            event["message"].is_string() || event["fields"]["message"].is_string(),
            "no message: {line}"
        );
        if warnings == Warnings::Refused {
            assert!(
                level != "WARN" && level != "ERROR",
                "the recipe's configuration makes the server warn: {line}"
            );
        }
    }
    assert!(plain.is_empty(), "log lines that are not JSON: {plain:#?}");
}

/// One HTTP/1.1 request over a plain socket: (status, body).
fn http(
    address: &str,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap_or_else(|err| panic!("{address}: {err}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let auth = bearer
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response head from {address}{path}"));
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in `{head}`"));
    let mut body = response[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, String::from_utf8(body).unwrap())
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&raw[..end]);
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[end + 2..];
        if size == 0 || raw.len() < size {
            break;
        }
        body.extend_from_slice(&raw[..size]);
        raw = raw[size..].strip_prefix(b"\r\n").unwrap_or(&raw[size..]);
    }
    body
}

/// GitHub's REST API as `/auth/github-at` uses it: the token belongs to `deploytest`, who admins
/// no organisation. Returns its base URL.
fn fake_github() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or_default();
            let (status, body) = if path == "/user" {
                ("200 OK", r#"{"login":"deploytest"}"#)
            } else if path.starts_with("/user/memberships/orgs") {
                ("200 OK", "[]")
            } else {
                ("404 Not Found", r#"{"message":"Not Found"}"#)
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

/// Runs one SQL command with psql and returns its unaligned, tuples-only output; panics on failure.
fn psql(url: &str, sql: &str) -> String {
    let output = client_command("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-tAqc", sql])
        .output()
        .expect("running psql");
    assert!(
        output.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("psql prints UTF-8")
}

/// Rows in sqlx's migration table.
fn applied_migrations(db: &PgDatabase) -> usize {
    psql(
        &db.url,
        "select count(*) from _sqlx_migrations where success",
    )
    .trim()
    .parse()
    .unwrap()
}
