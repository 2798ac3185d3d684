//! Search results pinned: a few hundred queries over the corpus (three versions a server, some
//! deleted, deprecated or pre-release), replayed on both engines and compared, ordered, with the lists
//! recorded from the registry before the in-memory search index (`tests/fixtures/search-golden.json`).
//! `UPDATE_GOLDEN=1` records the file again (SQLite), which only a deliberate ranking change justifies.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::collections::BTreeSet;
use std::path::PathBuf;

use registry_schema::{Manifest, Policy};
use registry_server::db::{Cursor, ListQuery, Status, StatusChange, Store, VersionSelector};
use registry_tests::db::TestDb;
use serde_json::{Value, json};

/// Queries whose order changed on purpose with the namespace-boilerplate fix: a term matching only the
/// reverse-DNS boilerplate before the owner (`io.github.`, `com.`, `ai.`) no longer makes a server a
/// name match. Their rows are still the same set; only the order differs: `io.github.13rac1/…` now
/// follows every server whose own name (owner or local part) holds `github`. (`.` and `io` match the
/// boilerplate of most names the same way.)
const RANKING_FIX: &[&str] = &["github", "git", "io.github.", "io.github", "io.", "io", "."];

/// How many pages a query walks at most (a few walk to the end, see [`queries`]).
const MAX_PAGES: usize = 4;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/search-golden.json")
}

