//! Cryptographic verification of keyless (Fulcio certificate + Rekor) bundles, and the identity facts they prove.

use serde_json::Value;
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{ArtifactDigest, Bundle, HashAlgorithm, SignatureContent};
use sigstore_verify::{
    CertificateError, Error as SigError, TransparencyLogError, VerificationPolicy,
};

use crate::{GITHUB_ACTIONS_ISSUER, TrustRoots, VerifyError};

/// The artifact digest a keyless bundle's statement must carry as a subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectDigest {
    Sha256([u8; 32]),
    /// npm-style subjects (`pkg:npm/...` with a `sha512` digest).
    Sha512([u8; 64]),
}

impl From<&registry_schema::Digest> for SubjectDigest {
    fn from(digest: &registry_schema::Digest) -> Self {
        Self::Sha256(*digest.as_bytes())
    }
}

/// What a verified keyless bundle proves about its signer and its log entry. Claims come from the verified Fulcio
/// certificate, never from the (signer-chosen) predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeylessFacts {
    /// Certificate SAN: for GitHub Actions the workflow URI `https://github.com/OWNER/REPO/.github/workflows/F@REF`.
    pub identity: String,
    /// OIDC issuer (OID 1.3.6.1.4.1.57264.1.8, or the deprecated .1.1).
    pub issuer: Option<String>,
    /// Source repository owner URI (.1.16), e.g. `https://github.com/alice`.
    pub owner_uri: Option<String>,
    /// Source repository URI (.1.12), or `https://github.com/` + the deprecated `owner/repo` (.1.5).
    pub repository: Option<String>,
    /// Source commit (.1.13, or the deprecated .1.3).
    pub commit: Option<String>,
    /// Build config URI (.1.18: the top-level workflow), falling back to the SAN.
    pub workflow: Option<String>,
    /// Source ref (.1.14, or the deprecated .1.6), e.g. `refs/tags/v1.0.0`.
    pub git_ref: Option<String>,
    /// Runner environment (.1.11): `github-hosted` or `self-hosted`.
    pub runner: Option<String>,
    /// Run invocation URI (.1.21).
    pub run_url: Option<String>,
    /// Rekor log index of the (first) transparency log entry.
    pub log_index: u64,
    /// Hex log ID (SHA-256 of the Rekor key).
    pub log_id: String,
    /// Authenticated signing time, Unix seconds: the SET-covered integrated time of a Rekor v1 entry, or the
    /// earliest verified RFC 3161 timestamp for a Rekor v2 entry.
    pub integrated_time: i64,
    /// The same, RFC 3339.
    pub signed_at: String,
}

impl KeylessFacts {
    /// The GitHub repository owner the certificate vouches for, if any: from the owner URI, else the repository
    /// URI. Only meaningful when [`Self::issuer`] is GitHub Actions.
    pub fn github_owner(&self) -> Option<String> {
        let from_uri = |uri: &str| {
            uri.strip_prefix("https://github.com/")
                .and_then(|rest| rest.split('/').next())
                .filter(|owner| !owner.is_empty())
                .map(str::to_owned)
        };
        self.owner_uri
            .as_deref()
            .and_then(from_uri)
            .or_else(|| self.repository.as_deref().and_then(from_uri))
    }

    /// Whether the certificate was issued for a GitHub Actions OIDC token.
    pub fn is_github_actions(&self) -> bool {
        self.issuer.as_deref() == Some(GITHUB_ACTIONS_ISSUER)
    }
}

