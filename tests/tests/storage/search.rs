//! Ranked search: tiers, matching rules and pagination.

use std::collections::BTreeSet;

use registry_schema::Manifest;
use registry_server::db::{Backend, Cursor, ListQuery, Status, Store, VersionSelector};
use registry_tests::db::TestDb;
use serde_json::json;

use super::helpers::*;

/// The search rules of `SearchTier`, restated independently of both engines.
pub(crate) fn reference_tier(manifest: &Manifest, term: &str) -> Option<u8> {
    fn fold(text: &str) -> String {
        text.chars().flat_map(char::to_lowercase).collect()
    }
    fn words(text: &str) -> impl Iterator<Item = String> + '_ {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(fold)
    }
    let server = manifest.server();
    let term_folded = fold(term);
    let name = fold(server.name.as_str());
    let local = name
        .split_once('/')
        .map_or(name.as_str(), |(_, local)| local);
    let title = fold(server.title.as_deref().unwrap_or_default());
    let description = fold(&server.description);
    // Reverse-DNS boilerplate before the owner (`io.github.`, `com.`): a match inside it is a hit,
    // but not a name match.
    let namespace: Vec<&str> = name.split('/').next().unwrap().split('.').collect();
    let top = [
        "io", "com", "ai", "dev", "org", "net", "app", "co", "me", "sh", "so", "xyz",
    ];
    let boilerplate = match namespace.as_slice() {
        [first, "github" | "gitlab" | "bitbucket" | "codeberg", _, ..] if top.contains(first) => {
            first.len() + 1 + namespace[1].len() + 1
        }
        [first, _, ..] if top.contains(first) => first.len() + 1,
        _ => 0,
    };
    let beyond = |at: usize| at + term_folded.len() > boilerplate;
    if name == term_folded || local == term_folded {
        return Some(0);
    }
    if (name.starts_with(&term_folded) && beyond(0)) || local.starts_with(&term_folded) {
        return Some(1);
    }
    if name.match_indices(&term_folded).any(|(at, _)| beyond(at)) {
        return Some(2);
    }
    if title.contains(&term_folded) || description.contains(&term_folded) {
        return Some(3);
    }
    if name.contains(&term_folded) {
        return Some(4);
    }
    let mut indexed: BTreeSet<String> = words(server.name.as_str()).collect();
    indexed.extend(words(server.title.as_deref().unwrap_or_default()));
    indexed.extend(words(&server.description));
    for package in server.packages() {
        indexed.extend(words(&package.identifier));
    }
    let wanted: Vec<String> = words(term).collect();
    (!wanted.is_empty() && wanted.iter().all(|word| indexed.contains(word))).then_some(4)
}

/// A ranked search walked to the end: `(tier, name@version)` in result order.
pub(crate) async fn ranked(store: &Store, query: ListQuery) -> Vec<(u8, String)> {
    let mut results = Vec::new();
    let mut query = query;
    loop {
        let page = store.list_servers(&query).await.unwrap();
        assert_eq!(
            page.next_cursor.is_some(),
            page.items.len() == query.limit as usize
        );
        // Tiers are only visible through cursors, which carry the tier of their page's last row.
        let cursor = page
            .next_cursor
            .as_deref()
            .map(|c| Cursor::decode(c).unwrap());
        for item in &page.items {
            results.push((u8::MAX, format!("{}@{}", item.server_name, item.version)));
        }
        match cursor {
            Some(Cursor::Ranked { tier, .. }) => {
                if let Some(last) = results.last_mut() {
                    last.0 = tier;
                }
                query.cursor = cursor;
            }
            Some(other) => panic!("a search returned a position cursor {other:?}"),
            None => return results,
        }
    }
}

pub(crate) async fn search_fixture(store: &Store) {
    for manifest in [
        manifest_with(
            "io.github.acme/weather",
            "1.0.0",
            "Forecasts for any city",
            &json!({
                "title": "Weather Tools",
                "packages": [package("npm", "@acme/weather-mcp")],
            }),
        ),
        manifest_with(
            "io.github.acme/weather-extra",
            "1.0.0",
            "More weather",
            &json!({}),
        ),
        manifest_with("com.weather/api", "1.0.0", "The API", &json!({})),
        manifest_with(
            "org.example/forecast",
            "1.0.0",
            "Gets the WEATHER for you",
            &json!({}),
        ),
        manifest_with(
            "org.example/under_score",
            "1.0.0",
            "Has 100% coverage",
            &json!({}),
        ),
        manifest_with(
            "org.example/plain",
            "1.0.0",
            "Nothing special",
            &json!({ "packages": [package("oci", "ghcr.io/example/zebra-image:1.0.0")] }),
        ),
        manifest_with("org.example/cafe", "1.0.0", "Café ÜBER alles", &json!({})),
    ] {
        publish(store, &manifest).await.unwrap();
    }
}

