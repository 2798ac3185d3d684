use registry_provenance::{Mode, PUBLISH_PREDICATE, SLSA_PREDICATE, manifest_digest};

use crate::common::{GITHUB_NAME, VERSION, check, manifest, pki};

#[test]
fn keyless_bundle_from_the_test_pki_is_accepted_with_its_github_facts() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .repository("alice/weather")
        .commit("7d2900e1c3a4b5d6e7f8091a2b3c4d5e6f708192")
        .workflow_ref("alice/weather/.github/workflows/release.yml@refs/tags/v1.0.0")
        .log_index(9)
        .build();

    let summary = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect("bundle verifies");

    let digest = manifest_digest(&manifest).expect("manifest canonicalizes");
    assert_eq!(summary.mode, Mode::Keyless);
    assert_eq!(summary.digest, digest.to_string());
    assert_eq!(summary.predicate_type, SLSA_PREDICATE);
    assert_eq!(
        summary.issuer.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    assert_eq!(
        summary.identity,
        "https://github.com/alice/weather/.github/workflows/release.yml@refs/tags/v1.0.0"
    );
    assert_eq!(
        summary.repository.as_deref(),
        Some("https://github.com/alice/weather")
    );
    assert_eq!(
        summary.commit.as_deref(),
        Some("7d2900e1c3a4b5d6e7f8091a2b3c4d5e6f708192")
    );
    assert_eq!(summary.workflow.as_deref(), Some(summary.identity.as_str()));
    assert_eq!(summary.git_ref.as_deref(), Some("refs/tags/v1.0.0"));
    assert_eq!(summary.runner.as_deref(), Some("github-hosted"));
    assert_eq!(
        summary.run_url.as_deref(),
        Some("https://github.com/alice/weather/actions/runs/1234567890/attempts/1")
    );
    assert_eq!(summary.log_index, Some(9));
    assert_eq!(summary.log_id, Some(pki.rekor_log_id()));
    assert_eq!(summary.signed_at.as_deref(), Some("2025-06-15T15:06:40Z"));
    assert_eq!(summary.key_id, None);
}

#[test]
fn owner_match_is_case_insensitive_and_file_named_subjects_are_accepted() {
    let (pki, trust) = pki();
    let manifest = manifest(GITHUB_NAME);
    // attest-build-provenance names the subject after the file it hashed.
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .repository("Alice/weather")
        .subject_name("server.canonical.json")
        .predicate_type(PUBLISH_PREDICATE)
        .build();

    let summary = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect("bundle verifies");
    assert_eq!(summary.predicate_type, PUBLISH_PREDICATE);
    assert_eq!(
        summary.repository.as_deref(),
        Some("https://github.com/Alice/weather")
    );
}

#[test]
fn a_custom_root_can_be_added_to_the_public_good_one() {
    let (pki, _) = pki();
    let trust = registry_provenance::TrustRoots::public_good()
        .with_custom(&pki.trusted_root_json())
        .expect("roots merge");
    let merged = trust.counts();
    let public_good = registry_provenance::TrustRoots::public_good().counts();
    assert_eq!(
        merged,
        (public_good.0 + 1, public_good.1 + 1, public_good.2 + 1)
    );

    let manifest = manifest(GITHUB_NAME);
    let bundle = pki
        .keyless(&manifest, GITHUB_NAME, VERSION)
        .owner("alice")
        .build();
    let summary = check(&manifest, GITHUB_NAME, &bundle, &trust, &[]).expect("bundle verifies");
    assert_eq!(summary.mode, Mode::Keyless);
}
