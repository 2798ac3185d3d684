#![allow(clippy::unwrap_used)]
//! Crash safety of config writes. A child process (this test binary re-run as `crash_child`) installs
//! and uninstalls in a loop while the parent kills it with SIGKILL at random moments; after every kill
//! the host file must parse and equal the old or the new content exactly, and once the interrupted
//! change is recovered the install record agrees with the file (no entry stuck between the two). A
//! second test aborts the child between the temp write and the rename through the debug-build failure
//! hook; a third runs eight processes installing into one file at once.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use registry_cli::install::atomic::{self, test_hooks};
use registry_cli::install::{
    Host, HostEnv, InstallError, InstallOptions, Platform, RecordStore, Scope, install,
    plan_install, plan_uninstall, recover, uninstall, yaml,
};
use registry_schema::ServerJson;
use serde_json::json;

/// Set in the child's environment: the machine directory it works in.
const CHILD_DIR: &str = "MCP_REG_CRASH_CHILD_DIR";
const HOST: Host = Host::Continue;

const BEFORE: &str = "# Continue config\nname: Local Assistant\nversion: 1.0.0\nschema: v1\nmcpServers:\n  # mine\n  - name: mine\n    command: node\n";

fn machine(dir: &Path) -> (HostEnv, RecordStore) {
    let env = HostEnv::new(Platform::Linux, dir.join("home"));
    (env, RecordStore::new(dir.join("data")))
}

fn server() -> ServerJson {
    serde_json::from_value(json!({
        "name": "io.github.acme/weather", "description": "Weather", "version": "1.2.3",
        "packages": [{"registryType": "npm", "identifier": "@acme/weather", "version": "1.2.3",
            "transport": {"type": "stdio"}}]
    }))
    .unwrap()
}

fn forced() -> InstallOptions {
    // A kill between the config write and the record write leaves the entry unrecorded.
    InstallOptions {
        force: true,
        ..InstallOptions::default()
    }
}

/// The child: install and uninstall for ever (until killed), without `force`: an entry a killed
/// predecessor left half-done must be repaired, not refused. A no-op in a normal test run.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let (env, records) = machine(Path::new(&dir));
    let plain = InstallOptions::default();
    loop {
        install(&server(), HOST, Scope::User, &env, &plain, &records).unwrap();
        uninstall(HOST, Scope::User, &env, "weather", false, &records).unwrap();
    }
}

/// Set in a concurrent child's environment: `<machine dir>|<entry name>`.
const CONCURRENT_CHILD: &str = "MCP_REG_CONCURRENT_CHILD";

/// A concurrent child: installs one entry of its own into the shared host file. A no-op normally.
#[test]
fn concurrent_child() {
    let Some(spec) = std::env::var_os(CONCURRENT_CHILD) else {
        return;
    };
    let spec = spec.to_string_lossy().into_owned();
    let (dir, entry) = spec.split_once('|').unwrap();
    let (env, records) = machine(Path::new(dir));
    let opts = InstallOptions {
        entry_name: Some(entry.to_owned()),
        ..InstallOptions::default()
    };
    install(&server(), HOST, Scope::User, &env, &opts, &records).unwrap();
}

fn spawn_child(dir: &Path, fail: Option<&str>) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "crash_child", "--test-threads=1", "--quiet"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(fail) = fail {
        cmd.env(test_hooks::FAIL_ENV, fail);
    }
    cmd.spawn().unwrap()
}

fn temp_files(path: &Path) -> Vec<PathBuf> {
    let prefix = format!(
        ".{}{}",
        path.file_name().unwrap().to_string_lossy(),
        atomic::MARK
    );
    fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".tmp")
        })
        .collect()
}

/// Sets up the machine with `BEFORE` and returns (config path, the text after an install).
fn setup(dir: &Path) -> (PathBuf, String) {
    let (env, records) = machine(dir);
    let path = HOST.config_path(Scope::User, &env).unwrap();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, BEFORE).unwrap();
    let plan = plan_install(&server(), HOST, Scope::User, &env, &forced(), &records).unwrap();
    let after = plan.new_text().to_owned();
    assert_ne!(after, BEFORE);
    (path, after)
}

fn check_host_file(path: &Path, after: &str) -> bool {
    let text = fs::read_to_string(path).unwrap();
    let profile = HOST.profile();
    yaml::check(&text, profile.root[0], profile.layout).unwrap();
    assert!(
        text == BEFORE || text == after,
        "torn or foreign content:\n{text}"
    );
    text == after
}

