//! DSSE (Dead Simple Signing Envelope) v1 helpers: the pre-authentication encoding and the envelope's JSON form
//! inside a Sigstore bundle.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::VerifyError;

/// `PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body`: the bytes actually signed.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// The `dsseEnvelope` member of a bundle.
pub(crate) fn envelope_json(
    payload_type: &str,
    payload: &[u8],
    signature: &[u8],
    keyid: &str,
) -> Value {
    json!({
        "payload": STANDARD.encode(payload),
        "payloadType": payload_type,
        "signatures": [{ "sig": STANDARD.encode(signature), "keyid": keyid }],
    })
}

/// A decoded single-signature envelope.
pub(crate) struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Decode `bundle.dsseEnvelope`; exactly one signature, as in every Sigstore bundle.
pub(crate) fn envelope_from_bundle(bundle: &Value) -> Result<Envelope, VerifyError> {
    let Some(envelope) = bundle.get("dsseEnvelope") else {
        return Err(if bundle.get("messageSignature").is_some() {
            VerifyError::UnsupportedBundle(
                "message-signature bundles are not accepted; expected a DSSE envelope with an in-toto statement"
                    .into(),
            )
        } else {
            VerifyError::MalformedBundle("no `dsseEnvelope`".into())
        });
    };
    let payload_type = envelope
        .get("payloadType")
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::MalformedBundle("`dsseEnvelope.payloadType` missing".into()))?;
    let payload = decode_b64(envelope.get("payload"), "dsseEnvelope.payload")?;
    let signatures = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .ok_or_else(|| VerifyError::MalformedBundle("`dsseEnvelope.signatures` missing".into()))?;
    let [only] = signatures.as_slice() else {
        return Err(VerifyError::MalformedBundle(format!(
            "the DSSE envelope has {} signatures; exactly one is required",
            signatures.len()
        )));
    };
    let signature = decode_b64(only.get("sig"), "dsseEnvelope.signatures[0].sig")?;
    Ok(Envelope {
        payload_type: payload_type.to_owned(),
        payload,
        signature,
    })
}

fn decode_b64(value: Option<&Value>, what: &str) -> Result<Vec<u8>, VerifyError> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::MalformedBundle(format!("`{what}` missing")))?;
    STANDARD
        .decode(text)
        .map_err(|err| VerifyError::MalformedBundle(format!("`{what}` is not base64: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // Example from the DSSE v1 protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }
}
