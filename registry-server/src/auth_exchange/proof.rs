//! The signed-timestamp proof shared by `/auth/http` and `/auth/dns`: the client signs the RFC 3339
//! `timestamp` (within ±15 s of server time) with a key published as `v=MCPv1; k=ed25519; p=<base64>`
//! (32-byte key, 64-byte signature) or `v=MCPv1; k=ecdsap384; p=<base64>` (49-byte compressed SEC1
//! point, 96-byte fixed `r‖s` signature over the SHA-384 digest of the timestamp).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p384::ecdsa::signature::Verifier;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::{Action, Permission};
use crate::error::ApiError;

/// How far the signed timestamp may be from server time.
pub const MAX_SKEW_SECS: i64 = 15;

/// Body of `POST /auth/http` and `POST /auth/dns` (the official field names).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignedTimestampRequest {
    /// The domain proven, e.g. `example.com`.
    pub domain: String,
    /// RFC 3339 time the client signed; within ±15 s of the registry's clock.
    pub timestamp: String,
    /// Hex signature over the `timestamp` string's bytes.
    pub signed_timestamp: String,
}

/// Length of a compressed SEC1 P-384 point.
pub const P384_KEY_LEN: usize = 49;
/// Length of a fixed-size (`r‖s`) P-384 signature.
pub const P384_SIGNATURE_LEN: usize = 96;

/// One published key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(Vec<u8>),
    /// A compressed SEC1 point known to lie on the curve.
    EcdsaP384(Vec<u8>),
}

impl PublicKey {
    /// `alg:first8b64`, for error messages.
    pub fn fingerprint(&self) -> String {
        let (alg, bytes) = match self {
            Self::Ed25519(bytes) => ("ed25519", bytes),
            Self::EcdsaP384(bytes) => ("ecdsap384", bytes),
        };
        let b64 = STANDARD.encode(bytes);
        format!("{alg}:{}", &b64[..b64.len().min(8)])
    }
}

/// Parses one `v=MCPv1; k=…; p=…` record; `None` for text that is not such a record.
pub fn parse_record(text: &str) -> Option<Result<PublicKey, String>> {
    let mut version = None;
    let mut kind = None;
    let mut key = None;
    for part in text.split(';') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        match name.trim() {
            "v" => version = Some(value.trim()),
            "k" => kind = Some(value.trim()),
            "p" => key = Some(value.trim()),
            _ => {}
        }
    }
    if version != Some("MCPv1") {
        return None;
    }
    let Some(key) = key else {
        return Some(Err("an MCPv1 record has no `p=` public key".to_owned()));
    };
    let Ok(bytes) = STANDARD.decode(key) else {
        return Some(Err("an MCPv1 record's public key is not base64".to_owned()));
    };
    Some(match kind.unwrap_or("ed25519") {
        "ed25519" if bytes.len() == 32 => Ok(PublicKey::Ed25519(bytes)),
        "ed25519" => Err(format!(
            "an Ed25519 public key has 32 bytes, not {}",
            bytes.len()
        )),
        "ecdsap384" if bytes.len() != P384_KEY_LEN => Err(format!(
            "an ECDSA P-384 public key has {P384_KEY_LEN} bytes (compressed SEC1 point), not {}",
            bytes.len()
        )),
        "ecdsap384" if !matches!(bytes.first(), Some(0x02 | 0x03)) => Err(
            "an ECDSA P-384 public key must be a compressed SEC1 point (starting with 0x02 or 0x03)"
                .to_owned(),
        ),
        "ecdsap384" => match p384::ecdsa::VerifyingKey::from_sec1_bytes(&bytes) {
            Ok(_) => Ok(PublicKey::EcdsaP384(bytes)),
            Err(_) => Err("an ECDSA P-384 public key is not a point on the curve".to_owned()),
        },
        other => Err(format!("unsupported key type k={other}")),
    })
}

/// Checks the timestamp is RFC 3339 and within ±15 s of `now`.
pub fn check_timestamp(timestamp: &str, now: OffsetDateTime) -> Result<(), ApiError> {
    let signed_at = OffsetDateTime::parse(timestamp, &Rfc3339).map_err(|_| {
        ApiError::invalid_parameter("body.timestamp", "timestamp must be an RFC 3339 time")
    })?;
    let skew = (now - signed_at).whole_seconds().abs();
    if skew > MAX_SKEW_SECS {
        return Err(ApiError::Unauthorized(format!(
            "timestamp is {skew} s away from the registry's clock (at most {MAX_SKEW_SECS} s allowed); sign a fresh timestamp"
        )));
    }
    Ok(())
}

/// Decodes the hex signature (422 when it is not hex).
pub fn decode_signature(signed_timestamp: &str) -> Result<Vec<u8>, ApiError> {
    hex::decode(signed_timestamp.trim()).map_err(|_| {
        ApiError::invalid_parameter(
            "body.signed_timestamp",
            "signed_timestamp must be the hex-encoded signature",
        )
    })
}

