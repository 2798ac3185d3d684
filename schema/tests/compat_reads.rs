//! Issue 19: the gate reads only what `gate_reads` names, and `gate_shared` compares publications
//! with equal contents once, without changing a single answer of `gate`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly; that is what a test should do"
)]

use registry_schema::compat::{
    GateOptions, Publication, check, contract_key, gate, gate_reads, gate_shared,
};
use registry_schema::{ServerJson, ToolSurface};
use serde_json::{Value, json};

/// Tool sets a publication may carry; `None` is a publication without contents (unparseable).
const CONTENTS: &[Option<&[&str]>] = &[
    Some(&["a"]),
    Some(&["a", "b"]),
    Some(&["b"]),
    Some(&["a", "c"]),
    Some(&["a", "b", "c"]),
    None,
];

const VERSIONS: &[&str] = &[
    "0.0.1",
    "0.1.0",
    "0.1.1",
    "0.2.0",
    "1.0.0",
    "1.0.1",
    "1.0.2",
    "1.1.0",
    "1.1.1",
    "1.2.0",
    "1.2.0-1",
    "1.2.0-2",
    "1.2.1",
    "1.3.0-beta",
    "1.3.0",
    "1.4.0",
    "2.0.0-rc.1",
    "2.0.0",
    "2.0.1",
    "2.1.0",
    "1.0.0+build",
    "v3",
];

fn surface(tools: &[&str]) -> ToolSurface {
    let tools: Vec<Value> = tools
        .iter()
        .map(|name| {
            json!({"name": name, "description": format!("Tool {name}"), "inputSchema": {
                "type": "object", "properties": {"x": {"type": "string"}}}})
        })
        .collect();
    serde_json::from_value(json!({
        "serverInfo": {"name": "s", "version": "1"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": tools,
    }))
    .unwrap()
}

fn publication(version: &str, deleted: bool, content: usize) -> Publication {
    Publication {
        version: version.to_owned(),
        deleted,
        surface: CONTENTS[content].map(surface),
        manifest: None,
    }
}

/// A small deterministic generator (no dependency on a random source).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % u64::try_from(n).unwrap()).unwrap()
    }
}

/// Runs the gate the way a registry that loads little does: contents only for the publications
/// `gate_reads` names (sandwich candidates up to the first with contents), and of those only the
/// first of each content, the others pointing at it.
fn reduced(
    history: &[(Publication, usize)],
    new: &Publication,
) -> registry_schema::compat::GateReport {
    let stubs: Vec<Publication> = history
        .iter()
        .map(|(p, _)| Publication {
            version: p.version.clone(),
            deleted: p.deleted,
            ..Publication::default()
        })
        .collect();
    let reads = gate_reads(&stubs, &new.version);
    let mut loaded = stubs.clone();
    let mut same_as = vec![None; history.len()];
    let mut owners: Vec<(usize, usize)> = Vec::new();
    let mut read = |index: usize| {
        let (full, content) = &history[index];
        let owner = owners
            .iter()
            .find(|(c, _)| *c == *content && CONTENTS[*content].is_some())
            .map(|(_, owner)| *owner);
        if let Some(owner) = owner {
            same_as[index] = Some(owner);
        } else {
            owners.push((*content, index));
            loaded[index] = full.clone();
        }
    };
    for &index in &reads.always {
        read(index);
    }
    for &index in &reads.sandwich {
        read(index);
        if CONTENTS[history[index].1].is_some() {
            break;
        }
    }
    gate_shared(&loaded, &same_as, new, &GateOptions::default())
}

#[test]
fn reading_only_what_gate_reads_names_changes_no_answer() {
    let mut rng = Lcg(19);
    let mut compared = 0;
    for _ in 0..3000 {
        let len = rng.below(12);
        let mut history: Vec<(Publication, usize)> = Vec::new();
        for _ in 0..len {
            let version = VERSIONS[rng.below(VERSIONS.len())];
            if history.iter().any(|(p, _)| p.version == version) {
                continue;
            }
            let content = rng.below(CONTENTS.len());
            history.push((publication(version, rng.below(6) == 0, content), content));
        }
        let new = publication(
            VERSIONS[rng.below(VERSIONS.len())],
            false,
            rng.below(CONTENTS.len()),
        );
        let full: Vec<Publication> = history.iter().map(|(p, _)| p.clone()).collect();
        let options = GateOptions::default();
        let expected = gate(&full, &new, &options);
        assert_eq!(
            gate_shared(&full, &[], &new, &options),
            expected,
            "gate_shared without sharing"
        );
        let got = reduced(&history, &new);
        assert_eq!(
            got,
            expected,
            "history {:?}, new {}",
            full.iter()
                .map(|p| (p.version.as_str(), p.deleted, p.surface.is_some()))
                .collect::<Vec<_>>(),
            new.version
        );
        compared += usize::from(!expected.checks.is_empty());
    }
    assert!(
        compared > 1000,
        "too few histories compared anything: {compared}"
    );
}

