//! Publishing, duplicates, concurrency and the latest rule.

use std::sync::Arc;

use registry_schema::{Manifest, Policy};
use registry_server::db::{
    GateDecision, PublishExtras, Status, Store, StoreError, VersionSelector, now,
};
use registry_tests::db::TestDb;
use serde_json::json;

use super::helpers::*;

pub(crate) async fn publish_then_find(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/weather";
    // Odd formatting on purpose: the stored manifest is the exact text sent.
    let raw = format!(
        "{{\n  \"version\" : \"1.0.0\",\"name\":\"{name}\",   \"description\": \"Weather\" }}"
    );
    let manifest = Manifest::parse(raw.as_bytes(), &Policy::lenient()).unwrap();
    let before = now();
    let published = publish(&store, &manifest).await.unwrap();
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
    let second = publish(&store, &manifest_with(name, "1.1.0", "Weather", &json!({})))
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

pub(crate) async fn duplicate_versions_are_refused(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/dupes";
    publish(&store, &manifest(name, "1.0.0")).await.unwrap();
    for (version, _why) in [
        ("1.0.0", "same version"),
        ("1.0.0+build.7", "same precedence, build metadata differs"),
    ] {
        match publish(&store, &manifest(name, version)).await {
            Err(StoreError::Duplicate {
                server_name,
                version: refused,
                ..
            }) => {
                assert_eq!(server_name, name);
                assert_eq!(refused, version);
            }
            other => panic!("publishing {version} again: {other:?}"),
        }
    }
    publish(&store, &manifest(name, "2.0.0+a")).await.unwrap();
    for version in ["2.0.0+b", "2.0.0"] {
        assert!(
            matches!(
                publish(&store, &manifest(name, version)).await,
                Err(StoreError::Duplicate { .. })
            ),
            "{version}"
        );
    }
    // The same version of another server is not a duplicate.
    publish(&store, &manifest("io.github.alice/other", "1.0.0"))
        .await
        .unwrap();
    let versions = store.list_versions(name, true).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("2.0.0+a"));
}

/// Publishes `manifest` from 50 tasks at once; returns (ok, duplicate) counts.
pub(crate) async fn publish_50_times(store: &Store, manifest: Manifest) -> (usize, usize) {
    let manifest = Arc::new(manifest);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, manifest) = (store.clone(), Arc::clone(&manifest));
            tokio::spawn(async move { publish(&store, &manifest).await })
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

