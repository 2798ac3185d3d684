//! What `updatedAt` and `publishedAt` mean: a version's own changes, and the source registry's times
//! for imported versions.

use registry_schema::Policy;
use registry_server::db::{
    ImportEntry, ListQuery, MirrorTimes, SourceMeta, Status, Store, VersionRecord, VersionSelector,
    now,
};
use registry_server::import::{import_entries, read_entries};
use registry_tests::db::TestDb;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::helpers::*;

async fn find(store: &Store, name: &str, version: &str) -> VersionRecord {
    store
        .find_version(name, &VersionSelector::Exact(version.to_owned()), true)
        .await
        .unwrap()
        .unwrap()
}

fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

/// Everything changed after `since`, deleted rows included (what incremental sync reads).
fn since(updated_since: OffsetDateTime) -> ListQuery {
    ListQuery {
        updated_since: Some(updated_since),
        include_deleted: true,
        ..query()
    }
}

pub(crate) async fn latest_flag_moves_keep_updated_at(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/stamps";
    let first = publish(&store, &manifest(name, "1.0.0")).await.unwrap();
    tick().await;
    let before_second = now();
    tick().await;
    let second = publish(&store, &manifest(name, "2.0.0")).await.unwrap();
    let demoted = find(&store, name, "1.0.0").await;
    assert!(!demoted.is_latest);
    assert_eq!(
        demoted.updated_at, first.updated_at,
        "losing the latest flag is not an update of the version"
    );
    assert!(second.updated_at > demoted.updated_at);
    // Incremental sync still sees the flag move, with the row's own `updated_at`.
    assert_eq!(
        listed(&store, since(before_second)).await,
        [format!("{name}@1.0.0"), format!("{name}@2.0.0")]
    );

    // Getting the flag back is not an update either; the status change that caused it is.
    tick().await;
    let before_delete = now();
    tick().await;
    let outcome = store
        .update_version_status(name, "2.0.0", &status(Status::Deleted))
        .await
        .unwrap();
    assert!(outcome.changed[0].updated_at > second.updated_at);
    let promoted = find(&store, name, "1.0.0").await;
    assert!(promoted.is_latest);
    assert_eq!(promoted.updated_at, first.updated_at);
    assert_eq!(listed(&store, since(before_delete)).await.len(), 2);

    // A status change of its own is an update.
    tick().await;
    let outcome = store
        .update_version_status(name, "1.0.0", &deprecate("use 3"))
        .await
        .unwrap();
    assert!(outcome.changed[0].updated_at > first.updated_at);
}

fn source(status: Status, published: &str, changed: Option<&str>, updated: &str) -> SourceMeta {
    SourceMeta {
        status,
        status_message: (status != Status::Active).then(|| "withdrawn".to_owned()),
        times: Some(MirrorTimes {
            published_at: at(published),
            status_changed_at: changed.map(at),
            updated_at: Some(at(updated)),
        }),
    }
}