fn corpus() -> Vec<Value> {
    let path = registry_tests::conformance_dir().join("corpus/servers-2025-12-11.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn parse(value: &Value) -> Manifest {
    Manifest::parse(&serde_json::to_vec(value).unwrap(), &Policy::lenient()).unwrap()
}

/// Every corpus server as 1.0.0; every third also as 2.0.0 with another description; every fifth
/// also as a newer pre-release; plus the server the boilerplate fix is about.
fn manifests() -> Vec<Manifest> {
    let mut out = Vec::new();
    let mut corpus = corpus();
    corpus.push(json!({
        "$schema": registry_schema::manifest::CURRENT_SCHEMA_URL,
        "name": "io.github.github/github-mcp-server",
        "title": "GitHub",
        "description": "Connect AI assistants to repositories, issues and pull requests.",
        "version": "1.0.0",
    }));
    for (index, value) in corpus.iter().enumerate() {
        let mut first = value.clone();
        first["version"] = json!("1.0.0");
        out.push(parse(&first));
        if index % 3 == 0 {
            let mut second = value.clone();
            second["version"] = json!("2.0.0");
            let description = format!("{} v2 release", value["description"].as_str().unwrap());
            second["description"] = json!(description.chars().take(100).collect::<String>());
            out.push(parse(&second));
        }
        if index % 5 == 0 {
            let mut pre = value.clone();
            pre["version"] = json!("9.0.0-beta.1");
            out.push(parse(&pre));
        }
    }
    out
}

async fn load(store: &Store) {
    store.import(&manifests()).await.unwrap();
    let names: Vec<String> = corpus()
        .iter()
        .map(|value| value["name"].as_str().unwrap().to_owned())
        .collect();
    for (index, name) in names.iter().enumerate() {
        let change = |status| StatusChange {
            status,
            message: None,
        };
        if index % 7 == 0 {
            store
                .update_version_status(name, "1.0.0", &change(Status::Deleted))
                .await
                .unwrap();
        } else if index % 11 == 0 {
            store
                .update_version_status(name, "1.0.0", &change(Status::Deprecated))
                .await
                .unwrap();
        }
    }
}

/// Terms chosen by hand: the ones the issue names, short ones, boilerplate, several words, odd
/// characters.
const FIXED_TERMS: &[&str] = &[
    "github",
    "server",
    "mcp",
    "io.github.",
    "com.",
    "ai.",
    "io.github",
    "io",
    "com",
    "ai",
    "git",
    "a",
    "e",
    "x",
    "z",
    "ab",
    "db",
    "api",
    "search",
    "file",
    "data",
    "google",
    "slack",
    "postgres",
    "sql",
    "weather",
    "browser",
    "docker",
    "notion",
    "memory",
    "code",
    "aws",
    "azure",
    "npm",
    "python",
    "typescript",
    "rust",
    "go",
    "openai",
    "tool",
    "web",
    "http",
    "json",
    "v2",
    "release",
    "v2 release",
    "file system",
    "web search",
    "mcp server",
    "model context protocol",
    "io.github.github",
    "github-mcp-server",
    "github/github",
    "videocapture",
    "13rac1",
    "magic",
    "21st-dev",
    "@21st",
    "WindSurf",
    "Cursor",
    "ÄÖ",
    "-mcp",
    "mcp-",
    "/",
    ".",
    "_",
    "%",
    "a_b",
    "100%",
    "github.com",
    "https",
    "com.github",
    "smithery",
    "dev",
    "app",
    "org",
    "net",
    "cloud",
    "io.",
    "co",
    "me",
    "beta",
    "zzzz-no-match",
];

/// Words of the corpus descriptions, and substrings, prefixes and local parts of its names.
fn corpus_terms(corpus: &[Value]) -> Vec<String> {
    let mut terms = Vec::new();
    let mut words = BTreeSet::new();
    for value in corpus {
        let description = value["description"].as_str().unwrap_or_default();
        words.extend(
            description
                .split(|c: char| !c.is_alphanumeric())
                .filter(|word| word.len() > 2)
                .map(str::to_lowercase),
        );
    }
    let words: Vec<String> = words.into_iter().collect();
    let step = (words.len() / 70).max(1);
    terms.extend(words.iter().step_by(step).cloned());
    for value in corpus.iter().step_by(23) {
        let name = value["name"].as_str().unwrap();
        let local = name.split_once('/').unwrap().1;
        let chars: Vec<char> = local.chars().collect();
        if chars.len() > 6 {
            terms.push(chars[2..6].iter().collect());
        }
        terms.push(name.chars().take(12).collect());
        terms.push(local.to_owned());
    }
    terms
}

/// The query cases: terms (corpus words, substrings, prefixes, short terms, boilerplate, several
/// words) alone and with filters. Deterministic, so recording twice gives the same file.
fn queries() -> Vec<Value> {
    let corpus = corpus();
    let mut terms: Vec<String> = FIXED_TERMS.iter().map(|term| (*term).to_owned()).collect();
    terms.extend(corpus_terms(&corpus));
    let mut seen = BTreeSet::new();
    terms.retain(|term| seen.insert(term.clone()));

    let mut out = Vec::new();
    for term in &terms {
        out.push(json!({"term": term, "limit": 30}));
    }
    let filtered = [
        json!({"version": "latest"}),
        json!({"include_deleted": true}),
        json!({"version": "2.0.0"}),
        json!({"registry_type": "npm"}),
        json!({"registry_type": "oci", "version": "latest"}),
        json!({"transport": "streamable-http"}),
        json!({"transport": "stdio", "include_deleted": true}),
        json!({"namespace": "io.github.github"}),
        json!({"namespace": "io.github.kukapay"}),
        json!({"namespace": "io.github.gongrzhe", "version": "latest"}),
    ];
    for (index, term) in terms.iter().take(60).enumerate() {
        let mut case = filtered[index % filtered.len()].clone();
        case["term"] = json!(term);
        case["limit"] = json!(20);
        out.push(case);
    }
    // Small pages walked to the end: cursors across tiers and versions.
    for term in [
        "github",
        "mcp",
        "io.github.",
        "com.",
        "data",
        "v2 release",
        "x",
    ] {
        out.push(json!({"term": term, "limit": 7, "all": true}));
        out.push(json!({"term": term, "limit": 9, "all": true, "include_deleted": true}));
    }
    out
}

fn list_query(case: &Value) -> ListQuery {
    let text = |key: &str| case[key].as_str().map(str::to_owned);
    ListQuery {
        cursor: None,
        limit: u32::try_from(case["limit"].as_u64().unwrap()).unwrap(),
        search: text("term"),
        updated_since: None,
        version: text("version").map(|version| match version.as_str() {
            "latest" => VersionSelector::Latest,
            _ => VersionSelector::Exact(version),
        }),
        include_deleted: case["include_deleted"].as_bool().unwrap_or(false),
        registry_type: text("registry_type"),
        transport: text("transport"),
        namespace: text("namespace"),
    }
}

/// `name@version` in result order, following cursors (at most [`MAX_PAGES`] pages unless `all`).
async fn run(store: &Store, case: &Value) -> Vec<String> {
    let mut query = list_query(case);
    let all = case["all"].as_bool().unwrap_or(false);
    let mut rows = Vec::new();
    for page_number in 0.. {
        if !all && page_number == MAX_PAGES {
            break;
        }
        let page = store.list_servers(&query).await.unwrap();
        assert_eq!(
            page.next_cursor.is_some(),
            page.items.len() == query.limit as usize,
            "cursor iff the page is full: {case}"
        );
        rows.extend(
            page.items
                .iter()
                .map(|item| format!("{}@{}", item.server_name, item.version)),
        );
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(Cursor::decode(&cursor).unwrap()),
            None => break,
        }
        assert!(rows.len() < 100_000, "pagination does not end");
    }
    rows
}