pub(crate) async fn concurrent_publishes_of_one_version_leave_one_row(db: TestDb) {
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

pub(crate) async fn concurrent_publishes_of_different_versions_keep_one_latest(db: TestDb) {
    let store = db.store().await;
    let names = ["io.github.alice/many", "io.github.bob/many"];
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let manifest = manifest(names[i % 2], &format!("1.{}.0", i / 2));
            tokio::spawn(async move { publish(&store, &manifest).await })
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

pub(crate) async fn latest_follows_the_rules(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/rules";
    let publish_version = |version: &str| {
        let (store, manifest) = (&store, manifest(name, version));
        async move { publish(store, &manifest).await }
    };

    assert!(publish_version("1.0.0").await.unwrap().is_latest);
    // A pre-release does not replace a release, even when newer.
    assert!(!publish_version("2.0.0-rc.1").await.unwrap().is_latest);
    assert_eq!(only_latest(&store, name).await.as_deref(), Some("1.0.0"));
    assert!(publish_version("1.1.0").await.unwrap().is_latest);
    // An older release published later does not win either.
    assert!(!publish_version("1.0.5").await.unwrap().is_latest);
    assert!(publish_version("2.0.0").await.unwrap().is_latest);
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
    publish(&store, &manifest(beta, "0.1.0-alpha"))
        .await
        .unwrap();
    publish(&store, &manifest(beta, "0.1.0-beta"))
        .await
        .unwrap();
    publish(&store, &manifest(beta, "0.1.0-alpha.2"))
        .await
        .unwrap();
    assert_eq!(
        only_latest(&store, beta).await.as_deref(),
        Some("0.1.0-beta")
    );
    // A non-semver version published after semver ones is latest (the documented upstream rule).
    publish(&store, &manifest(beta, "2025-nightly"))
        .await
        .unwrap();
    assert_eq!(
        only_latest(&store, beta).await.as_deref(),
        Some("2025-nightly")
    );
}

pub(crate) async fn republishing_the_same_manifest_reports_the_stored_version(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/retry";
    let raw = format!(
        r#"{{"name": "{name}", "version": "1.0.0", "description": "Retry me", "title": "Retry"}}"#
    );
    let parse_text = |text: &str| Manifest::parse(text.as_bytes(), &Policy::lenient()).unwrap();
    let stored = publish(&store, &parse_text(&raw)).await.unwrap();
    // The same bytes, and the same document formatted differently (same RFC 8785 digest): a retry,
    // answered with the stored version. The gate is not asked about a version already stored.
    let reordered = format!(
        r#"{{ "title":"Retry","description":"Retry me",  "version":"1.0.0","name":"{name}" }}"#
    );
    for text in [raw.as_str(), reordered.as_str()] {
        let outcome = store
            .publish_gated(
                &parse_text(text),
                PublishExtras::default(),
                |_| -> GateDecision<()> { panic!("the gate ran for a stored version") },
            )
            .await;
        match outcome {
            Err(StoreError::Duplicate {
                identical: Some(record),
                ..
            }) => assert_eq!(*record, stored),
            other => panic!("re-sending {text}: {other:?}"),
        }
    }
    // A different document with the same precedence is a plain duplicate.
    let changed = format!(
        r#"{{"name": "{name}", "version": "1.0.0", "description": "Changed", "title": "Retry"}}"#
    );
    let rebuilt = format!(
        r#"{{"name": "{name}", "version": "1.0.0+build.2", "description": "Retry me", "title": "Retry"}}"#
    );
    for text in [changed, rebuilt] {
        assert!(
            matches!(
                publish(&store, &parse_text(&text)).await,
                Err(StoreError::Duplicate {
                    identical: None,
                    ..
                })
            ),
            "{text}"
        );
    }
    // The stored version as it is now (its status may have changed since).
    store
        .update_version_status(name, "1.0.0", &deprecate("old"))
        .await
        .unwrap();
    match publish(&store, &parse_text(&raw)).await {
        Err(StoreError::Duplicate {
            identical: Some(record),
            ..
        }) => assert_eq!(record.status, Status::Deprecated),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.list_versions(name, true).await.unwrap().len(), 1);
}

/// How many stored manifests the gate gets when `version` of `name` is published.
async fn manifests_the_gate_reads(store: &Store, name: &str, version: &str) -> usize {
    let mut read = 0;
    store
        .publish_gated(
            &manifest(name, version),
            PublishExtras::default(),
            |history| {
                read = history
                    .versions
                    .iter()
                    .filter(|v| v.manifest.is_some())
                    .count();
                GateDecision::Decided(Ok::<_, ()>(None))
            },
        )
        .await
        .unwrap()
        .unwrap();
    read
}

/// Imported versions carry no contract key, so the first publish after them reads each one; it keeps
/// their keys, and the next publish reads one manifest for the whole (unchanged) line.
pub(crate) async fn imported_histories_get_contract_keys_at_the_next_publish(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/long-line";
    let imported: Vec<Manifest> = (0..30)
        .map(|n| manifest(name, &format!("1.0.{n}")))
        .collect();
    assert_eq!(store.import(&imported).await.unwrap().inserted, 30);

    assert_eq!(manifests_the_gate_reads(&store, name, "1.0.30").await, 30);
    assert_eq!(manifests_the_gate_reads(&store, name, "1.0.31").await, 1);
    // A published version already has its key: the line stays at one read.
    assert_eq!(manifests_the_gate_reads(&store, name, "1.0.32").await, 1);
}