/// Fully verify a keyless bundle against `trust` and an expected subject digest: certificate chain to a trusted
/// Fulcio CA at the log time, embedded SCT, Rekor inclusion proof against the signed checkpoint, SET, certificate
/// validity at `integratedTime`, DSSE signature over the PAE, and that some statement subject carries `expected`.
///
/// Statement policy (one subject, accepted predicates, names) is not checked here; [`crate::verify`] does that.
pub fn verify_keyless_bundle(
    bundle: &Value,
    trust: &TrustRoots,
    expected: &SubjectDigest,
) -> Result<KeylessFacts, VerifyError> {
    let parsed = Bundle::from_json(&bundle.to_string())
        .map_err(|err| VerifyError::MalformedBundle(err.to_string()))?;
    if matches!(
        parsed.verification_material.content,
        VerificationMaterialContent::PublicKey(_)
    ) {
        return Err(VerifyError::UnsupportedBundle(
            "the bundle is signed with a key, not a Fulcio certificate".into(),
        ));
    }
    if !matches!(parsed.content, SignatureContent::DsseEnvelope(_)) {
        return Err(VerifyError::UnsupportedBundle(
            "message-signature bundles are not accepted; expected a DSSE envelope with an in-toto statement".into(),
        ));
    }
    let entry = parsed
        .verification_material
        .tlog_entries
        .first()
        .ok_or(VerifyError::MissingLogEntry)?;
    let log_index = entry.log_index.get();
    let log_id = hex::encode(entry.log_id.key_id.as_bytes());

    let artifact = match expected {
        SubjectDigest::Sha256(bytes) => ArtifactDigest::new(HashAlgorithm::Sha2256, bytes.to_vec()),
        SubjectDigest::Sha512(bytes) => ArtifactDigest::new(HashAlgorithm::Sha2512, bytes.to_vec()),
    }
    .map_err(|err| VerifyError::MalformedBundle(err.to_string()))?;

    let verifier = trust
        .verifier()
        .map_err(|err| VerifyError::TrustRoot(err.to_string()))?;
    let result = verifier
        .verify(artifact, &parsed, &VerificationPolicy::any_identity())
        .map_err(|err| map_error(err, expected, &parsed, &log_id))?;
    // `any_identity` keeps every check on; make sure they all ran and produced an authenticated signing time:
    // Rekor v1's SET-covered integrated time, or for Rekor v2 (whose checkpointed entries carry no time) the
    // earliest RFC 3161 timestamp that verified against the trusted root's timestamp authorities.
    let signing_time = result
        .integrated_time()
        .or_else(|| result.verified_timestamps().iter().min().copied());
    let (Some(time), true, true, true) = (
        signing_time,
        result.certificate_verified(),
        result.sct_verified(),
        result.tlog_verified(),
    ) else {
        return Err(VerifyError::MissingLogEntry);
    };
    let certificate = result
        .certificate()
        .ok_or_else(|| VerifyError::MalformedBundle("no signing certificate".into()))?;
    let claims = &certificate.ci_claims;
    let legacy = &claims.deprecated_github;
    let identity = certificate
        .identity
        .as_ref()
        .map(|san| san.as_str().to_owned())
        .unwrap_or_default();
    Ok(KeylessFacts {
        issuer: certificate.issuer.clone(),
        owner_uri: claims.source_repository_owner_uri.clone(),
        repository: claims.source_repository_uri.clone().or_else(|| {
            legacy
                .workflow_repository
                .as_ref()
                .map(|repo| format!("https://github.com/{repo}"))
        }),
        commit: claims
            .source_repository_digest
            .clone()
            .or_else(|| legacy.workflow_sha.clone()),
        workflow: claims
            .build_config_uri
            .clone()
            .or_else(|| (!identity.is_empty()).then(|| identity.clone())),
        git_ref: claims
            .source_repository_ref
            .clone()
            .or_else(|| legacy.workflow_ref.clone()),
        runner: claims.runner_environment.clone(),
        run_url: claims.run_invocation_uri.clone(),
        identity,
        log_index,
        log_id,
        integrated_time: time.as_second(),
        signed_at: time.to_string(),
    })
}

impl SubjectDigest {
    fn algorithm(&self) -> &'static str {
        match self {
            Self::Sha256(_) => "sha256",
            Self::Sha512(_) => "sha512",
        }
    }

    fn to_prefixed_hex(&self) -> String {
        match self {
            Self::Sha256(bytes) => format!("sha256:{}", hex::encode(bytes)),
            Self::Sha512(bytes) => format!("sha512:{}", hex::encode(bytes)),
        }
    }
}

/// The first subject's digest of `expected`'s algorithm, for error messages.
fn attested_digest(bundle: &Bundle, expected: &SubjectDigest) -> Option<String> {
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return None;
    };
    let statement: Value = serde_json::from_slice(envelope.payload.as_bytes()).ok()?;
    let algorithm = expected.algorithm();
    let hex = statement
        .pointer("/subject/0/digest")?
        .get(algorithm)?
        .as_str()?;
    Some(format!("{algorithm}:{hex}"))
}

