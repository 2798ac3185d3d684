//! Signed provenance at publish: key registration, key-based and keyless (throwaway Sigstore PKI)
//! bundles, the namespace policy, the registry's policy modes, and what is stored and shown.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use registry_provenance::testing::TestPki;
use registry_provenance::{KeyAlgorithm, SigningKey, TrustRoots, sign_with_key};
use registry_server::auth::Action;
use registry_server::config::ServerConfig;
use registry_server::provenance::{ProvenanceConfig, ProvenancePolicy};
use registry_tests::app::{TestApp, TestResponse, encode, manifest};
use registry_tests::db::TestDb;
use serde_json::{Value, json};

registry_tests::on_both_engines!(
    key_registration_needs_the_whole_namespace,
    key_signed_publish_is_stored_and_shown,
    bad_key_bundles_are_refused_and_nothing_is_stored,
    revoked_keys_verify_nothing,
    keyless_bundles_follow_the_github_owner,
    policy_require_and_off,
);

const NAME: &str = "com.example/weather";

fn keys_uri(namespace: &str) -> String {
    format!("/v0.1/x/dev.mcp-reg/namespaces/{namespace}/keys")
}

fn provenance_uri(name: &str, version: &str) -> String {
    format!(
        "/v0.1/x/dev.mcp-reg/servers/{}/versions/{version}/provenance",
        encode(name)
    )
}

async fn register(app: &TestApp, token: &str, namespace: &str, key: &SigningKey) -> TestResponse {
    let body = json!({ "publicKey": key.public_key().to_pem() });
    app.request(
        Method::POST,
        &keys_uri(namespace),
        Some(token),
        Some(serde_json::to_vec(&body).unwrap()),
    )
    .await
}

async fn publish_signed(
    app: &TestApp,
    token: &str,
    server: &Value,
    bundle: &Value,
) -> TestResponse {
    let body = json!({ "server": server, "bundle": bundle });
    app.publish(token, &body).await
}

/// The 422 of a refused bundle: its rule and message.
fn bundle_refusal(response: &TestResponse) -> (String, String) {
    let problem = response.problem(StatusCode::UNPROCESSABLE_ENTITY);
    let error = &problem["errors"][0];
    assert_eq!(error["pointer"], "/bundle", "{problem}");
    (
        error["rule"].as_str().unwrap_or_default().to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn assert_not_stored(app: &TestApp, name: &str, version: &str) {
    let response = app
        .get(&format!(
            "/v0.1/servers/{}/versions/{version}",
            encode(name)
        ))
        .await;
    assert_eq!(
        response.status,
        StatusCode::NOT_FOUND,
        "{}",
        response.text()
    );
}

async fn key_registration_needs_the_whole_namespace(db: TestDb) {
    let app = TestApp::new(db).await;
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    // A token for one name may not manage the namespace's keys.
    let narrow = app.token(&[(Action::Publish, NAME)]).await;
    let response = register(&app, &narrow, "com.example", &key).await;
    response.problem(StatusCode::FORBIDDEN);
    let response = app
        .request(
            Method::POST,
            &keys_uri("com.example"),
            None,
            Some(b"{}".to_vec()),
        )
        .await;
    response.problem(StatusCode::UNAUTHORIZED);

    let token = app.token(&[(Action::Publish, "com.example/*")]).await;
    let registered = register(&app, &token, "com.example", &key).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text()
    );
    let registered = registered.json();
    assert_eq!(registered["keyId"], key.public_key().key_id());
    assert_eq!(registered["algorithm"], "ed25519");
    // Twice is a conflict; garbage is a 422 at /publicKey; a bad namespace is a 400.
    register(&app, &token, "com.example", &key)
        .await
        .problem(StatusCode::CONFLICT);
    let garbage = app
        .request(
            Method::POST,
            &keys_uri("com.example"),
            Some(&token),
            Some(
                br#"{"publicKey":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}"#
                    .to_vec(),
            ),
        )
        .await;
    let problem = garbage.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["pointer"], "/publicKey");
    app.get(&keys_uri("not%20a%20namespace"))
        .await
        .problem(StatusCode::BAD_REQUEST);

    let listed = app.get(&keys_uri("com.example")).await.ok();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
    assert_eq!(listed["keys"][0]["keyId"], key.public_key().key_id());
    let other = app.get(&keys_uri("org.other")).await.ok();
    assert_eq!(other["keys"], json!([]));

    // Key management is audited.
    let auditor = app.token(&[(Action::Edit, "*")]).await;
    let audit = app
        .request(
            Method::GET,
            "/v0.1/x/dev.mcp-reg/audit",
            Some(&auditor),
            None,
        )
        .await
        .ok();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"key-register"), "{actions:?}");
}

