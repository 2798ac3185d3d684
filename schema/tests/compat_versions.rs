//! The version-ordering cases of schema-compat.md §7 and the policy of §5, through `compat::gate`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use registry_schema::ToolSurface;
use registry_schema::compat::{
    Bump, CheckKind, GateOptions, GateReport, Publication, Verdict, actual_bump, gate, same_line,
};
use serde_json::{Value, json};

fn tool(name: &str) -> Value {
    json!({"name": name, "inputSchema": {"type": "object", "properties": {"x": {"type": "string"}}}})
}

fn surface(tools: &[&str]) -> ToolSurface {
    let tools: Vec<Value> = tools.iter().map(|name| tool(name)).collect();
    serde_json::from_value(json!({
        "serverInfo": {"name": "s", "version": "1"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": tools,
    }))
    .unwrap()
}

fn published(version: &str, tools: &[&str]) -> Publication {
    Publication {
        version: version.to_owned(),
        deleted: false,
        surface: Some(surface(tools)),
        manifest: None,
    }
}

fn run(history: &[Publication], new: &Publication) -> GateReport {
    gate(history, new, &GateOptions::default())
}

fn reasons(report: &GateReport) -> Vec<&str> {
    report.reasons.iter().map(|r| r.id.as_str()).collect()
}

fn v(text: &str) -> semver::Version {
    semver::Version::parse(text).unwrap()
}

#[test]
fn backfill_compares_with_the_highest_lower_release_not_latest() {
    let history = [
        published("1.3.4", &["a"]),
        published("1.4.0", &["a", "b"]),
        published("2.0.0", &["b"]),
        published("2.1.0", &["b", "c"]),
    ];
    let report = run(&history, &published("1.3.5", &["a", "new"]));
    assert_eq!(report.baseline_version.as_deref(), Some("1.3.4"));
    assert_eq!(report.actual_bump, Some(Bump::Patch));
    assert_eq!(report.required_bump, Bump::Minor);
    assert_eq!(report.verdict, Verdict::Reject);
    assert!(reasons(&report).contains(&"bump-too-small"), "{report:#?}");
}

#[test]
fn sandwich_rejects_a_version_the_next_release_would_break() {
    let history = [published("1.3.4", &["a"]), published("1.5.0", &["a"])];
    let report = run(&history, &published("1.4.0", &["a", "t"]));
    assert_eq!(report.baseline_version.as_deref(), Some("1.3.4"));
    let primary = report.primary().unwrap();
    assert_eq!(primary.verdict, Verdict::Pass);
    assert_eq!(report.verdict, Verdict::Reject);
    assert_eq!(reasons(&report), ["sandwich-break"]);
    let sandwich = report
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Sandwich)
        .unwrap();
    assert_eq!(sandwich.against, "1.5.0");
    assert!(
        sandwich
            .report
            .findings
            .iter()
            .any(|f| f.id == "tool-removed")
    );
    // The same backfill that keeps what 1.5.0 has passes.
    let report = run(&history, &published("1.4.0", &["a"]));
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");
}

#[test]
fn zero_x_follows_cargo() {
    let report = run(
        &[published("0.3.1", &["a", "b"])],
        &published("0.3.2", &["a"]),
    );
    assert_eq!(report.actual_bump, Some(Bump::Minor));
    assert_eq!(report.required_bump, Bump::Major);
    assert_eq!(report.verdict, Verdict::Reject);

    let report = run(
        &[published("0.3.1", &["a", "b"])],
        &published("0.4.0", &["a"]),
    );
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");

    let report = run(
        &[published("0.0.7", &["a", "b"])],
        &published("0.0.8", &["a"]),
    );
    assert_eq!(report.actual_bump, Some(Bump::Major));
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");

    // 0.y.z: a patch bump may add.
    let report = run(
        &[published("0.3.1", &["a"])],
        &published("0.3.2", &["a", "b"]),
    );
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");
}

#[test]
fn final_release_skips_release_candidates() {
    let history = [published("1.2.0", &["a"]), published("1.3.0-rc.1", &["b"])];
    let report = run(&history, &published("1.3.0", &["b"]));
    assert_eq!(report.baseline_version.as_deref(), Some("1.2.0"));
    assert_eq!(report.verdict, Verdict::Reject);
}