/// "logged at T, but the certificate is valid from A to B", from the bundle's entry and leaf certificate.
fn validity_detail(bundle: &Bundle) -> String {
    let logged = bundle
        .verification_material
        .tlog_entries
        .first()
        .and_then(|entry| entry.integrated_time)
        .map_or_else(|| "(unknown)".to_owned(), |time| time.to_string());
    match bundle
        .signing_certificate()
        .and_then(|cert| sigstore_verify::crypto::parse_certificate_info(cert).ok())
    {
        Some(info) => format!(
            "logged at {logged}, but the certificate is valid from {} to {}",
            info.not_before, info.not_after
        ),
        None => format!("logged at {logged}, outside the certificate's validity"),
    }
}

/// Translate sigstore-verify's error into ours, keeping its detail.
fn map_error(
    err: SigError,
    expected: &SubjectDigest,
    bundle: &Bundle,
    log_id: &str,
) -> VerifyError {
    match err {
        SigError::Certificate(
            CertificateError::NotYetValid { .. } | CertificateError::Expired { .. },
        ) => VerifyError::CertificateNotValidAtLogTime(validity_detail(bundle)),
        SigError::Certificate(CertificateError::Sct(detail)) => VerifyError::SctInvalid(detail),
        // webpki checks validity while building the chain, at the SET-authenticated log time.
        SigError::Certificate(CertificateError::ChainInvalid(detail))
            if detail.contains("CertExpired") || detail.contains("CertNotValidYet") =>
        {
            VerifyError::CertificateNotValidAtLogTime(validity_detail(bundle))
        }
        SigError::Certificate(CertificateError::Malformed(detail)) => {
            VerifyError::MalformedBundle(format!("signing certificate: {detail}"))
        }
        SigError::Certificate(other) => VerifyError::CertificateUntrusted(other.to_string()),
        // sigstore-verify names the log in base64; report the hex ID of the bundle's entry.
        SigError::TransparencyLog(TransparencyLogError::UnknownLog { .. }) => {
            VerifyError::UnknownLogKey {
                log_id: log_id.to_owned(),
            }
        }
        SigError::TransparencyLog(TransparencyLogError::InclusionPromise(detail))
            if detail.contains("No log key") =>
        {
            VerifyError::UnknownLogKey {
                log_id: log_id.to_owned(),
            }
        }
        SigError::TransparencyLog(TransparencyLogError::InclusionPromise(detail)) => {
            VerifyError::SetInvalid(detail)
        }
        SigError::TransparencyLog(TransparencyLogError::InclusionProof(detail)) => {
            VerifyError::InclusionProofInvalid(detail)
        }
        SigError::TransparencyLog(TransparencyLogError::Checkpoint(detail)) => {
            VerifyError::CheckpointInvalid(detail)
        }
        SigError::TransparencyLog(TransparencyLogError::EntryMismatch(detail)) => {
            VerifyError::LogEntryMismatch(detail)
        }
        SigError::TransparencyLog(TransparencyLogError::IntegratedTime(detail))
            if detail.contains("certificate validity") =>
        {
            VerifyError::CertificateNotValidAtLogTime(validity_detail(bundle))
        }
        SigError::TransparencyLog(TransparencyLogError::IntegratedTime(detail)) => {
            VerifyError::IntegratedTime(detail)
        }
        SigError::TransparencyLog(other) => VerifyError::MalformedBundle(other.to_string()),
        SigError::SignatureInvalid(detail) => VerifyError::SignatureInvalid(detail),
        SigError::ArtifactMismatch(_) => VerifyError::DigestMismatch {
            manifest: expected.to_prefixed_hex(),
            attested: attested_digest(bundle, expected),
        },
        SigError::InvalidTrustRoot(detail) => VerifyError::TrustRoot(detail),
        SigError::TrustRoot(detail) => VerifyError::TrustRoot(detail.to_string()),
        SigError::UnsupportedBundle(detail) | SigError::UnsupportedArtifact(detail) => {
            VerifyError::UnsupportedBundle(detail)
        }
        other => VerifyError::MalformedBundle(other.to_string()),
    }
}