#[cfg(unix)]
#[test]
fn killed_at_random_moments_the_file_is_always_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let (path, after) = setup(dir.path());
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        | 1;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let (env, records) = machine(dir.path());
    let (mut saw_before, mut saw_after, mut repaired) = (0, 0, 0);
    for _ in 0..100 {
        let mut child = spawn_child(dir.path(), None);
        std::thread::sleep(Duration::from_millis(20 + u64::from(random() % 130)));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child stopped by itself: a refused install or uninstall (a stuck entry)"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let in_file = check_host_file(&path, &after);
        if in_file {
            saw_after += 1;
        } else {
            saw_before += 1;
        }
        // What the next run does first: finish or drop the interrupted change. Then the record and
        // the file agree.
        if recover(&records).unwrap().is_some() {
            repaired += 1;
        }
        let recorded = records.find(&path, "weather").unwrap().is_some();
        assert_eq!(
            recorded, in_file,
            "record and host file disagree after recovery"
        );
        assert!(atomic::backups(&path).len() <= atomic::KEEP_BACKUPS + 1);
    }
    eprintln!(
        "after kills: {saw_before} old, {saw_after} new, {repaired} interrupted changes recovered"
    );
    assert!(saw_before + saw_after == 100);
    // The child did write (the file was seen changed at least once, or backups exist).
    assert!(saw_after > 0 || !atomic::backups(&path).is_empty());
    // The next successful write removes temp files the killed processes left (uninstall first, so a
    // write happens whichever content the last kill left).
    uninstall(HOST, Scope::User, &env, "weather", true, &records).ok();
    install(&server(), HOST, Scope::User, &env, &forced(), &records).unwrap();
    if Path::new("/proc/self").exists() {
        assert_eq!(temp_files(&path), Vec::<PathBuf>::new());
    }
    assert!(atomic::backups(&path).len() <= atomic::KEEP_BACKUPS);
    check_host_file(&path, &after);
}

#[test]
fn a_crash_between_temp_write_and_rename_leaves_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, after) = setup(dir.path());
    // The child aborts (like a crash) right after syncing its first temp file.
    let mut child = spawn_child(dir.path(), Some("abort"));
    let deadline = Instant::now() + Duration::from_mins(1);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "child did not abort");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!child.wait().unwrap().success());
    assert_eq!(fs::read_to_string(&path).unwrap(), BEFORE);
    assert_eq!(temp_files(&path).len(), 1, "the crash leaves its temp file");
    // The failed write's backup may remain; the next write works and cleans the temp file up.
    let (env, records) = machine(dir.path());
    install(&server(), HOST, Scope::User, &env, &forced(), &records).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), after);
    if Path::new("/proc/self").exists() {
        assert_eq!(temp_files(&path), Vec::<PathBuf>::new());
    }

    // In-process: an injected failure is an error and leaves the file and directory as they were.
    let names = |p: &Path| {
        let mut n: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        n.sort();
        n
    };
    let listed = names(&path);
    let plan = plan_uninstall(HOST, Scope::User, &env, "weather", false, &records).unwrap();
    test_hooks::fail_after_temp_write(true);
    let err = plan.apply(&records).unwrap_err();
    test_hooks::fail_after_temp_write(false);
    assert!(matches!(err, InstallError::Io { .. }), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), after);
    assert_eq!(names(&path), listed);
    plan.apply(&records).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), BEFORE);
}

/// Eight processes install eight entries into one host file at once: all succeed, and the file and
/// the record hold all eight.
#[cfg(unix)]
#[test]
fn concurrent_installs_into_one_file_keep_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = setup(dir.path());
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "concurrent_child", "--test-threads=1", "--quiet"])
                .env(
                    CONCURRENT_CHILD,
                    format!("{}|weather-{i}", dir.path().display()),
                )
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = fs::read_to_string(&path).unwrap();
    let (_, records) = machine(dir.path());
    for i in 0..8 {
        let entry = format!("weather-{i}");
        assert!(
            text.contains(&format!("name: \"{entry}\"\n")),
            "{entry} lost:\n{text}"
        );
        assert!(
            records.find(&path, &entry).unwrap().is_some(),
            "{entry} unrecorded"
        );
    }
    assert!(text.contains("# mine"), "the user's comment survives");
}
