//! `mcp-reg trust`: the Sigstore trusted roots keyless verification uses, and refreshing them over TUF.
//!
//! Verification always trusts the public-good `trusted_root.json` shipped in the binary, plus the files
//! configured in `[provenance] trusted-roots` or passed with `--trusted-root`. `trust update` is the only
//! command that goes online for trust material: it fetches the current `trusted_root.json` from a TUF
//! repository (Sigstore's by default) with every TUF check (root chain from a pinned root, signature
//! thresholds, versions, expiry, lengths and hashes), and stores it in the data directory, where
//! verification then uses it *in addition to* the shipped root. Nothing is ever fetched automatically, so
//! offline machines keep verifying with the shipped root.
//!
//! Layout under `<data dir>/trust/`:
//! - `trusted_root.json`: the last verified target, written atomically;
//! - `trusted_root.source.json`: where and when it came from;
//! - `tuf/<repository>/`: the TUF metadata of that repository (the latest root, timestamp, snapshot and
//!   targets, for rollback protection across runs, and `bootstrap.root.json`, the `--tuf-root` it was
//!   first trusted with). A failed update writes none of these.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigstore_tuf::{FileStore, HttpRepository, MetadataStore, Updater};

use crate::commands::{Ctx, JsonFlag, print_json};
use crate::output::outln;
use crate::provenance::ProvenanceSettings;
use crate::{ExitStatus, UserError, config, output};
use registry_provenance::{PUBLIC_GOOD_TRUSTED_ROOT, TrustRoots};

/// Sigstore's public-good TUF repository.
pub const DEFAULT_TUF_URL: &str = "https://tuf-repo-cdn.sigstore.dev";
/// The TUF target holding the Sigstore trust anchors.
const TARGET: &str = "trusted_root.json";
const TRUST_DIR: &str = "trust";
const SOURCE_FILE: &str = "trusted_root.source.json";
const BOOTSTRAP_ROOT: &str = "bootstrap.root.json";

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    #[command(subcommand)]
    pub command: TrustCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TrustCommand {
    /// Fetch the current Sigstore trusted_root.json through TUF and use it alongside the shipped
    /// one (the only command that goes online for trust material).
    Update {
        /// The TUF repository [default: config `[provenance] tuf-url`, else
        /// https://tuf-repo-cdn.sigstore.dev].
        #[arg(long, value_name = "URL")]
        tuf_url: Option<String>,
        /// The repository's TUF root.json to start trusting it from (obtained out of band); needed
        /// once for a repository other than Sigstore's, whose root ships with mcp-reg.
        #[arg(long, value_name = "FILE")]
        tuf_root: Option<PathBuf>,
        #[command(flatten)]
        output: JsonFlag,
    },
    /// Show the trusted roots keyless verification uses.
    #[command(visible_alias = "status")]
    Show {
        #[command(flatten)]
        output: JsonFlag,
    },
}

pub fn run(ctx: &Ctx, args: &TrustArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        TrustCommand::Update {
            tuf_url,
            tuf_root,
            output,
        } => update(ctx, tuf_url.as_deref(), tuf_root.as_deref(), output.json),
        TrustCommand::Show { output } => show(output.json),
    }
}

/// Where and when the stored `trusted_root.json` was fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Source {
    url: String,
    /// RFC 3339.
    updated_at: String,
    /// Version of the TUF root the update was verified with.
    tuf_root_version: u64,
    /// SHA-256 of the stored `trusted_root.json`.
    sha256: String,
}

fn trust_dir() -> anyhow::Result<PathBuf> {
    Ok(config::data_dir()?.join(TRUST_DIR))
}

/// The `trusted_root.json` stored by the last `trust update`, if any: its path and text. Read by
/// verification, which never fetches one.
pub fn updated_root() -> anyhow::Result<Option<(PathBuf, String)>> {
    let path = trust_dir()?.join(TARGET);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((path, text))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(
            UserError::new(format!("cannot read {}: {err}", path.display()))
                .with_hint(
                    "fix the file's permissions, or delete it and run `mcp-reg trust update`",
                )
                .into(),
        ),
    }
}

/// A usage error found after parsing (exit 2), printed like clap's.
fn usage(message: &str, hint: &str) -> ExitStatus {
    output::error(message);
    output::hint(hint);
    ExitStatus::UsageError
}

