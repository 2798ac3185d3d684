//! The storage contract, written once and run on both engines: every test is an `async fn(TestDb)`, and
//! `registry_tests::on_both_engines!` generates `sqlite::<name>` and `postgres::<name>` from it. When the engines
//! disagree, the engine is wrong, not the test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use registry_schema::{Manifest, Policy};
use registry_server::db::{
    Cursor, ListQuery, Status, StatusChange, Store, StoreError, TokenRecord, VersionRecord,
    VersionSelector, now,
};
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use time::OffsetDateTime;

registry_tests::on_both_engines!(
    publish_then_find,
    duplicate_versions_are_refused,
    concurrent_publishes_of_one_version_leave_one_row,
    concurrent_publishes_of_different_versions_keep_one_latest,
    latest_follows_the_rules,
    keyset_pagination_walks_the_corpus_once,
    list_filters,
    updated_since_sees_status_and_latest_changes,
    search_matches_substrings_and_words,
    search_pagination_walks_every_hit_once,
    status_changes_report_what_changed,
    tokens_round_trip,
    import_skips_duplicates_and_sets_latest,
);

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

fn parse(value: &Value) -> Manifest {
    Manifest::parse(&serde_json::to_vec(value).unwrap(), &Policy::lenient()).unwrap()
}

/// A minimal manifest.
fn manifest(name: &str, version: &str) -> Manifest {
    parse(&json!({
        "$schema": registry_schema::manifest::CURRENT_SCHEMA_URL,
        "name": name,
        "description": format!("The {name} server"),
        "version": version,
    }))
}

/// A manifest with extra members (`title`, `packages`, `remotes`, …) merged in.
fn manifest_with(name: &str, version: &str, description: &str, extra: &Value) -> Manifest {
    let mut value = json!({
        "$schema": registry_schema::manifest::CURRENT_SCHEMA_URL,
        "name": name,
        "description": description,
        "version": version,
    });
    for (key, member) in extra.as_object().unwrap() {
        value[key] = member.clone();
    }
    parse(&value)
}

fn package(registry_type: &str, identifier: &str) -> Value {
    let mut package = json!({
        "registryType": registry_type,
        "identifier": identifier,
        "transport": {"type": "stdio"},
    });
    // OCI images carry their tag in the identifier.
    if registry_type != "oci" {
        package["version"] = json!("1.0.0");
    }
    package
}

/// `assert_eq!` for long lists: reports lengths and the first difference instead of both lists.
fn assert_same<T: PartialEq + std::fmt::Debug>(found: &[T], expected: &[T], context: &str) {
    if found == expected {
        return;
    }
    let first = found
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(found.len().min(expected.len()));
    panic!(
        "{context}: found {} rows, expected {}; first difference at {first}: found {:?}, expected {:?}",
        found.len(),
        expected.len(),
        found.get(first..(first + 3).min(found.len())),
        expected.get(first..(first + 3).min(expected.len())),
    );
}

fn remote(transport: &str, url: &str) -> Value {
    json!({"type": transport, "url": url})
}

/// The 464-server conformance corpus.
fn corpus() -> Vec<Manifest> {
    let path = registry_tests::conformance_dir().join("corpus/servers-2025-12-11.json");
    let values: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    values.iter().map(parse).collect()
}

fn query() -> ListQuery {
    ListQuery {
        limit: 100,
        ..ListQuery::default()
    }
}

/// Lets the clock move, so the next write's timestamps are strictly later.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

async fn latest(store: &Store, name: &str, include_deleted: bool) -> Option<String> {
    store
        .find_version(name, &VersionSelector::Latest, include_deleted)
        .await
        .unwrap()
        .map(|record| record.version)
}

/// Checks the one-latest invariant and returns the latest version, if any.
async fn only_latest(store: &Store, name: &str) -> Option<String> {
    let flagged: Vec<String> = store
        .list_versions(name, true)
        .await
        .unwrap()
        .into_iter()
        .filter(|record| record.is_latest)
        .map(|record| record.version)
        .collect();
    assert!(
        flagged.len() <= 1,
        "{name} has several latest versions: {flagged:?}"
    );
    flagged.into_iter().next()
}

fn deprecate(message: &str) -> StatusChange {
    StatusChange {
        status: Status::Deprecated,
        message: Some(message.to_owned()),
    }
}