#[test]
fn a_long_line_is_read_once_per_distinct_content() {
    // 1.0.0 … 1.0.999 with one surface, 1.1.0 … with another: the reads name the whole line, but
    // only two contents exist.
    let mut history: Vec<Publication> = (0..1000)
        .map(|n| publication(&format!("1.0.{n}"), false, 0))
        .collect();
    history.extend((0..10).map(|n| publication(&format!("0.{}.0", n + 1), false, 1)));
    let stubs: Vec<Publication> = history
        .iter()
        .map(|p| Publication {
            version: p.version.clone(),
            ..Publication::default()
        })
        .collect();
    let reads = gate_reads(&stubs, "1.0.1000");
    assert_eq!(reads.always.len(), 1000, "baseline and the line's releases");
    assert!(reads.always.iter().all(|&i| i < 1000), "not the 0.x line");
    assert!(reads.sandwich.is_empty());
    // Backfilling below the line: the next higher releases are the sandwich candidates, nearest first.
    let reads = gate_reads(&stubs, "1.0.500-1");
    assert_eq!(
        reads.always,
        vec![500],
        "a republish reads its original only"
    );
    let reads = gate_reads(&stubs, "0.5.1");
    assert_eq!(reads.always, vec![1004], "0.5.0 is its own line");
    assert_eq!(reads.sandwich, Vec::<usize>::new());
    assert!(gate_reads(&stubs, "1.0.7").always.is_empty(), "a duplicate");
    assert!(gate_reads(&stubs, "not-semver").always.is_empty());

    let same_as: Vec<Option<usize>> = (0..history.len())
        .map(|i| (i > 0 && i < 1000).then_some(0))
        .collect();
    let mut shared = history.clone();
    for publication in &mut shared[1..1000] {
        publication.surface = None;
    }
    let new = publication("1.0.1000", false, 0);
    let options = GateOptions::default();
    assert_eq!(
        gate_shared(&shared, &same_as, &new, &options),
        gate(&history, &new, &options)
    );
    // A break against the whole line: every earlier release is reported, from one comparison.
    let breaking = publication("1.1.0", false, 2);
    let report = gate_shared(&shared, &same_as, &breaking, &options);
    assert_eq!(report, gate(&history, &breaking, &options));
    assert_eq!(report.checks.len(), 1000);
}

fn side(s: &ServerJson) -> registry_schema::compat::Side<'_> {
    registry_schema::compat::Side {
        surface: None,
        manifest: Some(s),
    }
}

fn server(version: &str, description: &str, tools: &[&str]) -> ServerJson {
    serde_json::from_value(json!({
        "name": "io.github.alice/weather",
        "description": description,
        "version": version,
        "packages": [{"registryType": "npm", "identifier": "@alice/weather", "version": version,
            "transport": {"type": "stdio"}}],
        "_meta": {"dev.mcp-reg/surface": serde_json::to_value(surface(tools)).unwrap()},
    }))
    .unwrap()
}

#[test]
fn contract_keys_ignore_version_numbers_only() {
    let one = server("1.0.0", "Weather", &["a"]);
    let two = server("1.0.1", "Weather", &["a"]);
    assert_eq!(contract_key(&one), contract_key(&two));
    assert!(contract_key(&one).is_some());
    for other in [
        server("1.0.1", "Weather!", &["a"]),
        server("1.0.1", "Weather", &["a", "b"]),
    ] {
        assert_ne!(contract_key(&one), contract_key(&other));
    }
    // Equal keys compare alike with anything.
    let later = server("2.0.0", "Weather", &["b"]);
    let from_one = check(side(&one), side(&later));
    let from_two = check(side(&two), side(&later));
    assert_eq!(from_one, from_two);
}
