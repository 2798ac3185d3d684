//! Minimal RFC 7468 PEM: one block, base64 body, 64-column lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::ProvenanceError;

/// PEM text of `der` under `label` (e.g. `PRIVATE KEY`), with a trailing newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// DER bytes of the first `label` block in `text`.
pub(crate) fn decode(text: &str, label: &str) -> Result<Vec<u8>, ProvenanceError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| ProvenanceError::Pem(format!("no `{begin}` line")))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| ProvenanceError::Pem(format!("no `{end}` line")))?
        + start;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|err| ProvenanceError::Pem(format!("bad base64 in {label} block: {err}")))
}
