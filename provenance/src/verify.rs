//! [`verify`]: a manifest, its bundle and the registry's namespace policy.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keyless::{KeylessFacts, SubjectDigest, verify_keyless_bundle};
use crate::{GITHUB_ACTIONS_ISSUER, PublicKey, TrustRoots, VerifyError, dsse, statement};

/// Prefix of namespaces owned by a GitHub user or organization: `io.github.<owner>`.
const GITHUB_NAMESPACE_PREFIX: &str = "io.github.";

/// How a bundle was signed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Fulcio certificate from an OIDC identity, logged in Rekor.
    Keyless,
    /// A publisher key registered for the namespace.
    Key,
}

/// A publisher key registered for a namespace (e.g. proven through DNS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredKey {
    pub namespace: String,
    pub public_key: PublicKey,
}

/// Everything [`verify`] needs.
#[derive(Clone, Copy, Debug)]
pub struct VerifyRequest<'a> {
    /// The server.json object exactly as published (including `_meta`).
    pub manifest: &'a Value,
    pub name: &'a str,
    pub version: &'a str,
    /// The Sigstore bundle JSON.
    pub bundle: &'a Value,
    pub trust: &'a TrustRoots,
    pub registered_keys: &'a [RegisteredKey],
}

/// The verified facts about a publication, as stored and served by the registry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub mode: Mode,
    /// `sha256:<hex>` of the manifest's canonical bytes.
    pub digest: String,
    pub predicate_type: String,
    /// OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// Certificate SAN (keyless) or `key:<key_id>` (key).
    pub identity: String,
    /// Source repository URI, e.g. `https://github.com/alice/weather` (keyless).
    pub repository: Option<String>,
    pub commit: Option<String>,
    /// Workflow URI with ref (keyless).
    pub workflow: Option<String>,
    pub git_ref: Option<String>,
    /// `github-hosted` or `self-hosted` (keyless).
    pub runner: Option<String>,
    pub run_url: Option<String>,
    pub log_index: Option<u64>,
    /// Hex Rekor log ID.
    pub log_id: Option<String>,
    /// RFC 3339 integrated time (keyless); `None` for key bundles.
    pub signed_at: Option<String>,
    pub key_id: Option<String>,
}

/// Verify `req.bundle` as the provenance of `req.manifest` published as `req.name`@`req.version`.
///
/// Order: request sanity (name has a namespace, manifest `name`/`version` match), statement checks (payload type,
/// predicate, one subject, subject name, digest), then the signature (keyless: full Sigstore verification; key:
/// DSSE signature with a registered key), then the namespace policy:
/// - `io.github.<owner>/*`: keyless only, issuer GitHub Actions, source repository owner `<owner>`
///   (case-insensitive);
/// - any other namespace: key only, with a key registered for exactly that namespace.
pub fn verify(req: &VerifyRequest<'_>) -> Result<Summary, VerifyError> {
    let namespace = check_request(req)?;
    let digest = crate::manifest_digest(req.manifest)
        .map_err(|err| VerifyError::Canonicalization(err.to_string()))?;
    let envelope = dsse::envelope_from_bundle(req.bundle)?;
    let checked = statement::check(
        &envelope.payload_type,
        &envelope.payload,
        &digest,
        req.name,
        req.version,
    )?;
    let github_owner = namespace.strip_prefix(GITHUB_NAMESPACE_PREFIX);

    let material = req
        .bundle
        .get("verificationMaterial")
        .ok_or_else(|| VerifyError::MalformedBundle("no `verificationMaterial`".into()))?;
    if let Some(public_key) = material.get("publicKey") {
        let hint = public_key.get("hint").and_then(Value::as_str);
        if let Some(owner) = github_owner {
            return Err(VerifyError::KeyNotAllowed {
                key_id: hint.unwrap_or("(unnamed)").to_owned(),
                namespace: namespace.to_owned(),
                owner: owner.to_owned(),
            });
        }
        let key = registered_key(req.registered_keys, namespace, hint, &envelope)?;
        let key_id = key.key_id();
        return Ok(Summary {
            mode: Mode::Key,
            digest: digest.to_string(),
            predicate_type: checked.predicate_type,
            issuer: None,
            identity: format!("key:{key_id}"),
            repository: None,
            commit: None,
            workflow: None,
            git_ref: None,
            runner: None,
            run_url: None,
            log_index: None,
            log_id: None,
            signed_at: None,
            key_id: Some(key_id),
        });
    }

    let facts = verify_keyless_bundle(req.bundle, req.trust, &SubjectDigest::from(&digest))?;
    let Some(owner) = github_owner else {
        return Err(VerifyError::KeylessNotAllowed {
            identity: facts.identity,
            namespace: namespace.to_owned(),
        });
    };
    github_policy(&facts, namespace, owner)?;
    Ok(Summary {
        mode: Mode::Keyless,
        digest: digest.to_string(),
        predicate_type: checked.predicate_type,
        issuer: facts.issuer,
        identity: facts.identity,
        repository: facts.repository,
        commit: facts.commit,
        workflow: facts.workflow,
        git_ref: facts.git_ref,
        runner: facts.runner,
        run_url: facts.run_url,
        log_index: Some(facts.log_index),
        log_id: Some(facts.log_id),
        signed_at: Some(facts.signed_at),
        key_id: None,
    })
}

