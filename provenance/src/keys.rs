//! Publisher keys for key-based provenance: Ed25519 or ECDSA P-256, PKCS#8 / SPKI PEM, ring underneath.

use std::fmt;
use std::str::FromStr;

use ring::rand::SystemRandom;
use ring::signature::{
    self, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _,
};

use crate::{ProvenanceError, pem};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of a P-256 SubjectPublicKeyInfo (RFC 5480), followed by the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Signature algorithm of a publisher key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Ed25519,
    EcdsaP256,
}

impl KeyAlgorithm {
    /// The textual form used in configuration and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::EcdsaP256 => "ecdsa-p256",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = ProvenanceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Ok(Self::Ed25519),
            "ecdsa-p256" => Ok(Self::EcdsaP256),
            _ => Err(ProvenanceError::UnknownAlgorithm(s.to_owned())),
        }
    }
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    EcdsaP256(EcdsaKeyPair),
}

/// A private signing key, kept with its PKCS#8 encoding so it can be written back out.
pub struct SigningKey {
    pkcs8: Vec<u8>,
    pair: Pair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.public_key().key_id())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self, ProvenanceError> {
        let rng = SystemRandom::new();
        let document = match algorithm {
            KeyAlgorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
            KeyAlgorithm::EcdsaP256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            }
        }
        .map_err(|_| ProvenanceError::Crypto("key generation failed".into()))?;
        Self::from_pkcs8_der(document.as_ref())
    }

    /// Parse a PKCS#8 DER private key (Ed25519 or ECDSA P-256).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, ProvenanceError> {
        let pair = if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            Pair::Ed25519(pair)
        } else if let Ok(pair) =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &SystemRandom::new())
        {
            Pair::EcdsaP256(pair)
        } else {
            return Err(ProvenanceError::InvalidKey(
                "expected a PKCS#8 Ed25519 or ECDSA P-256 private key".into(),
            ));
        };
        Ok(Self {
            pkcs8: der.to_vec(),
            pair,
        })
    }

    /// Parse a `PRIVATE KEY` (PKCS#8) PEM block.
    pub fn from_pem(pem: &str) -> Result<Self, ProvenanceError> {
        Self::from_pkcs8_der(&pem::decode(pem, "PRIVATE KEY")?)
    }

    /// PKCS#8 `PRIVATE KEY` PEM.
    pub fn to_pem(&self) -> String {
        pem::encode("PRIVATE KEY", &self.pkcs8)
    }

    /// PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.pair {
            Pair::Ed25519(_) => KeyAlgorithm::Ed25519,
            Pair::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        let raw = match &self.pair {
            Pair::Ed25519(pair) => pair.public_key().as_ref().to_vec(),
            Pair::EcdsaP256(pair) => pair.public_key().as_ref().to_vec(),
        };
        PublicKey {
            algorithm: self.algorithm(),
            raw,
        }
    }

    /// Signature over `message`: Ed25519 (64 bytes) or ECDSA P-256 with SHA-256, ASN.1 DER.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ProvenanceError> {
        match &self.pair {
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::EcdsaP256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| ProvenanceError::Crypto("ECDSA signing failed".into())),
        }
    }
}

/// A public key: what a namespace registers and what key bundles are checked against.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    /// Ed25519: the 32-byte key; P-256: the 65-byte uncompressed SEC1 point.
    raw: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Parse a SubjectPublicKeyInfo DER (Ed25519 or uncompressed P-256).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, ProvenanceError> {
        if let Some(raw) = der.strip_prefix(&ED25519_SPKI_PREFIX[..])
            && raw.len() == 32
        {
            return Ok(Self {
                algorithm: KeyAlgorithm::Ed25519,
                raw: raw.to_vec(),
            });
        }
        if let Some(raw) = der.strip_prefix(&P256_SPKI_PREFIX[..])
            && raw.len() == 65
            && raw[0] == 0x04
        {
            return Ok(Self {
                algorithm: KeyAlgorithm::EcdsaP256,
                raw: raw.to_vec(),
            });
        }
        Err(ProvenanceError::InvalidKey(
            "expected an Ed25519 or uncompressed ECDSA P-256 SubjectPublicKeyInfo".into(),
        ))
    }

    /// SubjectPublicKeyInfo DER.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let prefix: &[u8] = match self.algorithm {
            KeyAlgorithm::Ed25519 => &ED25519_SPKI_PREFIX,
            KeyAlgorithm::EcdsaP256 => &P256_SPKI_PREFIX,
        };
        [prefix, &self.raw].concat()
    }

    /// Parse a `PUBLIC KEY` (SPKI) PEM block.
    pub fn from_pem(pem: &str) -> Result<Self, ProvenanceError> {
        Self::from_spki_der(&pem::decode(pem, "PUBLIC KEY")?)
    }

    /// SPKI `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.to_spki_der())
    }

    /// Hex SHA-256 of the SPKI DER: the `publicKey.hint` of our key bundles.
    pub fn key_id(&self) -> String {
        hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            &self.to_spki_der(),
        ))
    }

    /// Whether a bundle's `publicKey.hint` names this key: our hex [`Self::key_id`] (any case), or the
    /// form sigstore-go and cosign write, standard base64 of the same SHA-256.
    pub fn matches_hint(&self, hint: &str) -> bool {
        use base64::Engine as _;
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.to_spki_der());
        hint.eq_ignore_ascii_case(&hex::encode(digest.as_ref()))
            || hint == base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    }

    /// Check `signature` over `message` (Ed25519, or ECDSA P-256 SHA-256 in ASN.1 DER).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), ProvenanceError> {
        let algorithm: &dyn signature::VerificationAlgorithm = match self.algorithm {
            KeyAlgorithm::Ed25519 => &signature::ED25519,
            KeyAlgorithm::EcdsaP256 => &ECDSA_P256_SHA256_ASN1,
        };
        signature::UnparsedPublicKey::new(algorithm, &self.raw)
            .verify(message, signature)
            .map_err(|_| ProvenanceError::InvalidSignature)
    }
}
