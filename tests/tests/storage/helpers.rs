//! Manifests, queries and walks shared by the storage tests.

use std::convert::Infallible;
use std::time::Duration;

use registry_schema::{Manifest, Policy};
use registry_server::db::{
    Cursor, GateDecision, ListQuery, PublishExtras, Status, StatusChange, Store, StoreError,
    VersionRecord, VersionSelector,
};
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use sqlx::Connection as _;

/// Publishes through the store's only publish path, with a gate that approves everything.
pub(crate) async fn publish(
    store: &Store,
    manifest: &Manifest,
) -> Result<VersionRecord, StoreError> {
    let gated = store
        .publish_gated(manifest, PublishExtras::default(), |_| {
            GateDecision::Decided(Ok::<_, Infallible>(None))
        })
        .await?;
    Ok(gated.unwrap_or_else(|never| match never {}))
}

pub(crate) fn parse(value: &Value) -> Manifest {
    Manifest::parse(&serde_json::to_vec(value).unwrap(), &Policy::lenient()).unwrap()
}

/// A minimal manifest.
pub(crate) fn manifest(name: &str, version: &str) -> Manifest {
    parse(&json!({
        "$schema": registry_schema::manifest::CURRENT_SCHEMA_URL,
        "name": name,
        "description": format!("The {name} server"),
        "version": version,
    }))
}

/// A manifest with extra members (`title`, `packages`, `remotes`, …) merged in.
pub(crate) fn manifest_with(
    name: &str,
    version: &str,
    description: &str,
    extra: &Value,
) -> Manifest {
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

pub(crate) fn package(registry_type: &str, identifier: &str) -> Value {
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
pub(crate) fn assert_same<T: PartialEq + std::fmt::Debug>(
    found: &[T],
    expected: &[T],
    context: &str,
) {
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

pub(crate) fn remote(transport: &str, url: &str) -> Value {
    json!({"type": transport, "url": url})
}

/// The 464-server conformance corpus.
pub(crate) fn corpus() -> Vec<Manifest> {
    let path = registry_tests::conformance_dir().join("corpus/servers-2025-12-11.json");
    let values: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    values.iter().map(parse).collect()
}

pub(crate) fn query() -> ListQuery {
    ListQuery {
        limit: 100,
        ..ListQuery::default()
    }
}

/// Lets the clock move, so the next write's timestamps are strictly later.
pub(crate) async fn tick() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

pub(crate) async fn latest(store: &Store, name: &str, include_deleted: bool) -> Option<String> {
    store
        .find_version(name, &VersionSelector::Latest, include_deleted)
        .await
        .unwrap()
        .map(|record| record.version)
}

/// Checks the one-latest invariant and returns the latest version, if any.
pub(crate) async fn only_latest(store: &Store, name: &str) -> Option<String> {
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

pub(crate) fn deprecate(message: &str) -> StatusChange {
    StatusChange {
        status: Status::Deprecated,
        message: Some(message.to_owned()),
    }
}

pub(crate) fn status(status: Status) -> StatusChange {
    StatusChange {
        status,
        message: None,
    }
}

/// Every row a query lists, following cursors, checking each page's size and cursor on the way.
pub(crate) async fn walk(store: &Store, mut query: ListQuery) -> Vec<VersionRecord> {
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

pub(crate) fn keys(rows: &[VersionRecord]) -> Vec<(String, String)> {
    rows.iter()
        .map(|row| (row.server_name.clone(), row.version.clone()))
        .collect()
}

pub(crate) fn names_and_versions(rows: &[VersionRecord]) -> Vec<String> {
    rows.iter()
        .map(|row| format!("{}@{}", row.server_name, row.version))
        .collect()
}

pub(crate) async fn listed(store: &Store, query: ListQuery) -> Vec<String> {
    names_and_versions(&walk(store, query).await)
}

/// Runs one statement on the test database, outside the store.
pub(crate) async fn run_sql(db: &TestDb, sql: &'static str) {
    if let Some(dir) = db.data_dir() {
        let url = format!("sqlite://{}", dir.join("registry.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    } else {
        let url = db.config().database_url.unwrap();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}