fn update(
    ctx: &Ctx,
    flag_url: Option<&str>,
    tuf_root: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitStatus> {
    let url = match repository_url(flag_url)? {
        Ok(url) => url,
        Err(status) => return Ok(status),
    };
    let trust = trust_dir()?;
    let store = Arc::new(StagedStore::new(&trust.join("tuf").join(dir_name(&url))));
    let bootstrap = match bootstrap_root(&url, tuf_root, &store)? {
        Ok(bytes) => bytes,
        Err(status) => return Ok(status),
    };

    // TUF signatures go through sigstore-crypto (ring provider); HTTPS through rustls on ring.
    registry_provenance::ring_provider::install();
    let _ = rustls::crypto::ring::default_provider().install_default();

    let spinner = ctx
        .ui
        .spinner(&format!("updating the trusted root from {url}"));
    let fetched = fetch(&url, &bootstrap, Arc::clone(&store));
    drop(spinner);
    let (bytes, tuf_root_version) = fetched.map_err(|err| classify(&url, &err))?;

    let text = String::from_utf8(bytes).map_err(|_| {
        UserError::new(format!("{url}: {TARGET} is not UTF-8"))
            .with_hint("the repository serves something else than a Sigstore trusted root")
    })?;
    let summary = Summary::of(&text).map_err(|err| {
        UserError::new(format!(
            "{url}: {TARGET} is not a usable Sigstore trusted root: {err}"
        ))
        .with_hint(
            "nothing was stored; the repository serves something else than a Sigstore trusted root",
        )
    })?;
    let previous = updated_root()
        .ok()
        .flatten()
        .and_then(|(_, old)| Summary::of(&old).ok());

    // Every check passed: store the metadata (rollback floors for next time), then the root.
    store.commit()?;
    std::fs::create_dir_all(&trust).map_err(|err| io_error(&trust, &err))?;
    let root_path = trust.join(TARGET);
    write_atomic(&root_path, text.as_bytes())?;
    let source = Source {
        url,
        updated_at: now_rfc3339(),
        tuf_root_version,
        sha256: summary.sha256.clone(),
    };
    write_atomic(
        &trust.join(SOURCE_FILE),
        serde_json::to_string_pretty(&source)?.as_bytes(),
    )?;
    report(
        &root_path,
        &source,
        previous.as_ref(),
        &summary,
        &text,
        json,
    )?;
    Ok(ExitStatus::Success)
}

/// The TUF repository: `--tuf-url`, else config `[provenance] tuf-url`, else Sigstore's; `Err`: usage error.
fn repository_url(flag: Option<&str>) -> anyhow::Result<Result<String, ExitStatus>> {
    let url = match flag {
        Some(url) => url.to_owned(),
        None => ProvenanceSettings::load()?
            .tuf_url
            .unwrap_or_else(|| DEFAULT_TUF_URL.to_owned()),
    };
    let url = url.trim().trim_end_matches('/').to_owned();
    match url::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && !parsed.cannot_be_a_base() => {
            Ok(Ok(url))
        }
        _ => Ok(Err(usage(
            &format!("`{url}` is not an http(s) URL"),
            "pass --tuf-url https://HOST[/PATH] (the directory holding N.root.json and timestamp.json)",
        ))),
    }
}

/// The pinned TUF root to start from: the one given (checked, and remembered for this repository), else
/// the one this repository was first trusted with, else (Sigstore's repository) the one shipped with
/// mcp-reg. `Err`: usage error.
fn bootstrap_root(
    url: &str,
    tuf_root: Option<&Path>,
    store: &StagedStore,
) -> anyhow::Result<Result<Vec<u8>, ExitStatus>> {
    if let Some(file) = tuf_root {
        let bytes = std::fs::read(file).map_err(|err| {
            UserError::new(format!("cannot read {}: {err}", file.display()))
                .with_hint("pass the TUF repository's root.json with --tuf-root FILE")
        })?;
        registry_provenance::ring_provider::install();
        if let Err(err) = sigstore_tuf::TrustedMetadataSet::from_root(&bytes) {
            return Err(UserError::new(format!(
                "{} is not a usable TUF root.json: {}",
                file.display(),
                chain(&err)
            ))
            .with_hint(
                "pass the repository's TUF root.json (signed root metadata), not Sigstore's trusted_root.json",
            )
            .into());
        }
        store.store(BOOTSTRAP_ROOT, &bytes)?;
        return Ok(Ok(bytes));
    }
    Ok(match store.load(BOOTSTRAP_ROOT)? {
        Some(bytes) => Ok(bytes),
        None if url == DEFAULT_TUF_URL => Ok(sigstore_trust_root::SigstoreInstance::PublicGood
            .tuf_root()
            .to_vec()),
        None => Err(usage(
            &format!("no TUF root is known for {url}"),
            "pass --tuf-root FILE: the repository's root.json, obtained out of band (needed once)",
        )),
    })
}

