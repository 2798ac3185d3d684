use registry_provenance::{
    KeyAlgorithm, PUBLISH_PREDICATE, RegisteredKey, SigningKey, TrustRoots, VerifyError,
    manifest_digest, sign_statement, sign_with_key, statement,
};
use serde_json::{Value, json};

use crate::common::{DOMAIN_NAME, GITHUB_NAME, VERSION, check, manifest, pki};

fn registered(namespace: &str, key: &SigningKey) -> Vec<RegisteredKey> {
    vec![RegisteredKey {
        namespace: namespace.into(),
        public_key: key.public_key(),
    }]
}

fn key_check(bundle: &Value, keys: &[RegisteredKey]) -> VerifyError {
    check(
        &manifest(DOMAIN_NAME),
        DOMAIN_NAME,
        bundle,
        &TrustRoots::public_good(),
        keys,
    )
    .expect_err("bundle must be rejected")
}

fn digest_hex(manifest: &Value) -> String {
    manifest_digest(manifest).expect("canonicalizes").to_hex()
}

#[test]
fn wrong_subject_digest_is_rejected_naming_both_digests() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let other = "ab".repeat(32);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .subject_digest(&other)
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("digest differs");
    assert_eq!(
        err,
        VerifyError::DigestMismatch {
            manifest: format!("sha256:{}", digest_hex(&manifest)),
            attested: Some(format!("sha256:{other}")),
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "manifest digest sha256:{} does not match the attested subject sha256:{other}",
            digest_hex(&manifest)
        )
    );
    assert_eq!(err.reason_code(), "digest-mismatch");
}

#[test]
fn manifest_changed_after_signing_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let signed = manifest(DOMAIN_NAME);
    let bundle = sign_with_key(&signed, DOMAIN_NAME, VERSION, &key).expect("signs");
    let mut changed = signed.clone();
    changed["description"] = json!("Weather forecasts, now with malware");

    let err = check(
        &changed,
        DOMAIN_NAME,
        &bundle,
        &TrustRoots::public_good(),
        &registered("com.example", &key),
    )
    .expect_err("manifest changed");
    assert_eq!(
        err,
        VerifyError::DigestMismatch {
            manifest: format!("sha256:{}", digest_hex(&changed)),
            attested: Some(format!("sha256:{}", digest_hex(&signed))),
        }
    );

    // Also for keyless bundles, and a change inside `_meta` counts too.
    let (pki, trust) = pki();
    let signed = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&signed, GITHUB_NAME, VERSION)
        .owner("alice")
        .build();
    let mut changed = signed.clone();
    changed["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["build"] = json!(8);
    let err = check(&changed, GITHUB_NAME, &bundle, &trust, &[]).expect_err("manifest changed");
    assert_eq!(err.reason_code(), "digest-mismatch");
}

#[test]
fn identity_of_another_owner_is_rejected_naming_found_and_expected() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("bob")
        .repository("bob/weather")
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("wrong owner");
    assert_eq!(
        err.to_string(),
        "signed by https://github.com/bob/weather/.github/workflows/release.yml@refs/tags/v1.0.0 (owner bob); \
         io.github.alice/* needs a GitHub Actions identity of owner alice"
    );
    assert_eq!(err.reason_code(), "identity-mismatch");
}

#[test]
fn identity_from_another_issuer_is_rejected() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .issuer("https://accounts.google.com")
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("wrong issuer");
    assert!(
        matches!(&err, VerifyError::IssuerMismatch { issuer: Some(issuer), owner, .. }
            if issuer == "https://accounts.google.com" && owner == "alice"),
        "{err:?}"
    );
}

#[test]
fn certificate_outside_its_validity_at_log_time_is_rejected() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .expired_at_log_time()
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("expired");
    assert_eq!(
        err,
        VerifyError::CertificateNotValidAtLogTime(
            "logged at 2025-06-15T15:06:40Z, but the certificate is valid from 2025-06-15T13:56:40Z to 2025-06-15T14:06:40Z"
                .into()
        )
    );
    assert_eq!(err.reason_code(), "certificate-not-valid-at-log-time");
}