pub(crate) async fn search_matches_substrings_and_words(db: TestDb) {
    let store = db.store().await;
    search_fixture(&store).await;
    let search = |term: &str| ListQuery {
        search: Some(term.to_owned()),
        limit: 1,
        ..ListQuery::default()
    };
    let cases: Vec<(&str, Vec<(u8, &str)>)> = vec![
        // Tiers: exact local name, local-name prefix, name substring, description substring.
        (
            "weather",
            vec![
                (0, "io.github.acme/weather@1.0.0"),
                (1, "io.github.acme/weather-extra@1.0.0"),
                (2, "com.weather/api@1.0.0"),
                (3, "org.example/forecast@1.0.0"),
            ],
        ),
        // Case-insensitive, and the whole name counts as exact.
        (
            "IO.GitHub.Acme/Weather",
            vec![
                (0, "io.github.acme/weather@1.0.0"),
                (1, "io.github.acme/weather-extra@1.0.0"),
            ],
        ),
        // Name prefix.
        (
            "io.github.acme",
            vec![
                (1, "io.github.acme/weather@1.0.0"),
                (1, "io.github.acme/weather-extra@1.0.0"),
            ],
        ),
        // Title substring.
        ("tools", vec![(3, "io.github.acme/weather@1.0.0")]),
        // Short terms (no trigram) still match substrings.
        ("pi", vec![(2, "com.weather/api@1.0.0")]),
        // `_` and `%` are literal characters, not wildcards.
        ("_", vec![(2, "org.example/under_score@1.0.0")]),
        ("%", vec![(3, "org.example/under_score@1.0.0")]),
        ("100%", vec![(3, "org.example/under_score@1.0.0")]),
        ("e_s", vec![]),
        // Full-text words: a package identifier's word, and words in any order.
        ("zebra", vec![(4, "org.example/plain@1.0.0")]),
        ("image zebra", vec![(4, "org.example/plain@1.0.0")]),
        ("city forecasts", vec![(4, "io.github.acme/weather@1.0.0")]),
        // A substring, not a word: found by substring only.
        ("cit", vec![(3, "io.github.acme/weather@1.0.0")]),
        ("zebra unicorn", vec![]),
        // Case folding beyond ASCII, the same on both engines.
        ("über", vec![(3, "org.example/cafe@1.0.0")]),
        ("CAFÉ", vec![(3, "org.example/cafe@1.0.0")]),
        ("über café", vec![(4, "org.example/cafe@1.0.0")]),
        ("cafe", vec![(0, "org.example/cafe@1.0.0")]),
        ("nothing-here", vec![]),
    ];
    for (term, expected) in cases {
        let expected: Vec<(u8, String)> = expected
            .into_iter()
            .map(|(tier, row)| (tier, row.to_owned()))
            .collect();
        let found = ranked(&store, search(term)).await;
        // With one row per page every row's tier is known except the last one's.
        let tiers_known: Vec<_> = found
            .iter()
            .take(found.len().saturating_sub(1))
            .cloned()
            .collect();
        let rows: Vec<_> = found.iter().map(|(_, row)| row.clone()).collect();
        assert_eq!(
            rows,
            expected
                .iter()
                .map(|(_, row)| row.clone())
                .collect::<Vec<_>>(),
            "search {term:?}"
        );
        assert_eq!(
            tiers_known,
            expected[..tiers_known.len()].to_vec(),
            "tiers of search {term:?}"
        );
    }

    // The other filters still apply.
    let filtered = ListQuery {
        namespace: Some("io.github.acme".into()),
        ..search("weather")
    };
    assert_eq!(
        ranked(&store, filtered).await.len(),
        2,
        "namespace filter on a search"
    );
    let filtered = ListQuery {
        registry_type: Some("npm".into()),
        ..search("weather")
    };
    assert_eq!(ranked(&store, filtered).await.len(), 1);
    store
        .update_server_status("io.github.acme/weather", &status(Status::Deleted))
        .await
        .unwrap();
    assert_eq!(ranked(&store, search("weather")).await.len(), 3);
    let with_deleted = ListQuery {
        include_deleted: true,
        ..search("weather")
    };
    assert_eq!(ranked(&store, with_deleted).await.len(), 4);
}

