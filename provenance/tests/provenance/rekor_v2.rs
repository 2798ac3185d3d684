//! Rekor v2 (rekor-tiles) bundles: a DSSE envelope logged as a `hashedrekord` 0.0.2 entry, proven by an inclusion
//! proof against a signed checkpoint, with the signing time from an RFC 3161 timestamp instead of a SET. The
//! fixtures are real staging bundles made by sigstore-python (see tests/fixtures/README.md).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use registry_provenance::{SubjectDigest, TrustRoots, VerifyError, verify_keyless_bundle};
use serde_json::Value;

fn bundle(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn staging() -> TrustRoots {
    TrustRoots::custom_only([include_str!("../fixtures/staging-trusted_root.json")])
        .expect("staging root loads")
}

fn sha256(hex_digest: &str) -> SubjectDigest {
    SubjectDigest::Sha256(
        hex::decode(hex_digest)
            .expect("hex")
            .try_into()
            .expect("32 bytes"),
    )
}

const A_TXT: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
const CONDA: &str = "54303491a8418fbed24344b513546182c29b43bf282ceb433af65e2299f9271f";

#[test]
fn a_rekor_v2_dsse_bundle_verifies_with_its_timestamp_as_the_signing_time() {
    let bundle = bundle("staging-rekor-v2-dsse-bundle.json");
    let facts = verify_keyless_bundle(&bundle, &staging(), &sha256(A_TXT)).expect("verifies");

    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    assert!(entry.get("integratedTime").is_none() && entry.get("inclusionPromise").is_none());
    assert_eq!(facts.log_index, 4_026_478);
    // The time is the RFC 3161 token's (genTime), which lies inside the certificate's ten minutes.
    assert_eq!(facts.signed_at, "2026-05-13T19:23:33Z");
    assert_eq!(facts.integrated_time, 1_778_700_213);
    assert!(!facts.identity.is_empty());
}

#[test]
fn another_rekor_v2_bundle_verifies_by_its_subject() {
    let facts = verify_keyless_bundle(
        &bundle("staging-rekor-v2-conda-bundle.json"),
        &staging(),
        &sha256(CONDA),
    )
    .expect("verifies");
    assert_eq!(facts.log_index, 4_197_416);
}

#[test]
fn a_rekor_v2_bundle_without_its_timestamp_is_refused() {
    let mut bundle = bundle("staging-rekor-v2-dsse-bundle.json");
    bundle["verificationMaterial"]
        .as_object_mut()
        .expect("object")
        .remove("timestampVerificationData");
    let err = verify_keyless_bundle(&bundle, &staging(), &sha256(A_TXT)).expect_err("no time");
    assert!(
        !matches!(err, VerifyError::DigestMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn a_rekor_v2_bundle_with_a_broken_inclusion_proof_is_refused() {
    let mut bundle = bundle("staging-rekor-v2-dsse-bundle.json");
    // Another sibling hash on the path: the computed root no longer matches the signed checkpoint.
    let sibling =
        &mut bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0];
    let mut bytes = BASE64
        .decode(sibling.as_str().expect("base64"))
        .expect("base64");
    bytes[0] ^= 1;
    *sibling = Value::String(BASE64.encode(bytes));
    let err = verify_keyless_bundle(&bundle, &staging(), &sha256(A_TXT)).expect_err("bad proof");
    assert!(
        matches!(
            err,
            VerifyError::InclusionProofInvalid(_) | VerifyError::MalformedBundle(_)
        ),
        "{err:?}"
    );
}

#[test]
fn a_rekor_v2_bundle_is_refused_for_another_digest_and_under_the_public_good_root_alone() {
    let bundle = bundle("staging-rekor-v2-dsse-bundle.json");
    let err = verify_keyless_bundle(&bundle, &staging(), &sha256(CONDA)).expect_err("digest");
    assert_eq!(err.reason_code(), "digest-mismatch", "{err:?}");
    let err = verify_keyless_bundle(&bundle, &TrustRoots::public_good(), &sha256(A_TXT))
        .expect_err("staging is not trusted by the shipped root");
    assert!(
        !matches!(err, VerifyError::DigestMismatch { .. }),
        "{err:?}"
    );
}