/// What `trust update` prints: what changed, and what the new root adds to the shipped one.
fn report(
    root_path: &Path,
    source: &Source,
    previous: Option<&Summary>,
    summary: &Summary,
    text: &str,
    json: bool,
) -> anyhow::Result<()> {
    let beyond_shipped = TrustRoots::public_good()
        .with_custom(text)
        .map_or(0, |merged| {
            let (tlogs, ctlogs, cas) = merged.counts();
            let (t0, c0, f0) = TrustRoots::public_good().counts();
            (tlogs + ctlogs + cas).saturating_sub(t0 + c0 + f0)
        });
    if json {
        return print_json(&serde_json::json!({
            "stored": root_path,
            "source": source,
            "previous": previous,
            "current": summary,
            "anchorsBeyondShipped": beyond_shipped,
        }));
    }
    let changed = match previous {
        None => "first update".to_owned(),
        Some(old) if old.sha256 == summary.sha256 => "unchanged since the last update".to_owned(),
        Some(old) => format!(
            "was {} Fulcio CAs, {} Rekor logs, {} CT logs, {} TSAs",
            old.fulcio_cas, old.rekor_logs, old.ct_logs, old.tsas
        ),
    };
    outln!(
        "updated the trusted root from {} (TUF root version {}; {changed})",
        source.url,
        source.tuf_root_version
    )?;
    outln!(
        "  {} Fulcio CAs, {} Rekor logs, {} CT logs, {} TSAs; newest validity start {}",
        summary.fulcio_cas,
        summary.rekor_logs,
        summary.ct_logs,
        summary.tsas,
        summary.newest_start.as_deref().unwrap_or("none")
    )?;
    if beyond_shipped == 0 {
        outln!("  nothing beyond the root shipped with mcp-reg")?;
    } else {
        outln!("  {beyond_shipped} anchors beyond the root shipped with mcp-reg")?;
    }
    outln!("  stored in {}", root_path.display())?;
    Ok(())
}

/// Refresh the TUF metadata of `url` from `bootstrap` and download the verified target.
fn fetch(
    url: &str,
    bootstrap: &[u8],
    store: Arc<StagedStore>,
) -> Result<(Vec<u8>, u64), sigstore_tuf::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| sigstore_tuf::Error::io("starting the async runtime", err))?;
    runtime.block_on(async {
        let repo = HttpRepository::new(url)?;
        let mut updater = Updater::new(repo, bootstrap)?.with_store(store);
        let now = jiff::Timestamp::now();
        updater.refresh(now).await?;
        let bytes = updater.get_target(TARGET, now).await?;
        Ok((bytes, updater.trusted().root().version))
    })
}

/// One line and a hint for a failed update (exit 1): the network, or TUF verification.
fn classify(url: &str, err: &sigstore_tuf::Error) -> anyhow::Error {
    let message = chain(err);
    let user = match err {
        sigstore_tuf::Error::Transport { .. } => UserError::new(format!(
            "cannot update the trusted root from {url}: {message}"
        ))
        .with_hint(
            "check the network and --tuf-url; nothing was stored, verification keeps the roots it had",
        ),
        sigstore_tuf::Error::Io { .. } => UserError::new(format!(
            "cannot update the trusted root: {message}"
        ))
        .with_hint("check that the data directory is writable (MCP_REG_DATA_DIR)"),
        _ => UserError::new(format!("TUF verification failed for {url}: {message}")).with_hint(
            "the repository's metadata or target does not verify (tampered, expired or rolled back); nothing was stored",
        ),
    };
    user.into()
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn show(json: bool) -> anyhow::Result<ExitStatus> {
    let settings = ProvenanceSettings::load()?;
    let shipped = Summary::of(PUBLIC_GOOD_TRUSTED_ROOT)?;
    let updated = match updated_root()? {
        Some((path, text)) => {
            let source: Option<Source> = std::fs::read_to_string(path.with_file_name(SOURCE_FILE))
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok());
            let summary = Summary::of(&text).map_err(|err| {
                UserError::new(format!("{}: {err}", path.display()))
                    .with_hint("delete it and run `mcp-reg trust update`")
            })?;
            Some((path, source, summary))
        }
        None => None,
    };
    if json {
        print_json(&serde_json::json!({
            "shipped": shipped,
            "updated": updated.as_ref().map(|(path, source, summary)| serde_json::json!({
                "path": path,
                "source": source,
                "summary": summary,
            })),
            "configured": settings.trusted_roots,
            "tufUrl": settings.tuf_url.as_deref().unwrap_or(DEFAULT_TUF_URL),
        }))?;
        return Ok(ExitStatus::Success);
    }
    outln!("shipped: Sigstore public good ({})", shipped.describe())?;
    match &updated {
        Some((path, source, summary)) => {
            let origin = source.as_ref().map_or_else(
                || "origin unknown".to_owned(),
                |s| format!("updated at {} from {}", s.updated_at, s.url),
            );
            outln!("updated: {origin} ({})", summary.describe())?;
            outln!("  {}", path.display())?;
        }
        None => outln!("updated: none (run `mcp-reg trust update` to fetch a newer root)")?,
    }
    if settings.trusted_roots.is_empty() {
        outln!("configured: none")?;
    } else {
        for path in &settings.trusted_roots {
            outln!("configured: {}", path.display())?;
        }
    }
    outln!(
        "TUF repository for `trust update`: {}",
        settings.tuf_url.as_deref().unwrap_or(DEFAULT_TUF_URL)
    )?;
    Ok(ExitStatus::Success)
}

