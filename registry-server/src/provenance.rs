//! Signed provenance at publish: a Sigstore bundle sent with a version is verified before anything is
//! stored, per the registry's policy (`--provenance off | verify-if-present | require`).
//!
//! The signed object is the manifest itself: SHA-256 of its RFC 8785 canonical bytes is the subject of
//! an in-toto statement in the bundle's DSSE envelope (see `registry_provenance` and
//! docs/provenance.md). Who may sign for a name is fixed by the namespace: `io.github.<owner>/*` needs a
//! GitHub Actions identity of `<owner>` (keyless, public-good Sigstore or a configured root); any other
//! namespace needs a key registered for it (`POST /v0.1/x/dev.mcp-reg/namespaces/{ns}/keys`).
//!
//! A failed verification is a 422 whose `errors[0]` points at `/bundle` and names the reason; nothing is
//! stored. A verified bundle is stored verbatim with its summary, in the publish transaction.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use registry_provenance::{PublicKey, RegisteredKey, Summary, TrustRoots, VerifyRequest};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use registry_schema::Manifest;

use crate::db::{Store, StoredProvenance};
use crate::error::{ApiError, ErrorItem};

/// What the registry does with provenance bundles at publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProvenancePolicy {
    /// Ignore bundles: nothing is verified or stored, every version shows as unsigned.
    Off,
    /// Verify a bundle when one is sent (and refuse the publish if it fails); accept unsigned versions.
    #[default]
    VerifyIfPresent,
    /// Every publish must carry a bundle that verifies.
    Require,
}

/// Provenance flags (part of `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct ProvenanceArgs {
    /// Provenance policy at publish.
    #[arg(
        long = "provenance",
        env = "REGISTRY_PROVENANCE",
        value_enum,
        default_value_t
    )]
    pub policy: ProvenancePolicy,
    /// A Sigstore `trusted_root.json` to trust besides the public-good instance shipped with the
    /// binary (a private Sigstore deployment); repeatable, or comma-separated in the variable.
    #[arg(
        long = "trusted-root",
        env = "REGISTRY_TRUSTED_ROOTS",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub trusted_roots: Vec<PathBuf>,
    /// Refuse keyless bundles logged more than this many seconds before the publish, so an old
    /// signature cannot be replayed for a new upload (0: no limit).
    #[arg(long, env = "REGISTRY_PROVENANCE_MAX_AGE", default_value_t = 86_400)]
    pub provenance_max_age: u64,
}

impl Default for ProvenanceArgs {
    fn default() -> Self {
        Self {
            policy: ProvenancePolicy::default(),
            trusted_roots: Vec::new(),
            provenance_max_age: 86_400,
        }
    }
}

impl ProvenanceArgs {
    /// Reads the trusted roots; a missing or malformed file is an error at start, not at publish.
    pub fn to_config(&self) -> anyhow::Result<ProvenanceConfig> {
        let mut trust = TrustRoots::public_good();
        for path in &self.trusted_roots {
            let text = std::fs::read_to_string(path).map_err(|err| {
                anyhow::anyhow!("cannot read trusted root {}: {err}", path.display())
            })?;
            trust = trust
                .with_custom(&text)
                .map_err(|err| anyhow::anyhow!("trusted root {}: {err}", path.display()))?;
        }
        Ok(ProvenanceConfig {
            policy: self.policy,
            trust: Arc::new(trust),
            max_age: (self.provenance_max_age > 0)
                .then(|| Duration::from_secs(self.provenance_max_age)),
        })
    }
}

/// The provenance settings of a running server.
#[derive(Debug, Clone)]
pub struct ProvenanceConfig {
    pub policy: ProvenancePolicy,
    pub trust: Arc<TrustRoots>,
    /// Oldest acceptable transparency-log time of a keyless bundle, relative to the publish.
    pub max_age: Option<Duration>,
}

impl Default for ProvenanceConfig {
    fn default() -> Self {
        Self {
            policy: ProvenancePolicy::default(),
            trust: Arc::new(TrustRoots::public_good()),
            max_age: Some(Duration::from_hours(24)),
        }
    }
}

/// The namespace of a server name: the part before `/`.
pub fn namespace_of(server_name: &str) -> &str {
    server_name
        .split_once('/')
        .map_or(server_name, |(ns, _)| ns)
}