pub(crate) async fn search_pagination_walks_every_hit_once(db: TestDb) {
    let store = db.store().await;
    let corpus = corpus();
    store.import(&corpus).await.unwrap();
    for term in [
        "mcp",
        "github",
        "Server",
        "data base",
        "git",
        "io",
        "slack api",
        "é",
    ] {
        // Result order: tier, then name, then version (as a tuple: `a-b@1` sorts after `a@1`).
        let mut expected: Vec<(u8, &str, &str)> = corpus
            .iter()
            .filter_map(|m| {
                reference_tier(m, term).map(|tier| (tier, m.name().as_str(), m.version().as_str()))
            })
            .collect();
        expected.sort_unstable();
        let expected: Vec<(u8, String)> = expected
            .into_iter()
            .map(|(tier, name, version)| (tier, format!("{name}@{version}")))
            .collect();
        for limit in [1, 7, 100] {
            let found = ranked(
                &store,
                ListQuery {
                    search: Some(term.to_owned()),
                    limit,
                    ..ListQuery::default()
                },
            )
            .await;
            let rows: Vec<&String> = found.iter().map(|(_, row)| row).collect();
            let wanted: Vec<&String> = expected.iter().map(|(_, row)| row).collect();
            assert_same(&rows, &wanted, &format!("search {term:?}, limit {limit}"));
            if limit == 1 {
                // Every row but the last had its tier reported by its cursor.
                let tiers: Vec<u8> = found.iter().map(|(tier, _)| *tier).collect();
                let wanted: Vec<u8> = expected.iter().map(|(tier, _)| *tier).collect();
                let known = tiers.len().saturating_sub(1);
                assert_same(
                    &tiers[..known],
                    &wanted[..known],
                    &format!("tiers of {term:?}"),
                );
            }
        }
    }
}

pub(crate) async fn search_lists_a_servers_latest_before_its_other_versions(db: TestDb) {
    let store = db.store().await;
    let tool = "io.github.acme/tool";
    // For `forecast city`, the latest release matches by its words only (tier 4) and the newer
    // pre-releases by substring (tier 3); `1.10.0-beta` also sorts before `1.5.0` as text.
    for (version, description) in [
        ("1.5.0", "City forecast"),
        ("1.10.0-beta", "Forecast city maps"),
        ("2.0.0-beta", "Forecast city maps"),
    ] {
        publish(
            &store,
            &manifest_with(tool, version, description, &json!({})),
        )
        .await
        .unwrap();
    }
    for (name, description) in [
        ("io.github.acme/other", "Forecast city weather"),
        ("io.github.zed/words", "City and forecast"),
    ] {
        publish(
            &store,
            &manifest_with(name, "1.0.0", description, &json!({})),
        )
        .await
        .unwrap();
    }
    assert_eq!(latest(&store, tool, false).await.as_deref(), Some("1.5.0"));
    let search = |limit: u32| ListQuery {
        search: Some("forecast city".to_owned()),
        limit,
        ..ListQuery::default()
    };
    // A server's versions rank together at its best tier, its latest first.
    let expected = [
        (3, "io.github.acme/other@1.0.0"),
        (3, "io.github.acme/tool@1.5.0"),
        (3, "io.github.acme/tool@1.10.0-beta"),
        (3, "io.github.acme/tool@2.0.0-beta"),
        (4, "io.github.zed/words@1.0.0"),
    ];
    for limit in [1, 2, 3, 100] {
        let found = ranked(&store, search(limit)).await;
        let rows: Vec<&str> = found.iter().map(|(_, row)| row.as_str()).collect();
        let wanted: Vec<&str> = expected.iter().map(|(_, row)| *row).collect();
        assert_eq!(rows, wanted, "limit {limit}");
        if limit == 1 {
            let tiers: Vec<u8> = found.iter().map(|(tier, _)| *tier).collect();
            let known = tiers.len() - 1;
            let wanted: Vec<u8> = expected.iter().map(|(tier, _)| *tier).collect();
            assert_eq!(tiers[..known], wanted[..known]);
        }
    }
    // The tier is the best among the rows listed: with only latest versions, the tool is a word match.
    let latest_only = |limit: u32| ListQuery {
        version: Some(VersionSelector::Latest),
        ..search(limit)
    };
    for limit in [1, 100] {
        let found = ranked(&store, latest_only(limit)).await;
        let rows: Vec<&str> = found.iter().map(|(_, row)| row.as_str()).collect();
        assert_eq!(
            rows,
            [
                "io.github.acme/other@1.0.0",
                "io.github.acme/tool@1.5.0",
                "io.github.zed/words@1.0.0"
            ]
        );
        if limit == 1 {
            assert_eq!(found[0].0, 3);
            assert_eq!(found[1].0, 4);
        }
    }
}