#[test]
fn tampered_inclusion_proof_is_rejected() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .tamper_inclusion_proof()
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("tampered");
    assert!(
        matches!(err, VerifyError::InclusionProofInvalid(_)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("inclusion proof does not match the checkpoint")
    );
}

#[test]
fn tampered_checkpoint_is_rejected() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .tamper_checkpoint()
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("tampered");
    assert!(matches!(err, VerifyError::CheckpointInvalid(_)), "{err:?}");
}

#[test]
fn unknown_log_key_is_rejected() {
    let pki = registry_provenance::testing::TestPki::new();
    let trust = TrustRoots::from_json(&pki.trusted_root_json_without_rekor()).expect("loads");
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("unknown log");
    assert!(matches!(err, VerifyError::UnknownLogKey { .. }), "{err:?}");
    assert!(err.to_string().contains(&pki.rekor_log_id()), "{err}");
}

#[test]
fn certificate_from_an_untrusted_ca_is_rejected() {
    // Trust the PKI's logs but not its CA: everything but the chain checks out.
    let pki = registry_provenance::testing::TestPki::new();
    let mut root: Value = serde_json::from_str(&pki.trusted_root_json()).expect("JSON");
    root["certificateAuthorities"] = json!([]);
    let trust = TrustRoots::from_json(&root.to_string()).expect("loads");
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("untrusted CA");
    assert!(
        matches!(err, VerifyError::CertificateUntrusted(_)),
        "{err:?}"
    );
    assert_eq!(err.reason_code(), "certificate-untrusted");
}

#[test]
fn key_not_registered_to_the_namespace_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let bundle = sign_with_key(&manifest(DOMAIN_NAME), DOMAIN_NAME, VERSION, &key).expect("signs");
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");

    let err = key_check(&bundle, &registered("com.example", &other));
    let key_id = key.public_key().key_id();
    assert_eq!(
        err.to_string(),
        format!("key {key_id} is not registered for namespace com.example")
    );
    assert_eq!(err.reason_code(), "key-not-registered");
}

#[test]
fn key_registered_for_another_namespace_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let bundle = sign_with_key(&manifest(DOMAIN_NAME), DOMAIN_NAME, VERSION, &key).expect("signs");

    let err = key_check(&bundle, &registered("org.other", &key));
    assert_eq!(
        err,
        VerifyError::KeyNotRegistered {
            key_id: key.public_key().key_id(),
            namespace: "com.example".into(),
            registered_for: Some("org.other".into()),
        }
    );
}

#[test]
fn forged_signature_with_a_registered_key_id_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let mut bundle =
        sign_with_key(&manifest(DOMAIN_NAME), DOMAIN_NAME, VERSION, &key).expect("signs");
    // Re-sign with another key but keep the registered key's hint.
    let impostor = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let forged =
        sign_with_key(&manifest(DOMAIN_NAME), DOMAIN_NAME, VERSION, &impostor).expect("signs");
    bundle["dsseEnvelope"]["signatures"] = forged["dsseEnvelope"]["signatures"].clone();

    let err = key_check(&bundle, &registered("com.example", &key));
    assert_eq!(err.reason_code(), "signature-invalid");
}

#[test]
fn wrong_predicate_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let manifest = manifest(DOMAIN_NAME);
    let digest = manifest_digest(&manifest).expect("canonicalizes");
    let mut statement = statement(DOMAIN_NAME, VERSION, &digest);
    statement["predicateType"] = json!("https://example.com/vuln-scan/v1");
    let bundle = sign_statement(&statement, &key).expect("signs");

    let err = key_check(&bundle, &registered("com.example", &key));
    assert_eq!(
        err,
        VerifyError::UnsupportedPredicate {
            found: "https://example.com/vuln-scan/v1".into()
        }
    );
}

