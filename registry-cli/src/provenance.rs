//! Provenance on the client side: verifying a version's Sigstore bundle locally (`verify`, `install`,
//! LAN sync) without trusting the registry's verdict, and the user's policy for unsigned servers.
//!
//! Trust comes from the user's side: the Sigstore public-good root shipped in the binary, extra
//! `trusted_root.json` files (config `[provenance] trusted-roots`, or `--trusted-root`), and, for
//! key-based bundles, the keys the registry lists for the namespace (registering one needs a token for
//! the whole namespace; revoked keys verify nothing).
//!
//! `config.toml`:
//! ```toml
//! [provenance]
//! require-signed = true            # install refuses unsigned versions unless --allow-unsigned
//! trusted-roots = ["/etc/sigstore/private-root.json"]
//! ```

use std::path::{Path, PathBuf};

use registry_provenance::key_log::check_log;
use registry_provenance::{PublicKey, RegisteredKey, Summary, TrustRoots, VerifyRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::UserError;
use crate::client::Client;
use crate::config;
use crate::install::record::RecordStore;

/// The user's provenance settings (`[provenance]` in config.toml).
#[derive(Debug, Clone, Default)]
pub struct ProvenanceSettings {
    /// Refuse to install unsigned versions (unless `--allow-unsigned`).
    pub require_signed: bool,
    pub trusted_roots: Vec<PathBuf>,
    /// The TUF repository `mcp-reg trust update` fetches `trusted_root.json` from (default: Sigstore's).
    pub tuf_url: Option<String>,
}

impl ProvenanceSettings {
    /// Reads `[provenance]` from config.toml; absent file or table means the defaults.
    pub fn load() -> anyhow::Result<Self> {
        let path = config::config_dir()?.join("config.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(err) => {
                return Err(
                    UserError::new(format!("cannot read {}: {err}", path.display()))
                        .with_hint("fix the file's permissions")
                        .into(),
                );
            }
        };
        Self::parse(&text, &path)
    }

    fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let invalid = |what: &str| {
            UserError::new(format!("{}: {what}", path.display())).with_hint(
                "`[provenance]` may set `require-signed = true|false`, `trusted-roots = [\"FILE\", …]` and `tuf-url = \"URL\"`",
            )
        };
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|err| invalid(&format!("not valid TOML: {err}")))?;
        let Some(table) = doc.get("provenance") else {
            return Ok(Self::default());
        };
        let Some(table) = table.as_table_like() else {
            return Err(invalid("`provenance` must be a table").into());
        };
        let require_signed = match table.get("require-signed") {
            None => false,
            Some(item) => item
                .as_bool()
                .ok_or_else(|| invalid("`require-signed` must be true or false"))?,
        };
        let trusted_roots = match table.get("trusted-roots") {
            None => Vec::new(),
            Some(item) => item
                .as_array()
                .ok_or_else(|| invalid("`trusted-roots` must be an array of file names"))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(PathBuf::from)
                        .ok_or_else(|| invalid("`trusted-roots` must hold strings"))
                })
                .collect::<Result<_, _>>()?,
        };
        let tuf_url = match table.get("tuf-url") {
            None => None,
            Some(item) => Some(
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid("`tuf-url` must be a URL string"))?,
            ),
        };
        Ok(Self {
            require_signed,
            trusted_roots,
            tuf_url,
        })
    }

    /// The public-good root, the one `mcp-reg trust update` stored (if any; never fetched here), plus the
    /// configured and `extra` trusted roots.
    pub fn trust_roots(&self, extra: &[PathBuf]) -> anyhow::Result<TrustRoots> {
        let mut trust = TrustRoots::public_good();
        if let Some((path, text)) = crate::commands::trust::updated_root()? {
            trust = trust.with_custom(&text).map_err(|err| {
                UserError::new(format!("updated trusted root {}: {err}", path.display())).with_hint(
                    "run `mcp-reg trust update` again, or delete the file to use the shipped root",
                )
            })?;
        }
        for path in self.trusted_roots.iter().chain(extra) {
            let text = std::fs::read_to_string(path).map_err(|err| {
                UserError::new(format!(
                    "cannot read trusted root {}: {err}",
                    path.display()
                ))
                .with_hint("fix the path in --trusted-root or `[provenance] trusted-roots`")
            })?;
            trust = trust.with_custom(&text).map_err(|err| {
                UserError::new(format!("trusted root {}: {err}", path.display()))
                    .with_hint("pass a Sigstore trusted_root.json")
            })?;
        }
        Ok(trust)
    }
}