/// The rows of a search (`server@version`), without the tiers `ranked` reads from cursors.
async fn rows(store: &Store, query: ListQuery) -> Vec<String> {
    ranked(store, query)
        .await
        .into_iter()
        .map(|(_, row)| row)
        .collect()
}

/// Publishes `name` 1.0.0 with `description`.
async fn publish_one(store: &Store, name: &str, description: &str) {
    let manifest = manifest_with(name, "1.0.0", description, &json!({}));
    publish(store, &manifest).await.unwrap();
}

/// A replica's index sees what another store on the same database published: at once on PostgreSQL
/// (asked before every search), and within the bound on SQLite (one serving process per file; another
/// process, such as an `import` into a served data directory, is seen within a second).
pub(crate) async fn search_sees_documents_another_store_added(db: TestDb) {
    let serving = db.store().await;
    let writer = db.store().await;
    let query = ListQuery {
        search: Some("heliotrope".to_owned()),
        limit: 10,
        ..ListQuery::default()
    };
    assert!(rows(&serving, query.clone()).await.is_empty());
    publish_one(&writer, "io.github.acme/heliotrope", "Sun tracking").await;
    // The serving store's own publish is seen by its next search, whatever the engine.
    publish_one(&serving, "io.github.acme/other", "Unrelated").await;
    assert_eq!(
        rows(&serving, query.clone()).await,
        ["io.github.acme/heliotrope@1.0.0"]
    );
    let later = ListQuery {
        search: Some("marigold".to_owned()),
        ..query
    };
    publish_one(&writer, "io.github.acme/marigold", "Flowers").await;
    let wanted = vec!["io.github.acme/marigold@1.0.0".to_owned()];
    let found = rows(&serving, later.clone()).await;
    match db.backend() {
        Backend::Postgres => assert_eq!(found, wanted, "strict across replicas"),
        Backend::Sqlite => {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let mut found = found;
            while found != wanted && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                found = rows(&serving, later.clone()).await;
            }
            assert_eq!(
                found, wanted,
                "another process's documents, within the bound"
            );
        }
    }
}

/// A replica's index loads the stored documents in chunks (2,000 at a time, the next one read while
/// the last is added): a new replica over more than two chunks' worth finds every server.
pub(crate) async fn search_index_loads_every_chunk(db: TestDb) {
    const SERVERS: usize = 4_500;
    let manifests: Vec<Manifest> = (0..SERVERS)
        .map(|n| {
            let description = format!("Chunked load check, server {n}");
            manifest_with(
                &format!("io.github.chunked/s{n:04}"),
                "1.0.0",
                &description,
                &json!({}),
            )
        })
        .collect();
    db.store().await.import(&manifests).await.unwrap();
    let replica = db.store().await;
    replica.warm_search_index().await.unwrap();
    let query = ListQuery {
        search: Some("chunked".to_owned()),
        limit: 100,
        ..ListQuery::default()
    };
    let found: Vec<String> = ranked(&replica, query)
        .await
        .into_iter()
        .map(|row| row.1)
        .collect();
    let expected: Vec<String> = (0..SERVERS)
        .map(|n| format!("io.github.chunked/s{n:04}@1.0.0"))
        .collect();
    assert_eq!(found, expected, "every server once, in name order");
}
