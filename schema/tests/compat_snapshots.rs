//! Snapshot tests: the compatibility report (JSON) between consecutive published versions of real
//! MCP servers (`shared/conformance/real-tools`).
//!
//! Snapshots live in `tests/snapshots/compat/<server>@<old>..<new>.json`. Regenerate them with
//! `UPDATE_SNAPSHOTS=1 cargo test -p registry-schema --test compat_snapshots`, then read the diff:
//! these reports are read by people.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use registry_schema::ToolSurface;
use registry_schema::compat::check_surfaces;

fn real_tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/real-tools")
}

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/compat")
}

/// Captures grouped by server, each list sorted by semver precedence (text order for non-semver).
fn captures() -> BTreeMap<String, Vec<(String, PathBuf)>> {
    let mut servers: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
    for entry in std::fs::read_dir(real_tools()).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some((server, version)) = stem.rsplit_once('@') else {
            continue;
        };
        servers
            .entry(server.to_owned())
            .or_default()
            .push((version.to_owned(), path.clone()));
    }
    for versions in servers.values_mut() {
        versions.sort_by(|(a, _), (b, _)| {
            match (semver::Version::parse(a), semver::Version::parse(b)) {
                (Ok(x), Ok(y)) => x.cmp_precedence(&y),
                _ => a.cmp(b),
            }
        });
    }
    servers
}

#[test]
fn consecutive_real_versions_match_their_snapshots() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut problems = Vec::new();
    let mut compared = 0;
    for (server, versions) in captures() {
        for pair in versions.windows(2) {
            let ((old_version, old_path), (new_version, new_path)) = (&pair[0], &pair[1]);
            let old = ToolSurface::from_json(&std::fs::read(old_path).unwrap()).unwrap();
            let new = ToolSurface::from_json(&std::fs::read(new_path).unwrap()).unwrap();
            let mut report = check_surfaces(&old, &new);
            if let (Ok(a), Ok(b)) = (
                semver::Version::parse(old_version),
                semver::Version::parse(new_version),
            ) {
                report = report.with_versions(&a, &b);
            }
            let actual = serde_json::to_string_pretty(&report).unwrap() + "\n";
            let file = snapshots().join(format!("{server}@{old_version}..{new_version}.json"));
            compared += 1;
            if update {
                std::fs::create_dir_all(snapshots()).unwrap();
                std::fs::write(&file, &actual).unwrap();
                continue;
            }
            match std::fs::read_to_string(&file) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => problems.push(format!(
                    "{} differs from the current report:\n{}",
                    file.display(),
                    first_difference(&expected, &actual)
                )),
                Err(err) => problems.push(format!("{}: {err}", file.display())),
            }
        }
    }
    assert!(
        compared >= 20,
        "expected the real-tools captures, compared {compared}"
    );
    assert!(
        problems.is_empty(),
        "{} snapshot(s) out of date; if the change is intended, rerun with UPDATE_SNAPSHOTS=1 and review the diff\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// The first differing line, with its neighbours, as a small diff.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let index = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let from = index.saturating_sub(2);
    let mut out = format!("first difference at line {}:\n", index + 1);
    for line in e.iter().skip(from).take(5) {
        let _ = writeln!(out, "- {line}");
    }
    for line in a.iter().skip(from).take(5) {
        let _ = writeln!(out, "+ {line}");
    }
    out
}
