//! Status changes, tokens and imports.

use registry_schema::{Manifest, Policy};
use registry_server::db::{
    AuditEntry, AuditQuery, CompatPolicy, Cursor, ListQuery, PolicyScope, Status, StoreError,
    TokenRecord, VersionSelector, now,
};
use registry_tests::db::TestDb;

use super::helpers::*;

pub(crate) async fn status_changes_report_what_changed(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/status";
    let first = publish(&store, &manifest(name, "1.0.0")).await.unwrap();
    publish(&store, &manifest(name, "2.0.0")).await.unwrap();
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

pub(crate) async fn tokens_round_trip(db: TestDb) {
    let store = db.store().await;
    let token = TokenRecord {
        id: "tok_1".into(),
        secret_sha256: "ab".repeat(32),
        permissions: r#"[{"action":"publish","resource":"io.github.alice/*"}]"#.into(),
        description: Some("CI".into()),
        created_at: now(),
        revoked_at: None,
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
        ..token.clone()
    };
    assert!(store.insert_token(&clash).await.is_err());

    // Revoked: listed with the time, found no more; revoking again keeps the first time.
    let listed: Vec<String> = store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, ["tok_1", "tok_2"]);
    let revoked = store.revoke_token("tok_1").await.unwrap().unwrap();
    let at = revoked.revoked_at.expect("a revocation time");
    assert_eq!(store.find_token(&token.secret_sha256).await.unwrap(), None);
    let again = store.revoke_token("tok_1").await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(at));
    assert_eq!(store.revoke_token("tok_nope").await.unwrap(), None);
    let all = store.tokens().await.unwrap();
    assert_eq!(all[0].revoked_at, Some(at));
    assert_eq!(all[1].revoked_at, None);
}

pub(crate) async fn import_skips_duplicates_and_sets_latest(db: TestDb) {
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
        publish(&store, &manifest(a, "2.1.0+x")).await,
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

#[allow(
    clippy::too_many_lines,
    reason = "one scenario, every entry point in turn"
)]
pub(crate) async fn text_with_nul_is_invalid_input(db: TestDb) {
    let store = db.store().await;
    let name = "io.github.alice/nul";
    publish(&store, &manifest(name, "1.0.0")).await.unwrap();
    let invalid = |outcome: Result<(), StoreError>| {
        assert!(
            matches!(outcome, Err(StoreError::InvalidInput(_))),
            "{outcome:?}"
        );
    };
    let bad_name = "io.github.alice/n\0l";
    invalid(
        store
            .find_version(bad_name, &VersionSelector::Latest, true)
            .await
            .map(drop),
    );
    invalid(store.list_versions(bad_name, true).await.map(drop));
    invalid(
        store
            .update_version_status(name, "1.0.0", &deprecate("bad\0message"))
            .await
            .map(drop),
    );
    invalid(
        store
            .update_server_status(bad_name, &status(Status::Deleted))
            .await
            .map(drop),
    );
    let list = |edit: fn(&mut ListQuery)| {
        let mut query = query();
        edit(&mut query);
        query
    };
    for query in [
        list(|q| {
            q.cursor = Some(Cursor::Position {
                server_name: "io.github.alice/a\0".into(),
                version: String::new(),
            });
        }),
        list(|q| q.version = Some(VersionSelector::Exact("1.0.0\0".into()))),
        list(|q| q.namespace = Some("io.github\0".into())),
    ] {
        invalid(store.list_servers(&query).await.map(drop));
    }
    let token = TokenRecord {
        id: "tok_nul".into(),
        secret_sha256: "ab".repeat(32),
        permissions: "[]".into(),
        description: Some("C\0I".into()),
        created_at: now(),
        revoked_at: None,
    };
    invalid(store.insert_token(&token).await);
    invalid(store.find_token("\0").await.map(drop));
    invalid(
        store
            .set_compat_policy(
                &PolicyScope::Server(bad_name.into()),
                Some(CompatPolicy::Advise),
                None,
            )
            .await,
    );
    // Nothing changed.
    let stored = store.list_versions(name, true).await.unwrap();
    assert_eq!(stored[0].status, Status::Active);

    // Search terms and filters are folded like the indexes, which hold no NUL: it is dropped.
    let found = store
        .list_servers(&ListQuery {
            search: Some("n\0ul".into()),
            registry_type: None,
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(names_and_versions(&found.items), [format!("{name}@1.0.0")]);

    // The audit log records such attempts, with U+FFFD in place of NUL.
    let entry = AuditEntry {
        id: 0,
        at: now(),
        actor: None,
        action: "status".into(),
        server_name: Some(bad_name.into()),
        version: Some("1.0.0".into()),
        remote_addr: None,
        status: 400,
        outcome: "invalid".into(),
    };
    store.insert_audit(&entry).await.unwrap();
    let logged = store
        .audit_entries(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        logged[0].server_name.as_deref(),
        Some("io.github.alice/n\u{FFFD}l")
    );

    // A manifest whose version holds a NUL (if the model accepts one) is refused the same way.
    let text = format!(r#"{{"name": "{name}", "version": "2.0.0\u0000", "description": "N"}}"#);
    if let Ok(manifest) = Manifest::parse(text.as_bytes(), &Policy::lenient()) {
        invalid(publish(&store, &manifest).await.map(drop));
        invalid(store.import(&[manifest]).await.map(drop));
    }
}