/// The namespace of `req.name`, after checking that the manifest's own `name`/`version` (if present) are the ones
/// requested: with file-named subjects, the signed bytes are what pins the identity.
fn check_request<'r>(req: &VerifyRequest<'r>) -> Result<&'r str, VerifyError> {
    let Some((namespace, _)) = req.name.split_once('/') else {
        return Err(VerifyError::InvalidName {
            name: req.name.to_owned(),
        });
    };
    for (field, expected) in [("name", req.name), ("version", req.version)] {
        if let Some(found) = req.manifest.get(field)
            && found.as_str() != Some(expected)
        {
            return Err(VerifyError::ManifestMismatch {
                field,
                found: found.to_string(),
                expected: format!("`{expected}`"),
            });
        }
    }
    Ok(namespace)
}

/// `io.github.<owner>/*`: a GitHub Actions certificate whose source repository owner is `owner`
/// (case-insensitive, as GitHub logins are).
fn github_policy(facts: &KeylessFacts, namespace: &str, owner: &str) -> Result<(), VerifyError> {
    if facts.issuer.as_deref() != Some(GITHUB_ACTIONS_ISSUER) {
        return Err(VerifyError::IssuerMismatch {
            identity: facts.identity.clone(),
            issuer: facts.issuer.clone(),
            namespace: namespace.to_owned(),
            owner: owner.to_owned(),
        });
    }
    let found_owner = facts.github_owner();
    if !found_owner
        .as_deref()
        .is_some_and(|found| found.eq_ignore_ascii_case(owner))
    {
        return Err(VerifyError::IdentityMismatch {
            identity: facts.identity.clone(),
            found_owner,
            namespace: namespace.to_owned(),
            owner: owner.to_owned(),
        });
    }
    Ok(())
}

/// The registered key of `namespace` that signed `envelope`: the one named by the bundle's `hint` (hex, as we
/// write it, or sigstore-go's base64 form). When there is no hint, or it names no key of the namespace (other
/// tools name keys their own way), any key of the namespace whose signature check passes.
fn registered_key<'k>(
    keys: &'k [RegisteredKey],
    namespace: &str,
    hint: Option<&str>,
    envelope: &dsse::Envelope,
) -> Result<&'k PublicKey, VerifyError> {
    let pae = dsse::pae(&envelope.payload_type, &envelope.payload);
    let any_signing_key = || {
        keys.iter()
            .filter(|key| key.namespace == namespace)
            .map(|key| &key.public_key)
            .find(|key| key.verify(&pae, &envelope.signature).is_ok())
    };
    let Some(hint) = hint else {
        return any_signing_key().ok_or_else(|| VerifyError::NoMatchingKey {
            namespace: namespace.to_owned(),
        });
    };
    let Some(key) = keys
        .iter()
        .find(|key| key.namespace == namespace && key.public_key.matches_hint(hint))
    else {
        if let Some(key) = any_signing_key() {
            return Ok(key);
        }
        return Err(VerifyError::KeyNotRegistered {
            registered_for: keys
                .iter()
                .find(|key| key.public_key.matches_hint(hint))
                .map(|key| key.namespace.clone()),
            key_id: hint.to_ascii_lowercase(),
            namespace: namespace.to_owned(),
        });
    };
    let hint = key.public_key.key_id();
    key.public_key
        .verify(&pae, &envelope.signature)
        .map_err(|_| {
            VerifyError::SignatureInvalid(format!(
                "the DSSE signature does not verify with key {hint} ({})",
                key.public_key.algorithm()
            ))
        })?;
    Ok(&key.public_key)
}