async fn key_signed_publish_is_stored_and_shown(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "com.example/*")]).await;
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let key = SigningKey::generate(algorithm).unwrap();
        let registered = register(&app, &token, "com.example", &key).await;
        assert_eq!(
            registered.status,
            StatusCode::CREATED,
            "{}",
            registered.text()
        );
        let version = match algorithm {
            KeyAlgorithm::Ed25519 => "1.0.0",
            KeyAlgorithm::EcdsaP256 => "1.1.0",
        };
        let server = manifest(NAME, version);
        let bundle = sign_with_key(&server, NAME, version, &key).unwrap();
        let published = publish_signed(&app, &token, &server, &bundle).await.ok();
        let meta = &published["_meta"]["dev.mcp-reg/provenance"];
        assert_eq!(meta["status"], "verified", "{published}");
        assert_eq!(meta["mode"], "key");
        assert_eq!(meta["keyId"], key.public_key().key_id());
        let digest = registry_provenance::manifest_digest(&server).unwrap();
        assert_eq!(meta["digest"], digest.to_string());

        // The version detail and lists show it; the provenance endpoint serves the bundle as sent.
        let detail = app
            .get(&format!(
                "/v0.1/servers/{}/versions/{version}",
                encode(NAME)
            ))
            .await
            .ok();
        assert_eq!(
            detail["_meta"]["dev.mcp-reg/provenance"]["status"],
            "verified"
        );
        let provenance = app.get(&provenance_uri(NAME, version)).await.ok();
        assert_eq!(provenance["status"], "verified");
        assert_eq!(provenance["bundle"], bundle);
        assert_eq!(provenance["summary"]["keyId"], key.public_key().key_id());
    }
    // An unsigned version says so everywhere.
    let unsigned = app.publish(&token, &manifest(NAME, "1.2.0")).await.ok();
    assert_eq!(
        unsigned["_meta"]["dev.mcp-reg/provenance"],
        json!({"status": "unsigned"})
    );
    let provenance = app.get(&provenance_uri(NAME, "1.2.0")).await.ok();
    assert_eq!(
        provenance,
        json!({"name": NAME, "version": "1.2.0", "status": "unsigned"})
    );
    let list = app.get("/v0.1/servers?version=latest").await.ok();
    assert_eq!(
        list["servers"][0]["_meta"]["dev.mcp-reg/provenance"]["status"],
        "unsigned"
    );
    app.get(&provenance_uri(NAME, "9.9.9"))
        .await
        .problem(StatusCode::NOT_FOUND);
}