fn status(status: Status) -> StatusChange {
    StatusChange {
        status,
        message: None,
    }
}

/// Every row a query lists, following cursors, checking each page's size and cursor on the way.
async fn walk(store: &Store, mut query: ListQuery) -> Vec<VersionRecord> {
    let mut rows = Vec::new();
    loop {
        let page = store.list_servers(&query).await.unwrap();
        assert!(page.items.len() <= query.limit as usize);
        let full = page.items.len() == query.limit as usize;
        assert_eq!(
            page.next_cursor.is_some(),
            full,
            "cursor iff the page is full"
        );
        rows.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(Cursor::decode(&cursor).unwrap()),
            None => return rows,
        }
        assert!(rows.len() < 100_000, "pagination does not end");
    }
}

fn keys(rows: &[VersionRecord]) -> Vec<(String, String)> {
    rows.iter()
        .map(|row| (row.server_name.clone(), row.version.clone()))
        .collect()
}

fn names_and_versions(rows: &[VersionRecord]) -> Vec<String> {
    rows.iter()
        .map(|row| format!("{}@{}", row.server_name, row.version))
        .collect()
}

async fn listed(store: &Store, query: ListQuery) -> Vec<String> {
    names_and_versions(&walk(store, query).await)
}

// ---------------------------------------------------------------------------------------------------
// Publishing and latest
// ---------------------------------------------------------------------------------------------------

async fn publish_then_find(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/weather";
    // Odd formatting on purpose: the stored manifest is the exact text sent.
    let raw = format!(
        "{{\n  \"version\" : \"1.0.0\",\"name\":\"{name}\",   \"description\": \"Weather\" }}"
    );
    let manifest = Manifest::parse(raw.as_bytes(), &Policy::lenient()).unwrap();
    let before = now();
    let published = store.publish(&manifest).await.unwrap();
    assert_eq!(published.server_name, name);
    assert_eq!(published.version, "1.0.0");
    assert_eq!(published.manifest, raw);
    assert_eq!(published.status, Status::Active);
    assert_eq!(published.status_message, None);
    assert!(published.is_latest);
    assert!(published.published_at >= before);
    assert_eq!(published.updated_at, published.published_at);
    assert_eq!(published.status_changed_at, published.published_at);

    let found = store
        .find_version(name, &VersionSelector::Latest, false)
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&published));
    let exact = store
        .find_version(name, &VersionSelector::Exact("1.0.0".into()), false)
        .await
        .unwrap();
    assert_eq!(exact.as_ref(), Some(&published));
    for missing in [
        store
            .find_version(name, &VersionSelector::Exact("2.0.0".into()), true)
            .await
            .unwrap(),
        store
            .find_version("io.github.alice/other", &VersionSelector::Latest, true)
            .await
            .unwrap(),
    ] {
        assert_eq!(missing, None);
    }
    assert_eq!(
        store.list_versions(name, false).await.unwrap(),
        vec![published.clone()]
    );

    tick().await;
    let second = store
        .publish(&manifest_with(name, "1.1.0", "Weather", &json!({})))
        .await
        .unwrap();
    let versions = store.list_versions(name, false).await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        ["1.1.0", "1.0.0"],
        "newest publication first"
    );
    assert_eq!(versions[0], second);

    // Migrating again is a no-op and a second pool sees the same data.
    let again = db.store().await;
    assert_eq!(latest(&again, name, false).await.as_deref(), Some("1.1.0"));
    assert_eq!(again.ping().await.ok(), Some(()));
}

async fn duplicate_versions_are_refused(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/dupes";
    store.publish(&manifest(name, "1.0.0")).await.unwrap();
    for (version, _why) in [
        ("1.0.0", "same version"),
        ("1.0.0+build.7", "same precedence, build metadata differs"),
    ] {
        match store.publish(&manifest(name, version)).await {
            Err(StoreError::Duplicate {
                server_name,
                version: refused,
            }) => {
                assert_eq!(server_name, name);
                assert_eq!(refused, version);
            }
            other => panic!("publishing {version} again: {other:?}"),
        }
    }
    store.publish(&manifest(name, "2.0.0+a")).await.unwrap();
    for version in ["2.0.0+b", "2.0.0"] {
        assert!(
            matches!(
                store.publish(&manifest(name, version)).await,
                Err(StoreError::Duplicate { .. })
            ),
            "{version}"
        );
    }
    // The same version of another server is not a duplicate.
    store
        .publish(&manifest("io.github.alice/other", "1.0.0"))
        .await
        .unwrap();
    let versions = store.list_versions(name, true).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.0+a"));
}

