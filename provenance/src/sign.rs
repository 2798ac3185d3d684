//! Key-based signing: a Sigstore bundle v0.3 with a public-key hint and a DSSE envelope, no Rekor entry.

use serde_json::{Value, json};

use crate::{BUNDLE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, ProvenanceError, SigningKey, dsse};

/// Sign our publish statement for `manifest` as `name`@`version` with `key`.
pub fn sign_with_key(
    manifest: &Value,
    name: &str,
    version: &str,
    key: &SigningKey,
) -> Result<Value, ProvenanceError> {
    let digest = crate::manifest_digest(manifest)?;
    sign_statement(&crate::statement(name, version, &digest), key)
}

/// Sign an arbitrary in-toto statement with `key` into a key bundle (`verificationMaterial.publicKey.hint` =
/// key ID, no tlog entries). [`sign_with_key`] is the usual entry point; this one exists for custom statements.
pub fn sign_statement(statement: &Value, key: &SigningKey) -> Result<Value, ProvenanceError> {
    let payload = serde_json::to_vec(statement)?;
    let signature = key.sign(&dsse::pae(IN_TOTO_PAYLOAD_TYPE, &payload))?;
    let key_id = key.public_key().key_id();
    Ok(json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": { "hint": key_id },
            "tlogEntries": [],
        },
        "dsseEnvelope": dsse::envelope_json(IN_TOTO_PAYLOAD_TYPE, &payload, &signature, &key_id),
    }))
}