/// Checks the bundle sent with a publish against the policy; `Ok(Some)` is what to store with the
/// version, `Ok(None)` means the version is published unsigned.
pub async fn check_publish(
    store: &Store,
    config: &ProvenanceConfig,
    manifest: &Manifest,
    bundle: Option<&RawValue>,
) -> Result<Option<StoredProvenance>, ApiError> {
    let bundle = match (config.policy, bundle) {
        (ProvenancePolicy::Off, _) | (ProvenancePolicy::VerifyIfPresent, None) => return Ok(None),
        (ProvenancePolicy::Require, None) => {
            return Err(refusal(
                "this registry requires signed provenance: publish with a Sigstore bundle",
                "provenance-required",
                "no `bundle` was sent; sign with `mcp-reg publish --sign-key KEY` or attach a CI \
                 attestation with `--bundle FILE`",
            ));
        }
        (_, Some(bundle)) => bundle,
    };
    let bundle_value: Value = serde_json::from_str(bundle.get()).map_err(|err| {
        refusal_at(
            "the bundle is not JSON",
            "provenance-malformed",
            &err.to_string(),
        )
    })?;
    let manifest_value: Value = serde_json::from_str(manifest.raw()).map_err(|err| {
        ApiError::Internal(anyhow::anyhow!("validated manifest is not JSON: {err}"))
    })?;
    let registered_keys = registered_keys(store, manifest.name().namespace()).await?;
    let trust = Arc::clone(&config.trust);
    let name = manifest.name().as_str().to_owned();
    let version = manifest.version().as_str().to_owned();
    // Certificate chains and signatures cost milliseconds of CPU: off the async workers.
    let verified = tokio::task::spawn_blocking(move || {
        registry_provenance::verify(&VerifyRequest {
            manifest: &manifest_value,
            name: &name,
            version: &version,
            bundle: &bundle_value,
            trust: &trust,
            registered_keys: &registered_keys,
        })
    })
    .await
    .map_err(|err| ApiError::Internal(anyhow::anyhow!("provenance verification task: {err}")))?;
    let summary = verified.map_err(|err| {
        refusal_at(
            "provenance verification failed",
            &format!("provenance-{}", err.reason_code()),
            &err.to_string(),
        )
    })?;
    check_age(&summary, config.max_age)?;
    let summary_text = serde_json::to_string(&summary)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("provenance summary: {err}")))?;
    Ok(Some(StoredProvenance {
        summary: summary_text,
        bundle: bundle.get().to_owned(),
    }))
}

/// The unrevoked keys registered for `namespace`, parsed.
async fn registered_keys(store: &Store, namespace: &str) -> Result<Vec<RegisteredKey>, ApiError> {
    let records = store.signing_keys(namespace).await?;
    records
        .into_iter()
        .filter(|record| record.revoked_at.is_none())
        .map(|record| {
            let public_key = PublicKey::from_pem(&record.public_key).map_err(|err| {
                ApiError::Internal(anyhow::anyhow!(
                    "stored key {} of {namespace} does not parse: {err}",
                    record.key_id
                ))
            })?;
            Ok(RegisteredKey {
                namespace: record.namespace,
                public_key,
            })
        })
        .collect()
}

/// Keyless bundles must have been logged recently: a bundle for an old upload cannot be replayed.
fn check_age(summary: &Summary, max_age: Option<Duration>) -> Result<(), ApiError> {
    let (Some(max_age), Some(signed_at)) = (max_age, summary.signed_at.as_deref()) else {
        return Ok(());
    };
    let Ok(signed_at) = OffsetDateTime::parse(signed_at, &Rfc3339) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "verified summary has an unreadable signed-at time `{signed_at}`"
        )));
    };
    let age = OffsetDateTime::now_utc() - signed_at;
    if age > max_age {
        return Err(refusal_at(
            "provenance verification failed",
            "provenance-too-old",
            &format!(
                "the bundle was logged at {signed_at}, more than {} s before this publish; sign this upload again",
                max_age.as_secs()
            ),
        ));
    }
    Ok(())
}

fn refusal(detail: &str, rule: &str, message: &str) -> ApiError {
    ApiError::Unprocessable {
        detail: detail.to_owned(),
        errors: vec![ErrorItem {
            pointer: Some("/bundle".to_owned()),
            location: None,
            rule: Some(rule.to_owned()),
            message: message.to_owned(),
        }],
    }
}

/// A 422 whose detail also carries the reason, so clients that print only `detail` say why.
fn refusal_at(detail: &str, rule: &str, message: &str) -> ApiError {
    refusal(&format!("{detail}: {message}"), rule, message)
}