async fn bad_key_bundles_are_refused_and_nothing_is_stored(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let stranger = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    register(&app, &token, "com.example", &key).await;
    register(&app, &token, "org.other", &stranger).await;

    // A key registered for another namespace.
    let server = manifest(NAME, "1.0.0");
    let bundle = sign_with_key(&server, NAME, "1.0.0", &stranger).unwrap();
    let (rule, message) = bundle_refusal(&publish_signed(&app, &token, &server, &bundle).await);
    assert!(rule.starts_with("provenance-"), "{rule}");
    assert!(message.contains("com.example"), "{message}");
    assert_not_stored(&app, NAME, "1.0.0").await;

    // The manifest changed after signing.
    let bundle = sign_with_key(&server, NAME, "1.0.0", &key).unwrap();
    let mut changed = server.clone();
    changed["description"] = json!("changed after signing");
    let (_, message) = bundle_refusal(&publish_signed(&app, &token, &changed, &bundle).await);
    assert!(message.contains("digest"), "{message}");
    assert_not_stored(&app, NAME, "1.0.0").await;

    // A bundle for another version of the same server.
    let other = manifest(NAME, "2.0.0");
    let bundle = sign_with_key(&other, NAME, "2.0.0", &key).unwrap();
    bundle_refusal(&publish_signed(&app, &token, &server, &bundle).await);

    // Not a bundle at all.
    let (rule, _) = bundle_refusal(&publish_signed(&app, &token, &server, &json!({"x": 1})).await);
    assert!(rule.starts_with("provenance-"), "{rule}");
    assert_not_stored(&app, NAME, "1.0.0").await;

    // The same manifest with the right bundle goes through.
    let bundle = sign_with_key(&server, NAME, "1.0.0", &key).unwrap();
    publish_signed(&app, &token, &server, &bundle).await.ok();
}