pub(crate) async fn imports_keep_the_sources_times_and_status(db: TestDb) {
    let store = db.store().await;
    let (a, b) = ("io.github.alice/copied", "io.github.bob/nightly");
    let entry = |name: &str, version: &str, source: Option<SourceMeta>| ImportEntry {
        manifest: manifest(name, version),
        source,
    };
    tick().await;
    let before = now();
    tick().await;
    let outcome = store
        .import_entries(&[
            entry(
                a,
                "1.0.0",
                Some(source(
                    Status::Active,
                    "2025-01-01T00:00:00Z",
                    None,
                    "2025-01-05T00:00:00.123456Z",
                )),
            ),
            entry(
                a,
                "2.0.0",
                Some(source(
                    Status::Deleted,
                    "2025-02-01T00:00:00Z",
                    Some("2025-02-03T00:00:00Z"),
                    "2025-02-03T00:00:00Z",
                )),
            ),
            entry(a, "1.1.0", None),
            // Imported before the version the source published earlier: publication time orders them.
            entry(
                b,
                "nightly-b",
                Some(source(
                    Status::Active,
                    "2025-03-02T00:00:00Z",
                    None,
                    "2025-03-02T00:00:00Z",
                )),
            ),
            entry(
                b,
                "nightly-a",
                Some(source(
                    Status::Active,
                    "2025-03-01T00:00:00Z",
                    None,
                    "2025-03-01T00:00:00Z",
                )),
            ),
        ])
        .await
        .unwrap();
    assert_eq!((outcome.inserted, outcome.skipped), (5, 0));

    let kept = find(&store, a, "1.0.0").await;
    assert_eq!(kept.published_at, at("2025-01-01T00:00:00Z"));
    assert_eq!(kept.status_changed_at, kept.published_at);
    assert_eq!(kept.updated_at, at("2025-01-05T00:00:00.123456Z"));
    assert_eq!(kept.status, Status::Active);
    let deleted = find(&store, a, "2.0.0").await;
    assert_eq!(deleted.status, Status::Deleted);
    assert_eq!(deleted.status_message.as_deref(), Some("withdrawn"));
    assert_eq!(deleted.status_changed_at, at("2025-02-03T00:00:00Z"));
    assert!(!deleted.is_latest, "a deleted version is not latest");
    let fresh = find(&store, a, "1.1.0").await;
    assert!(fresh.published_at > before);
    assert!(fresh.is_latest);
    assert_eq!(only_latest(&store, b).await.as_deref(), Some("nightly-b"));
    let order: Vec<String> = store
        .list_versions(b, false)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(
        order,
        ["nightly-b", "nightly-a"],
        "newest publication first"
    );
    // A later write recomputes latest in the same (publication) order.
    store
        .update_version_status(b, "nightly-a", &deprecate("old"))
        .await
        .unwrap();
    assert_eq!(only_latest(&store, b).await.as_deref(), Some("nightly-b"));
    // Incremental readers of this registry see every imported row, whatever its kept times.
    assert_eq!(listed(&store, since(before)).await.len(), 5);
}

/// A surface with the named tools.
fn surface(tools: &[&str]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
        .collect();
    json!({
        "serverInfo": {"name": "weather", "version": "1.0.0"},
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {}},
        "tools": tools
    })
}

pub(crate) async fn import_files_keep_official_metadata_and_skip_the_gate(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/weather";
    let server = |version: &str, tools: &[&str]| {
        json!({
            "name": name,
            "description": "Weather",
            "version": version,
            "_meta": {"dev.mcp-reg/surface": surface(tools)},
        })
    };
    let official = |published: &str, updated: &str, status: &str| {
        json!({"io.modelcontextprotocol.registry/official": {
            "status": status, "publishedAt": published, "updatedAt": updated,
            "statusChangedAt": updated, "isLatest": false, "serverId": "legacy"
        }})
    };
    // 1.0.1 removes a tool, a break a patch release may not carry: the gate would refuse it at publish.
    let file = json!({"servers": [
        {"server": server("1.0.0", &["forecast", "alerts"]),
         "_meta": official("2025-06-01T10:00:00.123456789Z", "2025-06-02T00:00:00Z", "active")},
        {"server": server("1.0.1", &["forecast"]),
         "_meta": official("2025-06-03T10:00:00Z", "2025-06-04T00:00:00Z", "deprecated")},
    ]})
    .to_string();
    let entries = read_entries(&file).unwrap();
    let report = import_entries(&store, &entries, &Policy::lenient(), |_| {})
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.inserted, 2);
    let first = find(&store, name, "1.0.0").await;
    assert_eq!(first.published_at, at("2025-06-01T10:00:00.123456Z"));
    assert_eq!(first.updated_at, at("2025-06-02T00:00:00Z"));
    assert!(!first.is_latest);
    let second = find(&store, name, "1.0.1").await;
    assert_eq!(second.status, Status::Deprecated);
    assert_eq!(second.status_changed_at, at("2025-06-04T00:00:00Z"));
    assert!(second.is_latest, "deprecated versions stay latest");
    // The manifest is kept byte for byte, and no gate report was made.
    assert_eq!(
        serde_json::from_str::<Value>(&second.manifest).unwrap(),
        server("1.0.1", &["forecast"])
    );
    assert_eq!(
        store.compat_report(name, "1.0.1").await.unwrap(),
        Some(None)
    );
}
