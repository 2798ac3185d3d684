use registry_provenance::{SubjectDigest, TrustRoots, VerifyError, verify_keyless_bundle};
use serde_json::Value;

/// Real public-good bundle (see tests/fixtures/README.md): subject `a.txt`, sha256 a0cfc712…01bf.
fn fixture() -> Value {
    serde_json::from_str(include_str!("../fixtures/public-good-slsa-bundle.json"))
        .expect("fixture is JSON")
}

fn a_txt_digest() -> SubjectDigest {
    let bytes = hex::decode("a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf")
        .expect("hex");
    SubjectDigest::Sha256(bytes.try_into().expect("32 bytes"))
}

#[test]
fn real_public_good_bundle_verifies_against_the_bundled_root() {
    let facts = verify_keyless_bundle(&fixture(), &TrustRoots::public_good(), &a_txt_digest())
        .expect("public-good bundle verifies");

    assert_eq!(
        facts.identity,
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
    );
    assert!(facts.is_github_actions());
    assert_eq!(
        facts.github_owner().as_deref(),
        Some("sigstore-conformance")
    );
    assert_eq!(
        facts.repository.as_deref(),
        Some("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon")
    );
    assert_eq!(
        facts.commit.as_deref(),
        Some("82a3bfe6dd50fe9c71d6315eae66da15307856cf")
    );
    assert_eq!(facts.git_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(facts.runner.as_deref(), Some("github-hosted"));
    assert_eq!(
        facts.run_url.as_deref(),
        Some(
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/actions/runs/12359147651/attempts/1"
        )
    );
    assert_eq!(facts.log_index, 155_690_850);
    // rekor.sigstore.dev's log ID.
    assert_eq!(
        facts.log_id,
        "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    );
    assert_eq!(facts.integrated_time, 1_734_374_576);
    assert_eq!(facts.signed_at, "2024-12-16T18:42:56Z");
}

#[test]
fn real_bundle_is_rejected_for_another_digest() {
    let err = verify_keyless_bundle(
        &fixture(),
        &TrustRoots::public_good(),
        &SubjectDigest::Sha256([0x11; 32]),
    )
    .expect_err("digest differs");
    assert_eq!(err.reason_code(), "digest-mismatch");
    assert!(
        err.to_string().contains(
            "sha256:1111111111111111111111111111111111111111111111111111111111111111 does not match the attested subject sha256:a0cfc712"
        ),
        "{err}"
    );
}

#[test]
fn real_bundle_is_rejected_without_the_public_good_root() {
    let pki = registry_provenance::testing::TestPki::new();
    let trust = TrustRoots::from_json(&pki.trusted_root_json()).expect("loads");
    let err = verify_keyless_bundle(&fixture(), &trust, &a_txt_digest()).expect_err("untrusted");
    assert!(
        matches!(
            err,
            VerifyError::CertificateUntrusted(_) | VerifyError::UnknownLogKey { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn the_bundled_trust_root_loads() {
    let (rekor, ct, ca) = TrustRoots::public_good().counts();
    assert!(rekor >= 1 && ct >= 1 && ca >= 1);
}
