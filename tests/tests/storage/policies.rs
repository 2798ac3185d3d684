//! Operators' compatibility policy overrides, per namespace or per server.

use registry_server::db::{CompatPolicy, PolicyScope};
use registry_tests::db::TestDb;

pub(crate) async fn compat_policy_overrides(db: TestDb) {
    let store = db.store().await;
    let policy_for = |name: &'static str| {
        let store = store.clone();
        async move { store.compat_policy_for(name).await.unwrap() }
    };
    assert!(store.compat_policies().await.unwrap().is_empty());
    assert_eq!(policy_for("io.github.alice/weather").await, None);

    let namespace = PolicyScope::Namespace("io.github.alice".into());
    let server = PolicyScope::Server("io.github.alice/strict".into());
    store
        .set_compat_policy(&namespace, Some(CompatPolicy::Advise), Some("token:ops"))
        .await
        .unwrap();
    store
        .set_compat_policy(&server, Some(CompatPolicy::Enforce), None)
        .await
        .unwrap();
    // A server's own override wins; its namespace's applies otherwise; namespaces match exactly.
    assert_eq!(
        policy_for("io.github.alice/weather").await,
        Some(CompatPolicy::Advise)
    );
    assert_eq!(
        policy_for("io.github.alice/strict").await,
        Some(CompatPolicy::Enforce)
    );
    assert_eq!(
        policy_for("io.github.alice/*").await,
        Some(CompatPolicy::Advise)
    );
    assert_eq!(policy_for("io.github.alicex/weather").await, None);
    assert_eq!(policy_for("io.github/alice").await, None);
    assert_eq!(
        store.compat_policies().await.unwrap(),
        [
            (namespace.clone(), CompatPolicy::Advise),
            (server.clone(), CompatPolicy::Enforce)
        ]
    );

    // Setting again replaces; `None` removes (twice is fine).
    store
        .set_compat_policy(&namespace, Some(CompatPolicy::Enforce), Some("token:ops2"))
        .await
        .unwrap();
    assert_eq!(
        policy_for("io.github.alice/weather").await,
        Some(CompatPolicy::Enforce)
    );
    for _ in 0..2 {
        store
            .set_compat_policy(&namespace, None, Some("token:ops"))
            .await
            .unwrap();
    }
    assert_eq!(policy_for("io.github.alice/weather").await, None);
    assert_eq!(
        policy_for("io.github.alice/strict").await,
        Some(CompatPolicy::Enforce)
    );
    assert_eq!(
        store.compat_policies().await.unwrap(),
        [(server, CompatPolicy::Enforce)]
    );

    for policy in [CompatPolicy::Enforce, CompatPolicy::Advise] {
        assert_eq!(policy.as_str().parse::<CompatPolicy>().ok(), Some(policy));
    }
    assert!("strict".parse::<CompatPolicy>().is_err());
}