/// Publishes `manifest` from 50 tasks at once; returns (ok, duplicate) counts.
async fn publish_50_times(store: &Store, manifest: Manifest) -> (usize, usize) {
    let manifest = Arc::new(manifest);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, manifest) = (store.clone(), Arc::clone(&manifest));
            tokio::spawn(async move { store.publish(&manifest).await })
        })
        .collect();
    let (mut ok, mut duplicate) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Duplicate { .. }) => duplicate += 1,
            Err(other) => panic!("a concurrent publish failed: {other:?}"),
        }
    }
    (ok, duplicate)
}

async fn concurrent_publishes_of_one_version_leave_one_row(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/race";
    // First a server that does not exist yet (its `servers` row is created concurrently), then one that
    // does.
    for version in ["1.0.0", "2.0.0"] {
        let (ok, duplicate) = publish_50_times(&store, manifest(name, version)).await;
        assert_eq!((ok, duplicate), (1, 49), "publishing {version}");
    }
    let versions = store.list_versions(name, true).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.0"));
}

async fn concurrent_publishes_of_different_versions_keep_one_latest(db: TestDb) {
    let store = db.store().await;
    let names = ["io.github.alice/many", "io.github.bob/many"];
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let manifest = manifest(names[i % 2], &format!("1.{}.0", i / 2));
            tokio::spawn(async move { store.publish(&manifest).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for name in names {
        assert_eq!(store.list_versions(name, true).await.unwrap().len(), 20);
        assert_eq!(only_latest(&store, name).await.as_deref(), Some("1.19.0"));
    }
}

async fn latest_follows_the_rules(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/rules";
    let publish = |version: &str| {
        let (store, manifest) = (&store, manifest(name, version));
        async move { store.publish(&manifest).await }
    };

    assert!(publish("1.0.0").await.unwrap().is_latest);
    // A pre-release does not replace a release, even when newer.
    assert!(!publish("2.0.0-rc.1").await.unwrap().is_latest);
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("1.0.0"));
    assert!(publish("1.1.0").await.unwrap().is_latest);
    // An older release published later does not win either.
    assert!(!publish("1.0.5").await.unwrap().is_latest);
    assert!(publish("2.0.0").await.unwrap().is_latest);
    let old = store
        .find_version(name, &VersionSelector::Exact("1.1.0".into()), false)
        .await
        .unwrap()
        .unwrap();
    assert!(!old.is_latest, "the previous latest lost its flag");

    // Deprecated versions stay latest; deleted ones are passed over.
    store
        .update_version_status(name, "2.0.0", &deprecate("use 2.1"))
        .await
        .unwrap();
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.0"));
    store
        .update_version_status(name, "2.0.0", &status(Status::Deleted))
        .await
        .unwrap();
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("1.1.0"));
    assert_eq!(latest(&store, name, false).await.as_deref(), Some("1.1.0"));
    // Undeleting restores it.
    store
        .update_version_status(name, "2.0.0", &status(Status::Active))
        .await
        .unwrap();
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.0"));

    // Everything deleted: the highest deleted version keeps the flag, hidden unless deleted rows are asked
    // for.
    let outcome = store
        .update_server_status(name, &status(Status::Deleted))
        .await
        .unwrap();
    assert_eq!(outcome.versions.len(), 5);
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.0"));
    assert_eq!(latest(&store, name, false).await, None);
    assert_eq!(latest(&store, name, true).await.as_deref(), Some("2.0.0"));
    assert!(store.list_versions(name, false).await.unwrap().is_empty());

    // Only pre-releases: the highest one is latest.
    let beta = "io.github.alice/beta";
    store.publish(&manifest(beta, "0.1.0-alpha")).await.unwrap();
    store.publish(&manifest(beta, "0.1.0-beta")).await.unwrap();
    store
        .publish(&manifest(beta, "0.1.0-alpha.2"))
        .await
        .unwrap();
    assert_eq!(
        only_latest(&store, beta).await.as_deref(),
        Some("0.1.0-beta")
    );
    // A non-semver version published after semver ones is latest (the documented upstream rule).
    store
        .publish(&manifest(beta, "2025-nightly"))
        .await
        .unwrap();
    assert_eq!(
        only_latest(&store, beta).await.as_deref(),
        Some("2025-nightly")
    );
}