#[test]
fn prerelease_to_prerelease_is_free() {
    let history = [published("2.0.0-alpha.1", &["a"])];
    let report = run(&history, &published("2.0.0-alpha.2", &["b"]));
    assert_eq!(report.baseline_version.as_deref(), Some("2.0.0-alpha.1"));
    assert_eq!(report.actual_bump, Some(Bump::Major));
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");

    // A release candidate of the next minor must be at most minor against the last release.
    let history = [published("1.3.0", &["a"])];
    let report = run(&history, &published("1.4.0-rc.2", &["b"]));
    assert_eq!(report.verdict, Verdict::Reject);
    // And 2.0.0-alpha is free against 1.x.
    let report = run(&history, &published("2.0.0-alpha.1", &["b"]));
    assert_eq!(report.verdict, Verdict::Pass);
}

#[test]
fn build_metadata_duplicate_is_rejected() {
    let report = run(
        &[published("1.2.3", &["a"])],
        &published("1.2.3+build.7", &["a"]),
    );
    assert_eq!(report.verdict, Verdict::Reject);
    assert_eq!(reasons(&report), ["version-duplicate"]);
}

#[test]
fn metadata_republish_must_keep_the_surface() {
    let history = [published("1.2.2", &["a"]), published("1.2.3", &["a", "b"])];
    let same = run(&history, &published("1.2.3-1", &["b", "a"]));
    assert_eq!(same.verdict, Verdict::Pass, "{same:#?}");
    assert_eq!(same.baseline_version.as_deref(), Some("1.2.3"));
    assert_eq!(same.checks[0].kind, CheckKind::Republish);

    let changed = run(&history, &published("1.2.3-1", &["a"]));
    assert_eq!(changed.verdict, Verdict::Reject);
    assert_eq!(reasons(&changed), ["republish-changed"]);

    // Without 1.2.3 in the history, 1.2.3-1 is an ordinary pre-release checked against 1.2.2
    // (a patch bump, so a new tool is too much).
    let plain = run(&history[..1], &published("1.2.3-1", &["a", "b"]));
    assert_eq!(plain.baseline_version.as_deref(), Some("1.2.2"));
    assert_eq!(plain.actual_bump, Some(Bump::Patch));
    assert_eq!(reasons(&plain), ["bump-too-small"]);
}

#[test]
fn non_semver_versions_with_a_surface_are_refused() {
    for version in ["v1.2.3", "1.2", "2024-01-05"] {
        let report = run(&[published("1.0.0", &["a"])], &published(version, &["a"]));
        assert_eq!(report.verdict, Verdict::Reject, "{version}");
        assert_eq!(reasons(&report), ["version-not-semver"]);
        assert!(report.reasons[0].message.contains(version));
    }
    let no_surface = Publication {
        version: "v2".to_owned(),
        ..Publication::default()
    };
    assert_eq!(run(&[], &no_surface).verdict, Verdict::Pass);
}

#[test]
fn deleted_versions_are_never_the_baseline() {
    let mut yanked = published("1.1.0", &["a", "b"]);
    yanked.deleted = true;
    let history = [published("1.0.0", &["a"]), yanked];
    let report = run(&history, &published("1.1.1", &["a", "c"]));
    assert_eq!(report.baseline_version.as_deref(), Some("1.0.0"));
    assert_eq!(report.actual_bump, Some(Bump::Minor));
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");
}

#[test]
fn first_publish_has_nothing_to_check() {
    let report = run(&[], &published("1.0.0", &["a"]));
    assert_eq!(report.verdict, Verdict::Pass);
    assert_eq!(reasons(&report), ["first-publish"]);
}

#[test]
fn bump_table() {
    assert_eq!(actual_bump(&v("1.2.3"), &v("2.0.0")), Bump::Major);
    assert_eq!(actual_bump(&v("1.2.3"), &v("1.3.0")), Bump::Minor);
    assert_eq!(actual_bump(&v("1.2.3"), &v("1.2.4")), Bump::Patch);
    assert_eq!(actual_bump(&v("0.2.3"), &v("0.3.0")), Bump::Major);
    assert_eq!(actual_bump(&v("0.2.3"), &v("0.2.4")), Bump::Minor);
    assert_eq!(actual_bump(&v("0.0.3"), &v("0.0.4")), Bump::Major);
    assert_eq!(actual_bump(&v("1.0.0-rc.1"), &v("1.0.0-rc.2")), Bump::Major);
    assert_eq!(actual_bump(&v("2025.4.8"), &v("2025.4.28")), Bump::Patch);
    assert!(same_line(&v("1.2.0"), &v("1.9.9")));
    assert!(!same_line(&v("1.2.0"), &v("2.0.0")));
    assert!(same_line(&v("0.3.0"), &v("0.3.9")));
    assert!(!same_line(&v("0.3.0"), &v("0.4.0")));
    assert!(!same_line(&v("0.0.1"), &v("0.0.2")));
}
