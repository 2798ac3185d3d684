use registry_provenance::{
    KeyAlgorithm, Mode, PUBLISH_PREDICATE, PublicKey, RegisteredKey, SigningKey, TrustRoots,
    manifest_digest, sign_with_key,
};

use crate::common::{DOMAIN_NAME, VERSION, check, manifest};

fn round_trip(algorithm: KeyAlgorithm) {
    let key = SigningKey::generate(algorithm).expect("key generates");
    let manifest = manifest(DOMAIN_NAME);
    let bundle = sign_with_key(&manifest, DOMAIN_NAME, VERSION, &key).expect("signs");
    assert_eq!(bundle["mediaType"], registry_provenance::BUNDLE_MEDIA_TYPE);
    assert_eq!(
        bundle["verificationMaterial"]["publicKey"]["hint"],
        key.public_key().key_id()
    );
    assert_eq!(
        bundle["verificationMaterial"]["tlogEntries"],
        serde_json::json!([])
    );

    let keys = [RegisteredKey {
        namespace: "com.example".into(),
        public_key: key.public_key(),
    }];
    let summary = check(
        &manifest,
        DOMAIN_NAME,
        &bundle,
        &TrustRoots::public_good(),
        &keys,
    )
    .expect("bundle verifies");
    let key_id = key.public_key().key_id();
    assert_eq!(summary.mode, Mode::Key);
    assert_eq!(summary.identity, format!("key:{key_id}"));
    assert_eq!(summary.key_id, Some(key_id));
    assert_eq!(summary.predicate_type, PUBLISH_PREDICATE);
    assert_eq!(
        summary.digest,
        manifest_digest(&manifest)
            .expect("canonicalizes")
            .to_string()
    );
    assert_eq!(summary.signed_at, None);
    assert_eq!(summary.log_index, None);

    // The wire form API clients see.
    let wire = serde_json::to_value(&summary).expect("serializes");
    assert_eq!(wire["mode"], "key");
    assert_eq!(wire["predicateType"], PUBLISH_PREDICATE);
    assert_eq!(wire["signedAt"], serde_json::Value::Null);
    assert_eq!(wire["keyId"], key.public_key().key_id());
    let back: registry_provenance::Summary = serde_json::from_value(wire).expect("deserializes");
    assert_eq!(back, summary);
}

#[test]
fn ed25519_key_round_trip() {
    round_trip(KeyAlgorithm::Ed25519);
}

#[test]
fn ecdsa_p256_key_round_trip() {
    round_trip(KeyAlgorithm::EcdsaP256);
}

#[test]
fn pem_round_trips_keep_the_key() {
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        let key = SigningKey::generate(algorithm).expect("key generates");
        let private_pem = key.to_pem();
        assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let reloaded = SigningKey::from_pem(&private_pem).expect("private PEM parses");
        assert_eq!(reloaded.algorithm(), algorithm);
        assert_eq!(reloaded.public_key(), key.public_key());
        assert_eq!(reloaded.to_pem(), private_pem);

        let public_pem = key.public_key().to_pem();
        assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let public = PublicKey::from_pem(&public_pem).expect("public PEM parses");
        assert_eq!(public, key.public_key());
        assert_eq!(public.algorithm(), algorithm);
        assert_eq!(public.key_id().len(), 64);

        // A signature by the reloaded key verifies with the reloaded public key, and not over other bytes.
        let signature = reloaded.sign(b"message").expect("signs");
        public.verify(b"message", &signature).expect("verifies");
        assert!(public.verify(b"massage", &signature).is_err());
    }
}

#[test]
fn algorithms_parse_and_print() {
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
        assert_eq!(
            algorithm
                .to_string()
                .parse::<KeyAlgorithm>()
                .expect("parses"),
            algorithm
        );
    }
    assert_eq!(KeyAlgorithm::EcdsaP256.to_string(), "ecdsa-p256");
    assert!("rsa".parse::<KeyAlgorithm>().is_err());
}

#[test]
fn openssl_style_public_key_pem_is_read() {
    // `openssl pkey -pubout` output for the RFC 8032 test key 1 (secret 9d61b19d…7f60).
    let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";
    let key = PublicKey::from_pem(pem).expect("parses");
    assert_eq!(key.algorithm(), KeyAlgorithm::Ed25519);
    assert_eq!(key.to_pem(), pem);
}

/// Bundles from other tools name the key their own way: sigstore-go and cosign write the standard base64 of
/// the key's SHA-256, some write nothing we know. Both verify against the namespace's keys; a hint that
/// names a key the namespace does not have, with a signature no key of it checks, is still refused.
#[test]
fn key_hints_in_sigstore_go_form_or_unknown_forms_verify() {
    use base64::Engine as _;
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key generates");
    let other = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key generates");
    let manifest = manifest(DOMAIN_NAME);
    let keys = [
        RegisteredKey {
            namespace: "com.example".into(),
            public_key: other.public_key(),
        },
        RegisteredKey {
            namespace: "com.example".into(),
            public_key: key.public_key(),
        },
    ];
    let digest = hex::decode(key.public_key().key_id()).expect("hex");
    let go_form = base64::engine::general_purpose::STANDARD.encode(digest);
    for hint in [go_form.as_str(), "my-release-key", ""] {
        let mut bundle = sign_with_key(&manifest, DOMAIN_NAME, VERSION, &key).expect("signs");
        bundle["verificationMaterial"]["publicKey"]["hint"] = hint.into();
        let summary = check(
            &manifest,
            DOMAIN_NAME,
            &bundle,
            &TrustRoots::public_good(),
            &keys,
        )
        .unwrap_or_else(|err| panic!("hint {hint:?}: {err}"));
        assert_eq!(summary.key_id, Some(key.public_key().key_id()), "{hint}");
    }
    // Signed by a key the namespace never registered: no hint form helps.
    let stranger = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key generates");
    let mut bundle = sign_with_key(&manifest, DOMAIN_NAME, VERSION, &stranger).expect("signs");
    bundle["verificationMaterial"]["publicKey"]["hint"] = go_form.into();
    let err = check(
        &manifest,
        DOMAIN_NAME,
        &bundle,
        &TrustRoots::public_good(),
        &keys,
    )
    .expect_err("a stranger's signature is refused");
    assert!(
        err.to_string().contains("signature") || err.to_string().contains("key"),
        "{err}"
    );
}
