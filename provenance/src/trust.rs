//! Trust anchors for keyless bundles: the bundled Sigstore public-good root plus any custom `trusted_root.json`.
//!
//! Several documents are merged into one set of anchors (Fulcio CAs, Rekor keys, CT log keys, TSAs): a bundle is
//! accepted if it verifies against the union, the same semantics as a client configured with several roots.

use sigstore_verify::Verifier;
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::trust_root::trusted_root::CertChain;

use crate::{ProvenanceError, ring_provider};

/// The Sigstore public-good `trusted_root.json` shipped with this crate (origin and licence: `trust/README.md`).
pub const PUBLIC_GOOD_TRUSTED_ROOT: &str =
    include_str!("../trust/sigstore-public-good-trusted_root.json");

/// A set of trust anchors for keyless verification.
#[derive(Clone, Debug)]
pub struct TrustRoots {
    root: TrustedRoot,
}

impl TrustRoots {
    /// Only the bundled Sigstore public-good root.
    pub fn public_good() -> Self {
        Self::from_json(PUBLIC_GOOD_TRUSTED_ROOT).expect(
            "the bundled public-good trusted_root.json is valid (checked by the crate's tests)",
        )
    }

    /// Only the given `trusted_root.json` document (a private Sigstore, or a test PKI).
    pub fn from_json(json: &str) -> Result<Self, ProvenanceError> {
        let root = parse(json)?;
        validate(&root)?;
        Ok(Self { root })
    }

    /// Only the given documents, merged.
    pub fn custom_only<I, S>(documents: I) -> Result<Self, ProvenanceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut documents = documents.into_iter();
        let first = documents.next().ok_or_else(|| {
            ProvenanceError::TrustRoot("no trusted_root.json document given".into())
        })?;
        let mut roots = Self::from_json(first.as_ref())?;
        for document in documents {
            roots.add(document.as_ref())?;
        }
        Ok(roots)
    }

    /// These anchors plus those of `json`.
    pub fn with_custom(mut self, json: &str) -> Result<Self, ProvenanceError> {
        self.add(json)?;
        Ok(self)
    }

    /// Merge the anchors of `json` into this set. Logs already present (same log ID) are not duplicated.
    pub fn add(&mut self, json: &str) -> Result<(), ProvenanceError> {
        let other = parse(json)?;
        let mut merged = self.root.clone();
        for log in other.tlogs {
            if !merged
                .tlogs
                .iter()
                .any(|known| known.log_id.key_id == log.log_id.key_id)
            {
                merged.tlogs.push(log);
            }
        }
        for log in other.ctlogs {
            if !merged
                .ctlogs
                .iter()
                .any(|known| known.log_id.key_id == log.log_id.key_id)
            {
                merged.ctlogs.push(log);
            }
        }
        for ca in other.certificate_authorities {
            if !merged
                .certificate_authorities
                .iter()
                .any(|known| same_chain(&known.cert_chain, &ca.cert_chain))
            {
                merged.certificate_authorities.push(ca);
            }
        }
        for tsa in other.timestamp_authorities {
            if !merged
                .timestamp_authorities
                .iter()
                .any(|known| same_chain(&known.cert_chain, &tsa.cert_chain))
            {
                merged.timestamp_authorities.push(tsa);
            }
        }
        validate(&merged)?;
        self.root = merged;
        Ok(())
    }

    /// Number of Rekor logs, CT logs and Fulcio CAs trusted (for diagnostics).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.root.tlogs.len(),
            self.root.ctlogs.len(),
            self.root.certificate_authorities.len(),
        )
    }

    pub(crate) fn verifier(&self) -> Result<Verifier, sigstore_verify::Error> {
        ring_provider::install();
        Verifier::new(&self.root)
    }
}

fn same_chain(a: &CertChain, b: &CertChain) -> bool {
    a.certificates.len() == b.certificates.len()
        && a.certificates
            .iter()
            .zip(&b.certificates)
            .all(|(x, y)| x.raw_bytes.as_bytes() == y.raw_bytes.as_bytes())
}

fn parse(json: &str) -> Result<TrustedRoot, ProvenanceError> {
    TrustedRoot::from_json(json).map_err(|err| ProvenanceError::TrustRoot(err.to_string()))
}

/// Reject malformed or unusable material at load time rather than at the first verification.
fn validate(root: &TrustedRoot) -> Result<(), ProvenanceError> {
    ring_provider::install();
    Verifier::new(root)
        .map(drop)
        .map_err(|err| ProvenanceError::TrustRoot(err.to_string()))
}
