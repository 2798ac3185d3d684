//! Compact JWTs: the registry's own EdDSA tokens, and the parsing shared with GitHub's RS256 OIDC tokens.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::auth::Permission;

/// `iss` of every registry token (the official registry's value).
pub const REGISTRY_ISSUER: &str = "mcp-registry";

/// The Ed25519 key that signs registry tokens. Its `Debug` shows only the public key.
#[derive(Clone)]
pub struct RegistryKey(Arc<Ed25519KeyPair>);

impl fmt::Debug for RegistryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RegistryKey(ed25519 public {})",
            hex::encode(self.0.public_key().as_ref())
        )
    }
}

impl RegistryKey {
    /// A key from a 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> anyhow::Result<Self> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| Self(Arc::new(pair)))
            .map_err(|_| anyhow::anyhow!("an Ed25519 seed must be exactly 32 bytes"))
    }

    /// A fresh random key (tokens it signs do not survive a restart).
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|err| anyhow::anyhow!("no system randomness for the JWT key: {err}"))?;
        Self::from_seed(&seed)
    }

    /// A seed given as text: 64 hex digits (the official registry's format) or base64 of 32 bytes.
    pub fn from_seed_text(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let seed = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text)?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| anyhow::anyhow!("the JWT key is neither hex nor base64"))?
        };
        Self::from_seed(&seed)
    }

    /// A key file: a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm ed25519`
    /// writes) or a seed as hex or base64.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| anyhow::anyhow!("cannot read JWT key file {}: {err}", path.display()))?;
        if let Some(body) = pem_body(&text, "PRIVATE KEY") {
            let der = STANDARD
                .decode(body)
                .map_err(|_| anyhow::anyhow!("{}: the PEM body is not base64", path.display()))?;
            return Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map(|pair| Self(Arc::new(pair)))
                .map_err(|_| {
                    anyhow::anyhow!("{}: not a PKCS#8 Ed25519 private key", path.display())
                });
        }
        Self::from_seed_text(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
    }

    /// The public key (32 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.0.public_key().as_ref()
    }

    /// Signs `claims` as a compact EdDSA JWT.
    pub fn sign(&self, claims: &RegistryClaims) -> anyhow::Result<String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
        let signing_input = format!("{header}.{payload}");
        let signature = self.0.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    /// Verifies a registry token: signature, `iss`, `exp` and `nbf` (at `now`, unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<RegistryClaims, String> {
        let parts = CompactJwt::parse(token)?;
        if parts.header.alg != "EdDSA" {
            return Err(format!("unexpected token algorithm {}", parts.header.alg));
        }
        UnparsedPublicKey::new(&ED25519, self.public_key())
            .verify(parts.signing_input.as_bytes(), &parts.signature)
            .map_err(|_| "the token signature is invalid".to_owned())?;
        let claims: RegistryClaims = parts.claims()?;
        if claims.iss != REGISTRY_ISSUER {
            return Err("the token has an unexpected issuer".to_owned());
        }
        if claims.exp <= now {
            return Err("the token has expired; log in again".to_owned());
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_LEEWAY_SECS) {
            return Err("the token is not valid yet".to_owned());
        }
        Ok(claims)
    }
}

/// Tolerated clock difference for `nbf`/`iat` of tokens.
pub const CLOCK_LEEWAY_SECS: i64 = 30;

/// The claims of a registry token (the official registry's names).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryClaims {
    pub iss: String,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    pub auth_method: String,
    pub auth_method_sub: String,
    pub permissions: Vec<Permission>,
}

/// The JOSE header fields we read.
#[derive(Debug, Deserialize)]
pub struct JwtHeader {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

/// A compact JWT split into its parts (nothing verified yet).
#[derive(Debug)]
pub struct CompactJwt<'a> {
    pub header: JwtHeader,
    pub signing_input: &'a str,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

impl<'a> CompactJwt<'a> {
    pub fn parse(token: &'a str) -> Result<Self, String> {
        let malformed = || "the token is not a well-formed JWT".to_owned();
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or_else(malformed)?;
        if payload.contains('.') {
            return Err(malformed());
        }
        let header: JwtHeader = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed())?;
        Ok(Self {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The payload as `T` (call only after the signature is verified).
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.payload)
            .map_err(|err| format!("the token claims are not as expected: {err}"))
    }
}

/// Whether a bearer token looks like a JWT (three dot-separated parts).
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

fn pem_body(text: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    Some(text[start..stop].split_whitespace().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Action;

    fn claims(exp: i64) -> RegistryClaims {
        RegistryClaims {
            iss: REGISTRY_ISSUER.to_owned(),
            iat: 1000,
            nbf: Some(1000),
            exp,
            auth_method: "dns".to_owned(),
            auth_method_sub: "example.com".to_owned(),
            permissions: vec![Permission::new(Action::Publish, "com.example/*")],
        }
    }

    #[test]
    fn registry_tokens_round_trip_and_expire() {
        let key = RegistryKey::from_seed(&[7u8; 32]).unwrap();
        let token = key.sign(&claims(1300)).unwrap();
        assert!(looks_like_jwt(&token));
        assert_eq!(key.verify(&token, 1100).unwrap(), claims(1300));
        assert!(key.verify(&token, 1300).unwrap_err().contains("expired"));
        let other = RegistryKey::from_seed(&[8u8; 32]).unwrap();
        assert!(
            other
                .verify(&token, 1100)
                .unwrap_err()
                .contains("signature")
        );
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(key.verify(&tampered, 1100).is_err());
    }

    #[test]
    fn seeds_are_read_as_hex_or_base64() {
        let hex_key = RegistryKey::from_seed_text(&"07".repeat(32)).unwrap();
        let b64_key = RegistryKey::from_seed_text(&STANDARD.encode([7u8; 32])).unwrap();
        assert_eq!(hex_key.public_key(), b64_key.public_key());
        assert!(RegistryKey::from_seed_text("short").is_err());
        assert!(!format!("{hex_key:?}").contains(&"07".repeat(32)));
    }
}