async fn revoked_keys_verify_nothing(db: TestDb) {
    let app = TestApp::new(db).await;
    let token = app.token(&[(Action::Publish, "com.example/*")]).await;
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    register(&app, &token, "com.example", &key).await;
    let key_id = key.public_key().key_id();
    let revoked = app
        .request(
            Method::DELETE,
            &format!("{}/{key_id}", keys_uri("com.example")),
            Some(&token),
            None,
        )
        .await
        .ok();
    assert!(revoked["revokedAt"].is_string(), "{revoked}");
    app.request(
        Method::DELETE,
        &format!("{}/{}", keys_uri("com.example"), "0".repeat(64)),
        Some(&token),
        None,
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    // Still listed, marked revoked; a revoked key cannot be registered again.
    let listed = app.get(&keys_uri("com.example")).await.ok();
    assert!(listed["keys"][0]["revokedAt"].is_string());
    register(&app, &token, "com.example", &key)
        .await
        .problem(StatusCode::CONFLICT);

    let server = manifest(NAME, "1.0.0");
    let bundle = sign_with_key(&server, NAME, "1.0.0", &key).unwrap();
    bundle_refusal(&publish_signed(&app, &token, &server, &bundle).await);
    assert_not_stored(&app, NAME, "1.0.0").await;
}

/// A registry that trusts the throwaway PKI besides the public-good root. The PKI logs its entries at a
/// fixed date, so the replay window is off unless a test sets one.
fn trusting(pki: &TestPki, policy: ProvenancePolicy, max_age_secs: Option<u64>) -> ServerConfig {
    let trust = TrustRoots::public_good()
        .with_custom(&pki.trusted_root_json())
        .unwrap();
    ServerConfig {
        provenance: ProvenanceConfig {
            policy,
            trust: Arc::new(trust),
            max_age: max_age_secs.map(std::time::Duration::from_secs),
        },
        ..ServerConfig::default()
    }
}

async fn app_trusting(db: TestDb, pki: &TestPki, policy: ProvenancePolicy) -> TestApp {
    TestApp::with_config(db, trusting(pki, policy, None)).await
}

async fn keyless_bundles_follow_the_github_owner(db: TestDb) {
    let pki = TestPki::new();
    let app = app_trusting(db, &pki, ProvenancePolicy::VerifyIfPresent).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let name = "io.github.alice/weather";

    // Signed by a workflow of another owner: refused, naming both.
    let server = manifest(name, "1.0.0");
    let bob = pki
        .keyless(&server, name, "1.0.0")
        .owner("bob")
        .repository("bob/weather")
        .build();
    let (_, message) = bundle_refusal(&publish_signed(&app, &token, &server, &bob).await);
    assert!(
        message.contains("bob") && message.contains("alice"),
        "{message}"
    );
    assert_not_stored(&app, name, "1.0.0").await;

    // Signed by alice's workflow: stored with the certificate's claims.
    let alice = pki
        .keyless(&server, name, "1.0.0")
        .owner("alice")
        .repository("alice/weather")
        .commit("7d2900e1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7")
        .build();
    let published = publish_signed(&app, &token, &server, &alice).await.ok();
    let meta = &published["_meta"]["dev.mcp-reg/provenance"];
    assert_eq!(meta["status"], "verified", "{published}");
    assert_eq!(meta["mode"], "keyless");
    assert_eq!(meta["commit"], "7d2900e1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7");
    assert!(
        meta["repository"]
            .as_str()
            .unwrap_or_default()
            .contains("alice/weather"),
        "{meta}"
    );
    assert!(meta["logIndex"].is_number(), "{meta}");
    assert!(meta["signedAt"].is_string(), "{meta}");

    // A valid bundle logged two hours ago cannot be replayed (max age: one hour).
    let late = manifest(name, "1.0.1");
    let two_hours_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 7200;
    let old = pki
        .keyless(&late, name, "1.0.1")
        .owner("alice")
        .repository("alice/weather")
        .integrated_time(two_hours_ago)
        .validity(two_hours_ago - 60, two_hours_ago + 600)
        .build();
    let windowed = app
        .replica_with(trusting(
            &pki,
            ProvenancePolicy::VerifyIfPresent,
            Some(3600),
        ))
        .await;
    let (rule, _) = bundle_refusal(&publish_signed(&windowed, &token, &late, &old).await);
    assert_eq!(rule, "provenance-too-old");
    assert_not_stored(&app, name, "1.0.1").await;
    // Inside the window it is accepted.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let fresh = pki
        .keyless(&late, name, "1.0.1")
        .owner("alice")
        .integrated_time(now - 5)
        .validity(now - 60, now + 600)
        .build();
    publish_signed(&windowed, &token, &late, &fresh).await.ok();

    // A keyless bundle for a domain namespace: only registered keys sign there.
    let domain = manifest(NAME, "1.0.0");
    let bundle = pki.keyless(&domain, NAME, "1.0.0").owner("alice").build();
    bundle_refusal(&publish_signed(&app, &token, &domain, &bundle).await);

    // A registry that does not trust the throwaway PKI refuses the same kind of bundle.
    let next = manifest(name, "1.1.0");
    let bundle = pki.keyless(&next, name, "1.1.0").owner("alice").build();
    let strict = app.replica_with(ServerConfig::default()).await;
    bundle_refusal(&publish_signed(&strict, &token, &next, &bundle).await);
}

async fn policy_require_and_off(db: TestDb) {
    let pki = TestPki::new();
    let app = app_trusting(db, &pki, ProvenancePolicy::Require).await;
    let token = app.token(&[(Action::Publish, "*")]).await;
    let server = manifest(NAME, "1.0.0");
    let (rule, _) = bundle_refusal(&app.publish(&token, &server).await);
    assert_eq!(rule, "provenance-required");
    assert_not_stored(&app, NAME, "1.0.0").await;

    // Off: a bundle is ignored (even a broken one) and the version is unsigned.
    let off = app
        .replica_with(ServerConfig {
            provenance: ProvenanceConfig {
                policy: ProvenancePolicy::Off,
                ..ProvenanceConfig::default()
            },
            ..ServerConfig::default()
        })
        .await;
    let published = publish_signed(&off, &token, &server, &json!({"broken": true}))
        .await
        .ok();
    assert_eq!(
        published["_meta"]["dev.mcp-reg/provenance"]["status"],
        "unsigned"
    );
}