/// What local verification of a published version found.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Published without a bundle (or the registry has no provenance extension).
    Unsigned,
    Verified(Box<Summary>),
    /// The bundle does not verify here: the reason.
    Failed(String),
}

impl Verdict {
    /// Who signed, when the bundle verified.
    pub fn signer(&self) -> Option<Signer> {
        match self {
            Self::Verified(summary) => Some(Signer::of(summary)),
            _ => None,
        }
    }
}

/// Fetches the bundle of `name`@`version` and verifies it against `manifest` (the server.json the
/// registry served for that version), trusting only `trust` and the keys the namespace's key log leaves
/// active (see [`namespace_keys`]).
pub fn verify_published(
    client: &Client,
    manifest: &Value,
    name: &str,
    version: &str,
    trust: &TrustRoots,
) -> anyhow::Result<Verdict> {
    let Some(provenance) = client.provenance(name, version)? else {
        return Ok(Verdict::Unsigned);
    };
    let Some(bundle) = provenance.get("bundle").filter(|b| b.is_object()) else {
        return Ok(Verdict::Unsigned);
    };
    let keys = match namespace_keys(client, name)? {
        Ok(keys) => keys,
        Err(reason) => return Ok(Verdict::Failed(reason)),
    };
    Ok(verify_bundle(manifest, name, version, bundle, trust, &keys))
}

/// The keys `name`'s namespace may sign with, from its hash-chained key log: the chain must check out and
/// still hold the head this user saw last from this registry (which is then moved forward), so a registry
/// cannot swap a namespace's keys by editing its key list, or by rewriting the log. A registry without a
/// key log (the official API) gives its key list. `Ok(Err(reason))`: the log is refused.
pub fn namespace_keys(
    client: &Client,
    name: &str,
) -> anyhow::Result<Result<Vec<RegisteredKey>, String>> {
    let namespace = namespace_of(name);
    let Some(log) = client.key_log(namespace)? else {
        return Ok(Ok(registered_keys(client, name)?));
    };
    let records = RecordStore::new(config::data_dir()?);
    let remembered = records.key_log_head(client.base(), namespace)?;
    let checked = match check_log(namespace, &log.entries, remembered.as_ref()) {
        Ok(checked) => checked,
        Err(err) => {
            return Ok(Err(format!(
                "the registry's key log is not trustworthy: {err}"
            )));
        }
    };
    if let Some(head) = checked
        .head
        .filter(|head| remembered.as_ref() != Some(head))
    {
        records.remember_key_log_head(client.base(), namespace, head)?;
    }
    Ok(Ok(checked.active))
}

/// Who signed a version, as pinned: the key, or the keyless identity that matters across releases (the
/// issuer, repository and workflow file, not the commit or tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Signer {
    Key {
        key_id: String,
    },
    Keyless {
        issuer: Option<String>,
        repository: Option<String>,
        /// The workflow file, without `@<ref>`.
        workflow: Option<String>,
        /// The certificate identity, when there is no repository to name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        identity: Option<String>,
    },
}

impl Signer {
    pub fn of(summary: &Summary) -> Self {
        match (summary.mode, &summary.key_id) {
            (registry_provenance::Mode::Key, Some(key_id)) => Self::Key {
                key_id: key_id.clone(),
            },
            _ => Self::Keyless {
                issuer: summary.issuer.clone(),
                repository: summary.repository.clone(),
                workflow: summary
                    .workflow
                    .as_deref()
                    .map(|w| w.split_once('@').map_or(w, |(file, _)| file).to_owned()),
                identity: summary
                    .repository
                    .is_none()
                    .then(|| summary.identity.clone()),
            },
        }
    }

