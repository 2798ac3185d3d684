//! Checks on the in-toto statement inside the envelope, shared by both signer modes.
//!
//! Subject names: `<name>@<version>` is what we sign. `actions/attest-build-provenance` names subjects after the
//! attested file (`server.json`, `server.canonical.json`), so a bare file name ending in `.json` is accepted as well.
//! That is safe because the subject digest must equal the manifest digest, and [`crate::verify`] separately
//! requires the manifest's own `name`/`version` to be the ones requested: the signed bytes pin the identity.

use registry_schema::Digest;
use serde_json::Value;

use crate::{IN_TOTO_PAYLOAD_TYPE, PUBLISH_PREDICATE, SLSA_PREDICATE, STATEMENT_TYPE, VerifyError};

/// The parts of a checked statement that end up in the summary.
pub(crate) struct Checked {
    pub predicate_type: String,
}

/// Check `payload` (with its DSSE `payload_type`) against the manifest `digest`, `name` and `version`.
pub(crate) fn check(
    payload_type: &str,
    payload: &[u8],
    digest: &Digest,
    name: &str,
    version: &str,
) -> Result<Checked, VerifyError> {
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(VerifyError::PayloadType {
            found: payload_type.to_owned(),
        });
    }
    let statement: Value = serde_json::from_slice(payload)
        .map_err(|err| VerifyError::MalformedStatement(format!("not JSON: {err}")))?;
    let kind = statement.get("_type").and_then(Value::as_str);
    if kind != Some(STATEMENT_TYPE) {
        return Err(VerifyError::MalformedStatement(format!(
            "`_type` is {}, expected `{STATEMENT_TYPE}`",
            kind.map_or_else(|| "missing".to_owned(), |kind| format!("`{kind}`"))
        )));
    }
    let predicate_type = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::MalformedStatement("`predicateType` missing".into()))?;
    if predicate_type != SLSA_PREDICATE && predicate_type != PUBLISH_PREDICATE {
        return Err(VerifyError::UnsupportedPredicate {
            found: predicate_type.to_owned(),
        });
    }
    let subjects = statement
        .get("subject")
        .and_then(Value::as_array)
        .ok_or_else(|| VerifyError::MalformedStatement("`subject` is not an array".into()))?;
    let [subject] = subjects.as_slice() else {
        return Err(VerifyError::SubjectCount {
            count: subjects.len(),
        });
    };
    let expected_name = format!("{name}@{version}");
    let subject_name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    if subject_name != expected_name && !is_file_name(subject_name) {
        return Err(VerifyError::SubjectName {
            found: subject_name.to_owned(),
            expected: expected_name,
        });
    }
    let attested = subject
        .get("digest")
        .and_then(|digest| digest.get("sha256"))
        .and_then(Value::as_str);
    if !attested.is_some_and(|hex| hex.eq_ignore_ascii_case(&digest.to_hex())) {
        return Err(VerifyError::DigestMismatch {
            manifest: digest.to_string(),
            attested: attested.map(|hex| format!("sha256:{hex}")),
        });
    }
    if predicate_type == PUBLISH_PREDICATE {
        let predicate = statement.get("predicate").unwrap_or(&Value::Null);
        for (field, expected) in [("name", name), ("version", version)] {
            let found = predicate.get(field).and_then(Value::as_str).unwrap_or("");
            if found != expected {
                return Err(VerifyError::PredicateMismatch {
                    field,
                    found: found.to_owned(),
                    expected: expected.to_owned(),
                });
            }
        }
    }
    Ok(Checked {
        predicate_type: predicate_type.to_owned(),
    })
}

/// A bare file name (no directory part, not hidden) ending in `.json`.
fn is_file_name(name: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"))
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_recognized() {
        assert!(is_file_name("server.json"));
        assert!(is_file_name("server.canonical.json"));
        assert!(!is_file_name("dist/server.json"));
        assert!(!is_file_name(".json"));
        assert!(!is_file_name("server.tar.gz"));
        assert!(!is_file_name("io.github.alice/weather@1.0.0"));
    }
}