/// What a `trusted_root.json` holds, for the messages.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    fulcio_cas: usize,
    rekor_logs: usize,
    ct_logs: usize,
    tsas: usize,
    /// The latest `validFor.start` of any anchor.
    newest_start: Option<String>,
    sha256: String,
}

impl Summary {
    fn of(text: &str) -> anyhow::Result<Self> {
        // Usable by the verifier (parses, keys and certificates load).
        TrustRoots::from_json(text)?;
        let doc: Value = serde_json::from_str(text)?;
        let list = |key: &str| {
            doc.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let cas = list("certificateAuthorities");
        let tlogs = list("tlogs");
        let ctlogs = list("ctlogs");
        let tsas = list("timestampAuthorities");
        let newest_start = cas
            .iter()
            .chain(&tsas)
            .filter_map(|a| a.pointer("/validFor/start"))
            .chain(
                tlogs
                    .iter()
                    .chain(&ctlogs)
                    .filter_map(|l| l.pointer("/publicKey/validFor/start")),
            )
            .filter_map(Value::as_str)
            .filter_map(|s| {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|t| (t, s))
            })
            .max_by_key(|(t, _)| *t)
            .map(|(_, s)| s.to_owned());
        Ok(Self {
            fulcio_cas: cas.len(),
            rekor_logs: tlogs.len(),
            ct_logs: ctlogs.len(),
            tsas: tsas.len(),
            newest_start,
            sha256: hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes())),
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} Fulcio CAs, {} Rekor logs, {} CT logs, {} TSAs, newest from {}",
            self.fulcio_cas,
            self.rekor_logs,
            self.ct_logs,
            self.tsas,
            self.newest_start.as_deref().unwrap_or("-")
        )
    }
}

/// TUF metadata read from the repository's cache directory; writes are held in memory until
/// [`StagedStore::commit`], so a refresh that fails stores nothing.
struct StagedStore {
    disk: FileStore,
    staged: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl StagedStore {
    fn new(dir: &Path) -> Self {
        Self {
            disk: FileStore::new(dir),
            staged: Mutex::new(BTreeMap::new()),
        }
    }

    fn commit(&self) -> anyhow::Result<()> {
        let staged = std::mem::take(
            &mut *self
                .staged
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (name, bytes) in staged {
            self.disk.store(&name, &bytes).map_err(|err| {
                UserError::new(format!("cannot store TUF metadata: {}", chain(&err)))
                    .with_hint("check that the data directory is writable (MCP_REG_DATA_DIR)")
            })?;
        }
        Ok(())
    }
}

impl MetadataStore for StagedStore {
    fn load(&self, name: &str) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        if let Some(bytes) = self
            .staged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
        {
            return Ok(Some(bytes.clone()));
        }
        self.disk.load(name)
    }

    fn store(&self, name: &str, bytes: &[u8]) -> sigstore_tuf::Result<()> {
        self.staged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }
}

/// A file-system-safe directory name for a repository URL (readable, reversible).
fn dir_name(url: &str) -> String {
    let mut name = String::with_capacity(url.len() * 2);
    for byte in url.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => name.push(byte as char),
            _ => {
                let _ = write!(name, "%{byte:02X}");
            }
        }
    }
    name
}

fn io_error(path: &Path, err: &std::io::Error) -> anyhow::Error {
    UserError::new(format!("cannot write {}: {err}", path.display()))
        .with_hint("check that the data directory is writable (MCP_REG_DATA_DIR)")
        .into()
}

/// Write through a temporary file in the same directory and rename it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|err| io_error(&tmp, &err))?;
    std::fs::rename(&tmp, path).map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, &err)
    })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tuf_root_loads() {
        registry_provenance::ring_provider::install();
        let root = sigstore_trust_root::SigstoreInstance::PublicGood.tuf_root();
        sigstore_tuf::TrustedMetadataSet::from_root(root).expect("the embedded TUF root verifies");
    }

    #[test]
    fn shipped_trusted_root_summarizes() {
        let summary = Summary::of(PUBLIC_GOOD_TRUSTED_ROOT).unwrap();
        assert!(summary.fulcio_cas > 0 && summary.rekor_logs > 0);
        assert!(summary.newest_start.is_some());
    }

    #[test]
    fn repository_dir_names_are_flat() {
        assert_eq!(
            dir_name("https://tuf-repo-cdn.sigstore.dev"),
            "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
        );
    }
}