// ---------------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------------

async fn keyset_pagination_walks_the_corpus_once(db: TestDb) {
    let store = db.store().await;
    let corpus = corpus();
    assert_eq!(corpus.len(), 464);
    let outcome = store.import(&corpus).await.unwrap();
    assert_eq!(outcome.inserted, 464);
    // More versions for some servers, in an order where text order and semver order disagree.
    let mut expected: Vec<(String, String)> = corpus
        .iter()
        .map(|m| (m.name().to_string(), m.version().to_string()))
        .collect();
    for server in corpus.iter().step_by(40) {
        for version in ["1.10.0", "1.9.0", "10.0.0-rc.1", "2.0.0"] {
            let name = server.name().as_str();
            if store.publish(&manifest(name, version)).await.is_ok() {
                expected.push((name.to_owned(), version.to_owned()));
            }
        }
    }
    // Bytewise order, as both engines sort.
    expected.sort();
    for limit in [1, 7, 30, 100] {
        let rows = walk(
            &store,
            ListQuery {
                limit,
                ..ListQuery::default()
            },
        )
        .await;
        assert_same(&keys(&rows), &expected, &format!("limit {limit}"));
    }

    // A cursor need not name a stored row: the page starts strictly after it.
    let (name, version) = &expected[100];
    let cut = version.get(..version.len() - 1).unwrap();
    let page = store
        .list_servers(&ListQuery {
            limit: 5,
            cursor: Some(Cursor::Position {
                server_name: name.clone(),
                version: cut.to_owned(),
            }),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    let start = expected
        .iter()
        .position(|(n, v)| (n.as_str(), v.as_str()) > (name.as_str(), cut))
        .unwrap();
    assert_eq!(keys(&page.items), expected[start..start + 5]);

    // A full last page carries a cursor; the next page is empty.
    let last = expected.last().unwrap();
    let before_last = &expected[expected.len() - 2];
    let page = store
        .list_servers(&ListQuery {
            limit: 1,
            cursor: Some(Cursor::Position {
                server_name: before_last.0.clone(),
                version: before_last.1.clone(),
            }),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(keys(&page.items), std::slice::from_ref(last));
    let cursor = Cursor::decode(&page.next_cursor.unwrap()).unwrap();
    let page = store
        .list_servers(&ListQuery {
            limit: 1,
            cursor: Some(cursor),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);
}

/// A small registry for the filter tests.
async fn filter_fixture(store: &Store) {
    let packages = |packages: Vec<Value>| json!({ "packages": packages });
    for manifest in [
        manifest_with(
            "com.example/alpha",
            "1.0.0",
            "Alpha",
            &packages(vec![package("npm", "@example/alpha")]),
        ),
        manifest_with(
            "com.example/alpha",
            "2.0.0",
            "Alpha",
            &json!({
                "packages": [package("npm", "@example/alpha")],
                "remotes": [remote("streamable-http", "https://alpha.example.com/mcp")],
            }),
        ),
        manifest_with(
            "com.example/beta",
            "1.0.0",
            "Beta",
            &packages(vec![package("pypi", "example-beta")]),
        ),
        manifest_with(
            "org.other/gamma",
            "1.0.0",
            "Gamma",
            &json!({
                "packages": [package("oci", "docker.io/other/gamma:1.0.0")],
                "remotes": [remote("sse", "https://gamma.other.org/sse")],
            }),
        ),
        manifest_with("com.example.sub/delta", "0.1.0", "Delta", &json!({})),
    ] {
        store.publish(&manifest).await.unwrap();
    }
    store
        .update_server_status("com.example/beta", &status(Status::Deleted))
        .await
        .unwrap();
}

async fn list_filters(db: TestDb) {
    const DELTA: &str = "com.example.sub/delta@0.1.0";
    const ALPHA_1: &str = "com.example/alpha@1.0.0";
    const ALPHA_2: &str = "com.example/alpha@2.0.0";
    const BETA: &str = "com.example/beta@1.0.0";
    const GAMMA: &str = "org.other/gamma@1.0.0";
    /// The default query changed by `edit`.
    fn with(edit: impl FnOnce(&mut ListQuery)) -> ListQuery {
        let mut query = query();
        edit(&mut query);
        query
    }
    fn latest(query: &mut ListQuery) {
        query.version = Some(VersionSelector::Latest);
    }
    fn deleted_too(query: &mut ListQuery) {
        query.include_deleted = true;
    }

    let store = db.store().await;
    filter_fixture(&store).await;
    let cases: Vec<(ListQuery, Vec<&str>)> = vec![
        // Bytewise order: `.` sorts before `/`.
        (query(), vec![DELTA, ALPHA_1, ALPHA_2, GAMMA]),
        (
            with(deleted_too),
            vec![DELTA, ALPHA_1, ALPHA_2, BETA, GAMMA],
        ),
        (with(latest), vec![DELTA, ALPHA_2, GAMMA]),
        (
            with(|q| {
                latest(q);
                deleted_too(q);
            }),
            vec![DELTA, ALPHA_2, BETA, GAMMA],
        ),
        (
            with(|q| q.version = Some(VersionSelector::Exact("1.0.0".into()))),
            vec![ALPHA_1, GAMMA],
        ),
        (
            with(|q| q.registry_type = Some("npm".into())),
            vec![ALPHA_1, ALPHA_2],
        ),
        (with(|q| q.registry_type = Some("np".into())), vec![]),
        (
            with(|q| {
                q.registry_type = Some("pypi".into());
                deleted_too(q);
            }),
            vec![BETA],
        ),
        (
            with(|q| q.transport = Some("streamable-http".into())),
            vec![ALPHA_2],
        ),
        (with(|q| q.transport = Some("sse".into())), vec![GAMMA]),
        (
            with(|q| {
                q.transport = Some("stdio".into());
                deleted_too(q);
            }),
            vec![ALPHA_1, ALPHA_2, BETA, GAMMA],
        ),
        // Exact namespace: `com.example` is not `com.example.sub`, nor a prefix match.
        (
            with(|q| q.namespace = Some("com.example".into())),
            vec![ALPHA_1, ALPHA_2],
        ),
        (
            with(|q| q.namespace = Some("com.example.sub".into())),
            vec![DELTA],
        ),
        (with(|q| q.namespace = Some("com".into())), vec![]),
        (
            with(|q| q.namespace = Some("com.example/alpha".into())),
            vec![],
        ),
        (
            with(|q| {
                q.namespace = Some("com.example".into());
                q.registry_type = Some("npm".into());
                q.transport = Some("streamable-http".into());
                latest(q);
                deleted_too(q);
            }),
            vec![ALPHA_2],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(listed(&store, query.clone()).await, expected, "{query:?}");
        // The same rows one per page.
        let one_by_one = ListQuery { limit: 1, ..query };
        assert_eq!(
            listed(&store, one_by_one.clone()).await,
            expected,
            "{one_by_one:?}"
        );
    }
}

async fn updated_since_sees_status_and_latest_changes(db: TestDb) {
    let store = db.store().await;
    filter_fixture(&store).await;
    let since = |updated_since: OffsetDateTime| ListQuery {
        updated_since: Some(updated_since),
        include_deleted: true,
        ..query()
    };
    tick().await;
    let t0 = now();
    assert!(listed(&store, since(t0)).await.is_empty());
    tick().await;
    store
        .update_version_status("org.other/gamma", "1.0.0", &deprecate("moved"))
        .await
        .unwrap();
    assert_eq!(listed(&store, since(t0)).await, ["org.other/gamma@1.0.0"]);

    tick().await;
    let t1 = now();
    tick().await;
    // A new latest also changes the previous latest's flag, so incremental sync must see both rows.
    store
        .publish(&manifest("com.example/alpha", "3.0.0"))
        .await
        .unwrap();
    assert_eq!(
        listed(&store, since(t1)).await,
        ["com.example/alpha@2.0.0", "com.example/alpha@3.0.0"]
    );
    // Strictly after: the row's own timestamp is excluded.
    let newest = store
        .find_version("com.example/alpha", &VersionSelector::Latest, false)
        .await
        .unwrap()
        .unwrap();
    assert!(listed(&store, since(newest.updated_at)).await.is_empty());

    // Many changed rows (SQLite then walks the keyset index instead of sorting what changed).
    tick().await;
    let t2 = now();
    tick().await;
    let many: Vec<Manifest> = (0..4200)
        .map(|i| manifest(&format!("io.github.sync/server-{i:04}"), "1.0.0"))
        .collect();
    store.import(&many).await.unwrap();
    store
        .update_version_status("org.other/gamma", "1.0.0", &status(Status::Active))
        .await
        .unwrap();
    let rows = walk(
        &store,
        ListQuery {
            limit: 100,
            ..since(t2)
        },
    )
    .await;
    let mut expected: Vec<String> = many
        .iter()
        .map(|m| format!("{}@1.0.0", m.name()))
        .chain(["org.other/gamma@1.0.0".to_owned()])
        .collect();
    expected.sort();
    assert_same(
        &names_and_versions(&rows),
        &expected,
        "updated_since, many rows",
    );
}

// ---------------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------------

/// The search rules of `SearchTier`, restated independently of both engines.
fn reference_tier(manifest: &Manifest, term: &str) -> Option<u8> {
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
    if name == term_folded || local == term_folded {
        return Some(0);
    }
    if name.starts_with(&term_folded) || local.starts_with(&term_folded) {
        return Some(1);
    }
    if name.contains(&term_folded) {
        return Some(2);
    }
    if title.contains(&term_folded) || description.contains(&term_folded) {
        return Some(3);
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
async fn ranked(store: &Store, query: ListQuery) -> Vec<(u8, String)> {
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

async fn search_fixture(store: &Store) {
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
        store.publish(&manifest).await.unwrap();
    }
}

async fn search_matches_substrings_and_words(db: TestDb) {
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

async fn search_pagination_walks_every_hit_once(db: TestDb) {
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

// ---------------------------------------------------------------------------------------------------
// Status, tokens, import
// ---------------------------------------------------------------------------------------------------

async fn status_changes_report_what_changed(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/status";
    let first = store.publish(&manifest(name, "1.0.0")).await.unwrap();
    store.publish(&manifest(name, "2.0.0")).await.unwrap();
    tick().await;

    let outcome = store
        .update_version_status(name, "1.0.0", &deprecate("use 2.0.0"))
        .await
        .unwrap();
    assert_eq!(
        names_and_versions(&outcome.changed),
        [format!("{name}@1.0.0")]
    );
    assert_eq!(outcome.versions, outcome.changed);
    let deprecated = &outcome.versions[0];
    assert_eq!(deprecated.status, Status::Deprecated);
    assert_eq!(deprecated.status_message.as_deref(), Some("use 2.0.0"));
    assert!(deprecated.status_changed_at > first.status_changed_at);
    assert_eq!(deprecated.updated_at, deprecated.status_changed_at);
    assert_eq!(deprecated.published_at, first.published_at);
    assert_eq!(deprecated.manifest, first.manifest);

    // The same request again changes nothing.
    tick().await;
    let outcome = store
        .update_version_status(name, "1.0.0", &deprecate("use 2.0.0"))
        .await
        .unwrap();
    assert!(outcome.changed.is_empty());
    assert_eq!(&outcome.versions[0], deprecated);

    // A new message alone is a change, but not a status change.
    let outcome = store
        .update_version_status(name, "1.0.0", &deprecate("please use 2.0.0"))
        .await
        .unwrap();
    let updated = &outcome.changed[0];
    assert_eq!(updated.status_changed_at, deprecated.status_changed_at);
    assert!(updated.updated_at > deprecated.updated_at);

    // Server-wide: only the version that differs changes; all are reported, newest first.
    let outcome = store
        .update_server_status(name, &deprecate("please use 2.0.0"))
        .await
        .unwrap();
    assert_eq!(
        names_and_versions(&outcome.changed),
        [format!("{name}@2.0.0")]
    );
    assert_eq!(
        names_and_versions(&outcome.versions),
        [format!("{name}@2.0.0"), format!("{name}@1.0.0")]
    );
    assert!(outcome.versions[0].is_latest);

    // Back to active clears the message.
    let outcome = store
        .update_server_status(name, &status(Status::Active))
        .await
        .unwrap();
    assert_eq!(outcome.changed.len(), 2);
    assert!(outcome.versions.iter().all(|v| v.status_message.is_none()));

    for missing in [
        store
            .update_version_status(name, "9.9.9", &status(Status::Deleted))
            .await,
        store
            .update_server_status("io.github.alice/nobody", &status(Status::Deleted))
            .await,
        store
            .update_version_status("io.github.alice/nobody", "1.0.0", &status(Status::Deleted))
            .await,
    ] {
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    }
}

async fn tokens_round_trip(db: TestDb) {
    let store = db.store().await;
    let token = TokenRecord {
        id: "tok_1".into(),
        secret_sha256: "ab".repeat(32),
        permissions: r#"[{"action":"publish","resource":"io.github.alice/*"}]"#.into(),
        description: Some("CI".into()),
        created_at: now(),
    };
    store.insert_token(&token).await.unwrap();
    let plain = TokenRecord {
        id: "tok_2".into(),
        secret_sha256: "cd".repeat(32),
        description: None,
        ..token.clone()
    };
    store.insert_token(&plain).await.unwrap();
    assert_eq!(
        store.find_token(&token.secret_sha256).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store.find_token(&plain.secret_sha256).await.unwrap(),
        Some(plain)
    );
    assert_eq!(store.find_token(&"ef".repeat(32)).await.unwrap(), None);
    // The same secret twice is refused.
    let clash = TokenRecord {
        id: "tok_3".into(),
        ..token
    };
    assert!(store.insert_token(&clash).await.is_err());
}

async fn import_skips_duplicates_and_sets_latest(db: TestDb) {
    let store = db.store().await;
    assert_eq!(store.import(&[]).await.unwrap().inserted, 0);
    let a = "io.github.alice/imported";
    let b = "io.github.bob/imported";
    let outcome = store
        .import(&[
            manifest(a, "1.0.0"),
            manifest(a, "2.0.0"),
            manifest(b, "1.0.0"),
            manifest(a, "1.0.0+again"),
        ])
        .await
        .unwrap();
    assert_eq!((outcome.inserted, outcome.skipped), (3, 1));
    assert_eq!(only_latest(&store, a).await.as_deref(), Some("2.0.0"));
    assert_eq!(only_latest(&store, b).await.as_deref(), Some("1.0.0"));
    assert_eq!(
        store
            .find_version(a, &VersionSelector::Exact("1.0.0".into()), false)
            .await
            .unwrap()
            .unwrap()
            .manifest,
        manifest(a, "1.0.0").raw()
    );

    // A second batch against stored versions: duplicates skipped, latest moved once.
    let c = "io.github.carol/imported";
    let outcome = store
        .import(&[
            manifest(a, "2.0.0"),
            manifest(a, "3.0.0-rc.1"),
            manifest(a, "2.1.0"),
            manifest(c, "0.1.0"),
        ])
        .await
        .unwrap();
    assert_eq!((outcome.inserted, outcome.skipped), (3, 1));
    assert_eq!(only_latest(&store, a).await.as_deref(), Some("2.1.0"));
    assert_eq!(only_latest(&store, c).await.as_deref(), Some("0.1.0"));
    assert_eq!(
        store
            .list_versions(a, false)
            .await
            .unwrap()
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        ["2.1.0", "3.0.0-rc.1", "2.0.0", "1.0.0"],
        "batch order is publish order"
    );
    // Imported versions refuse publishes of the same precedence.
    assert!(matches!(
        store.publish(&manifest(a, "2.1.0+x")).await,
        Err(StoreError::Duplicate { .. })
    ));

    // A larger batch: 400 servers × 5 versions in one call.
    let many: Vec<Manifest> = (0..400)
        .flat_map(|server| {
            ["0.9.0", "1.0.0", "1.1.0-beta", "0.1.0", "1.0.1"]
                .map(|version| manifest(&format!("io.github.bulk/server-{server:03}"), version))
        })
        .collect();
    let outcome = store.import(&many).await.unwrap();
    assert_eq!((outcome.inserted, outcome.skipped), (2000, 0));
    let latest_rows = walk(
        &store,
        ListQuery {
            namespace: Some("io.github.bulk".into()),
            version: Some(VersionSelector::Latest),
            ..query()
        },
    )
    .await;
    assert_eq!(latest_rows.len(), 400);
    assert!(latest_rows.iter().all(|row| row.version == "1.0.1"));
    let outcome = store.import(&many).await.unwrap();
    assert_eq!((outcome.inserted, outcome.skipped), (0, 2000));
}
