//! Keyset pagination, list filters and incremental sync.

use registry_schema::Manifest;
use registry_server::db::{Cursor, ListQuery, Status, Store, VersionSelector, now};
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::helpers::*;

pub(crate) async fn keyset_pagination_walks_the_corpus_once(db: TestDb) {
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
            if publish(&store, &manifest(name, version)).await.is_ok() {
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
pub(crate) async fn filter_fixture(store: &Store) {
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
        publish(store, &manifest).await.unwrap();
    }
    store
        .update_server_status("com.example/beta", &status(Status::Deleted))
        .await
        .unwrap();
}

pub(crate) async fn list_filters(db: TestDb) {
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

pub(crate) async fn updated_since_sees_status_and_latest_changes(db: TestDb) {
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
    publish(&store, &manifest("com.example/alpha", "3.0.0"))
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
