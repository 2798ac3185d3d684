//! Namespace signing keys and their hash-chained key log.

use registry_provenance::key_log::{KeyAction, check_log};
use registry_provenance::{KeyAlgorithm, SigningKey};
use registry_server::db::{SigningKeyRecord, Store, now};
use registry_tests::db::TestDb;

use super::helpers::run_sql;

fn key_record(namespace: &str, actor: &str) -> SigningKeyRecord {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519)
        .unwrap()
        .public_key();
    SigningKeyRecord {
        namespace: namespace.to_owned(),
        key_id: key.key_id(),
        algorithm: key.algorithm().to_string(),
        public_key: key.to_pem(),
        created_at: now(),
        created_by: Some(actor.to_owned()),
        revoked_at: None,
    }
}

/// Registrations and first revocations each append one entry, chained and checkable by the client's code;
/// re-registering or re-revoking appends nothing; namespaces have separate chains.
pub(crate) async fn key_log_records_every_key_change(db: TestDb) {
    let store = db.store().await;
    let (first, second) = (
        key_record("com.example", "token:a"),
        key_record("com.example", "token:a"),
    );
    store.insert_signing_key(&first).await.unwrap();
    store.insert_signing_key(&second).await.unwrap();
    assert!(store.insert_signing_key(&first).await.is_err());
    let revoked = store
        .revoke_signing_key("com.example", &first.key_id, Some("token:b"))
        .await
        .unwrap()
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    // Revoking again returns the key as stored and logs nothing.
    let again = store
        .revoke_signing_key("com.example", &first.key_id, Some("token:b"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at);
    assert!(
        store
            .revoke_signing_key("com.example", "00", None)
            .await
            .unwrap()
            .is_none()
    );
    store
        .insert_signing_key(&key_record("org.other", "token:c"))
        .await
        .unwrap();

    let log = store.key_log("com.example").await.unwrap();
    let actions: Vec<(u64, KeyAction, &str, Option<&str>)> = log
        .iter()
        .map(|e| (e.seq, e.action, e.key_id.as_str(), e.actor.as_deref()))
        .collect();
    assert_eq!(
        actions,
        vec![
            (
                1,
                KeyAction::Register,
                first.key_id.as_str(),
                Some("token:a")
            ),
            (
                2,
                KeyAction::Register,
                second.key_id.as_str(),
                Some("token:a")
            ),
            (3, KeyAction::Revoke, first.key_id.as_str(), Some("token:b")),
        ]
    );
    let checked = check_log("com.example", &log, None).unwrap();
    assert_eq!(checked.active.len(), 1);
    assert_eq!(checked.active[0].public_key.key_id(), second.key_id);
    let other = store.key_log("org.other").await.unwrap();
    assert_eq!(other.len(), 1);
    check_log("org.other", &other, None).unwrap();
    assert!(store.key_log("net.none").await.unwrap().is_empty());
}

/// Keys registered before the log existed get their log when the store migrates: registrations in order,
/// then revocations; running it again (another replica starting) changes nothing.
pub(crate) async fn key_log_backfills_keys_that_predate_it(db: TestDb) {
    let store = db.store().await;
    let (first, second) = (
        key_record("com.example", "token:a"),
        key_record("com.example", "token:a"),
    );
    store.insert_signing_key(&first).await.unwrap();
    store.insert_signing_key(&second).await.unwrap();
    store
        .revoke_signing_key("com.example", &first.key_id, None)
        .await
        .unwrap();
    forget_the_log(&db).await;
    assert!(store.key_log("com.example").await.unwrap().is_empty());

    store.migrate().await.unwrap();
    let log = store.key_log("com.example").await.unwrap();
    let actions: Vec<(KeyAction, &str)> =
        log.iter().map(|e| (e.action, e.key_id.as_str())).collect();
    assert_eq!(
        actions,
        vec![
            (KeyAction::Register, first.key_id.as_str()),
            (KeyAction::Register, second.key_id.as_str()),
            (KeyAction::Revoke, first.key_id.as_str()),
        ]
    );
    let head = check_log("com.example", &log, None).unwrap().head;
    let replica = Store::connect(&db.config()).await.unwrap();
    replica.migrate().await.unwrap();
    let again = replica.key_log("com.example").await.unwrap();
    assert_eq!(again, log);
    assert_eq!(
        check_log("com.example", &again, head.as_ref())
            .unwrap()
            .head,
        head
    );
}

/// Empties the log tables, as a database from before the log looks.
async fn forget_the_log(db: &TestDb) {
    for sql in ["delete from key_log", "delete from key_log_heads"] {
        run_sql(db, sql).await;
    }
}
