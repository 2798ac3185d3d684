//! Errors: [`ProvenanceError`] for keys, signing and trust-root loading; [`VerifyError`] for verification, with
//! messages meant for the publisher and a stable [`VerifyError::reason_code`] for API clients.

use crate::{GITHUB_ACTIONS_ISSUER, PUBLISH_PREDICATE, SLSA_PREDICATE};

/// Failure to build, load or use keys, statements and trust roots.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    #[error("manifest cannot be canonicalized: {0}")]
    Canonicalize(#[from] registry_schema::Error),
    #[error("invalid PEM: {0}")]
    Pem(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("unknown key algorithm `{0}` (expected `ed25519` or `ecdsa-p256`)")]
    UnknownAlgorithm(String),
    #[error("signature does not verify")]
    InvalidSignature,
    #[error("cryptographic failure: {0}")]
    Crypto(String),
    #[error("invalid trusted root: {0}")]
    TrustRoot(String),
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Why a bundle was not accepted for a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("server name `{name}` has no namespace (expected `<namespace>/<name>`)")]
    InvalidName { name: String },
    #[error("the manifest's `{field}` is {found}, but {expected} was requested")]
    ManifestMismatch {
        field: &'static str,
        found: String,
        expected: String,
    },
    #[error("manifest cannot be canonicalized: {0}")]
    Canonicalization(String),
    #[error("malformed bundle: {0}")]
    MalformedBundle(String),
    #[error("unsupported bundle: {0}")]
    UnsupportedBundle(String),
    #[error("DSSE payload type `{found}` is not `application/vnd.in-toto+json`")]
    PayloadType { found: String },
    #[error("malformed in-toto statement: {0}")]
    MalformedStatement(String),
    #[error(
        "predicate type `{found}` is not accepted (expected `{SLSA_PREDICATE}` or `{PUBLISH_PREDICATE}`)"
    )]
    UnsupportedPredicate { found: String },
    #[error("the statement has {count} subjects; exactly one is required")]
    SubjectCount { count: usize },
    #[error("attested subject `{found}` is neither `{expected}` nor a file name ending in `.json`")]
    SubjectName { found: String, expected: String },
    #[error(
        "manifest digest {manifest} does not match the attested subject {}",
        attested.as_deref().unwrap_or("(no digest of that algorithm)")
    )]
    DigestMismatch {
        manifest: String,
        attested: Option<String>,
    },
    #[error("the publish predicate's `{field}` is `{found}`, expected `{expected}`")]
    PredicateMismatch {
        field: &'static str,
        found: String,
        expected: String,
    },
    #[error("signature does not verify: {0}")]
    SignatureInvalid(String),
    #[error("signing certificate does not chain to a trusted Fulcio CA: {0}")]
    CertificateUntrusted(String),
    #[error("signing certificate was not valid when the entry was logged: {0}")]
    CertificateNotValidAtLogTime(String),
    #[error("signed certificate timestamp (SCT) rejected: {0}")]
    SctInvalid(String),
    #[error("transparency log {log_id} is not in the trusted root (unknown log key)")]
    UnknownLogKey { log_id: String },
    #[error("inclusion proof does not match the checkpoint: {0}")]
    InclusionProofInvalid(String),
    #[error("signed checkpoint rejected: {0}")]
    CheckpointInvalid(String),
    #[error("signed entry timestamp (SET) rejected: {0}")]
    SetInvalid(String),
    #[error("transparency log entry does not describe this bundle: {0}")]
    LogEntryMismatch(String),
    #[error("keyless bundle has no transparency log entry with a signed entry timestamp")]
    MissingLogEntry,
    #[error("invalid integrated time: {0}")]
    IntegratedTime(String),
    #[error("trusted root unusable: {0}")]
    TrustRoot(String),
    #[error(
        "signed by {identity} with OIDC issuer {}; {namespace}/* needs a GitHub Actions identity (issuer {GITHUB_ACTIONS_ISSUER}) of owner {owner}",
        issuer.as_deref().unwrap_or("(none)")
    )]
    IssuerMismatch {
        identity: String,
        issuer: Option<String>,
        namespace: String,
        owner: String,
    },
    #[error(
        "signed by {identity} (owner {}); {namespace}/* needs a GitHub Actions identity of owner {owner}",
        found_owner.as_deref().unwrap_or("unknown")
    )]
    IdentityMismatch {
        identity: String,
        found_owner: Option<String>,
        namespace: String,
        owner: String,
    },
    #[error(
        "signed by {identity} (keyless); {namespace}/* needs a bundle signed with a key registered for the namespace"
    )]
    KeylessNotAllowed { identity: String, namespace: String },
    #[error(
        "signed with key {key_id}; {namespace}/* needs a keyless GitHub Actions identity of owner {owner}"
    )]
    KeyNotAllowed {
        key_id: String,
        namespace: String,
        owner: String,
    },
    #[error(
        "key {key_id} is not registered for namespace {namespace}{}",
        registered_for.as_ref().map(|other| format!(" (it is registered for {other})")).unwrap_or_default()
    )]
    KeyNotRegistered {
        key_id: String,
        namespace: String,
        registered_for: Option<String>,
    },
    #[error(
        "no key registered for namespace {namespace} verifies the signature (the bundle names no key)"
    )]
    NoMatchingKey { namespace: String },
}

impl VerifyError {
    /// Stable kebab-case code for API clients; the message may change, the code does not.
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::InvalidName { .. } => "invalid-name",
            Self::ManifestMismatch { .. } => "manifest-mismatch",
            Self::Canonicalization(_) => "manifest-not-canonical",
            Self::MalformedBundle(_) => "malformed-bundle",
            Self::UnsupportedBundle(_) => "unsupported-bundle",
            Self::PayloadType { .. } => "unsupported-payload-type",
            Self::MalformedStatement(_) => "malformed-statement",
            Self::UnsupportedPredicate { .. } => "unsupported-predicate",
            Self::SubjectCount { .. } => "subject-count",
            Self::SubjectName { .. } => "subject-name-mismatch",
            Self::DigestMismatch { .. } => "digest-mismatch",
            Self::PredicateMismatch { .. } => "predicate-mismatch",
            Self::SignatureInvalid(_) => "signature-invalid",
            Self::CertificateUntrusted(_) => "certificate-untrusted",
            Self::CertificateNotValidAtLogTime(_) => "certificate-not-valid-at-log-time",
            Self::SctInvalid(_) => "sct-invalid",
            Self::UnknownLogKey { .. } => "unknown-log-key",
            Self::InclusionProofInvalid(_) => "inclusion-proof-invalid",
            Self::CheckpointInvalid(_) => "checkpoint-invalid",
            Self::SetInvalid(_) => "set-invalid",
            Self::LogEntryMismatch(_) => "log-entry-mismatch",
            Self::MissingLogEntry => "missing-log-entry",
            Self::IntegratedTime(_) => "integrated-time-invalid",
            Self::TrustRoot(_) => "trust-root-invalid",
            Self::IssuerMismatch { .. } => "issuer-mismatch",
            Self::IdentityMismatch { .. } => "identity-mismatch",
            Self::KeylessNotAllowed { .. } => "keyless-not-allowed",
            Self::KeyNotAllowed { .. } => "key-not-allowed",
            Self::KeyNotRegistered { .. } => "key-not-registered",
            Self::NoMatchingKey { .. } => "no-matching-key",
        }
    }
}
