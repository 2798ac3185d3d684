//! Signed provenance of manifests: an in-toto v1 Statement about the canonical `server.json`, in a DSSE envelope,
//! in a Sigstore bundle v0.3 (`application/vnd.dev.sigstore.bundle.v0.3+json`).
//!
//! The statement has exactly one subject whose `digest.sha256` is the SHA-256 of the RFC 8785 canonical bytes of
//! the manifest as published (`_meta` included; [`manifest_digest`]). Two predicates are accepted:
//! [`SLSA_PREDICATE`] (what GitHub's `actions/attest-build-provenance` emits) and our own [`PUBLISH_PREDICATE`]
//! (`{registry?, name, version}`, what [`sign_with_key`] produces).
//!
//! Two signer modes, chosen by namespace in [`verify`]:
//! - **keyless** (`io.github.<owner>/*`): a Fulcio certificate from a GitHub Actions OIDC token whose source
//!   repository owner is `<owner>`, logged in Rekor;
//! - **key** (every other namespace): a bundle whose `verificationMaterial.publicKey.hint` names an Ed25519 or
//!   ECDSA P-256 key registered for exactly that namespace. Key bundles carry no Rekor entry.
//!
//! # Why `sigstore-verify`, and on ring
//!
//! Keyless bundles are verified with `sigstore-verify` 0.15 (sigstore/sigstore-rust), not the older `sigstore`
//! crate (sigstore/sigstore-rs): `sigstore` 0.15 skips the Rekor inclusion proof, the signed checkpoint and the
//! signed entry timestamp (its verifier has a TODO for sigstore-rs#285), which would leave us writing those checks
//! by hand, and its `verify` feature drags in the Fulcio/Rekor/OAuth HTTP stack plus OpenSSL or aws-lc.
//! `sigstore-verify` does the whole job offline: certificate chain to a trusted Fulcio CA at the signing time,
//! embedded SCT against the CT log keys, inclusion proof against the signed checkpoint, SET, certificate validity
//! at `integratedTime`, DSSE signature over the PAE, subject digest binding and tlog/bundle consistency (for
//! Rekor v2's `hashedrekord` 0.0.2 entries, which carry no SET, the RFC 3161 timestamp gives the time); and it
//! parses the Fulcio CI claims (OIDs 1.3.6.1.4.1.57264.1.*) that the namespace policy needs.
//!
//! It is used with `default-features = false`: no TUF client, no reqwest, no tokio, no aws-lc-rs. Its crypto goes
//! through the pluggable `sigstore_crypto::CryptoProvider`, for which [`ring_provider`] supplies a ring
//! implementation (installed process-wide on first use), so the only native crypto in the workspace stays the
//! ring that rustls already builds. The one thing ring cannot do is verify a prehashed ECDSA digest, which only
//! message-signature (`hashedrekord`) bundles need; we accept DSSE bundles only, so nothing is lost.
//!
//! Key-mode bundles are verified directly with ring (DSSE PAE signature, then the same statement checks), because
//! `sigstore-verify`'s managed-key path insists on a transparency-log entry that our key bundles do not have.
//!
//! The `testing` feature adds [`testing::TestPki`], a throwaway Sigstore (Fulcio CA, CT log, Rekor) that mints
//! fully valid keyless bundles offline for other crates' tests.

mod dsse;
mod error;
pub mod key_log;
mod keyless;
mod keys;
mod pem;
pub mod ring_provider;
mod sign;
mod statement;
mod trust;
mod verify;

#[cfg(feature = "testing")]
pub mod testing;

use registry_schema::Digest;
use serde_json::{Value, json};

pub use error::{ProvenanceError, VerifyError};
pub use keyless::{KeylessFacts, SubjectDigest, verify_keyless_bundle};
pub use keys::{KeyAlgorithm, PublicKey, SigningKey};
pub use sign::{sign_statement, sign_with_key};
pub use trust::{PUBLIC_GOOD_TRUSTED_ROOT, TrustRoots};
pub use verify::{Mode, RegisteredKey, Summary, VerifyRequest, verify};

/// Media type of the bundles we produce and expect.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Our own predicate: `{registry?, name, version}`, used by key-based publishing.
pub const PUBLISH_PREDICATE: &str = "https://mcp-reg.dev/attestations/publish/v1";
/// SLSA provenance v1, as emitted by GitHub's `actions/attest-build-provenance`.
pub const SLSA_PREDICATE: &str = "https://slsa.dev/provenance/v1";
/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// OIDC issuer of GitHub Actions tokens, the only one accepted for `io.github.<owner>/*`.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// SHA-256 of the RFC 8785 canonical bytes of `manifest` (the attested subject digest).
pub fn manifest_digest(manifest: &Value) -> Result<Digest, ProvenanceError> {
    Ok(registry_schema::canonical::digest(manifest)?)
}

/// The in-toto statement we sign: one subject `<name>@<version>` with `digest`, predicate [`PUBLISH_PREDICATE`].
pub fn statement(name: &str, version: &str, digest: &Digest) -> Value {
    json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": format!("{name}@{version}"),
            "digest": { "sha256": digest.to_hex() },
        }],
        "predicateType": PUBLISH_PREDICATE,
        "predicate": { "name": name, "version": version },
    })
}
