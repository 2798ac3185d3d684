//! Terminal behaviour of the real `mcp-reg` binary (issue 20, point 6): run in a pseudo-terminal
//! (`expectrl`) it colours its messages, asks y/N questions and shows a spinner on slow steps;
//! `NO_COLOR` and `CLICOLOR=0` turn colour off there, `CLICOLOR_FORCE` turns it on through a pipe,
//! and a pipe gets plain text and no spinner. A stdout whose reader is gone ends a command quietly
//! (exit 0, no panic, no message). Only `registry-cli/src/output.rs` writes to the standard streams.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // helpers of the tests

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Registry, User, fixture, login, ok, text, write_json};
use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession as Session;
use expectrl::{Eof, Expect};
use serde_json::json;

const NAME: &str = "io.github.acme/tty-demo";
/// An address nothing listens on: the commands here that need no registry never reach it.
const NO_REGISTRY: &str = "http://127.0.0.1:1";
const ESC: &str = "\x1b[";

fn capture() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/real-tools/server-memory@2025.9.25.json"
    )
    .to_owned()
}

/// `mcp-reg` with `user`'s temp dirs, as `User::cmd` sets them, and no colour variables at all.
fn command(user: &User, registry: &str) -> Command {
    std::fs::create_dir_all(user.home()).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-reg"));
    cmd.env("MCP_REG_CONFIG_DIR", user.path("config"))
        .env("MCP_REG_DATA_DIR", user.path("data"))
        .env("HOME", user.home())
        .env("XDG_CONFIG_HOME", user.home().join(".config"))
        .env("MCP_REG_REGISTRY", registry)
        .env("TERM", "xterm-256color")
        .current_dir(user.home());
    for var in [
        "XDG_DATA_HOME",
        "CLAUDE_CONFIG_DIR",
        "CODEX_HOME",
        "COPILOT_HOME",
        "OPENCODE_CONFIG",
        "APPDATA",
        "LOCALAPPDATA",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        // anstream colours a terminal under CI even with TERM=dumb (CI logs render colour).
        "CI",
        "COLUMNS",
        "MCP_REG_LAN_OFFER",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `cmd` in a pseudo-terminal (stdin, stdout and stderr all on it).
fn spawn(cmd: Command) -> Session {
    let mut session = Session::spawn(cmd).unwrap();
    session.set_expect_timeout(Some(Duration::from_mins(1)));
    session
}

/// Everything the session prints until it exits, and its exit code.
fn finish(mut session: Session) -> (String, i32) {
    let rest = session.expect(Eof).unwrap();
    let screen = text(rest.as_bytes());
    let code = match session.get_process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("mcp-reg did not exit normally: {other:?}\n{screen}"),
    };
    (screen, code)
}

/// What a run in a pseudo-terminal shows.
fn on_terminal(cmd: Command) -> (String, i32) {
    finish(spawn(cmd))
}

fn piped(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

/// A missing file: `validate` fails with `error:` and a hint on stderr.
fn failing_validate(user: &User) -> Command {
    let mut cmd = command(user, NO_REGISTRY);
    cmd.args(["validate", "--offline", "missing/server.json"]);
    cmd
}

#[test]
fn colour_on_a_terminal_unless_no_color_or_clicolor_0() {
    let user = User::new();
    let (screen, code) = on_terminal(failing_validate(&user));
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("\x1b[1m\x1b[31merror\x1b[0m: "),
        "a terminal gets a red `error:`: {screen:?}"
    );
    assert!(screen.contains("hint: "), "{screen:?}");

    for (var, value) in [("NO_COLOR", "1"), ("CLICOLOR", "0")] {
        let mut cmd = failing_validate(&user);
        cmd.env(var, value);
        let (screen, code) = on_terminal(cmd);
        assert_eq!(code, 1, "{screen}");
        assert!(screen.contains("error: "), "{var}={value}: {screen:?}");
        assert!(
            !screen.contains(ESC),
            "{var}={value} still coloured: {screen:?}"
        );
    }

    // Without TERM (or TERM=dumb) a terminal is not assumed to take colour.
    let mut cmd = failing_validate(&user);
    cmd.env("TERM", "dumb");
    let (screen, _) = on_terminal(cmd);
    assert!(
        !screen.contains(ESC),
        "TERM=dumb still coloured: {screen:?}"
    );
}

#[test]
fn pipes_get_plain_text_unless_clicolor_force() {
    let user = User::new();
    let out = piped(failing_validate(&user));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    assert!(!stderr.contains(ESC), "{stderr:?}");

    let mut cmd = failing_validate(&user);
    cmd.env("CLICOLOR_FORCE", "1");
    let stderr = text(&piped(cmd).stderr);
    assert!(
        stderr.starts_with("\x1b[1m\x1b[31merror\x1b[0m: "),
        "{stderr:?}"
    );
    // NO_COLOR wins over CLICOLOR_FORCE.
    let mut cmd = failing_validate(&user);
    cmd.env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1");
    assert!(!text(&piped(cmd).stderr).contains(ESC));

    // Data on stdout too: doctor's status labels, and the table header of `keys list`.
    let mut cmd = command(&user, NO_REGISTRY);
    cmd.arg("doctor");
    let plain = piped(cmd);
    assert!(!plain.stdout.is_empty());
    assert!(
        !text(&plain.stdout).contains(ESC),
        "{}",
        text(&plain.stdout)
    );
    let mut cmd = command(&user, NO_REGISTRY);
    cmd.arg("doctor").env("CLICOLOR_FORCE", "1");
    let forced = piped(cmd);
    assert!(
        text(&forced.stdout).contains(ESC),
        "{}",
        text(&forced.stdout)
    );
}

/// A registry with NAME 1.0.0 (an npm package needing no input), and a logged-in user.
fn published() -> (Registry, User) {
    let registry = Registry::start();
    let user = User::new();
    login(&user, &registry);
    let file = user.path("work/server.json");
    write_json(
        &file,
        &json!({
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": NAME,
            "description": "A server for the terminal tests",
            "version": "1.0.0",
            "packages": [{
                "registryType": "npm",
                "identifier": "@acme/tty-demo",
                "version": "1.0.0",
                "transport": { "type": "stdio" }
            }]
        }),
    );
    ok(&user.run(
        &registry.url,
        &["publish", file.to_str().unwrap(), "--no-probe"],
    ));
    (registry, user)
}

fn cursor_config(user: &User) -> String {
    std::fs::read_to_string(user.home().join(".cursor/mcp.json")).unwrap_or_default()
}

#[test]
fn install_and_uninstall_ask_on_the_terminal() {
    let (registry, user) = published();

    // Install asks before writing; "y" writes.
    let mut cmd = command(&user, &registry.url);
    cmd.args(["install", NAME, "--host", "cursor"]);
    let mut session = spawn(cmd);
    let asked = session.expect("[y/N] ").unwrap();
    let question = text(asked.before());
    assert!(question.contains("write tty-demo into "), "{question:?}");
    session.send_line("y").unwrap();
    let (screen, code) = finish(session);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("installed"), "{screen:?}");
    // The outcome is green on the terminal.
    assert!(screen.contains("\x1b[32minstalled\x1b[0m"), "{screen:?}");
    assert!(cursor_config(&user).contains("@acme/tty-demo"));

    // Uninstall asks too; "n" (or anything but yes) keeps the entry.
    let mut cmd = command(&user, &registry.url);
    cmd.args(["uninstall", NAME]);
    let mut session = spawn(cmd);
    session.expect("[y/N] ").unwrap();
    session.send_line("n").unwrap();
    let (screen, code) = finish(session);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("skipped"), "{screen:?}");
    assert!(cursor_config(&user).contains("@acme/tty-demo"));

    // Piped, nothing is asked: without --yes there is no terminal to confirm on, so it just removes.
    let out = piped({
        let mut cmd = command(&user, &registry.url);
        cmd.args(["uninstall", NAME]);
        cmd
    });
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("[y/N]"));
    assert!(!cursor_config(&user).contains("@acme/tty-demo"));
}