    /// One line for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Key { key_id } => format!("key {}", key_id.get(..16).unwrap_or(key_id)),
            Self::Keyless {
                issuer,
                repository,
                workflow,
                identity,
            } => {
                let who = workflow
                    .as_deref()
                    .or(repository.as_deref())
                    .or(identity.as_deref())
                    .unwrap_or("an unnamed identity");
                match issuer {
                    Some(issuer) => format!("{who} (issuer {issuer})"),
                    None => who.to_owned(),
                }
            }
        }
    }
}

/// How a version's signer compares with the one pinned for its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinCheck {
    /// Nothing pinned yet: this signer becomes the pin (trust on first use).
    First(Signer),
    /// The pinned signer signed it.
    Same,
    /// Unsigned, and nothing pinned: nothing to compare.
    UnsignedUnpinned,
    /// Another signer, or none, where `pinned` signed before.
    Changed { pinned: Signer, now: Option<Signer> },
}

/// Compares `observed` (the verified signer, `None` for unsigned) with `pinned`.
pub fn check_pin(pinned: Option<Signer>, observed: Option<&Signer>) -> PinCheck {
    match (pinned, observed) {
        (None, Some(signer)) => PinCheck::First(signer.clone()),
        (None, None) => PinCheck::UnsignedUnpinned,
        (Some(pinned), Some(signer)) if pinned == *signer => PinCheck::Same,
        (Some(pinned), now) => PinCheck::Changed {
            pinned,
            now: now.cloned(),
        },
    }
}

/// Holds `name`@`version` to the signer pinned for `name`: pins the first signer seen, and refuses a
/// change unless `accept` (then the new signer becomes the pin). `record` false checks without pinning
/// (dry runs).
pub fn enforce_pin(
    ui: &crate::commands::Ui,
    name: &str,
    version: &str,
    observed: Option<&Signer>,
    accept: bool,
    record: bool,
) -> anyhow::Result<()> {
    let records = RecordStore::new(config::data_dir()?);
    match check_pin(records.signer(name)?, observed) {
        PinCheck::Same | PinCheck::UnsignedUnpinned => Ok(()),
        PinCheck::First(signer) => {
            if record {
                ui.debug(&format!(
                    "pinned the signer of {name}: {}",
                    signer.describe()
                ));
                records.pin_signer(name, signer)?;
            }
            Ok(())
        }
        PinCheck::Changed { pinned, now } if accept => {
            let now_text = now
                .as_ref()
                .map_or_else(|| "unsigned".to_owned(), Signer::describe);
            ui.warn(&format!(
                "accepted a new signer for {name}: {now_text} (was {})",
                pinned.describe()
            ));
            if record && let Some(now) = now {
                records.pin_signer(name, now)?;
            }
            Ok(())
        }
        PinCheck::Changed { pinned, now } => {
            let what = match &now {
                Some(now) => format!("{version} is signed by {}", now.describe()),
                None => format!("{version} is unsigned"),
            };
            Err(UserError::new(format!(
                "the signer of {name} changed: you trusted {}, but {what}",
                pinned.describe()
            ))
            .with_hint(
                "a registry or account may be compromised; if the publisher really rotated keys or moved \
                 the repository, confirm it with them, then re-run with --accept-signer",
            )
            .into())
        }
    }
}

/// Verifies `bundle` for `manifest` with the given trust; never fails, the reason is in the verdict.
pub fn verify_bundle(
    manifest: &Value,
    name: &str,
    version: &str,
    bundle: &Value,
    trust: &TrustRoots,
    keys: &[RegisteredKey],
) -> Verdict {
    match registry_provenance::verify(&VerifyRequest {
        manifest,
        name,
        version,
        bundle,
        trust,
        registered_keys: keys,
    }) {
        Ok(summary) => Verdict::Verified(Box::new(summary)),
        Err(err) => Verdict::Failed(err.to_string()),
    }
}

/// The unrevoked keys the registry lists for `name`'s namespace; keys that do not parse are skipped
/// (they could not verify anything anyway).
pub fn registered_keys(client: &Client, name: &str) -> anyhow::Result<Vec<RegisteredKey>> {
    let keys = client.signing_keys(namespace_of(name))?;
    Ok(keys
        .into_iter()
        .filter(|key| key.revoked_at.is_none())
        .filter_map(|key| {
            PublicKey::from_pem(&key.public_key)
                .ok()
                .map(|public_key| RegisteredKey {
                    namespace: key.namespace,
                    public_key,
                })
        })
        .collect())
}