#[test]
fn publish_predicate_for_another_version_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let manifest = manifest(DOMAIN_NAME);
    let digest = manifest_digest(&manifest).expect("canonicalizes");
    let mut statement = statement(DOMAIN_NAME, VERSION, &digest);
    statement["predicate"]["version"] = json!("0.9.0");
    let bundle = sign_statement(&statement, &key).expect("signs");

    let err = key_check(&bundle, &registered("com.example", &key));
    assert_eq!(err.reason_code(), "predicate-mismatch");
    assert_eq!(statement["predicateType"], PUBLISH_PREDICATE);
}

#[test]
fn two_subjects_are_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let manifest = manifest(DOMAIN_NAME);
    let digest = manifest_digest(&manifest).expect("canonicalizes");
    let mut statement = statement(DOMAIN_NAME, VERSION, &digest);
    let first = statement["subject"][0].clone();
    statement["subject"] =
        json!([first, { "name": "evil.json", "digest": { "sha256": "00".repeat(32) } }]);
    let bundle = sign_statement(&statement, &key).expect("signs");

    let err = key_check(&bundle, &registered("com.example", &key));
    assert_eq!(err, VerifyError::SubjectCount { count: 2 });
    assert_eq!(
        err.to_string(),
        "the statement has 2 subjects; exactly one is required"
    );
}

#[test]
fn subject_for_another_server_is_rejected() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .subject_name("io.github.alice/other@1.0.0")
        .build();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("other subject");
    assert_eq!(
        err,
        VerifyError::SubjectName {
            found: "io.github.alice/other@1.0.0".into(),
            expected: "io.github.alice/weather@1.0.0".into(),
        }
    );
}

#[test]
fn keyless_bundle_for_a_domain_namespace_is_rejected() {
    let (pki, trust) = pki();
    let manifest = manifest(DOMAIN_NAME);
    let bundle = pki
        .keyless(&manifest, DOMAIN_NAME, VERSION)
        .owner("alice")
        .build();

    let err = check(&manifest, DOMAIN_NAME, &bundle, &trust, &[]).expect_err("keyless");
    assert_eq!(
        err.to_string(),
        "signed by https://github.com/alice/server/.github/workflows/release.yml@refs/tags/v1.0.0 (keyless); \
         com.example/* needs a bundle signed with a key registered for the namespace"
    );
    assert_eq!(err.reason_code(), "keyless-not-allowed");
}

#[test]
fn key_bundle_for_a_github_namespace_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let manifest = manifest(GITHUB_NAME);
    let bundle = sign_with_key(&manifest, GITHUB_NAME, VERSION, &key).expect("signs");
    let keys = registered("io.github.alice", &key);

    let err = check(
        &manifest,
        GITHUB_NAME,
        &bundle,
        &TrustRoots::public_good(),
        &keys,
    )
    .expect_err("key bundle");
    assert_eq!(err.reason_code(), "key-not-allowed");
}

#[test]
fn tampered_keyless_payload_is_rejected() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let mut bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .build();
    // Swap in the statement of another keyless bundle for the same manifest (valid statement, other signature).
    let other = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .predicate_type(PUBLISH_PREDICATE)
        .build();
    bundle["dsseEnvelope"]["payload"] = other["dsseEnvelope"]["payload"].clone();

    let err = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect_err("tampered");
    assert!(
        matches!(
            err,
            VerifyError::SignatureInvalid(_) | VerifyError::LogEntryMismatch(_)
        ),
        "{err:?}"
    );
}

#[test]
fn manifest_for_another_version_is_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let mut manifest = manifest(DOMAIN_NAME);
    let bundle = sign_with_key(&manifest, DOMAIN_NAME, VERSION, &key).expect("signs");
    manifest["version"] = json!("2.0.0");

    let err = check(
        &manifest,
        DOMAIN_NAME,
        &bundle,
        &TrustRoots::public_good(),
        &registered("com.example", &key),
    )
    .expect_err("version differs");
    assert_eq!(err.reason_code(), "manifest-mismatch");
}