/// `probe` of a server that takes a moment to start (the fixture behind `sleep`).
fn slow_probe(user: &User, quiet: bool) -> Command {
    let script = format!(
        "sleep 1; exec '{}' --capture '{}'",
        fixture().display(),
        capture()
    );
    let mut cmd = command(user, NO_REGISTRY);
    if quiet {
        cmd.arg("-q");
    }
    cmd.args(["probe", "-o"])
        .arg(user.path("surface.json"))
        .args(["--", "sh", "-c", &script]);
    cmd
}

#[test]
fn a_slow_probe_shows_a_spinner_on_a_terminal_only() {
    let user = User::new();
    let (screen, code) = on_terminal(slow_probe(&user, false));
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("capturing the tool surface"),
        "no spinner: {screen:?}"
    );
    assert!(screen.contains("wrote "), "{screen:?}");

    let out = piped(slow_probe(&user, false));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("wrote "), "{stderr}");
    assert!(!stderr.contains("capturing the tool surface"), "{stderr:?}");
    assert!(!stderr.contains(ESC), "{stderr:?}");

    // `-q` hides the spinner on a terminal too.
    let (screen, code) = on_terminal(slow_probe(&user, true));
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("capturing the tool surface"), "{screen:?}");
}

/// Runs `cmd` with a stdout pipe whose reader is already closed: every write fails with EPIPE.
fn with_closed_stdout(mut cmd: Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(cmd);
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let (registry, user) = published();
    let manifest = user.path("work/server.json");
    let manifest = manifest.to_str().unwrap();
    let probe_args = [
        "probe".to_owned(),
        "--".to_owned(),
        fixture().display().to_string(),
        "--capture".to_owned(),
        capture(),
    ];
    let runs: Vec<Vec<String>> = vec![
        vec!["search".into(), "tty".into()],
        vec!["show".into(), NAME.into()],
        vec!["versions".into(), NAME.into()],
        vec!["search".into(), "tty".into(), "--json".into()],
        vec!["validate".into(), "--offline".into(), manifest.into()],
        vec![
            "validate".into(),
            "--offline".into(),
            "--json".into(),
            manifest.into(),
        ],
        // Was a `println!` (a panic on a closed pipe).
        vec![
            "publish".into(),
            manifest.into(),
            "--no-probe".into(),
            "--prepare".into(),
            user.path("work/final.json").display().to_string(),
        ],
        vec!["completions".into(), "bash".into()],
        vec!["doctor".into()],
        vec!["--help".into()],
        probe_args.to_vec(),
    ];
    for args in runs {
        let mut cmd = command(&user, &registry.url);
        cmd.args(&args);
        let out = with_closed_stdout(cmd);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error:"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Only `output.rs` touches the standard streams: no print macro, no `std::io::stdout()` or
/// `stderr()` anywhere else (`lib.rs` also denies clippy's `print_stdout`/`print_stderr`).
#[test]
fn only_the_output_module_writes_to_the_standard_streams() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path == src.join("output.rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (number, line) in source.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if [
                    "println!",
                    "print!",
                    "eprintln!",
                    "eprint!",
                    "dbg!",
                    "io::stdout()",
                    "io::stderr()",
                ]
                .iter()
                .any(|needle| code.contains(needle))
                {
                    offenders.push(format!("{}:{}: {line}", path.display(), number + 1));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "write through registry_cli::output instead:\n{}",
        offenders.join("\n")
    );
}