/// Tries every published key; 401 listing the fingerprints tried when none verifies.
pub fn verify_with_records(
    records: &[String],
    timestamp: &str,
    signature: &[u8],
    source: &str,
) -> Result<(), ApiError> {
    let mut tried = Vec::new();
    let mut problems = Vec::new();
    for record in records {
        match parse_record(record) {
            None => {}
            Some(Err(problem)) => problems.push(problem),
            Some(Ok(key)) => {
                if verify(&key, timestamp.as_bytes(), signature) {
                    return Ok(());
                }
                tried.push(key.fingerprint());
            }
        }
    }
    if tried.is_empty() {
        let detail = if problems.is_empty() {
            format!("no `v=MCPv1; k=ed25519|ecdsap384; p=…` record found in {source}")
        } else {
            format!(
                "no usable MCPv1 record in {source}: {}",
                problems.join("; ")
            )
        };
        return Err(ApiError::Unauthorized(detail));
    }
    Err(ApiError::Unauthorized(format!(
        "the signature does not verify with any public key in {source} (tried {})",
        tried.join(", ")
    )))
}

/// Whether `signature` is `key`'s signature over `message` (Ed25519: 64 bytes; ECDSA P-384: fixed
/// 96-byte `r‖s` over SHA-384, as the official registry and `mcp-publisher` produce).
fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    match key {
        PublicKey::Ed25519(bytes) => {
            signature.len() == 64
                && UnparsedPublicKey::new(&ED25519, bytes)
                    .verify(message, signature)
                    .is_ok()
        }
        PublicKey::EcdsaP384(bytes) => {
            if signature.len() != P384_SIGNATURE_LEN {
                return false;
            }
            let Ok(key) = p384::ecdsa::VerifyingKey::from_sec1_bytes(bytes) else {
                return false;
            };
            let Ok(signature) = p384::ecdsa::Signature::from_slice(signature) else {
                return false;
            };
            key.verify(message, &signature).is_ok()
        }
    }
}

/// What a verified domain may publish.
pub fn domain_permissions(domain: &str, include_subdomains: bool) -> Vec<Permission> {
    let reversed = reverse_domain(domain);
    let mut permissions = vec![Permission::new(Action::Publish, format!("{reversed}/*"))];
    if include_subdomains {
        permissions.push(Permission::new(Action::Publish, format!("{reversed}.*")));
    }
    permissions
}

/// `example.com` → `com.example`.
pub fn reverse_domain(domain: &str) -> String {
    domain.split('.').rev().collect::<Vec<_>>().join(".")
}

/// Normalises and checks a domain: lower case, at least two labels, letters/digits/hyphens, no IP
/// literal.
pub fn check_domain(domain: &str) -> Result<String, ApiError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let invalid = |why: &str| {
        ApiError::invalid_parameter("body.domain", format!("invalid domain `{domain}`: {why}"))
    };
    if domain.parse::<std::net::IpAddr>().is_ok() {
        return Err(invalid("IP addresses are not accepted; use a domain name"));
    }
    if domain.len() > 253 {
        return Err(invalid("too long"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid("a domain needs at least two labels"));
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(invalid("labels are letters, digits and inner hyphens"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid("the last label must not be numeric"));
    }
    Ok(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_domains() {
        let key = STANDARD.encode([1u8; 32]);
        assert_eq!(
            parse_record(&format!("v=MCPv1; k=ed25519; p={key}")),
            Some(Ok(PublicKey::Ed25519(vec![1u8; 32])))
        );
        assert_eq!(parse_record("v=spf1 -all"), None);
        assert!(matches!(
            parse_record("v=MCPv1; k=ed25519; p=AAAA"),
            Some(Err(_))
        ));
        // 49 bytes, compressed prefix, but x = 1 is not on P-384 (1 - 3 + b is not a square).
        let mut not_on_curve = vec![0u8; 49];
        not_on_curve[0] = 2;
        not_on_curve[48] = 1;
        assert!(matches!(
            parse_record(&format!(
                "v=MCPv1; k=ecdsap384; p={}",
                STANDARD.encode(&not_on_curve)
            )),
            Some(Err(_))
        ));
        assert!(matches!(
            parse_record(&format!(
                "v=MCPv1; k=ecdsap384; p={}",
                STANDARD.encode([4u8; 97])
            )),
            Some(Err(_))
        ));
        assert_eq!(reverse_domain("api.example.com"), "com.example.api");
        assert_eq!(check_domain("Example.COM.").unwrap(), "example.com");
        assert!(check_domain("127.0.0.1").is_err());
        assert!(check_domain("localhost").is_err());
        assert!(check_domain("a_b.com").is_err());
    }
}
