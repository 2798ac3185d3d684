//! The publish gate is shown a summary of a long history (a few versions found by semver order), and
//! the whole history only where the summary cannot stand in for it.

use registry_server::db::{GateDecision, PublishExtras, Status, Store};
use registry_tests::db::TestDb;
use serde_json::json;
use sqlx::{Connection as _, Row as _};

use super::helpers::*;

/// What the gate is shown when `version` of `name` is published: whether the whole history, and the
/// versions, in publish order.
async fn shown(store: &Store, name: &str, version: &str) -> (bool, Vec<String>) {
    let mut seen = (false, Vec::new());
    store
        .publish_gated(
            &manifest(name, version),
            PublishExtras::default(),
            |history| {
                let versions = history.versions.iter().map(|v| v.version.clone());
                seen = (history.complete, versions.collect());
                GateDecision::Decided(Ok::<_, ()>(None))
            },
        )
        .await
        .unwrap()
        .unwrap();
    seen
}

fn summary(versions: &[&str]) -> (bool, Vec<String>) {
    (false, versions.iter().map(|v| (*v).to_owned()).collect())
}

pub(crate) async fn a_long_line_is_summarised_and_latest_still_follows_the_rules(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/long";
    for version in ["0.5.0", "2.0.0-rc.1"] {
        publish(&store, &manifest(name, version)).await.unwrap();
    }
    for n in 0..30 {
        publish(&store, &manifest(name, &format!("1.0.{n}")))
            .await
            .unwrap();
    }
    // One contract throughout the line: its highest release (also the baseline and the latest).
    assert_eq!(shown(&store, name, "1.0.30").await, summary(&["1.0.29"]));
    assert_eq!(latest(&store, name, false).await.as_deref(), Some("1.0.30"));
    // A backfill into an older line: its baseline, the latest, and no higher release of its line.
    assert_eq!(
        shown(&store, name, "0.5.1").await,
        summary(&["0.5.0", "1.0.30"])
    );
    assert_eq!(latest(&store, name, false).await.as_deref(), Some("1.0.30"));
    // A metadata republish: the original is there too.
    assert_eq!(
        shown(&store, name, "1.0.15-1").await,
        summary(&["1.0.14", "1.0.15", "1.0.30"])
    );
    // The release above the pre-release: both baseline candidates.
    assert_eq!(
        shown(&store, name, "2.0.0").await,
        summary(&["2.0.0-rc.1", "1.0.30"])
    );
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.0"));
    // A deleted release is never the one a contract is compared through.
    store
        .update_version_status(name, "2.0.0", &status(Status::Deleted))
        .await
        .unwrap();
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("1.0.30"));
    assert_eq!(
        shown(&store, name, "2.0.1").await,
        summary(&["2.0.0-rc.1", "1.0.30"])
    );
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.1"));
    // A backfill into the middle of a line: the next release up (the sandwich), not those above it.
    for version in ["2.2.0", "2.3.0"] {
        publish(&store, &manifest(name, version)).await.unwrap();
    }
    assert_eq!(
        shown(&store, name, "2.1.0").await,
        summary(&["2.0.0-rc.1", "2.0.1", "2.2.0", "2.3.0"])
    );
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.3.0"));
}

pub(crate) async fn each_contract_of_the_line_is_compared_through_its_highest_release(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/contracts";
    let with =
        |version: &str, description: &str| manifest_with(name, version, description, &json!({}));
    for (version, description) in [
        ("1.0.0", "First"),
        ("1.0.1", "First"),
        ("1.1.0", "Second"),
        ("1.1.1", "Second"),
        ("1.1.2", "Second"),
        ("1.2.0", "First"),
        ("2.0.0", "Third"),
    ] {
        publish(&store, &with(version, description)).await.unwrap();
    }
    let mut seen = None;
    store
        .publish_gated(
            &with("1.2.1", "First"),
            PublishExtras::default(),
            |history| {
                let versions = history.versions.iter().map(|v| v.version.clone());
                seen = Some((history.complete, versions.collect::<Vec<_>>()));
                GateDecision::Decided(Ok::<_, ()>(None))
            },
        )
        .await
        .unwrap()
        .unwrap();
    // "First" through 1.2.0 (also the baseline), "Second" through 1.1.2; 2.0.0 is the latest.
    assert_eq!(seen, Some(summary(&["1.1.2", "1.2.0", "2.0.0"])));
    // A deleted release hands its contract to the one below it.
    store
        .update_version_status(name, "1.1.2", &status(Status::Deleted))
        .await
        .unwrap();
    assert_eq!(
        shown(&store, name, "1.2.2").await,
        summary(&["1.1.1", "2.0.0", "1.2.1"])
    );
}

pub(crate) async fn a_history_the_summary_cannot_stand_for_is_read_whole(db: TestDb) {
    let store = db.store().await;
    // A version that is not semver: the latest rule goes by publish order.
    let name = "io.github.alice/dated";
    for version in ["1.0.0", "2024-01"] {
        publish(&store, &manifest(name, version)).await.unwrap();
    }
    assert!(shown(&store, name, "1.0.1").await.0, "read whole");
    assert!(shown(&store, name, "2024-02").await.0, "read whole");
    // Versions stored before order keys: read whole until `migrate` fills their keys in.
    let name = "io.github.alice/old";
    for n in 0..3 {
        publish(&store, &manifest(name, &format!("1.0.{n}")))
            .await
            .unwrap();
    }
    let keys = || async {
        stored_order_keys(&db, "select version, order_key from server_versions where server_name = 'io.github.alice/old' order by id").await
    };
    run_sql(&db, "update server_versions set order_key = null").await;
    run_sql(&db, "update version_contracts set order_key = null").await;
    assert!(keys().await.iter().all(|(_, key)| key.is_none()));
    assert!(shown(&store, name, "1.0.3").await.0, "read whole");
    store.migrate().await.unwrap();
    let filled = keys().await;
    assert_eq!(filled.len(), 4);
    for (version, key) in &filled {
        assert_eq!(
            key,
            &registry_schema::version::order_key(version),
            "{version}"
        );
    }
    let contract_keys = stored_order_keys(
        &db,
        "select v.version, c.order_key from version_contracts c \
         join server_versions v on v.id = c.version_id \
         where v.server_name = 'io.github.alice/old' order by v.id",
    )
    .await;
    assert_eq!(contract_keys, filled);
    assert_eq!(shown(&store, name, "1.0.4").await, summary(&["1.0.3"]));
    let dated = stored_order_keys(
        &db,
        "select version, order_key from server_versions where version = '2024-01'",
    )
    .await;
    assert_eq!(dated, vec![("2024-01".to_owned(), Some(String::new()))]);
}

/// `(version, order_key)` rows of a query on the test database.
async fn stored_order_keys(db: &TestDb, sql: &'static str) -> Vec<(String, Option<String>)> {
    if let Some(dir) = db.data_dir() {
        let url = format!("sqlite://{}", dir.join("registry.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    } else {
        let url = db.config().database_url.unwrap();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let rows = sqlx::query(sql).fetch_all(&mut conn).await.unwrap();
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    }
}