fn key(case: &Value) -> String {
    let mut case = case.clone();
    if let Some(object) = case.as_object_mut() {
        object.remove("rows");
    }
    case.to_string()
}

async fn replays_the_golden_lists(db: TestDb) {
    let store = db.store().await;
    load(&store).await;
    let path = golden_path();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        if db.backend() != registry_server::db::Backend::Sqlite {
            return;
        }
        let mut cases = Vec::new();
        for mut case in queries() {
            case["rows"] = json!(run(&store, &case).await);
            cases.push(case);
        }
        let text = serde_json::to_string_pretty(&json!({ "cases": cases })).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
        return;
    }
    let golden: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 200, "a few hundred cases");
    let mut failures = Vec::new();
    for case in cases {
        let expected: Vec<String> = serde_json::from_value(case["rows"].clone()).unwrap();
        let found = run(&store, case).await;
        if found == expected {
            continue;
        }
        let term = case["term"].as_str().unwrap();
        if RANKING_FIX.contains(&term) {
            // Walked to the end, the same rows must come back (only the order changed).
            if case["all"].as_bool().unwrap_or(false) {
                let sorted = |rows: &[String]| rows.iter().cloned().collect::<BTreeSet<_>>();
                assert_eq!(sorted(&found), sorted(&expected), "{}", key(case));
            }
            continue;
        }
        let first = found
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(found.len().min(expected.len()));
        failures.push(format!(
            "{}: {} rows, expected {}; first difference at {first}: {:?} vs {:?}",
            key(case),
            found.len(),
            expected.len(),
            found.get(first),
            expected.get(first)
        ));
    }
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The fix itself: the owner's and local name's match ranks ahead of the boilerplate-only one.
    let all = json!({"term": "github", "limit": 7, "all": true});
    let found = run(&store, &all).await;
    let at = |name: &str| {
        found
            .iter()
            .position(|row| row.starts_with(&format!("{name}@")))
            .unwrap()
    };
    let boilerplate_only = at("io.github.13rac1/videocapture-mcp");
    assert!(at("io.github.github/github-mcp-server") < boilerplate_only);
    for (index, row) in found.iter().enumerate() {
        let own = row.trim_start_matches("io.github.");
        if own.split('@').next().unwrap().contains("github") {
            assert!(
                index < boilerplate_only,
                "{row} after the boilerplate-only match"
            );
        }
    }
}

registry_tests::on_both_engines!(replays_the_golden_lists);