/// The namespace of a server name: the part before `/`.
pub fn namespace_of(name: &str) -> &str {
    name.split_once('/').map_or(name, |(ns, _)| ns)
}

/// One line naming who signed, for `show`, `install` and LAN sync.
pub fn describe_signer(summary: &Summary) -> String {
    match (&summary.repository, &summary.commit) {
        (Some(repository), Some(commit)) => format!(
            "{repository} @ {} ({})",
            short_commit(commit),
            summary.identity
        ),
        (Some(repository), None) => format!("{repository} ({})", summary.identity),
        _ => summary.identity.clone(),
    }
}

fn short_commit(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// A manifest learned from outside the registry (e.g. a LAN announcement), to be checked before use.
#[derive(Debug, Clone, Copy)]
pub struct Discovered<'a> {
    pub manifest: &'a Value,
    pub name: &'a str,
    pub version: &'a str,
    /// A Sigstore bundle for this manifest, when the announcer served one.
    pub bundle: Option<&'a Value>,
}

/// Why a discovered manifest may be installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustDecision {
    /// The user named it as trusted (`--trust NAME` or the config's trusted names).
    TrustedName,
    /// Its bundle verified; the identity that signed it.
    Signed { identity: String },
}

/// Decides whether a discovered manifest may be installed; `Err` carries a one-line reason.
///
/// A trusted name is enough. Otherwise the announcer's bundle must verify against the user's trust
/// roots and, for key-based bundles, the keys `keys` (from the configured registry).
pub fn check_discovered(
    discovered: &Discovered<'_>,
    trusted_names: &[String],
) -> Result<TrustDecision, String> {
    if trusted_names.iter().any(|name| name == discovered.name) {
        return Ok(TrustDecision::TrustedName);
    }
    let Some(bundle) = discovered.bundle else {
        return Err(format!(
            "{} is unsigned and not a trusted name (trust it with --trust {})",
            discovered.name, discovered.name
        ));
    };
    let settings = ProvenanceSettings::load().map_err(|err| format!("{err:#}"))?;
    let trust = settings
        .trust_roots(&[])
        .map_err(|err| format!("{err:#}"))?;
    let keys = discovery_keys(discovered.name);
    match verify_bundle(
        discovered.manifest,
        discovered.name,
        discovered.version,
        bundle,
        &trust,
        &keys,
    ) {
        Verdict::Verified(summary) => Ok(TrustDecision::Signed {
            identity: describe_signer(&summary),
        }),
        Verdict::Failed(reason) => Err(format!(
            "the provenance of {} does not verify: {reason}",
            discovered.name
        )),
        Verdict::Unsigned => Err(format!("{} is unsigned", discovered.name)),
    }
}

/// Keys for a discovered name, from the configured registry when it answers (best effort: without
/// them only keyless bundles can verify).
fn discovery_keys(name: &str) -> Vec<RegisteredKey> {
    let Ok(url) = config::registry_url(None) else {
        return Vec::new();
    };
    let Ok(client) = Client::new(&url, None) else {
        return Vec::new();
    };
    registered_keys(&client, name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_reject_bad_values() -> anyhow::Result<()> {
        let path = Path::new("config.toml");
        let settings = ProvenanceSettings::parse(
            "registry = \"http://x\"\n[provenance]\nrequire-signed = true\ntrusted-roots = [\"/a.json\"]\n",
            path,
        )?;
        assert!(settings.require_signed);
        assert_eq!(settings.trusted_roots, vec![PathBuf::from("/a.json")]);
        assert!(!ProvenanceSettings::parse("", path)?.require_signed);
        let err = ProvenanceSettings::parse("[provenance]\nrequire-signed = \"yes\"\n", path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("require-signed"), "{err}");
        Ok(())
    }

    #[test]
    fn namespaces() {
        assert_eq!(namespace_of("com.example/weather"), "com.example");
    }
}
