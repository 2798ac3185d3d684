//! The workspace's own programs (`registry-server`, `mcp-reg`, the `fixture_server` example) for tests
//! that run them as child processes. `cargo test --workspace` builds all three before any test runs, so
//! they are used as they are; only a narrower run (`cargo test -p registry-tests`) lacks them or has
//! them older than the sources, and then they are built here, once per test binary.
//!
//! Building unconditionally would be wrong: `cargo build -p …` resolves features for that selection
//! alone and compiles every dependency a second time (on CI that filled the disk).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

/// Paths of the three programs in the target dir and profile this test was built into.
#[derive(Debug)]
pub struct Binaries {
    pub server: PathBuf,
    pub cli: PathBuf,
    pub fixture: PathBuf,
}

/// The programs, built first when any is missing or older than the sources.
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary knows its own path");
        // target/<profile>/deps/<test>-<hash> -> target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test binary lives in target/<profile>/deps")
            .to_path_buf();
        let exe_name = |name: &str| format!("{name}{}", std::env::consts::EXE_SUFFIX);
        let found = Binaries {
            server: profile_dir.join(exe_name("registry-server")),
            cli: profile_dir.join(exe_name("mcp-reg")),
            fixture: profile_dir
                .join("examples")
                .join(exe_name("fixture_server")),
        };
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the tests crate sits in the workspace root");
        let newest_source = newest_input(workspace);
        let stale = [&found.server, &found.cli, &found.fixture]
            .into_iter()
            .any(|path| modified(path).is_none_or(|built| built < newest_source));
        if stale {
            build(workspace, &profile_dir);
        }
        for path in [&found.server, &found.cli, &found.fixture] {
            assert!(
                path.is_file(),
                "step `locate binaries`: {} is missing after building it",
                path.display()
            );
        }
        found
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time among the sources the binaries are built from: the workspace
/// manifest, the member crates except this one (their src, examples, build scripts, manifests) and
/// the migrations the server embeds.
fn newest_input(workspace: &Path) -> SystemTime {
    let mut pending = vec![workspace.join("Cargo.toml")];
    let entries = std::fs::read_dir(workspace).expect("the workspace root is readable");
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "migrations" || (name != "tests" && path.join("Cargo.toml").is_file()) {
            pending.push(path);
        }
    }
    let mut newest = SystemTime::UNIX_EPOCH;
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| {
                n.starts_with('.') || ["target", "tests", "benches"].contains(&n.as_str())
            }) {
                continue;
            }
            if let Ok(children) = std::fs::read_dir(&path) {
                pending.extend(children.flatten().map(|c| c.path()));
            }
        } else if let Ok(time) = meta.modified() {
            newest = newest.max(time);
        }
    }
    newest
}

/// `$CARGO build` of the two binaries and the example into the target dir and profile of this test.
fn build(workspace: &Path, profile_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command.current_dir(workspace).args([
        "build",
        "-p",
        "registry-server",
        "-p",
        "registry-cli",
        "--bin",
        "registry-server",
        "--bin",
        "mcp-reg",
        "--example",
        "fixture_server",
    ]);
    // target/debug is the dev profile; any other directory is named after its profile.
    if let Some(profile) = profile_dir
        .file_name()
        .filter(|p| p.to_str() != Some("debug"))
    {
        command.arg("--profile").arg(profile);
    }
    if let Some(target_dir) = profile_dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    let status = command.status().unwrap_or_else(|err| {
        panic!(
            "step `build binaries`: cannot run {}: {err}",
            cargo.to_string_lossy()
        )
    });
    assert!(
        status.success(),
        "step `build binaries`: `cargo build -p registry-server -p registry-cli --bin registry-server \
         --bin mcp-reg --example fixture_server` failed ({status}); run it to see why"
    );
}
